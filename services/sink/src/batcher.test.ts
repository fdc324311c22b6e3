import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRegistry, silentLogger, TollgateError } from '@tollgate/core';
import { type Commit, createBatcher, type Entry } from './batcher.ts';
import { createSinkMetrics } from './metrics.ts';
import type { SinkTable } from './tables.ts';
import type { InsertRows, SinkWriter } from './writer.ts';

const TOPIC = 'tollgate.priced.v1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const noHeartbeat = async () => {};

/**
 * A writer that keeps what was inserted in memory and can be told to fail, and a commit log that checks
 * the batcher's promise on every commit: each committed offset covers only messages whose rows are all
 * stored, in every table.
 */
function harness(options: {
  smallTablesIntervalMs: number;
  smallTablesDeferRows?: number;
  failLineItems?: () => boolean;
}) {
  const inserts: { table: SinkTable; offsets: string[] }[] = [];
  const stored = new Set<string>(); // `${table}|${partition}|${offset}`
  const added: Entry[] = [];
  const commits: Commit[] = [];
  const rewinds: { partition: number; offset: string }[][] = [];
  const writer: SinkWriter = {
    instanceId: 'test',
    newQueryId: (table) => `q-${table}-${inserts.length}`,
    async insert(table: SinkTable, rows: InsertRows) {
      await sleep(5);
      if (table === 'line_items' && options.failLineItems?.())
        throw new TollgateError('no such column', { code: 'TG_TEST', retriable: false });
      const offsets = (rows as { offset: string }[]).map((row) => row.offset);
      for (const row of rows as { partition: number; offset: string }[])
        stored.add(`${table}|${row.partition}|${row.offset}`);
      inserts.push({ table, offsets });
    },
    storedOffsets: async () => new Map(),
    waitForRunningInserts: async () => {},
    waitForInsert: async () => {},
    ping: async () => true,
  };
  const batcher = createBatcher({
    writer,
    logger: silentLogger(),
    metrics: createSinkMetrics(createRegistry('sink-test')),
    flushIntervalMs: 20,
    lingerMs: 1,
    smallTablesIntervalMs: options.smallTablesIntervalMs,
    smallTablesDeferRows: options.smallTablesDeferRows ?? 1,
    async commit(list) {
      for (const c of list) {
        for (const entry of added)
          if (entry.partition === c.partition && BigInt(entry.offset) < BigInt(c.offset))
            assert.ok(
              stored.has(`${entry.table}|${entry.partition}|${entry.offset}`),
              `offset ${c.offset} of partition ${c.partition} committed before ${entry.table} row of offset ${entry.offset} was stored`,
            );
        commits.push(c);
      }
    },
    onFailure: (list) => rewinds.push(list.map(({ partition, offset }) => ({ partition, offset }))),
  });
  /** One message at `offset`: a line item, and a run_events row when `run`. */
  async function message(partition: number, offset: number, run: boolean) {
    const row = (table: SinkTable): Entry => ({
      table,
      rows: [{ partition, offset: String(offset) }],
      count: 1,
      topic: TOPIC,
      partition,
      offset: String(offset),
    });
    const entries = run ? [row('line_items'), row('run_events')] : [row('line_items')];
    added.push(...entries);
    const commit = { topic: TOPIC, partition, offset: String(offset + 1), from: String(offset) };
    await batcher.add(entries, [commit], { epoch: batcher.epoch(), heartbeat: noHeartbeat });
  }
  return { batcher, inserts, commits, rewinds, message, stored };
}

describe('batcher: small tables', () => {
  it('inserts run_events once per interval, line_items every flush, and commits only what is stored', async () => {
    const h = harness({ smallTablesIntervalMs: 400 });
    // 1.2 s of messages, one every 10 ms on two partitions, a run start or end every fifth.
    for (let i = 0; i < 120; i++) {
      await h.message(i % 2, 100 + i, i % 5 === 0);
      await sleep(10);
    }
    h.batcher.flushNow();
    assert.equal(await h.batcher.idle(5_000), true);
    const lineInserts = h.inserts.filter((x) => x.table === 'line_items').length;
    const runInserts = h.inserts.filter((x) => x.table === 'run_events').length;
    assert.ok(lineInserts >= 15, `line_items inserted ${lineInserts} times, expected one per ~20 ms flush`);
    assert.ok(runInserts <= 5, `run_events inserted ${runInserts} times in 1.2 s with a 400 ms interval`);
    // Everything is stored once, and the last commits cover every message.
    assert.equal([...h.stored].filter((k) => k.startsWith('line_items|')).length, 120);
    assert.equal([...h.stored].filter((k) => k.startsWith('run_events|')).length, 24);
    const last = new Map(h.commits.map((c) => [c.partition, c.offset]));
    assert.deepEqual(Object.fromEntries(last), { 0: '219', 1: '220' });
  });

  it('inserts every table in every flush under light traffic (fewer line items than the threshold)', async () => {
    const h = harness({ smallTablesIntervalMs: 10_000, smallTablesDeferRows: 10_000 });
    for (let i = 0; i < 30; i++) {
      await h.message(0, i, true);
      await sleep(10);
    }
    assert.equal(await h.batcher.idle(5_000), true, 'nothing waits without flushNow');
    const lines = h.inserts.filter((x) => x.table === 'line_items').length;
    assert.ok(lines >= 5);
    assert.equal(h.inserts.filter((x) => x.table === 'run_events').length, lines);
    assert.deepEqual(h.commits.at(-1), {
      topic: TOPIC,
      partition: 0,
      offset: '30',
      from: h.commits.at(-1)?.from,
    });
  });

  it('with an interval of 0 inserts every table in every flush', async () => {
    const h = harness({ smallTablesIntervalMs: 0 });
    for (let i = 0; i < 30; i++) {
      await h.message(0, i, true);
      await sleep(10);
    }
    h.batcher.flushNow();
    assert.equal(await h.batcher.idle(5_000), true);
    const lines = h.inserts.filter((x) => x.table === 'line_items').length;
    assert.equal(h.inserts.filter((x) => x.table === 'run_events').length, lines);
  });

  it('a flush failing after small rows were carried rewinds to the first offset not committed', async () => {
    let fail = false;
    const h = harness({ smallTablesIntervalMs: 10_000, failLineItems: () => fail });
    await h.message(0, 10, true); // first flush: every table (nothing inserted the small tables yet)
    await sleep(60);
    assert.deepEqual(
      h.commits.map((c) => c.offset),
      ['11'],
    );
    fail = true;
    // Carried: the run_events row and the offset wait for the interval; the line_items insert fails.
    await h.message(0, 11, true);
    await sleep(100);
    // Nothing of offset 11 is known to be stored: read again from 11.
    assert.deepEqual(h.rewinds, [[{ partition: 0, offset: '11' }]]);
    assert.deepEqual(
      h.commits.map((c) => c.offset),
      ['11'],
    );
  });
});
