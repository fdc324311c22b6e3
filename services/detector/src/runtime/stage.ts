/**
 * An exactly-once stage, the Kafka Streams way (one task per input partition): a consumer group reads
 * the input topic; each assigned partition is a task with its own state, its own transactional
 * producer (transactional id = stage + partition, so a new owner fences a zombie) and its own
 * partition of a compacted changelog topic.
 *
 * Invariants:
 * - One transaction per batch holds everything the batch produced (alerts, repartitioned records,
 *   dead letters), the changelog records of the state it changed, the task's next input offset
 *   (changelog key OFFSET_KEY) and the consumer offset. Either all become visible or none does.
 * - On assignment a task first fences older producers of its transactional id (aborting their open
 *   transaction), then restores its state from its changelog partition, read committed. The state
 *   therefore reflects exactly the input before OFFSET_KEY; input below it is skipped, so even a
 *   consumer that fetched a stale committed offset cannot apply an event twice.
 * - A failed transaction discards the task's in-memory state (it restores again) and rethrows, so
 *   kafkajs re-fetches from the last committed offset.
 */
import {
  type Consumer,
  type EachBatchPayload,
  errorMessage,
  type Kafka,
  kafkaError,
  type Logger,
  type Message,
  type Producer,
  TollgateError,
} from '@tollgate/core';
import { readTopic } from '@tollgate/core/read-topic';
import type { DetectorMetrics } from '../metrics.ts';
import { chunk, MAX_REQUEST_BYTES } from './chunk.ts';

/** Changelog key of a task's next input offset; processor keys never start with NUL. */
export const OFFSET_KEY = '\u0000offset';

export interface InputMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  partition: number;
  topic: string;
}

export interface TaskOutput {
  messages: { topic: string; messages: Message[] }[];
  /** State changes: a null value deletes the key (tombstone). */
  changelog: { key: string; value: string | null }[];
}

export interface TaskProcessor {
  /** Applies one changelog record while restoring. */
  restore(key: string, value: string | null): void;
  /** Called once restore is complete, before the first batch. */
  restored(): void;
  /** Processes a batch in offset order; `now` is the wall clock of detection. */
  process(messages: InputMessage[], now: number): TaskOutput;
  /** Releases gauges and the like when the task is closed. */
  close(): void;
}

export interface StageOptions {
  name: string;
  kafka: Kafka;
  inputTopic: string;
  changelogTopic: string;
  groupId: string;
  transactionalIdPrefix: string;
  createProcessor(partition: number): TaskProcessor;
  logger: Logger;
  metrics: DetectorMetrics;
  partitionsConsumedConcurrently: number;
  maxBytesPerPartition: number;
  /** A fetch returns once this many bytes are ready or `fetchMaxWaitMs` passed (default: at once). */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
  restoreTimeoutMs: number;
  sessionTimeoutMs?: number;
}

export interface Stage {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Joined its group and not crashed. */
  ready(): boolean;
  /** Partitions currently assigned. */
  assignment(): number[];
  /**
   * Per partition, the offset after the last record read, transaction markers included (the
   * committed offset stops at the last data record, so it cannot tell "caught up").
   */
  positions(): Map<number, bigint>;
}

interface Task {
  partition: number;
  producer: Producer;
  processor: TaskProcessor;
  nextOffset: bigint;
}

