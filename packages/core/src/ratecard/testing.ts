/**
 * Event builders for tests and benchmarks that price events: a complete, valid UsageEvent of each
 * priced kind with only the fields that matter named at the call site.
 */
import { type ModelCall, NO_BODIES, type UsageEvent, type UsageKind } from '../contract/types.ts';

/** 2026-11-03T14:05:00Z */
export const TEST_EVENT_TIME = Date.UTC(2026, 10, 3, 14, 5, 0);

export function usageEvent(kind: UsageKind, fields: Partial<UsageEvent> = {}): UsageEvent {
  return {
    event_id: `evt-${kind}-1`,
    event_time: TEST_EVENT_TIME,
    kind,
    run_id: 'run-1',
    agent_id: 'agent-1',
    parent_agent_id: null,
    agent_name: 'planner',
    agent_depth: 0,
    provider: null,
    model: null,
    service_tier: 'default',
    org_id: 'org-1',
    feature: 'triage',
    customer_id: null,
    environment: 'production',
    tags: {},
    source: 'sdk',
    provider_cost: null,
    ...NO_BODIES,
    ...fields,
  };
}

/** A model call; token counts follow OpenTelemetry (input includes cache reads and writes). */
export function modelCallEvent(
  provider: string,
  model: string,
  tokens: Partial<ModelCall>,
  fields: Partial<UsageEvent> = {},
): UsageEvent {
  return usageEvent('model_call', {
    provider,
    model,
    model_call: {
      operation: 'chat',
      input_tokens: 0,
      cache_read_tokens: 0,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 0,
      reasoning_tokens: 0,
      duration_ms: 1_000,
      ...tokens,
    },
    ...fields,
  });
}
