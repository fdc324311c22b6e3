/**
 * End to end: the SDK at full speed through pricer, sink and detector (the processes `tollgate up`
 * starts) into ClickHouse, against the Kafka client alone carrying the same payloads; then latency at
 * a steady 5,000 events/s. Prints progress, then one JSON line:
 *   events_per_s           SDK → visible in ClickHouse, sustained over the whole batch
 *   steady_events_per_s    the same between 20 % and 80 % of the batch visible: without the ramp-up
 *                          and the last flush (ClickHouse polled every 100 ms)
 *   transport_events_per_s the same encoded payloads produced and consumed with kafkajs alone
 *   ratio                  events_per_s / transport_events_per_s
 *   visible_p99_ms         at 5,000 events/s: SDK record call → row visible in ClickHouse (50 ms polling)
 *   priced_p99_ms          at 5,000 events/s: SDK record call → priced event readable (read committed,
 *                          one message in eight sampled);
 *                          the rest of visible_p99_ms is the sink's
 *   alert_p99_ms           at 5,000 events/s: the call that completes a loop signature → alert on the topic
 *   peak_rss_mb            per service (VmHWM)
 *   cpu_us_per_event       CPU time (user + system) per event during the throughput phase, per
 *                          process: the SDK (this process), each service, the Kafka broker and ClickHouse
 *                          (found by command line, when they run on this machine); kafka_jit is the part
 *                          of kafka spent by the JVM's JIT compilers (a young broker's cost, see
 *                          README.md, "What the end-to-end benchmark measures here")
 *   latency_cpu_us_per_event the same during the 5,000 events/s phase (the bench's own polling included)
 * A warm-up of E2E_WARMUP_EVENTS (default 20000, 0 for none) goes through the pipeline first, and
 * through the transport phase's producer and consumer before that phase is timed; both unmeasured.
 * Sizes: E2E_EVENTS (default 100000), E2E_LATENCY_SECONDS (default 20). E2E_SINK_FLUSH_INTERVAL_MS sets
 * the sink's flush interval; E2E_PROFILE_DIR makes every service write a V8 CPU profile there.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createAlertCodec, createPricedCodec, createUsageCodec } from '@tollgate/core';
import { exampleModelCall } from '@tollgate/core/contract/examples';
import { createMeter, type Meter, type Run } from '@tollgate/sdk';
import { createTestContext, uniqueId } from '@tollgate/test/support';
import { startPipeline } from '@tollgate/test/support/pipeline';
import { counter, counterBy, sampleMemory, scrape } from './_metrics.ts';
import { cpuMeter, findPid, peakRssMb, waitForQuiet } from './_proc.ts';

const EVENTS = Number(process.env.E2E_EVENTS ?? 100_000);
const LATENCY_SECONDS = Number(process.env.E2E_LATENCY_SECONDS ?? 20);
const WARMUP_EVENTS = Number(process.env.E2E_WARMUP_EVENTS ?? 20_000);
const RATE = 5_000;
const LATENCY_ORG = 'bench-latency';
const log = (line: string) => process.stderr.write(`e2e: ${line}\n`);

const usage = {
  input_tokens: 12_000,
  cache_read_tokens: 6_000,
  cache_write_5m_tokens: 500,
  output_tokens: 700,
};

/** The middle of the throughput phase: from this share of its events visible to that one. */
const STEADY_FROM = 0.2;
const STEADY_TO = 0.8;

/**
 * Events per second between the polls that first saw STEADY_FROM and STEADY_TO of `count` visible
 * (null if fewer than two polls fall apart), and when the first events were seen. Leaves out the
 * ramp-up (first fetches, the first flushes) and the drain (the last flush) that `events_per_s`
 * includes.
 */
function steadyRate(
  samples: [number, number][],
  count: number,
): { eventsPerS: number | null; firstMs: number } {
  const firstMs = samples.find(([, n]) => n > 0)?.[0] ?? Number.NaN;
  const from = samples.find(([, n]) => n >= count * STEADY_FROM);
  const to = samples.find(([, n]) => n >= count * STEADY_TO);
  if (!from || !to || to[0] <= from[0]) return { eventsPerS: null, firstMs };
  return { eventsPerS: Math.round(((to[1] - from[1]) * 1000) / (to[0] - from[0])), firstMs };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Mean seconds per insert by table, from the sink's insert-duration histogram. */
async function insertSecondsByTable(port: number): Promise<Record<string, number>> {
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const { name, labels, value } of await scrape(port)) {
    const kind = /^tollgate_sink_insert_duration_seconds_(sum|count)$/.exec(name)?.[1];
    const table = /table="([a-z_]+)"/.exec(labels)?.[1];
    if (!kind || !table) continue;
    const into = kind === 'sum' ? sums : counts;
    into.set(table, (into.get(table) ?? 0) + value);
  }
  return Object.fromEntries(
    [...sums].map(([table, sum]) => [table, Number((sum / (counts.get(table) || 1)).toFixed(3))]),
  );
}

