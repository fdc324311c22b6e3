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
import { CompressionTypes, createKafka, type Logger } from '@tollgate/core';
import type { Transport } from './delivery.ts';
import type { OutboundMessage } from './errors.ts';
import { runKeyPartitioner } from './partitioner.ts';

export type Compression = 'none' | 'gzip';

export interface KafkaTransportOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  logger: Logger;
  compression: Compression;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}

interface KafkaJsErrorShape {
  name?: string;
  retriable?: boolean;
  originalError?: unknown;
  cause?: unknown;
}

/**
 * Retriable by kafkajs' own classification: its errors carry `retriable`; when its retries ran out
 * (KafkaJSNumberOfRetriesExceeded, itself marked non-retriable) the last underlying error decides.
 * Errors that are not kafkajs errors (a bug, a TypeError) are not retried.
 */
export function isRetriableKafkaError(err: unknown): boolean {
  let e = err as KafkaJsErrorShape | undefined;
  if (e?.name === 'KafkaJSNumberOfRetriesExceeded')
    e = (e.originalError ?? e.cause) as KafkaJsErrorShape | undefined;
  if (typeof e?.name !== 'string' || !e.name.startsWith('KafkaJS')) return false;
  return e.retriable !== false;
}

export function createKafkaTransport(options: KafkaTransportOptions): Transport {
  const kafka = createKafka({
    brokers: options.brokers,
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
