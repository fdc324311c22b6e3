/**
 * The detector against the real broker: every rule fires when it should, once, and normal traffic
 * stays quiet. Priced events are published directly (no pricer); alerts are read back committed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CostAlert, createDeadLetterCodec, type PricedEvent, parsePolicy } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext, uniqueId } from '@tollgate/test/support';
import { type RunContext, runContext, usage } from './fleet/events.ts';
import { priceUsage } from './fleet/pricing.ts';
import { publishPolicyChanges } from './set-policy.ts';
import {
  type AlertCollector,
  collectAlerts,
  counterValue,
  publishClock,
  publishPriced,
  type RunningDetector,
  startDetector,
  testSettings,
  waitFor,
} from './testing.ts';

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const MIN = 60_000;
const PARTITIONS = 3;

let seq = 0;
const id = (run: RunContext) => `${run.run_id}-${++seq}`;
const priced = (events: ReturnType<typeof usage.runStart>[]) => events.map((e) => priceUsage(e));

/** A healthy run of acme/search: 5 model calls, 3 distinct tool calls, a busy sandbox, one spawn. */
function normalRun(n: number, start: number, model = 'claude-sonnet-4.5'): PricedEvent[] {
  const run = runContext({
    run_id: `normal-${n}`,
    org_id: 'acme',
    feature: 'search',
    customer_id: `c${n % 3}`,
    agent_name: 'planner',
  });
  const events = [usage.runStart(run, id(run), start)];
  for (let i = 0; i < 5; i++) {
    const t = start + 1_000 + i * 5_000;
    events.push(usage.modelCall(run, id(run), t, model, { input_tokens: 20_000, output_tokens: 1_000 }));
    if (i < 3)
      events.push(usage.toolCall(run, id(run), t + 500, { tool_name: 'read_file', call_signature: `f${i}` }));
  }
  events.push(
    usage.sandbox(run, id(run), start + 20_000, {
      sandbox_id: `s${n}`,
      vcpu_seconds: 20,
      gib_seconds: 40,
      idle_seconds: 1,
    }),
  );
  events.push(
    usage.spawn(run, id(run), start + 21_000, {
      child_agent_id: `w${n}`,
      child_agent_name: 'worker',
      child_depth: 1,
    }),
  );
  events.push(usage.runEnd(run, id(run), start + 30_000, 'success', 30_000));
  return priced(events);
}

const beta = (name: string) =>
  runContext({ run_id: name, org_id: 'beta', feature: 'agents', agent_name: 'looper' });

function anomalies(): Record<string, PricedEvent[]> {
  const loop = beta('loop');
  const fanout = beta('fanout');
  const deep = beta('deep');
  const steps = beta('steps');
  const cost = beta('cost');
  const velocity = beta('velocity');
  const idle = beta('idle');
  const opus = (run: RunContext, t: number) =>
    usage.modelCall(run, id(run), t, 'claude-opus-4.1', { input_tokens: 20_000, output_tokens: 1_000 });
  const s = T0 + MIN;
  return {
    run_loop: priced(
      Array.from({ length: 12 }, (_, i) =>
        usage.toolCall(loop, id(loop), s + i * 2_000, { tool_name: 'web_search', call_signature: 'same' }),
      ),
    ),
    run_subagents: priced(
      Array.from({ length: 60 }, (_, i) =>
        usage.spawn(fanout, id(fanout), s + i * 100, {
          child_agent_id: `a${i}`,
          child_agent_name: 'w',
          child_depth: 1,
        }),
      ),
    ),
    run_spawn_depth: priced(
      Array.from({ length: 6 }, (_, i) =>
        usage.spawn(deep, id(deep), s + i * 1_000, {
          child_agent_id: `d${i}`,
          child_agent_name: 'w',
          child_depth: i + 1,
        }),
      ),
    ),
    run_steps: priced(
      Array.from({ length: 520 }, (_, i) =>
        usage.toolCall(steps, id(steps), s + i * 500, { tool_name: 'read_file', call_signature: `x${i}` }),
      ),
    ),
    run_cost: priced(Array.from({ length: 15 }, (_, i) => opus(cost, s + i * 40_000))), // $0.375 each
    run_velocity: priced(Array.from({ length: 10 }, (_, i) => opus(velocity, s + i * 3_000))),
    run_idle_sandbox: priced([
      usage.modelCall(idle, id(idle), s, 'claude-haiku-4.5', { input_tokens: 1_000, output_tokens: 100 }),
      usage.runEnd(idle, id(idle), s + 1_000, 'success', 1_000),
      ...Array.from({ length: 16 }, (_, i) =>
        usage.sandbox(idle, id(idle), s + 1_000 + (i + 1) * MIN, {
          sandbox_id: 'left',
          vcpu_seconds: 120,
          gib_seconds: 240,
          idle_seconds: 60,
        }),
      ),
    ]),
  };
}

