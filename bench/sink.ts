/**
 * Sink and allocation-query benchmark against the real local Kafka and ClickHouse.
 *   node bench/sink.ts      or   npm run bench -- sink
 *
 * 1. Throughput: publishes priced events (5 line items each) to fresh topics, then runs the real sink
 *    (createSink, default batching) and measures line items per second landing in ClickHouse, from the
 *    first insert to the last (the group join is reported apart).
 * 2. Queries: generates 10 million line items server-side (INSERT … SELECT FROM numbers(), the views
 *    fill the rollups) in a bench database, then times the API's allocation query (the builder the API
 *    uses, run through the same client): p50/p95 from the rollup path, and the line-items path (group by a
 *    tag) beside it. The bench database and topics are dropped at the end.
 * Prints progress, then one JSON object as the last line. Goals: ≥ 100,000 line items/s, p95 < 500 ms.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { allocationQuery } from '@tollgate/api/queries/allocation';
import {
  applyMigrations,
  createClickHouse,
  createKafka,
  createPricedCodec,
  createRegistry,
  dropDatabase,
  ensureDatabase,
  ensureTopics,
  loadMigrations,
  prefixedTopicNames,
  silentLogger,
  topicSpecs,
} from '@tollgate/core';
import { createSink, createSinkMetrics, createSinkWriter } from '@tollgate/sink';
import { lineItem, pricedEvent } from '@tollgate/sink/testing';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const url = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const EVENTS = Number(process.env.BENCH_SINK_EVENTS ?? 400_000);
const LINES_PER_EVENT = 5;
const GENERATED_LINES = Number(process.env.BENCH_SINK_GENERATED_LINES ?? 10_000_000);
const QUERY_RUNS = 40;

const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const database = `bench_sink_${id}`;
const logger = silentLogger();
const progress = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Ends the run after the sink phase (caught below, so the bench database and topics are still dropped). */
class SinkOnly extends Error {
  readonly lineItemsPerS: number;
  constructor(lineItemsPerS: number) {
    super('sink only');
    this.lineItemsPerS = lineItemsPerS;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const options = { url, database, logger, requestTimeoutMs: 600_000 };
await ensureDatabase(options);
const ch = createClickHouse(options);
const kafka = createKafka({ brokers, clientId: `bench-sink-${id}`, logger });
const topics = prefixedTopicNames(`bench-${id}.`);
const specs = topicSpecs(topics, 6).filter((spec) =>
  [topics.priced, topics.alerts, topics.deadLetters].includes(spec.name),
);
const admin = kafka.admin();
const count = async () =>
  Number((await ch.rows<{ n: string }>('SELECT count() AS n FROM line_items'))[0]?.n ?? 0);

try {
  await applyMigrations(
    ch,
    await loadMigrations(resolve(import.meta.dirname, '..', 'schemas', 'clickhouse')),
  );
  await admin.connect();
  await ensureTopics(admin, specs);

  // 1. Sink throughput.
  const codec = createPricedCodec();
  const producer = kafka.producer();
  await producer.connect();
  const lines = Array.from({ length: LINES_PER_EVENT }, (_, i) =>
    lineItem({ line_no: i, item: `item_${i}`, quantity: String(100 * (i + 1)), cost_nanos: 1_000 * (i + 1) }),
  );
  const publishStarted = performance.now();
  for (let start = 0; start < EVENTS; start += 2_000) {
    const messages = [];
    for (let i = start; i < Math.min(EVENTS, start + 2_000); i++) {
      const event = pricedEvent(
        {
          event_id: `b-${i}`,
          run_id: `run-${i % 5_000}`,
          feature: `feature-${i % 20}`,
          customer_id: `customer-${i % 200}`,
          event_time: Date.UTC(2026, 0, 1) + i * 1_000,
        },
        lines,
      );
      messages.push({ key: event.usage.run_id, value: codec.encode(event) });
    }
    await producer.send({ topic: topics.priced, messages });
  }
  await producer.disconnect();
  const expected = EVENTS * LINES_PER_EVENT;
  progress(
    `published ${EVENTS} priced events (${expected} line items) in ${((performance.now() - publishStarted) / 1000).toFixed(1)} s`,
  );

  const registry = createRegistry('bench-sink');
  const sink = createSink({
    kafka,
    writer: createSinkWriter({ clickhouse: ch }),
    logger,
    metrics: createSinkMetrics(registry),
    topics: { priced: topics.priced, alerts: topics.alerts, deadLetters: topics.deadLetters },
    groupId: `bench-sink-${id}`,
  });
  const sinkStarted = performance.now();
  const cpuBefore = process.cpuUsage();
  await sink.start();
  let firstAt = 0;
  let firstCount = 0;
  let peakRssBytes = 0;
  for (;;) {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
    const n = await count();
    if (n > 0 && firstAt === 0) {
      firstAt = performance.now();
      firstCount = n;
    }
    if (n >= expected) break;
    if (performance.now() - sinkStarted > 600_000)
      throw new Error(`sink stalled at ${n} of ${expected} line items`);
    await sleep(20);
  }
  const doneAt = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  await sink.stop(10_000);
  const inserts = ((await registry.getSingleMetric('tollgate_sink_insert_duration_seconds')?.get())?.values ??
    []) as { metricName?: string; labels: Record<string, unknown>; value: number }[];
  const insertOf = (suffix: string) =>
    inserts.find((v) => v.metricName?.endsWith(suffix) && v.labels.table === 'line_items')?.value ?? 0;
  const insertSeconds = insertOf('_sum');
  const insertCount = insertOf('_count');
  progress(
    `sink process CPU ${((cpu.user + cpu.system) / expected).toFixed(2)} µs per line item; ${insertCount} line_items inserts, ${((insertSeconds * 1000) / Math.max(1, insertCount)).toFixed(0)} ms each on average (${((insertSeconds * 1e6) / expected).toFixed(2)} µs per line item in ClickHouse)`,
  );
  const lineItemsPerS = Math.round((expected - firstCount) / ((doneAt - firstAt) / 1000));
  const stored = await count();
  progress(
    `sink: peak RSS ${Math.round(peakRssBytes / 1048576)} MiB; ${expected} line items in ${((doneAt - sinkStarted) / 1000).toFixed(1)} s including the group join (${((firstAt - sinkStarted) / 1000).toFixed(1)} s); ${lineItemsPerS} line items/s after the first insert; stored ${stored}`,
  );

  // BENCH_SINK_GENERATED_LINES=0 measures the sink only.
  if (GENERATED_LINES === 0) throw new SinkOnly(lineItemsPerS);
  // 2. Ten million line items, generated server-side, and the allocation query over them.
  await ch.exec('TRUNCATE TABLE line_items');
  await ch.exec('TRUNCATE TABLE line_items_by_attribution_hourly');
  await ch.exec('TRUNCATE TABLE line_items_by_run_agent_hourly');
  const WEEK_S = 7 * 24 * 3_600;
  const generateStarted = performance.now();
  await ch.exec(`INSERT INTO line_items (event_id, line_no, event_time, kind, run_id, agent_id, parent_agent_id, agent_name, agent_depth, provider, model, service_tier, org_id, feature, customer_id, environment, tag_keys, tag_values, category, item, unit, quantity, quantity_value, unit_price, cost_nanos, priced, currency, rate_card_id, rate_card_version, rate_card_hash, adjustment_of, source_topic, source_partition, source_offset, inserted_at)
    SELECT
      concat('ev-', toString(intDiv(number, 4))), toUInt16(number % 4),
      toDateTime(toUInt32(1767225600 + intDiv(number * ${WEEK_S}, ${GENERATED_LINES})), 'UTC'),
      'model_call', concat('run-', toString(intDiv(number, 40))),
      concat('agent-', toString(intDiv(number, 200) % 8)), '', concat('agent-', toString(intDiv(number, 200) % 8)), toUInt16(0),
      ['anthropic', 'openai', 'google'][intDiv(number, 200) % 8 % 3 + 1],
      ['claude-sonnet-4-5', 'gpt-5', 'gemini-2.5-pro', 'claude-haiku-4-5', 'gpt-5-mini', 'gemini-2.5-flash'][intDiv(number, 200) % 8 % 6 + 1],
      'default', 'bench', concat('feature-', toString(number % 50 % 20)), concat('customer-', toString(number % 50)),
      ['prod', 'staging', 'dev'][number % 50 % 3 + 1],
      ['team'], [concat('team-', toString(number % 7))],
      ['tokens', 'tools', 'sandbox', 'retrieval', 'cache_storage', 'egress'][intDiv(number, 1600) % 6 + 1], 'item',
      ['token', 'call', 'vcpu_second', 'query', 'token_hour', 'gb'][intDiv(number, 1600) % 6 + 1],
      toString(number % 1000), toFloat64(number % 1000), '0.000003',
      if(number % 97 = 0, toInt64(0), toInt64((number % 1000) * 3000)), if(number % 97 = 0, toUInt8(0), toUInt8(1)),
      'USD', 'default', '2026-01-01', 'sha256:bench', '', 'bench', toInt32(number % 6), toInt64(intDiv(number, 6)),
      toDateTime('2026-01-08 00:00:00', 'UTC')
    FROM numbers(${GENERATED_LINES}) SETTINGS max_block_size = 1000000`);
  const generateS = (performance.now() - generateStarted) / 1000;
  const generated = await count();
  const [rollup] = await ch.rows<{ n: string }>('SELECT count() AS n FROM line_items_by_attribution_hourly');
  progress(
    `generated ${generated} line items server-side in ${generateS.toFixed(1)} s (${Math.round(generated / generateS)} /s with both views); attribution rollup holds ${rollup?.n} rows`,
  );

  const range = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-08T00:00:00Z') };
  async function time(
    label: string,
    source: 'rollup' | 'line_items',
    build: () => ReturnType<typeof allocationQuery>,
  ) {
    const built = build();
    if (built.source !== source)
      throw new Error(`${label}: expected the ${source} path, got ${built.source}`);
    const first = await ch.rows(built.query); // warm-up, also checks it answers
    const ms: number[] = [];
    for (let i = 0; i < QUERY_RUNS; i++) {
      const started = performance.now();
      await ch.rows(built.query);
      ms.push(performance.now() - started);
    }
    ms.sort((a, b) => a - b);
    const p50 = percentile(ms, 50);
    const p95 = percentile(ms, 95);
    progress(
      `${label}: ${first.length} rows, p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms over ${QUERY_RUNS} runs`,
    );
    return { p50, p95 };
  }
  const filters = { dimensions: {}, tags: {} };
  const rollupQuery = await time('allocation by feature and model, daily, 7 days (rollup)', 'rollup', () =>
    allocationQuery({
      orgId: 'bench',
      range,
      grain: 'day',
      groupBy: [
        { kind: 'dimension', dimension: 'feature' },
        { kind: 'dimension', dimension: 'model' },
      ],
      filters,
      limit: 10_000,
    }),
  );
  const hourly = await time('allocation by customer and category, hourly, 7 days (rollup)', 'rollup', () =>
    allocationQuery({
      orgId: 'bench',
      range,
      grain: 'hour',
      groupBy: [
        { kind: 'dimension', dimension: 'customer' },
        { kind: 'dimension', dimension: 'category' },
      ],
      filters,
      limit: 50_000,
    }),
  );
  const lineItemsQuery = await time(
    'allocation by tag team and feature, daily, 7 days (line items)',
    'line_items',
    () =>
      allocationQuery({
        orgId: 'bench',
        range,
        grain: 'day',
        groupBy: [
          { kind: 'tag', key: 'team' },
          { kind: 'dimension', dimension: 'feature' },
        ],
        filters,
        limit: 10_000,
      }),
  );

  process.stdout.write(
    `${JSON.stringify({
      line_items_per_s: lineItemsPerS,
      query_p95_ms: Math.round(rollupQuery.p95),
      query_p50_ms: Math.round(rollupQuery.p50),
      query_hourly_p95_ms: Math.round(hourly.p95),
      query_line_items_path_p95_ms: Math.round(lineItemsQuery.p95),
      sink_peak_rss_mib: Math.round(peakRssBytes / 1048576),
      sink_cpu_us_per_line_item: Number(((cpu.user + cpu.system) / expected).toFixed(2)),
      insert_us_per_line_item: Number(((insertSeconds * 1e6) / expected).toFixed(2)),
      line_items_queried: generated,
      generate_line_items_per_s: Math.round(generated / generateS),
      // the machine is shared: figures under load are pessimistic
      load_average_1m: Number(loadavg()[0]?.toFixed(2)),
    })}\n`,
  );
} catch (err) {
  if (!(err instanceof SinkOnly)) throw err;
  process.stdout.write(`${JSON.stringify({ line_items_per_s: err.lineItemsPerS })}\n`);
} finally {
  await admin.deleteTopics({ topics: specs.map((spec) => spec.name) }).catch(() => {});
  await admin.disconnect().catch(() => {});
  await ch.close();
  await dropDatabase(options);
}
