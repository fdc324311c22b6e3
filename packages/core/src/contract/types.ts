/**
 * The event contract as TypeScript sees it. Field names are the Avro field names (snake_case), so a
 * decoded record *is* one of these objects with no mapping step. schemas/avro/*.avsc is the source
 * of truth; contract tests check that these types and the schemas agree.
 *
 * Token counts follow the OpenTelemetry GenAI conventions: `input_tokens` includes cache reads and
 * cache writes (both are subsets of it), `reasoning_tokens` is a subset of `output_tokens`.
 */

export const USAGE_KINDS = [
  'model_call',
  'tool_call',
  'subagent_spawn',
  'sandbox',
  'retrieval',
  'cache_storage',
  'egress',
  'run_start',
  'run_end',
  'ceiling_decision',
] as const;
export type UsageKind = (typeof USAGE_KINDS)[number];

export const SERVICE_TIERS = ['default', 'batch', 'flex', 'priority'] as const;
export type ServiceTier = (typeof SERVICE_TIERS)[number];

export const RUN_OUTCOMES = ['success', 'failure', 'cancelled', 'timeout'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export const CEILINGS = ['tokens_per_request', 'cost_per_run', 'subagents_per_run', 'spawn_depth'] as const;
export type Ceiling = (typeof CEILINGS)[number];

export const CEILING_DECISIONS = ['refused', 'degraded'] as const;
export type CeilingDecisionKind = (typeof CEILING_DECISIONS)[number];

export interface ModelCall {
  /** gen_ai.operation.name: chat, text_completion, embeddings, … */
  operation: string;
  /** gen_ai.usage.input_tokens: every input token, cache reads and writes included. */
  input_tokens: number;
  /** gen_ai.usage.cache_read.input_tokens (subset of input_tokens). */
  cache_read_tokens: number;
  /** gen_ai.usage.cache_creation.input_tokens written with a 5-minute TTL (subset of input_tokens). */
  cache_write_5m_tokens: number;
  /** Cache creation tokens written with a 1-hour TTL (subset of input_tokens). */
  cache_write_1h_tokens: number;
  /** gen_ai.usage.output_tokens, reasoning included. */
  output_tokens: number;
  /** Reasoning tokens (subset of output_tokens). */
  reasoning_tokens: number;
  duration_ms: number;
}

export interface ToolCall {
  tool_name: string;
  /** A stable digest of the call's arguments; repeated identical calls share it (loop signature). */
  call_signature: string | null;
  status: 'ok' | 'error';
  duration_ms: number;
}

export interface SubagentSpawn {
  child_agent_id: string;
  child_agent_name: string | null;
  /** Depth of the child in the run's spawn tree (the run's root agent is depth 0). */
  child_depth: number;
}

export interface Sandbox {
  sandbox_id: string;
  vcpu_seconds: number;
  gib_seconds: number;
  /** Seconds of this interval in which the sandbox ran with no model or tool activity. */
  idle_seconds: number;
}

export interface Retrieval {
  queries: number;
  read_units: number;
  embedding_tokens: number;
  embedding_model: string | null;
  index_name: string | null;
}

export interface CacheStorage {
  /** Cached tokens × hours stored. */
  token_hours: number;
}

export interface Egress {
  bytes: number;
  destination: string | null;
}

export interface RunStart {
  trigger: string | null;
}

export interface RunEnd {
  outcome: RunOutcome;
  duration_ms: number;
}

export interface CeilingDecision {
  ceiling: Ceiling;
  decision: CeilingDecisionKind;
  /** The configured limit, in the ceiling's unit (tokens, nano-units of currency, agents, levels). */
  limit: number;
  /** What the action asked for (tokens of a request, estimated cost, workers, depth). */
  requested: number;
  /** What was allowed (0 when refused; the degraded count when degraded). */
  granted: number;
  /** The run's value before the action (cost so far, subagents so far, current depth). */
  observed: number;
}

export interface ProviderCost {
  /** Decimal string, exact, in `currency`. */
  amount: string;
  currency: string;
}

export interface UsageEvent {
  /** Unique per org: the idempotency key of every stage. */
  event_id: string;
  /** When the usage happened, epoch milliseconds (Avro timestamp-millis). */
  event_time: number;
  /**
   * Names the one non-null body. The Avro enum also has `unknown`, its resolution default: a reader
   * older than the writer decodes a kind it does not know as `unknown`, which validateUsageEvent rejects.
   */
  kind: UsageKind;
  // orchestrator layer
  run_id: string;
  // subagent layer
  agent_id: string | null;
  parent_agent_id: string | null;
  agent_name: string | null;
  agent_depth: number;
  // model layer (also the provider of a sandbox, retrieval or egress)
  provider: string | null;
  model: string | null;
  service_tier: ServiceTier;
  // business layer
  org_id: string;
  feature: string | null;
  customer_id: string | null;
  environment: string | null;
  tags: Record<string, string>;
  /** Who produced the event: sdk, ingest-json, ingest-otlp, simulator. */
  source: string;
  provider_cost: ProviderCost | null;
  // exactly one body is non-null, the one named by `kind`
  model_call: ModelCall | null;
  tool_call: ToolCall | null;
  subagent_spawn: SubagentSpawn | null;
  sandbox: Sandbox | null;
  retrieval: Retrieval | null;
  cache_storage: CacheStorage | null;
  egress: Egress | null;
  run_start: RunStart | null;
  run_end: RunEnd | null;
  ceiling_decision: CeilingDecision | null;
}

export const COST_CATEGORIES = [
  'tokens',
  'tools',
  'sandbox',
  'retrieval',
  'cache_storage',
  'egress',
] as const;
export type CostCategory = (typeof COST_CATEGORIES)[number];

export interface LineItem {
  /** Position within the event; (event_id, line_no) identifies a line. */
  line_no: number;
  category: CostCategory;
  /** What within the category: input, cache_read, cache_write_5m, cache_write_1h, output, vcpu_seconds, … */
  item: string;
  /** The unit `quantity` counts: token, call, vcpu_second, gib_second, query, read_unit, token_hour, gb. */
  unit: string;
  /** Exact decimal string. */
  quantity: string;
  /** Exact decimal string, currency per unit; null when unpriced. */
  unit_price: string | null;
  /** Cost in nano-units of the rate card's currency, rounded once per line; null when unpriced. */
  cost_nanos: number | null;
  /** False when the rate card has no price for this item: the cost is unknown, never zero. */
  priced: boolean;
}

export interface RateCardRef {
  id: string;
  version: string;
  content_hash: string;
}

export interface PricedEvent {
  usage: UsageEvent;
  line_items: LineItem[];
  /** Sum of priced lines' cost, nano-units of `currency`. */
  total_nanos: number;
  currency: string;
  /** True when at least one line is unpriced (the total is then a lower bound). */
  has_unpriced: boolean;
  rate_card: RateCardRef;
  priced_at: number;
  /**
   * Restatements: the event_id of the priced event this adjusts, with line costs holding the
   * difference (new − billed). Null for ordinary pricing.
   */
  adjustment_of: string | null;
}

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** The detector's per-run rules. */
export const RUN_ALERT_RULES = [
  'run_cost',
  'run_subagents',
  'run_spawn_depth',
  'run_steps',
  'run_velocity',
  'run_loop',
  'run_idle_sandbox',
] as const;

/** The detector's rules (services/detector/README.md has what each one watches). */
export const ALERT_RULES = [
  ...RUN_ALERT_RULES,
  'feature_spike',
  'budget_threshold',
  'budget_forecast',
] as const;

export const ALERT_SCOPES = ['run', 'feature', 'org', 'customer'] as const;
export type AlertScope = (typeof ALERT_SCOPES)[number];

export interface AlertContributor {
  /** model, agent, category, customer. */
  dimension: string;
  value: string;
  observed: number;
  expected: number;
}

export interface CostAlert {
  /** Deterministic: a digest of (scope key, rule, window), so a re-fired alert has the same id. */
  alert_id: string;
  rule: string;
  severity: AlertSeverity;
  scope: AlertScope;
  org_id: string;
  run_id: string | null;
  feature: string | null;
  customer_id: string | null;
  window_start: number | null;
  window_end: number | null;
  observed: number;
  expected: number;
  /** What observed/expected count: usd_nanos, count, depth, seconds, ratio, percent. */
  unit: string;
  explanation: string;
  contributors: AlertContributor[];
  first_event_time: number;
  detected_at: number;
  policy_id: string | null;
}

export interface DeadLetter {
  stage: string;
  /** Stable machine code of the reason: decode_failed, invariant_violated, unknown_fingerprint, … */
  reason_code: string;
  reason: string;
  source_topic: string;
  source_partition: number;
  source_offset: string;
  key: Uint8Array | null;
  /** The original message bytes, untouched. */
  payload: Uint8Array;
  failed_at: number;
}

/** The per-kind body fields of a UsageEvent. */
export type UsageBodies = Pick<UsageEvent, UsageKind>;

/**
 * Every body null: spread it, then set the one body `kind` names. (The SDK's hot path writes the
 * literal out instead, to keep its event objects one shape without a spread.)
 */
export const NO_BODIES: Readonly<UsageBodies> = Object.freeze({
  model_call: null,
  tool_call: null,
  subagent_spawn: null,
  sandbox: null,
  retrieval: null,
  cache_storage: null,
  egress: null,
  run_start: null,
  run_end: null,
  ceiling_decision: null,
});
