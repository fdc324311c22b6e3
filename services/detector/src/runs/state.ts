/**
 * Per-run state, local to the priced-topic partition that carries the run (priced events are keyed by
 * run_id, so one task sees every event of a run, in order). Plain JSON-able data: a task snapshots the
 * runs a batch touched to its changelog and restores them on assignment.
 */
import { murmur3x86_128 } from '@tollgate/core';
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
  /**
   * Calls per distinct (tool, arguments), flat: {@link signatureHash} and count interleaved
   * (`[hash, calls, hash, calls, …]`); at most MAX_TOOL_SIGNATURES pairs.
   */
  toolCalls: number[];
  /**
   * Trailing-window spend, flat: bucket start and nanos interleaved (`[start, nanos, start, nanos, …]`),
   * ascending, only buckets inside the window. An array per bucket was a third of a run's memory.
   */
  velocity: number[];
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

/**
 * One copy of each of the strings many runs share (org, feature, customer, currency): decoding gives
 * every event its own, and a run kept its first event's for as long as it is held. Bounded: past
 * `limit` distinct strings it starts over.
 */
export function createInterner(limit = 10_000): <T extends string | null>(value: T) => T {
  const pool = new Map<string, string>();
  return <T extends string | null>(value: T): T => {
    if (value === null) return value;
    const known = pool.get(value);
    if (known !== undefined) return known as T;
    if (pool.size >= limit) pool.clear();
    pool.set(value, value);
    return value;
  };
}

const noIntern = <T extends string | null>(value: T): T => value;

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);
const words = new Uint32Array(4);

/**
 * A 53-bit hash (MurmurHash3 x86 128, the first 53 bits) of `${tool_name}\u0000${call_signature}`:
 * what a run keeps of a tool call's arguments. Two signatures of one run share a hash with odds of
 * about 256² in 2⁵⁴ at the most signatures a run keeps.
 */
export function signatureHash(key: string): number {
  if (scratch.length < key.length * 3) scratch = new Uint8Array(key.length * 3);
  const { written } = encoder.encodeInto(key, scratch);
  murmur3x86_128(scratch, written, 0, words);
  return words[0]! * 2 ** 21 + (words[1]! >>> 11);
}

/**
 * The state of a run, from its first event. Memory per run is what bounds the detector: a fleet of
 * short runs keeps (run rate × end grace) of them (the soak benchmark: 185 runs/s, ~110,000 runs held).
 * Hence flat arrays of doubles for the tool calls and the velocity buckets: a signature string per
 * tool call kept in an object, and an array per bucket, were 650 and 430 of a typical run's 1,800
 * bytes; now about 750 in all (shared strings interned, see {@link createInterner}). Once ended, a run
 * is held packed, about 370 bytes (see packed.ts).
 */
export function newRunState(event: PricedView, intern = noIntern): RunState {
  const usage = event.usage;
  return {
    org: intern(usage.org_id),
    run: usage.run_id,
    feature: intern(usage.feature),
    customer: intern(usage.customer_id),
    currency: null,
    first: usage.event_time,
    last: usage.event_time,
    costNanos: 0,
    costByCategory: {},
    steps: 0,
    subagents: 0,
    maxDepth: 0,
    toolCalls: [],
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
  state: Pick<RunState, 'ended' | 'last'>,
  watermark: number,
  { endGraceMs, inactivityMs }: { endGraceMs: number; inactivityMs: number },
): boolean {
  if (state.ended !== null && watermark > Math.max(state.ended, state.last) + endGraceMs) return true;
  return watermark > state.last + inactivityMs;
}

/**
 * A run's state from its changelog JSON (`JSON.stringify` of a RunState), shaped as
 * {@link newRunState} makes it. Reads what detectors before 2026-12-07 wrote too: tool calls as an
 * object of signature keys (and a `toolSignatures` count), velocity as [start, nanos] pairs.
 */
export function parseRunState(json: string, intern = noIntern): RunState {
  const s = JSON.parse(json) as Omit<RunState, 'toolCalls' | 'velocity'> & {
    toolCalls: number[] | Record<string, number>;
    velocity: number[] | [number, number][];
  };
  const toolCalls = Array.isArray(s.toolCalls)
    ? s.toolCalls
    : Object.entries(s.toolCalls).flatMap(([key, calls]) => [signatureHash(key), calls]);
  const velocity = s.velocity.flat();
  return {
    org: intern(s.org),
    run: s.run,
    feature: intern(s.feature),
    customer: intern(s.customer),
    currency: intern(s.currency),
    first: s.first,
    last: s.last,
    costNanos: s.costNanos,
    costByCategory: s.costByCategory,
    steps: s.steps,
    subagents: s.subagents,
    maxDepth: s.maxDepth,
    toolCalls,
    velocity,
    lastActivity: s.lastActivity,
    idleSeconds: s.idleSeconds,
    idleCostNanos: s.idleCostNanos,
    sandboxAfterEnd: s.sandboxAfterEnd,
    ended: s.ended,
    fired: s.fired,
  };
}
