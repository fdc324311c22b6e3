/**
 * Soft budgets, pure. A budget policy allocates an amount per calendar month (UTC) to an org, a
 * feature or a customer. Spend is summed exactly (bigint nanos) per period, by event time: a late
 * event counts in the month it happened. Alerts fire at most once per threshold per period: when a
 * batch crosses several percentages at once only the highest alerts (the lower ones are marked
 * fired, so they never alert afterwards). The forecast projects the linear run-rate since the period
 * start to its end, once enough of the period has elapsed to make a rate meaningful.
 */
import type { AlertSeverity, BudgetPolicy, CostAlert } from '@tollgate/core';
import { parseAmountNanos } from '@tollgate/core';
import { buildAlert, money } from '../alerts.ts';

/** Spend of one budget from one upstream batch. */
export interface BudgetSlice {
  policyId: string;
  org: string;
  /** 'YYYY-MM'. */
  period: string;
  currency: string;
  /** Exact nanos, as a decimal string (bigint). */
  costNanos: string;
  events: number;
  first: number;
  last: number;
}

export interface BudgetPeriodState {
  spentNanos: string;
  events: number;
  first: number;
  last: number;
  /** Rules already fired this period: 'pct:50', 'pct:80', 'forecast'. */
  fired: string[];
}

export interface BudgetState {
  policyId: string;
  periods: Record<string, BudgetPeriodState>;
}

export interface BudgetContext {
  now: number;
  /** The forecast waits until this fraction of the period has elapsed. */
  forecastMinElapsedFraction: number;
}

export interface Period {
  key: string;
  start: number;
  end: number;
}

export function monthOf(epochMs: number): Period {
  const date = new Date(epochMs);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return {
    key: `${year}-${String(month + 1).padStart(2, '0')}`,
    start: Date.UTC(year, month, 1),
    end: Date.UTC(year, month + 1, 1),
  };
}

export function periodFromKey(key: string): Period {
  const [year, month] = key.split('-').map(Number);
  return monthOf(Date.UTC(year!, month! - 1, 1));
}

export function newBudgetState(policyId: string): BudgetState {
  return { policyId, periods: {} };
}

export interface BudgetResult {
  alerts: CostAlert[];
  /** The slice was in another currency than the budget and was not added. */
  currencyMismatch: boolean;
}

/**
 * Adds a slice to its period and returns the alerts it triggers. `policy` is the budget as it is now
 * (undefined once deleted: spend is still summed, nothing alerts).
 */
export function applyBudgetSlice(
  state: BudgetState,
  slice: BudgetSlice,
  policy: BudgetPolicy | undefined,
  ctx: BudgetContext,
): BudgetResult {
  if (policy && slice.currency !== policy.currency) return { alerts: [], currencyMismatch: true };
  const period = state.periods[slice.period] ?? {
    spentNanos: '0',
    events: 0,
    first: slice.first,
    last: slice.last,
    fired: [],
  };
  state.periods[slice.period] = period;
  period.spentNanos = String(BigInt(period.spentNanos) + BigInt(slice.costNanos));
  period.events += slice.events;
  period.first = Math.min(period.first, slice.first);
  period.last = Math.max(period.last, slice.last);
  pruneOldPeriods(state);
  if (!policy) return { alerts: [], currencyMismatch: false };
  return { alerts: evaluate(policy, periodFromKey(slice.period), period, ctx), currencyMismatch: false };
}

/** Keeps the two latest periods (late events of last month still count against it). */
function pruneOldPeriods(state: BudgetState): void {
  for (const key of Object.keys(state.periods).sort().slice(0, -2)) delete state.periods[key];
}

function scopeOf(policy: BudgetPolicy): { scope: 'org' | 'feature' | 'customer'; label: string } {
  const s = policy.scope;
  if (s.customer_id != null)
    return {
      scope: 'customer',
      label: `customer ${s.customer_id}${s.feature != null ? ` on feature ${s.feature}` : ''} of org ${s.org_id}`,
    };
  if (s.feature != null) return { scope: 'feature', label: `feature ${s.feature} of org ${s.org_id}` };
  return { scope: 'org', label: `org ${s.org_id}` };
}

function evaluate(
  policy: BudgetPolicy,
  period: Period,
  state: BudgetPeriodState,
  ctx: BudgetContext,
): CostAlert[] {
  const amount = parseAmountNanos(policy.amount);
  const spent = BigInt(state.spentNanos);
  const { scope, label } = scopeOf(policy);
  const currency = policy.currency;
  const days = (ms: number) => (ms / 86_400_000).toFixed(1);
  const base = {
    severity: 'info' as AlertSeverity,
    scope,
    org_id: policy.scope.org_id,
    run_id: null,
    feature: policy.scope.feature ?? null,
    customer_id: policy.scope.customer_id ?? null,
    window_start: period.start,
    window_end: period.end,
    unit: 'usd_nanos',
    contributors: [],
    first_event_time: state.first,
    detected_at: ctx.now,
    policy_id: policy.policy_id,
    scopeKey: `budget\u0000${policy.policy_id}`,
  };
  const alerts: CostAlert[] = [];
  const crossed = [...policy.alert_at_percent]
    .sort((a, b) => a - b)
    .filter((pct) => spent * 100n >= amount * BigInt(pct) && !state.fired.includes(`pct:${pct}`));
  const highest = crossed.at(-1);
  for (const pct of crossed) state.fired.push(`pct:${pct}`);
  if (highest !== undefined) {
    const reached = Number((spent * 1000n) / amount) / 10;
    alerts.push(
      buildAlert({
        ...base,
        discriminator: `${period.key}:${highest}`,
        rule: 'budget_threshold',
        severity: highest >= 100 ? 'critical' : highest >= 80 ? 'warning' : 'info',
        observed: Number(spent),
        expected: Number(amount),
        explanation: `${capitalise(label)} has spent ${money(spent, currency)} of its ${money(amount, currency)} budget for ${period.key} (${reached}%, past the ${highest}% mark; budget ${policy.policy_id}), ${days(state.last - period.start)} days into the month.`,
      }),
    );
  }
  const length = period.end - period.start;
  const elapsed = Math.min(length, Math.max(0, state.last - period.start));
  if (
    policy.forecast &&
    spent < amount &&
    elapsed >= ctx.forecastMinElapsedFraction * length &&
    elapsed > 0 &&
    !state.fired.includes('forecast')
  ) {
    const projected = (spent * BigInt(length)) / BigInt(elapsed);
    if (projected > amount) {
      state.fired.push('forecast');
      alerts.push(
        buildAlert({
          ...base,
          discriminator: period.key,
          rule: 'budget_forecast',
          severity: 'warning',
          observed: Number(projected),
          expected: Number(amount),
          explanation: `At its run-rate so far (${money(spent, currency)} in ${days(elapsed)} days), ${label} will spend about ${money(projected, currency)} in ${period.key}, ${Number((projected * 100n) / amount)}% of its ${money(amount, currency)} budget ${policy.policy_id}.`,
        }),
      );
    }
  }
  return alerts;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
