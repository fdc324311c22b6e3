import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadRateCardFile } from '@tollgate/core';
import { executePlans } from '../services/cli/src/simulate/execute.ts';
import { createSimulationMeter, planFleet } from '../services/cli/src/simulate/index.ts';
import { costlyEvents, ledgerCost } from './support/expected.ts';
import { createTestContext, repoRoot, skipIntegration, type TestContext } from './support/index.ts';
import { eventually, type Pipeline, startPipeline } from './support/pipeline.ts';

describe('pipeline smoke', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let pipeline: Pipeline;
  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
    await ctx.clickhouse();
    pipeline = await startPipeline(ctx, { services: ['pricer', 'sink', 'detector'] });
  });
  after(async () => {
    await pipeline?.stop();
    await ctx.cleanup();
  });

  it('usage from the SDK arrives priced in ClickHouse', async () => {
    const card = await loadRateCardFile(`${repoRoot}/ratecards/default.yaml`);
    const meter = createSimulationMeter({ brokers: ctx.brokers, topic: ctx.topics.usage, card });
    const plans = planFleet(
      { preset: 'normal', runs: 10, seed: 3, orgs: ['acme'], features: ['f1'] },
      'smoke',
    );
    const ledgers = await executePlans({ meter, plans });
    await meter.close();
    const costly = costlyEvents(ledgers);
    const ch = await ctx.clickhouse();
    await eventually(
      async () => {
        const [row] = await ch.rows<{ n: string }>('SELECT uniqExact(event_id) AS n FROM line_items');
        return Number(row?.n) === costly;
      },
      { describe: () => pipeline.logs(20) },
    );
    const [total] = await ch.rows<{ nanos: string; unpriced: string }>(
      'SELECT sum(cost_nanos) AS nanos, countIf(priced = 0) AS unpriced FROM line_items',
    );
    const expected = ledgers.reduce((sum, ledger) => sum + ledgerCost(ledger), 0n);
    assert.equal(total?.unpriced, '0');
    assert.equal(BigInt(total?.nanos ?? -1), expected);
  });
});
