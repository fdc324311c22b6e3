/**
 * The sink against the real broker and ClickHouse, in-process: what lands in each table, dead letters,
 * and the resynchronisation that stops a message stored before a crash from being stored again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClickHouse,
  createAlertCodec,
  createClickHouse,
  createDeadLetterCodec,
  createPricedCodec,
  createRegistry,
  formatDateTime,
  type Producer,
} from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import { createSinkMetrics } from './metrics.ts';
import { lineItemRows } from './rows.ts';
import { createSink, type Sink } from './sink.ts';
import { createProxy } from './test-harness.ts';
import { costAlert, lineItem, pricedEvent, runEvent } from './testing.ts';
import { waitFor } from './wait.ts';
import { createSinkWriter } from './writer.ts';

const priced = createPricedCodec();

describe('sink (Kafka → ClickHouse)', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  let producer: Producer;
  let sink: Sink | undefined;

  before(async () => {
    ctx = await createTestContext({ partitions: 2 });
    await ctx.createTopics();
    ch = await ctx.clickhouse();
    producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
  });
  after(async () => {
    await sink?.stop(5_000);
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  function startSink(groupId: string): Sink {
    const metrics = createSinkMetrics(createRegistry('sink-test'));
    const s = createSink({
      kafka: ctx.kafka,
      writer: createSinkWriter({ clickhouse: ch }),
      logger: ctx.logger,
      metrics,
      topics: { priced: ctx.topics.priced, alerts: ctx.topics.alerts, deadLetters: ctx.topics.deadLetters },
      groupId,
      flushIntervalMs: 200,
    });
    return s;
  }

  it('stores lines, runs, alerts and dead letters once, even for messages already stored before a crash', async () => {
    const events = [
      runEvent('run_start', { event_id: 'rs', run_id: 'run-1' }),
      pricedEvent({ event_id: 'e1', run_id: 'run-1' }),
      pricedEvent({ event_id: 'e2', run_id: 'run-1', feature: null }, [
        lineItem({ line_no: 0, cost_nanos: 1_000 }),
        lineItem({
          line_no: 1,
          item: 'web_search',
          category: 'tools',
          unit: 'call',
          quantity: '2',
          priced: false,
          cost_nanos: null,
          unit_price: null,
        }),
      ]),
      runEvent('run_end', { event_id: 're', run_id: 'run-1' }, 'success'),
    ];
    // Partition 0 gets everything (one key). A previous sink stored e1 and crashed before committing.
    await producer.send({
      topic: ctx.topics.priced,
      messages: events.map((event) => ({ key: 'run-1', value: priced.encode(event), partition: 0 })),
    });
    const writer = createSinkWriter({ clickhouse: ch });
    const at = formatDateTime(new Date());
    const e1 = events[1];
    assert.ok(e1);
    await writer.insert(
      'line_items',
      lineItemRows(e1, { topic: ctx.topics.priced, partition: 0, offset: '1' }, at),
      writer.newQueryId('line_items'),
    );
    // A corrupt message and an event without org go to the dead-letter topic, then into dead_letters.
    await producer.send({
      topic: ctx.topics.priced,
      messages: [
        { key: 'run-x', value: Buffer.from('not avro at all'), partition: 1 },
        { key: 'run-y', value: priced.encode(pricedEvent({ event_id: 'bad', org_id: '' })), partition: 1 },
      ],
    });
    await producer.send({
      topic: ctx.topics.alerts,
      messages: [{ key: 'alert-1', value: createAlertCodec().encode(costAlert()) }],
    });

    sink = startSink('sink-test-1');
    await sink.start();

    await waitFor(
      async () => Number((await ch.rows<{ n: string }>('SELECT count() AS n FROM dead_letters'))[0]?.n) === 2,
      30_000,
    );
    await waitFor(
      async () => Number((await ch.rows<{ n: string }>('SELECT count() AS n FROM alerts'))[0]?.n) === 1,
      30_000,
    );
    await waitFor(
      async () => Number((await ch.rows<{ n: string }>('SELECT count() AS n FROM line_items'))[0]?.n) >= 4,
      30_000,
    );
    await waitFor(
      async () => Number((await ch.rows<{ n: string }>('SELECT count() AS n FROM run_events'))[0]?.n) >= 2,
      30_000,
    );
    // ClickHouse writes an insert's block into its table before it runs the materialized views: wait
    // until the views have counted it too.
    await waitFor(
      async () =>
        Number(
          (await ch.rows<{ n: string }>('SELECT sum(lines) AS n FROM line_items_by_attribution_hourly'))[0]
            ?.n,
        ) >= 4 && (await ch.rows('SELECT run_id FROM runs_monthly')).length > 0,
      30_000,
      'the rollups to count the rows',
    );

    const lines = await ch.rows<{ event_id: string; n: string; cost: string }>(
      'SELECT event_id, count() AS n, toString(sum(cost_nanos)) AS cost FROM line_items GROUP BY event_id ORDER BY event_id',
    );
    assert.deepEqual(lines, [
      { event_id: 'e1', n: '2', cost: '6000000' },
      { event_id: 'e2', n: '2', cost: '1000' },
    ]);
    const rollup = await ch.rows<Record<string, string>>(
      'SELECT feature, toString(sum(cost_nanos)) AS cost, toString(sum(lines)) AS lines, toString(sum(unpriced_lines)) AS unpriced FROM line_items_by_attribution_hourly GROUP BY feature ORDER BY feature',
    );
    assert.deepEqual(rollup, [
      { feature: '', cost: '1000', lines: '2', unpriced: '1' },
      { feature: 'search', cost: '6000000', lines: '2', unpriced: '0' },
    ]);
    const runs = await ch.rows<Record<string, string>>(
      'SELECT run_id, argMaxIfMerge(outcome) AS outcome, toString(minIfMerge(started_at)) AS started FROM runs_monthly GROUP BY run_id',
    );
    assert.deepEqual(runs, [{ run_id: 'run-1', outcome: 'success', started: '2026-01-15 10:30:00' }]);
    const letters = await ch.rows<Record<string, string>>(
      'SELECT stage, reason_code, source_topic, toString(source_offset) AS offset, key FROM dead_letters ORDER BY offset',
    );
    assert.deepEqual(letters, [
      {
        stage: 'sink',
        reason_code: 'not_single_object',
        source_topic: ctx.topics.priced,
        offset: '0',
        key: 'run-x',
      },
      {
        stage: 'sink',
        reason_code: 'invalid_priced_event',
        source_topic: ctx.topics.priced,
        offset: '1',
        key: 'run-y',
      },
    ]);
    const payload = await ch.rows<{ p: string }>(
      'SELECT payload_base64 AS p FROM dead_letters WHERE source_offset = 0',
    );
    assert.equal(Buffer.from(payload[0]?.p ?? '', 'base64').toString(), 'not avro at all');

    // Offsets are committed: a new sink in the same group stores nothing again.
    await sink.stop(10_000);
    sink = startSink('sink-test-1');
    await sink.start();
    await producer.send({
      topic: ctx.topics.priced,
      messages: [
        {
          key: 'run-2',
          value: priced.encode(pricedEvent({ event_id: 'e3', run_id: 'run-2' })),
          partition: 0,
        },
      ],
    });
    await waitFor(
      async () => Number((await ch.rows<{ n: string }>('SELECT count() AS n FROM line_items'))[0]?.n) >= 6,
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const total = await ch.rows<{ n: string; cost: string }>(
      'SELECT count() AS n, toString(sum(cost_nanos)) AS cost FROM line_items',
    );
    assert.deepEqual(total, [{ n: '6', cost: '12001000' }]);
  });

  it('does not insert again what a failed insert had stored (the client saw an error, the rows landed)', async () => {
    const proxy = await createProxy(new URL(ctx.clickhouseUrl));
    const viaProxy = createClickHouse({
      url: `http://127.0.0.1:${proxy.port}`,
      database: ctx.database,
      logger: ctx.logger,
    });
    const registry = createRegistry('sink-ambiguous');
    const ambiguous = createSink({
      kafka: ctx.kafka,
      writer: createSinkWriter({ clickhouse: viaProxy }),
      logger: ctx.logger,
      metrics: createSinkMetrics(registry),
      topics: { priced: ctx.topics.priced, alerts: ctx.topics.alerts, deadLetters: ctx.topics.deadLetters },
      groupId: 'sink-test-ambiguous',
      flushIntervalMs: 200,
      retryMaxMs: 500,
    });
    const metric = async (name: string, topic?: string) =>
      ((await registry.getSingleMetric(name)?.get())?.values ?? [])
        .filter((v) => topic === undefined || v.labels.topic === topic)
        .reduce((sum, v) => sum + v.value, 0);
    try {
      await sink?.stop(10_000);
      sink = undefined;
      // A new group reads the topic from the start: what the first test stored is recognised and skipped.
      await ambiguous.start();
      await waitFor(
        async () => (await metric('tollgate_sink_messages_total', ctx.topics.priced)) >= 7,
        30_000,
        'catch-up',
      );
      // The new group dead-letters the two bad messages again (the DLQ is at-least-once) and stores them:
      // wait for that to settle so nothing else is in flight.
      await waitFor(
        async () =>
          (await ch.rows('SELECT 1 FROM dead_letters')).length === 4 && (await ambiguous.batcher.idle(0)),
        30_000,
        'the dead letters to settle',
      );
      const skippedBefore = await metric('tollgate_sink_duplicates_skipped_total');
      assert.equal(
        (await ch.rows<{ n: string }>('SELECT count() AS n FROM line_items'))[0]?.n,
        '6',
        'nothing stored twice by a second consumer group',
      );
      // Now every answer vanishes: the next insert lands but the sink sees a failure.
      proxy.swallowAnswers(true);
      await producer.send({
        topic: ctx.topics.priced,
        messages: [
          {
            key: 'run-a',
            value: priced.encode(pricedEvent({ event_id: 'amb-1', run_id: 'run-a' })),
            partition: 1,
          },
        ],
      });
      await waitFor(
        async () => (await ch.rows("SELECT 1 FROM line_items WHERE event_id = 'amb-1'")).length === 2,
        30_000,
        'the insert to land',
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      proxy.swallowAnswers(false);
      await waitFor(
        async () => (await metric('tollgate_sink_duplicates_skipped_total')) >= skippedBefore + 2,
        30_000,
        'the landed rows to be recognised',
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const lines = await ch.rows<{ n: string }>(
        "SELECT count() AS n FROM line_items WHERE event_id = 'amb-1'",
      );
      assert.equal(lines[0]?.n, '2', 'stored once');
      const rollup = await ch.rows<{ n: string }>(
        "SELECT toString(sum(lines)) AS n FROM line_items_by_run_agent_hourly WHERE run_id = 'run-a'",
      );
      assert.equal(rollup[0]?.n, '2', 'counted once in the rollup');
      assert.ok((await metric('tollgate_sink_retries_total')) > 0);
    } finally {
      proxy.swallowAnswers(false);
      await ambiguous.stop(10_000);
      await viaProxy.close();
      await proxy.close();
      sink = startSink('sink-test-1');
      await sink.start();
    }
  });

  it('stores an undecodable message found on the dead-letter topic itself instead of looping', async () => {
    await producer.send({
      topic: ctx.topics.deadLetters,
      messages: [{ key: 'k', value: Buffer.from([0xc3, 0x01, 1, 2, 3]) }],
    });
    await waitFor(
      async () =>
        (
          await ch.rows(
            "SELECT 1 FROM dead_letters WHERE reason_code IN ('unknown_fingerprint', 'corrupt', 'not_single_object') AND stage = 'sink' AND source_topic = " +
              `'${ctx.topics.deadLetters}'`,
          )
        ).length === 1,
      30_000,
    );
    // and a valid dead letter from another stage is stored as it was published
    const dlq = createDeadLetterCodec();
    await producer.send({
      topic: ctx.topics.deadLetters,
      messages: [
        {
          key: 'run-9',
          value: dlq.encode({
            stage: 'pricer',
            reason_code: 'invariant_violated',
            reason: 'model_call.cache_read_tokens: must not exceed input_tokens',
            source_topic: 'tollgate.usage.v1',
            source_partition: 3,
            source_offset: '77',
            key: Buffer.from('run-9'),
            payload: Buffer.from([9, 9]),
            failed_at: Date.UTC(2026, 0, 2),
          }),
        },
      ],
    });
    await waitFor(
      async () =>
        (await ch.rows("SELECT 1 FROM dead_letters WHERE stage = 'pricer' AND source_offset = 77")).length ===
        1,
      30_000,
    );
  });

  it('reads its partitions again after a flush that failed for good, storing each message once', async () => {
    // The alerts table loses a column for a while: every insert of an alert fails with a non-retriable
    // error (an unknown JSON field) while reads of the table still work, and the line items of the
    // same flush, inserted side by side, land. The sink seeks back, resynchronises and, once the column
    // is back, stores the alerts without storing a line twice.
    await ch.exec('ALTER TABLE alerts DROP COLUMN explanation');
    let restored = false;
    try {
      const alertCodec = createAlertCodec();
      for (let round = 0; round < 5; round++) {
        await producer.send({
          topic: ctx.topics.priced,
          messages: Array.from({ length: 20 }, (_, i) => ({
            key: `run-f${i % 4}`,
            value: priced.encode(pricedEvent({ event_id: `fail-${round}-${i}`, run_id: `run-f${i % 4}` })),
          })),
        });
        await producer.send({
          topic: ctx.topics.alerts,
          messages: [
            { key: `fa-${round}`, value: alertCodec.encode(costAlert({ alert_id: `fa-${round}` })) },
          ],
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      await waitFor(
        async () =>
          Number(
            (
              await ch.rows<{ n: string }>(
                "SELECT count() AS n FROM line_items WHERE startsWith(event_id, 'fail-')",
              )
            )[0]?.n,
          ) > 0,
        30_000,
        'line items inserted beside the failing alerts',
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await ch.exec('ALTER TABLE alerts ADD COLUMN explanation String AFTER unit');
      restored = true;
      await waitFor(
        async () =>
          Number(
            (
              await ch.rows<{ n: string }>(
                "SELECT count() AS n FROM alerts WHERE startsWith(alert_id, 'fa-')",
              )
            )[0]?.n,
          ) === 5,
        120_000,
        'every alert stored once the column is back',
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const [lines] = await ch.rows<{ n: string; distinct: string }>(
        "SELECT toString(count()) AS n, toString(uniqExact(event_id, line_no)) AS distinct FROM line_items WHERE startsWith(event_id, 'fail-')",
      );
      assert.deepEqual(lines, { n: '200', distinct: '200' }, 'every line item once (100 events × 2 lines)');
      const [rollup] = await ch.rows<{ n: string }>(
        "SELECT toString(sum(lines)) AS n FROM line_items_by_run_agent_hourly WHERE startsWith(run_id, 'run-f')",
      );
      assert.equal(rollup?.n, '200', 'counted once in the rollup');
      const [alerts] = await ch.rows<{ n: string }>(
        "SELECT toString(count()) AS n FROM alerts WHERE startsWith(alert_id, 'fa-')",
      );
      assert.equal(alerts?.n, '5', 'every alert once');
    } finally {
      if (!restored)
        await ch.exec('ALTER TABLE alerts ADD COLUMN explanation String AFTER unit').catch(() => {});
    }
  });
});
