/**
 * Per-run state, local to the priced-topic partition that carries the run (priced events are keyed by
 * run_id, so one task sees every event of a run, in order). Plain JSON-able data: a task snapshots the
 * runs a batch touched to its changelog and restores them on assignment.
 */
import type { PricedView } from '../priced-view.ts';

export interface RunState {
  org: string;
  run: string;
  feature: string | null;
  customer: string | null;
  /** Currency of the first priced event; costs in another currency are not added (and are counted). */
  currency: string | null;
  /** Earliest and latest event time seen. */
  first: number;
  last: number;
  costNanos: number;
  costByCategory: Record<string, number>;
  /** Model calls plus tool calls. */
  steps: number;
  subagents: number;
  maxDepth: number;
  /** `${tool_name}\u0000${call_signature}` → calls; bounded by MAX_TOOL_SIGNATURES. */
  toolCalls: Record<string, number>;
  /** Number of keys in toolCalls (kept, not counted, on the hot path). */
  toolSignatures: number;
  /** Trailing-window spend: [bucket start, nanos], ascending, only buckets inside the window. */
  velocity: [number, number][];
  /** Latest model or tool call event time. */
  lastActivity: number | null;
  /** Sandbox idle_seconds reported since the last model or tool call. */
  idleSeconds: number;
  /** Sandbox cost since the last model or tool call. */
  idleCostNanos: number;
  /** Latest sandbox event time after run_end (all sandbox time after the end is idle). */
  sandboxAfterEnd: number | null;
  /** Event time of run_end. */
  ended: number | null;
  /** Rules that already alerted for this run: each fires at most once per run. */
  fired: string[];
}

/** Distinct (tool, arguments) pairs kept per run; repeated ones are what a loop looks like. */
export const MAX_TOOL_SIGNATURES = 256;

export function runKey(org: string, run: string): string {
  return `${org}\u0000${run}`;
}

export function newRunState(event: PricedView): RunState {
  const usage = event.usage;
  return {
    org: usage.org_id,
    run: usage.run_id,
    feature: usage.feature,
    customer: usage.customer_id,
    currency: null,
    first: usage.event_time,
    last: usage.event_time,
    costNanos: 0,
    costByCategory: {},
    steps: 0,
    subagents: 0,
    maxDepth: 0,
    toolCalls: {},
    toolSignatures: 0,
    velocity: [],
    lastActivity: null,
    idleSeconds: 0,
    idleCostNanos: 0,
    sandboxAfterEnd: null,
    ended: null,
    fired: [],
  };
}

/**
 * A run may be dropped once the partition's watermark is past its end plus a grace period (late
 * events of an ended run still land in it), or past its last event plus the inactivity timeout.
 */
export function isEvictable(
  state: RunState,
  watermark: number,
  { endGraceMs, inactivityMs }: { endGraceMs: number; inactivityMs: number },
): boolean {
  if (state.ended !== null && watermark > Math.max(state.ended, state.last) + endGraceMs) return true;
  return watermark > state.last + inactivityMs;
}
