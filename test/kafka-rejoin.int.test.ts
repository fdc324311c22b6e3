/**
 * A consumer that kafkajs restarts while its broker is away gets its partitions back as soon as the
 * broker returns, not a session timeout later. kafkajs restarts a consumer's group from scratch after a
 * crash (no broker answering its metadata requests is one), and a new member waits for the old one,
 * which could not leave, to miss its session; patches/kafkajs+2.2.4.patch has the restarted consumer
 * rejoin as the member it was (falling back to a new one if the group no longer knows it). A broker of
 * the test's own (support/private-broker.ts): the shared one must never stop.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKafka, ensureTopics, type Kafka, silentLogger } from '@tollgate/core';
import { skipIntegration, uniqueId } from './support/index.ts';
import { eventually } from './support/pipeline.ts';
import { type PrivateBroker, startPrivateBroker } from './support/private-broker.ts';

const SESSION_TIMEOUT_MS = 30_000;

describe('a consumer restarted while its broker was away', {
  skip: skipIntegration,
  timeout: 300_000,
}, () => {
  let broker: PrivateBroker;
  let kafka: Kafka;
  const topic = `${uniqueId()}.rejoin`;
  before(async () => {
    broker = await startPrivateBroker('kafka-rejoin');
    kafka = createKafka({ brokers: broker.brokers, clientId: 'kafka-rejoin', logger: silentLogger() });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ name: topic, partitions: 3, config: {}, description: 'test' }]);
    await admin.disconnect();
  });
  after(() => broker.close());

  it('holds its partitions again within seconds of the broker returning, not a session timeout later', async (t) => {
    const consumer = kafka.consumer({
      groupId: `${topic}.group`,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: 3_000,
    });
    const joins: number[] = [];
    let crashes = 0;
    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${Date.now() - t0} ms ${what}`);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      joins.push(Date.now());
      mark(`joined as ${payload.memberId}`);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) crashes++;
      mark(`crashed (${payload.error.name}: ${payload.error.message}), restart ${payload.restart}`);
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    try {
      await eventually(async () => joins.length > 0, {
        intervalMs: 100,
        describe: () => `the consumer never joined its group:\n${timeline.join('\n')}`,
      });

      const crashesBefore = crashes; // a young broker's "coordinator is loading" restarts it too
      mark('broker stopping');
      await broker.stop();
      mark('broker stopped');
      // Long enough for kafkajs to give up on the fetch loop and restart the consumer.
      await eventually(async () => crashes > crashesBefore, {
        describe: () =>
          `kafkajs never restarted the consumer while the broker was away:\n${timeline.join('\n')}`,
      });
      await broker.start();
      const back = Date.now();
      mark('broker back');
      const joinsBefore = joins.length;
      await eventually(async () => joins.length > joinsBefore, {
        timeoutMs: 2 * SESSION_TIMEOUT_MS,
        intervalMs: 100,
        describe: () => `the consumer never joined its group again:\n${timeline.join('\n')}`,
      });
      const tookMs = joins.at(-1)! - back;
      t.diagnostic(
        `joined again ${tookMs} ms after the broker was back (${crashes - crashesBefore} restarts while away)`,
      );
      assert.ok(
        tookMs < SESSION_TIMEOUT_MS / 2,
        `joined again ${tookMs} ms after the broker was back: it waited for its old member's session`,
      );
    } finally {
      await consumer.disconnect();
    }
  });
});
