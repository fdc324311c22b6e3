/**
 * Test and benchmark harness for the pricer against the real broker: a workload whose exact cost is
 * known by hand, a producer of usage messages, a read_committed collector of priced events, and the
 * pricer as a real child process. Not used by production code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { type Consumer, createPricedCodec, createUsageCodec, type Kafka, Partitioners } from '@tollgate/core';
import type { PricedEvent, UsageEvent } from '@tollgate/core/contract/types';
import { modelCallEvent, usageEvent } from '@tollgate/core/ratecard/testing';

const mainPath = resolve(import.meta.dirname, 'main.ts');

/**
 * Six event shapes priced by ratecards/default.yaml, each with its cost worked out by hand
 * (tokens × price per 1M; nanos = USD × 10^9).
 */
export const WORKLOAD_SHAPES: { totalNanos: bigint; make: (fields: Partial<UsageEvent>) => UsageEvent }[] = [
  {
    // gpt-4o: 600 uncached × 2.50 = 1,500,000; 400 cached × 1.25 = 500,000; 100 out × 10.00 = 1,000,000.
    totalNanos: 3_000_000n,
    make: (f) =>
      modelCallEvent(
        'openai',
        'gpt-4o-2024-08-06',
        { input_tokens: 1_000, cache_read_tokens: 400, output_tokens: 100 },
        f,
      ),
  },
  {
    // claude-sonnet-4-5: 100 × 3.00 = 300,000; 2,000 read × 0.30 = 600,000; 300 write 5m × 3.75 = 1,125,000;
    // 250 out × 15.00 = 3,750,000.
    totalNanos: 5_775_000n,
    make: (f) =>
      modelCallEvent(
        'anthropic',
        'claude-sonnet-4-5-20250929',
        {
          input_tokens: 2_400,
          cache_read_tokens: 2_000,
          cache_write_5m_tokens: 300,
          output_tokens: 250,
          reasoning_tokens: 50,
        },
        f,
      ),
  },
  {
    // OpenAI web search: 0.01 per call.
    totalNanos: 10_000_000n,
    make: (f) =>
      usageEvent('tool_call', {
        provider: 'openai',
        tool_call: { tool_name: 'web_search', call_signature: 'sig', status: 'ok', duration_ms: 300 },
        ...f,
      }),
  },
  {
    // E2B: 10 vCPU-s × 0.000014 = 140,000; 20 GiB-s × 0.0000045 = 90,000.
    totalNanos: 230_000n,
    make: (f) =>
      usageEvent('sandbox', {
        provider: 'e2b',
        sandbox: { sandbox_id: 'sbx', vcpu_seconds: 10, gib_seconds: 20, idle_seconds: 0 },
        ...f,
      }),
  },
  {
    // gemini-2.5-flash batch (× 0.5): 1,000 × 0.30 × 0.5 = 150,000; 2,000 out × 2.50 × 0.5 = 2,500,000.
    totalNanos: 2_650_000n,
    make: (f) =>
      modelCallEvent(
        'gcp.gemini',
        'gemini-2.5-flash',
        { input_tokens: 1_000, output_tokens: 2_000 },
        { service_tier: 'batch', ...f },
      ),
  },
  {
    // A subagent spawn costs nothing itself.
    totalNanos: 0n,
    make: (f) =>
      usageEvent('subagent_spawn', {
        subagent_spawn: { child_agent_id: 'a2', child_agent_name: 'worker', child_depth: 1 },
        ...f,
      }),
  },
];

export function workloadEvent(i: number, runs = 500): UsageEvent {
  const shape = WORKLOAD_SHAPES[i % WORKLOAD_SHAPES.length]!;
  return shape.make({
    event_id: `evt-${i}`,
    run_id: `run-${i % runs}`,
    org_id: 'org-load',
    event_time: Date.UTC(2026, 10, 3) + i,
  });
}

/** Σ of the hand-computed totals of events 0 … n−1. */
export function workloadTotalNanos(n: number): bigint {
  let total = 0n;
  for (let i = 0; i < n; i++) total += WORKLOAD_SHAPES[i % WORKLOAD_SHAPES.length]!.totalNanos;
  return total;
}

/** Publishes usage events (or raw values) keyed by run_id, acknowledged by all replicas. */
export async function produceUsage(
  kafka: Kafka,
  topic: string,
  items: readonly (UsageEvent | { key: string; value: Buffer })[],
  chunk = 5_000,
): Promise<void> {
  const codec = createUsageCodec();
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < items.length; i += chunk) {
      const messages = items
        .slice(i, i + chunk)
        .map((item) => ('value' in item ? item : { key: item.run_id, value: codec.encode(item) }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface Collector {
  /** Priced events by event_id, each with how many times it was read. */
  events: Map<string, { event: PricedEvent; count: number }>;
  read(): number;
  totalNanos(): bigint;
  /** Stops fetching (keeps the test's event loop free, e.g. to react to a child's output quickly). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/**
 * Reads a priced topic from the beginning, read_committed as the sink and detector do (or, to see
 * what aborted transactions left in the log, read_uncommitted).
 */
export async function collectPriced(
  kafka: Kafka,
  topic: string,
  { readUncommitted = false }: { readUncommitted?: boolean } = {},
): Promise<Collector> {
  const codec = createPricedCodec();
  const events = new Map<string, { event: PricedEvent; count: number }>();
  let read = 0;
  let total = 0n;
  const consumer: Consumer = kafka.consumer({
    groupId: `collector-${randomUUID()}`,
    readUncommitted,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const decoded = codec.decode(message.value ?? Buffer.alloc(0));
        if (!decoded.ok) throw new Error(`undecodable priced event at ${batch.partition}@${message.offset}`);
        read++;
        total += BigInt(decoded.value.total_nanos);
        const seen = events.get(decoded.value.usage.event_id);
        if (seen) seen.count++;
        else events.set(decoded.value.usage.event_id, { event: decoded.value, count: 1 });
      }
    },
  });
  return {
    events,
    read: () => read,
    totalNanos: () => total,
    pause: () => consumer.pause([{ topic }]),
    resume: () => consumer.resume([{ topic }]),
    stop: () => consumer.disconnect(),
  };
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws, naming what was awaited). */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  pollMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, pollMs));
  }
}

export interface PricerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** The pricer's main.ts as a child process on the given topic prefix. */
export function spawnPricer({
  brokers,
  topicPrefix,
  groupId,
  env = {},
}: {
  brokers: string[];
  topicPrefix: string;
  groupId: string;
  env?: Record<string, string>;
}): PricerProcess {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', mainPath], {
    env: {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: brokers.join(','),
      TOPIC_PREFIX: topicPrefix,
      PRICER_GROUP_ID: groupId,
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      PRICER_SESSION_TIMEOUT_MS: '6000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => output, exited };
}

/** The topic prefix of a test context's topics (its names are `<prefix>tollgate.usage.v1`, …). */
export function topicPrefixOf(usageTopic: string): string {
  return usageTopic.slice(0, -'tollgate.usage.v1'.length);
}
