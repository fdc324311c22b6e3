/**
 * The effectively-once proof: the pricer as a real process, SIGKILLed in the middle of 100,000
 * events and restarted. Read committed, the priced topic must hold each event exactly once, and the
 * total must equal the hand-computed expectation to the nano.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import {
  collectPriced,
  produceUsage,
  spawnPricer,
  topicPrefixOf,
  waitFor,
  workloadEvent,
  workloadTotalNanos,
} from './test-harness.ts';

const EVENTS = 100_000;

describe('pricer killed mid-stream', { skip: skipIntegration, timeout: 300_000 }, () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
  });
  after(() => ctx.cleanup());

  it('loses nothing and duplicates nothing across SIGKILL and restart', async () => {
    const events = Array.from({ length: EVENTS }, (_, i) => workloadEvent(i));
    await produceUsage(ctx.kafka, ctx.topics.usage, events);
    const committed = await collectPriced(ctx.kafka, ctx.topics.priced);
    // What the log holds including aborted transactions: proves the kill left one open.
    const everything = await collectPriced(ctx.kafka, ctx.topics.priced, { readUncommitted: true });
    const options = {
      brokers: ctx.brokers,
      topicPrefix: topicPrefixOf(ctx.topics.usage),
      groupId: 'pricer-crash',
      // Small fetches make many transactions; debug logs say when one has sent its records.
      env: { PRICER_MAX_BYTES_PER_PARTITION: String(128 * 1024), LOG_LEVEL: 'debug' },
    };
    try {
      // Kill inside a transaction (after its records went out, before its commit), up to three
      // times at different points, until the log shows records of a transaction that never committed.
      for (const killAt of [20_000, 45_000, 70_000]) {
        const pricer = spawnPricer(options);
        await waitFor(() => committed.read() >= killAt, 120_000, `${killAt} priced events`).catch(
          (err: Error) => {
            throw new Error(`${err.message}\n${pricer.output()}`);
          },
        );
        committed.pause();
        everything.pause();
        await new Promise<void>((resolve) => {
          pricer.child.stdout!.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('batch sent; committing')) {
              pricer.child.kill('SIGKILL');
              resolve();
            }
          });
        });
        committed.resume();
        everything.resume();
        assert.equal(await pricer.exited, null, 'killed by the signal, not exited');
        assert.ok(committed.read() < EVENTS, `the kill must land mid-stream (had ${committed.read()})`);
        await new Promise((done) => setTimeout(done, 1_000));
        if (everything.read() > committed.read()) break;
      }

      const last = spawnPricer(options);
      try {
        await waitFor(
          () => committed.events.size >= EVENTS,
          180_000,
          'every event priced after the restart',
        ).catch((err: Error) => {
          throw new Error(`${err.message} (have ${committed.events.size})\n${last.output()}`);
        });
        // Give a duplicate, if any were produced, time to show up.
        await new Promise((done) => setTimeout(done, 3_000));
        assert.ok(
          everything.read() > EVENTS,
          `the log must hold aborted records of a killed transaction (read uncommitted: ${everything.read()})`,
        );
        assert.equal(committed.events.size, EVENTS);
        const repeated = [...committed.events.entries()].filter(([, e]) => e.count !== 1).map(([id]) => id);
        assert.deepEqual(repeated.slice(0, 10), [], 'no event priced twice');
        assert.equal(committed.read(), EVENTS);
        assert.equal(committed.totalNanos(), workloadTotalNanos(EVENTS));
        for (let i = 0; i < EVENTS; i += 9_973) assert.ok(committed.events.has(`evt-${i}`));
      } finally {
        last.child.kill('SIGTERM');
        assert.equal(await last.exited, 0, `graceful shutdown\n${last.output()}`);
      }
    } finally {
      await committed.stop();
      await everything.stop();
    }
  });
});
