/**
 * Per-run rules, pure: (run state, priced event, thresholds) → alerts, updating the state in place
 * (the state object is owned by one partition task; copying it per event would cost more than the
 * rules). Each rule fires at most once per run, when its threshold is first reached.
 *
 * Idle sandboxes: the sandbox's own idle_seconds are the signal (a long tool call reports only when it
 * ends, so a gap between events proves nothing), plus every second a sandbox runs after run_end.
 */
import { type CostAlert, RUN_ALERT_RULES, type RunThresholds } from '@tollgate/core';
import { buildAlert, duration, money, severityForRatio, topByObserved } from '../alerts.ts';
import type { PricedView } from '../priced-view.ts';
import { MAX_TOOL_SIGNATURES, type RunState, runKey, signatureHash } from './state.ts';

/** The contract's per-run rules (tollgate alerts --rule takes the same names). */
export const RUN_RULES = RUN_ALERT_RULES;
export type RunRule = (typeof RUN_RULES)[number];

export interface RunRuleContext {
  thresholds: RunThresholds;
  /** Wall-clock time of detection. */
  now: number;
}

export interface RunEventResult {
  alerts: CostAlert[];
  /** The event's cost was in another currency than the run's and was not added. */
  currencyMismatch: boolean;
}

/** Applies one priced event (not a restatement) to its run and returns the alerts it triggers. */
export function applyRunEvent(state: RunState, event: PricedView, ctx: RunRuleContext): RunEventResult {
  const usage = event.usage;
  const t = usage.event_time;
  const alerts: CostAlert[] = [];
  state.first = Math.min(state.first, t);
  state.last = Math.max(state.last, t);
  state.feature ??= usage.feature;
  state.customer ??= usage.customer_id;
  state.maxDepth = Math.max(state.maxDepth, usage.agent_depth);

  state.currency ??= event.currency;
  const currencyMismatch = event.currency !== state.currency;
  const cost = currencyMismatch ? 0 : event.total_nanos;
  if (cost !== 0) {
    state.costNanos += cost;
    for (const line of event.line_items)
      if (line.cost_nanos !== null && line.cost_nanos !== 0)
        state.costByCategory[line.category] = (state.costByCategory[line.category] ?? 0) + line.cost_nanos;
    addVelocity(state, t, cost, ctx.thresholds.velocityWindowMs);
  }

  switch (usage.kind) {
    case 'model_call':
      markActivity(state, t);
      break;
    case 'tool_call': {
      markActivity(state, t);
      const call = usage.tool_call;
      if (call?.call_signature) {
        const count = countToolCall(state, signatureHash(`${call.tool_name}\u0000${call.call_signature}`));
        const limit = ctx.thresholds.loopRepeats;
        if (limit !== null && count >= limit && fire(state, 'run_loop'))
          alerts.push(
            runAlert(state, ctx, t, 'run_loop', count, limit, 'count', {
              text: `called tool "${call.tool_name}" ${count} times with identical arguments (signature ${call.call_signature}; threshold ${limit}): a likely loop`,
            }),
          );
      }
      break;
    }
    case 'subagent_spawn':
      state.subagents++;
      state.maxDepth = Math.max(state.maxDepth, usage.subagent_spawn?.child_depth ?? 0);
      break;
    case 'sandbox':
      if (state.lastActivity === null || t >= state.lastActivity) {
        state.idleSeconds += usage.sandbox?.idle_seconds ?? 0;
        state.idleCostNanos += cost;
      }
      if (state.ended !== null && t > state.ended)
        state.sandboxAfterEnd = Math.max(state.sandboxAfterEnd ?? t, t);
      break;
    case 'run_end':
      state.ended = t;
      break;
    default:
      break;
  }
  checkThresholds(state, ctx, t, alerts);
  return { alerts, currencyMismatch };
}

