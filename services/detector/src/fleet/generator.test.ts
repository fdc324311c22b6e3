import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicyIndex, type UsageEvent, validateUsageEvent } from '@tollgate/core';
import { applyRunEvent } from '../runs/rules.ts';
import { newRunState, type RunState } from '../runs/state.ts';
import { createFleet } from './generator.ts';
import { priceUsage } from './pricing.ts';

const start = Date.UTC(2026, 10, 2, 0, 0);
const options = {
  start,
  durationMs: 4 * 3_600_000,
  runsPerMinute: 20,
  orgs: 2,
  featuresPerOrg: 2,
  runAnomaliesPerType: 2,
  featureAnomaliesPerType: 1,
};

describe('fleet generator', () => {
  it('is deterministic for a seed and different for another', () => {
    const first = [...take(createFleet(options).events(), 2_000)];
    assert.deepEqual(first, [...take(createFleet(options).events(), 2_000)]);
    assert.notDeepEqual(first, [...take(createFleet({ ...options, seed: 7 }).events(), 2_000)]);
  });

  it('yields valid events in event-time order, with labelled anomalies that are really in the stream', () => {
    const fleet = createFleet(options);
    const runs = new Map<string, UsageEvent[]>();
    let previous = 0;
    for (const event of fleet.events()) {
      assert.ok(event.event_time >= previous, 'time order');
      previous = event.event_time;
      const valid = validateUsageEvent(event);
      assert.ok(valid.ok, JSON.stringify(valid));
      runs.set(event.run_id, [...(runs.get(event.run_id) ?? []), event]);
    }
    assert.deepEqual([...new Set(fleet.anomalies.map((a) => a.type))].sort(), [
      'cache_hit_collapse',
      'fanout_explosion',
      'model_swap',
      'retrieval_storm',
      'runaway_loop',
      'sandbox_left_running',
    ]);
    for (const anomaly of fleet.anomalies.filter((a) => a.scope === 'run')) {
      const events = runs.get(anomaly.runId!);
      assert.ok(events, anomaly.id);
      assert.ok(anomaly.start >= start + 2 * 3_600_000, 'after the warm-up');
    }
    const loop = runs.get(fleet.anomalies.find((a) => a.type === 'runaway_loop')!.runId!)!;
    const signatures = loop.flatMap((e) => (e.tool_call?.call_signature ? [e.tool_call.call_signature] : []));
    assert.ok(signatures.filter((s) => s === signatures[0]).length >= 100);
    const fanout = runs.get(fleet.anomalies.find((a) => a.type === 'fanout_explosion')!.runId!)!;
    assert.equal(fanout.filter((e) => e.kind === 'subagent_spawn').length, 400);
  });

  it('keeps normal runs under the default per-run thresholds', () => {
    const fleet = createFleet({ ...options, runAnomaliesPerType: 0, featureAnomaliesPerType: 0 });
    const thresholds = createPolicyIndex().runThresholds({ org_id: 'x', feature: null, customer_id: null });
    const states = new Map<string, RunState>();
    const alerts = [];
    for (const event of fleet.events()) {
      const priced = priceUsage(event);
      const state = states.get(event.run_id) ?? newRunState(priced);
      states.set(event.run_id, state);
      alerts.push(...applyRunEvent(state, priced, { thresholds, now: 0 }).alerts);
    }
    assert.ok(states.size > 2_000, `${states.size} runs`);
    assert.deepEqual(alerts, []);
  });

  it('makes feature anomalies cost at least twice what the feature normally does', () => {
    const injected = createFleet({ ...options, runAnomaliesPerType: 0 });
    const clean = createFleet({ ...options, runAnomaliesPerType: 0, featureAnomaliesPerType: 0 });
    const cost = (events: Iterable<UsageEvent>, org: string, feature: string, from: number, to: number) => {
      let sum = 0;
      for (const event of events)
        if (
          event.org_id === org &&
          event.feature === feature &&
          event.event_time >= from &&
          event.event_time < to
        )
          sum += priceUsage(event).total_nanos;
      return sum;
    };
    assert.equal(injected.anomalies.length, 3);
    for (const anomaly of injected.anomalies) {
      // Ten minutes in, runs started before the anomaly have finished.
      const span = [anomaly.org, anomaly.feature, anomaly.start + 600_000, anomaly.end] as const;
      const ratio = cost(injected.events(), ...span) / cost(clean.events(), ...span);
      assert.ok(ratio >= 2, `${anomaly.id}: ×${ratio.toFixed(2)}`);
    }
  });
});

function* take<T>(iterable: Iterable<T>, n: number): Generator<T> {
  let i = 0;
  for (const item of iterable) {
    if (i++ >= n) return;
    yield item;
  }
}