describe('detector rules against Kafka', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let running: RunningDetector;
  let collector: AlertCollector;
  const injected = anomalies();
  const settings = testSettings(uniqueId('det'));

  before(async () => {
    ctx = await createTestContext({ partitions: PARTITIONS });
    await ctx.createTopics();
    // beta's own feature spend is all anomalies: keep feature spikes of beta out of this test.
    const policy = parsePolicy({
      policy_id: 'beta-quiet-features',
      kind: 'thresholds',
      scope: { org_id: 'beta' },
      feature: { min_window_cost: '1000' },
    });
    assert.ok(policy.ok);
    await publishPolicyChanges(ctx.kafka, ctx.topics.policies, [{ set: policy.policy }]);
    running = await startDetector({
      kafka: ctx.kafka,
      logger: ctx.logger,
      topics: ctx.topics,
      settings,
    });
    collector = await collectAlerts(ctx.kafka, ctx.topics.alerts, ctx.logger);

    // 15 one-minute windows of acme/search: 3-5 runs a minute; minute 12 swaps to a 5× pricier model.
    const events: PricedEvent[] = [];
    let n = 0;
    for (let minute = 0; minute < 15; minute++)
      for (let r = 0; r < 3 + (minute % 3); r++)
        events.push(
          ...normalRun(
            n++,
            T0 + minute * MIN + r * 7_000,
            minute === 12 ? 'claude-opus-4.1' : 'claude-sonnet-4.5',
          ),
        );
    for (const list of Object.values(injected)) events.push(...list);
    events.sort((a, b) => a.usage.event_time - b.usage.event_time);
    await publishPriced(ctx.kafka, ctx.topics.priced, events);
    // Garbage on the priced topic: a dead letter, not a crash.
    const producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: ctx.topics.priced,
      messages: [{ key: 'bad', value: Buffer.from('not avro') }],
    });
    await producer.disconnect();
    await publishClock(ctx.kafka, ctx.topics.priced, PARTITIONS, T0 + 30 * MIN);
  });

  after(async () => {
    await collector?.stop();
    await running?.stop();
    await ctx?.cleanup();
  });

  const expectedRules = [
    'run_loop',
    'run_subagents',
    'run_spawn_depth',
    'run_steps',
    'run_cost',
    'run_velocity',
    'run_idle_sandbox',
  ];

  it('fires every per-run rule once, on the right run', async () => {
    await collector.waitFor(
      (alerts) => expectedRules.every((rule) => alerts.some((a) => a.rule === rule)),
      60_000,
      'every per-run rule',
    );
    for (const rule of expectedRules) {
      const matching = collector.alerts.filter((a) => a.rule === rule);
      assert.equal(matching.length, 1, `${rule} fired ${matching.length} times`);
      const alert = matching[0]!;
      assert.equal(alert.scope, 'run');
      assert.equal(alert.org_id, 'beta');
      assert.equal(alert.run_id, injected[rule]![0]!.usage.run_id, rule);
      assert.ok(
        alert.explanation.startsWith(`Run ${alert.run_id} (org beta, feature agents)`),
        alert.explanation,
      );
      assert.ok(alert.detected_at >= alert.first_event_time);
    }
    const cost = collector.alerts.find((a) => a.rule === 'run_cost')!;
    assert.equal(cost.observed, 14 * 375_000_000);
    assert.equal(cost.expected, 5_000_000_000);
    assert.deepEqual(cost.contributors, [
      { dimension: 'category', value: 'tokens', observed: 14 * 375_000_000, expected: 0 },
    ]);
    assert.equal(collector.alerts.find((a) => a.rule === 'run_subagents')!.observed, 50);
    assert.equal(collector.alerts.find((a) => a.rule === 'run_idle_sandbox')!.observed, 900);
  });

  it('flags the model swap as a feature spike within its window, naming the model', async () => {
    await collector.waitFor(
      (alerts) => alerts.some((a) => a.rule === 'feature_spike'),
      60_000,
      'the feature spike',
    );
    const spikes = collector.alerts.filter((a) => a.rule === 'feature_spike');
    assert.equal(spikes.length, 1);
    const spike = spikes[0]!;
    assert.equal(spike.org_id, 'acme');
    assert.equal(spike.feature, 'search');
    assert.equal(spike.window_start, T0 + 12 * MIN);
    assert.equal(spike.window_end, T0 + 13 * MIN);
    // Judged as soon as the partial window crossed the boundary: at least twice the baseline.
    assert.ok(spike.observed >= 2 * spike.expected, `${spike.observed} vs ${spike.expected}`);
    assert.deepEqual(
      { dimension: spike.contributors[0]!.dimension, value: spike.contributors[0]!.value },
      { dimension: 'model', value: 'claude-opus-4.1' },
    );
    assert.match(
      spike.explanation,
      /^Feature search of org acme spent \$\d+\.\d+ in the 1m00s window from 2026-11-02 09:12 UTC/,
    );
  });

  it('stays quiet on normal traffic: no alert beyond the injected ones', async () => {
    await collector.waitFor((alerts) => alerts.length >= expectedRules.length + 1, 60_000, 'all alerts');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const unexpected = collector.alerts.filter(
      (a: CostAlert) =>
        !(a.org_id === 'beta' && expectedRules.includes(a.rule)) && a.rule !== 'feature_spike',
    );
    assert.deepEqual(unexpected, []);
    assert.equal(new Set(collector.alerts.map((a) => a.alert_id)).size, collector.alerts.length);
  });

  it('commits past the markers of its transactional input: a caught-up stage lags by nothing', async () => {
    // The feature repartition topic is written in the runs stage's transactions, so each of its
    // partitions ends in a commit marker that no consumer ever sees as a message.
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      const lag = async () => {
        const ends = await admin.fetchTopicOffsets(ctx.topics.featureRepartition);
        const [committed] = await admin.fetchOffsets({
          groupId: `${settings.groupId}.features`,
          topics: [ctx.topics.featureRepartition],
        });
        return ends.map(({ partition, high }) => {
          const at = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
          return Number(high) - Math.max(0, Number(at));
        });
      };
      assert.ok(
        (await lag()).some((behind) => behind >= 0),
        'the repartition topic has partitions',
      );
      await waitFor(
        async () => (await lag()).every((behind) => behind === 0),
        30_000,
        'features stage at the end',
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('dead-letters an undecodable priced event with its reason and offset', async () => {
    await waitFor(
      async () => (await counterValue(running.registry, 'tollgate_detector_dead_letters_total')) === 1,
      30_000,
      'the dead letter to be counted',
    );
    const codec = createDeadLetterCodec();
    const letters: { reason_code: string; source_topic: string }[] = [];
    const { readTopic } = await import('@tollgate/core/read-topic');
    const reader = await readTopic({
      kafka: ctx.kafka,
      topic: ctx.topics.deadLetters,
      groupIdPrefix: 'test-dlq',
      follow: false,
      caughtUpTimeoutMs: 30_000,
      logger: ctx.logger,
      onMessage(_p, _k, value) {
        const decoded = value ? codec.decode(value) : null;
        if (decoded?.ok) letters.push(decoded.value);
      },
    });
    await reader.caughtUp;
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.source_topic, ctx.topics.priced);
    assert.equal(letters[0]!.reason_code, 'not_single_object');
  });
});