function checkThresholds(state: RunState, ctx: RunRuleContext, t: number, alerts: CostAlert[]): void {
  const th = ctx.thresholds;
  const costLimit = th.costPerRun;
  if (
    costLimit &&
    costLimit.currency === state.currency &&
    state.costNanos >= costLimit.nanos &&
    fire(state, 'run_cost')
  )
    alerts.push(
      runAlert(state, ctx, t, 'run_cost', state.costNanos, costLimit.nanos, 'usd_nanos', {
        text: `has spent ${money(state.costNanos, costLimit.currency)}, over its ${money(costLimit.nanos, costLimit.currency)} per-run threshold, in ${duration(t - state.first)}`,
      }),
    );
  if (th.subagentsPerRun !== null && state.subagents >= th.subagentsPerRun && fire(state, 'run_subagents'))
    alerts.push(
      runAlert(state, ctx, t, 'run_subagents', state.subagents, th.subagentsPerRun, 'count', {
        text: `spawned ${state.subagents} subagents (threshold ${th.subagentsPerRun}): a fan-out explosion`,
      }),
    );
  if (th.spawnDepth !== null && state.maxDepth >= th.spawnDepth && fire(state, 'run_spawn_depth'))
    alerts.push(
      runAlert(state, ctx, t, 'run_spawn_depth', state.maxDepth, th.spawnDepth, 'depth', {
        text: `spawned subagents ${state.maxDepth} levels deep (threshold ${th.spawnDepth})`,
      }),
    );
  if (th.stepsPerRun !== null && state.steps >= th.stepsPerRun && fire(state, 'run_steps'))
    alerts.push(
      runAlert(state, ctx, t, 'run_steps', state.steps, th.stepsPerRun, 'count', {
        text: `took ${state.steps} steps (model and tool calls; threshold ${th.stepsPerRun})`,
      }),
    );
  const velocityLimit = th.velocityCost;
  if (velocityLimit && velocityLimit.currency === state.currency) {
    const spent = trailingSpend(state, t, th.velocityWindowMs);
    if (spent >= velocityLimit.nanos && fire(state, 'run_velocity'))
      alerts.push(
        runAlert(state, ctx, t, 'run_velocity', spent, velocityLimit.nanos, 'usd_nanos', {
          text: `spent ${money(spent, velocityLimit.currency)} within ${duration(th.velocityWindowMs)} (threshold ${money(velocityLimit.nanos, velocityLimit.currency)} per ${duration(th.velocityWindowMs)})`,
          windowStart: t - th.velocityWindowMs,
        }),
      );
  }
  if (th.idleSandboxSeconds !== null) {
    const afterEnd =
      state.ended !== null && state.sandboxAfterEnd !== null
        ? (state.sandboxAfterEnd - state.ended) / 1000
        : 0;
    const idle = Math.max(state.idleSeconds, afterEnd);
    if (idle >= th.idleSandboxSeconds && fire(state, 'run_idle_sandbox')) {
      const where =
        afterEnd >= th.idleSandboxSeconds ? ' after the run ended' : ' with no model or tool activity';
      alerts.push(
        runAlert(state, ctx, t, 'run_idle_sandbox', Math.round(idle), th.idleSandboxSeconds, 'seconds', {
          text: `kept a sandbox running ${duration(idle * 1000)}${where} (threshold ${duration(th.idleSandboxSeconds * 1000)}), costing ${money(state.idleCostNanos, state.currency ?? 'USD')} meanwhile`,
        }),
      );
    }
  }
}

function fire(state: RunState, rule: RunRule): boolean {
  if (state.fired.includes(rule)) return false;
  state.fired.push(rule);
  return true;
}

function markActivity(state: RunState, t: number): void {
  state.steps++;
  state.lastActivity = Math.max(state.lastActivity ?? t, t);
  state.idleSeconds = 0;
  state.idleCostNanos = 0;
}

function countToolCall(state: RunState, hash: number): number {
  const calls = state.toolCalls; // [hash, count, hash, count, …]
  for (let i = 0; i < calls.length; i += 2) if (calls[i] === hash) return ++calls[i + 1]!;
  if (calls.length >= 2 * MAX_TOOL_SIGNATURES) {
    // Keep the memory bounded: forget calls seen once (a loop repeats, so it is never among them).
    let kept = 0;
    for (let i = 0; i < calls.length; i += 2)
      if (calls[i + 1]! > 1) {
        calls[kept] = calls[i]!;
        calls[kept + 1] = calls[i + 1]!;
        kept += 2;
      }
    calls.length = kept;
  }
  calls.push(hash, 1);
  return 1;
}

function bucketMs(windowMs: number): number {
  return Math.max(1_000, Math.floor(windowMs / 12));
}

function addVelocity(state: RunState, t: number, cost: number, windowMs: number): void {
  const size = bucketMs(windowMs);
  const start = t - (t % size);
  if (start <= state.last - windowMs) return; // older than the trailing window: it cannot raise it
  const v = state.velocity; // [start, nanos, start, nanos, …]
  let i = v.length - 2;
  while (i >= 0 && v[i]! > start) i -= 2;
  if (i >= 0 && v[i] === start) v[i + 1]! += cost;
  else v.splice(i + 2, 0, start, cost);
  let expired = 0;
  while (expired < v.length && v[expired]! + size <= state.last - windowMs) expired += 2;
  if (expired > 0) v.splice(0, expired);
}

/** Spend in buckets overlapping (t − window, t]: at most one bucket more than the exact window. */
function trailingSpend(state: RunState, t: number, windowMs: number): number {
  let sum = 0;
  const size = bucketMs(windowMs);
  const v = state.velocity;
  for (let i = 0; i < v.length; i += 2) if (v[i]! + size > t - windowMs && v[i]! <= t) sum += v[i + 1]!;
  return sum;
}

function runAlert(
  state: RunState,
  ctx: RunRuleContext,
  t: number,
  rule: RunRule,
  observed: number,
  expected: number,
  unit: string,
  { text, windowStart }: { text: string; windowStart?: number },
): CostAlert {
  const where = [
    state.feature ? `feature ${state.feature}` : null,
    state.customer ? `customer ${state.customer}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  const spent = money(state.costNanos, state.currency ?? 'USD');
  return buildAlert({
    scopeKey: `run\u0000${runKey(state.org, state.run)}`,
    discriminator: expected,
    rule,
    severity: severityForRatio(observed, expected),
    scope: 'run',
    org_id: state.org,
    run_id: state.run,
    feature: state.feature,
    customer_id: state.customer,
    window_start: windowStart ?? state.first,
    window_end: t,
    observed,
    expected,
    unit,
    explanation: `Run ${state.run} (org ${state.org}${where ? `, ${where}` : ''}) ${text}. Spent ${spent} so far over ${state.steps} steps and ${state.subagents} subagents.`,
    contributors: topByObserved('category', state.costByCategory, 6),
    first_event_time: state.first,
    detected_at: ctx.now,
    policy_id: ctx.thresholds.policyIds[0] ?? null,
  });
}
