import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BudgetPolicy, type CostAlert, parsePolicy } from '@tollgate/core';
import { applyBudgetSlice, type BudgetSlice, monthOf, newBudgetState } from './budget.ts';

const USD = 1_000_000_000n;
const NOV = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;

function budget(doc: Record<string, unknown> = {}): BudgetPolicy {
  const result = parsePolicy({
    policy_id: 'acme-month',
    kind: 'budget',
    scope: { org_id: 'acme' },
    amount: '1000',
    ...doc,
  });
  if (!result.ok || result.policy.kind !== 'budget') throw new Error('bad policy');
  return result.policy;
}

const slice = (dollars: bigint, at: number, fields: Partial<BudgetSlice> = {}): BudgetSlice => ({
  policyId: 'acme-month',
  org: 'acme',
  period: monthOf(at).key,
  currency: 'USD',
  costNanos: String(dollars * USD),
  events: 1,
  first: at,
  last: at,
  ...fields,
});

const ctx = { now: 7, forecastMinElapsedFraction: 0.1 };

describe('budgets', () => {
  it('alert at 50, 80 and 100 percent, once each per period', () => {
    const state = newBudgetState('acme-month');
    const policy = budget({ forecast: false });
    const alerts: CostAlert[] = [];
    for (let day = 0; day < 30; day++)
      alerts.push(...applyBudgetSlice(state, slice(40n, NOV + day * DAY), policy, ctx).alerts);
    assert.deepEqual(
      alerts.map((a) => [a.rule, a.severity, a.observed / 1e9]),
      [
        ['budget_threshold', 'info', 520],
        ['budget_threshold', 'warning', 800],
        ['budget_threshold', 'critical', 1000],
      ],
    );
    assert.match(
      alerts[2]!.explanation,
      /Org acme has spent \$1,000\.00 of its \$1,000\.00 budget for 2026-11 \(100%/,
    );
    assert.equal(alerts[0]!.scope, 'org');
    assert.equal(alerts[0]!.window_start, NOV);
    assert.equal(alerts[0]!.window_end, Date.UTC(2026, 11, 1));
    assert.equal(new Set(alerts.map((a) => a.alert_id)).size, 3);
  });

  it('alerts only the highest percentage a single jump crosses, and never the lower ones later', () => {
    const state = newBudgetState('acme-month');
    const policy = budget({ forecast: false });
    const first = applyBudgetSlice(state, slice(850n, NOV + DAY), policy, ctx).alerts;
    assert.deepEqual(
      first.map((a) => a.explanation.match(/past the (\d+)% mark/)?.[1]),
      ['80'],
    );
    assert.deepEqual(applyBudgetSlice(state, slice(10n, NOV + 2 * DAY), policy, ctx).alerts, []);
  });

  it('forecasts the period end from the run-rate, once, and only after enough of the month', () => {
    const state = newBudgetState('acme-month');
    const policy = budget();
    // $60 a day: $1800 projected, but the first two days are too early to say.
    assert.deepEqual(applyBudgetSlice(state, slice(60n, NOV + DAY), policy, ctx).alerts, []);
    assert.deepEqual(applyBudgetSlice(state, slice(60n, NOV + 2 * DAY), policy, ctx).alerts, []);
    const forecast = applyBudgetSlice(state, slice(60n, NOV + 3 * DAY + 1), policy, ctx).alerts;
    assert.equal(forecast.length, 1);
    assert.equal(forecast[0]!.rule, 'budget_forecast');
    assert.ok(forecast[0]!.observed > 1750 * 1e9 && forecast[0]!.observed < 1850 * 1e9);
    assert.match(forecast[0]!.explanation, /will spend about \$1,?\d+.*budget acme-month/);
    assert.deepEqual(applyBudgetSlice(state, slice(60n, NOV + 4 * DAY), policy, ctx).alerts, []);
  });

  it('does not forecast an overrun for spend on track', () => {
    const state = newBudgetState('acme-month');
    const alerts: CostAlert[] = [];
    for (let day = 0; day < 29; day++)
      alerts.push(...applyBudgetSlice(state, slice(30n, NOV + (day + 1) * DAY - 1), budget(), ctx).alerts);
    assert.deepEqual(
      alerts.map((a) => a.rule),
      ['budget_threshold', 'budget_threshold'],
    );
  });

  it('counts each month separately and a late event in the month it happened', () => {
    const state = newBudgetState('acme-month');
    const policy = budget({ forecast: false });
    applyBudgetSlice(state, slice(600n, NOV + DAY), policy, ctx);
    const december = Date.UTC(2026, 11, 2);
    assert.deepEqual(applyBudgetSlice(state, slice(100n, december), policy, ctx).alerts, []);
    const late = applyBudgetSlice(state, slice(300n, NOV + 20 * DAY), policy, ctx).alerts;
    assert.equal(late.length, 1);
    assert.equal(late[0]!.observed, 900 * 1e9);
    assert.deepEqual(Object.keys(state.periods).sort(), ['2026-11', '2026-12']);
  });

  it('names a customer or feature scope and skips spend in another currency', () => {
    const state = newBudgetState('b');
    const policy = budget({ scope: { org_id: 'acme', customer_id: 'c9' }, currency: 'EUR', forecast: false });
    assert.equal(applyBudgetSlice(state, slice(900n, NOV), policy, ctx).currencyMismatch, true);
    const alerts = applyBudgetSlice(state, slice(900n, NOV, { currency: 'EUR' }), policy, ctx).alerts;
    assert.equal(alerts[0]!.scope, 'customer');
    assert.equal(alerts[0]!.customer_id, 'c9');
    assert.match(alerts[0]!.explanation, /^Customer c9 of org acme has spent 900\.00 EUR/);
  });

  it('sums exactly beyond what a float holds', () => {
    const state = newBudgetState('big');
    const policy = budget({ amount: '100000000', forecast: false });
    for (let i = 0; i < 3; i++)
      applyBudgetSlice(state, { ...slice(0n, NOV), costNanos: '9007199254740993' }, policy, ctx);
    assert.equal(state.periods['2026-11']!.spentNanos, '27021597764222979');
  });
});
