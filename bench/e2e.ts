/**
 * End to end: the SDK at full speed through pricer, sink and detector (the processes `tollgate up`
 * starts) into ClickHouse, against the Kafka client alone carrying the same payloads; then latency at
 * a steady 5,000 events/s. Prints progress, then one JSON line:
 *   events_per_s           SDK → visible in ClickHouse, sustained over the whole batch
 *   transport_events_per_s the same encoded payloads produced and consumed with kafkajs alone
 *   ratio                  events_per_s / transport_events_per_s
 *   visible_p99_ms         at 5,000 events/s: SDK record call → row visible in ClickHouse (100 ms polling)
 *   alert_p99_ms           at 5,000 events/s: the call that completes a loop signature → alert on the topic
 *   peak_rss_mb            per service (VmHWM)
 * Sizes: E2E_EVENTS (default 100000), E2E_LATENCY_SECONDS (default 20).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAlertCodec, createUsageCodec, loadRateCardFile } from '@tollgate/core';
import { exampleModelCall } from '@tollgate/core/contract/examples';
import { createMeter, type Meter, type Run } from '@tollgate/sdk';
import { createTestContext, repoRoot, uniqueId } from '@tollgate/test/support';
import { startPipeline } from '@tollgate/test/support/pipeline';

const EVENTS = Number(process.env.E2E_EVENTS ?? 100_000);
const LATENCY_SECONDS = Number(process.env.E2E_LATENCY_SECONDS ?? 20);
const RATE = 5_000;
const log = (line: string) => process.stderr.write(`e2e: ${line}\n`);

const usage = {
  input_tokens: 12_000,
  cache_read_tokens: 6_000,
  cache_write_5m_tokens: 500,
  output_tokens: 700,
};

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function peakRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const ctx = await createTestContext({ partitions: 6 });
await ctx.createTopics();
const ch = await ctx.clickhouse();
const _card = await loadRateCardFile(`${repoRoot}/ratecards/default.yaml`);
log('starting pricer, sink and detector');
const pipeline = await startPipeline(ctx, {
  services: ['pricer', 'sink', 'detector'],
  env: { LOG_LEVEL: 'warn' },
});
const meter: Meter = createMeter({
  brokers: ctx.brokers,
  clientId: 'bench-e2e',
  topic: ctx.topics.usage,
  defaults: { org_id: 'bench', feature: 'throughput', environment: 'bench' },
  estimateCost: () => null,
});

try {
  // 1. Throughput: as fast as the SDK takes events; a model call is one line item per token class.
  log(`throughput: ${EVENTS.toLocaleString('en-US')} model calls through the pipeline`);
  const started = performance.now();
  let run: Run | undefined;
  for (let i = 0; i < EVENTS; i++) {
    if (i % 100 === 0) run = await meter.startRun({ runId: `tp-${uniqueId()}`, agentName: 'bench' });
    const pending = run!.recordModelCall({ provider: 'anthropic', model: 'claude-sonnet-4-5', usage });
    if (pending) await pending;
  }
  await meter.flush();
  const sentMs = performance.now() - started;
  let expectedLines = 0;
  for (;;) {
    const [row] = await ch.rows<{ events: string; lines: string }>(
      'SELECT uniqExact(event_id) AS events, count() AS lines FROM line_items',
    );
    if (Number(row?.events) >= EVENTS) {
      expectedLines = Number(row?.lines ?? 0);
      break;
    }
    if (performance.now() - started > 600_000)
      throw new Error(`only ${row?.events} of ${EVENTS} events visible after 10 minutes`);
    await sleep(100);
  }
  const visibleMs = performance.now() - started;
  const eventsPerS = Math.round((EVENTS * 1000) / visibleMs);
  log(
    `throughput: SDK sent in ${(sentMs / 1000).toFixed(1)} s, all visible after ${(visibleMs / 1000).toFixed(1)} s: ${eventsPerS} events/s (${expectedLines} line items)`,
  );

  // 2. Transport: the same kind of payload (an encoded model call), kafkajs producer and consumer only.
  const codec = createUsageCodec();
  const sample = codec.encode(exampleModelCall());
  const transportTopic = `${ctx.topicPrefix}bench.transport`;
  const admin = ctx.kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: transportTopic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = ctx.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = ctx.kafka.consumer({ groupId: `${ctx.topicPrefix}transport`, maxBytes: 16 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: transportTopic, fromBeginning: true });
  let consumed = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length;
      if (consumed >= EVENTS) resolveDone();
    },
  });
  await sleep(3_000); // let the consumer join before the clock starts
  const transportStarted = performance.now();
  const batchSize = 5_000;
  for (let i = 0; i < EVENTS; i += batchSize) {
    const messages = Array.from({ length: Math.min(batchSize, EVENTS - i) }, (_, j) => ({
      key: `run-${Math.floor((i + j) / 100)}`,
      value: sample,
    }));
    await producer.send({ topic: transportTopic, acks: -1, messages });
  }
  await done;
  const transportMs = performance.now() - transportStarted;
  const transportPerS = Math.round((EVENTS * 1000) / transportMs);
  await consumer.disconnect();
  await producer.disconnect();
  log(`transport: ${transportPerS} events/s produced and consumed by kafkajs alone`);

  // 3. Latency at 5,000 events/s: visibility of every event, and alerts from loop signatures.
  const alertCodec = createAlertCodec();
  const loopSentAt = new Map<string, number>();
  const alertLatencies: number[] = [];
  const alertConsumer = ctx.kafka.consumer({ groupId: `${ctx.topicPrefix}alerts-watch` });
  await alertConsumer.connect();
  await alertConsumer.subscribe({ topic: ctx.topics.alerts, fromBeginning: false });
  await alertConsumer.run({
    eachMessage: async ({ message }) => {
      const decoded = message.value ? alertCodec.decode(message.value) : undefined;
      if (!decoded?.ok || decoded.value.rule !== 'run_loop' || !decoded.value.run_id) return;
      const sentAt = loopSentAt.get(decoded.value.run_id);
      if (sentAt !== undefined) {
        alertLatencies.push(Date.now() - sentAt);
        loopSentAt.delete(decoded.value.run_id);
      }
    },
  });
  await sleep(3_000);
  log(`latency: ${RATE} events/s for ${LATENCY_SECONDS} s`);
  const sendTimes: number[] = [];
  const latencyStarted = Date.now();
  const total = RATE * LATENCY_SECONDS;
  let loopRun: Run | undefined;
  let loopCalls = 0;
  for (let i = 0; i < total; i++) {
    const due = latencyStarted + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 1) await sleep(wait);
    if (i % 100 === 0) run = await meter.startRun({ runId: `lat-${uniqueId()}`, agentName: 'bench' });
    if (i % 500 === 0) {
      loopRun = await meter.startRun({ runId: `loop-${uniqueId()}`, agentName: 'looper' });
      loopCalls = 0;
    }
    if (i % 50 === 25 && loopRun && loopCalls < 10) {
      // Ten identical tool calls complete the loop signature (the detector's default threshold).
      loopRun.recordToolCall({ toolName: 'lookup', signature: 'lookup:{"id":1}' });
      loopCalls += 1;
      if (loopCalls === 10) loopSentAt.set(loopRun.runId, Date.now());
      sendTimes.push(Date.now());
      continue;
    }
    const pending = run!.recordModelCall({ provider: 'anthropic', model: 'claude-sonnet-4-5', usage });
    if (pending) await pending;
    sendTimes.push(Date.now());
  }
  await meter.flush();
  // A model call is several line items: follow events through uniqExact over the latency runs.
  const visibleLatencies: number[] = [];
  const deadline = Date.now() + 120_000;
  let seen = 0;
  while (seen < sendTimes.length && Date.now() < deadline) {
    const [row] = await ch.rows<{ n: string }>(
      "SELECT uniqExact(event_id) AS n FROM line_items WHERE startsWith(run_id, 'lat-') OR startsWith(run_id, 'loop-')",
    );
    const now = Date.now();
    const count = Number(row?.n ?? 0);
    for (; seen < Math.min(count, sendTimes.length); seen++) visibleLatencies.push(now - sendTimes[seen]!);
    await sleep(100);
  }
  await sleep(2_000);
  await alertConsumer.disconnect();
  const rss = Object.fromEntries(
    [...pipeline.services.values()].map((service) => [service.name, peakRssMb(service.child.pid)]),
  );
  const result = {
    events: EVENTS,
    events_per_s: eventsPerS,
    transport_events_per_s: transportPerS,
    ratio: Number((eventsPerS / transportPerS).toFixed(3)),
    visible_p50_ms: percentile(visibleLatencies, 50),
    visible_p99_ms: percentile(visibleLatencies, 99),
    visible_events_measured: visibleLatencies.length,
    alert_p50_ms: percentile(alertLatencies, 50),
    alert_p99_ms: percentile(alertLatencies, 99),
    alerts_measured: alertLatencies.length,
    peak_rss_mb: rss,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await meter.close().catch(() => {});
  await pipeline.stop();
  await ctx.cleanup();
}
