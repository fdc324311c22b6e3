import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createAlertCodec,
  createDeadLetterCodec,
  createPolicyIndex,
  createPricedCodec,
  createRegistry,
  type PolicyIndex,
  type PricedEvent,
  parsePolicy,
  silentLogger,
} from '@tollgate/core';
import { runContext, usage } from '../fleet/events.ts';
import { priceUsage } from '../fleet/pricing.ts';
import { createDetectorMetrics } from '../metrics.ts';
import { createPricedViewDecoder } from '../priced-view.ts';
import { parseBudgetSlice, parseFeatureRecord } from '../records.ts';
import type { InputMessage, TaskOutput, TaskProcessor } from '../runtime/stage.ts';
import { createRunTask } from './stage.ts';

const T0 = Date.UTC(2026, 10, 2, 9, 0);
const codec = createPricedCodec();
const topics = {
  alerts: 'alerts',
  featureRepartition: 'features',
  budgetRepartition: 'budgets',
  deadLetters: 'dlq',
};

function task(policies: PolicyIndex = createPolicyIndex()): TaskProcessor {
  const processor = createRunTask({
    partition: 2,
    topics,
    featurePartitions: 3,
    policies,
    pricedView: createPricedViewDecoder(),
    alertCodec: createAlertCodec(),
    deadLetterCodec: createDeadLetterCodec(),
    settings: { windowMs: 60_000, allowedLatenessMs: 5_000, endGraceMs: 60_000, inactivityMs: 600_000 },
    metrics: createDetectorMetrics(createRegistry('test')),
    logger: silentLogger(),
  });
  processor.restored();
  return processor;
}

let offset = 0;
const input = (events: (PricedEvent | Buffer)[]): InputMessage[] =>
  events.map((e) => ({
    key: Buffer.isBuffer(e) ? null : Buffer.from(e.usage.run_id),
    value: Buffer.isBuffer(e) ? e : codec.encode(e),
    offset: String(offset++),
    partition: 2,
    topic: 'priced',
  }));

const run = runContext({
  run_id: 'r1',
  org_id: 'acme',
  feature: 'search',
  customer_id: 'c1',
  agent_name: 'planner',
});
const sonnet = (t: number) =>
  priceUsage(
    usage.modelCall(run, `m${t}`, t, 'claude-sonnet-4.5', { input_tokens: 20_000, output_tokens: 1_000 }),
  );
const search = (t: number) =>
  priceUsage(usage.toolCall(run, `s${t}`, t, { tool_name: 'web_search', call_signature: 'same' }));
const out = (output: TaskOutput, topic: string) =>
  output.messages.find((m) => m.topic === topic)?.messages ?? [];

