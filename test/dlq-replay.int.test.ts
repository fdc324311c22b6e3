/**
 * `tollgate dlq replay` against the real broker, ClickHouse and pricer. The story: agents ran an SDK newer
 * than the pricer, whose dead letters say `unknown_fingerprint`; the pricer has since been upgraded (the
 * current one knows the schema). Replaying publishes each source message once, byte for byte, to its
 * topic and partition; the pricer prices it and the sink stores it; a second replay publishes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClickHouse,
  createAlertCodec,
  createPricedCodec,
  createUsageCodec,
  formatDateTime,
  type UsageEvent,
} from '@tollgate/core';
import { exampleCostAlert, exampleModelCall, examplePricedEvent } from '@tollgate/core/contract/examples';
import type { PricedEvent } from '@tollgate/core/contract/types';
import { lineItemRows } from '@tollgate/sink/rows';
import { readTopic } from '../packages/sdk/src/test-consumer.ts';
import {
  createTestContext,
  type DeadLetterRow,
  deadLetterRow,
  runCli,
  skipIntegration,
  type TestContext,
} from './support/index.ts';
import { eventually, type Pipeline, startPipeline } from './support/pipeline.ts';

describe('tollgate dlq replay', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  let pipeline: Pipeline | undefined;
  const codec = createUsageCodec();
  const now = Date.now();
  const events: UsageEvent[] = [0, 1, 2].map((n) => ({
    ...exampleModelCall(),
    event_id: `evt-replay-${n}`,
    run_id: `run-replay-${n}`,
    event_time: now - 60_000,
  }));

  before(async () => {
    ctx = await createTestContext({ partitions: 2 });
    await ctx.createTopics();
    ch = await ctx.clickhouse();
    const letter = (event: UsageEvent, n: number, overrides: DeadLetterRow = {}): DeadLetterRow => ({
      ...deadLetterRow('pricer', ctx.topics.usage, n % 2, 100 + n, event.run_id, codec.encode(event), n),
      ...overrides,
    });
    const [a, b, c] = events as [UsageEvent, UsageEvent, UsageEvent];
    await ch.insert('dead_letters', [
      letter(a, 0),
      letter(b, 1),
      letter(c, 2),
      // the same source message dead-lettered again (a pricer that died before committing): one replay
      letter(a, 0, { dlq_offset: '3' }),
      // not this stage, not this window, or not from Kafka: never replayed by this command
      letter(a, 4, { stage: 'sink', source_topic: ctx.topics.priced, dlq_offset: '4' }),
      letter(b, 5, { received_at: formatDateTime(new Date(now - 30 * 86_400_000)), dlq_offset: '5' }),
      letter(c, 6, { source_topic: 'ingest:/v1/events', source_partition: -1, dlq_offset: '6' }),
    ]);
  });
  after(async () => {
    await pipeline?.stop();
    await ctx.cleanup();
  });

  function decodeEventId(value: Buffer): string {
    const decoded = codec.decode(value);
    assert.ok(decoded.ok, 'the replayed bytes decode');
    return decoded.value.event_id;
  }

  const tollgate = (...args: string[]) =>
    runCli(
      {
        KAFKA_BROKERS: ctx.brokers.join(','),
        CLICKHOUSE_URL: ctx.clickhouseUrl,
        CLICKHOUSE_DATABASE: ctx.database,
      },
      'dlq',
      'replay',
      ...args,
    );

  it('counts what it would publish with --dry-run, and publishes nothing', async () => {
    const result = await tollgate('--stage', 'pricer', '--dry-run');
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /not replayed yet: 3\n/);
    assert.match(
      result.stdout,
      new RegExp(`unknown_fingerprint +│ ${ctx.topics.usage.replaceAll('.', '\\.')} +│ 3 `),
    );
    assert.deepEqual(await readTopic(ctx.kafka, ctx.topics.usage), []);
  });

  it('publishes each source message once, byte for byte, to its topic and partition', async () => {
    const result = await tollgate('--stage', 'pricer', '--chunk', '2');
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /replayed 2\/3\n {2}replayed 3\/3\nreplayed 3 dead letters/);
    const messages = await readTopic(ctx.kafka, ctx.topics.usage);
    assert.deepEqual(messages.map((m) => [m.partition, m.key, decodeEventId(m.value)]).sort(), [
      [0, 'run-replay-0', 'evt-replay-0'],
      [0, 'run-replay-2', 'evt-replay-2'],
      [1, 'run-replay-1', 'evt-replay-1'],
    ]);
    const recorded = await ch.rows<{ n: string }>('SELECT count() AS n FROM dead_letter_replays');
    assert.equal(recorded[0]?.n, '3');
  });

  it('publishes nothing the second time', async () => {
    const result = await tollgate('--stage', 'pricer');
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /not replayed yet: 0\n/);
    assert.equal((await readTopic(ctx.kafka, ctx.topics.usage)).length, 3);
  });

  it('the replayed usage is priced and stored once', async () => {
    pipeline = await startPipeline(ctx, { services: ['pricer', 'sink'] });
    await eventually(
      async () => {
        const [row] = await ch.rows<{ n: string }>(
          "SELECT uniqExact(event_id) AS n FROM line_items WHERE startsWith(event_id, 'evt-replay-')",
        );
        return row?.n === '3';
      },
      { describe: () => pipeline?.logs(20) ?? '' },
    );
    const [lines] = await ch.rows<{ n: string; events: string }>(
      'SELECT count() AS n, uniqExact(event_id) AS events FROM line_items',
    );
    // one model call prices into several lines (input, cached input, output …); none twice
    assert.equal(lines?.events, '3');
    const [perEvent] = await ch.rows<{ max: string }>(
      'SELECT max(c) AS max FROM (SELECT event_id, line_no, count() AS c FROM line_items GROUP BY event_id, line_no)',
    );
    assert.equal(perEvent?.max, '1');
  });

  it('replays no stage whose letters another consumer has already counted, and says why', async () => {
    const detector = await tollgate('--stage', 'detector');
    assert.equal(detector.code, 1);
    assert.match(
      detector.stdout,
      /--stage must be pricer, sink, got "detector": the sink has already stored what the detector refused/,
    );
    const ingest = await tollgate('--stage', 'ingest');
    assert.match(ingest.stdout, /got "ingest": ingest's dead letters were an HTTP caller's bad input/);
  });
});

/**
 * The sink's letters: priced events and an alert an older sink could not read (say a newer schema),
 * now readable. They go into ClickHouse directly, as the sink would have stored them, with their
 * original source position; never to Kafka, where the detector has counted them already. One that is
 * already stored (a replay cut off after its insert) is only recorded; one that still does not decode
 * stays waiting, and the command says so.
 */
