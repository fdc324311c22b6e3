/**
 * The contract's invariants, checked per event by ingest, the SDK and the pricer. A violation names
 * the field path and the rule, so the dead letter (or the SDK's ValidationError) says what to fix.
 * Runs per event: the ok path allocates nothing (the ok result is a shared constant).
 */
import {
  CEILING_DECISIONS,
  CEILINGS,
  RUN_OUTCOMES,
  SERVICE_TIERS,
  USAGE_KINDS,
  type UsageEvent,
  type UsageKind,
} from './types.ts';

export type ValidationResult = { ok: true } | { ok: false; field: string; rule: string };

const OK: ValidationResult = Object.freeze({ ok: true });
const INT32_MAX = 2_147_483_647;
/** The largest long the Avro codec reads back exactly (avsc refuses ±(2^53 − 1)). */
const LONG_MAX = 9_007_199_254_740_990;
/** Non-negative decimal without exponent: 0, 12, 0.0005. */
const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const CURRENCY = /^[A-Z]{3}$/;

const KINDS: ReadonlySet<string> = new Set(USAGE_KINDS);
const TIERS: ReadonlySet<string> = new Set(SERVICE_TIERS);
const OUTCOMES: ReadonlySet<string> = new Set(RUN_OUTCOMES);
const CEILING_NAMES: ReadonlySet<string> = new Set(CEILINGS);
const DECISIONS: ReadonlySet<string> = new Set(CEILING_DECISIONS);

function fail(field: string, rule: string): ValidationResult {
  return { ok: false, field, rule };
}

const isText = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const isOptionalString = (v: unknown): boolean => v == null || typeof v === 'string';
/** Counts (tokens, queries, bytes, milliseconds): Avro longs that JavaScript holds exactly. */
const isCount = (v: unknown): boolean =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= LONG_MAX;
const isSmallCount = (v: unknown): boolean =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= INT32_MAX;
const isAmount = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

const NON_EMPTY = 'must be a non-empty string';
const STRING_OR_NULL = 'must be a string or null';
const COUNT = 'must be a non-negative integer below 2^53';
const AMOUNT = 'must be a finite non-negative number';

export function validateUsageEvent(event: UsageEvent): ValidationResult {
  if (event === null || typeof event !== 'object') return fail('(event)', 'must be an object');
  if (!isText(event.event_id)) return fail('event_id', NON_EMPTY);
  if (!isCount(event.event_time))
    return fail('event_time', 'must be a non-negative integer (epoch milliseconds)');
  if (!KINDS.has(event.kind)) return fail('kind', `must be one of ${USAGE_KINDS.join(', ')}`);
  if (!isText(event.run_id)) return fail('run_id', NON_EMPTY);
  if (!isText(event.org_id)) return fail('org_id', NON_EMPTY);
  if (!isText(event.source)) return fail('source', NON_EMPTY);
  if (!isOptionalString(event.agent_id)) return fail('agent_id', STRING_OR_NULL);
  if (!isOptionalString(event.parent_agent_id)) return fail('parent_agent_id', STRING_OR_NULL);
  if (!isOptionalString(event.agent_name)) return fail('agent_name', STRING_OR_NULL);
  if (!isSmallCount(event.agent_depth)) return fail('agent_depth', COUNT);
  if (!isOptionalString(event.provider)) return fail('provider', STRING_OR_NULL);
  if (!isOptionalString(event.model)) return fail('model', STRING_OR_NULL);
  if (!TIERS.has(event.service_tier))
    return fail('service_tier', `must be one of ${SERVICE_TIERS.join(', ')}`);
  if (!isOptionalString(event.feature)) return fail('feature', STRING_OR_NULL);
  if (!isOptionalString(event.customer_id)) return fail('customer_id', STRING_OR_NULL);
  if (!isOptionalString(event.environment)) return fail('environment', STRING_OR_NULL);
  const tags = event.tags;
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags))
    return fail('tags', 'must be an object of string values');
  for (const key in tags) {
    if (typeof tags[key] !== 'string') return fail(`tags.${key}`, 'must be a string');
  }
  const cost = event.provider_cost;
  if (cost != null) {
    if (typeof cost.amount !== 'string' || !DECIMAL.test(cost.amount))
      return fail('provider_cost.amount', 'must be a non-negative decimal string such as "0.0125"');
    if (typeof cost.currency !== 'string' || !CURRENCY.test(cost.currency))
      return fail('provider_cost.currency', 'must be an ISO 4217 code such as USD');
  }
  for (const kind of USAGE_KINDS) {
    const present = event[kind] != null;
    if (kind === event.kind) {
      if (!present || typeof event[kind] !== 'object')
        return fail(kind, `must be present when kind is ${kind}`);
    } else if (present) {
      return fail(kind, `must be null when kind is ${event.kind}`);
    }
  }
  return validateBody(event, event.kind);
}

