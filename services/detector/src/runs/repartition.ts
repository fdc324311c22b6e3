/**
 * The run stage's contribution to the feature and budget stages: per batch, one slice per (org,
 * feature, currency, window) with its breakdown by model, agent, customer and category, and one per
 * (budget, month, currency) with its exact sum.
 */
import type { BudgetSlice } from '../budgets/budget.ts';
import { monthOf } from '../budgets/budget.ts';
import { emptyDims } from '../features/baseline.ts';
import type { FeatureSlice } from '../features/windows.ts';
import type { PricedView } from '../priced-view.ts';

export function addFeatureSlice(
  slices: Map<string, FeatureSlice>,
  event: PricedView,
  windowMs: number,
): void {
  const usage = event.usage;
  const t = usage.event_time;
  const windowStart = t - (((t % windowMs) + windowMs) % windowMs);
  const feature = usage.feature ?? '';
  const key = `${usage.org_id}\u0000${feature}\u0000${event.currency}\u0000${windowStart}`;
  let slice = slices.get(key);
  if (!slice) {
    slice = {
      org: usage.org_id,
      feature,
      currency: event.currency,
      windowStart,
      costNanos: 0,
      events: 0,
      first: t,
      last: t,
      dims: emptyDims(),
    };
    slices.set(key, slice);
  }
  slice.events++;
  slice.first = Math.min(slice.first, t);
  slice.last = Math.max(slice.last, t);
  const cost = event.total_nanos;
  if (cost === 0) return;
  slice.costNanos += cost;
  const dims = slice.dims;
  const model = usage.model ?? `(${usage.kind})`;
  dims.model[model] = (dims.model[model] ?? 0) + cost;
  const agent = usage.agent_name ?? '(unnamed)';
  dims.agent[agent] = (dims.agent[agent] ?? 0) + cost;
  const customer = usage.customer_id ?? '(none)';
  dims.customer[customer] = (dims.customer[customer] ?? 0) + cost;
  for (const line of event.line_items)
    if (line.cost_nanos) dims.category[line.category] = (dims.category[line.category] ?? 0) + line.cost_nanos;
}

export function addBudgetSlice(slices: Map<string, BudgetSlice>, policyId: string, event: PricedView): void {
  const t = event.usage.event_time;
  const period = monthOf(t).key;
  const key = `${policyId}\u0000${period}\u0000${event.currency}`;
  let slice = slices.get(key);
  if (!slice) {
    slice = {
      policyId,
      org: event.usage.org_id,
      period,
      currency: event.currency,
      costNanos: '0',
      events: 0,
      first: t,
      last: t,
    };
    slices.set(key, slice);
  }
  slice.costNanos = String(BigInt(slice.costNanos) + BigInt(event.total_nanos));
  slice.events++;
  slice.first = Math.min(slice.first, t);
  slice.last = Math.max(slice.last, t);
}
