/**
 * Collects rows from many Kafka batches into one insert per table, at most about one per
 * `flushIntervalMs` (sooner when `maxRows` are waiting), and commits their offsets after every table
 * insert succeeded.
 *
 * Invariants (services/sink/README.md explains why they give exactly-once):
 * - `add` resolves only after the flush that holds its rows inserted them AND committed their offsets.
 *   The caller (a kafkajs eachBatch) awaits it, so the consumer fetches nothing more meanwhile (memory
 *   is bounded by one fetch) and cannot rejoin the group while one of its inserts may still land.
 * - An insert that failed with a retriable error may have landed anyway: before retrying, the batcher
 *   waits until the server no longer runs it, asks which of its messages are stored, and retries only
 *   the others. Nothing is inserted twice and nothing is skipped.
 * - On abort (rebalance, shutdown, a non-retriable failure) every waiting `add` rejects and its rows
 *   are dropped uncommitted: Kafka redelivers them and the stored offsets filter what had landed.
 */
import { isRetriable, type Logger, TollgateError } from '@tollgate/core';
import type { SinkMetrics } from './metrics.ts';
import type { Row } from './rows.ts';
import { SINK_TABLES, type SinkTable } from './tables.ts';
import type { InsertRows, SinkWriter } from './writer.ts';

/** One message's rows for one table: a message is stored in a table entirely or not at all. */
export interface Entry {
  table: SinkTable;
  /**
   * Objects (JSONEachRow), or for line_items a block of TSV lines each ending in '\n' (tsv.ts), held as
   * bytes: off the JS heap while it waits, so the garbage collector does not trace it.
   */
  rows: Row[] | Buffer;
  /** How many rows `rows` holds. */
  count: number;
  topic: string;
  partition: number;
  offset: string;
}

function rowCount(entries: readonly Entry[]): number {
  let n = 0;
  for (const entry of entries) n += entry.count;
  return n;
}

/** The insert payload of entries of one table: TSV blocks (streamed as they are), or the objects in order. */
function payload(entries: readonly Entry[]): InsertRows {
  if (Buffer.isBuffer(entries[0]?.rows)) {
    // a few large chunks rather than one write per message
    const chunks: Buffer[] = [];
    for (let i = 0; i < entries.length; i += 1_000)
      chunks.push(Buffer.concat(entries.slice(i, i + 1_000).map((entry) => entry.rows as Buffer)));
    return { tsv: chunks };
  }
  return entries.flatMap((entry) => entry.rows as Row[]);
}

export interface Commit {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka commits it (last handled offset + 1). */
  offset: string;
}

export interface BatcherOptions {
  writer: SinkWriter;
  logger: Logger;
  metrics: SinkMetrics;
  commit(commits: Commit[]): Promise<void>;
  maxRows?: number;
  flushIntervalMs?: number;
  /** Wait this long after the first row before flushing, so one fetch's batches share an insert. */
  lingerMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** How long to wait for a timed-out insert to leave the server before reading stored offsets. */
  insertSettleTimeoutMs?: number;
}

export interface Batcher {
  /** Adds rows (possibly none) and the offsets they complete; resolves once both are durable. */
  add(entries: Entry[], commits: Commit[], heartbeat: () => Promise<void>): Promise<void>;
  /** Flushes what is buffered now, ignoring the interval. */
  flushNow(): void;
  /** Rejects every waiting `add` with `reason` and drops their rows (they are not committed). */
  abort(reason: Error): void;
  bufferedRows(): number;
  /** Resolves true once nothing is buffered or being flushed, false if `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean>;
  /** Retries an operation against ClickHouse with backoff until it succeeds or the batcher aborts. */
  withRetry<T>(what: string, operation: () => Promise<T>, heartbeat: () => Promise<void>): Promise<T>;
}

interface Pending {
  entries: Entry[];
  rows: number;
  commits: Map<string, Commit>;
  waiters: { resolve: () => void; reject: (err: Error) => void }[];
  heartbeats: (() => Promise<void>)[];
  firstAddedAt: number;
}

