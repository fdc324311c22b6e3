/**
 * The sink: priced events, alerts and dead letters from Kafka into ClickHouse, exactly once.
 *
 * How a message is counted once (the why is in ../README.md):
 * 1. Offsets are committed only after every row of the message is in ClickHouse (batcher.ts).
 * 2. When a partition is (re)assigned, or its next batch does not start where the last one ended, the
 *    sink first waits until the sink inserts running on the server (any process's) have ended, then
 *    reads which messages at or after the batch's first offset each table already holds, and skips
 *    those rows.
 *    A crash between insert and commit therefore never stores a message twice.
 * 3. A batch's eachBatch call returns once its rows are admitted to the batcher, so the consumer
 *    fetches on while they wait for the next flush (memory stays bounded: the batcher holds the consumer
 *    while a flush's worth of rows already waits). When the group rebalances, the batcher drops what
 *    waits and starts no further insert (REBALANCING, before kafkajs rejoins), and the partition's next
 *    owner waits for the inserts still running (2.) before it reads what is stored.
 * 4. A flush that fails for good makes the consumer seek back to the first offset not known to be
 *    stored; rows fetched before that are refused (epochs), and the partitions resynchronise (2.).
 */
import {
  type Codec,
  createAlertCodec,
  createDeadLetter,
  createDeadLetterCodec,
  createPricedCodec,
  createSlabPool,
  deadLetterMessage,
  type EachBatchPayload,
  formatDateTime,
  type Kafka,
  type Logger,
  TollgateError,
} from '@tollgate/core';
import type { DeadLetter } from '@tollgate/core/contract/types';
import { type Batcher, createBatcher, type Entry, STALE_EPOCH } from './batcher.ts';
import type { SinkMetrics } from './metrics.ts';
import {
  alertRow,
  checkAlert,
  checkPricedEvent,
  deadLetterRow,
  runEventRow,
  type SourcePosition,
  undecodableDeadLetterRow,
} from './rows.ts';
import type { SinkTable } from './tables.ts';
import { createLineItemTranscoder } from './transcode.ts';
import { lineItemTsv } from './tsv.ts';
import type { SinkWriter } from './writer.ts';

export interface SinkTopics {
  priced: string;
  alerts: string;
  deadLetters: string;
}

export interface SinkOptions {
  kafka: Kafka;
  writer: SinkWriter;
  logger: Logger;
  metrics: SinkMetrics;
  topics: SinkTopics;
  groupId: string;
  maxRows?: number;
  flushIntervalMs?: number;
  /** How long run_events, alerts and dead_letters rows may wait for an insert (batcher.ts). */
  smallTablesIntervalMs?: number;
  /** Only flushes of at least this many line items leave the small tables for later (batcher.ts). */
  smallTablesDeferRows?: number;
  /** Upper bound on one fetch (all partitions): what one round of batches adds to the buffered rows. */
  fetchMaxBytes?: number;
  fetchMaxBytesPerPartition?: number;
  retryMaxMs?: number;
  sessionTimeoutMs?: number;
}

export interface Sink {
  start(): Promise<void>;
  /** Stops fetching, flushes and commits what is buffered (within `deadlineMs`), leaves the group. */
  stop(deadlineMs: number): Promise<void>;
  /** True once the consumer joined its group and has not crashed since. */
  consuming(): boolean;
  batcher: Batcher;
}

/** A consumed message as kafkajs hands it over (key and value are Buffers or null). */
type Message = EachBatchPayload['batch']['messages'][number];

type Handled = { entries: Entry[]; letter?: DeadLetter };

