import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicyIndex, type PricedEvent } from '@tollgate/core';
import { runContext, usage } from '../fleet/events.ts';
import { priceUsage } from '../fleet/pricing.ts';
import { isPacked, packedTimes, packRun, unpackRun } from './packed.ts';
import { applyRunEvent } from './rules.ts';
import { createInterner, newRunState, type RunState, runKey } from './state.ts';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const ctx = runContext({ run_id: 'run-ü-1', org_id: 'acmé', feature: 'recherche ✓', customer_id: null });
const key = runKey('acmé', 'run-ü-1');
const thresholds = { ...createPolicyIndex().runThresholds(ctx), idleSandboxSeconds: 60 };

let seq = 0;
const call = (t: number) =>
  priceUsage(
    usage.modelCall(ctx, `e${++seq}`, t, 'claude-sonnet-4.5', { input_tokens: 20_000, output_tokens: 900 }),
  );
const tool = (t: number, signature: string) =>
  priceUsage(usage.toolCall(ctx, `e${++seq}`, t, { tool_name: 'web_search', call_signature: signature }));
const sandbox = (t: number, idle: number) =>
  priceUsage(
    usage.sandbox(ctx, `e${++seq}`, t, {
      sandbox_id: 's',
      vcpu_seconds: 30,
      gib_seconds: 60,
      idle_seconds: idle,
    }),
  );
const end = (t: number) => priceUsage(usage.runEnd(ctx, `e${++seq}`, t, 'success', t - T0));

function play(events: PricedEvent[], state = newRunState(events[0]!)): { state: RunState; rules: string[] } {
  const rules = events.flatMap((e) =>
    applyRunEvent(state, e, { thresholds, now: 1 }).alerts.map((a) => a.rule),
  );
  return { state, rules };
}

/** Eleven identical searches (a loop alert), an idle sandbox (another), spend in three categories. */
function endedRun(): RunState {
  const events = [call(T0)];
  for (let i = 1; i <= 11; i++) events.push(tool(T0 + i * 1_000, 'same'), tool(T0 + i * 1_000 + 1, `q${i}`));
  events.push(sandbox(T0 + 20_000, 90), call(T0 + 30_000), end(T0 + 40_000));
  const { state, rules } = play(events);
  assert.deepEqual(rules, ['run_loop', 'run_idle_sandbox']);
  return state;
}

describe('packed runs', () => {
  it('unpack to the run that was packed, field by field and in the changelog JSON', () => {
    const state = endedRun();
    assert.equal(state.customer, null);
    assert.equal(state.sandboxAfterEnd, null);
    const packed = packRun(key, state);
    assert.ok(packed !== null && isPacked(packed));
    const back = unpackRun(key, packed, createInterner());
    assert.deepEqual(back, state);
    assert.equal(JSON.stringify(back), JSON.stringify(state));
  });

  it('carry nulls, a sandbox running after the end, and times an eviction scan reads alone', () => {
    const state = {
      ...endedRun(),
      lastActivity: null,
      sandboxAfterEnd: T0 + 50_000,
      currency: null,
      feature: null,
    };
    const packed = packRun(key, state);
    assert.ok(packed !== null);
    assert.deepEqual(unpackRun(key, packed, createInterner()), state);
    assert.deepEqual(packedTimes(packed), { ended: T0 + 40_000, last: T0 + 40_000 });
  });

  it('are only ended runs the layout can hold; anything else stays an object', () => {
    const open = play([call(T0)]).state;
    assert.equal(packRun(runKey('acmé', 'run-ü-1'), open), null, 'not ended');
    const state = endedRun();
    assert.equal(packRun(key, { ...state, fired: [...state.fired, 'run_from_a_newer_detector'] }), null);
    assert.equal(packRun(key, { ...state, feature: 'x'.repeat(70_000) }), null);
    assert.equal(packRun(runKey('other', 'run-ü-1'), state), null, 'a key that is not this run');
  });

  it('go on where they were once unpacked: late calls count on, fired rules stay fired', () => {
    const state = endedRun();
    const packed = packRun(key, state);
    assert.ok(packed !== null);
    const back = unpackRun(key, packed, createInterner());
    const late = play([tool(T0 + 41_000, 'same'), sandbox(T0 + 200_000, 0)], back);
    assert.deepEqual(late.rules, [], 'loop and idle sandbox already alerted for this run');
    assert.equal(back.toolCalls[back.toolCalls.indexOf(back.toolCalls[0]!) + 1], 12);
    assert.equal(back.sandboxAfterEnd, T0 + 200_000);
  });
});
