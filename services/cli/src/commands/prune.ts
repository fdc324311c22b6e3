/**
 * `tollgate prune --line-items 90d --rollups 400d …`: drops the monthly partitions of Tollgate's tables
 * that lie wholly before each group's retention (prune-queries.ts). `--dry-run` lists them. Only the
 * groups given are touched; the rollups can outlive the line items they summarise, so allocation by
 * org, feature, model and run keeps answering for months the raw lines are gone from.
 */
import { createClickHouse, silentLogger } from '@tollgate/core';
import { printTable, usageError } from '../output.ts';
import type { ProgramDeps } from '../program.ts';
import {
  dropPartitionStatement,
  MIN_RETENTION_DAYS,
  type Partition,
  PRUNE_GROUPS,
  type PruneGroup,
  partitionsQuery,
  partitionsToDrop,
} from './prune-queries.ts';

export interface PruneFlags {
  /** Retention per group as `<n>d`, for the groups given. */
  retention: Partial<Record<PruneGroup, string>>;
  dryRun: boolean;
}

/** `90d` → days; at least MIN_RETENTION_DAYS. */
export function parseRetention(option: string, text: string): number {
  const match = /^(\d+)d$/.exec(text.trim());
  if (!match) throw usageError(`${option} must be a number of days like 90d, got ${JSON.stringify(text)}`);
  const days = Number(match[1]);
  if (days < MIN_RETENTION_DAYS) {
    throw usageError(
      `${option} must be at least ${MIN_RETENTION_DAYS}d: a restarted sink checks what it stored for the priced topic's last 7 days, got ${text}`,
    );
  }
  return days;
}

export async function runPrune(
  deps: ProgramDeps,
  flags: PruneFlags,
  out: NodeJS.WritableStream,
  now = Date.now(),
): Promise<void> {
  const groups = Object.entries(flags.retention) as [PruneGroup, string][];
  if (groups.length === 0) {
    throw usageError(
      `give a retention for at least one of ${Object.keys(PRUNE_GROUPS)
        .map((group) => `--${group}`)
        .join(', ')} (e.g. --line-items 90d)`,
    );
  }
  const cutoffs = new Map<string, Date>();
  for (const [group, text] of groups) {
    const cutoff = new Date(now - parseRetention(`--${group}`, text) * 86_400_000);
    for (const table of PRUNE_GROUPS[group]) cutoffs.set(table, cutoff);
  }
  const clickhouse = createClickHouse({ ...deps.config.clickhouse, logger: silentLogger() });
  try {
    const partitions = await clickhouse.rows<Partition>(
      partitionsQuery(clickhouse.database, [...cutoffs.keys()]),
    );
    const doomed = partitionsToDrop(partitions, cutoffs);
    for (const [group, text] of groups) {
      out.write(
        `--${group} ${text}: months ending before ${cutoffs.get(PRUNE_GROUPS[group][0])?.toISOString()}\n`,
      );
    }
    if (doomed.length === 0) {
      out.write('nothing to drop\n');
      return;
    }
    printTable(
      ['table', 'month', 'rows'],
      doomed.map((p) => [p.table, `${p.partition_id.slice(0, 4)}-${p.partition_id.slice(4)}`, p.rows]),
      out,
    );
    const rows = doomed.reduce((n, p) => n + BigInt(p.rows), 0n);
    if (flags.dryRun) {
      out.write(`(--dry-run: would drop ${doomed.length} partitions, ${rows} rows)\n`);
      return;
    }
    for (const [i, partition] of doomed.entries()) {
      await clickhouse.exec(dropPartitionStatement(partition.table, partition.partition_id));
      out.write(`  dropped ${partition.table} ${partition.partition_id} (${i + 1}/${doomed.length})\n`);
    }
    out.write(`dropped ${doomed.length} partitions, ${rows} rows\n`);
  } finally {
    await clickhouse.close();
  }
}
