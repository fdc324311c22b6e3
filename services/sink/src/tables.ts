/**
 * The tables the sink writes, where each keeps the Kafka position of its rows, and the SQL the sink
 * runs to find what is already stored. Pure functions, tested on their text.
 */
import { identifier, join, raw, type Sql, sql } from '@tollgate/core';

export const SINK_TABLES = ['line_items', 'run_events', 'alerts', 'dead_letters'] as const;
export type SinkTable = (typeof SINK_TABLES)[number];

export interface TablePosition {
  /** Column holding the source topic; dead_letters (migration 0001) has none: it holds one DLQ topic. */
  topic: string | undefined;
  partition: string;
  offset: string;
}

export const TABLE_POSITIONS: Record<SinkTable, TablePosition> = {
  line_items: { topic: 'source_topic', partition: 'source_partition', offset: 'source_offset' },
  run_events: { topic: 'source_topic', partition: 'source_partition', offset: 'source_offset' },
  alerts: { topic: 'source_topic', partition: 'source_partition', offset: 'source_offset' },
  dead_letters: { topic: undefined, partition: 'dlq_partition', offset: 'dlq_offset' },
};

export interface OffsetRange {
  partition: number;
  /** Inclusive lower bound, decimal string. */
  fromOffset: string;
}

/**
 * Distinct (partition, offset) pairs of `table` rows from `topic` at or above each range's start.
 * The answer is small: it covers only messages after the last committed offset.
 */
export function storedOffsetsQuery(table: SinkTable, topic: string, ranges: readonly OffsetRange[]): Sql {
  const position = TABLE_POSITIONS[table];
  const partition = raw(identifier(position.partition));
  const offset = raw(identifier(position.offset));
  const conditions = ranges.map(
    (range) => sql`(${partition} = ${range.partition} AND ${offset} >= ${BigInt(range.fromOffset)})`,
  );
  const topicFilter = position.topic ? sql`${raw(identifier(position.topic))} = ${topic} AND ` : raw('');
  return sql`SELECT ${partition} AS partition, toString(${offset}) AS offset FROM ${raw(identifier(table))} WHERE ${topicFilter}(${join(conditions, ' OR ')}) GROUP BY partition, offset`;
}

/** The query id prefix of every sink insert into `database`: `tollgate-sink:<database>:<instance>:`. */
export function insertQueryIdPrefix(database: string, instanceId?: string): string {
  return `tollgate-sink:${database}:${instanceId === undefined ? '' : `${instanceId}:`}`;
}

/**
 * Sink inserts into `database` running on the server now, from any sink process, this one included: one
 * from a process that crashed or lost its partitions, or one of this process's own whose client gave up
 * (a timeout, or a flush abandoned when the group rebalanced). Their rows may still land, so offsets are
 * read only once these have ended. Inserts started after this snapshot belong to live owners of the
 * partitions they write: not waited for, so a busy fleet cannot starve a resync.
 */
export function runningInsertsQuery(database: string): Sql {
  return sql`SELECT query_id FROM system.processes WHERE startsWith(query_id, ${insertQueryIdPrefix(database)})`;
}

/** How many of these queries still run. */
export function stillRunningQuery(queryIds: readonly string[]): Sql {
  return sql`SELECT count() AS running FROM system.processes WHERE has(${queryIds}, query_id)`;
}

/** Whether one of this process's inserts is still running (a timed-out insert may still land). */
export function ownInsertQuery(queryId: string): Sql {
  return stillRunningQuery([queryId]);
}
