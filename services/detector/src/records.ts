/**
 * Records on the detector's internal topics, as JSON. The run stage writes them; the feature and
 * budget stages read them. Parsing checks the shape (a record from an older or broken writer is a
 * dead letter, never a crash).
 *
 * Feature repartition records carry their source partition and its stream time (max event time
 * seen), and the run stage sends a `tick` with the same to every feature partition when its stream
 * time advances, so a feature task knows how far each upstream partition has got even when none of
 * its own features had traffic there.
 */
import type { BudgetSlice } from './budgets/budget.ts';
import { DIMENSIONS, type Dims } from './features/baseline.ts';
import type { FeatureSlice } from './features/windows.ts';

export type FeatureRecord =
  | { kind: 'slice'; src: number; srcTime: number; slice: FeatureSlice }
  | { kind: 'tick'; src: number; srcTime: number };

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export function encodeRecord(record: FeatureRecord | BudgetSlice): Buffer {
  return Buffer.from(JSON.stringify(record));
}

function json(bytes: Buffer | null): Parsed<Record<string, unknown>> {
  if (bytes === null) return { ok: false, reason: 'value is null' };
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return { ok: false, reason: 'not a JSON object' };
    return { ok: true, value: value as Record<string, unknown> };
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
}

const isInt = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);
const isString = (value: unknown): value is string => typeof value === 'string';

function isDims(value: unknown): value is Dims {
  if (typeof value !== 'object' || value === null) return false;
  const dims = value as Record<string, unknown>;
  return DIMENSIONS.every((d) => {
    const entries = dims[d];
    return typeof entries === 'object' && entries !== null && Object.values(entries).every(isInt);
  });
}

export function parseFeatureRecord(bytes: Buffer | null): Parsed<FeatureRecord> {
  const parsed = json(bytes);
  if (!parsed.ok) return parsed;
  const r = parsed.value;
  if (!isInt(r.src) || !isInt(r.srcTime)) return { ok: false, reason: 'src and srcTime must be integers' };
  if (r.kind === 'tick') return { ok: true, value: { kind: 'tick', src: r.src, srcTime: r.srcTime } };
  if (r.kind !== 'slice') return { ok: false, reason: `unknown kind ${JSON.stringify(r.kind)}` };
  const s = r.slice as Record<string, unknown> | undefined;
  if (
    !s ||
    !isString(s.org) ||
    !isString(s.feature) ||
    !isString(s.currency) ||
    !isInt(s.windowStart) ||
    !isInt(s.costNanos) ||
    !isInt(s.events) ||
    !isInt(s.first) ||
    !isInt(s.last) ||
    !isDims(s.dims)
  )
    return {
      ok: false,
      reason: 'slice: org, feature, currency, windowStart, costNanos, events, first, last, dims required',
    };
  return {
    ok: true,
    value: { kind: 'slice', src: r.src, srcTime: r.srcTime, slice: s as unknown as FeatureSlice },
  };
}

export function parseBudgetSlice(bytes: Buffer | null): Parsed<BudgetSlice> {
  const parsed = json(bytes);
  if (!parsed.ok) return parsed;
  const s = parsed.value;
  if (
    !isString(s.policyId) ||
    !isString(s.org) ||
    !isString(s.period) ||
    !/^\d{4}-\d{2}$/.test(s.period) ||
    !isString(s.currency) ||
    !isString(s.costNanos) ||
    !/^-?\d+$/.test(s.costNanos) ||
    !isInt(s.events) ||
    !isInt(s.first) ||
    !isInt(s.last)
  )
    return {
      ok: false,
      reason:
        'budget slice: policyId, org, period (YYYY-MM), currency, costNanos (integer string), events, first, last required',
    };
  return { ok: true, value: s as unknown as BudgetSlice };
}