export function createSink(options: SinkOptions): Sink {
  const { kafka, writer, metrics, topics, groupId } = options;
  const logger = options.logger.child({ component: 'sink' });
  const priced = createPricedCodec();
  // Priced events straight from bytes to line_items TSV; what it declines takes the decoding path below.
  const transcoder = createLineItemTranscoder();
  const alerts = createAlertCodec();
  const deadLetters: Codec<DeadLetter> = createDeadLetterCodec();
  const consumer = kafka.consumer({
    groupId,
    // Fetching goes on while a flush runs, so a fetch need not be large to keep ClickHouse busy; it
    // bounds what one round of batches adds to memory (about 4× its size once encoded as rows).
    maxBytes: options.fetchMaxBytes ?? 4 * 1024 * 1024,
    maxBytesPerPartition: options.fetchMaxBytesPerPartition ?? 1024 * 1024,
    maxWaitTimeInMs: 500,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3_000,
  });
  // Idempotent: a dead letter whose produce is retried is written once.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const slabs = createSlabPool();
  const batcher = createBatcher({
    slabs,
    writer,
    logger,
    metrics,
    maxRows: options.maxRows,
    flushIntervalMs: options.flushIntervalMs,
    smallTablesIntervalMs: options.smallTablesIntervalMs,
    smallTablesDeferRows: options.smallTablesDeferRows,
    retryMaxMs: options.retryMaxMs,
    commit: (commits) =>
      consumer.commitOffsets(commits.map(({ topic, partition, offset }) => ({ topic, partition, offset }))),
    onFailure: (rewinds) => {
      // Nothing after these offsets is known to be stored: read it again, resynchronising first.
      expected.clear();
      stored.clear();
      for (const rewind of rewinds) consumer.seek(rewind);
    },
  });
  const tablesOf: Record<string, SinkTable[]> = {
    [topics.priced]: ['line_items', 'run_events'],
    [topics.alerts]: ['alerts'],
    [topics.deadLetters]: ['dead_letters'],
  };
  /** Next offset expected per `topic|partition`; a batch starting elsewhere triggers a resync. */
  const expected = new Map<string, string>();
  /** Per `topic|partition`: offsets each table already holds, from the last resync. */
  const stored = new Map<string, Map<SinkTable, Set<string>>>();
  let joined = false;
  let crashed = false;
  let started = false;

  // A rebalance may hand our partitions to another member: from its start, no insert of ours may begin
  // and nothing waiting may be committed (the flush in flight finishes; the next owner waits for it).
  consumer.on(consumer.events.REBALANCING, () => batcher.revoke());
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // A new generation: positions come from the committed offsets again, so resynchronise. (Also
    // revoke here: kafkajs rejoins without a REBALANCING event when the coordinator forgot the member.)
    batcher.revoke();
    expected.clear();
    stored.clear();
    joined = true;
    crashed = false;
    logger.info({ memberAssignment: payload.memberAssignment }, 'joined consumer group');
  });
  // A batch of nothing but control records (a commit marker fetched on its own) never reaches
  // eachBatch; kafkajs moves past it, and so does the next offset expected, when it follows on.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize !== 0) return;
    const key = `${payload.topic}|${payload.partition}`;
    if (expected.get(key) === payload.firstOffset)
      expected.set(key, (BigInt(payload.lastOffset) + 1n).toString());
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    crashed = true;
    // A retriable failure (a coordinator still loading, say) restarts the consumer: a warning.
    logger[payload.restart ? 'warn' : 'error'](
      { err: payload.error, restart: payload.restart },
      payload.restart ? 'consumer crashed; kafkajs restarts it' : 'consumer crashed',
    );
  });

  function deadLetter(source: SourcePosition, message: Message, code: string, reason: string): DeadLetter {
    metrics.deadLettered.inc({ topic: source.topic, reason_code: code });
    logger.warn({ ...source, reasonCode: code, reason }, 'message dead-lettered');
    return createDeadLetter({
      stage: 'sink',
      reasonCode: code,
      reason,
      source: { ...source, key: message.key ?? null, value: message.value ?? null },
    });
  }

  function handle(source: SourcePosition, message: Message, insertedAt: string): Handled {
    const value = message.value;
    if (source.topic === topics.deadLetters) {
      const decoded = value ? deadLetters.decode(value) : undefined;
      if (decoded?.ok)
        return { entries: [entry('dead_letters', [deadLetterRow(decoded.value, source)], 1, source)] };
      const [code, reason] = decoded
        ? [decoded.code, decoded.reason]
        : ['empty_value', 'message has no value'];
      metrics.deadLettered.inc({ topic: source.topic, reason_code: code });
      const row = undecodableDeadLetterRow(message, source, code, reason);
      return { entries: [entry('dead_letters', [row], 1, source)] };
    }
    if (!value)
      return { entries: [], letter: deadLetter(source, message, 'empty_value', 'message has no value') };
    if (source.topic === topics.priced) {
      if (transcoder) {
        const lines = transcoder.transcode(value, source, insertedAt);
        if (lines === 0) return { entries: [] };
        if (lines > 0) {
          const block = slabs.allocate(transcoder.output.length);
          transcoder.output.copy(slabs.view(block));
          return { entries: [entry('line_items', block, lines, source)] };
        }
      }
      metrics.pricedDecoded.inc();
      const decoded = priced.decode(value);
      if (!decoded.ok)
        return { entries: [], letter: deadLetter(source, message, decoded.code, decoded.reason) };
      const check = checkPricedEvent(decoded.value);
      if (!check.ok)
        return {
          entries: [],
          letter: deadLetter(source, message, 'invalid_priced_event', `${check.field}: ${check.rule}`),
        };
      const entries: Entry[] = [];
      const lines = decoded.value.line_items.length;
      if (lines > 0)
        entries.push(
          entry('line_items', slabs.write(lineItemTsv(decoded.value, source, insertedAt)), lines, source),
        );
      const run = runEventRow(decoded.value, source, insertedAt);
      if (run) entries.push(entry('run_events', [run], 1, source));
      return { entries };
    }
    const decoded = alerts.decode(value);
    if (!decoded.ok)
      return { entries: [], letter: deadLetter(source, message, decoded.code, decoded.reason) };
    const check = checkAlert(decoded.value);
    if (!check.ok)
      return {
        entries: [],
        letter: deadLetter(source, message, 'invalid_alert', `${check.field}: ${check.rule}`),
      };
    return { entries: [entry('alerts', [alertRow(decoded.value, source, insertedAt)], 1, source)] };
  }

  async function resync(
    topic: string,
    partition: number,
    fromOffset: string,
    heartbeat: () => Promise<void>,
  ) {
    const found = await batcher.withRetry(
      'resync',
      async () => {
        await writer.waitForRunningInserts({ pollMs: 200, timeoutMs: 120_000 });
        const result = new Map<SinkTable, Set<string>>();
        for (const table of tablesOf[topic] ?? []) {
          const offsets = await writer.storedOffsets(table, topic, [{ partition, fromOffset }]);
          result.set(table, offsets.get(partition) ?? new Set());
        }
        return result;
      },
      heartbeat,
    );
    metrics.resyncs.inc({ topic });
    const count = [...found.values()].reduce((n, set) => n + set.size, 0);
    logger.info({ topic, partition, fromOffset, storedMessages: count }, 'partition resynchronised');
    return found;
  }

  async function eachBatch({ batch, heartbeat, resolveOffset, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = batch;
    const first = messages[0];
    const last = messages.at(-1);
    if (!first || !last) return;
    // Rows read before a rebalance or a failed flush are refused by the batcher: capture the epoch
    // before anything else, so a resync and the rows it filters belong to the same epoch.
    const epoch = batcher.epoch();
    const key = `${topic}|${partition}`;
    // kafkajs hands every batch of a fetch over in one go; yielding first lets a running insert send
    // its body while this batch decodes, so Node and ClickHouse work at the same time.
    await new Promise((resolve) => setImmediate(resolve));
    if (isStale()) return; // sought back after a failed flush: this batch is read again
    try {
      // Contiguity is judged on the raw offsets, control records included: a transactional producer's
      // commit marker takes an offset between two batches' messages, and judged on the messages alone
      // every batch after a transaction looked like a jump and paid for a resync.
      if (expected.get(key) !== batch.firstOffset())
        stored.set(key, await resync(topic, partition, first.offset, heartbeat));
      const already = stored.get(key);
      const insertedAt = formatDateTime(new Date());
      const entries: Entry[] = [];
      const letters: DeadLetter[] = [];
      for (const message of messages) {
        const source = { topic, partition, offset: message.offset };
        const handled = handle(source, message, insertedAt);
        if (handled.letter) letters.push(handled.letter);
        for (const e of handled.entries) {
          if (already?.get(e.table)?.has(e.offset)) {
            metrics.duplicatesSkipped.inc({ table: e.table }, e.count);
            if (!Array.isArray(e.rows)) slabs.release([e.rows], true);
          } else entries.push(e);
        }
      }
      if (letters.length > 0) {
        // Acknowledged by every in-sync replica before the offset can be committed: never dropped.
        await producer.send({
          topic: topics.deadLetters,
          acks: -1,
          messages: letters.map((letter) => deadLetterMessage(deadLetters, letter)),
        });
      }
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      // Admitted, not yet stored: the batcher commits the offset once the rows are in ClickHouse, and
      // kafkajs fetches on meanwhile. Broker timestamps are append times (LogAppendTime): the first
      // message of a batch is its oldest.
      await batcher.add(entries, [{ topic, partition, offset: next, from: first.offset }], {
        epoch,
        heartbeat,
        oldestMessageMs: Number(first.timestamp),
      });
      resolveOffset(last.offset);
      metrics.messages.inc({ topic }, messages.length);
      expected.set(key, next);
      if (already && [...already.values()].every((set) => [...set].every((o) => BigInt(o) < BigInt(next))))
        stored.delete(key);
    } catch (err) {
      // Refused as stale: the batcher dropped this epoch's rows; the partition is read again (a seek
      // after a failed flush, or committed offsets after a rebalance), resynchronising first.
      if (err instanceof TollgateError && err.code === STALE_EPOCH) return;
      // Some tables may hold rows of uncommitted messages now: resynchronise every partition.
      expected.clear();
      stored.clear();
      // kafkajs' own errors (a rebalance noticed by a heartbeat) go back as they are: it acts on them.
      if (err instanceof Error && err.name.startsWith('KafkaJS')) throw err;
      // Anything else is retriable for kafkajs whatever the cause (a missing table, a schema out of
      // date): it retries the batch with backoff and then restarts the consumer, so the sink keeps
      // trying, loudly, until ClickHouse is fixed, instead of leaving its partitions unconsumed.
      throw new TollgateError('sink: batch failed; it is read again', {
        code: 'TG_SINK_BATCH_FAILED',
        retriable: true,
        cause: err,
      });
    }
  }

  return {
    batcher,
    async start() {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({
        topics: [topics.priced, topics.alerts, topics.deadLetters],
        fromBeginning: true,
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Every partition's batch of one fetch is handled at once: they share the next insert.
        partitionsConsumedConcurrently: 64,
        eachBatch,
      });
      started = true;
    },
    async stop(deadlineMs) {
      if (!started) {
        await consumer.disconnect();
        await producer.disconnect();
        return;
      }
      const deadline = Date.now() + deadlineMs;
      try {
        consumer.pause([{ topic: topics.priced }, { topic: topics.alerts }, { topic: topics.deadLetters }]);
      } catch (err) {
        logger.debug({ err }, 'nothing to pause (the consumer is between a crash and its restart)');
      }
      batcher.flushNow();
      const drained = await batcher.idle(Math.max(0, deadline - Date.now()));
      if (!drained) {
        logger.warn(
          { bufferedRows: batcher.bufferedRows() },
          'flush did not finish before the deadline; rows stay uncommitted',
        );
        batcher.abort(new TollgateError('sink: stopping', { code: 'TG_SINK_STOPPING' }));
      }
      logger.debug({ drained }, 'sink drained; leaving the consumer group');
      await consumer.disconnect();
      await producer.disconnect();
      logger.debug('sink stopped');
    },
    consuming: () => joined && !crashed,
  };
}

function entry(table: SinkTable, rows: Entry['rows'], count: number, source: SourcePosition): Entry {
  return { table, rows, count, topic: source.topic, partition: source.partition, offset: source.offset };
}
