import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CostAlert, createPolicyIndex, type PricedEvent, type RunThresholds } from '@tollgate/core';
import { runContext, usage } from '../fleet/events.ts';
import { priceUsage } from '../fleet/pricing.ts';
import { applyRunEvent } from './rules.ts';
import { isEvictable, MAX_TOOL_SIGNATURES, newRunState, parseRunState, type RunState } from './state.ts';

const ctx = runContext({ run_id: 'r1', org_id: 'acme', feature: 'search', customer_id: 'c1' });
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const defaults = createPolicyIndex().runThresholds(ctx);

function runAll(
  events: PricedEvent[],
  thresholds: RunThresholds = defaults,
): { state: RunState; alerts: CostAlert[] } {
  const state = newRunState(events[0]!);
  const alerts: CostAlert[] = [];
  for (const event of events) alerts.push(...applyRunEvent(state, event, { thresholds, now: 1 }).alerts);
  return { state, alerts };
}

let seq = 0;
const id = () => `e${++seq}`;
/** A sonnet call costing 20k input × $3/M + 1k output × $15/M = $0.075. */
const call = (t: number) =>
  priceUsage(
    usage.modelCall(ctx, id(), t, 'claude-sonnet-4.5', { input_tokens: 20_000, output_tokens: 1_000 }),
  );
const tool = (t: number, signature: string | null, name = 'web_search') =>
  priceUsage(usage.toolCall(ctx, id(), t, { tool_name: name, call_signature: signature }));

/** A healthy run: 30 steps over 5 minutes, a few subagents, a busy sandbox. */
function normalRun(): PricedEvent[] {
  const events = [priceUsage(usage.runStart(ctx, id(), T0))];
  for (let i = 0; i < 15; i++) {
    events.push(call(T0 + i * 20_000), tool(T0 + i * 20_000 + 5_000, `sig-${i % 5}`));
    events.push(
      priceUsage(
        usage.sandbox(ctx, id(), T0 + i * 20_000 + 10_000, {
          sandbox_id: 's',
          vcpu_seconds: 40,
          gib_seconds: 80,
          idle_seconds: 2,
        }),
      ),
    );
  }
  for (let i = 0; i < 3; i++)
    events.push(
      priceUsage(
        usage.spawn(ctx, id(), T0 + 1_000 + i, {
          child_agent_id: `a${i}`,
          child_agent_name: 'w',
          child_depth: 1,
        }),
      ),
    );
  events.push(priceUsage(usage.runEnd(ctx, id(), T0 + 300_000, 'success', 300_000)));
  return events.sort((a, b) => a.usage.event_time - b.usage.event_time);
}