describe('tollgate dlq replay --stage sink', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  const priced = createPricedCodec();
  const alerts = createAlertCodec();
  const now = Date.now();
  const event = (n: number): PricedEvent => {
    const example = examplePricedEvent();
    return {
      ...example,
      usage: {
        ...example.usage,
        event_id: `evt-sink-${n}`,
        run_id: `run-sink-${n}`,
        event_time: now - 60_000,
      },
    };
  };

  before(async () => {
    ctx = await createTestContext({ partitions: 2 });
    await ctx.createTopics();
    ch = await ctx.clickhouse();
    const letter = (topic: string, offset: number, payload: Buffer) =>
      deadLetterRow('sink', topic, 0, offset, `run-sink-${offset}`, payload, offset);
    await ch.insert('dead_letters', [
      letter(ctx.topics.priced, 10, priced.encode(event(10))),
      letter(ctx.topics.priced, 11, priced.encode(event(11))),
      letter(ctx.topics.priced, 12, priced.encode(event(12))),
      letter(ctx.topics.alerts, 13, alerts.encode({ ...exampleCostAlert(), alert_id: 'alert-sink-13' })),
      // still unreadable: stays waiting
      letter(ctx.topics.priced, 14, Buffer.from('not avro at all')),
    ]);
    // evt-sink-12 was stored by a replay that was cut off before it recorded the letter
    await ch.insert(
      'line_items',
      lineItemRows(
        event(12),
        { topic: ctx.topics.priced, partition: 0, offset: '12' },
        formatDateTime(new Date()),
      ),
    );
  });
  after(() => ctx.cleanup());

  const tollgate = (...args: string[]) =>
    runCli(
      {
        KAFKA_BROKERS: ctx.brokers.join(','),
        CLICKHOUSE_URL: ctx.clickhouseUrl,
        CLICKHOUSE_DATABASE: ctx.database,
      },
      'dlq',
      'replay',
      '--stage',
      'sink',
      ...args,
    );

  const stored = async () => {
    const rows = await ch.rows<{ event_id: string; lines: string; cost: string }>(
      "SELECT event_id, toString(count()) AS lines, toString(sum(cost_nanos)) AS cost FROM line_items WHERE startsWith(event_id, 'evt-sink-') GROUP BY event_id ORDER BY event_id",
    );
    return rows.map((row) => [row.event_id, Number(row.lines), row.cost]);
  };

  it('writes what the sink would have stored, once, and leaves the unreadable letter waiting', async () => {
    const dry = await tollgate('--dry-run');
    assert.equal(dry.code, 0, dry.stdout);
    assert.match(dry.stdout, /not replayed yet: 5\n/);
    assert.match(dry.stdout, /\(--dry-run: nothing written\)/);
    const lines = examplePricedEvent().line_items.length;
    const cost = String(examplePricedEvent().total_nanos);
    assert.deepEqual(await stored(), [['evt-sink-12', lines, cost]]);

    const result = await tollgate('--chunk', '2');
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /stored 4 dead letters in ClickHouse; recorded in dead_letter_replays/);
    assert.match(result.stdout, /tollgate: 1 dead letters are still refused and stay waiting:\n {2}1 × /);
    assert.deepEqual(await stored(), [
      ['evt-sink-10', lines, cost],
      ['evt-sink-11', lines, cost],
      ['evt-sink-12', lines, cost],
    ]);
    const [alert] = await ch.rows<{ n: string; offset: string }>(
      "SELECT toString(count()) AS n, toString(any(source_offset)) AS offset FROM alerts WHERE alert_id = 'alert-sink-13'",
    );
    assert.deepEqual(alert, { n: '1', offset: '13' });
    const [runs] = await ch.rows<{ n: string }>(
      "SELECT toString(count()) AS n FROM line_items_by_run_agent_hourly WHERE startsWith(run_id, 'run-sink-')",
    );
    assert.ok(Number(runs?.n) >= 3, 'the rollups were filled from the stored lines');
    assert.deepEqual(await readTopic(ctx.kafka, ctx.topics.priced), [], 'nothing went to Kafka');

    const again = await tollgate();
    assert.match(again.stdout, /not replayed yet: 1\n/);
    assert.match(again.stdout, /stored 0 dead letters/);
    assert.deepEqual(
      (await stored()).map(([id]) => id),
      ['evt-sink-10', 'evt-sink-11', 'evt-sink-12'],
    );
  });
});
