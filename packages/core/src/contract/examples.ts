/**
 * One realistic, fully-populated event of every kind (every optional field set), and a priced event, an
 * alert and a dead letter. Tests across the workspace use them (`@tollgate/core/contract/examples`);
 * "fully populated" matters: a field the schema lost would show up as a difference after a round trip.
 * Every call returns fresh objects, so a test may mutate what it gets.
 */
import {
  type CostAlert,
  type DeadLetter,
  NO_BODIES,
  type PricedEvent,
  type UsageEvent,
  type UsageKind,
} from './types.ts';

const T0 = Date.UTC(2026, 10, 3, 14, 5, 0);

function base(kind: UsageKind, n: number): UsageEvent {
  return {
    event_id: `evt-${kind}-${n}`,
    event_time: T0 + n * 1_000,
    kind,
    run_id: 'run-7f3a',
    agent_id: 'agent-researcher-2',
    parent_agent_id: 'agent-planner-1',
    agent_name: 'researcher',
    agent_depth: 1,
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    service_tier: 'priority',
    org_id: 'org-acme',
    feature: 'support-triage',
    customer_id: 'cust-0042',
    environment: 'production',
    tags: { team: 'support-ai', cost_center: 'cc-118' },
    source: 'sdk',
    provider_cost: { amount: '0.018405', currency: 'USD' },
    ...NO_BODIES,
  };
}

/** One event of every kind, in USAGE_KINDS order, each valid under validateUsageEvent. */
export function exampleUsageEvents(): UsageEvent[] {
  return [
    {
      ...base('model_call', 1),
      model_call: {
        operation: 'chat',
        input_tokens: 48_213,
        cache_read_tokens: 40_960,
        cache_write_5m_tokens: 1_024,
        cache_write_1h_tokens: 2_048,
        output_tokens: 1_310,
        reasoning_tokens: 412,
        duration_ms: 5_870,
      },
    },
    {
      ...base('tool_call', 2),
      tool_call: { tool_name: 'web_search', call_signature: 'sha256:9c1e4f', status: 'ok', duration_ms: 820 },
    },
    {
      ...base('subagent_spawn', 3),
      subagent_spawn: { child_agent_id: 'agent-worker-17', child_agent_name: 'worker', child_depth: 2 },
    },
    {
      ...base('sandbox', 4),
      provider: 'e2b',
      sandbox: { sandbox_id: 'sbx-91ab', vcpu_seconds: 120.5, gib_seconds: 241, idle_seconds: 30.25 },
    },
    {
      ...base('retrieval', 5),
      provider: 'pinecone',
      retrieval: {
        queries: 3,
        read_units: 15,
        embedding_tokens: 96,
        embedding_model: 'text-embedding-3-small',
        index_name: 'kb-support',
      },
    },
    { ...base('cache_storage', 6), cache_storage: { token_hours: 40_960.5 } },
    { ...base('egress', 7), provider: 'aws', egress: { bytes: 7_340_032, destination: 'us-east-1' } },
    { ...base('run_start', 8), run_start: { trigger: 'webhook' } },
    { ...base('run_end', 9), run_end: { outcome: 'success', duration_ms: 93_400 } },
    {
      ...base('ceiling_decision', 10),
      ceiling_decision: {
        ceiling: 'subagents_per_run',
        decision: 'degraded',
        limit: 50,
        requested: 400,
        granted: 34,
        observed: 16,
      },
    },
  ];
}

/** The model_call example: the typical event (benchmarks, single-event tests). */
export function exampleModelCall(): UsageEvent {
  return exampleUsageEvents()[0]!;
}

export function examplePricedEvent(): PricedEvent {
  return {
    usage: exampleModelCall(),
    line_items: [
      {
        line_no: 0,
        category: 'tokens',
        item: 'input',
        unit: 'token',
        quantity: '4181',
        unit_price: '0.000003',
        cost_nanos: 12_543_000,
        priced: true,
      },
      {
        line_no: 1,
        category: 'tokens',
        item: 'cache_read',
        unit: 'token',
        quantity: '40960',
        unit_price: null,
        cost_nanos: null,
        priced: false,
      },
    ],
    total_nanos: 12_543_000,
    currency: 'USD',
    has_unpriced: true,
    rate_card: { id: 'default', version: '2026-11-01', content_hash: 'sha256:4be0c1' },
    priced_at: T0 + 60_000,
    adjustment_of: 'evt-model_call-0',
  };
}

export function exampleCostAlert(): CostAlert {
  return {
    alert_id: 'alrt-5d41402a',
    rule: 'feature_spike',
    severity: 'critical',
    scope: 'feature',
    org_id: 'org-acme',
    run_id: 'run-7f3a',
    feature: 'support-triage',
    customer_id: 'cust-0042',
    window_start: T0,
    window_end: T0 + 3_600_000,
    observed: 412_000_000_000,
    expected: 96_500_000_000.5,
    unit: 'usd_nanos',
    explanation: 'support-triage spent 4.3x its hourly baseline; claude-sonnet-4-5 drove 81% of it',
    contributors: [
      { dimension: 'model', value: 'claude-sonnet-4-5', observed: 334_000_000_000, expected: 70_000_000_000 },
    ],
    first_event_time: T0 + 5_000,
    detected_at: T0 + 3_600_000,
    policy_id: 'pol-support-spike',
  };
}

export function exampleDeadLetter(): DeadLetter {
  return {
    stage: 'pricer',
    reason_code: 'invariant_violated',
    reason: 'model_call.cache_read_tokens: cache reads plus writes must not exceed input_tokens',
    source_topic: 'tollgate.usage.v1',
    source_partition: 4,
    source_offset: '918273',
    key: Buffer.from('run-7f3a'),
    payload: Buffer.from([0xc3, 0x01, 0x00, 0x01, 0x02, 0xff]),
    failed_at: T0 + 61_000,
  };
}
