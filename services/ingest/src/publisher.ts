/**
 * Where accepted events and dead letters go: Kafka, through an idempotent producer with acks from all
 * in-sync replicas. `publish` resolves only once the broker acknowledged every message, so the HTTP
 * answer that follows it means "durable".
 *
 * Invariants:
 * - Messages are sent in the order given, in chunks of at most `batchBytes` encoded bytes, one chunk
 *   at a time: events of one run keep their order on their partition, and no produce request
 *   outgrows the broker's message.max.bytes however many events share one run_id.
 * - Partitioning is Kafka's Java default (murmur2 of the key): a run's events land on the same
 *   partition whether the SDK, a Java client or this service wrote them.
 * - A failure or a passed deadline rejects with TG_INGEST_KAFKA_UNAVAILABLE (retriable). Some chunks
 *   may already be written then; the client resends the same events and downstream stages drop the
 *   duplicates by event_id. The idempotent producer only prevents duplicates from its own retries.
 */
import { type Kafka, keyPartitioner, type Logger, type TollgateError } from '@tollgate/core';
import { ingestError } from './errors.ts';

export interface OutgoingMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer;
}

export interface Publisher {
  publish(messages: OutgoingMessage[]): Promise<void>;
  /** Whether a broker answers and knows every topic this service writes (for /readyz); never throws. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

export interface KafkaPublisherOptions {
  kafka: Kafka;
  logger: Logger;
  /** Deadline of one publish call, all chunks included. */
  publishTimeoutMs: number;
  batchBytes: number;
  /** The topics `publish` writes to; readiness requires the broker to know them (a typo is not "ready"). */
  topics: string[];
  /** Deadline of the readiness probe. */
  readyTimeoutMs?: number;
}

/** Kafka's Java default partitioner (murmur2 of the key, modulo the partition count). */
export const runKeyPartitioner = keyPartitioner;

/** Splits messages into consecutive runs whose values total at most `maxBytes` (one oversized message stands alone). */
export function chunkBySize(messages: OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = message.value.length + (message.key?.length ?? 0);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Messages grouped by topic, each group in the order given (what sendBatch takes). */
function byTopic(
  chunk: OutgoingMessage[],
): { topic: string; messages: { key: Buffer | null; value: Buffer }[] }[] {
  const groups = new Map<string, { key: Buffer | null; value: Buffer }[]>();
  for (const { topic, key, value } of chunk) {
    const group = groups.get(topic);
    if (group === undefined) groups.set(topic, [{ key, value }]);
    else group.push({ key, value });
  }
  return [...groups].map(([topic, messages]) => ({ topic, messages }));
}

function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  // The losing promise must not become an unhandled rejection.
  work.catch(() => {});
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export function createKafkaPublisher({
  kafka,
  logger,
  publishTimeoutMs,
  batchBytes,
  topics,
  readyTimeoutMs = 2_000,
}: KafkaPublisherOptions): Publisher {
  const log = logger.child({ component: 'publisher' });
  const producer = kafka.producer({
    idempotent: true,
    // kafkajs' idempotence needs one request in flight per broker (KIP-98 ordering).
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: runKeyPartitioner,
    // Bounded, so a down broker becomes a 503 instead of a hung request (kafkajs warns at connect).
    retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 },
  });
  const admin = kafka.admin();
  let producerConnected: Promise<void> | undefined;
  let adminConnected: Promise<void> | undefined;
  let closed = false;

  function connectProducer(): Promise<void> {
    producerConnected ??= producer.connect().catch((err: unknown) => {
      producerConnected = undefined;
      throw err;
    });
    return producerConnected;
  }

  function connectAdmin(): Promise<void> {
    adminConnected ??= admin.connect().catch((err: unknown) => {
      adminConnected = undefined;
      throw err;
    });
    return adminConnected;
  }

  async function sendAll(messages: OutgoingMessage[]): Promise<void> {
    await connectProducer();
    for (const chunk of chunkBySize(messages, batchBytes)) {
      await producer.sendBatch({ topicMessages: byTopic(chunk), acks: -1, timeout: publishTimeoutMs });
    }
  }

  return {
    async publish(messages) {
      if (messages.length === 0) return;
      if (closed) throw ingestError('TG_INGEST_SHUTTING_DOWN', 'the ingest service is shutting down');
      try {
        await withDeadline(sendAll(messages), publishTimeoutMs, () =>
          ingestError(
            'TG_INGEST_KAFKA_UNAVAILABLE',
            `Kafka did not acknowledge within ${publishTimeoutMs} ms`,
          ),
        );
      } catch (err) {
        if ((err as TollgateError).code === 'TG_INGEST_KAFKA_UNAVAILABLE') {
          log.error({ messages: messages.length, timeoutMs: publishTimeoutMs }, 'publish deadline passed');
          throw err;
        }
        log.error({ err, messages: messages.length }, 'publish failed');
        throw ingestError('TG_INGEST_KAFKA_UNAVAILABLE', 'Kafka did not acknowledge the events', {
          cause: err,
        });
      }
    },

    async ready() {
      if (closed) return false;
      try {
        await withDeadline(
          (async () => {
            await connectAdmin();
            await admin.fetchTopicMetadata({ topics });
            await connectProducer();
          })(),
          readyTimeoutMs,
          () => new Error('readiness probe timed out'),
        );
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      closed = true;
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}
