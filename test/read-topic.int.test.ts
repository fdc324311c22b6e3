/**
 * readTopic, what a detector task restores its changelog partition with and what reads the policy
 * topic: asked for some partitions of a topic, it reads every record of those, in order, and nothing
 * of the others, both to catch up and when it follows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '@tollgate/core';
import { readTopic } from '@tollgate/core/read-topic';
import { createTestContext, skipIntegration, type TestContext } from './support/index.ts';

const PARTITIONS = 3;
const PER_PARTITION = 3_000;

describe('readTopic', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let topic: string;

  const produce = async (from: number, count: number) => {
    const producer = ctx.kafka.producer();
    await producer.connect();
    try {
      for (let partition = 0; partition < PARTITIONS; partition++)
        await producer.send({
          topic,
          messages: Array.from({ length: count }, (_, i) => ({
            key: `k${i % 50}`,
            value: `${partition}:${from + i}:${'x'.repeat(200)}`,
            partition,
          })),
        });
    } finally {
      await producer.disconnect();
    }
  };

  before(async () => {
    ctx = await createTestContext();
    topic = `${ctx.topicPrefix}read-topic`;
    await ctx.createTopics([{ name: topic, partitions: PARTITIONS, config: {}, description: 'test' }]);
    await produce(0, PER_PARTITION);
  });
  after(async () => {
    await ctx.cleanup();
  });

  const read = (partitions: number[], follow: boolean) => {
    const seen: string[] = [];
    const reader = readTopic({
      kafka: ctx.kafka,
      topic,
      partitions,
      groupIdPrefix: `${ctx.topicPrefix}reader`,
      follow,
      caughtUpTimeoutMs: 30_000,
      logger: silentLogger(),
      onMessage(partition, _key, value) {
        seen.push(`${partition}|${value?.toString('utf8').split(':').slice(0, 2).join(':')}`);
      },
    });
    return { seen, reader };
  };
  const expected = (partition: number, from: number, count: number) =>
    Array.from({ length: count }, (_, i) => `${partition}|${partition}:${from + i}`);

  it('reads every record of the partitions asked for, in order, and none of the others', async () => {
    const { seen, reader } = read([1], false);
    await (await reader).caughtUp;
    assert.deepEqual(seen, expected(1, 0, PER_PARTITION));
  });

  it('follows only those partitions after catching up', async () => {
    const { seen, reader } = read([0, 2], true);
    const started = await reader;
    try {
      await started.caughtUp;
      assert.deepEqual(
        seen.filter((s) => s.startsWith('0|')),
        expected(0, 0, PER_PARTITION),
      );
      assert.deepEqual(
        seen.filter((s) => s.startsWith('2|')),
        expected(2, 0, PER_PARTITION),
      );
      assert.equal(seen.length, 2 * PER_PARTITION);
      await produce(PER_PARTITION, 10);
      for (
        const deadline = Date.now() + 20_000;
        seen.length < 2 * PER_PARTITION + 20 && Date.now() < deadline;
      )
        await sleep(100);
      await sleep(500); // a record of partition 1, were it read, would have come by now too
      assert.deepEqual(
        seen.slice(2 * PER_PARTITION).sort(),
        [...expected(0, PER_PARTITION, 10), ...expected(2, PER_PARTITION, 10)].sort(),
      );
    } finally {
      await started.stop();
    }
  });
});