export function createStage(options: StageOptions): Stage {
  const { name, kafka, inputTopic, changelogTopic, logger, metrics } = options;
  const log = logger.child({ component: `stage-${name}` });
  const tasks = new Map<number, Promise<Task>>();
  let assigned: number[] = [];
  const positions = new Map<number, bigint>();
  let joined = false;
  let crashed = false;
  let consumer: Consumer | undefined;

  async function openTask(partition: number): Promise<Task> {
    const started = Date.now();
    const producer = kafka.producer({
      transactionalId: `${options.transactionalIdPrefix}.${name}.${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
    });
    try {
      await producer.connect();
      // Initialises the producer id: fences any older producer of this id and aborts its open
      // transaction before the changelog is read.
      await (await producer.transaction()).abort();
      const processor = options.createProcessor(partition);
      let nextOffset = 0n;
      let records = 0;
      const reader = await readTopic({
        kafka,
        topic: changelogTopic,
        partitions: [partition],
        groupIdPrefix: `${options.groupId}.restore`,
        follow: false,
        caughtUpTimeoutMs: options.restoreTimeoutMs,
        logger: log,
        onMessage(_partition, key, value) {
          const k = key?.toString('utf8') ?? '';
          records++;
          if (k === OFFSET_KEY) nextOffset = value === null ? 0n : BigInt(value.toString('utf8'));
          else processor.restore(k, value === null ? null : value.toString('utf8'));
        },
      });
      await reader.caughtUp;
      processor.restored();
      metrics.restoreRecords.inc({ stage: name }, records);
      metrics.restoreSeconds.observe({ stage: name }, (Date.now() - started) / 1000);
      log.info(
        { partition, records, nextOffset: String(nextOffset), ms: Date.now() - started },
        'task restored',
      );
      return { partition, producer, processor, nextOffset };
    } catch (err) {
      await producer.disconnect().catch(() => {});
      throw err;
    }
  }

  function taskFor(partition: number): Promise<Task> {
    let task = tasks.get(partition);
    if (!task) {
      task = openTask(partition);
      tasks.set(partition, task);
      task.catch(() => tasks.delete(partition));
    }
    return task;
  }

  async function closeTask(partition: number): Promise<void> {
    const pending = tasks.get(partition);
    tasks.delete(partition);
    if (!pending) return;
    const task = await pending.catch(() => undefined);
    if (!task) return;
    task.processor.close();
    await task.producer
      .disconnect()
      .catch((err) => log.warn({ err, partition }, 'producer disconnect failed'));
  }

  /**
   * kafkajs retries a failed batch and then restarts the consumer only if the deepest `cause` is
   * retriable. Every failure here is worth a retry (a fenced task, a restore timeout, a broker
   * hiccup): the task restores and the batch is re-read from the committed offset. So the error is
   * logged with its cause and rethrown as a retriable one without it.
   */
  async function eachBatch(payload: EachBatchPayload) {
    try {
      await processBatch(payload);
    } catch (err) {
      log.warn({ err, partition: payload.batch.partition }, 'batch failed; it will be retried');
      throw new TollgateError(`${name} batch failed: ${errorMessage(err)}`, {
        code: 'TG_DETECTOR_BATCH_FAILED',
        retriable: true,
        details: { partition: payload.batch.partition },
      });
    }
  }

  async function processBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    if (!isRunning() || isStale()) return;
    const partition = batch.partition;
    // Restoring can take longer than a session timeout: keep the membership alive meanwhile.
    const beating = setInterval(() => void heartbeat().catch(() => {}), 1_000);
    let task: Task;
    try {
      task = await taskFor(partition);
    } finally {
      clearInterval(beating);
    }
    const messages: InputMessage[] = [];
    for (const m of batch.messages)
      if (BigInt(m.offset) >= task.nextOffset)
        messages.push({ key: m.key, value: m.value, offset: m.offset, partition, topic: batch.topic });
    if (messages.length > 0) {
      const started = performance.now();
      // Past the last record fetched, a transaction's commit marker included (a read-committed fetch
      // returns only decided records): stopping at the last message would leave every partition of a
      // transactional input one marker behind its end, and its consumer lag never 0.
      const next = BigInt(batch.lastOffset()) + 1n;
      const output = task.processor.process(messages, Date.now());
      const changelog: Message[] = output.changelog.map(({ key, value }) => ({ key, value, partition }));
      changelog.push({ key: OFFSET_KEY, value: String(next), partition });
      const processed = performance.now();
      const transaction = await task.producer.transaction();
      try {
        for (const topicMessages of chunk(
          [...output.messages, { topic: changelogTopic, messages: changelog }],
          MAX_REQUEST_BYTES,
        ))
          await transaction.sendBatch({ topicMessages });
        await transaction.sendOffsets({
          consumerGroupId: options.groupId,
          topics: [{ topic: inputTopic, partitions: [{ partition, offset: String(next) }] }],
        });
        await transaction.commit();
      } catch (err) {
        metrics.transactions.inc({ stage: name, result: 'failed' });
        await transaction.abort().catch(() => {});
        // The in-memory state is ahead of what was committed: drop it, restore on the retry.
        await closeTask(partition);
        throw kafkaError(`commit ${name} batch`, err);
      }
      task.nextOffset = next;
      const committed = performance.now();
      metrics.transactions.inc({ stage: name, result: 'committed' });
      metrics.events.inc({ stage: name }, messages.length);
      metrics.batchSeconds.observe({ stage: name }, (committed - started) / 1000);
      log.debug(
        {
          partition,
          records: messages.length,
          changelog: changelog.length,
          processMs: Math.round(processed - started),
          commitMs: Math.round(committed - processed),
        },
        'batch committed',
      );
    }
    resolveOffset(batch.lastOffset());
    await heartbeat();
  }

  return {
    async start() {
      consumer = kafka.consumer({
        groupId: options.groupId,
        readUncommitted: false,
        maxBytesPerPartition: options.maxBytesPerPartition,
        minBytes: options.fetchMinBytes ?? 1,
        maxWaitTimeInMs: options.fetchMaxWaitMs ?? 5_000,
        sessionTimeout: options.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: 3_000,
        allowAutoTopicCreation: false,
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        joined = true;
        const next = payload.memberAssignment[inputTopic] ?? [];
        const revoked = assigned.filter((p) => !next.includes(p));
        assigned = [...next].sort((a, b) => a - b);
        metrics.assignedPartitions.set({ stage: name }, assigned.length);
        log.info({ partitions: assigned, revoked }, 'partitions assigned');
        for (const partition of revoked) void closeTask(partition);
      });
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        positions.set(payload.partition, BigInt(payload.lastOffset) + 1n);
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        // A retriable failure (a coordinator still loading, say) restarts the consumer: a warning.
        log[payload.restart ? 'warn' : 'error'](
          { err: payload.error, restart: payload.restart },
          payload.restart ? 'consumer crashed; kafkajs restarts it' : 'consumer crashed',
        );
        joined = false; // not ready until it has rejoined
        if (!payload.restart) crashed = true;
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic: inputTopic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
          eachBatch,
        });
      } catch (err) {
        throw kafkaError(`start ${name} stage`, err);
      }
    },
    async stop() {
      // Stop intake first: disconnect waits for the batch in flight (and its transaction).
      await consumer?.disconnect();
      await Promise.all([...tasks.keys()].map((partition) => closeTask(partition)));
      joined = false;
    },
    ready: () => joined && !crashed,
    assignment: () => [...assigned],
    positions: () => new Map(positions),
  };
}
