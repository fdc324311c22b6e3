/**
 * `tollgate alerts` against the real broker: it prints the alerts on the topic as one line each (or
 * JSON), and its filters keep only the orgs, severities and rules asked for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAlertCodec, topicSpecs } from '@tollgate/core';
import { exampleCostAlert } from '@tollgate/core/contract/examples';
import { createTestContext, runCli, skipIntegration, type TestContext } from './support/index.ts';

describe('tollgate alerts', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let env: Record<string, string>;
  const alerts = [
    { alert_id: 'a-1', org_id: 'acme', severity: 'warning', rule: 'run_cost' },
    { alert_id: 'a-2', org_id: 'acme', severity: 'critical', rule: 'run_loop' },
    { alert_id: 'a-3', org_id: 'globex', severity: 'critical', rule: 'run_loop' },
    { alert_id: 'a-4', org_id: 'acme', severity: 'info', rule: 'budget_threshold' },
  ] as const;

  before(async () => {
    ctx = await createTestContext({ partitions: 1 });
    await ctx.createTopics(topicSpecs(ctx.topics, 1).filter((spec) => spec.name === ctx.topics.alerts));
    env = { KAFKA_BROKERS: ctx.brokers.join(','), TOPIC_PREFIX: ctx.topicPrefix };
    const codec = createAlertCodec();
    const producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
    try {
      await producer.send({
        topic: ctx.topics.alerts,
        acks: -1,
        messages: alerts.map((fields) => ({
          key: fields.alert_id,
          value: codec.encode({ ...exampleCostAlert(), ...fields }),
        })),
      });
    } finally {
      await producer.disconnect();
    }
  });
  after(() => ctx.cleanup());

  /** The alert ids `tollgate alerts --from-beginning --json` prints with these flags, within 20 s. */
  async function printed(count: number, ...flags: string[]): Promise<string[]> {
    const result = await runCli(
      env,
      'alerts',
      '--from-beginning',
      '--json',
      '--count',
      String(count),
      '--for',
      '20',
      ...flags,
    );
    assert.equal(result.code, 0, result.stdout);
    return result.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).alert_id);
  }

  it('prints every alert on the topic', async () => {
    assert.deepEqual(await printed(4), ['a-1', 'a-2', 'a-3', 'a-4']);
    const text = await runCli(env, 'alerts', '--from-beginning', '--count', '1', '--for', '20');
    assert.match(text.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING {2}run_cost org=acme /);
  });

  it('keeps only the orgs, severities and rules asked for', async () => {
    assert.deepEqual(await printed(2, '--severity', 'critical'), ['a-2', 'a-3']);
    assert.deepEqual(await printed(3, '--org', 'acme'), ['a-1', 'a-2', 'a-4']);
    assert.deepEqual(await printed(1, '--org', 'acme', '--rule', 'run_loop'), ['a-2']);
    assert.deepEqual(await printed(2, '--severity', 'warning', '--org', 'acme'), ['a-1', 'a-2']);
  });
});
