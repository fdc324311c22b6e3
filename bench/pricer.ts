/**
 * Pricer benchmark against the real local Kafka.
 *   node bench/pricer.ts      or   npm run bench -- pricer
 *
 * 1. The pure function: price() over a mix of six event shapes (model calls of three providers, a
 *    tool call, a sandbox interval, a spawn) with ratecards/default.yaml, after warm-up.
 * 2. Topic to topic: publishes BENCH_PRICER_EVENTS usage events to fresh 6-partition topics, then
 *    runs the real pricer (createPricer: decode, validate, dedup, price, encode, one Kafka transaction
 *    per batch with its offsets) and measures events per second in steady state, from 10 % of the
 *    events committed to the last commit (the overall rate, join and take-over included, is reported
 *    beside it). The priced topic is then
 *    read back read_committed and checked: every event once, total equal to the hand-computed sum.
 * Prints progress, then one JSON object as the last line. Goals: ≥ 50,000 events/s, ≤ 2 µs/event.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import {
  createDeadLetterCodec,
  createKafka,
  createPricedCodec,
  createPricedEncoder,
  createRegistry,
  createUsageCodec,
  ensureTopics,
  loadRateCardFile,
  prefixedTopicNames,
  price,
  silentLogger,
  topicSpecs,
} from '@tollgate/core';
import { DEFAULT_RATE_CARD_FILE } from '@tollgate/pricer/config';
import { createPricerMetrics } from '@tollgate/pricer/metrics';
import { createPricer } from '@tollgate/pricer/pricer';
import { readToEnd } from '@tollgate/pricer/read-to-end';
import { produceUsage, workloadEvent, workloadTotalNanos } from '@tollgate/pricer/test-harness';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const EVENTS = Number(process.env.BENCH_PRICER_EVENTS ?? 200_000);
const PURE_CALLS = Number(process.env.BENCH_PRICER_PURE_CALLS ?? 2_000_000);
const progress = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const logger = silentLogger();
const card = await loadRateCardFile(DEFAULT_RATE_CARD_FILE);

// 1. The pure function.
const sample = Array.from({ length: 600 }, (_, i) => workloadEvent(i));
let sink = 0;
for (let i = 0; i < 200_000; i++) {
  const outcome = price(sample[i % sample.length]!, card);
  if (outcome.ok) sink += outcome.value.line_items.length;
}
const cpuBefore = process.cpuUsage();
const pureStarted = performance.now();
for (let i = 0; i < PURE_CALLS; i++) {
  const outcome = price(sample[i % sample.length]!, card);
  if (outcome.ok) sink += outcome.value.line_items.length;
}
const pureMs = performance.now() - pureStarted;
const pureCpuUs = process.cpuUsage(cpuBefore).user;
const priceUsPerEvent = (pureMs * 1000) / PURE_CALLS;
progress(
  `price(): ${PURE_CALLS.toLocaleString()} calls, ${priceUsPerEvent.toFixed(3)} µs/event wall, ${(pureCpuUs / PURE_CALLS).toFixed(3)} µs/event CPU (${sink} lines)`,
);

// 2. Topic to topic.
const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const topics = prefixedTopicNames(`bench-${id}.`);
const kafka = createKafka({ brokers, clientId: `bench-pricer-${id}`, logger });
const admin = kafka.admin();
await admin.connect();
const specs = topicSpecs(topics, 6).filter((s) =>
  [topics.usage, topics.priced, topics.deadLetters].includes(s.name),
);
let result: Record<string, unknown> = {};
try {
  await ensureTopics(admin, specs);
  const publishStarted = performance.now();
  const events = Array.from({ length: EVENTS }, (_, i) => workloadEvent(i, 5_000));
  await produceUsage(kafka, topics.usage, events, 10_000);
  progress(
    `published ${EVENTS.toLocaleString()} usage events in ${((performance.now() - publishStarted) / 1000).toFixed(1)} s`,
  );

  const metrics = createPricerMetrics(createRegistry('bench-pricer'));
  const handled = async () => (await metrics.events.get()).values.reduce((sum, v) => sum + v.value, 0);
  const pricer = createPricer({
    kafka,
    logger,
    metrics,
    codecs: { usage: createUsageCodec(), priced: createPricedEncoder(), deadLetter: createDeadLetterCodec() },
    topics: { usage: topics.usage, priced: topics.priced, deadLetters: topics.deadLetters },
    groupId: `bench-pricer-${id}`,
    rateCard: () => card,
  });
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  await pricer.start();
  // Steady state: from the moment 10 % of the events are committed (every partition is taken over
  // and has committed its first batches) to the last commit.
  let firstCommitAt = 0;
  let steadyFromAt = 0;
  let steadyFromCount = 0;
  for (;;) {
    const count = await handled();
    if (count > 0 && firstCommitAt === 0) firstCommitAt = performance.now();
    if (count >= EVENTS / 10 && steadyFromAt === 0) {
      steadyFromAt = performance.now();
      steadyFromCount = count;
    }
    if (count >= EVENTS) break;
    if (performance.now() - started > 600_000) throw new Error(`only ${count} events priced in 10 minutes`);
    await sleep(5);
  }
  const done = performance.now();
  const cpuUs = process.cpuUsage(cpuAtStart);
  await pricer.stop();
  const steadyRate = (EVENTS - steadyFromCount) / ((done - steadyFromAt) / 1000);
  const overallRate = EVENTS / ((done - started) / 1000);
  progress(
    `priced ${EVENTS.toLocaleString()} events: ${Math.round(steadyRate).toLocaleString()} events/s steady ` +
      `(${Math.round(overallRate).toLocaleString()}/s overall; first commit after ${((firstCommitAt - started) / 1000).toFixed(2)} s); ` +
      `CPU ${((cpuUs.user + cpuUs.system) / EVENTS).toFixed(1)} µs/event in this process`,
  );

  const codec = createPricedCodec();
  const seen = new Set<string>();
  let total = 0n;
  let read = 0;
  await readToEnd({
    kafka,
    topic: topics.priced,
    groupIdPrefix: `bench-verify-${id}`,
    onMessage: (message) => {
      const decoded = codec.decode(message.value!);
      if (!decoded.ok) return;
      read++;
      seen.add(decoded.value.usage.event_id);
      total += BigInt(decoded.value.total_nanos);
    },
  });
  const verified = read === EVENTS && seen.size === EVENTS && total === workloadTotalNanos(EVENTS);
  progress(
    `read back ${read.toLocaleString()} priced events (read_committed): ${verified ? 'each once, total exact' : 'MISMATCH'}`,
  );
  result = {
    events_per_s: Math.round(steadyRate),
    events_per_s_overall: Math.round(overallRate),
    first_commit_s: Number(((firstCommitAt - started) / 1000).toFixed(2)),
    events: EVENTS,
    verified,
    pricer_cpu_us_per_event: Number(((cpuUs.user + cpuUs.system) / EVENTS).toFixed(1)),
    price_us_per_event: Number(priceUsPerEvent.toFixed(3)),
    price_cpu_us_per_event: Number((pureCpuUs / PURE_CALLS).toFixed(3)),
    cores: cpus().length,
    load_average_1m: Number(loadavg()[0]!.toFixed(2)),
  };
} finally {
  await admin.deleteTopics({ topics: specs.map((s) => s.name) }).catch(() => {});
  await admin.disconnect();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
