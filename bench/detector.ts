/**
 * `npm run bench -- detector`: the streaming detector on a labelled synthetic fleet, through the
 * real broker (priced events in, alerts out, every internal topic and transaction included).
 *
 * 1. Quality and throughput: a day of a fleet (4 orgs × 2 features, diurnal traffic, 48 injected
 *    anomalies of six kinds) is priced and preloaded onto a fresh priced topic; then a detector
 *    starts and works through it. events_per_s = events / (time from the detector being ready to
 *    every stage having caught up). Alerts are scored against the ground truth.
 * 2. Alert latency: a fleet in real time (event time = wall clock) at BENCH_LIVE_EVENTS_PER_S with
 *    runaway loops and fan-outs; alert_p99_ms = p99 of (alert read back − publish of the event that
 *    triggered it).
 *
 * Environment: KAFKA_BROKERS, BENCH_HOURS (24), BENCH_RUNS_PER_MINUTE (48), BENCH_SEED (42),
 * BENCH_LIVE_SECONDS (60), BENCH_LIVE_EVENTS_PER_S (5000), BENCH_PARTITIONS (6).
 * Prints progress, then as its last line one JSON object with the figures.
 */
import { randomBytes } from 'node:crypto';
import {
  createKafka,
  createLogger,
  createPricedCodec,
  createRegistry,
  ensureTopics,
  type Kafka,
  type Message,
  type PricedEvent,
  prefixedTopicNames,
  silentLogger,
  topicSpecs,
} from '@tollgate/core';
import { createDetector, type Detector } from '@tollgate/detector/detector';
import { createFleet } from '@tollgate/detector/fleet/generator';
import { priceUsage } from '@tollgate/detector/fleet/pricing';
import { scoreAlerts } from '@tollgate/detector/fleet/score';
import { createDetectorMetrics } from '@tollgate/detector/metrics';
import type { Stage } from '@tollgate/detector/runtime/stage';
import { collectAlerts, testSettings, waitFor } from '@tollgate/detector/testing';

