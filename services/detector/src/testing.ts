/**
 * Helpers for the detector's integration tests and the benchmark: start a detector on a test
 * context's topics, publish priced events, collect alerts (read committed, as subscribers do), and
 * move every priced partition's event time forward. Not used by production code.
 */
import {
  type CostAlert,
  createAlertCodec,
  createPricedCodec,
  createRegistry,
  type Kafka,
  type Logger,
  type PolicyIndex,
  type PricedEvent,
  type Registry,
  type TopicNames,
} from '@tollgate/core';
import { readTopic } from '@tollgate/core/read-topic';
import { createDetector, type Detector, type DetectorSettings } from './detector.ts';
import { runContext, usage } from './fleet/events.ts';
import { priceUsage } from './fleet/pricing.ts';
import { createDetectorMetrics, type DetectorMetrics } from './metrics.ts';

/** One-minute windows and short timeouts, so tests close windows and rebalance quickly. */
export function testSettings(id: string, overrides: Partial<DetectorSettings> = {}): DetectorSettings {
  return {
    groupId: `${id}-detector`,
    transactionalIdPrefix: `${id}-detector`,
    windowMs: 60_000,
    allowedLatenessMs: 5_000,
    idleUpstreamMs: 1_500,
    runEndGraceMs: 600_000,
    runInactivityMs: 7_200_000,
    featureRetentionMs: 35 * 86_400_000,
    baseline: { alpha: 0.2, seasonalAlpha: 0.3, minSeasonalSamples: 24 },
    forecastMinElapsedFraction: 0.1,
    partitionsConsumedConcurrently: 3,
    maxBytesPerPartition: 1024 * 1024,
    fetchMinBytes: 1024 * 1024,
    fetchMaxWaitMs: 200,
    sessionTimeoutMs: 6_000,
    restoreTimeoutMs: 30_000,
    ...overrides,
  };
}

export interface RunningDetector {
  detector: Detector;
  registry: Registry;
  metrics: DetectorMetrics;
  stop(): Promise<void>;
}

export async function startDetector(options: {
  kafka: Kafka;
  logger: Logger;
  topics: TopicNames;
  settings: DetectorSettings;
  policies?: PolicyIndex;
}): Promise<RunningDetector> {
  const registry = createRegistry('detector');
  const metrics = createDetectorMetrics(registry);
  const detector = createDetector({ ...options, metrics });
  await detector.start();
  await waitFor(() => Object.values(detector.readiness()).every(Boolean), 30_000, 'detector ready');
  return { detector, registry, metrics, stop: () => detector.stop() };
}

/** Publishes priced events keyed by run_id (or to one partition), in order, acknowledged by all. */
export async function publishPriced(
  kafka: Kafka,
  topic: string,
  events: PricedEvent[],
  partition?: number,
): Promise<void> {
  const codec = createPricedCodec();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += 1_000)
      await producer.send({
        topic,
        acks: -1,
        messages: events.slice(i, i + 1_000).map((event) => ({
          key: event.usage.run_id,
          value: codec.encode(event),
          ...(partition === undefined ? {} : { partition }),
        })),
      });
  } finally {
    await producer.disconnect();
  }
}

/** Moves the stream time of every priced partition to `eventTime` with a run_start of a clock run. */
export async function publishClock(
  kafka: Kafka,
  topic: string,
  partitions: number,
  eventTime: number,
): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    const ctx = runContext({ run_id: `clock-${p}`, org_id: 'clock' });
    await publishPriced(
      kafka,
      topic,
      [priceUsage(usage.runStart(ctx, `clock-${p}-${eventTime}`, eventTime))],
      p,
    );
  }
}

export interface AlertCollector {
  alerts: CostAlert[];
  /** Wall-clock time each alert id was read (the first time). */
  seenAt: Map<string, number>;
  waitFor(predicate: (alerts: CostAlert[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** Follows the alert topic from the beginning, read committed, decoding every alert. */
export async function collectAlerts(kafka: Kafka, topic: string, logger: Logger): Promise<AlertCollector> {
  const codec = createAlertCodec();
  const alerts: CostAlert[] = [];
  const seenAt = new Map<string, number>();
  const reader = await readTopic({
    kafka,
    topic,
    groupIdPrefix: 'test-alerts',
    follow: true,
    caughtUpTimeoutMs: 30_000,
    logger,
    onMessage(_partition, _key, value) {
      if (!value) return;
      const decoded = codec.decode(value);
      if (!decoded.ok) throw new Error(`undecodable alert: ${decoded.reason}`);
      alerts.push(decoded.value);
      if (!seenAt.has(decoded.value.alert_id)) seenAt.set(decoded.value.alert_id, Date.now());
    },
  });
  await reader.caughtUp;
  return {
    alerts,
    seenAt,
    waitFor: (predicate, timeoutMs, what) => waitFor(() => predicate(alerts), timeoutMs, what),
    stop: () => reader.stop(),
  };
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws, naming what was awaited). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Sums a counter of a registry, optionally over the series whose labels match. */
export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  if (!metric) return 0;
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
