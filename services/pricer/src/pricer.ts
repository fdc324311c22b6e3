/**
 * The pricer: usage topic → priced topic (+ dead letters), effectively once.
 *
 * How each usage message is counted exactly once (see ../README.md for the argument in full):
 * 1. One Kafka transaction per consumed batch of one partition holds the batch's priced events, its
 *    dead letters AND the consumer offset after the batch (sendOffsets). Either all of it becomes
 *    visible to read_committed consumers or none of it does; a crash at any point aborts the open
 *    transaction, and the batch is consumed again from the last committed offset.
 * 2. The transactional id is per usage partition (`<prefix>-<topic>-<partition>`), so only one
 *    producer at a time can commit offsets for a partition: whoever takes a partition over
 *    initialises that id, which fences the previous owner (a zombie after a rebalance, or a process
 *    that was killed) and completes or aborts its open transaction.
 * 3. Only AFTER fencing does the new owner read the partition's committed offset, so it never
 *    starts from an offset older than the last commit. Messages below that offset (kafkajs may have
 *    fetched from an older position) only feed the duplicate window.
 * 4. kafkajs's own offset commits are off (autoCommit false); offsets move only inside transactions.
 * 5. Any transaction failure aborts, drops the partition's producer and state, and throws: kafkajs
 *    fetches the batch again and step 2/3 run anew.
 */
import {
  type CompiledRateCard,
  type Consumer,
  createSlabPool,
  type EachBatchPayload,
  type Kafka,
  kafkaError,
  keyPartitioner,
  type Logger,
  type Producer,
} from '@tollgate/core';
import { createDedupWindow, type DedupWindow } from './dedup.ts';
import type { PricerMetrics } from './metrics.ts';
import { type BatchResult, type Codecs, type OutMessage, processMessages } from './process.ts';
import { retryRetriable } from './retry.ts';

export interface PricerTopics {
  usage: string;
  priced: string;
  deadLetters: string;
}

export interface PricerOptions {
  kafka: Kafka;
  logger: Logger;
  metrics: PricerMetrics;
  codecs: Codecs;
  topics: PricerTopics;
  groupId: string;
  /** Prefix of the per-partition transactional ids; defaults to the group id. */
  transactionalIdPrefix?: string;
  rateCard: () => CompiledRateCard;
  /** Offsets of the duplicate window per partition (see dedup.ts); 0 disables dropping duplicates. */
  dedupWindowOffsets?: number;
  maxBytesPerPartition?: number;
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  /**
   * A fetch returns once `fetchMinBytes` are ready or `maxWaitTimeMs` passed: the fetch linger. Under
   * load fetches fill at once; at a few thousand events/s the linger gathers several fetches' worth
   * into one batch per partition, and so into one transaction. Every transaction costs the broker
   * about a dozen requests and log appends whatever its size: without a linger, 5,000 events/s made
   * ~150 transactions/s across pricer and detector, and the broker took more CPU than any service.
   * `maxWaitTimeMs` also bounds how long stop() waits for the fetch in flight.
   */
  fetchMinBytes?: number;
  maxWaitTimeMs?: number;
  /** The broker aborts a transaction left open this long (a killed pricer's, at the latest). */
  transactionTimeoutMs?: number;
  /**
   * Most bytes of messages per produce request. kafkajs puts a request's messages for one partition
   * in one record batch, which the broker refuses above max.message.bytes (1 MiB by default).
   */
  maxRequestBytes?: number;
  /** A priced event larger than this is dead-lettered: the broker would refuse it (max.message.bytes). */
  maxMessageBytes?: number;
  now?: () => number;
  /** Called when the consumer stops for good (a non-retriable failure): the process should exit. */
  onFatal?: (err: unknown) => void;
}

export interface Pricer {
  start(): Promise<void>;
  /** Stops consuming (the batch in flight commits or aborts first), then closes the producers. */
  stop(): Promise<void>;
  /** True once the consumer joined its group and has not crashed since. */
  consuming(): boolean;
}

interface PartitionState {
  generation: number;
  producer: Producer;
  window: DedupWindow;
  /** The committed offset read after fencing: messages below it were handled already. */
  committedOffset: number;
}

