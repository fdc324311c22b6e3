/**
 * JSON Schema of one event as producers POST it: the UsageEvent contract (packages/core/src/contract/
 * types.ts) with optional fields allowed to be omitted. Ajv fills the defaults (`useDefaults`), so an
 * event that passes is a UsageEvent except for `event_time`, which may arrive as an ISO-8601 string
 * (normalize.ts converts it) and `subagent_spawn.child_depth`, which defaults to agent_depth + 1.
 * Unknown fields are rejected: a misspelt field would otherwise vanish silently.
 *
 * Served at GET /v1/schemas/usage-event.json so producers in other languages can validate before
 * sending. The contract's cross-field invariants (cache reads + writes <= input, …) are checked after
 * this by validateUsageEvent.
 */
import { CEILING_DECISIONS, CEILINGS, RUN_OUTCOMES, SERVICE_TIERS, USAGE_KINDS } from '@tollgate/core';

const text = { type: 'string', minLength: 1 } as const;
const optionalText = { type: ['string', 'null'], default: null } as const;
const count = { type: 'integer', minimum: 0 } as const;
const countDefault0 = { type: 'integer', minimum: 0, default: 0 } as const;
const amount = { type: 'number', minimum: 0 } as const;

function body(
  description: string,
  properties: Record<string, object>,
  required: string[],
): Record<string, unknown> {
  return {
    description,
    type: ['object', 'null'],
    default: null,
    additionalProperties: false,
    required,
    properties,
  };
}

export const usageEventInputSchema = {
  $id: 'https://tollgate.dev/schemas/ingest/usage-event.json',
  title: 'UsageEvent (ingest JSON)',
  description:
    'One usage event as POSTed to /v1/events. Exactly one body, the one named by `kind`, is present.',
  type: 'object',
  additionalProperties: false,
  required: ['event_id', 'event_time', 'kind', 'run_id', 'org_id'],
  properties: {
    event_id: { ...text, description: 'Unique per org; the idempotency key of every stage.' },
    event_time: {
      description: 'When the usage happened: epoch milliseconds, or an ISO-8601 date-time with a time zone.',
      type: ['integer', 'string'],
    },
    kind: { enum: [...USAGE_KINDS] },
    run_id: { ...text, description: 'The top-level run; the Kafka key.' },
    agent_id: optionalText,
    parent_agent_id: optionalText,
    agent_name: optionalText,
    agent_depth: countDefault0,
    provider: optionalText,
    model: optionalText,
    service_tier: { enum: [...SERVICE_TIERS], default: 'default' },
    org_id: text,
    feature: optionalText,
    customer_id: optionalText,
    environment: optionalText,
    tags: {
      type: 'object',
      default: {},
      additionalProperties: { type: 'string' },
      propertyNames: { minLength: 1, not: { const: '__proto__' } },
    },
    source: { ...text, default: 'ingest-json' },
    provider_cost: {
      type: ['object', 'null'],
      default: null,
      additionalProperties: false,
      required: ['amount', 'currency'],
      properties: {
        amount: { type: 'string', description: 'Exact decimal string, e.g. "0.0125".' },
        currency: { type: 'string', description: 'ISO 4217, e.g. USD.' },
      },
    },
    model_call: body(
      'Tokens as OpenTelemetry GenAI counts them: input includes cache reads and writes.',
      {
        operation: { type: 'string', default: 'chat' },
        input_tokens: count,
        cache_read_tokens: countDefault0,
        cache_write_5m_tokens: countDefault0,
        cache_write_1h_tokens: countDefault0,
        output_tokens: count,
        reasoning_tokens: countDefault0,
        duration_ms: countDefault0,
      },
      ['input_tokens', 'output_tokens'],
    ),
    tool_call: body(
      'One tool invocation.',
      {
        tool_name: text,
        call_signature: optionalText,
        status: { enum: ['ok', 'error'], default: 'ok' },
        duration_ms: countDefault0,
      },
      ['tool_name'],
    ),
    subagent_spawn: body(
      'A subagent started by this agent; child_depth defaults to agent_depth + 1.',
      {
        child_agent_id: text,
        child_agent_name: optionalText,
        child_depth: count,
      },
      ['child_agent_id'],
    ),
    sandbox: body(
      'Sandbox time over one interval.',
      {
        sandbox_id: text,
        vcpu_seconds: amount,
        gib_seconds: amount,
        idle_seconds: { ...amount, default: 0 },
      },
      ['sandbox_id', 'vcpu_seconds', 'gib_seconds'],
    ),
    retrieval: body(
      'Retrieval queries against an index.',
      {
        queries: count,
        read_units: countDefault0,
        embedding_tokens: countDefault0,
        embedding_model: optionalText,
        index_name: optionalText,
      },
      ['queries'],
    ),
    cache_storage: body('Cached tokens kept, in token-hours.', { token_hours: amount }, ['token_hours']),
    egress: body('Bytes sent out.', { bytes: count, destination: optionalText }, ['bytes']),
    run_start: body('The run started.', { trigger: optionalText }, []),
    run_end: body('The run ended.', { outcome: { enum: [...RUN_OUTCOMES] }, duration_ms: countDefault0 }, [
      'outcome',
    ]),
    ceiling_decision: body(
      'A hard ceiling refused or degraded an action.',
      {
        ceiling: { enum: [...CEILINGS] },
        decision: { enum: [...CEILING_DECISIONS] },
        limit: count,
        requested: count,
        granted: count,
        observed: count,
      },
      ['ceiling', 'decision', 'limit', 'requested', 'granted', 'observed'],
    ),
  },
} as const;
