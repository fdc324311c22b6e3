/**
 * Reads partitions of a topic from the beginning until it has seen everything that was there when it
 * started (the policy topic at startup, a changelog partition on assignment), and optionally follows it. kafkajs has no manual
 * assignment, so this is a consumer in a group of its own that never commits; partitions it was not
 * asked for are paused once it has joined, before it fetches (and on their first batch, should one
 * come anyway).
 *
 * "Caught up" is decided by offsets, never by a quiet period: each partition's last offset at start
 * (the high watermark − 1, which may be a transaction marker) must have been passed. kafkajs reports
 * batches that only hold markers through END_BATCH_PROCESS without calling eachBatch, so progress is
 * tracked on that event.
 */
import { randomUUID } from 'node:crypto';
import { TollgateError } from './errors.ts';
import { type Consumer, type Kafka, kafkaError } from './kafka.ts';
import type { Logger } from './logger.ts';

export interface ReadTopicOptions {
  kafka: Kafka;
  topic: string;
  /** Only these partitions (default: all). */
  partitions?: number[];
  /** A prefix for the throwaway group id. */
  groupIdPrefix: string;
  onMessage(partition: number, key: Buffer | null, value: Buffer | null, offset: string): void;
  /** Keep consuming after catching up (true) or disconnect (false). */
  follow: boolean;
  caughtUpTimeoutMs: number;
  logger: Logger;
}

export interface TopicReader {
  /** Resolves once caught up to the end offsets of when it started. */
  caughtUp: Promise<void>;
  stop(): Promise<void>;
}

export async function readTopic(options: ReadTopicOptions): Promise<TopicReader> {
  const { kafka, topic, follow, logger } = options;
  const admin = kafka.admin();
  let ends: { partition: number; high: string; low: string }[];
  try {
    await admin.connect();
    ends = await admin.fetchTopicOffsets(topic);
  } catch (err) {
    throw kafkaError(`fetch offsets of ${topic}`, err);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const wanted = new Set(options.partitions ?? ends.map((end) => end.partition));
  const pending = new Map<number, bigint>();
  for (const end of ends)
    if (wanted.has(end.partition) && BigInt(end.high) > BigInt(end.low))
      pending.set(end.partition, BigInt(end.high) - 1n);
  if (pending.size === 0 && !follow) return { caughtUp: Promise.resolve(), stop: async () => {} };

  let resolveCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => {
    resolveCaughtUp = resolve;
  });
  if (pending.size === 0) resolveCaughtUp();
  const consumer: Consumer = kafka.consumer({
    groupId: `${options.groupIdPrefix}.${randomUUID()}`,
    readUncommitted: false,
    // A record larger than this still comes whole. 8 MiB held more in flight, not less time: the
    // restore benchmark's peak 312–326 MiB at 8, 263–278 at 1, 1.2–1.9 s either way.
    maxBytesPerPartition: 1024 * 1024,
    allowAutoTopicCreation: false,
  });
  // Paused as soon as the group is joined, before the first fetch: a fetch of every partition only to
  // drop all but one made a detector restoring six changelog partitions at once read each of them six
  // times (`npm run bench -- restore`, 110,000 runs: peak RSS 395–428 MiB; paused here, 312–326).
  const unwanted = ends.map((end) => end.partition).filter((partition) => !wanted.has(partition));
  if (unwanted.length > 0)
    consumer.on(consumer.events.GROUP_JOIN, () => consumer.pause([{ topic, partitions: unwanted }]));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const target = pending.get(payload.partition);
    if (target !== undefined && BigInt(payload.lastOffset) >= target) {
      pending.delete(payload.partition);
      if (pending.size === 0) resolveCaughtUp();
    }
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, pause }) => {
        if (!wanted.has(batch.partition)) {
          pause();
          return;
        }
        for (const message of batch.messages)
          options.onMessage(batch.partition, message.key, message.value, message.offset);
      },
    });
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    throw kafkaError(`read ${topic}`, err);
  }
  const stop = () => consumer.disconnect();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new TollgateError(`reading ${topic} did not catch up within ${options.caughtUpTimeoutMs} ms`, {
          code: 'TG_KAFKA_CATCH_UP_TIMEOUT',
          retriable: true,
          details: { topic, pending: [...pending.keys()] },
        }),
      );
    }, options.caughtUpTimeoutMs);
  });
  const done = Promise.race([caughtUp, timeout])
    .finally(() => clearTimeout(timer))
    .then(async () => {
      logger.debug({ topic, partitions: [...wanted] }, 'caught up');
      if (!follow) await stop();
    })
    .catch(async (err) => {
      await stop().catch(() => {});
      throw err;
    });
  return { caughtUp: done, stop };
}