describe('per-run rules', () => {
  it('stay quiet on a healthy run and track its cost exactly', () => {
    const { state, alerts } = runAll(normalRun());
    assert.deepEqual(alerts, []);
    assert.equal(state.steps, 30);
    assert.equal(state.subagents, 3);
    assert.equal(state.costByCategory.tokens, 15 * 75_000_000);
    assert.equal(
      state.costNanos,
      Object.values(state.costByCategory).reduce((a, b) => a + b, 0),
    );
    assert.equal(state.ended, T0 + 300_000);
  });

  it('flag a loop on the Nth identical tool call, once, naming the tool', () => {
    const events = [call(T0)];
    for (let i = 1; i <= 25; i++) events.push(tool(T0 + i * 1_000, 'same-args'));
    const { alerts } = runAll(events);
    const loops = alerts.filter((a) => a.rule === 'run_loop');
    assert.equal(loops.length, 1);
    assert.equal(loops[0]!.observed, 10);
    assert.equal(loops[0]!.window_end, T0 + 10_000);
    assert.match(loops[0]!.explanation, /web_search.*10 times/);
    assert.equal(loops[0]!.scope, 'run');
    assert.equal(loops[0]!.run_id, 'r1');
  });

  it('flag cost over the per-run threshold when crossed, with the spend by category', () => {
    const events = Array.from({ length: 80 }, (_, i) => call(T0 + i * 60_000)); // $0.075 each, 80 min
    const { alerts } = runAll(events);
    const cost = alerts.find((a) => a.rule === 'run_cost');
    assert.ok(cost);
    assert.equal(cost.observed, 67 * 75_000_000); // first total ≥ $5.00
    assert.equal(cost.expected, 5_000_000_000);
    assert.equal(cost.severity, 'warning');
    assert.deepEqual(cost.contributors, [
      { dimension: 'category', value: 'tokens', observed: cost.observed, expected: 0 },
    ]);
    assert.match(cost.explanation, /\$5\.025.*\$5\.00 per-run threshold/);
    assert.ok(!alerts.some((a) => a.rule === 'run_velocity'), 'a slow burn is not a velocity spike');
  });

  it('flag spend velocity within the trailing window', () => {
    const events = Array.from({ length: 40 }, (_, i) => call(T0 + i * 1_000)); // $3.00 in 40 s
    const { alerts } = runAll(events);
    const velocity = alerts.find((a) => a.rule === 'run_velocity');
    assert.ok(velocity);
    assert.ok(velocity.observed >= 2_000_000_000 && velocity.observed < 2_100_000_000);
    assert.equal(velocity.window_end! - velocity.window_start!, 60_000);
  });

  it('flag fan-out and spawn depth', () => {
    const events = [priceUsage(usage.runStart(ctx, id(), T0))];
    for (let i = 0; i < 60; i++)
      events.push(
        priceUsage(
          usage.spawn(ctx, id(), T0 + i, {
            child_agent_id: `a${i}`,
            child_agent_name: 'w',
            child_depth: i < 55 ? 1 : 6,
          }),
        ),
      );
    const { alerts } = runAll(events);
    assert.equal(alerts.find((a) => a.rule === 'run_subagents')?.observed, 50);
    assert.equal(alerts.find((a) => a.rule === 'run_spawn_depth')?.observed, 6);
  });

  it('flag a sandbox left running after the run ended, but not a busy one', () => {
    const events = [call(T0), priceUsage(usage.runEnd(ctx, id(), T0 + 60_000, 'success', 60_000))];
    for (let i = 1; i <= 20; i++)
      events.push(
        priceUsage(
          usage.sandbox(ctx, id(), T0 + 60_000 + i * 60_000, {
            sandbox_id: 's',
            vcpu_seconds: 120,
            gib_seconds: 240,
            idle_seconds: 0,
          }),
        ),
      );
    const { alerts } = runAll(events);
    const idle = alerts.find((a) => a.rule === 'run_idle_sandbox');
    assert.ok(idle);
    assert.equal(idle.observed, 900);
    assert.match(idle.explanation, /after the run ended/);
  });

  it('add sandbox idle seconds since the last activity, and reset them on activity', () => {
    const sandbox = (t: number, idle: number) =>
      priceUsage(
        usage.sandbox(ctx, id(), t, {
          sandbox_id: 's',
          vcpu_seconds: 60,
          gib_seconds: 60,
          idle_seconds: idle,
        }),
      );
    const quiet = runAll([
      call(T0),
      ...Array.from({ length: 16 }, (_, i) => sandbox(T0 + (i + 1) * 60_000, 60)),
    ]);
    assert.equal(quiet.alerts.find((a) => a.rule === 'run_idle_sandbox')?.observed, 900);
    const interleaved: PricedEvent[] = [];
    for (let i = 0; i < 16; i++)
      interleaved.push(sandbox(T0 + i * 120_000, 60), tool(T0 + i * 120_000 + 60_000, `s${i}`));
    assert.deepEqual(runAll(interleaved).alerts, []);
  });

  it('honour thresholds from policies, null switching a rule off', () => {
    const index = createPolicyIndex();
    index.upsert({
      policy_id: 'p',
      kind: 'thresholds',
      scope: { org_id: 'acme' },
      currency: 'USD',
      run: { loop_repeats: null, steps_per_run: 5 },
      feature: {},
    });
    const events = Array.from({ length: 30 }, (_, i) => tool(T0 + i, 'same'));
    const { alerts } = runAll(events, index.runThresholds(ctx));
    assert.deepEqual(
      alerts.map((a) => [a.rule, a.policy_id]),
      [['run_steps', 'p']],
    );
  });

  it('gives an alert the same id whenever the same run crosses the same threshold', () => {
    const events = Array.from({ length: 12 }, (_, i) => tool(T0 + i, 'same'));
    assert.equal(runAll(events).alerts[0]!.alert_id, runAll(events).alerts[0]!.alert_id);
  });

  it('does not add costs in another currency', () => {
    const euro = { ...call(T0 + 1), currency: 'EUR' };
    const state = newRunState(euro);
    applyRunEvent(state, call(T0), { thresholds: defaults, now: 1 });
    const result = applyRunEvent(state, euro, { thresholds: defaults, now: 1 });
    assert.equal(result.currencyMismatch, true);
    assert.equal(state.costNanos, 75_000_000);
  });
});