function validateBody(event: UsageEvent, kind: UsageKind): ValidationResult {
  switch (kind) {
    case 'model_call': {
      const b = event.model_call!;
      if (typeof b.operation !== 'string') return fail('model_call.operation', 'must be a string');
      if (!isCount(b.input_tokens)) return fail('model_call.input_tokens', COUNT);
      if (!isCount(b.cache_read_tokens)) return fail('model_call.cache_read_tokens', COUNT);
      if (!isCount(b.cache_write_5m_tokens)) return fail('model_call.cache_write_5m_tokens', COUNT);
      if (!isCount(b.cache_write_1h_tokens)) return fail('model_call.cache_write_1h_tokens', COUNT);
      if (!isCount(b.output_tokens)) return fail('model_call.output_tokens', COUNT);
      if (!isCount(b.reasoning_tokens)) return fail('model_call.reasoning_tokens', COUNT);
      if (!isCount(b.duration_ms)) return fail('model_call.duration_ms', COUNT);
      // OpenTelemetry GenAI: cache reads and writes are parts of input_tokens, reasoning of output_tokens.
      if (b.cache_read_tokens + b.cache_write_5m_tokens + b.cache_write_1h_tokens > b.input_tokens)
        return fail('model_call.cache_read_tokens', 'cache reads plus writes must not exceed input_tokens');
      if (b.reasoning_tokens > b.output_tokens)
        return fail('model_call.reasoning_tokens', 'reasoning_tokens must not exceed output_tokens');
      return OK;
    }
    case 'tool_call': {
      const b = event.tool_call!;
      if (!isText(b.tool_name)) return fail('tool_call.tool_name', NON_EMPTY);
      if (!isOptionalString(b.call_signature)) return fail('tool_call.call_signature', STRING_OR_NULL);
      if (b.status !== 'ok' && b.status !== 'error') return fail('tool_call.status', 'must be ok or error');
      if (!isCount(b.duration_ms)) return fail('tool_call.duration_ms', COUNT);
      return OK;
    }
    case 'subagent_spawn': {
      const b = event.subagent_spawn!;
      if (!isText(b.child_agent_id)) return fail('subagent_spawn.child_agent_id', NON_EMPTY);
      if (!isOptionalString(b.child_agent_name))
        return fail('subagent_spawn.child_agent_name', STRING_OR_NULL);
      if (!isSmallCount(b.child_depth)) return fail('subagent_spawn.child_depth', COUNT);
      if (b.child_depth !== event.agent_depth + 1)
        return fail('subagent_spawn.child_depth', 'must equal agent_depth + 1 (the spawner is one level up)');
      return OK;
    }
    case 'sandbox': {
      const b = event.sandbox!;
      if (!isText(b.sandbox_id)) return fail('sandbox.sandbox_id', NON_EMPTY);
      if (!isAmount(b.vcpu_seconds)) return fail('sandbox.vcpu_seconds', AMOUNT);
      if (!isAmount(b.gib_seconds)) return fail('sandbox.gib_seconds', AMOUNT);
      if (!isAmount(b.idle_seconds)) return fail('sandbox.idle_seconds', AMOUNT);
      return OK;
    }
    case 'retrieval': {
      const b = event.retrieval!;
      if (!isCount(b.queries)) return fail('retrieval.queries', COUNT);
      if (!isCount(b.read_units)) return fail('retrieval.read_units', COUNT);
      if (!isCount(b.embedding_tokens)) return fail('retrieval.embedding_tokens', COUNT);
      if (!isOptionalString(b.embedding_model)) return fail('retrieval.embedding_model', STRING_OR_NULL);
      if (!isOptionalString(b.index_name)) return fail('retrieval.index_name', STRING_OR_NULL);
      return OK;
    }
    case 'cache_storage':
      return isAmount(event.cache_storage!.token_hours) ? OK : fail('cache_storage.token_hours', AMOUNT);
    case 'egress': {
      const b = event.egress!;
      if (!isCount(b.bytes)) return fail('egress.bytes', COUNT);
      if (!isOptionalString(b.destination)) return fail('egress.destination', STRING_OR_NULL);
      return OK;
    }
    case 'run_start':
      return isOptionalString(event.run_start!.trigger) ? OK : fail('run_start.trigger', STRING_OR_NULL);
    case 'run_end': {
      const b = event.run_end!;
      if (!OUTCOMES.has(b.outcome))
        return fail('run_end.outcome', `must be one of ${RUN_OUTCOMES.join(', ')}`);
      if (!isCount(b.duration_ms)) return fail('run_end.duration_ms', COUNT);
      return OK;
    }
    case 'ceiling_decision': {
      const b = event.ceiling_decision!;
      if (!CEILING_NAMES.has(b.ceiling))
        return fail('ceiling_decision.ceiling', `must be one of ${CEILINGS.join(', ')}`);
      if (!DECISIONS.has(b.decision))
        return fail('ceiling_decision.decision', `must be one of ${CEILING_DECISIONS.join(', ')}`);
      if (!isCount(b.limit)) return fail('ceiling_decision.limit', COUNT);
      if (!isCount(b.requested)) return fail('ceiling_decision.requested', COUNT);
      if (!isCount(b.granted)) return fail('ceiling_decision.granted', COUNT);
      if (!isCount(b.observed)) return fail('ceiling_decision.observed', COUNT);
      if (b.decision === 'refused' && b.granted !== 0)
        return fail('ceiling_decision.granted', 'must be 0 when the decision is refused');
      if (b.decision === 'degraded' && b.granted >= b.requested)
        return fail('ceiling_decision.granted', 'must be less than requested when the decision is degraded');
      return OK;
    }
  }
}
