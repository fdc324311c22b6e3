/**
 * Collects rows from many Kafka batches into one insert per table, at most about one per
 * `flushIntervalMs` (sooner when `maxRows` are waiting), and commits their offsets after every table
 * insert of the flush succeeded.
 *
 * Under load the small tables (run_events, alerts, dead_letters: a few rows per flush) are inserted at
 * most once per `smallTablesIntervalMs`: each insert costs ClickHouse 18.16 27–46 ms of CPU however few
 * its rows (services/sink/README.md). A flush in between that holds at least `smallTablesDeferRows`
 * line items inserts only those and carries its small rows and all its offsets over to the next flush,
 * so nothing is committed before every row it covers is stored. A smaller flush (light traffic, the
 * end of a burst) inserts every table: there the insert costs little and its rows are not kept waiting.
 *
 * The consumer keeps fetching while rows wait for the next flush and while a flush runs: `add` resolves
 * once its rows are buffered (admitted), not once they are stored. Without that, kafkajs fetches
 * nothing while a batch is being handled, and a message arriving just after a fetch waits two flush
 * intervals instead of one.
 *
 * Invariants (services/sink/README.md explains why they give exactly-once):
 * - Offsets are committed only after every row of the messages they cover is stored, one flush at a
 *   time, so commits per partition only move forward.
 * - Memory is bounded: `add` waits while `maxRows` rows are already waiting behind the flush in flight
 *   (so at most about two flushes' worth of rows, plus one fetch, are held).
 * - An insert that failed with a retriable error may have landed anyway: before retrying, the batcher
 *   waits until the server no longer runs it, asks which of its messages are stored, and retries only
 *   the others. Nothing is inserted twice and nothing is skipped.
 * - `revoke()` (the group rebalances) drops the waiting rows and stops the flush in flight from
 *   starting another insert or committing: whoever owns a partition next reads what is stored, after
 *   waiting for the inserts still running (sink.ts, resync). A bumped epoch refuses rows fetched before.
 * - A flush that fails for good drops the waiting rows too, bumps the epoch and reports, per partition,
 *   the first offset not stored for sure (`onFailure`): the consumer seeks back there.
 */
import {
  createSlabPool,
  isRetriable,
  type Logger,
  type SlabBlock,
  type SlabPool,
  TollgateError,
} from '@tollgate/core';
import type { SinkMetrics } from './metrics.ts';
import type { Row } from './rows.ts';
import { SINK_TABLES, type SinkTable } from './tables.ts';
import type { InsertRows, SinkWriter } from './writer.ts';

