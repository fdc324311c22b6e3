/**
 * Per-(org, feature) tumbling event-time windows and spike detection, pure. A window [w, w + W)
 * collects cost slices; it is judged early (as soon as its partial cost crosses the alert boundary,
 * since cost only grows) and finally when the watermark passes its end, and then taught to the
 * baseline. Consecutive spiking windows are one episode and alert once, with the id of the episode's
 * first window.
 */
import type { AlertContributor, CostAlert, FeatureThresholds } from '@tollgate/core';
import { buildAlert, duration, money, percent, severityForRatio, utcMinute } from '../alerts.ts';
import {
  alertBoundary,
  type Baseline,
  type BaselineOptions,
  DIMENSIONS,
  type Dims,
  emptyDims,
  expectation,
  learn,
  learnEmptyWindows,
  newBaseline,
} from './baseline.ts';

/** Cost of one (org, feature, window) from one upstream batch. */
export interface FeatureSlice {
  org: string;
  /** '' for untagged spend. */
  feature: string;
  currency: string;
  windowStart: number;
  costNanos: number;
  events: number;
  first: number;
  last: number;
  dims: Dims;
}

export interface WindowAgg {
  cost: number;
  events: number;
  first: number;
  last: number;
  dims: Dims;
  alerted: boolean;
}

export interface FeatureState {
  org: string;
  feature: string;
  currency: string;
  baseline: Baseline;
  /** Start of the latest closed window. */
  lastClosed: number | null;
  open: Record<string, WindowAgg>;
  /** The running spike episode: its first and latest spiking window. */
  episode: { start: number; last: number } | null;
  /** Cost that arrived after its window closed: counted here, not re-judged. */
  late: { events: number; nanos: number };
  /** Latest event time seen, for eviction. */
  lastEventTime: number;
}

export interface FeatureContext {
  windowMs: number;
  baseline: BaselineOptions;
  thresholds: FeatureThresholds;
  /** Wall-clock time of detection. */
  now: number;
}

export function featureKey(org: string, feature: string): string {
  return `${org}\u0000${feature}`;
}

export function newFeatureState(slice: FeatureSlice): FeatureState {
  return {
    org: slice.org,
    feature: slice.feature,
    currency: slice.currency,
    baseline: newBaseline(),
    lastClosed: null,
    open: {},
    episode: null,
    late: { events: 0, nanos: 0 },
    lastEventTime: slice.last,
  };
}

function mergeDims(into: Dims, from: Dims): void {
  for (const dimension of DIMENSIONS)
    for (const [value, cost] of Object.entries(from[dimension]))
      into[dimension][value] = (into[dimension][value] ?? 0) + cost;
}

/**
 * Adds a slice to its window. `closedBefore`: windows ending at or before it are closed (the
 * watermark); a slice for one of them is late and only counted.
 */
export function addSlice(
  state: FeatureState,
  slice: FeatureSlice,
  closedBefore: number,
  windowMs: number,
): 'applied' | 'late' {
  state.lastEventTime = Math.max(state.lastEventTime, slice.last);
  const closed =
    slice.windowStart + windowMs <= closedBefore ||
    (state.lastClosed !== null && slice.windowStart <= state.lastClosed);
  if (closed) {
    state.late.events += slice.events;
    state.late.nanos += slice.costNanos;
    return 'late';
  }
  const agg = state.open[slice.windowStart] ?? {
    cost: 0,
    events: 0,
    first: slice.first,
    last: slice.last,
    dims: emptyDims(),
    alerted: false,
  };
  state.open[slice.windowStart] = agg;
  agg.cost += slice.costNanos;
  agg.events += slice.events;
  agg.first = Math.min(agg.first, slice.first);
  agg.last = Math.max(agg.last, slice.last);
  mergeDims(agg.dims, slice.dims);
  return 'applied';
}

function spikeThresholds(ctx: FeatureContext) {
  const th = ctx.thresholds;
  return {
    minWindowCostNanos: th.minWindowCost.nanos,
    spikeRatio: th.spikeRatio,
    spikeSigmas: th.spikeSigmas,
    warmupWindows: th.warmupWindows,
  };
}

/** Early check of an open window: alerts the moment its partial cost crosses the boundary. */
export function checkOpenWindow(
  state: FeatureState,
  windowStart: number,
  ctx: FeatureContext,
): CostAlert | null {
  const agg = state.open[windowStart];
  if (!agg || agg.alerted) return null;
  return judge(state, windowStart, agg, ctx, true);
}

