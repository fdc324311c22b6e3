/**
 * Integration-test helper: reads a topic from the beginning up to its current end offsets, so a test
 * sees every message the broker holds (duplicates included), not just the first N.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from '@tollgate/core';

export interface ConsumedMessage {
  key: string;
  value: Buffer;
  partition: number;
  offset: string;
}

export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<ConsumedMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]),
  );
  const messages: ConsumedMessage[] = [];
  if (remaining.size === 0) return messages;
  const consumer = kafka.consumer({ groupId: `sdk-test-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `read ${messages.length} messages of ${topic}; partitions left: ${[...remaining.keys()]}`,
            ),
          ),
        timeoutMs,
      );
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              messages.push({
                key: String(m.key),
                value: m.value!,
                partition: batch.partition,
                offset: m.offset,
              });
              const end = remaining.get(batch.partition);
              if (end !== undefined && Number(m.offset) + 1 >= end) remaining.delete(batch.partition);
            }
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
