/**
 * `npm run bench -- sdk`: the SDK against the real local broker.
 *
 * 1. delivery: a meter publishes EVENTS model calls spread over RUNS runs to a fresh 6-partition topic
 *    (the usage topic's layout); the clock stops when flush() resolves, i.e. when the broker has
 *    acknowledged every event. The topic's end offsets are then checked against the count.
 * 2. encode: validateUsageEvent + Avro encode of realistic model-call events (fresh event ids), and
 *    the whole synchronous record call (build + validate + encode + buffer) with sending paused.
 *
 * Last line: {"events_per_s", "encode_us_per_event", "record_us_per_event", "peak_rss_mb", …}.
 * Environment: KAFKA_BROKERS (default 127.0.0.1:9092), BENCH_EVENTS (default 500000); to compare
 * settings: BENCH_BATCH_BYTES, BENCH_LINGER_MS, BENCH_PRODUCER_THREAD=main.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import {
  createKafka,
  createUsageCodec,
  silentLogger,
  type UsageEvent,
  validateUsageEvent,
} from '@tollgate/core';
import { createMeter, type Run, type Transport } from '@tollgate/sdk';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const RUNS = 1_000;
const ENCODE_EVENTS = 300_000;

const progress = (line: string) => process.stderr.write(`bench sdk: ${line}\n`);

const usage = {
  input_tokens: 12_400,
  cache_read_tokens: 8_192,
  cache_write_5m_tokens: 1_024,
  output_tokens: 812,
  reasoning_tokens: 256,
};

function sampleEvent(): UsageEvent {
  return {
    event_id: randomUUID(),
    event_time: Date.now(),
    kind: 'model_call',
    run_id: randomUUID(),
    agent_id: randomUUID(),
    parent_agent_id: randomUUID(),
    agent_name: 'researcher',
    agent_depth: 1,
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    service_tier: 'default',
    org_id: 'acme',
    feature: 'support-bot',
    customer_id: 'cust-0042',
    environment: 'prod',
    tags: { team: 'care', region: 'eu' },
    source: 'sdk',
    provider_cost: null,
    model_call: { operation: 'chat', cache_write_1h_tokens: 0, duration_ms: 2_310, ...usage },
    tool_call: null,
    subagent_spawn: null,
    sandbox: null,
    retrieval: null,
    cache_storage: null,
    egress: null,
    run_start: null,
    run_end: null,
    ceiling_decision: null,
  };
}

function encodeBench(): number {
  const codec = createUsageCodec();
  const events = Array.from({ length: 10_000 }, sampleEvent);
  let bytes = 0;
  const pass = (n: number) => {
    for (let i = 0; i < n; i++) {
      const event = events[i % events.length]!;
      const result = validateUsageEvent(event);
      if (!result.ok) throw new Error(`${result.field}: ${result.rule}`);
      bytes += codec.encode(event).length;
    }
  };
  pass(50_000); // warm-up: JIT
  const started = process.hrtime.bigint();
  pass(ENCODE_EVENTS);
  const us = Number(process.hrtime.bigint() - started) / 1_000 / ENCODE_EVENTS;
  progress(
    `validate+encode ${us.toFixed(2)} µs/event (${Math.round(bytes / (ENCODE_EVENTS + 50_000))} bytes/event)`,
  );
  return us;
}

/** The full synchronous record call, with a transport that never completes so nothing is sent. */
async function recordBench(): Promise<number> {
  const parked: Transport = {
    send: () => new Promise(() => {}),
    isRetriable: () => false,
    close: async () => {},
  };
  const meter = createMeter({
    brokers,
    clientId: 'bench-record',
    defaults: { org_id: 'acme', feature: 'support-bot', environment: 'prod', tags: { team: 'care' } },
    transport: parked,
    maxBufferedEvents: ENCODE_EVENTS + 60_000,
    maxBufferedBytes: 512 * 1024 * 1024,
  });
  const run = await meter.startRun({ customer_id: 'cust-0042' });
  const call = { provider: 'anthropic', model: 'claude-sonnet-4-5', usage, durationMs: 2_310 };
  for (let i = 0; i < 50_000; i++) run.recordModelCall(call);
  const started = process.hrtime.bigint();
  for (let i = 0; i < ENCODE_EVENTS; i++) run.recordModelCall(call);
  const us = Number(process.hrtime.bigint() - started) / 1_000 / ENCODE_EVENTS;
  progress(`record call (build + validate + encode + buffer) ${us.toFixed(2)} µs/event`);
  return us;
}