/** Closes a window: final judgement (if not alerted early), then the baseline learns it. */
export function closeWindow(state: FeatureState, windowStart: number, ctx: FeatureContext): CostAlert | null {
  const agg = state.open[windowStart];
  delete state.open[windowStart];
  if (state.lastClosed !== null && windowStart > state.lastClosed + ctx.windowMs) {
    const gap = (windowStart - state.lastClosed) / ctx.windowMs - 1;
    learnEmptyWindows(state.baseline, state.lastClosed + ctx.windowMs, ctx.windowMs, gap, ctx.baseline);
  }
  state.lastClosed = Math.max(state.lastClosed ?? windowStart, windowStart);
  const boundary = alertBoundary(
    expectation(state.baseline, windowStart, ctx.baseline),
    spikeThresholds(ctx),
  );
  const alert = agg && !agg.alerted ? judge(state, windowStart, agg, ctx, false) : null;
  // An episode ends with the first window that closes without spiking.
  if (!agg?.alerted && state.episode !== null && state.episode.last < windowStart) state.episode = null;
  learn(
    state.baseline,
    windowStart,
    agg?.cost ?? 0,
    agg?.dims ?? null,
    ctx.baseline,
    agg?.alerted ? boundary : null,
  );
  return alert;
}

function judge(
  state: FeatureState,
  windowStart: number,
  agg: WindowAgg,
  ctx: FeatureContext,
  partial: boolean,
): CostAlert | null {
  const expected = expectation(state.baseline, windowStart, ctx.baseline);
  const boundary = alertBoundary(expected, spikeThresholds(ctx));
  if (agg.cost < boundary) return null;
  agg.alerted = true;
  // A window right after a spiking one continues its episode: no second alert.
  const episode = state.episode;
  const continues = episode !== null && episode.last === windowStart - ctx.windowMs;
  state.episode = { start: continues ? episode.start : windowStart, last: windowStart };
  if (continues) return null;
  const contributors = explainContributors(agg, state.baseline.shares, expected.mean);
  const label = state.feature === '' ? 'Untagged spend' : `Feature ${state.feature}`;
  const ratio = expected.mean > 0 ? agg.cost / expected.mean : Number.POSITIVE_INFINITY;
  const times = Number.isFinite(ratio) ? `${ratio.toFixed(1)}× its usual` : 'against a usual';
  const usual = `${money(expected.mean, state.currency)} (±${money(expected.sigma, state.currency)}, ${expected.seasonal ? 'same hour of week' : `learnt over ${expected.n} windows`})`;
  const reasons = contributors
    .slice(0, 3)
    .map(
      (c) =>
        `${c.dimension} ${c.value} ${money(c.observed, state.currency)} (${percent(c.observed / agg.cost)} of the window, usually ${expected.mean > 0 ? percent(c.expected / expected.mean) : '0%'})`,
    )
    .join('; ');
  return buildAlert({
    scopeKey: `feature\u0000${featureKey(state.org, state.feature)}`,
    discriminator: windowStart,
    rule: 'feature_spike',
    severity: severityForRatio(agg.cost, 2 * expected.mean),
    scope: 'feature',
    org_id: state.org,
    run_id: null,
    feature: state.feature === '' ? null : state.feature,
    customer_id: null,
    window_start: windowStart,
    window_end: windowStart + ctx.windowMs,
    observed: agg.cost,
    expected: Math.round(expected.mean),
    unit: 'usd_nanos',
    explanation: `${label} of org ${state.org} spent ${money(agg.cost, state.currency)} in the ${duration(ctx.windowMs)} window from ${utcMinute(windowStart)}${partial ? ' (so far)' : ''}, ${times} ${usual}. Largest increases: ${reasons || 'none stands out'}.`,
    contributors,
    first_event_time: agg.first,
    detected_at: ctx.now,
    policy_id: ctx.thresholds.policyIds[0] ?? null,
  });
}

/**
 * The values whose cost rose most above their usual share of a usual window, at most three per
 * dimension and eight in all, largest increase first.
 */
export function explainContributors(agg: WindowAgg, shares: Dims, expectedTotal: number): AlertContributor[] {
  const rows: (AlertContributor & { excess: number })[] = [];
  for (const dimension of DIMENSIONS) {
    const perDimension = Object.entries(agg.dims[dimension])
      .map(([value, observed]) => {
        const expected = Math.round((shares[dimension][value] ?? 0) * expectedTotal);
        return { dimension, value, observed, expected, excess: observed - expected };
      })
      .filter((row) => row.excess > 0)
      .sort((a, b) => b.excess - a.excess)
      .slice(0, 3);
    rows.push(...perDimension);
  }
  return rows
    .sort((a, b) => b.excess - a.excess)
    .slice(0, 8)
    .map(({ excess: _excess, ...row }) => row);
}
