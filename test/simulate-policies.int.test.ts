/**
 * `tollgate simulate --policies` against the real broker: the simulated fleet's meters follow the
 * policy topic, so a ceilings policy set with `tollgate policy set` cuts the fan-out run's batch below
 * the ceiling its code asks for; without the flag the code's ceiling alone applies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createUsageCodec, topicSpecs, type UsageEvent } from '@tollgate/core';
import { readTopic } from '../packages/sdk/src/test-consumer.ts';
import { createTestContext, runCli, skipIntegration, type TestContext } from './support/index.ts';

describe('tollgate simulate --policies', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-simulate-policies-'));
  const codec = createUsageCodec();

  before(async () => {
    ctx = await createTestContext({ partitions: 1 });
    const wanted = new Set([ctx.topics.usage, ctx.topics.policies]);
    await ctx.createTopics(topicSpecs(ctx.topics, 1).filter((spec) => wanted.has(spec.name)));
    env = { KAFKA_BROKERS: ctx.brokers.join(','), TOPIC_PREFIX: ctx.topicPrefix };
    const file = join(dir, 'ceilings.json');
    writeFileSync(
      file,
      JSON.stringify({
        policy_id: 'initech-research-ceilings',
        kind: 'ceilings',
        scope: { org_id: 'initech', feature: 'research' },
        subagents_per_run: 10,
      }),
    );
    const set = await runCli(env, 'policy', 'set', file);
    assert.equal(set.code, 0, set.stdout);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ctx.cleanup();
  });

  /** Workers spawned per fan-out run, read back from the usage topic, keyed by run id. */
  async function spawnsByFanoutRun(): Promise<Map<string, number>> {
    const spawns = new Map<string, number>();
    for (const message of await readTopic(ctx.kafka, ctx.topics.usage)) {
      const decoded = codec.decode(message.value);
      assert.ok(decoded.ok, 'every simulated event decodes');
      const event = decoded.value as UsageEvent;
      if (event.kind !== 'subagent_spawn' || !event.run_id.endsWith('-fanout')) continue;
      spawns.set(event.run_id, (spawns.get(event.run_id) ?? 0) + 1);
    }
    return spawns;
  }

  it('the code asks for 25 workers of 400; with --policies the policy of 10 wins', async () => {
    const plain = await runCli(env, 'simulate', '--preset', 'fanout', '--runs', '1', '--seed', '3');
    assert.equal(plain.code, 0, plain.stdout);
    assert.match(plain.stdout, /1 spawn degraded/);
    const first = await spawnsByFanoutRun();
    assert.deepEqual([...first.values()], [25]);

    const governed = await runCli(
      env,
      'simulate',
      '--preset',
      'fanout',
      '--runs',
      '1',
      '--seed',
      '4',
      '--policies',
    );
    assert.equal(governed.code, 0, governed.stdout);
    assert.match(governed.stdout, new RegExp(`ceilings policies from ${ctx.topics.policies} apply too`));
    const second = await spawnsByFanoutRun();
    const [newRun] = [...second.keys()].filter((run) => !first.has(run));
    assert.ok(newRun, `a second fan-out run on the topic: ${[...second.keys()]}`);
    assert.equal(second.get(newRun), 10);
  });
});
