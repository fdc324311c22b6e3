/**
 * What a feature normally spends per window, learnt from its closed windows. Pure.
 *
 * - Level: an exponentially weighted mean of window cost and of its absolute deviation (the EWMA
 *   analogue of the mean absolute deviation; × 1.25 approximates a standard deviation). The first
 *   windows use a plain running mean (alpha = 1/(n+1)) so a young baseline is not biased to zero.
 * - Seasonality: the same statistics per hour of the week (UTC). Once a slot has seen
 *   `minSeasonalSamples` windows, it is the expectation for windows in that hour: Monday 09:00 is
 *   compared with earlier Monday 09:00s, not with Sunday night.
 * - Shares: per dimension (model, agent, category, customer), the EWMA share of each value in the
 *   window's cost; a spike is explained by the values whose cost rose most above their usual share.
 *
 * Spiking windows are learnt clipped to the alert boundary, so a spike does not raise the bar for the
 * next window at once, while a lasting change is still absorbed over a few hours.
 */

export const DIMENSIONS = ['model', 'agent', 'category', 'customer'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export type Dims = Record<Dimension, Record<string, number>>;

export interface Stats {
  n: number;
  mean: number;
  dev: number;
}

export interface Baseline {
  global: Stats;
  /** Hour of week (0 = Monday 00:00 UTC … 167) → stats. */
  seasonal: Record<string, Stats>;
  shares: Dims;
}

export interface BaselineOptions {
  /** Weight of a new window in the level (0 < alpha ≤ 1). */
  alpha: number;
  /** Weight of a new window in its hour-of-week slot. */
  seasonalAlpha: number;
  /** Windows a slot needs before it is trusted. */
  minSeasonalSamples: number;
}

export interface Expectation {
  mean: number;
  /** Deviation scale (≈ standard deviation). */
  sigma: number;
  /** Windows of history behind the level. */
  n: number;
  seasonal: boolean;
}

const MAX_SHARE_VALUES = 64;
const MIN_SHARE = 0.001;
const HOUR_MS = 3_600_000;

export function emptyDims(): Dims {
  return { model: {}, agent: {}, category: {}, customer: {} };
}

export function newBaseline(): Baseline {
  return { global: { n: 0, mean: 0, dev: 0 }, seasonal: {}, shares: emptyDims() };
}

/** Hour of the week, Monday 00:00 UTC = 0. */
export function hourOfWeek(epochMs: number): number {
  const date = new Date(epochMs);
  return ((date.getUTCDay() + 6) % 7) * 24 + date.getUTCHours();
}

function update(stats: Stats, value: number, alpha: number): void {
  const a = Math.max(alpha, 1 / (stats.n + 1));
  const delta = value - stats.mean;
  stats.mean += a * delta;
  stats.dev += a * (Math.abs(delta) - stats.dev);
  stats.n++;
}

export function expectation(baseline: Baseline, windowStart: number, options: BaselineOptions): Expectation {
  const slot = baseline.seasonal[hourOfWeek(windowStart)];
  const seasonal = slot !== undefined && slot.n >= options.minSeasonalSamples;
  const stats = seasonal ? slot : baseline.global;
  return { mean: stats.mean, sigma: 1.25 * stats.dev, n: baseline.global.n, seasonal };
}

/** Learns one closed window. `clipTo` (the alert boundary) caps what a spiking window teaches. */
export function learn(
  baseline: Baseline,
  windowStart: number,
  cost: number,
  dims: Dims | null,
  options: BaselineOptions,
  clipTo: number | null = null,
): void {
  const value = clipTo === null ? cost : Math.min(cost, clipTo);
  update(baseline.global, value, options.alpha);
  const slotKey = String(hourOfWeek(windowStart));
  const slot = baseline.seasonal[slotKey] ?? { n: 0, mean: 0, dev: 0 };
  baseline.seasonal[slotKey] = slot;
  update(slot, value, options.seasonalAlpha);
  if (dims === null || cost <= 0) return;
  // A spike's mix is what is being explained: learn it slowly.
  const alpha = clipTo !== null && cost > clipTo ? options.alpha / 4 : options.alpha;
  for (const dimension of DIMENSIONS) learnShares(baseline.shares[dimension], dims[dimension], cost, alpha);
}

/** `count` windows with no spend at all (they are as real as busy ones). */
export function learnEmptyWindows(
  baseline: Baseline,
  firstWindowStart: number,
  windowMs: number,
  count: number,
  options: BaselineOptions,
): void {
  // After a week of silence every slot has been visited; older silence teaches nothing new.
  const capped = Math.min(count, Math.ceil((168 * HOUR_MS) / windowMs));
  const skip = count - capped;
  for (let i = 0; i < capped; i++)
    learn(baseline, firstWindowStart + (skip + i) * windowMs, 0, null, options);
}

function learnShares(
  shares: Record<string, number>,
  values: Record<string, number>,
  total: number,
  alpha: number,
) {
  const first = Object.keys(shares).length === 0;
  const a = first ? 1 : alpha;
  for (const key of Object.keys(shares)) shares[key]! *= 1 - a;
  for (const [key, cost] of Object.entries(values)) shares[key] = (shares[key] ?? 0) + (a * cost) / total;
  const entries = Object.entries(shares);
  if (entries.length <= MAX_SHARE_VALUES && entries.every(([, share]) => share >= MIN_SHARE)) return;
  entries.sort((x, y) => y[1] - x[1]);
  for (const [key, share] of entries.slice(0, MAX_SHARE_VALUES)) if (share < MIN_SHARE) delete shares[key];
  for (const [key] of entries.slice(MAX_SHARE_VALUES)) delete shares[key];
}

export interface SpikeThresholds {
  minWindowCostNanos: number;
  spikeRatio: number;
  spikeSigmas: number;
  warmupWindows: number;
}

/** The cost above which a window is a spike (Infinity while the baseline is warming up). */
export function alertBoundary(expected: Expectation, th: SpikeThresholds): number {
  if (expected.n < th.warmupWindows) return Number.POSITIVE_INFINITY;
  const noise = Math.max(expected.sigma, 0.05 * expected.mean);
  return Math.max(
    th.minWindowCostNanos,
    th.spikeRatio * expected.mean,
    expected.mean + th.spikeSigmas * noise,
  );
}