/** The units of work behind the CPU figures: Kafka transactions and ClickHouse inserts. */
async function requestCounts(): Promise<Record<string, number>> {
  const port = (name: 'pricer' | 'sink' | 'detector') => pipeline.services.get(name)?.port ?? 0;
  return {
    pricer_transactions: await counter(port('pricer'), 'tollgate_pricer_transactions_total'),
    detector_transactions: await counter(port('detector'), 'tollgate_detector_transactions_total'),
    ...Object.fromEntries(
      Object.entries(await counterBy(port('detector'), 'tollgate_detector_transactions_total', 'stage')).map(
        ([stage, n]) => [`detector_transactions_${stage}`, n],
      ),
    ),
    sink_inserts: await counter(port('sink'), 'tollgate_sink_insert_duration_seconds_count'),
    sink_insert_seconds: await counter(port('sink'), 'tollgate_sink_insert_duration_seconds_sum'),
    sink_flushes: await counter(port('sink'), 'tollgate_sink_staleness_seconds_count'),
    sink_staleness_seconds: await counter(port('sink'), 'tollgate_sink_staleness_seconds_sum'),
    ...Object.fromEntries(
      Object.entries(await insertSecondsByTable(port('sink'))).map(([table, mean]) => [
        `sink_mean_insert_s_${table}`,
        mean,
      ]),
    ),
  };
}

const ctx = await createTestContext({ partitions: 6 });

/**
 * Follows `topic` from its end in a consumer group of its own (read committed), batch by batch. It
 * commits no offsets: the group is thrown away, and a commit per batch was 18 of the broker's ~415
 * requests/s at 5,000 events/s, load the benchmark put on what it measures.
 */
async function watch(
  topic: string,
  name: string,
  onMessages: (messages: { value: Buffer | null }[]) => void,
): Promise<{ disconnect(): Promise<void> }> {
  const consumer = ctx.kafka.consumer({ groupId: `${ctx.topicPrefix}${name}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => onMessages(batch.messages) });
  return consumer;
}
await ctx.createTopics();
const ch = await ctx.clickhouse();
log('starting pricer, sink and detector');
const pipeline = await startPipeline(ctx, {
  services: ['pricer', 'sink', 'detector'],
  env: {
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    ...(process.env.E2E_SINK_FLUSH_INTERVAL_MS
      ? { SINK_FLUSH_INTERVAL_MS: process.env.E2E_SINK_FLUSH_INTERVAL_MS }
      : {}),
    // V8 CPU profiles of every service, written when they stop (open them in Chrome DevTools).
    ...(process.env.E2E_PROFILE_DIR
      ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.E2E_PROFILE_DIR}` }
      : {}),
  },
});
const meter: Meter = createMeter({
  brokers: ctx.brokers,
  clientId: 'bench-e2e',
  topic: ctx.topics.usage,
  defaults: { org_id: 'bench', feature: 'throughput', environment: 'bench' },
  estimateCost: () => null,
});

