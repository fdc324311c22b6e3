/**
 * Retention for `tollgate prune`: which monthly partitions of Tollgate's tables are entirely older than
 * a cutoff, and the statements that list and drop them. Dropping a whole partition is a metadata
 * operation on every ClickHouse version (18.16 has no TTL); a month is dropped only once its last day
 * is older than the cutoff, so retention is "at least N days".
 */
import { identifier, raw, type Sql, sql } from '@tollgate/core';

/** What `--<group> <duration>` prunes; every table here is PARTITION BY toYYYYMM(<its time>). */
export const PRUNE_GROUPS = {
  'line-items': ['line_items'],
  rollups: ['line_items_by_attribution_hourly', 'line_items_by_run_agent_hourly', 'runs_monthly'],
  'run-events': ['run_events'],
  'dead-letters': ['dead_letters'],
} as const;

export type PruneGroup = keyof typeof PRUNE_GROUPS;

/**
 * The shortest retention: the priced topic keeps 7 days, and a restarted sink reads what it stored
 * for offsets it has not committed; those must still be there.
 */
export const MIN_RETENTION_DAYS = 7;

export interface Partition {
  table: string;
  partition_id: string;
  rows: string;
}

/** Active partitions of these tables with their row counts, by table and month. */
export function partitionsQuery(database: string, tables: readonly string[]): Sql {
  return sql`SELECT table, partition_id, sum(rows) AS rows
FROM system.parts
WHERE active AND database = ${database} AND has(${tables}, table)
GROUP BY table, partition_id
ORDER BY table, partition_id`;
}

export function dropPartitionStatement(table: string, partitionId: string): Sql {
  return sql`ALTER TABLE ${raw(identifier(table))} DROP PARTITION ID ${partitionId}`;
}

/** The first instant after month `YYYYMM` (UTC), or undefined for an id that is not a month. */
export function monthEnd(partitionId: string): Date | undefined {
  const match = /^(\d{4})(\d{2})$/.exec(partitionId);
  if (!match) return undefined;
  const month = Number(match[2]);
  if (month < 1 || month > 12) return undefined;
  return new Date(Date.UTC(Number(match[1]), month, 1));
}

/** The partitions whose whole month lies before their table's cutoff. */
export function partitionsToDrop(
  partitions: readonly Partition[],
  cutoffs: ReadonlyMap<string, Date>,
): Partition[] {
  return partitions.filter((partition) => {
    const cutoff = cutoffs.get(partition.table);
    const end = monthEnd(partition.partition_id);
    return cutoff !== undefined && end !== undefined && end <= cutoff;
  });
}