async function deliveryBench(): Promise<{
  eventsPerS: number;
  cpuUsPerEvent: number;
  delivered: number;
  batches: number;
  verified: boolean;
}> {
  const topic = `bench.sdk.${Date.now()}.${randomUUID().slice(0, 8)}`;
  const kafka = createKafka({ brokers, clientId: 'bench-admin', logger: silentLogger() });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
  });
  try {
    const meter = createMeter({
      brokers,
      clientId: 'bench-sdk',
      ...(process.env.BENCH_BATCH_BYTES ? { batchMaxBytes: Number(process.env.BENCH_BATCH_BYTES) } : {}),
      ...(process.env.BENCH_LINGER_MS ? { lingerMs: Number(process.env.BENCH_LINGER_MS) } : {}),
      ...(process.env.BENCH_PRODUCER_THREAD === 'main' ? { producerThread: 'main' as const } : {}),
      topic,
      defaults: { org_id: 'acme', feature: 'support-bot', environment: 'prod', tags: { team: 'care' } },
    });
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await meter.startRun({ customer_id: `cust-${i % 50}` }));
    await meter.flush();
    progress(`${RUNS} runs started; publishing ${EVENTS} model calls to ${topic}`);
    const call = { provider: 'anthropic', model: 'claude-sonnet-4-5', usage, durationMs: 2_310 };
    const before = meter.stats().deliveredEvents;
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = 0; i < EVENTS; i++) {
      // The documented pattern: synchronous while there is room, await only under backpressure.
      const pending = runs[i % RUNS]!.recordModelCall(call);
      if (pending) await pending;
    }
    await meter.flush();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // CPU of this process (every thread: the recording thread and the producer thread), which a busy
    // shared machine does not inflate the way it inflates wall time.
    const cpu = process.cpuUsage(cpuBefore);
    const stats = meter.stats();
    await meter.close();
    const delivered = stats.deliveredEvents - before;
    const offsets = await admin.fetchTopicOffsets(topic);
    const onTopic = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    const verified = onTopic === EVENTS + RUNS;
    progress(
      `${delivered} events acknowledged in ${seconds.toFixed(2)} s in ${stats.deliveredBatches} batches; topic holds ${onTopic} (expected ${EVENTS + RUNS})`,
    );
    return {
      eventsPerS: Math.round(delivered / seconds),
      cpuUsPerEvent: (cpu.user + cpu.system) / delivered,
      delivered,
      batches: stats.deliveredBatches,
      verified,
    };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

// Delivery first: the peak RSS reported is that of a process publishing at full speed (the
// micro-benchmarks after it park hundreds of thousands of events in memory on purpose).
const delivery = await deliveryBench();
const peakRssMb = process.resourceUsage().maxRSS / 1024;
const encodeUs = encodeBench();
const recordUs = await recordBench();
process.stdout.write(
  `${JSON.stringify({
    events_per_s: delivery.eventsPerS,
    sdk_cpu_us_per_event: Number(delivery.cpuUsPerEvent.toFixed(2)),
    encode_us_per_event: Number(encodeUs.toFixed(2)),
    record_us_per_event: Number(recordUs.toFixed(2)),
    peak_rss_mb: Math.round(peakRssMb),
    events: delivery.delivered,
    batches: delivery.batches,
    offsets_verified: delivery.verified,
    load_avg_1m: Number(loadavg()[0]!.toFixed(2)),
  })}\n`,
);