describe('run task', () => {
  it('repartitions cost as one slice per feature and window, with its breakdown, and ticks every partition', () => {
    const output = task().process(
      input([sonnet(T0), sonnet(T0 + 1_000), search(T0 + 2_000), sonnet(T0 + 61_000)]),
      1,
    );
    const records = out(output, 'features').map((m) => parseFeatureRecord(m.value as Buffer));
    const slices = records.flatMap((r) => (r.ok && r.value.kind === 'slice' ? [r.value] : []));
    assert.deepEqual(
      slices.map((s) => [s.slice.windowStart, s.slice.events, s.slice.costNanos, s.src, s.srcTime]),
      [
        [T0, 3, 160_000_000, 2, T0 + 61_000],
        [T0 + 60_000, 1, 75_000_000, 2, T0 + 61_000],
      ],
    );
    assert.deepEqual(slices[0]!.slice.dims.category, { tokens: 150_000_000, tools: 10_000_000 });
    assert.deepEqual(slices[0]!.slice.dims.model, {
      'claude-sonnet-4.5': 150_000_000,
      '(tool_call)': 10_000_000,
    });
    assert.equal(out(output, 'features')[0]!.key, 'acme\u0000search');
    const ticks = out(output, 'features').filter((m) => m.key === undefined);
    assert.deepEqual(
      ticks.map((m) => m.partition),
      [0, 1, 2],
    );
  });

  it('ticks at most once per second of stream time (slices carry it anyway)', () => {
    const t = task();
    const ticks = (output: TaskOutput) => out(output, 'features').filter((m) => m.key === undefined).length;
    assert.equal(ticks(t.process(input([sonnet(T0)]), 1)), 3, 'the first batch ticks every partition');
    assert.equal(ticks(t.process(input([sonnet(T0 + 400)]), 2)), 0, 'same second of stream time');
    assert.equal(ticks(t.process(input([sonnet(T0 + 1_000)]), 3)), 3, 'the next second');
    assert.equal(ticks(t.process(input([sonnet(T0 + 500)]), 4)), 0, 'stream time did not advance');
  });

  it('sends spend to every budget covering the event, summed exactly per month', () => {
    const policies = createPolicyIndex();
    for (const doc of [
      { policy_id: 'org', kind: 'budget', scope: { org_id: 'acme' }, amount: '100' },
      { policy_id: 'cust', kind: 'budget', scope: { org_id: 'acme', customer_id: 'c1' }, amount: '10' },
      { policy_id: 'other', kind: 'budget', scope: { org_id: 'acme', feature: 'chat' }, amount: '10' },
    ]) {
      const parsed = parsePolicy(doc);
      assert.ok(parsed.ok);
      policies.upsert(parsed.policy);
    }
    const output = task(policies).process(input([sonnet(T0), sonnet(T0 + 1)]), 1);
    const budgets = out(output, 'budgets').map((m) => {
      const parsed = parseBudgetSlice(m.value as Buffer);
      assert.ok(parsed.ok);
      return [m.key, parsed.value.costNanos];
    });
    assert.deepEqual(budgets, [
      ['cust', '150000000'],
      ['org', '150000000'],
    ]);
  });

  it('dead-letters bytes that are not a priced event and carries on', () => {
    const output = task().process(input([Buffer.from('garbage'), sonnet(T0)]), 1);
    const letters = out(output, 'dlq').map((m) => createDeadLetterCodec().decode(m.value as Buffer));
    assert.equal(letters.length, 1);
    assert.ok(letters[0]!.ok);
    assert.equal(letters[0]!.value.reason_code, 'not_single_object');
    assert.equal(letters[0]!.value.source_topic, 'priced');
    assert.equal(out(output, 'features').length, 4);
  });

  it('snapshots touched runs, and a restored task continues their counts', () => {
    const first = task();
    const changes = first.process(
      input(Array.from({ length: 6 }, (_, i) => search(T0 + i * 1_000))),
      1,
    ).changelog;
    assert.deepEqual(
      changes.map((c) => c.key),
      ['r:acme\u0000r1', 'meta'],
    );
    const second = task();
    for (const change of changes) second.restore(change.key, change.value);
    second.restored();
    const output = second.process(
      input(Array.from({ length: 4 }, (_, i) => search(T0 + (6 + i) * 1_000))),
      1,
    );
    const alerts = out(output, 'alerts').map((m) => createAlertCodec().decode(m.value as Buffer));
    assert.equal(alerts.length, 1);
    assert.ok(alerts[0]!.ok);
    assert.equal(alerts[0]!.value.rule, 'run_loop');
    assert.equal(alerts[0]!.value.observed, 10);
  });

  it('holds an ended run so that a sandbox left running after its end still alerts, once', () => {
    const policy = parsePolicy({
      policy_id: 'idle',
      kind: 'thresholds',
      scope: { org_id: 'acme' },
      run: { idle_sandbox_seconds: 30 },
    });
    assert.ok(policy.ok);
    const policies = createPolicyIndex();
    policies.upsert(policy.policy);
    const t = task(policies);
    const box = (at: number) =>
      priceUsage(
        usage.sandbox(run, `box${at}`, at, {
          sandbox_id: 'vm',
          vcpu_seconds: 10,
          gib_seconds: 20,
          idle_seconds: 0,
        }),
      );
    const alertsOf = (output: TaskOutput) =>
      out(output, 'alerts').map((m) => {
        const alert = createAlertCodec().decode(m.value as Buffer);
        assert.ok(alert.ok);
        return alert.value;
      });
    const ending = t.process(
      input([
        sonnet(T0),
        search(T0 + 1_000),
        priceUsage(usage.runEnd(run, 'end', T0 + 2_000, 'success', 2_000)),
      ]),
      1,
    );
    assert.deepEqual(alertsOf(ending), []);
    const stillRunning = alertsOf(t.process(input([box(T0 + 20_000), box(T0 + 40_000)]), 2));
    assert.deepEqual(
      stillRunning.map((a) => [a.rule, a.observed]),
      [['run_idle_sandbox', 38]],
    );
    assert.match(stillRunning[0]!.explanation, /after the run ended/);
    assert.match(stillRunning[0]!.explanation, /over 2 steps/);
    assert.deepEqual(alertsOf(t.process(input([box(T0 + 50_000)]), 3)), [], 'each rule alerts once per run');
    const changes = t.process(input([box(T0 + 55_000)]), 4).changelog;
    const held = JSON.parse(changes.find((c) => c.key === 'r:acme\u0000r1')!.value!);
    assert.deepEqual(
      [held.steps, held.ended, held.sandboxAfterEnd, held.fired],
      [2, T0 + 2_000, T0 + 55_000, ['run_idle_sandbox']],
    );
  });

  it('evicts ended runs once the watermark passes their grace period, with a tombstone', () => {
    const t = task();
    t.process(input([sonnet(T0), priceUsage(usage.runEnd(run, 'end', T0 + 1_000, 'success', 1_000))]), 1);
    const other = runContext({ run_id: 'r2', org_id: 'acme' });
    const later = priceUsage(usage.runStart(other, 'later', T0 + 10 * 60_000));
    const changes = t.process(input([later]), 2).changelog;
    assert.deepEqual(
      changes.find((c) => c.key === 'r:acme\u0000r1'),
      { key: 'r:acme\u0000r1', value: null },
    );
  });
});
