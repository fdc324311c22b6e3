/**
 * Migrations 0007 and 0008 move the folded runs from `runs` (no partitions, so never pruned) into
 * `runs_monthly` (by month). On a database at 0006 with runs in it, including runs whose run_events a
 * prune already dropped and a run that spans a month boundary, every run reads the same afterwards, new
 * run events keep folding in, and old months can be dropped.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  applyMigrations,
  type ClickHouse,
  createClickHouse,
  dropDatabase,
  ensureDatabase,
  loadMigrations,
  silentLogger,
} from '@tollgate/core';
import { repoRoot, skipIntegration, uniqueId } from './support/index.ts';

const MIGRATIONS = resolve(repoRoot, 'schemas', 'clickhouse');

/** Each run's folded state, finalised, as a user reads it (GROUP BY run_id over the table's rows). */
function runStates(ch: ClickHouse, table: string) {
  return ch.rows(
    `SELECT org_id, run_id, maxMerge(feature) AS f, maxMerge(customer_id) AS c, maxMerge(environment) AS e, toString(minIfMerge(started_at)) AS s, toString(maxIfMerge(ended_at)) AS x, argMaxIfMerge(outcome) AS o FROM ${table} GROUP BY org_id, run_id ORDER BY org_id, run_id`,
  );
}

interface RunEvent {
  kind: 'run_start' | 'run_end' | 'subagent_spawn';
  run: string;
  time: string;
  outcome?: string;
  feature?: string;
}

function insertRunEvents(ch: ClickHouse, events: RunEvent[]): Promise<void> {
  const rows = events.map(
    (e, i) =>
      `('${e.run}-${e.kind}-${i}', toDateTime('${e.time}', 'UTC'), '${e.kind}', 'acme', '${e.run}', 'a0', '', 'root', 0, '${e.feature ?? 'search'}', 'cust-1', 'production', '${e.outcome ?? ''}', 0, '', '', 0, 'priced', 0, ${i}, now())`,
  );
  return ch.exec(`INSERT INTO run_events VALUES ${rows.join(', ')}`);
}

describe('migrations 0007 and 0008: runs into runs_monthly', { skip: skipIntegration }, () => {
  const options = {
    url: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
    database: `test_${uniqueId()}`,
    logger: silentLogger(),
  };
  let ch: ClickHouse;
  before(async () => {
    await ensureDatabase(options);
    ch = createClickHouse(options);
  });
  after(async () => {
    await ch.close();
    await dropDatabase(options);
  });

  it('carries every run over, then folds new run events by month and drops old months', async () => {
    const all = await loadMigrations(MIGRATIONS);
    await applyMigrations(
      ch,
      all.filter((m) => m.version <= 6),
    );
    await insertRunEvents(ch, [
      // ended within October
      { kind: 'run_start', run: 'r-oct', time: '2026-10-03 10:00:00' },
      { kind: 'run_end', run: 'r-oct', time: '2026-10-03 10:05:00', outcome: 'success' },
      // across the October/November boundary
      { kind: 'run_start', run: 'r-span', time: '2026-10-31 23:50:00', feature: 'research' },
      {
        kind: 'run_end',
        run: 'r-span',
        time: '2026-11-01 00:20:00',
        outcome: 'failure',
        feature: 'research',
      },
      // started, never ended
      { kind: 'run_start', run: 'r-open', time: '2026-11-20 08:00:00' },
      // ended twice (redelivered run_end): the later outcome wins, as before
      { kind: 'run_start', run: 'r-twice', time: '2026-11-21 08:00:00' },
      { kind: 'run_end', run: 'r-twice', time: '2026-11-21 08:01:00', outcome: 'failure' },
      { kind: 'run_end', run: 'r-twice', time: '2026-11-21 08:02:00', outcome: 'success' },
      // a spawn is not a run state
      { kind: 'subagent_spawn', run: 'r-oct', time: '2026-10-03 10:01:00' },
    ]);
    // September's run events were pruned already: only `runs` still knows that run.
    await insertRunEvents(ch, [
      { kind: 'run_start', run: 'r-sep', time: '2026-09-10 12:00:00' },
      { kind: 'run_end', run: 'r-sep', time: '2026-09-10 12:30:00', outcome: 'success' },
    ]);
    await ch.exec('ALTER TABLE run_events DROP PARTITION 202609');
    const before = await runStates(ch, 'runs');
    assert.equal(before.length, 5);
    // `provision --dry-run` sees the two pending migrations and runs neither
    const planned = await applyMigrations(ch, all, undefined, { dryRun: true });
    assert.deepEqual(planned.applied, ['0007_runs_monthly.sql', '0008_drop_runs.sql']);
    assert.deepEqual(await runStates(ch, 'runs'), before);

    const result = await applyMigrations(ch, all);
    assert.deepEqual(result.applied, ['0007_runs_monthly.sql', '0008_drop_runs.sql']);
    assert.deepEqual(await runStates(ch, 'runs_monthly'), before);
    const tables = await ch.rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = '${options.database}' AND name LIKE 'runs%' ORDER BY name`,
    );
    assert.deepEqual(
      tables.map((t) => t.name),
      ['runs_monthly', 'runs_monthly_mv'],
    );

    // New run events fold in; the open run ends in December.
    await insertRunEvents(ch, [
      { kind: 'run_end', run: 'r-open', time: '2026-12-01 09:00:00', outcome: 'success' },
    ]);
    const open = (await runStates(ch, 'runs_monthly')).find((run) => run.run_id === 'r-open');
    assert.deepEqual(
      { s: open?.s, x: open?.x, o: open?.o },
      { s: '2026-11-20 08:00:00', x: '2026-12-01 09:00:00', o: 'success' },
    );

    // Months are partitions: dropping September and October leaves the runs that ended later.
    const partitions = await ch.rows<{ partition: string }>(
      `SELECT DISTINCT partition FROM system.parts WHERE database = '${options.database}' AND table = 'runs_monthly' AND active ORDER BY partition`,
    );
    assert.deepEqual(
      partitions.map((p) => p.partition),
      ['202609', '202610', '202611', '202612'],
    );
    await ch.exec('ALTER TABLE runs_monthly DROP PARTITION 202609');
    await ch.exec('ALTER TABLE runs_monthly DROP PARTITION 202610');
    const left = await runStates(ch, 'runs_monthly');
    assert.deepEqual(
      left.map((run) => [run.run_id, run.o]),
      [
        ['r-open', 'success'],
        ['r-span', 'failure'],
        ['r-twice', 'success'],
      ],
    );
  });
});
