/**
 * Builders of contract-valid events for tests of the sink and the API (they publish priced events
 * directly, without a pricer). Not used by production code.
 */
import type { CostAlert, LineItem, PricedEvent, UsageEvent } from '@tollgate/core/contract/types';

export function usageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    event_id: 'e-1',
    event_time: Date.UTC(2026, 0, 15, 10, 30),
    kind: 'model_call',
    run_id: 'run-1',
    agent_id: 'root',
    parent_agent_id: null,
    agent_name: 'planner',
    agent_depth: 0,
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    service_tier: 'default',
    org_id: 'acme',
    feature: 'search',
    customer_id: 'cust-1',
    environment: 'prod',
    tags: { team: 'growth' },
    source: 'simulator',
    provider_cost: null,
    model_call: {
      operation: 'chat',
      input_tokens: 1000,
      cache_read_tokens: 0,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 200,
      reasoning_tokens: 0,
      duration_ms: 900,
    },
    tool_call: null,
    subagent_spawn: null,
    sandbox: null,
    retrieval: null,
    cache_storage: null,
    egress: null,
    run_start: null,
    run_end: null,
    ceiling_decision: null,
    ...overrides,
  };
}

export function lineItem(overrides: Partial<LineItem> = {}): LineItem {
  return {
    line_no: 0,
    category: 'tokens',
    item: 'input',
    unit: 'token',
    quantity: '1000',
    unit_price: '0.000003',
    cost_nanos: 3_000_000,
    priced: true,
    ...overrides,
  };
}

/** A priced event; `total_nanos` and `has_unpriced` follow from the line items. */
export function pricedEvent(
  usage: Partial<UsageEvent> = {},
  lines: LineItem[] = [
    lineItem(),
    lineItem({
      line_no: 1,
      item: 'output',
      quantity: '200',
      unit_price: '0.000015',
      cost_nanos: 3_000_000,
    }),
  ],
  overrides: Partial<PricedEvent> = {},
): PricedEvent {
  return {
    usage: usageEvent(usage),
    line_items: lines,
    total_nanos: lines.reduce((sum, line) => sum + (line.priced ? (line.cost_nanos ?? 0) : 0), 0),
    currency: 'USD',
    has_unpriced: lines.some((line) => !line.priced),
    rate_card: { id: 'default', version: '2026-01-01', content_hash: 'sha256:abc' },
    priced_at: Date.UTC(2026, 0, 15, 10, 31),
    adjustment_of: null,
    ...overrides,
  };
}

/** A lifecycle event (run_start, run_end, subagent_spawn) carries no line items. */
export function runEvent(
  kind: 'run_start' | 'run_end',
  usage: Partial<UsageEvent> = {},
  outcome: 'success' | 'failure' | 'cancelled' | 'timeout' = 'success',
): PricedEvent {
  return pricedEvent(
    {
      kind,
      model_call: null,
      provider: null,
      model: null,
      run_start: kind === 'run_start' ? { trigger: 'api' } : null,
      run_end: kind === 'run_end' ? { outcome, duration_ms: 60_000 } : null,
      ...usage,
    },
    [],
  );
}

export function spawnEvent(
  child: { id: string; name: string; depth: number },
  usage: Partial<UsageEvent> = {},
): PricedEvent {
  return pricedEvent(
    {
      kind: 'subagent_spawn',
      model_call: null,
      subagent_spawn: { child_agent_id: child.id, child_agent_name: child.name, child_depth: child.depth },
      ...usage,
    },
    [],
  );
}

export function costAlert(overrides: Partial<CostAlert> = {}): CostAlert {
  return {
    alert_id: 'alert-1',
    rule: 'run_cost_ceiling',
    severity: 'warning',
    scope: 'run',
    org_id: 'acme',
    run_id: 'run-1',
    feature: 'search',
    customer_id: null,
    window_start: null,
    window_end: null,
    observed: 12_000_000_000,
    expected: 5_000_000_000,
    unit: 'usd_nanos',
    explanation: 'run cost 12 USD exceeds the 5 USD threshold',
    contributors: [{ dimension: 'model', value: 'claude-sonnet-4-5', observed: 10, expected: 4 }],
    first_event_time: Date.UTC(2026, 0, 15, 10, 0),
    detected_at: Date.UTC(2026, 0, 15, 10, 45),
    policy_id: null,
    ...overrides,
  };
}