const env = process.env;
const brokers = (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const hours = Number(env.BENCH_HOURS ?? 24);
const runsPerMinute = Number(env.BENCH_RUNS_PER_MINUTE ?? 48);
const seed = Number(env.BENCH_SEED ?? 42);
const liveSeconds = Number(env.BENCH_LIVE_SECONDS ?? 60);
const liveRate = Number(env.BENCH_LIVE_EVENTS_PER_S ?? 5_000);
const partitions = Number(env.BENCH_PARTITIONS ?? 6);
const WINDOW_MS = 300_000;
const COST_THRESHOLD_NANOS = 5_000_000_000;

const say = (line: string) => process.stdout.write(`${line}\n`);
const logger = env.LOG_LEVEL
  ? createLogger({ name: 'bench-detector', level: env.LOG_LEVEL })
  : silentLogger();
const id = `bench${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const topics = prefixedTopicNames(`${id}.`);
const kafka = createKafka({ brokers, clientId: id, logger });
const pricedCodec = createPricedCodec();

async function withAdmin<T>(work: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Sends batches with a few requests in flight; returns when all are acknowledged. */
function createSender() {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    allowAutoTopicCreation: false,
  });
  const inFlight = new Set<Promise<unknown>>();
  return {
    connect: () => producer.connect(),
    async send(messages: Message[]) {
      while (inFlight.size >= 4) await Promise.race(inFlight);
      const request = producer.send({ topic: topics.priced, acks: -1, messages });
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    },
    async close() {
      await Promise.all(inFlight);
      await producer.disconnect();
    },
  };
}

const toMessage = (event: PricedEvent): Message => ({
  key: event.usage.run_id,
  value: pricedCodec.encode(event),
});

/** How far a stage's reads are behind the end of its input topic, summed over partitions. */
async function lag(stage: Stage, topic: string): Promise<bigint> {
  const ends = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
  const positions = stage.positions();
  let total = 0n;
  for (const end of ends) {
    const behind = BigInt(end.high) - (positions.get(end.partition) ?? BigInt(end.low));
    if (behind > 0n) total += behind;
  }
  return total;
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function main() {
  await withAdmin((admin) => ensureTopics(admin, topicSpecs(topics, partitions)));
  say(`detector bench: topics under ${id}. (${partitions} partitions)`);

  // 1. Preload a labelled day.
  const start = Date.UTC(2026, 10, 2, 0, 0, 0);
  const fleet = createFleet({
    start,
    durationMs: hours * 3_600_000,
    runsPerMinute,
    seed,
    orgs: 4,
    featuresPerOrg: 2,
  });
  const anomalous = new Set(fleet.anomalies.flatMap((a) => (a.runId ? [a.runId] : [])));
  const timelines = new Map<string, [number, number][]>();
  const sender = createSender();
  await sender.connect();
  let events = 0;
  let batch: Message[] = [];
  const loadStarted = performance.now();
  for (const event of fleet.events()) {
    events++;
    const priced = priceUsage(event);
    if (anomalous.has(event.run_id)) {
      const timeline = timelines.get(event.run_id) ?? [];
      timeline.push([event.event_time, (timeline.at(-1)?.[1] ?? 0) + priced.total_nanos]);
      timelines.set(event.run_id, timeline);
    }
    batch.push(toMessage(priced));
    if (batch.length === 2_000) {
      await sender.send(batch);
      batch = [];
    }
    if (events % 200_000 === 0) say(`  loaded ${events} events`);
  }
  if (batch.length > 0) await sender.send(batch);
  await sender.close();
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  say(
    `loaded ${events} priced events (${hours} h of ${fleet.profiles.length} features, ${fleet.anomalies.length} anomalies) in ${loadSeconds.toFixed(1)} s`,
  );

  const alerts = await collectAlerts(kafka, topics.alerts, logger);
  const settings = testSettings(id, {
    windowMs: WINDOW_MS,
    allowedLatenessMs: 60_000,
    idleUpstreamMs: 30_000,
    sessionTimeoutMs: 30_000,
    partitionsConsumedConcurrently: partitions,
    maxBytesPerPartition: Number(env.BENCH_MAX_BYTES_PER_PARTITION ?? 4 * 1024 * 1024),
    restoreTimeoutMs: 120_000,
  });
  const registry = createRegistry('detector');
  const detector: Detector = createDetector({
    kafka,
    logger,
    metrics: createDetectorMetrics(registry),
    topics,
    settings,
  });
  await detector.start();
  await waitFor(() => Object.values(detector.readiness()).every(Boolean), 60_000, 'detector ready');
  const ready = performance.now();
  say('detector ready; working through the backlog');
  let runsDone = 0;
  let reported = performance.now();
  await waitFor(
    async () => {
      const lags = [
        await lag(detector.stages.runs, topics.priced),
        await lag(detector.stages.features, topics.featureRepartition),
        await lag(detector.stages.budgets, topics.budgetRepartition),
      ];
      if (runsDone === 0 && lags[0] === 0n) runsDone = performance.now();
      if (performance.now() - reported > 5_000) {
        reported = performance.now();
        say(`  lag: runs ${lags[0]}, features ${lags[1]}, budgets ${lags[2]}`);
      }
      return lags.every((l) => l === 0n);
    },
    600_000,
    'the detector to catch up',
    250,
  );
  const caughtUp = performance.now();
  const seconds = (caughtUp - ready) / 1000;
  say(`caught up in ${seconds.toFixed(1)} s (runs stage ${((runsDone - ready) / 1000).toFixed(1)} s)`);
  await new Promise((done) => setTimeout(done, 1_000));
  const backlogAlerts = [...alerts.alerts];
  const score = scoreAlerts({
    anomalies: fleet.anomalies,
    alerts: backlogAlerts,
    windowMs: WINDOW_MS,
    costThresholdNanos: COST_THRESHOLD_NANOS,
    runCostAt: (runId, t) => {
      let cost = 0;
      for (const [time, total] of timelines.get(runId) ?? []) if (time <= t) cost = total;
      return cost;
    },
  });
  say(
    `precision ${score.precision}, recall ${score.recall}, ${score.alerts} alerts, ${score.false_positives} false positives`,
  );
  for (const miss of score.missed) say(`  missed ${miss}`);
  for (const example of score.false_positive_examples) say(`  false positive: ${example}`);

  // 2. Live: event time = wall clock, paced.
  say(`live: ${liveSeconds} s at ${liveRate} events/s`);
  // The fleet starts two minutes early (those events are not sent), so runs are already under way
  // and the rate is steady from the first second.
  const RAMP_MS = 120_000;
  const liveStart = Date.now();
  const live = createFleet({
    start: liveStart - RAMP_MS,
    durationMs: RAMP_MS + liveSeconds * 1000,
    runsPerMinute: (liveRate * 60) / 24,
    seed: seed + 100,
    orgs: 4,
    featuresPerOrg: 2,
    diurnalAmplitude: 0,
    anomalyTypes: ['runaway_loop', 'fanout_explosion'],
    runAnomaliesPerType: 12,
    warmupMs: RAMP_MS + 2_000,
    runAnomalySpanMs: 15_000,
    runIdPrefix: 'live-',
  });
  const publishedAt = new Map<string, number>();
  const liveSender = createSender();
  await liveSender.connect();
  let liveEvents = 0;
  const liveRuns = new Set(live.anomalies.flatMap((a) => (a.runId ? [a.runId] : [])));
  const iterator = live.events();
  let pending = iterator.next();
  // Runs still going at the end are cut off there: the live phase lasts liveSeconds, not longer.
  const liveEnd = liveStart + liveSeconds * 1000;
  while (!pending.done && pending.value.event_time < liveEnd) {
    const now = Date.now();
    const due: Message[] = [];
    while (!pending.done && pending.value.event_time <= now && pending.value.event_time < liveEnd) {
      const event = pending.value;
      if (event.event_time < liveStart) {
        pending = iterator.next();
        continue;
      }
      due.push(toMessage(priceUsage(event)));
      if (liveRuns.has(event.run_id)) publishedAt.set(`${event.run_id}|${event.event_time}`, now);
      pending = iterator.next();
    }
    if (due.length > 0) {
      liveEvents += due.length;
      await liveSender.send(due);
    } else await new Promise((done) => setTimeout(done, 5));
  }
  await liveSender.close();
  const liveElapsed = (Date.now() - liveStart) / 1000;
  await new Promise((done) => setTimeout(done, 5_000));
  const latencies: number[] = [];
  for (const alert of alerts.alerts.slice(backlogAlerts.length)) {
    const sent = alert.run_id ? publishedAt.get(`${alert.run_id}|${alert.window_end}`) : undefined;
    const seen = alerts.seenAt.get(alert.alert_id);
    if (sent !== undefined && seen !== undefined) latencies.push(seen - sent);
  }
  const liveScore = scoreAlerts({
    anomalies: live.anomalies,
    alerts: alerts.alerts.slice(backlogAlerts.length).filter((a) => a.run_id?.startsWith('live-')),
    windowMs: WINDOW_MS,
    costThresholdNanos: COST_THRESHOLD_NANOS,
    runCostAt: () => 0,
  });
  say(
    `live: published ${liveEvents} events in ${liveElapsed.toFixed(1)} s; ${latencies.length} run alerts timed; recall ${liveScore.recall}`,
  );

  await alerts.stop();
  await detector.stop();
  await withAdmin((admin) => admin.deleteTopics({ topics: Object.values(topics) as string[] })).catch(
    () => {},
  );

  const latencyByType: Record<string, unknown> = {};
  for (const [type, s] of Object.entries(score.per_type))
    latencyByType[type] =
      s.latency_ms_p50 !== undefined
        ? {
            event_time_ms_p50: s.latency_ms_p50,
            event_time_ms_max: s.latency_ms_max,
            flagged_before_2x_threshold: s.flagged_before_2x_threshold,
          }
        : { windows_to_detect_max: s.windows_to_detect_max };
  say(
    JSON.stringify({
      precision: score.precision,
      recall: score.recall,
      feature_precision: score.feature_precision,
      detection_latency: latencyByType,
      per_type: Object.fromEntries(
        Object.entries(score.per_type).map(([t, s]) => [t, { injected: s.injected, detected: s.detected }]),
      ),
      alerts: score.alerts,
      false_positives: score.false_positives,
      alerts_by_rule: score.alerts_by_rule,
      events: events,
      events_per_s: Math.round(events / seconds),
      runs_stage_events_per_s: Math.round(events / ((runsDone - ready) / 1000)),
      preload_events_per_s: Math.round(events / loadSeconds),
      live_events_per_s: Math.round(liveEvents / liveElapsed),
      live_recall: liveScore.recall,
      alert_p50_ms: percentile(latencies, 0.5),
      alert_p99_ms: percentile(latencies, 0.99),
      alert_max_ms: percentile(latencies, 1),
      partitions,
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`detector bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
