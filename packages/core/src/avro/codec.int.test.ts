/**
 * The contract over a real broker: usage events of every kind, written by the current producer and by
 * a v1 producer, go through Kafka keyed by run_id and come back decodable by both the current reader
 * and a v1 reader (the consumer that has not upgraded yet).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import { exampleUsageEvents } from '../contract/examples.ts';
import type { UsageEvent } from '../contract/types.ts';
import { topicSpecs } from '../topics.ts';
import { createAvroCodec, createUsageCodec } from './codec.ts';

/** An event as a v1 producer builds it: no agent_depth, no ceiling_decision. */
function asV1(event: UsageEvent): Record<string, unknown> {
  const { agent_depth: _depth, ceiling_decision: _decision, ...v1 } = event;
  return v1;
}

describe('usage events through Kafka', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics(topicSpecs(ctx.topics, 3).filter((spec) => spec.name === ctx.topics.usage));
  });
  after(() => ctx.cleanup());

  it('every kind, from current and v1 producers, decodes with the current and the v1 reader', async () => {
    const current = createUsageCodec();
    const v1 = createAvroCodec<Record<string, unknown>>('usage-event', { version: 1 });
    const events = exampleUsageEvents();
    const v1Events = events
      .filter((e) => e.kind !== 'ceiling_decision')
      .map((e) => ({ ...e, event_id: `${e.event_id}-v1` }));
    const messages = [
      ...events.map((event) => ({ key: event.run_id, value: current.encode(event) })),
      ...v1Events.map((event) => ({ key: event.run_id, value: v1.encode(asV1(event)) })),
    ];

    const producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic: ctx.topics.usage, acks: -1, messages });
    await producer.disconnect();

    const consumer = ctx.kafka.consumer({ groupId: `${ctx.database}-codec` });
    await consumer.connect();
    await consumer.subscribe({ topics: [ctx.topics.usage], fromBeginning: true });
    const received: { key: string; value: Buffer }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`received ${received.length} of ${messages.length}`)),
        30_000,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            received.push({ key: String(message.key), value: message.value! });
            if (received.length === messages.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    // One run_id: one partition, so the order is the order produced.
    assert.deepEqual(
      received.map((m) => m.key),
      messages.map((m) => m.key),
    );
    const byCurrent = received.map((m) => current.decode(m.value));
    const byV1 = received.map((m) => v1.decode(m.value));

    assert.deepEqual(byCurrent, [
      ...events.map((value) => ({ ok: true, value, writer: 'tollgate.UsageEvent@2' })),
      ...v1Events.map((event) => ({
        ok: true,
        value: { ...event, agent_depth: 0, ceiling_decision: null },
        writer: 'tollgate.UsageEvent@1',
      })),
    ]);
    assert.deepEqual(byV1, [
      ...events.map((event) => ({
        ok: true,
        value: event.kind === 'ceiling_decision' ? { ...asV1(event), kind: 'unknown' } : asV1(event),
        writer: 'tollgate.UsageEvent@2',
      })),
      ...v1Events.map((event) => ({ ok: true, value: asV1(event), writer: 'tollgate.UsageEvent@1' })),
    ]);
  });
});
