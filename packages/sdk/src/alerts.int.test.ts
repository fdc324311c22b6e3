/**
 * subscribeAlerts against the real broker: alerts published as the detector publishes them (Avro
 * single-object encoding on the alert topic) reach the handler decoded; a group resumes after what it
 * handled; a handler that throws gets the same alert again; a message that is not a CostAlert is
 * reported and skipped, and the alerts behind it still arrive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CostAlert, createAlertCodec, type Producer, topicSpecs } from '@tollgate/core';
import { exampleCostAlert } from '@tollgate/core/contract/examples';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import { type AlertSubscription, subscribeAlerts } from './alerts.ts';

const codec = createAlertCodec();
const alert = (n: number): CostAlert => ({ ...exampleCostAlert(), alert_id: `alert-${n}`, observed: n });

/** Resolves once `predicate` holds, polling; fails with `what` after 30 s. */
async function until(predicate: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await sleep(50);
  }
}

describe('subscribeAlerts', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let producer: Producer;
  const open: AlertSubscription[] = [];
  before(async () => {
    ctx = await createTestContext({ partitions: 2 });
    await ctx.createTopics(topicSpecs(ctx.topics, 2).filter((spec) => spec.name === ctx.topics.alerts));
    producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await producer.disconnect();
    await ctx.cleanup();
  });

  const publish = (values: (CostAlert | Buffer)[]) =>
    producer.send({
      topic: ctx.topics.alerts,
      messages: values.map((v) => ({
        key: Buffer.isBuffer(v) ? 'junk' : v.alert_id,
        value: Buffer.isBuffer(v) ? v : codec.encode(v),
      })),
    });

  const subscribe = async (options: Partial<Parameters<typeof subscribeAlerts>[0]>) => {
    const subscription = await subscribeAlerts({
      brokers: ctx.brokers,
      topic: ctx.topics.alerts,
      onAlert: () => {},
      ...options,
    });
    open.push(subscription);
    return subscription;
  };

  it('delivers decoded alerts, skips what is not one, and resumes a group after what it handled', async () => {
    await publish([alert(1), Buffer.from('not avro'), alert(2)]);
    const seen: string[] = [];
    const skipped: string[] = [];
    const groupId = `${ctx.topicPrefix}pager`;
    const first = await subscribe({
      groupId,
      fromBeginning: true,
      onAlert: (a) => {
        seen.push(a.alert_id);
      },
      onUndecodable: (reason) => skipped.push(reason),
    });
    await until(
      () => seen.length === 2,
      () => `saw ${seen}`,
    );
    assert.deepEqual(seen.sort(), ['alert-1', 'alert-2']);
    assert.equal(skipped.length, 1);
    assert.match(skipped[0]!, /single-object|marker|magic|fingerprint/i);
    await first.close();

    // The same group later: only what came after.
    await publish([alert(3)]);
    const later: CostAlert[] = [];
    await subscribe({ groupId, fromBeginning: true, onAlert: (a) => void later.push(a) });
    await until(
      () => later.length >= 1,
      () => 'alert-3 never arrived',
    );
    await sleep(500);
    assert.deepEqual(
      later.map((a) => a.alert_id),
      ['alert-3'],
    );
    assert.deepEqual(later[0], alert(3));
  });

  it('delivers an alert again when its handler throws', async () => {
    const attempts: string[] = [];
    await subscribe({
      groupId: `${ctx.topicPrefix}flaky`,
      onAlert: (a) => {
        attempts.push(a.alert_id);
        if (a.alert_id === 'alert-10' && attempts.length === 1) throw new Error('pager unreachable');
      },
    });
    // A group without offsets starts at the end: give it time to join before publishing.
    await sleep(3_000);
    await publish([alert(10)]);
    await until(
      () => attempts.length >= 2,
      () => `attempts ${attempts}`,
    );
    assert.deepEqual(attempts.slice(0, 2), ['alert-10', 'alert-10']);
  });

  it('names the option that is wrong', async () => {
    await assert.rejects(subscribeAlerts({ brokers: [], onAlert: () => {} }), /brokers must list/);
    await assert.rejects(
      subscribeAlerts({ brokers: ctx.brokers, onAlert: 'print' as never }),
      /onAlert must be a function/,
    );
    await assert.rejects(
      subscribeAlerts({ brokers: ctx.brokers, groupId: '', onAlert: () => {} }),
      /groupId must be a non-empty string/,
    );
  });
});
