/**
 * The pipeline rides out a broker restart: pricer, sink and detector keep running while their only
 * Kafka broker stops in the middle of a fleet's traffic and comes back, and ClickHouse ends up with
 * every costly event once, to the nano. A broker of the test's own (support/private-broker.ts): the
 * shared one must never stop. What the simulator sent is the expectation (support/expected.ts).
 * A stage whose consumer kafkajs restarted while the broker was away rejoins its group as the member
 * it was (test/kafka-rejoin.int.test.ts); readiness is still awaited, not expected at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadRateCardFile } from '@tollgate/core';
import { executePlans } from '../services/cli/src/simulate/execute.ts';
import { createSimulationMeter, planFleet } from '../services/cli/src/simulate/index.ts';
import { costlyEvents, ledgerCost } from './support/expected.ts';
import { createTestContext, repoRoot, skipIntegration, type TestContext } from './support/index.ts';
import { eventually, type Pipeline, startPipeline } from './support/pipeline.ts';
import { type PrivateBroker, startPrivateBroker } from './support/private-broker.ts';

const DOWN_MS = 15_000;

describe('pipeline through a broker restart', { skip: skipIntegration, timeout: 600_000 }, () => {
  let broker: PrivateBroker;
  let ctx: TestContext;
  let pipeline: Pipeline | undefined;
  before(async () => {
    broker = await startPrivateBroker('broker-restart');
    ctx = await createTestContext({ partitions: 3, brokers: broker.brokers });
    await ctx.createTopics();
    await ctx.clickhouse();
    pipeline = await startPipeline(ctx, { services: ['pricer', 'sink', 'detector'] });
  });
  after(async () => {
    await pipeline?.stop();
    await ctx.cleanup();
    await broker.close();
  });

  it('stores every costly event once when the broker stops mid-stream for 15 s and comes back', async () => {
    const card = await loadRateCardFile(`${repoRoot}/ratecards/default.yaml`);
    const ch = await ctx.clickhouse();
    let last = { events: 0, lines: 0, distinct: 0 };
    const stored = async () => {
      const [row] = await ch.rows<{ events: string; lines: string; distinct_lines: string }>(
        'SELECT uniqExact(event_id) AS events, count() AS lines, uniqExact(event_id, line_no) AS distinct_lines FROM line_items',
      );
      last = {
        events: Number(row?.events),
        lines: Number(row?.lines),
        distinct: Number(row?.distinct_lines),
      };
      return last;
    };
    const send = async (preset: 'scenarios' | 'normal', seed: number) => {
      const meter = createSimulationMeter({ brokers: ctx.brokers, topic: ctx.topics.usage, card });
      const plans = planFleet({ preset, runs: 150, seed, orgs: ['acme'], features: ['f1', 'f2'] }, preset);
      const ledgers = await executePlans({ meter, plans });
      await meter.close();
      return ledgers;
    };

    // The field scenarios first (their loop, fan-out and idle sandboxes raise alerts), then a normal fleet.
    const first = await send('scenarios', 11);
    const firstCostly = costlyEvents(first);
    // Stop the broker while the pipeline is part way through the first fleet.
    await eventually(async () => (await stored()).events > 0, {
      timeoutMs: 60_000,
      intervalMs: 100,
      describe: () => `nothing stored yet\n${pipeline!.logs(20)}`,
    });
    const atStop = await stored();
    await broker.stop();
    assert.ok(
      atStop.events < firstCostly,
      `the stop must land mid-stream (${atStop.events} of ${firstCostly} stored)`,
    );
    await sleep(DOWN_MS);
    for (const service of pipeline!.services.values())
      assert.equal(service.child.exitCode, null, `${service.name} still running while the broker is down`);
    await broker.start();

    const second = await send('normal', 12);
    const ledgers = [...first, ...second];
    const costly = costlyEvents(ledgers);
    await eventually(async () => (await stored()).events >= costly, {
      timeoutMs: 180_000,
      describe: () => `stored ${JSON.stringify(last)} of ${costly} costly events\n${pipeline!.logs(30)}`,
    });
    // A duplicate, if one were coming, would come with the next flush.
    await sleep(3_000);
    const final = await stored();
    assert.equal(final.events, costly, 'every costly event stored');
    assert.equal(final.lines, final.distinct, 'no line item stored twice');
    const [total] = await ch.rows<{ nanos: string }>('SELECT sum(cost_nanos) AS nanos FROM line_items');
    assert.equal(
      BigInt(total?.nanos ?? -1),
      ledgers.reduce((sum, ledger) => sum + ledgerCost(ledger), 0n),
      'spend to the nano',
    );
    // The detector's alerts: none published twice (the sink stores each alert message once).
    const [alerts] = await ch.rows<{ rows: string; ids: string }>(
      'SELECT count() AS rows, uniqExact(alert_id) AS ids FROM alerts',
    );
    assert.ok(Number(alerts?.rows) > 0, 'the fleet raised alerts');
    assert.equal(alerts?.rows, alerts?.ids, 'no alert published twice');
    for (const service of pipeline!.services.values()) {
      assert.equal(service.child.exitCode, null, `${service.name} still running after the restart`);
      let readiness = '';
      await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${service.port}/readyz`);
          readiness = `${response.status} ${await response.text()}`;
          return response.ok;
        },
        {
          timeoutMs: 60_000,
          describe: () => `${service.name} not ready again: ${readiness}\n${pipeline!.logs(20)}`,
        },
      );
    }
  });
});
