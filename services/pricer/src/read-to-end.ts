/**
 * Reads a whole topic, read_committed, up to the end offsets it had when the call began. A
 * throwaway consumer group with no committed offsets does the reading (kafkajs has no manual
 * partition assignment); Kafka removes the empty group once it leaves.
 */
import { randomUUID } from 'node:crypto';
import { type Kafka, TollgateError } from '@tollgate/core';
import { retryRetriable } from './retry.ts';

export interface ReadMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ReadToEndOptions {
  kafka: Kafka;
  topic: string;
  groupIdPrefix: string;
  onMessage: (message: ReadMessage) => void;
  timeoutMs?: number;
}

/** Resolves with the number of messages read. */
export async function readToEnd({
  kafka,
  topic,
  groupIdPrefix,
  onMessage,
  timeoutMs = 120_000,
}: ReadToEndOptions): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    // With read_committed, a batch never reaches an open transaction's records; the end offsets
    // below are reached once every transaction open now has been committed or aborted.
    const offsets = await retryRetriable(() => admin.fetchTopicOffsets(topic));
    ends = new Map(
      offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]),
    );
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return 0;
  const reached = new Map<number, bigint>();
  let count = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const consumer = kafka.consumer({
    groupId: `${groupIdPrefix}-read-${randomUUID()}`,
    readUncommitted: false,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    // Progress comes from END_BATCH_PROCESS, which kafkajs also emits for batches holding only
    // transaction markers (those never reach eachBatch, and a transactional topic ends with one).
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      reached.set(payload.partition, BigInt(payload.lastOffset) + 1n);
      for (const [partition, high] of ends) if ((reached.get(partition) ?? -1n) < high) return;
      finish();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition);
        for (const message of batch.messages) {
          if (end !== undefined && BigInt(message.offset) >= end) break;
          onMessage({
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
          });
          count++;
        }
      },
    });
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new TollgateError(`${topic} not read to its end within ${timeoutMs} ms`, {
                code: 'TG_READ_TIMEOUT',
                retriable: true,
                details: { ends: Object.fromEntries(ends), reached: Object.fromEntries(reached) },
              }),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return count;
}
