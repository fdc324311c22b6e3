/**
 * Hard ceilings on the action path, enforced in-process: the decision is made before the action (a
 * model request, a spawn), from the run's own counters, with no network round trip.
 *
 * Units: tokens per request (input + max output), cost per run in nano-units of the estimator's
 * currency (configured as a decimal string such as "5.00"), subagents per run (every spawn in the
 * run's tree), spawn depth (the run's root agent is depth 0; a child of depth d+1 needs d+1 ≤ limit).
 * A ceiling left out inherits the meter's default; null switches it off. None is on by default.
 */

import type { Ceiling } from '@tollgate/core/contract/types';
import { ConfigError } from '@tollgate/core/errors';

export interface CeilingLimits {
  /** Input tokens plus max output tokens of one model request. */
  tokensPerRequest?: number | null;
  /** Estimated cost of one run, a decimal string in the estimator's currency ("5.00"). */
  costPerRun?: string | null;
  /** Subagents spawned in one run, at any depth. */
  subagentsPerRun?: number | null;
  /** Deepest level of the spawn tree (root agent = 0). */
  spawnDepth?: number | null;
}

export interface ResolvedCeilings {
  tokensPerRequest: number | null;
  costPerRunNanos: number | null;
  subagentsPerRun: number | null;
  spawnDepth: number | null;
}

export const NO_CEILINGS: ResolvedCeilings = Object.freeze({
  tokensPerRequest: null,
  costPerRunNanos: null,
  subagentsPerRun: null,
  spawnDepth: null,
});

/** Whole units above which nanos stop being exact in a double (2^53 nanos ≈ 9.007 million units). */
const MAX_COST_UNITS = 9_000_000;
const COST_TEXT = /^(\d{1,7})(?:\.(\d{1,9}))?$/;

/** "5.00" → 5_000_000_000 nanos, exactly (no binary float on the way). */
export function costToNanos(text: string, field: string): number {
  const match = typeof text === 'string' ? COST_TEXT.exec(text) : null;
  if (!match)
    throw new ConfigError(`${field}: must be a decimal string such as "5.00" (at most 9 decimals)`, {
      field,
    });
  const whole = Number(match[1]);
  if (whole > MAX_COST_UNITS) throw new ConfigError(`${field}: must be at most ${MAX_COST_UNITS}`, { field });
  return whole * 1_000_000_000 + Number((match[2] ?? '').padEnd(9, '0'));
}

function limit(value: number | null | undefined, field: string, min: number): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Number.isSafeInteger(value) || value < min)
    throw new ConfigError(`${field}: must be an integer ≥ ${min} or null, got ${String(value)}`, { field });
  return value;
}

/** The ceilings of one run: `overrides` field by field over `base` (undefined inherits, null is off). */
export function resolveCeilings(
  base: ResolvedCeilings,
  overrides: CeilingLimits | undefined,
  where: string,
): ResolvedCeilings {
  if (overrides === undefined) return base;
  const tokens = limit(overrides.tokensPerRequest, `${where}.tokensPerRequest`, 1);
  const subagents = limit(overrides.subagentsPerRun, `${where}.subagentsPerRun`, 0);
  const depth = limit(overrides.spawnDepth, `${where}.spawnDepth`, 0);
  const cost =
    overrides.costPerRun === undefined || overrides.costPerRun === null
      ? overrides.costPerRun
      : costToNanos(overrides.costPerRun, `${where}.costPerRun`);
  return {
    tokensPerRequest: tokens === undefined ? base.tokensPerRequest : tokens,
    costPerRunNanos: cost === undefined ? base.costPerRunNanos : cost,
    subagentsPerRun: subagents === undefined ? base.subagentsPerRun : subagents,
    spawnDepth: depth === undefined ? base.spawnDepth : depth,
  };
}

/** A decision to record (and, when refused, to throw): the CeilingDecision body less its verdict. */
export interface CeilingCheck {
  ceiling: Ceiling;
  limit: number;
  requested: number;
  observed: number;
}

/** tokens_per_request: refused when input + max output exceeds the limit. */
export function checkTokens(ceilings: ResolvedCeilings, requested: number): CeilingCheck | undefined {
  const max = ceilings.tokensPerRequest;
  return max !== null && requested > max
    ? { ceiling: 'tokens_per_request', limit: max, requested, observed: 0 }
    : undefined;
}

/**
 * cost_per_run: refused when the run's cost so far plus the request's worst-case estimate exceeds the
 * limit. When the request cannot be estimated (a model the rate card does not price), it is refused
 * only once the run has already reached the limit.
 */
export function checkCost(
  ceilings: ResolvedCeilings,
  spentNanos: number,
  estimateNanos: number | null,
): CeilingCheck | undefined {
  const max = ceilings.costPerRunNanos;
  if (max === null) return undefined;
  const requested = estimateNanos ?? 0;
  const over = estimateNanos === null ? spentNanos >= max : spentNanos + requested > max;
  return over ? { ceiling: 'cost_per_run', limit: max, requested, observed: spentNanos } : undefined;
}

/** spawn_depth: a child one level below `parentDepth` must stay within the limit. */
export function checkDepth(ceilings: ResolvedCeilings, parentDepth: number): CeilingCheck | undefined {
  const max = ceilings.spawnDepth;
  return max !== null && parentDepth + 1 > max
    ? { ceiling: 'spawn_depth', limit: max, requested: parentDepth + 1, observed: parentDepth }
    : undefined;
}

/** How many of `requested` spawns the subagent ceiling still allows, given `spawned` so far. */
export function allowedSpawns(ceilings: ResolvedCeilings, spawned: number, requested: number): number {
  const max = ceilings.subagentsPerRun;
  return max === null ? requested : Math.max(0, Math.min(requested, max - spawned));
}

/** Field by field, the lower of two limits (null on one side: the other side's). */
export function stricterCeilings(a: ResolvedCeilings, b: ResolvedCeilings): ResolvedCeilings {
  const lower = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.min(x, y));
  return {
    tokensPerRequest: lower(a.tokensPerRequest, b.tokensPerRequest),
    costPerRunNanos: lower(a.costPerRunNanos, b.costPerRunNanos),
    subagentsPerRun: lower(a.subagentsPerRun, b.subagentsPerRun),
    spawnDepth: lower(a.spawnDepth, b.spawnDepth),
  };
}
