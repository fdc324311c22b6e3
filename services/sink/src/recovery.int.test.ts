/**
 * Exactly-once under failure, with the sink as a real process: SIGKILL mid-stream and restart, and
 * ClickHouse unreachable for 30 s under load (through a proxy the test cuts; the shared server keeps
 * running). Totals in line_items and in the rollups must equal what was published, to the nano.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ClickHouse, Producer } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext, uniqueId } from '@tollgate/test/support';
import {
  createProxy,
  freePort,
  getText,
  type Load,
  metricSum,
  publishLoad,
  type SinkProcess,
  spawnSink,
} from './test-harness.ts';
import { waitFor } from './wait.ts';

async function count(ch: ClickHouse): Promise<number> {
  const rows = await ch.rows<{ n: string }>('SELECT count() AS n FROM line_items');
  return Number(rows[0]?.n ?? 0);
}

/** Waits for every line, then for quiet (a late duplicate would show), then checks every total. */
async function assertExactlyOnce(ch: ClickHouse, load: Load, what: string): Promise<void> {
  await waitFor(async () => (await count(ch)) >= load.lines, 120_000, `${load.lines} lines (${what})`, 250);
  await new Promise((done) => setTimeout(done, 2_000));
  const [lines] = await ch.rows<Record<string, string>>(
    'SELECT toString(count()) AS n, toString(uniqExact(event_id, line_no)) AS distinct_lines, toString(sum(cost_nanos)) AS cost, toString(countIf(priced = 0)) AS unpriced FROM line_items',
  );
  assert.deepEqual(lines, {
    n: String(load.lines),
    distinct_lines: String(load.lines),
    cost: load.costNanos.toString(),
    unpriced: String(Math.floor(load.events / 10)),
  });
  const [rollup] = await ch.rows<Record<string, string>>(
    'SELECT toString(sum(cost_nanos)) AS cost, toString(sum(lines)) AS lines, toString(sum(unpriced_lines)) AS unpriced FROM line_items_by_attribution_hourly',
  );
  assert.deepEqual(rollup, {
    cost: load.costNanos.toString(),
    lines: String(load.lines),
    unpriced: String(Math.floor(load.events / 10)),
  });
  const byFeature = await ch.rows<{ feature: string; cost: string }>(
    'SELECT feature, toString(sum(cost_nanos)) AS cost FROM line_items_by_attribution_hourly GROUP BY feature ORDER BY feature',
  );
  assert.deepEqual(
    byFeature,
    [...load.costByFeature]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([feature, cost]) => ({ feature, cost: cost.toString() })),
  );
  const [byRun] = await ch.rows<{ cost: string }>(
    'SELECT toString(sum(cost_nanos)) AS cost FROM line_items_by_run_agent_hourly',
  );
  assert.equal(byRun?.cost, load.costNanos.toString());
}

describe('sink recovery (real process, real Kafka and ClickHouse)', { skip: skipIntegration }, () => {
  // Each test has its own topics and database (a fresh context), so their loads never mix.
  let ctx: TestContext;
  let ch: ClickHouse;
  let producer: Producer;
  const running = new Set<SinkProcess>();

  beforeEach(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
    ch = await ctx.clickhouse();
    producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
  });
  afterEach(async () => {
    for (const sink of running) sink.child.kill('SIGKILL');
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  function start(options: Parameters<typeof spawnSink>[1]): SinkProcess {
    const sink = spawnSink(ctx, options);
    running.add(sink);
    void sink.exited.then(() => running.delete(sink));
    return sink;
  }

  it('counts every line exactly once with two sinks in one group, one SIGKILLed mid-stream three times', async () => {
    const groupId = uniqueId('kill');
    const ports = [await freePort(), await freePort()];
    // Two members share the three partitions; every kill moves partitions (a rebalance) to the survivor.
    const sinks = ports.map((port) => start({ groupId, port }));
    const publishing = publishLoad(producer, ctx.topics.priced, {
      count: 30_000,
      chunk: 250,
      pauseMs: 250,
      prefix: 'kill',
    });
    for (let kill = 1; kill <= 3; kill++) {
      const victim = kill % 2;
      const before = await count(ch);
      await waitFor(async () => (await count(ch)) > before, 60_000, `progress before kill ${kill}`, 50);
      // Kill at a varying distance after an insert, to land between insert and commit at least once.
      await new Promise((done) => setTimeout(done, 40 * kill));
      sinks[victim]?.child.kill('SIGKILL');
      assert.equal(await sinks[victim]?.exited, null, 'killed by the signal');
      sinks[victim] = start({ groupId, port: ports[victim] ?? 0 });
    }
    const load = await publishing;
    await assertExactlyOnce(ch, load, 'after kills');
    for (const port of ports)
      await waitFor(async () => (await getText(port, '/readyz')).status === 200, 30_000, 'ready');
    // A clean stop of both: flush, commit and exit 0 within the deadline.
    for (const sink of sinks) sink.child.kill('SIGTERM');
    for (const sink of sinks) assert.equal(await sink.exited, 0, sink.output());
  });

  it('pauses while ClickHouse is unreachable for 30 s under load, reports it, and resumes without loss', async () => {
    const proxy = await createProxy(new URL(ctx.clickhouseUrl));
    try {
      const groupId = uniqueId('outage');
      const port = await freePort();
      const sink = start({ groupId, port, clickhouseUrl: `http://127.0.0.1:${proxy.port}` });
      const publishing = publishLoad(producer, ctx.topics.priced, {
        count: 40_000,
        chunk: 500,
        pauseMs: 50,
        prefix: 'outage',
      });
      await waitFor(async () => (await count(ch)) > 0, 60_000, 'first rows', 50);
      await waitFor(async () => (await getText(port, '/readyz')).status === 200, 30_000, 'ready');

      await proxy.cut();
      const cutAt = Date.now();
      await waitFor(
        async () => (await getText(port, '/readyz')).status === 503,
        15_000,
        'not ready while cut',
      );
      await waitFor(
        async () => metricSum((await getText(port, '/metrics')).body, 'tollgate_sink_consumer_lag') > 0,
        25_000,
        'lag reported while cut',
      );
      // An insert in flight when the proxy was cut may still land; after that nothing gets through.
      await new Promise((done) => setTimeout(done, 2_000));
      const stalled = await count(ch);
      await new Promise((done) => setTimeout(done, Math.max(0, 30_000 - (Date.now() - cutAt))));
      const during = (await getText(port, '/metrics')).body;
      assert.ok(metricSum(during, 'tollgate_sink_retries_total') > 0, 'retries counted');
      assert.equal(metricSum(during, 'tollgate_sink_clickhouse_up'), 0);
      assert.equal(await count(ch), stalled, 'no writes while ClickHouse is unreachable');
      await proxy.restore();

      const load = await publishing;
      await assertExactlyOnce(ch, load, 'after the outage');
      const afterMetrics = (await getText(port, '/metrics')).body;
      assert.equal(metricSum(afterMetrics, 'tollgate_sink_clickhouse_up'), 1);
      assert.ok(metricSum(afterMetrics, 'tollgate_sink_rows_inserted_total') > 0);
      sink.child.kill('SIGTERM');
      assert.equal(await sink.exited, 0, sink.output());
    } finally {
      await proxy.close();
    }
  });
});
