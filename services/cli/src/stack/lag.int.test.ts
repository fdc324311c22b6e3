import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestContext, skipIntegration, type TestContext, uniqueId } from '@tollgate/test/support';
import { groupLag } from './lag.ts';

describe('consumer lag for tollgate status', { skip: skipIntegration }, () => {
  let ctx: TestContext;

  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
    // Idempotent: a produce retried on a busy broker must not write the messages twice.
    const producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: ctx.topics.usage,
      messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, value: `m${i}` })),
    });
    await producer.disconnect();
  });

  after(async () => {
    await ctx?.cleanup();
  });

  it('counts every message of a group that has committed nothing', async () => {
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      assert.equal(await groupLag(admin, [{ groupId: uniqueId('lag'), topics: [ctx.topics.usage] }]), 30);
    } finally {
      await admin.disconnect();
    }
  });

  it('counts from the committed offset, per partition, over all of a service’s groups', async () => {
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      const groupId = uniqueId('lag');
      await admin.setOffsets({
        groupId,
        topic: ctx.topics.usage,
        partitions: [
          { partition: 0, offset: '10' },
          { partition: 1, offset: '4' },
        ],
      });
      // partition 0 at its end, 1 six behind, 2 never committed (ten); the second group has read nothing
      const other = { groupId: uniqueId('lag'), topics: [ctx.topics.usage] };
      assert.equal(await groupLag(admin, [{ groupId, topics: [ctx.topics.usage] }]), 16);
      assert.equal(await groupLag(admin, [{ groupId, topics: [ctx.topics.usage] }, other]), 46);
    } finally {
      await admin.disconnect();
    }
  });
});