const emptyPending = (): Pending => ({
  entries: [],
  rows: 0,
  commits: new Map(),
  waiters: [],
  heartbeats: [],
  firstAddedAt: 0,
});

export function createBatcher({
  writer,
  logger,
  metrics,
  commit,
  maxRows = 100_000,
  flushIntervalMs = 1_000,
  lingerMs = 20,
  retryInitialMs = 200,
  retryMaxMs = 5_000,
  insertSettleTimeoutMs = 120_000,
}: BatcherOptions): Batcher {
  if (maxRows < 1) throw new TollgateError('sink: maxRows must be at least 1', { code: 'TG_CONFIG' });
  let pending = emptyPending();
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastFlushStartedAt = 0;
  /** Set by abort() (shutdown); every retry loop and flush checks it. Permanent. */
  let aborted: Error | undefined;
  let wakeUp: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    }).finally(() => {
      wakeUp = undefined;
    });

  function throwIfAborted(): void {
    if (aborted) throw aborted;
  }

  async function withRetry<T>(
    what: string,
    operation: () => Promise<T>,
    heartbeat: () => Promise<void>,
  ): Promise<T> {
    let delayMs = retryInitialMs;
    for (;;) {
      throwIfAborted();
      try {
        return await operation();
      } catch (err) {
        if (!isRetriable(err)) throw err;
        metrics.retries.inc({ operation: what });
        metrics.clickhouseUp.set(0);
        logger.warn({ err, operation: what, retryInMs: delayMs }, 'clickhouse operation failed, retrying');
      }
      // Heartbeats keep the group membership while ClickHouse is away; a rebalance surfaces here
      // as an error and aborts the flush.
      await heartbeat();
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, retryMaxMs);
    }
  }

  /** Inserts `entries` into `table` exactly once, however many attempts it takes. */
  async function insertOnce(table: SinkTable, entries: Entry[], heartbeat: () => Promise<void>) {
    let remaining = entries;
    let delayMs = retryInitialMs;
    while (remaining.length > 0) {
      throwIfAborted();
      const queryId = writer.newQueryId(table);
      const started = performance.now();
      try {
        await writer.insert(table, payload(remaining), queryId);
        metrics.insertSeconds.observe({ table }, (performance.now() - started) / 1000);
        metrics.rowsInserted.inc({ table }, rowCount(remaining));
        metrics.clickhouseUp.set(1);
        return;
      } catch (err) {
        if (!isRetriable(err)) throw err;
        metrics.retries.inc({ operation: `insert_${table}` });
        metrics.clickhouseUp.set(0);
        logger.warn(
          { err, table, rows: rowCount(remaining), queryId },
          'insert failed, checking what landed',
        );
      }
      await heartbeat();
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, retryMaxMs);
      // The failed insert may have landed (a timeout, a connection cut after the server read it):
      // wait until the server no longer runs it, then keep only the messages it did not store.
      const batch = remaining;
      const stored = await withRetry(
        `verify_${table}`,
        async () => {
          await writer.waitForInsert(queryId, { pollMs: 200, timeoutMs: insertSettleTimeoutMs });
          return storedAmong(table, batch);
        },
        heartbeat,
      );
      remaining = batch.filter((entry) => !stored.has(positionKey(entry)));
      const landed = rowCount(batch) - rowCount(remaining);
      if (landed > 0) {
        metrics.duplicatesSkipped.inc({ table }, landed);
        logger.info({ table, rows: landed, queryId }, 'failed insert had landed; not inserting it again');
      }
    }
  }

  async function storedAmong(table: SinkTable, entries: Entry[]): Promise<Set<string>> {
    const stored = new Set<string>();
    const byTopic = new Map<string, Map<number, bigint>>();
    for (const entry of entries) {
      const partitions = byTopic.get(entry.topic) ?? new Map<number, bigint>();
      byTopic.set(entry.topic, partitions);
      const offset = BigInt(entry.offset);
      const min = partitions.get(entry.partition);
      if (min === undefined || offset < min) partitions.set(entry.partition, offset);
    }
    for (const [topic, partitions] of byTopic) {
      const ranges = [...partitions].map(([partition, min]) => ({ partition, fromOffset: min.toString() }));
      const found = await writer.storedOffsets(table, topic, ranges);
      for (const [partition, offsets] of found)
        for (const offset of offsets) stored.add(`${topic}|${partition}|${offset}`);
    }
    return stored;
  }

  async function runFlush(batch: Pending): Promise<void> {
    const heartbeat = async () => {
      for (const beat of batch.heartbeats.slice(0, 1)) await beat();
    };
    const byTable = new Map<SinkTable, Entry[]>();
    for (const entry of batch.entries) {
      const list = byTable.get(entry.table) ?? [];
      list.push(entry);
      byTable.set(entry.table, list);
    }
    // The tables' inserts run side by side (a message's rows in each table are independent, and each
    // insertOnce is exactly-once by itself); the flush settles only once none of them runs any more,
    // so a failed flush never leaves one of its inserts going on behind the consumer's back.
    const results = await Promise.allSettled(
      SINK_TABLES.flatMap((table) => {
        const entries = byTable.get(table);
        return entries ? [insertOnce(table, entries, heartbeat)] : [];
      }),
    );
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    throwIfAborted();
    const commits = [...batch.commits.values()];
    if (commits.length > 0) await commit(commits);
  }

  function scheduleFlush(): void {
    if (flushing || pending.waiters.length === 0) return;
    const now = Date.now();
    const due =
      pending.rows >= maxRows
        ? now
        : Math.max(lastFlushStartedAt + flushIntervalMs, pending.firstAddedAt + lingerMs);
    if (timer) clearTimeout(timer);
    timer = setTimeout(startFlush, Math.max(0, due - now));
  }

  function startFlush(): void {
    timer = undefined;
    if (flushing || pending.waiters.length === 0) return;
    const batch = pending;
    pending = emptyPending();
    metrics.bufferedRows.set(0);
    lastFlushStartedAt = Date.now();
    flushing = runFlush(batch).then(
      () => {
        for (const waiter of batch.waiters) waiter.resolve();
      },
      (err: Error) => {
        logger.error({ err, rows: batch.rows }, 'flush failed; its offsets stay uncommitted');
        for (const waiter of batch.waiters) waiter.reject(err);
        // What is buffered behind a failed flush waits on the same broken path: fail it too, so the
        // consumer restarts from the committed offsets and resynchronises.
        abortPending(err);
      },
    );
    void flushing.finally(() => {
      flushing = undefined;
      scheduleFlush();
    });
  }

  function abortPending(reason: Error): void {
    const dropped = pending;
    pending = emptyPending();
    metrics.bufferedRows.set(0);
    for (const waiter of dropped.waiters) waiter.reject(reason);
  }

  return {
    add(entries, commits, heartbeat) {
      if (aborted) return Promise.reject(aborted);
      return new Promise<void>((resolve, reject) => {
        if (pending.waiters.length === 0) pending.firstAddedAt = Date.now();
        for (const entry of entries) {
          pending.entries.push(entry);
          pending.rows += entry.count;
        }
        for (const c of commits) pending.commits.set(`${c.topic}|${c.partition}`, c);
        pending.waiters.push({ resolve, reject });
        pending.heartbeats.push(heartbeat);
        metrics.bufferedRows.set(pending.rows);
        // Full: start the insert now, so ClickHouse works on it while the next batches decode.
        if (pending.rows >= maxRows && !flushing) startFlush();
        else scheduleFlush();
      });
    },
    flushNow() {
      lastFlushStartedAt = 0;
      pending.firstAddedAt = 0;
      scheduleFlush();
    },
    abort(reason) {
      aborted = reason;
      wakeUp?.();
      if (timer) clearTimeout(timer);
      timer = undefined;
      abortPending(reason);
    },
    bufferedRows: () => pending.rows,
    async idle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (flushing || pending.waiters.length > 0) {
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return true;
    },
    withRetry,
  };
}

function positionKey(entry: Entry): string {
  return `${entry.topic}|${entry.partition}|${entry.offset}`;
}
