/**
 * The statements of `tollgate dlq replay`: which dead letters are waiting for a replay, and what
 * dead_letter_replays records once they are published again. Same SQL on 18.16 and current ClickHouse.
 */
import { formatDateTime, join, raw, type Sql, sql, TOPIC_NAMES } from '@tollgate/core';

export interface DeadLetterFilter {
  stage: string;
  /** The topics (by name, under any TOPIC_PREFIX) whose messages this stage's replay handles. */
  sourceTopics: readonly string[];
  reasonCode?: string | undefined;
  from: Date;
  to: Date;
}

/** One source message waiting for a replay (several dead letters of one message are one row). */
export interface PendingDeadLetter {
  source_topic: string;
  source_partition: number;
  source_offset: string;
  stage: string;
  reason_code: string;
  key: string;
  payload_base64: string;
}

/** The topics whose dead letters each replayable stage takes (dlq.ts says why). */
export const REPLAY_SOURCE_TOPICS = {
  pricer: [TOPIC_NAMES.usage],
  sink: [TOPIC_NAMES.priced, TOPIC_NAMES.alerts],
} as const;

function conditions(filter: DeadLetterFilter): Sql {
  const reason = filter.reasonCode === undefined ? sql`1` : sql`reason_code = ${filter.reasonCode}`;
  // Only messages of the stage's topics (any TOPIC_PREFIX); ingest's letters have no Kafka origin
  // (source_partition -1): they were an HTTP request's bad input.
  return sql`stage = ${filter.stage} AND ${reason} AND received_at >= ${filter.from} AND received_at < ${filter.to}
  AND arrayExists(topic -> endsWith(source_topic, topic), ${filter.sourceTopics}) AND source_partition >= 0
  AND (source_topic, source_partition, source_offset) NOT IN
      (SELECT source_topic, source_partition, source_offset FROM dead_letter_replays)`;
}

/** The waiting source messages, in source order, at most `limit` after the first `skip`. */
export function pendingDeadLettersQuery(filter: DeadLetterFilter, limit: number, skip = 0): Sql {
  // The filter runs in a subquery: on 18.16 an alias of the outer SELECT (any(stage) AS stage) would
  // stand for the column in the WHERE beside it.
  return sql`SELECT source_topic, source_partition, source_offset,
  any(stage) AS stage, any(reason_code) AS reason_code, any(key) AS key, any(payload_base64) AS payload_base64
FROM (SELECT * FROM dead_letters WHERE ${conditions(filter)})
GROUP BY source_topic, source_partition, source_offset
ORDER BY source_topic, source_partition, source_offset
LIMIT ${skip}, ${limit}`;
}

/** How many source messages wait, by reason and topic: what `--dry-run` prints. */
export function pendingDeadLettersSummaryQuery(filter: DeadLetterFilter): Sql {
  return sql`SELECT reason_code, source_topic, uniqExact(source_partition, source_offset) AS messages
FROM dead_letters
WHERE ${conditions(filter)}
GROUP BY reason_code, source_topic
ORDER BY reason_code, source_topic`;
}

/** The sink's tables, by the source position stored with every row. */
const SINK_TABLES = ['line_items', 'run_events', 'alerts'] as const;

/**
 * Which of these source messages already have rows in the sink's tables: a replay cut off after its
 * insert and before its record must not store them twice.
 */
export function storedPositionsQuery(letters: readonly PendingDeadLetter[]): Sql {
  const positions = join(
    letters.map(
      (letter) => sql`(${letter.source_topic}, ${letter.source_partition}, ${BigInt(letter.source_offset)})`,
    ),
    ', ',
  );
  const selects = SINK_TABLES.map(
    (table) =>
      sql`SELECT source_topic, source_partition, source_offset FROM ${raw(table)} WHERE (source_topic, source_partition, source_offset) IN (${positions})`,
  );
  return sql`SELECT DISTINCT source_topic, source_partition, toString(source_offset) AS source_offset FROM (${join(selects, ' UNION ALL ')})`;
}

/** The dead_letter_replays row of a letter published again at `partition`/`offset`. */
export function replayRow(letter: PendingDeadLetter, partition: number, offset: string, at: Date) {
  return {
    source_topic: letter.source_topic,
    source_partition: letter.source_partition,
    source_offset: letter.source_offset,
    stage: letter.stage,
    reason_code: letter.reason_code,
    replayed_at: formatDateTime(at),
    replay_partition: partition,
    replay_offset: offset,
  };
}