/** Splits a batch's output into produce requests of at most `maxBytes` of keys and values each. */
export function requests(
  priced: readonly OutMessage[],
  deadLetters: readonly OutMessage[],
  maxBytes: number,
  topics: { priced: string; deadLetters: string },
): { topic: string; messages: OutMessage[] }[][] {
  const out: { topic: string; messages: OutMessage[] }[][] = [];
  let current: { topic: string; messages: OutMessage[] }[] = [];
  let bytes = 0;
  for (const [topic, messages] of [
    [topics.priced, priced],
    [topics.deadLetters, deadLetters],
  ] as const) {
    let group: OutMessage[] | undefined;
    for (const message of messages) {
      const key = message.key;
      const size = message.value.length + (key === null ? 0 : Buffer.byteLength(key)) + 64;
      if (bytes + size > maxBytes && bytes > 0) {
        out.push(current);
        current = [];
        group = undefined;
        bytes = 0;
      }
      if (group === undefined) {
        group = [];
        current.push({ topic, messages: group });
      }
      group.push(message);
      bytes += size;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** A batch's messages in runs of about `bytes` of values each (at least one message per run). */
export function* chunks<M extends { value: Buffer | null }>(
  messages: readonly M[],
  bytes: number,
): Generator<M[]> {
  let from = 0;
  let size = 0;
  for (let i = 0; i < messages.length; i++) {
    size += messages[i]!.value?.length ?? 0;
    if (size >= bytes) {
      yield messages.slice(from, i + 1);
      from = i + 1;
      size = 0;
    }
  }
  if (from < messages.length) yield messages.slice(from);
}

type Counts = BatchResult['counts'];

const emptyCounts = (): Counts => ({
  priced: 0,
  duplicates: 0,
  replayed: 0,
  unpricedLines: 0,
  deadLetters: new Map(),
});

function addCounts(into: Counts, more: Counts): void {
  into.priced += more.priced;
  into.duplicates += more.duplicates;
  into.replayed += more.replayed;
  into.unpricedLines += more.unpricedLines;
  for (const [code, n] of more.deadLetters) into.deadLetters.set(code, (into.deadLetters.get(code) ?? 0) + n);
}

export function createPricer(options: PricerOptions): Pricer {
  const {
    kafka,
    metrics,
    codecs,
    topics,
    groupId,
    rateCard,
    dedupWindowOffsets = 100_000,
    maxBytesPerPartition = 1024 * 1024,
    partitionsConsumedConcurrently = 6,
    sessionTimeoutMs = 30_000,
    fetchMinBytes = 1024 * 1024,
    maxWaitTimeMs = 200,
    transactionTimeoutMs = 30_000,
    maxRequestBytes = 256 * 1024,
    maxMessageBytes = 1_000_000,
    now = Date.now,
  } = options;
  const transactionalIdPrefix = options.transactionalIdPrefix ?? groupId;
  const logger = options.logger.child({ component: 'pricer', topic: topics.usage, groupId });
  const admin = kafka.admin();
  const states = new Map<number, PartitionState>();
  // Priced events are encoded into reused slabs, each chunk's held until it is sent (eachBatch).
  const slabs = createSlabPool();
  let consumer: Consumer | undefined;
  let generation = 0;
  let joined = false;
  let stopping = false;

  async function dropPartition(partition: number): Promise<void> {
    const state = states.get(partition);
    states.delete(partition);
    await state?.producer.disconnect().catch(() => {});
  }

  /**
   * Takes a partition over: fences earlier owners of its transactional id, then reads the committed
   * offset, which no one else can move any more. Returns where the batch must start for the
   * duplicate window to hold the previous `dedupWindowOffsets` messages.
   */
  async function takeOver(partition: number): Promise<{ state: PartitionState; startAt: number }> {
    const startedMs = now();
    await dropPartition(partition);
    const producer = kafka.producer({
      transactionalId: `${transactionalIdPrefix}-${topics.usage}-${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: transactionTimeoutMs,
      createPartitioner: keyPartitioner,
    });
    await producer.connect(); // InitProducerId: bumps the epoch, fencing every earlier producer of this id
    const [committedTopic] = await retryRetriable(() =>
      admin.fetchOffsets({ groupId, topics: [topics.usage] }),
    );
    const committed = Number(committedTopic?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
    const watermarks = await retryRetriable(() => admin.fetchTopicOffsets(topics.usage));
    const low = Number(watermarks.find((w) => w.partition === partition)?.low ?? 0);
    const committedOffset = committed >= 0 ? committed : low;
    const state: PartitionState = {
      generation,
      producer,
      window: createDedupWindow(dedupWindowOffsets),
      committedOffset,
    };
    states.set(partition, state);
    const startAt = Math.max(committedOffset - dedupWindowOffsets, low);
    logger.info(
      { partition, committedOffset, rebuildFrom: startAt, tookMs: now() - startedMs },
      'partition taken over',
    );
    return { state, startAt };
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const partition = batch.partition;
    let state = states.get(partition);
    if (state === undefined || state.generation !== generation) {
      const takeover = await takeOver(partition);
      state = takeover.state;
      if (Number(batch.firstOffset()) > takeover.startAt) {
        // Re-read the window's worth of already handled messages first (they are not re-priced).
        consumer!.seek({ topic: batch.topic, partition, offset: String(takeover.startAt) });
        return;
      }
    }
    const card = rateCard();
    const started = now();
    const lastOffset = batch.lastOffset();
    const context = {
      codecs,
      card,
      window: state.window,
      topic: batch.topic,
      partition,
      committedOffset: state.committedOffset,
      pricedAtMs: started,
      maxPricedBytes: maxMessageBytes,
      slabs,
    };
    if (Number(lastOffset) < state.committedOffset) {
      // Handled by a committed transaction already: the messages only feed the dedup window.
      slabs.release(processMessages(batch.messages, context).blocks, true);
    } else {
      // Priced and sent a chunk at a time inside the batch's transaction: only one chunk's priced
      // events are held at once (a whole 2 MiB batch priced first held ~6 MB of them per partition),
      // and other partitions' chunks are priced while this one's are sent.
      // Over once sent: kafkajs read the values into its request and retried there if it had to. A
      // chunk that fails on the way may still be held by a request: its slabs are not reused.
      const counts = emptyCounts();
      const transaction = await state.producer.transaction();
      try {
        for (const chunk of chunks(batch.messages, maxRequestBytes)) {
          const result = processMessages(chunk, context);
          addCounts(counts, result.counts);
          let sent = false;
          try {
            for (const topicMessages of requests(result.priced, result.deadLetters, maxRequestBytes, topics))
              await transaction.sendBatch({ topicMessages, acks: -1 });
            sent = true;
          } finally {
            slabs.release(result.blocks, sent);
          }
        }
        logger.debug({ partition, lastOffset, priced: counts.priced }, 'batch sent; committing');
        await transaction.sendOffsets({
          consumerGroupId: groupId,
          topics: [
            { topic: batch.topic, partitions: [{ partition, offset: String(BigInt(lastOffset) + 1n) }] },
          ],
        });
        await transaction.commit();
      } catch (err) {
        metrics.transactions.inc({ result: 'aborted' });
        await transaction.abort().catch(() => {});
        await dropPartition(partition);
        logger.warn(
          { err, partition, firstOffset: batch.firstOffset(), lastOffset },
          'batch transaction aborted',
        );
        throw kafkaError('pricer transaction', err);
      }
      metrics.transactions.inc({ result: 'committed' });
      metrics.transactionSeconds.observe((now() - started) / 1000);
      state.committedOffset = Number(lastOffset) + 1;
      metrics.events.inc({ outcome: 'priced' }, counts.priced);
      metrics.events.inc({ outcome: 'duplicate' }, counts.duplicates);
      for (const [reasonCode, count] of counts.deadLetters) {
        metrics.events.inc({ outcome: 'dead_letter' }, count);
        metrics.deadLetters.inc({ reason_code: reasonCode }, count);
      }
      metrics.unpricedLines.inc(counts.unpricedLines);
    }
    resolveOffset(lastOffset);
    metrics.lag.set({ partition: String(partition) }, Number(batch.offsetLag()));
    metrics.dedupEntries.set({ partition: String(partition) }, state.window.size());
    await heartbeat();
  }

  return {
    async start() {
      await admin.connect();
      consumer = kafka.consumer({
        groupId,
        readUncommitted: false,
        sessionTimeout: sessionTimeoutMs,
        heartbeatInterval: Math.max(1_000, Math.floor(sessionTimeoutMs / 10)),
        maxBytesPerPartition,
        minBytes: fetchMinBytes,
        maxWaitTimeInMs: maxWaitTimeMs,
        maxBytes: maxBytesPerPartition * Math.max(4, partitionsConsumedConcurrently),
      });
      // Every (re)join starts a new generation: partitions are taken over again before any batch
      // of theirs is priced, whatever happened to them while this member was not looking.
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        generation++;
        joined = true;
        logger.info({ generation, assignment: payload.memberAssignment }, 'joined the consumer group');
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        joined = false;
        if (!payload.restart && !stopping) {
          logger.fatal({ err: payload.error }, 'consumer stopped after a non-retriable failure');
          options.onFatal?.(payload.error);
        }
      });
      await consumer.connect();
      await consumer.subscribe({ topic: topics.usage, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently,
        eachBatch,
      });
    },
    async stop() {
      stopping = true;
      await consumer?.disconnect();
      joined = false;
      await Promise.all([...states.keys()].map(dropPartition));
      await admin.disconnect();
    },
    consuming: () => joined,
  };
}
