/**
 * Scaling out: pricers in one consumer group share the usage topic's partitions, and a partition that
 * moves between them, whether its pricer was killed or stopped, is priced on from where its last
 * committed transaction ended. Real processes, real broker: read committed, the priced topic must hold
 * each event exactly once and the hand-computed total to the nano.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import {
  collectPriced,
  type PricerProcess,
  produceUsage,
  spawnPricer,
  topicPrefixOf,
  waitFor,
  workloadEvent,
  workloadTotalNanos,
} from './test-harness.ts';

const EVENTS = 120_000;
const PARTITIONS = 6;

/**
 * The usage partitions a pricer holds after its latest join, from its "joined the consumer group" log
 * lines, read as they are written (the harness keeps only the tail of a process's output).
 */
function followAssignment(pricer: PricerProcess, usageTopic: string): () => number[] {
  let held: number[] = [];
  let partial = '';
  pricer.child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('joined the consumer group')) continue;
      const { assignment } = JSON.parse(line) as { assignment: Record<string, number[]> };
      held = [...(assignment[usageTopic] ?? [])].sort((x, y) => x - y);
    }
  });
  return () => held;
}

/** Both hold partitions, and between them every one. */
const shareAll = (x: number[], y: number[]) =>
  x.length > 0 && y.length > 0 && new Set([...x, ...y]).size === PARTITIONS;

describe('pricers scaled out in one group', { skip: skipIntegration, timeout: 300_000 }, () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext({ partitions: PARTITIONS });
    await ctx.createTopics();
  });
  after(() => ctx.cleanup());

  it('share the partitions, and price every event once while one is killed, one joins and one stops', async () => {
    const events = Array.from({ length: EVENTS }, (_, i) => workloadEvent(i, 600));
    const half = EVENTS / 2;
    await produceUsage(ctx.kafka, ctx.topics.usage, events.slice(0, half));
    const committed = await collectPriced(ctx.kafka, ctx.topics.priced);
    // Small fetches make many transactions, so every move of a partition lands between two of them or
    // inside one.
    const env = { PRICER_MAX_BYTES_PER_PARTITION: String(64 * 1024) };
    const started: PricerProcess[] = [];
    const start = (extra: Record<string, string> = {}) => {
      const pricer = spawnPricer({
        brokers: ctx.brokers,
        topicPrefix: topicPrefixOf(ctx.topics.usage),
        groupId: 'pricer-scale-out',
        env: { ...env, ...extra },
      });
      started.push(pricer);
      return { pricer, held: followAssignment(pricer, ctx.topics.usage) };
    };
    const outputs = () => started.map((p, i) => `--- pricer ${i}\n${p.output().slice(-3_000)}`).join('\n');
    const waitOrExplain = (condition: () => boolean, timeoutMs: number, what: string) =>
      waitFor(condition, timeoutMs, what).catch((err: Error) => {
        throw new Error(`${err.message} (${committed.read()} priced)\n${outputs()}`);
      });
    try {
      // debug: the killed one says when a transaction has sent its records
      const a = start({ LOG_LEVEL: 'debug' });
      const b = start();
      await waitOrExplain(
        () => shareAll(a.held(), b.held()),
        60_000,
        'two pricers sharing the six partitions',
      );
      await waitOrExplain(() => committed.read() >= 10_000, 120_000, '10,000 priced events');

      // Kill one inside a transaction: its records sent, its commit not.
      committed.pause();
      await new Promise<void>((resolve) => {
        a.pricer.child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('batch sent; committing')) {
            a.pricer.child.kill('SIGKILL');
            resolve();
          }
        });
      });
      committed.resume();
      assert.equal(await a.pricer.exited, null, 'killed by the signal, not exited');
      assert.ok(committed.read() < half, `the kill must land mid-stream (had ${committed.read()})`);

      // A third joins; once the killed one's session has expired, the survivor and it share the six.
      const c = start();
      await waitOrExplain(
        () => shareAll(b.held(), c.held()),
        60_000,
        'the survivor and the third pricer sharing the six partitions',
      );

      // The rest of the traffic; one stops for good while it is priced, and the last takes all.
      await produceUsage(ctx.kafka, ctx.topics.usage, events.slice(half));
      await waitOrExplain(() => committed.read() >= half + 5_000, 120_000, `${half + 5_000} priced events`);
      b.pricer.child.kill('SIGTERM');
      assert.equal(await b.pricer.exited, 0, `graceful shutdown\n${b.pricer.output()}`);
      assert.ok(committed.read() < EVENTS, `the stop must land mid-stream (had ${committed.read()})`);

      await waitOrExplain(() => committed.events.size >= EVENTS, 180_000, 'every event priced');
      // Give a duplicate, if any were produced, time to show up.
      await new Promise((done) => setTimeout(done, 3_000));
      assert.deepEqual(c.held(), [0, 1, 2, 3, 4, 5], 'the last pricer holds every partition');
      const repeated = [...committed.events.entries()].filter(([, e]) => e.count !== 1).map(([id]) => id);
      assert.deepEqual(repeated.slice(0, 10), [], 'no event priced twice');
      assert.equal(committed.events.size, EVENTS);
      assert.equal(committed.read(), EVENTS);
      assert.equal(committed.totalNanos(), workloadTotalNanos(EVENTS));
    } finally {
      for (const pricer of started) if (pricer.child.exitCode === null) pricer.child.kill('SIGTERM');
      await Promise.all(started.map((p) => p.exited));
      await committed.stop();
    }
  });
});