describe('run eviction', () => {
  const limits = { endGraceMs: 600_000, inactivityMs: 7_200_000 };
  it('keeps an ended run through the grace period and an idle one until the inactivity timeout', () => {
    const { state } = runAll(normalRun());
    assert.equal(isEvictable(state, T0 + 300_000 + 600_000, limits), false);
    assert.equal(isEvictable(state, T0 + 300_000 + 600_001, limits), true);
    const open = runAll([call(T0)]).state;
    assert.equal(isEvictable(open, T0 + 7_200_000, limits), false);
    assert.equal(isEvictable(open, T0 + 7_200_001, limits), true);
  });
});

describe('run state in the changelog', () => {
  const loopsOf = (alerts: CostAlert[]) => alerts.filter((a) => a.rule === 'run_loop');
  const apply = (state: RunState, events: PricedEvent[]) =>
    events.flatMap((event) => applyRunEvent(state, event, { thresholds: defaults, now: 1 }).alerts);

  it('restores what it wrote: the loop count, the velocity window and the rest go on where they were', () => {
    const events = [call(T0)];
    for (let i = 1; i <= 6; i++) events.push(tool(T0 + i * 1_000, 'same-args'), call(T0 + i * 1_000 + 500));
    const { state } = runAll(events);
    const restored = parseRunState(JSON.stringify(state));
    assert.deepEqual(restored, state);
    const more = [4, 5, 6, 7].map((i) => tool(T0 + 10_000 + i * 1_000, 'same-args'));
    const loops = loopsOf(apply(restored, more));
    assert.equal(loops.length, 1);
    assert.equal(loops[0]!.observed, 10); // six before the restart, four after
  });

  it('reads the format detectors wrote before 2026-12-07 (tool calls by signature key, velocity as pairs)', () => {
    const old = {
      ...runAll([call(T0)]).state,
      toolCalls: { 'web_search\u0000same-args': 8, 'web_search\u0000other': 1 },
      toolSignatures: 2,
      velocity: [
        [T0, 75_000_000],
        [T0 + 5_000, 75_000_000],
      ],
    };
    const restored = parseRunState(JSON.stringify(old));
    assert.deepEqual(restored.velocity, [T0, 75_000_000, T0 + 5_000, 75_000_000]);
    assert.equal(restored.toolCalls.length, 4);
    assert.ok(!('toolSignatures' in restored));
    // Nine and two calls: no loop yet; the tenth identical call is one.
    assert.deepEqual(
      loopsOf(apply(restored, [tool(T0 + 9_000, 'other'), tool(T0 + 10_000, 'same-args')])),
      [],
    );
    const loops = loopsOf(apply(restored, [tool(T0 + 11_000, 'same-args')]));
    assert.equal(loops.length, 1);
    assert.equal(loops[0]!.observed, 10);
  });

  it('keeps at most MAX_TOOL_SIGNATURES signatures, dropping those called once, and still sees a loop', () => {
    const events = [call(T0), tool(T0 + 1, 'looping'), tool(T0 + 2, 'looping')];
    for (let i = 0; i < 3 * MAX_TOOL_SIGNATURES; i++) events.push(tool(T0 + 10 + i, `once-${i}`));
    const { state, alerts } = runAll(events);
    assert.ok(state.toolCalls.length <= 2 * MAX_TOOL_SIGNATURES, `${state.toolCalls.length / 2} signatures`);
    assert.equal(loopsOf(alerts).length, 0);
    const more = Array.from({ length: 8 }, (_, i) => tool(T0 + 10_000 + i, 'looping'));
    const loops = loopsOf(apply(state, more));
    assert.equal(loops.length, 1);
    assert.equal(loops[0]!.observed, 10);
  });
});