/** One message's rows for one table: a message is stored in a table entirely or not at all. */
export interface Entry {
  table: SinkTable;
  /**
   * Objects (JSONEachRow), or for line_items a block of TSV lines each ending in '\n' (tsv.ts), held as
   * bytes in the batcher's slabs (core's slabs.ts).
   */
  rows: Row[] | SlabBlock;
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

const tsvBlocks = (entries: readonly Entry[]): SlabBlock[] =>
  entries.flatMap((entry) => (Array.isArray(entry.rows) ? [] : [entry.rows]));

/**
 * The insert payload of entries of one table: TSV blocks (streamed as the slabs' contiguous runs,
 * nothing copied), or the objects in order.
 */
function payload(entries: readonly Entry[], slabs: SlabPool): InsertRows {
  const first = entries[0]?.rows;
  if (first !== undefined && !Array.isArray(first)) return { tsv: slabs.chunks(tsvBlocks(entries)) };
  return entries.flatMap((entry) => entry.rows as Row[]);
}

export interface Commit {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka commits it (last handled offset + 1). */
  offset: string;
  /** The first offset of the messages this commit covers: where to seek back if they were not stored. */
  from: string;
}

export interface BatcherOptions {
  writer: SinkWriter;
  logger: Logger;
  metrics: SinkMetrics;
  commit(commits: Commit[]): Promise<void>;
  /**
   * A flush failed for good: the rows of these positions onwards may not be stored. The caller must
   * read the partitions again from there (the batcher refuses rows of the old epoch meanwhile).
   */
  onFailure?(rewinds: { topic: string; partition: number; offset: string }[], err: Error): void;
  maxRows?: number;
  flushIntervalMs?: number;
  /**
   * The small tables' rows wait at most this long for an insert of their own (0: every flush inserts
   * them); the offsets of the flushes in between are committed with them.
   */
  smallTablesIntervalMs?: number;
  /** Only a flush of at least this many line_items rows leaves the small tables for later. */
  smallTablesDeferRows?: number;
  /** Wait this long after the first row before flushing, so one fetch's batches share an insert. */
  lingerMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** How long to wait for a timed-out insert to leave the server before reading stored offsets. */
  insertSettleTimeoutMs?: number;
  /** Where the entries' TSV blocks were written (`tsv`); released here once stored or dropped. */
  slabs?: SlabPool;
}

export interface Batcher {
  /**
   * Adds rows (possibly none) and the offsets they complete. Resolves once they are admitted to the
   * buffer (at once, unless `maxRows` rows already wait: then when the flush ahead of them starts);
   * they are stored and committed later. Rejects if `epoch` is not the current epoch (rows fetched
   * before a rebalance or a failed flush) or the batcher was aborted. `heartbeat` is called while it
   * waits. `oldestMessageMs`: the broker timestamp of the oldest message they come from (metric).
   */
  add(
    entries: Entry[],
    commits: Commit[],
    options: { epoch: number; heartbeat: () => Promise<void>; oldestMessageMs?: number },
  ): Promise<void>;
  /** Changes whenever rows already added may have been dropped: capture it before reading a batch. */
  epoch(): number;
  /** The group rebalances: drops the waiting rows; the flush in flight neither inserts again nor commits. */
  revoke(): void;
  /** Flushes what is buffered now, ignoring the interval. */
  flushNow(): void;
  /** Drops the waiting rows for good and refuses every later `add` (shutdown past its deadline). */
  abort(reason: Error): void;
  bufferedRows(): number;
  /** Resolves true once nothing is buffered or being flushed, false if `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean>;
  /** Retries an operation against ClickHouse with backoff until it succeeds or the batcher aborts. */
  withRetry<T>(what: string, operation: () => Promise<T>, heartbeat: () => Promise<void>): Promise<T>;
}

export const STALE_EPOCH = 'TG_SINK_STALE_EPOCH';

/** Tables of a few rows per flush, inserted at most once per `smallTablesIntervalMs`. */
const SMALL_TABLES: ReadonlySet<SinkTable> = new Set<SinkTable>(['run_events', 'alerts', 'dead_letters']);

interface Pending {
  entries: Entry[];
  rows: number;
  /** Of `rows`, those of the small tables. */
  smallRows: number;
  commits: Map<string, Commit>;
  /** `add` calls waiting for room: admitted when this batch starts flushing. */
  admissions: { resolve: () => void; reject: (err: Error) => void }[];
  firstAddedAt: number;
  /** Broker timestamp of the oldest message in this flush (Infinity when unknown). */
  oldestMessageMs: number;
}

const emptyPending = (): Pending => ({
  entries: [],
  rows: 0,
  smallRows: 0,
  commits: new Map(),
  admissions: [],
  firstAddedAt: 0,
  oldestMessageMs: Number.POSITIVE_INFINITY,
});

const isEmpty = (p: Pending) => p.entries.length === 0 && p.commits.size === 0;

/** A flush under way; `revoked` is set when its partitions may have moved to another owner. */
interface Flight {
  batch: Pending;
  revoked: boolean;
  startedAt: number;
}

const HEARTBEAT_WHILE_WAITING_MS = 1_000;

export function createBatcher({
  writer,
  logger,
  metrics,
  commit,
  onFailure = () => {},
  maxRows = 50_000,
  flushIntervalMs = 1_000,
  smallTablesIntervalMs = 5_000,
  smallTablesDeferRows = 10_000,
  lingerMs = 20,
  retryInitialMs = 200,
  retryMaxMs = 5_000,
  insertSettleTimeoutMs = 120_000,
  slabs = createSlabPool(),
}: BatcherOptions): Batcher {
  if (maxRows < 1) throw new TollgateError('sink: maxRows must be at least 1', { code: 'TG_CONFIG' });
  let pending = emptyPending();
  let flight: Flight | undefined;
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastFlushStartedAt = 0;
  /** When the last flush that inserted the small tables started. */
  let smallFlushStartedAt = 0;
  /** flushNow(): the next flush inserts every table, whatever the interval. */
  let flushEverything = false;
  let epoch = 0;
  /** Set by abort() (shutdown); every retry loop and flush checks it. Permanent. */
  let aborted: Error | undefined;
  const wakeUps = new Set<() => void>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(t);
        wakeUps.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      wakeUps.add(wake);
    });
  const wakeAll = () => {
    for (const wake of [...wakeUps]) wake();
  };

  function throwIfStopped(current?: Flight): void {
    if (aborted) throw aborted;
    if (current?.revoked)
      throw new TollgateError('sink: partitions revoked during the flush', { code: 'TG_SINK_REVOKED' });
  }

  async function withRetry<T>(
    what: string,
    operation: () => Promise<T>,
    heartbeat: () => Promise<void>,
    current?: Flight,
  ): Promise<T> {
    let delayMs = retryInitialMs;
    for (;;) {
      throwIfStopped(current);
      try {
        return await operation();
      } catch (err) {
        if (!isRetriable(err)) throw err;
        metrics.retries.inc({ operation: what });
        metrics.clickhouseUp.set(0);
        logger.warn({ err, operation: what, retryInMs: delayMs }, 'clickhouse operation failed, retrying');
      }
      // Heartbeats keep the group membership while ClickHouse is away (resync runs inside a batch).
      await heartbeat();
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, retryMaxMs);
    }
  }

  /** Inserts `entries` into `table` exactly once, however many attempts it takes. */
  async function insertOnce(table: SinkTable, entries: Entry[], current: Flight) {
    let remaining = entries;
    let delayMs = retryInitialMs;
    const noHeartbeat = async () => {};
    while (remaining.length > 0) {
      // Never start an insert once the partitions may belong to someone else (or we stop).
      throwIfStopped(current);
      const queryId = writer.newQueryId(table);
      const started = performance.now();
      try {
        await writer.insert(table, payload(remaining, slabs), queryId);
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
        noHeartbeat,
        current,
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

  async function runFlush(current: Flight): Promise<void> {
    const { batch } = current;
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
        return entries ? [insertOnce(table, entries, current)] : [];
      }),
    );
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    // A revoked flush does not commit: the partition's next owner reads what is stored instead, and
    // a commit of ours arriving after one of theirs would move the group's offset backwards.
    throwIfStopped(current);
    const inserted = Date.now();
    const commits = [...batch.commits.values()];
    if (commits.length > 0) await commit(commits);
    if (Number.isFinite(batch.oldestMessageMs))
      metrics.stalenessSeconds.observe(Math.max(0, Date.now() - batch.oldestMessageMs) / 1000);
    logger.debug(
      {
        rows: batch.rows,
        bufferedMs: current.startedAt - batch.firstAddedAt,
        insertMs: inserted - current.startedAt,
        commitMs: Date.now() - inserted,
        oldestAgeAtStartMs: Number.isFinite(batch.oldestMessageMs)
          ? current.startedAt - batch.oldestMessageMs
          : null,
      },
      'flushed',
    );
  }

  /** Whether a flush of `batch` starting at `now` inserts the small tables too. */
  const smallTablesDue = (batch: Pending, now: number) =>
    flushEverything ||
    now >= smallFlushStartedAt + smallTablesIntervalMs ||
    batch.rows - batch.smallRows < smallTablesDeferRows;

  function scheduleFlush(): void {
    if (flushing || isEmpty(pending) || aborted) return;
    const now = Date.now();
    const due =
      pending.rows >= maxRows
        ? now
        : Math.max(lastFlushStartedAt + flushIntervalMs, pending.firstAddedAt + lingerMs);

    if (timer) clearTimeout(timer);
    timer = setTimeout(startFlush, Math.max(0, due - now));
  }

  /**
   * Splits `batch` for a flush that leaves the small tables out: their rows and every offset of the
   * batch go back to the (new, empty) pending batch, to be inserted and committed by a later flush.
   * The line_items rows stay in `batch`, which then commits nothing.
   */
  function carrySmallTables(batch: Pending): void {
    const kept: Entry[] = [];
    for (const entry of batch.entries) {
      if (SMALL_TABLES.has(entry.table)) {
        pending.entries.push(entry);
        pending.rows += entry.count;
        pending.smallRows += entry.count;
      } else kept.push(entry);
    }
    batch.entries = kept;
    batch.rows -= batch.smallRows;
    batch.smallRows = 0;
    for (const [key, c] of batch.commits) pending.commits.set(key, c);
    batch.commits = new Map();
    pending.firstAddedAt = batch.firstAddedAt;
    metrics.bufferedRows.set(pending.rows);
  }

  /** Drops the waiting rows; `reason` rejects the `add` calls still waiting for room. */
  function dropPending(reason: Error): Pending {
    const dropped = pending;
    pending = emptyPending();
    metrics.bufferedRows.set(0);
    slabs.release(tsvBlocks(dropped.entries), true); // never sent
    for (const admission of dropped.admissions) admission.reject(reason);
    return dropped;
  }

  function startFlush(): void {
    timer = undefined;
    if (flushing || isEmpty(pending) || aborted) return;
    const now = Date.now();
    const batch = pending;
    pending = emptyPending();
    metrics.bufferedRows.set(0);
    if (smallTablesDue(batch, now)) {
      smallFlushStartedAt = now;
      flushEverything = false;
    } else if (batch.smallRows > 0) {
      // A busy flush (at least smallTablesDeferRows line items): the small rows, and the offsets
      // that cover them, wait for a later flush.
      carrySmallTables(batch);
    }
    const current: Flight = { batch, revoked: false, startedAt: now };
    lastFlushStartedAt = now;
    flight = current;
    // Its rows are in flight now: whoever waited for room behind them may add more.
    for (const admission of current.batch.admissions) admission.resolve();
    flushing = runFlush(current).then(
      // Stored: no request reads these blocks any more.
      () => slabs.release(tsvBlocks(current.batch.entries), true),
      (err: Error) => {
        // A failed insert's body may still be read by its dying socket: its slabs are not reused.
        slabs.release(tsvBlocks(current.batch.entries), false);
        if (aborted || current.revoked) {
          logger.info({ reason: err.message }, 'flush given up (stopping or rebalancing)');
          return;
        }
        // Failed for good: nothing of this flush or behind it is known to be stored. Seek back to
        // the first offset of each partition that had rows here or waiting, and refuse what was
        // fetched before (the epoch changes).
        const dropped = dropPending(staleError());
        epoch += 1;
        const rewinds = new Map<string, { topic: string; partition: number; offset: string }>();
        for (const c of [...current.batch.commits.values(), ...dropped.commits.values()]) {
          const key = `${c.topic}|${c.partition}`;
          const known = rewinds.get(key);
          if (!known || BigInt(c.from) < BigInt(known.offset))
            rewinds.set(key, { topic: c.topic, partition: c.partition, offset: c.from });
        }
        logger.error({ err, rows: current.batch.rows }, 'flush failed; reading its partitions again');
        onFailure([...rewinds.values()], err);
      },
    );
    void flushing.finally(() => {
      flushing = undefined;
      if (flight === current) flight = undefined;
      scheduleFlush();
    });
  }

  const staleError = () =>
    new TollgateError('sink: rows of an earlier epoch (rebalance or failed flush)', {
      code: STALE_EPOCH,
    });

  return {
    async add(entries, commits, { epoch: at, heartbeat, oldestMessageMs }) {
      if (aborted || at !== epoch) {
        slabs.release(tsvBlocks(entries), true); // refused, never sent
        throw aborted ?? staleError();
      }
      const full = pending.rows >= maxRows;
      if (isEmpty(pending)) pending.firstAddedAt = Date.now();
      for (const entry of entries) {
        pending.entries.push(entry);
        pending.rows += entry.count;
        if (SMALL_TABLES.has(entry.table)) pending.smallRows += entry.count;
      }
      for (const c of commits) {
        const key = `${c.topic}|${c.partition}`;
        const known = pending.commits.get(key);
        // `from` stays the first offset of the earliest batch still waiting for this partition
        pending.commits.set(key, known ? { ...c, from: known.from } : c);
      }
      if (oldestMessageMs !== undefined && oldestMessageMs < pending.oldestMessageMs)
        pending.oldestMessageMs = oldestMessageMs;
      metrics.bufferedRows.set(pending.rows);
      // Full: start the insert now, so ClickHouse works on it while the next batches decode.
      if (pending.rows >= maxRows && !flushing) startFlush();
      else scheduleFlush();
      if (!full) return;
      // maxRows rows were already waiting: hold the consumer until the flush ahead starts, with
      // heartbeats (a ClickHouse outage can make that long), so memory stays bounded.
      let admitted = false;
      const admission = new Promise<void>((resolve, reject) => {
        pending.admissions.push({ resolve, reject });
      }).then(() => {
        admitted = true;
      });
      admission.catch(() => {}); // awaited below; a heartbeat failure may leave the loop first
      while (!admitted) {
        await Promise.race([admission, sleep(HEARTBEAT_WHILE_WAITING_MS)]);
        if (!admitted) await heartbeat();
      }
    },
    epoch: () => epoch,
    revoke() {
      epoch += 1;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (flight) flight.revoked = true;
      dropPending(staleError());
      wakeAll(); // a retry loop of the revoked flush gives up now instead of after its backoff
    },
    flushNow() {
      flushEverything = true;
      lastFlushStartedAt = 0;
      pending.firstAddedAt = 0;
      scheduleFlush();
    },
    abort(reason) {
      aborted = reason;
      if (timer) clearTimeout(timer);
      timer = undefined;
      dropPending(reason);
      wakeAll();
    },
    bufferedRows: () => pending.rows,
    async idle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (flushing || !isEmpty(pending)) {
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return true;
    },
    withRetry: (what, operation, heartbeat) => withRetry(what, operation, heartbeat),
  };
}

function positionKey(entry: Entry): string {
  return `${entry.topic}|${entry.partition}|${entry.offset}`;
}
