/**
 * `tollgate prune` on the real ClickHouse: line items and ended runs in three months, the rollups and
 * runs_monthly the views filled from them; each group keeps what its retention asks for, whole months
 * only, and --dry-run drops nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClickHouse, formatDateTime } from '@tollgate/core';
import { createTestContext, runCli, skipIntegration, type TestContext } from './support/index.ts';

const DAY = 86_400_000;

describe('tollgate prune', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  const now = Date.now();
  const ages = [250, 130, 0];

  before(async () => {
    ctx = await createTestContext();
    ch = await ctx.clickhouse();
    await ch.insert(
      'line_items',
      ages.map((age) => ({
        event_id: `evt-${age}`,
        line_no: 0,
        event_time: formatDateTime(new Date(now - age * DAY)),
        org_id: 'acme',
        run_id: `run-${age}`,
        cost_nanos: 1_000_000_000,
        priced: 1,
        currency: 'USD',
      })),
    );
    await ch.insert(
      'run_events',
      ages.map((age) => ({
        event_id: `end-${age}`,
        event_time: formatDateTime(new Date(now - age * DAY)),
        kind: 'run_end',
        org_id: 'acme',
        run_id: `run-${age}`,
        outcome: 'success',
      })),
    );
  });
  after(() => ctx.cleanup());

  async function prune(...args: string[]) {
    const result = await runCli(
      { CLICKHOUSE_URL: ctx.clickhouseUrl, CLICKHOUSE_DATABASE: ctx.database },
      'prune',
      ...args,
    );
    assert.equal(result.code, 0, result.stdout);
    return result.stdout;
  }

  /** How many months the table holds. */
  const months = async (table: string, time: string) =>
    Number((await ch.rows<{ n: string }>(`SELECT uniqExact(toYYYYMM(${time})) AS n FROM ${table}`))[0]?.n);

  it('lists with --dry-run and drops nothing', async () => {
    const out = await prune('--line-items', '90d', '--dry-run');
    assert.match(out, /line_items +│ \d{4}-\d{2} +│ 1 /);
    assert.match(out, /would drop 2 partitions, 2 rows/);
    assert.equal(await months('line_items', 'event_time'), 3);
  });

  it('keeps each group for its own retention, whole months only', async () => {
    const out = await prune('--line-items', '90d', '--rollups', '200d');
    // line_items: 2 months; each of the two rollup tables and runs_monthly: 1 month
    assert.match(out, /dropped 5 partitions, 5 rows/);
    // line items: the months of 250 and 130 days ago are gone, this month stays
    const left = await ch.rows<{ event_id: string }>('SELECT event_id FROM line_items ORDER BY event_id');
    assert.deepEqual(
      left.map((row) => row.event_id),
      ['evt-0'],
    );
    // rollups: only the month of 250 days ago is gone; allocation still answers for 130 days ago
    const [rollup] = await ch.rows<{ nanos: string }>(
      'SELECT sum(cost_nanos) AS nanos FROM line_items_by_attribution_hourly',
    );
    assert.equal(rollup?.nanos, '2000000000');
    assert.equal(await months('line_items_by_attribution_hourly', 'hour'), 2);
    assert.equal(await months('line_items_by_run_agent_hourly', 'hour'), 2);
    // runs: the run that ended 250 days ago is gone, the others keep their outcome
    const runs = await ch.rows<{ run_id: string; outcome: string }>(
      'SELECT run_id, argMaxIfMerge(outcome) AS outcome FROM runs_monthly GROUP BY run_id ORDER BY run_id',
    );
    assert.deepEqual(
      runs.map((run) => [run.run_id, run.outcome]),
      [
        ['run-0', 'success'],
        ['run-130', 'success'],
      ],
    );
    assert.match(await prune('--line-items', '90d', '--rollups', '200d'), /nothing to drop/);
  });
});
