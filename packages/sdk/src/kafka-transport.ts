/**
 * Delivery to Kafka through the core adapter: an idempotent kafkajs producer (acks from all in-sync
 * replicas, one request in flight per broker, as KIP-98 requires for kafkajs' idempotence), keyed by
 * run id with Java-compatible partitioning.
 *
 * kafkajs retries each request a few times itself; past that, `send` rejects and the delivery loop
 * retries the same batch with backoff. kafkajs rolls its sequence numbers back when a request fails,
 * so the re-sent batch carries the sequence numbers it had and the broker discards it if the first
 * attempt was in fact written. Unbounded kafkajs retries would do the same but could not be stopped
 * at a close() deadline (kafkajs logs a warning about limited retries at connect: expected).
 */
import { CompressionTypes, createKafka } from '@tollgate/core/kafka';
import type { KafkaConnection } from '@tollgate/core/kafka-connection';
import type { Logger } from '@tollgate/core/logger';
import type { Transport } from './delivery.ts';
import type { OutboundMessage } from './errors.ts';
import { runKeyPartitioner } from './partitioner.ts';

export type Compression = 'none' | 'gzip';

export interface KafkaTransportOptions extends KafkaConnection {
  clientId: string;
  topic: string;
  logger: Logger;
  compression: Compression;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}

interface KafkaJsErrorShape {
  name?: string;
  type?: string;
  message?: string;
  retriable?: boolean;
  originalError?: unknown;
  cause?: unknown;
}

/** kafkajs' wrappers: their own `retriable` is false by construction, the error inside decides. */
const WRAPPERS: ReadonlySet<string> = new Set(['KafkaJSNonRetriableError', 'KafkaJSNumberOfRetriesExceeded']);

/**
 * The error under kafkajs' retry wrappers. When a retry loop gives up it wraps the last error in
 * KafkaJSNumberOfRetriesExceeded, and an outer retry loop wraps that in KafkaJSNonRetriableError:
 * a refused connection to a stopped broker arrives as NonRetriable(NumberOfRetriesExceeded(
 * ConnectionError)). Only the innermost error says what happened.
 */
export function rootKafkaError(err: unknown): KafkaJsErrorShape | undefined {
  let e = err as KafkaJsErrorShape | undefined;
  for (let depth = 0; depth < 8 && e?.name !== undefined && WRAPPERS.has(e.name); depth++) {
    const inner = (e.originalError ?? e.cause) as KafkaJsErrorShape | undefined;
    if (inner === undefined || inner === null || inner === e) break;
    e = inner;
  }
  return e;
}

/**
 * Retriable by kafkajs' own classification of the underlying error (its `retriable` flag, set from
 * the broker's error code for protocol errors). Errors that are not kafkajs errors (a bug, a
 * TypeError) are not retried.
 */
export function isRetriableKafkaError(err: unknown): boolean {
  const e = rootKafkaError(err);
  if (typeof e?.name !== 'string' || !e.name.startsWith('KafkaJS')) return false;
  return e.retriable !== false;
}

/** What a failure looks like across the thread boundary: the underlying error, classified. */
export function describeKafkaError(err: unknown): {
  name: string;
  message: string;
  kafkaType: string | undefined;
  retriable: boolean;
} {
  const e = rootKafkaError(err) ?? (err as KafkaJsErrorShape | undefined);
  return {
    name: e?.name ?? 'Error',
    message: e?.message ?? String(err),
    kafkaType: e?.type,
    retriable: isRetriableKafkaError(err),
  };
}

export function createKafkaTransport(options: KafkaTransportOptions): Transport {
  const kafka = createKafka({
    brokers: options.brokers,
    ssl: options.ssl,
    sasl: options.sasl,
    clientId: options.clientId,
    logger: options.logger,
    connectionTimeoutMs: options.connectionTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs,
    retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 },
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: runKeyPartitioner,
    retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 },
  });
  const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  let connected: Promise<void> | undefined;

  return {
    async send(messages: OutboundMessage[]) {
      connected ??= producer.connect().catch((err: unknown) => {
        connected = undefined;
        throw err;
      });
      await connected;
      await producer.send({ topic: options.topic, messages, acks: -1, compression });
    },
    isRetriable: isRetriableKafkaError,
    async close() {
      await producer.disconnect();
    },
  };
}
