/**
 * The sink's side of ClickHouse: tagged inserts and the reads that make a retry or a restart safe.
 *
 * Every insert carries a query id `tollgate-sink:<database>:<instance>:<table>:<n>`. ClickHouse lists a
 * running insert in system.processes under that id until it has landed or failed, even after the
 * client gave up on it; so "is it still running?" has a definite answer, and stored offsets are read
 * only once it is no.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { type ClickHouse, clickhouseError, TollgateError } from '@tollgate/core';
import type { Row } from './rows.ts';
import {
  insertQueryIdPrefix,
  type OffsetRange,
  ownInsertQuery,
  runningInsertsQuery,
  type SinkTable,
  stillRunningQuery,
  storedOffsetsQuery,
} from './tables.ts';
import { LINE_ITEM_TSV_COLUMNS } from './tsv.ts';

/** Objects (JSONEachRow), or line_items TSV blocks: lines in LINE_ITEM_TSV_COLUMNS order, each ending in '\n'. */
/** Objects (JSONEachRow), or TSV blocks streamed in order as the request body drains (may be lazy). */
export type InsertRows = readonly Row[] | { tsv: Iterable<Buffer | string> };

export interface SinkWriter {
  readonly instanceId: string;
  /**
   * Inserts rows as one block; resolves when ClickHouse acknowledged it. Rows are objects (JSONEachRow)
   * or, for line_items, a TSV body: lines in LINE_ITEM_TSV_COLUMNS order, each ending in '\n' (tsv.ts).
   */
  insert(table: SinkTable, rows: InsertRows, queryId: string): Promise<void>;
  newQueryId(table: SinkTable): string;
  /** partition → offsets already stored in `table` for messages of `topic` within the ranges. */
  storedOffsets(
    table: SinkTable,
    topic: string,
    ranges: readonly OffsetRange[],
  ): Promise<Map<number, Set<string>>>;
  /** Waits until the sink inserts running on the server now (any process, this one too) have ended. */
  waitForRunningInserts(options: { pollMs: number; timeoutMs: number }): Promise<void>;
  /** Waits until the insert with this query id no longer runs on the server. */
  waitForInsert(queryId: string, options: { pollMs: number; timeoutMs: number }): Promise<void>;
  ping(): Promise<boolean>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createSinkWriter({
  clickhouse,
  instanceId = randomUUID(),
}: {
  clickhouse: ClickHouse;
  instanceId?: string;
}): SinkWriter {
  const prefix = insertQueryIdPrefix(clickhouse.database, instanceId);
  let sequence = 0;

  async function running(query: ReturnType<typeof ownInsertQuery>): Promise<number> {
    const rows = await clickhouse.rows<{ running: string }>(query);
    return Number(rows[0]?.running ?? 0);
  }

  async function waitUntilNone(
    query: ReturnType<typeof ownInsertQuery>,
    what: string,
    { pollMs, timeoutMs }: { pollMs: number; timeoutMs: number },
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await running(query)) > 0) {
      if (Date.now() > deadline) {
        throw new TollgateError(`sink: ${what} still running after ${timeoutMs} ms`, {
          code: 'TG_SINK_INSERT_STILL_RUNNING',
          retriable: true,
        });
      }
      await sleep(pollMs);
    }
  }

  return {
    instanceId,
    newQueryId(table) {
      sequence += 1;
      return `${prefix}${table}:${sequence}`;
    },
    async insert(table, rows, queryId) {
      if (!('tsv' in rows) && rows.length === 0) return;
      try {
        if ('tsv' in rows) {
          if (table !== 'line_items')
            throw new TollgateError(`sink: no TSV layout for ${table}`, { code: 'TG_SINK_BUG' });
          await clickhouse.client.insert({
            table,
            // streamed chunk by chunk: no copy of the whole body first
            values: Readable.from(rows.tsv, { objectMode: false }),
            format: 'TabSeparated',
            columns: [...LINE_ITEM_TSV_COLUMNS],
            query_id: queryId,
          });
          return;
        }
        await clickhouse.client.insert({
          table,
          values: rows as Row[],
          format: 'JSONEachRow',
          query_id: queryId,
        });
      } catch (err) {
        throw clickhouseError('insert', err);
      }
    },
    async storedOffsets(table, topic, ranges) {
      const stored = new Map<number, Set<string>>();
      if (ranges.length === 0) return stored;
      const rows = await clickhouse.rows<{ partition: number; offset: string }>(
        storedOffsetsQuery(table, topic, ranges),
      );
      for (const row of rows) {
        const partition = Number(row.partition);
        let set = stored.get(partition);
        if (!set) {
          set = new Set();
          stored.set(partition, set);
        }
        set.add(row.offset);
      }
      return stored;
    },
    async waitForRunningInserts(options) {
      const running = await clickhouse.rows<{ query_id: string }>(runningInsertsQuery(clickhouse.database));
      if (running.length === 0) return;
      await waitUntilNone(stillRunningQuery(running.map((row) => row.query_id)), 'a sink insert', options);
    },
    waitForInsert(queryId, options) {
      return waitUntilNone(ownInsertQuery(queryId), `insert ${queryId}`, options);
    },
    async ping() {
      try {
        return await clickhouse.ping();
      } catch {
        return false;
      }
    },
  };
}
