/**
 * Test wiring for app.inject() tests: the real app, codecs, intake and metrics, with a publisher that
 * keeps what it was given (Kafka itself is exercised by ingest.int.test.ts) or any other Publisher.
 */
import {
  type Codec,
  createDeadLetterCodec,
  createRegistry,
  createUsageCodec,
  type DeadLetter,
  silentLogger,
  type UsageEvent,
} from '@tollgate/core';
import type { FastifyInstance } from 'fastify';
import { buildApp, type IngestLimits } from './app.ts';
import { createAuthenticator } from './auth.ts';
import { createIntake } from './intake.ts';
import { createIngestMetrics } from './metrics.ts';
import type { OutgoingMessage, Publisher } from './publisher.ts';

export const TEST_TOPICS = { usage: 'test.usage', deadLetters: 'test.dlq' } as const;

export interface RecordingPublisher extends Publisher {
  messages: OutgoingMessage[];
}

export function createRecordingPublisher(): RecordingPublisher {
  const messages: OutgoingMessage[] = [];
  return {
    messages,
    async publish(batch) {
      messages.push(...batch);
    },
    async ready() {
      return true;
    },
    async close() {},
  };
}

export interface TestApp {
  app: FastifyInstance;
  usageCodec: Codec<UsageEvent>;
  deadLetterCodec: Codec<DeadLetter>;
  /** Decoded usage events published so far, in order. */
  published(): UsageEvent[];
  /** Decoded dead letters published so far, in order. */
  deadLetters(): DeadLetter[];
  /** Keys of the usage messages, as strings. */
  keys(): (string | null)[];
}

export function buildTestApp({
  publisher = createRecordingPublisher(),
  tokenSha256s = [],
  limits = {},
  nowMs,
}: {
  publisher?: Publisher;
  tokenSha256s?: string[];
  limits?: Partial<IngestLimits>;
  nowMs?: () => number;
} = {}): TestApp {
  const logger = silentLogger();
  const registry = createRegistry('ingest');
  const metrics = createIngestMetrics(registry);
  const usageCodec = createUsageCodec();
  const deadLetterCodec = createDeadLetterCodec();
  const intake = createIntake({
    publisher,
    usageCodec,
    deadLetterCodec,
    topics: TEST_TOPICS,
    metrics,
    logger,
    nowMs,
  });
  const app = buildApp({
    logger,
    registry,
    metrics,
    intake,
    authenticator: createAuthenticator({ tokenSha256s }),
    limits: { maxBodyBytes: 1024 * 1024, maxEventsPerRequest: 100, maxEventBytes: 16 * 1024, ...limits },
    retryAfterSeconds: 7,
    readiness: { kafka: () => publisher.ready() },
  });
  const recorded = (topic: string) =>
    'messages' in publisher
      ? (publisher as RecordingPublisher).messages.filter((m) => m.topic === topic)
      : [];
  const decode = <T>(codec: Codec<T>, bytes: Buffer): T => {
    const result = codec.decode(bytes);
    if (!result.ok) throw new Error(`published bytes do not decode: ${result.reason}`);
    return result.value;
  };
  return {
    app,
    usageCodec,
    deadLetterCodec,
    published: () => recorded(TEST_TOPICS.usage).map((m) => decode(usageCodec, m.value)),
    deadLetters: () => recorded(TEST_TOPICS.deadLetters).map((m) => decode(deadLetterCodec, m.value)),
    keys: () => recorded(TEST_TOPICS.usage).map((m) => m.key?.toString('utf8') ?? null),
  };
}
