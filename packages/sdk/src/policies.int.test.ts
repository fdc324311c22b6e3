/**
 * Ceilings set centrally: a meter with `policies` follows the ceilings policies that `tollgate policy
 * set` publishes, against the real broker. Each run gets the stricter of its code ceilings and the
 * most specific policy's; a change reaches the next run without a restart; a bad policy is skipped
 * with an error to onError; a policy topic that cannot be read stops runs from starting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type TollgateError, topicSpecs } from '@tollgate/core';
import {
  createTestContext,
  produceMessages,
  skipIntegration,
  type TestContext,
} from '@tollgate/test/support';
import { CeilingExceededError, PoliciesUnavailableError } from './errors.ts';
import { createMeter, type Meter, type MeterOptions } from './meter.ts';

describe('SDK ceilings from the policy topic', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  const meters: Meter[] = [];
  const errors: TollgateError[] = [];

  before(async () => {
    ctx = await createTestContext({ partitions: 1 });
    await ctx.createTopics(
      topicSpecs(ctx.topics, 1).filter((spec) => [ctx.topics.usage, ctx.topics.policies].includes(spec.name)),
    );
  });
  after(async () => {
    await Promise.all(meters.map((m) => m.close()));
    await ctx.cleanup();
  });

  function publish(messages: { key: string; value: object | string | null }[]): Promise<void> {
    return produceMessages(
      ctx.kafka,
      ctx.topics.policies,
      messages.map(({ key, value }) => ({
        key,
        value: value === null ? null : typeof value === 'string' ? value : JSON.stringify(value),
      })),
    );
  }

  function meter(extra: Partial<MeterOptions> = {}): Meter {
    const m = createMeter({
      brokers: ctx.brokers,
      clientId: 'sdk-policies-int',
      topic: ctx.topics.usage,
      defaults: { org_id: 'acme', feature: 'support-bot' },
      policies: { topic: ctx.topics.policies },
      logger: ctx.logger,
      onError: (err) => errors.push(err),
      ...extra,
    });
    meters.push(m);
    return m;
  }

  /** Starts runs until one gets the expected subagent ceiling (a change takes a moment to arrive). */
  async function runOnceApplied(m: Meter, feature: string, subagents: number | null) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const run = await m.startRun({ feature });
      if (run.ceilings.subagentsPerRun === subagents) return run;
      if (Date.now() > deadline)
        assert.fail(`subagent ceiling still ${run.ceilings.subagentsPerRun}, expected ${subagents}`);
      await sleep(100);
    }
  }

  it('gives each run the stricter of its code ceilings and the most specific policy', async () => {
    await publish([
      {
        key: 'acme-ceilings',
        value: {
          policy_id: 'acme-ceilings',
          kind: 'ceilings',
          scope: { org_id: 'acme' },
          subagents_per_run: 5,
          cost_per_run: '0.40',
        },
      },
      {
        key: 'acme-support-bot',
        value: {
          policy_id: 'acme-support-bot',
          kind: 'ceilings',
          scope: { org_id: 'acme', feature: 'support-bot' },
          subagents_per_run: 3,
        },
      },
      // Not a ceilings policy: it changes nothing on the action path.
      {
        key: 'acme-thresholds',
        value: { policy_id: 'acme-thresholds', kind: 'thresholds', scope: { org_id: 'acme' } },
      },
    ]);
    const m = meter();

    // acme / support-bot: the feature's policy (3 subagents), the org's cost ceiling ($0.40).
    const bot = await m.startRun();
    const workers = await bot.spawnMany(400, { name: 'worker' });
    assert.equal(workers.length, 3, 'the 400-worker fan-out is cut to what the policy allows');
    await assert.rejects(async () => bot.spawn({ name: 'one-more' }), CeilingExceededError);
    // claude-sonnet-4-5 at list price: 100k input ($0.30) + 10k output ($0.15) = $0.45 worst case.
    const request = { provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 100_000 };
    assert.throws(
      () => bot.checkRequest({ ...request, maxOutputTokens: 10_000 }),
      (err: unknown) => err instanceof CeilingExceededError && err.ceiling === 'cost_per_run',
    );
    assert.doesNotThrow(() => bot.checkRequest({ ...request, maxOutputTokens: 1_000 }));

    // Another feature of acme: only the org's policy.
    const search = await m.startRun({ feature: 'search' });
    assert.equal((await search.spawnMany(400)).length, 5);
    // Another org: no policy, no ceiling.
    const other = await m.startRun({ org_id: 'globex' });
    assert.equal((await other.spawnMany(20)).length, 20);
    assert.equal(other.ceilings.costPerRunNanos, null);

    // Code stricter than the policy: the code's limit holds; looser: the policy's.
    const strict = meter({ ceilings: { subagentsPerRun: 2 } });
    assert.equal((await (await strict.startRun()).spawnMany(10)).length, 2);
    const loose = meter({ ceilings: { subagentsPerRun: 50 } });
    const looseRun = await loose.startRun({ ceilings: { subagentsPerRun: null } });
    assert.equal((await looseRun.spawnMany(10)).length, 3, 'a run cannot switch a policy ceiling off');
    assert.deepEqual(errors, []);
  });

  it('applies a changed or deleted policy to the next run, while a started run keeps its ceilings', async () => {
    const m = meter();
    const before = await runOnceApplied(m, 'support-bot', 3);
    await publish([
      {
        key: 'acme-support-bot',
        value: {
          policy_id: 'acme-support-bot',
          kind: 'ceilings',
          scope: { org_id: 'acme', feature: 'support-bot' },
          subagents_per_run: 7,
        },
      },
    ]);
    const raised = await runOnceApplied(m, 'support-bot', 7);
    assert.equal((await raised.spawnMany(10)).length, 7);
    assert.equal((await before.spawnMany(10)).length, 3, 'the run started before keeps its ceiling');

    await publish([{ key: 'acme-support-bot', value: null }]);
    const deleted = await runOnceApplied(m, 'support-bot', 5);
    assert.equal((await deleted.spawnMany(10)).length, 5, "after the delete the org's policy applies");
  });

  it('skips a policy that is not valid, reports it to onError, and keeps the previous version', async () => {
    const m = meter();
    await runOnceApplied(m, 'search', 5);
    await publish([{ key: 'acme-ceilings', value: '{"policy_id":"acme-ceilings","kind":"ceilings"' }]);
    const deadline = Date.now() + 15_000;
    while (!errors.some((err) => err.code === 'TG_SDK_POLICY_REJECTED') && Date.now() < deadline)
      await sleep(100);
    const rejected = errors.find((err) => err.code === 'TG_SDK_POLICY_REJECTED');
    assert.ok(rejected, 'onError heard of the bad policy');
    assert.match(
      rejected.message,
      /policy acme-ceilings at offset \d+ of .* is not valid and was skipped: not JSON/,
    );
    const run = await m.startRun({ feature: 'search' });
    assert.equal((await run.spawnMany(10)).length, 5, 'the previous version stays in force');
  });

  it('starts no run when the policy topic cannot be read', async () => {
    const missing = `${ctx.topicPrefix}no-such-policies`;
    const m = meter({ policies: { topic: missing, timeoutMs: 5_000 } });
    const started = Date.now();
    await assert.rejects(
      () => m.startRun(),
      (err: unknown) =>
        err instanceof PoliciesUnavailableError &&
        err.code === 'TG_SDK_POLICIES_UNAVAILABLE' &&
        err.message.includes(missing),
    );
    assert.ok(Date.now() - started < 8_000, 'within timeoutMs, not after kafkajs has retried for longer');
  });
});
