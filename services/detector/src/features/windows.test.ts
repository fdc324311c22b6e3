import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CostAlert, createPolicyIndex } from '@tollgate/core';
import { type BaselineOptions, emptyDims, expectation, hourOfWeek, learn, newBaseline } from './baseline.ts';
import {
  addSlice,
  checkOpenWindow,
  closeWindow,
  type FeatureContext,
  type FeatureSlice,
  type FeatureState,
  newFeatureState,
} from './windows.ts';

const W = 300_000;
const T0 = Date.UTC(2026, 10, 23, 0, 0, 0); // a Monday
const USD = 1_000_000_000;
const options: BaselineOptions = { alpha: 0.2, seasonalAlpha: 0.3, minSeasonalSamples: 24 };
const ctx: FeatureContext = {
  windowMs: W,
  baseline: options,
  thresholds: createPolicyIndex().featureThresholds({ org_id: 'acme', feature: 'search', customer_id: null }),
  now: 42,
};

/** A deterministic wobble in [-1, 1). */
const wobble = (i: number) => ((i * 7919) % 200) / 100 - 1;

function slice(
  windowStart: number,
  costNanos: number,
  models: Record<string, number> = { 'claude-sonnet-4.5': 1 },
): FeatureSlice {
  const dims = emptyDims();
  for (const [model, share] of Object.entries(models)) dims.model[model] = Math.round(costNanos * share);
  dims.category.tokens = costNanos;
  return {
    org: 'acme',
    feature: 'search',
    currency: 'USD',
    windowStart,
    costNanos,
    events: 10,
    first: windowStart + 1,
    last: windowStart + W - 1,
    dims,
  };
}

/** Feeds one slice per window and closes each; returns the alerts. */
function feed(state: FeatureState, windows: FeatureSlice[]): CostAlert[] {
  const alerts: CostAlert[] = [];
  for (const s of windows) {
    assert.equal(addSlice(state, s, s.windowStart, W), 'applied');
    const early = checkOpenWindow(state, s.windowStart, ctx);
    if (early) alerts.push(early);
    const final = closeWindow(state, s.windowStart, ctx);
    if (final) alerts.push(final);
  }
  return alerts;
}

function steady(count: number, from = 0): FeatureSlice[] {
  return Array.from({ length: count }, (_, i) =>
    slice(T0 + (from + i) * W, Math.round((10 + wobble(from + i)) * USD)),
  );
}

describe('feature windows', () => {
  it('stay quiet on steady spend with ordinary noise', () => {
    const state = newFeatureState(slice(T0, 1));
    assert.deepEqual(feed(state, steady(100)), []);
    const expected = expectation(state.baseline, T0 + 100 * W, options);
    assert.ok(Math.abs(expected.mean - 10 * USD) < 0.5 * USD, `mean ${expected.mean}`);
  });

  it('alert on a spike and name the model that caused it against its usual share', () => {
    const state = newFeatureState(slice(T0, 1));
    feed(state, steady(40));
    const spike = slice(T0 + 40 * W, 42 * USD, { 'claude-sonnet-4.5': 0.2, 'claude-opus-4.1': 0.8 });
    const alerts = feed(state, [spike]);
    assert.equal(alerts.length, 1);
    const alert = alerts[0]!;
    assert.equal(alert.rule, 'feature_spike');
    assert.equal(alert.feature, 'search');
    assert.equal(alert.observed, 42 * USD);
    assert.ok(Math.abs(alert.expected - 10 * USD) < 0.5 * USD);
    assert.equal(alert.window_start, T0 + 40 * W);
    assert.equal(alert.window_end, T0 + 41 * W);
    assert.deepEqual(alert.contributors[0], {
      dimension: 'model',
      value: 'claude-opus-4.1',
      observed: 33.6 * USD,
      expected: 0,
    });
    assert.match(alert.explanation, /Feature search of org acme spent \$42\.00 .*4\.\d× its usual/);
    assert.match(alert.explanation, /model claude-opus-4\.1 \$33\.60 \(80% of the window, usually 0%\)/);
    assert.equal(alert.severity, 'critical');
  });

  it('alerts once per episode of consecutive spiking windows, with the first window as its id', () => {
    const state = newFeatureState(slice(T0, 1));
    feed(state, steady(40));
    const spikes = [40, 41, 42].map((i) => slice(T0 + i * W, 45 * USD));
    const alerts = feed(state, spikes);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.window_start, T0 + 40 * W);
    // Back to normal, then a new spike: a new episode.
    feed(state, steady(10, 43));
    const again = feed(state, [slice(T0 + 53 * W, 60 * USD)]);
    assert.equal(again.length, 1);
    assert.notEqual(again[0]!.alert_id, alerts[0]!.alert_id);
  });

  it('alerts early, while the window is open, and not again when it closes', () => {
    const state = newFeatureState(slice(T0, 1));
    feed(state, steady(40));
    const w = T0 + 40 * W;
    addSlice(state, slice(w, 5 * USD), w, W);
    assert.equal(checkOpenWindow(state, w, ctx), null);
    addSlice(state, slice(w, 30 * USD), w, W);
    const early = checkOpenWindow(state, w, ctx);
    assert.ok(early);
    assert.match(early.explanation, /\(so far\)/);
    assert.equal(closeWindow(state, w, ctx), null);
  });

  it('ignores tiny volumes below the floor and a baseline still warming up', () => {
    const tiny = newFeatureState(slice(T0, 1));
    const cents = Array.from({ length: 30 }, (_, i) => slice(T0 + i * W, 0.01 * USD));
    assert.deepEqual(feed(tiny, [...cents, slice(T0 + 30 * W, 0.5 * USD)]), []);
    const young = newFeatureState(slice(T0, 1));
    assert.deepEqual(feed(young, [...steady(3), slice(T0 + 3 * W, 100 * USD)]), []);
  });

  it('learns windows without spend as zero, so a quiet feature waking up is judged against quiet', () => {
    const state = newFeatureState(slice(T0, 1));
    feed(state, steady(20));
    const afterGap = expectation(state.baseline, T0 + 60 * W, options).mean;
    feed(state, [slice(T0 + 60 * W, 10 * USD)]);
    assert.ok(expectation(state.baseline, T0 + 61 * W, options).mean < afterGap / 10);
  });

  it('counts a slice for a closed window as late instead of re-judging it', () => {
    const state = newFeatureState(slice(T0, 1));
    feed(state, steady(10));
    assert.equal(addSlice(state, slice(T0 + 2 * W, 3 * USD), T0 + 11 * W, W), 'late');
    assert.deepEqual(state.late, { events: 10, nanos: 3 * USD });
  });
});

describe('baseline seasonality', () => {
  it('compares a window with the same hour of earlier weeks once the slot has history', () => {
    const baseline = newBaseline();
    // Three weeks: Mondays 09:00-10:00 cost $50 per window, every other hour $10.
    for (let week = 0; week < 3; week++)
      for (let i = 0; i < 7 * 24 * 12; i++) {
        const start = T0 + week * 7 * 86_400_000 + i * W;
        learn(baseline, start, (hourOfWeek(start) === 9 ? 50 : 10) * USD, null, options);
      }
    const monday9 = T0 + 3 * 7 * 86_400_000 + 9 * 3_600_000;
    const expected = expectation(baseline, monday9, options);
    assert.equal(expected.seasonal, true);
    assert.ok(Math.abs(expected.mean - 50 * USD) < USD, `mean ${expected.mean}`);
    const young = newBaseline();
    learn(young, monday9, 50 * USD, null, options);
    assert.equal(expectation(young, monday9, options).seasonal, false);
  });
});