try {
  /** `count` model calls of `org` as fast as the SDK takes them, 100 per run. */
  const sendModelCalls = async (count: number, org: string) => {
    let run: Run | undefined;
    for (let i = 0; i < count; i++) {
      if (i % 100 === 0)
        run = await meter.startRun({ runId: `${org}-${uniqueId()}`, agentName: 'bench', org_id: org });
      const pending = run!.recordModelCall({ provider: 'anthropic', model: 'claude-sonnet-4-5', usage });
      if (pending) await pending;
    }
    await meter.flush();
  };
  // Polled by first lines (line_no 0) of one org, a scan of one small column: a uniqExact over event
  // ids cost ClickHouse more CPU with every poll, taken from the pipeline it measures.
  // Each poll's (ms since `since`, events visible) goes to `timeline` when given.
  const waitForFirstLines = async (
    org: string,
    count: number,
    timeoutMs: number,
    timeline?: { since: number; samples: [number, number][] },
  ) => {
    for (const deadline = Date.now() + timeoutMs; ; ) {
      const [row] = await ch.rows<{ n: string }>(
        `SELECT count() AS n FROM line_items WHERE org_id = '${org}' AND line_no = 0`,
      );
      timeline?.samples.push([performance.now() - timeline.since, Number(row?.n)]);
      if (Number(row?.n) >= count) return;
      if (Date.now() > deadline)
        throw new Error(`${org}: only ${row?.n} of ${count} events visible after ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  };

  // 0. Warm-up: the broker's JIT and the services' take a run's worth of traffic to settle (the first
  // run after a broker start measured 5,500 events/s against 10,000–14,000 after); measured figures
  // are the steady state. Its org is left out of every count below.
  if (WARMUP_EVENTS > 0) {
    log(`warm-up: ${WARMUP_EVENTS.toLocaleString('en-US')} model calls`);
    await sendModelCalls(WARMUP_EVENTS, 'bench-warmup');
    await waitForFirstLines('bench-warmup', WARMUP_EVENTS, 300_000);
    const quietMs = await waitForQuiet(
      [...pipeline.services.values()].map((service) => service.child.pid),
      60_000,
    );
    log(`warm-up: visible; pipeline idle after ${(quietMs / 1000).toFixed(1)} s`);
  }

  // 1. Throughput: as fast as the SDK takes events; a model call is one line item per token class.
  log(`throughput: ${EVENTS.toLocaleString('en-US')} model calls through the pipeline`);
  const cpuPids: Record<string, number | undefined> = {
    ...Object.fromEntries([...pipeline.services.values()].map((s) => [s.name, s.child.pid])),
    kafka: findPid('kafka.Kafka'),
    clickhouse: findPid('clickhouse-server'),
  };
  const memory = sampleMemory(
    new Map([...pipeline.services.values()].map((service) => [service.name, service.port])),
  );
  const throughputCpu = cpuMeter(cpuPids);
  const started = performance.now();
  await sendModelCalls(EVENTS, 'bench');
  const sentMs = performance.now() - started;
  const timeline = { since: started, samples: [] as [number, number][] };
  await waitForFirstLines('bench', EVENTS, 600_000, timeline);
  const visibleMs = performance.now() - started;
  const steady = steadyRate(timeline.samples, EVENTS);
  const [stored] = await ch.rows<{ events: string; firsts: string; lines: string }>(
    `SELECT uniqExact(event_id) AS events, countIf(line_no = 0) AS firsts, count() AS lines FROM line_items WHERE org_id = 'bench'`,
  );
  const expectedLines = Number(stored?.lines ?? 0);
  if (Number(stored?.events) !== EVENTS || Number(stored?.firsts) !== EVENTS)
    throw new Error(
      `stored ${stored?.firsts} first lines of ${stored?.events} distinct events, sent ${EVENTS}`,
    );
  const cpuUsPerEvent = throughputCpu.perEvent(EVENTS);
  log(`throughput: CPU µs per event ${JSON.stringify(cpuUsPerEvent)}`);
  const counts = await requestCounts();
  log(`throughput: work units so far ${JSON.stringify(counts)}`);
  const eventsPerS = Math.round((EVENTS * 1000) / visibleMs);
  // A model call prices to one line per token class of `usage` (a tool call to one line).
  const linesPerModelCall = expectedLines / EVENTS;
  if (!Number.isInteger(linesPerModelCall))
    throw new Error(`${expectedLines} line items for ${EVENTS} model calls: not a whole number per call`);
  log(
    `throughput: SDK sent in ${(sentMs / 1000).toFixed(1)} s, all visible after ${(visibleMs / 1000).toFixed(1)} s: ${eventsPerS} events/s (${expectedLines} line items)`,
  );
  log(
    `throughput: first events visible after ${(steady.firstMs / 1000).toFixed(1)} s; from ${STEADY_FROM * 100} % to ${STEADY_TO * 100} % visible ${steady.eventsPerS ?? '?'} events/s`,
  );

  // 2. Transport: the same kind of payload (an encoded model call), kafkajs producer and consumer only.
  const codec = createUsageCodec();
  const sample = codec.encode(exampleModelCall());
  const transportTopic = `${ctx.topicPrefix}bench.transport`;
  const admin = ctx.kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: transportTopic, numPartitions: 6 }], waitForLeaders: true });
  const producer = ctx.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = ctx.kafka.consumer({ groupId: `${ctx.topicPrefix}transport`, maxBytes: 16 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: transportTopic, fromBeginning: true });
  let consumed = 0;
  let target = Number.POSITIVE_INFINITY;
  let reached: () => void = () => {};
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length;
      if (consumed >= target) reached();
    },
  });
  /** Produces `count` messages, 5,000 a request, and resolves once the consumer has read them all. */
  const carry = async (count: number) => {
    const read = new Promise<void>((resolve) => {
      reached = resolve;
    });
    target = consumed + count;
    for (let i = 0; i < count; i += 5_000) {
      const messages = Array.from({ length: Math.min(5_000, count - i) }, (_, j) => ({
        key: `run-${Math.floor((i + j) / 100)}`,
        value: sample,
      }));
      await producer.send({ topic: transportTopic, acks: -1, messages });
    }
    await read;
  };
  // The same warm-up as the pipeline's, unmeasured: it also makes sure the consumer has joined (a fixed
  // wait did not on a young broker, and the join then counted as transport time).
  await carry(Math.max(WARMUP_EVENTS, 1));
  const transportStarted = performance.now();
  await carry(EVENTS);
  const transportMs = performance.now() - transportStarted;
  const transportPerS = Math.round((EVENTS * 1000) / transportMs);
  await consumer.disconnect();
  await producer.disconnect();
  // not one of the context's topics: its cleanup would leave it (and its messages) behind
  await admin.deleteTopics({ topics: [transportTopic] });
  await admin.disconnect();
  log(`transport: ${transportPerS} events/s produced and consumed by kafkajs alone`);

  // 3. Latency at 5,000 events/s: visibility of every event, and alerts from loop signatures.
  const alertCodec = createAlertCodec();
  const loopSentAt = new Map<string, number>();
  const alertLatencies: number[] = [];
  const alertConsumer = await watch(ctx.topics.alerts, 'alerts-watch', (messages) => {
    for (const message of messages) {
      const decoded = message.value ? alertCodec.decode(message.value) : undefined;
      if (!decoded?.ok || decoded.value.rule !== 'run_loop' || !decoded.value.run_id) continue;
      const sentAt = loopSentAt.get(decoded.value.run_id);
      if (sentAt !== undefined) {
        alertLatencies.push(Date.now() - sentAt);
        loopSentAt.delete(decoded.value.run_id);
      }
    }
  });
  // Where the latency goes: when latency-phase events reach the priced topic (read committed, as the
  // sink reads it), against their event_time (set by the SDK at the record call). One message in
  // eight is decoded: decoding all of them cost this process ~15 µs per event, CPU the pipeline it
  // measures then lacks; an eighth still gives p99 over ~12,000 samples.
  const pricedCodec = createPricedCodec();
  const pricedLatencies: number[] = [];
  let pricedMessages = 0;
  const pricedConsumer = await watch(ctx.topics.priced, 'priced-watch', (messages) => {
    const now = Date.now();
    for (const message of messages) {
      if (pricedMessages++ % 8 !== 0) continue;
      const decoded = message.value ? pricedCodec.decode(message.value) : undefined;
      if (decoded?.ok && decoded.value.usage.org_id === LATENCY_ORG)
        pricedLatencies.push(now - decoded.value.usage.event_time);
    }
  });
  await sleep(3_000); // let both watchers join their groups
  // The latency phase measures a pipeline at 5,000 events/s, not one still working off the throughput
  // phase: wait until every service is idle (the detector in particular may still be catching up).
  const quietMs = await waitForQuiet(Object.values(cpuPids), 60_000);
  log(`latency: pipeline idle after ${(quietMs / 1000).toFixed(1)} s`);
  log(`latency: ${RATE} events/s for ${LATENCY_SECONDS} s`);
  const sendTimes: number[] = [];
  /** Line items of the events sent so far, in send order: the visible-rows count they add up to. */
  const linesThrough: number[] = [];
  let linesSent = 0;
  const sent = (lines: number) => {
    linesSent += lines;
    linesThrough.push(linesSent);
    sendTimes.push(Date.now());
  };
  // Visibility is read from the row count of line_items' active parts (system.parts): what any SELECT
  // sees, at a cost that does not grow with the table. A count() over the rows cost ClickHouse about
  // 10 ms of CPU per poll here, a tenth of a core at 10 polls/s, taken from the pipeline it measures.
  // Only this phase writes line items now (the throughput phase is all visible), so the rows added
  // since its start are this phase's; each poll matches them to the send times in order.
  const visibleRows = async () => {
    const [row] = await ch.rows<{ n: string }>(
      `SELECT sum(rows) AS n FROM system.parts WHERE database = currentDatabase() AND table = 'line_items' AND active`,
    );
    return Number(row?.n ?? 0);
  };
  const baselineRows = await visibleRows();
  const visibleLatencies: number[] = [];
  let sending = true;
  let seen = 0;
  let rowsAdded = 0;
  const poller = (async () => {
    let deadline = Number.POSITIVE_INFINITY;
    while ((sending || seen < sendTimes.length) && Date.now() < deadline) {
      rowsAdded = (await visibleRows()) - baselineRows;
      const now = Date.now();
      for (; seen < sendTimes.length && linesThrough[seen]! <= rowsAdded; seen++)
        visibleLatencies.push(now - sendTimes[seen]!);
      if (!sending && deadline === Number.POSITIVE_INFINITY) deadline = now + 120_000;
      await sleep(50);
    }
  })();
  const latencyCpu = cpuMeter(cpuPids);
  const latencyStarted = Date.now();
  const total = RATE * LATENCY_SECONDS;
  let run: Run | undefined;
  let loopRun: Run | undefined;
  let loopCalls = 0;
  for (let i = 0; i < total; i++) {
    const due = latencyStarted + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 1) await sleep(wait);
    if (i % 100 === 0)
      run = await meter.startRun({ runId: `lat-${uniqueId()}`, agentName: 'bench', org_id: LATENCY_ORG });
    if (i % 500 === 0) {
      loopRun = await meter.startRun({
        runId: `loop-${uniqueId()}`,
        agentName: 'looper',
        org_id: LATENCY_ORG,
      });
      loopCalls = 0;
    }
    if (i % 50 === 25 && loopRun && loopCalls < 10) {
      // Ten identical tool calls complete the loop signature (the detector's default threshold).
      loopRun.recordToolCall({ toolName: 'lookup', signature: 'lookup:{"id":1}' });
      loopCalls += 1;
      if (loopCalls === 10) loopSentAt.set(loopRun.runId, Date.now());
      sent(1);
      continue;
    }
    const pending = run!.recordModelCall({ provider: 'anthropic', model: 'claude-sonnet-4-5', usage });
    if (pending) await pending;
    sent(linesPerModelCall);
  }
  await meter.flush();
  sending = false;
  await poller;
  if (rowsAdded !== linesSent)
    throw new Error(
      `latency phase: ${rowsAdded} line items visible, ${linesSent} sent (lost or counted twice)`,
    );
  await sleep(2_000);
  const latencyCpuUsPerEvent = latencyCpu.perEvent(total);
  log(`latency: CPU µs per event ${JSON.stringify(latencyCpuUsPerEvent)}`);
  log(`latency: work units so far ${JSON.stringify(await requestCounts())}`);
  await alertConsumer.disconnect();
  await pricedConsumer.disconnect();
  log(`peak memory per service, MiB: ${JSON.stringify(await memory.stop())}`);
  const rss = Object.fromEntries(
    [...pipeline.services.values()].map((service) => [service.name, peakRssMb(service.child.pid)]),
  );
  const result = {
    events: EVENTS,
    events_per_s: eventsPerS,
    steady_events_per_s: steady.eventsPerS,
    transport_events_per_s: transportPerS,
    ratio: Number((eventsPerS / transportPerS).toFixed(3)),
    visible_p50_ms: percentile(visibleLatencies, 50),
    visible_p99_ms: percentile(visibleLatencies, 99),
    visible_events_measured: visibleLatencies.length,
    priced_p50_ms: percentile(pricedLatencies, 50),
    priced_p99_ms: percentile(pricedLatencies, 99),
    alert_p50_ms: percentile(alertLatencies, 50),
    alert_p99_ms: percentile(alertLatencies, 99),
    alerts_measured: alertLatencies.length,
    peak_rss_mb: rss,
    cpu_us_per_event: cpuUsPerEvent,
    latency_cpu_us_per_event: latencyCpuUsPerEvent,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await meter.close().catch(() => {});
  await pipeline.stop();
  await ctx.cleanup();
}
