/**
 * One OTLP span carrying OpenTelemetry GenAI attributes → one UsageEvent, or why not.
 *
 * - model_call: gen_ai.operation.name chat, text_completion, generate_content or embeddings (or no
 *   operation at all) with at least one gen_ai.usage.* token attribute.
 * - tool_call: execute_tool, named by gen_ai.tool.name; billed per call, so no usage is needed.
 * - ignored (counted, not dead-lettered): spans without GenAI usage (HTTP, DB, a chat span whose
 *   instrumentation recorded no usage) and agent spans (invoke_agent, create_agent), whose usage
 *   sums the model calls inside them, which are billed from their own spans.
 * - rejected (reported and dead-lettered): a GenAI span that cannot become a valid event (bad ids or
 *   times, an attribute of the wrong type, no org, cache reads above input tokens, …).
 *
 * event_id is `otlp-<traceId>-<spanId>`: an exporter that retries sends the same span and gets the
 * same event_id, which every later stage deduplicates on.
 */
import { createHash } from 'node:crypto';
import {
  NO_BODIES,
  SERVICE_TIERS,
  type ServiceTier,
  type UsageEvent,
  ValidationError,
  validateUsageEvent,
} from '@tollgate/core';
import type { Attributes } from './attributes.ts';
import { readAttributes } from './attributes.ts';
import {
  AGENT_OPERATIONS,
  GEN_AI,
  MODEL_OPERATIONS,
  RESOURCE,
  TOLLGATE,
  TOOL_OPERATION,
  USAGE_ATTRIBUTES,
} from './semconv.ts';

export type IgnoreReason = 'not_gen_ai' | 'no_usage' | 'agent_span';

export type SpanOutcome =
  | { outcome: 'accepted'; event: UsageEvent }
  | { outcome: 'ignored'; reason: IgnoreReason }
  | {
      outcome: 'rejected';
      field: string;
      rule: string;
      traceId: string | null;
      spanId: string | null;
      runId: string | null;
    };

const TRACE_ID_HEX = /^[0-9a-f]{32}$/;
const SPAN_ID_HEX = /^[0-9a-f]{16}$/;
const UNIX_NANO = /^[0-9]{1,20}$/;
const NANOS_PER_MS = 1_000_000n;
/** OTLP Status.code ERROR, as the integer the JSON encoding uses or the enum name lenient encoders send. */
const STATUS_ERROR = new Set<unknown>([2, 'STATUS_CODE_ERROR']);
const TIERS: ReadonlySet<string> = new Set(SERVICE_TIERS);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * OTLP/JSON ids are hex (the spec's one deviation from protobuf JSON); some encoders send protobuf's
 * base64 anyway. Both are read, lower-case hex is returned; all-zero ids are invalid in OTLP.
 */
export function readId(value: unknown, bytes: 16 | 8, field: string): string {
  const hex = bytes === 16 ? TRACE_ID_HEX : SPAN_ID_HEX;
  if (typeof value === 'string') {
    let id = value.toLowerCase();
    if (!hex.test(id) && value.length === Math.ceil(bytes / 3) * 4) {
      const decoded = Buffer.from(value, 'base64');
      if (decoded.length === bytes && decoded.toString('base64') === value) id = decoded.toString('hex');
    }
    if (hex.test(id) && /[1-9a-f]/.test(id)) return id;
  }
  throw new ValidationError(field, `must be a non-zero ${bytes}-byte id, ${bytes * 2} hex digits`);
}

/** fixed64 nanoseconds since the epoch (a decimal string, or a number from lenient encoders). */
export function readUnixNano(value: unknown, field: string): bigint {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text === 'string' && UNIX_NANO.test(text)) {
    const nanos = BigInt(text);
    if (nanos > 0n) return nanos;
  }
  throw new ValidationError(
    field,
    'must be a positive count of nanoseconds since the epoch (decimal string)',
  );
}

/** First present value among keys, span before resource. */
function firstString(keys: string[], ...sources: Attributes[]): string | undefined {
  for (const attrs of sources) {
    for (const key of keys) {
      const v = attrs.string(key);
      if (v !== undefined && v !== '') return v;
    }
  }
  return undefined;
}

function serviceTier(span: Attributes): ServiceTier {
  const tier = firstString([GEN_AI.openaiResponseServiceTier, GEN_AI.openaiRequestServiceTier], span);
  return tier !== undefined && TIERS.has(tier) ? (tier as ServiceTier) : 'default';
}

type Kind = { kind: 'model_call'; operation: string } | { kind: 'tool_call' } | { ignore: IgnoreReason };

function classify(span: Attributes): Kind {
  const operation = span.string(GEN_AI.operationName);
  if (operation === TOOL_OPERATION) return { kind: 'tool_call' };
  if (operation !== undefined && AGENT_OPERATIONS.has(operation)) return { ignore: 'agent_span' };
  const hasUsage = USAGE_ATTRIBUTES.some((key) => span.has(key));
  if (!hasUsage)
    return { ignore: operation !== undefined && MODEL_OPERATIONS.has(operation) ? 'no_usage' : 'not_gen_ai' };
  // Usage without a (known) operation: older instrumentations omit the name; the tokens are billed.
  return { kind: 'model_call', operation: operation ?? 'unknown' };
}

function toolCallSignature(args: string | undefined): string | null {
  if (args === undefined) return null;
  return createHash('sha256').update(args, 'utf8').digest('hex').slice(0, 32);
}

/**
 * Maps one span. `resource` holds its resource's attributes, or the error reading them: that error
 * rejects the resource's GenAI spans, while its other spans are still only ignored.
 */
export function mapSpan(span: unknown, resourceOrError: Attributes | ValidationError): SpanOutcome {
  let traceId: string | null = null;
  let spanId: string | null = null;
  let runId: string | null = null;
  try {
    if (!isRecord(span)) throw new ValidationError('(span)', 'must be an object');
    const attrs = readAttributes(span.attributes, 'attributes');
    const kind = classify(attrs);
    if ('ignore' in kind) return { outcome: 'ignored', reason: kind.ignore };
    if (resourceOrError instanceof ValidationError) throw resourceOrError;
    const resource = resourceOrError;

    traceId = readId(span.traceId, 16, 'traceId');
    spanId = readId(span.spanId, 8, 'spanId');
    runId = firstString([TOLLGATE.runId], attrs, resource) ?? attrs.string(GEN_AI.conversationId) ?? traceId;
    const endNanos = readUnixNano(span.endTimeUnixNano, 'endTimeUnixNano');
    const startNanos =
      span.startTimeUnixNano === undefined
        ? endNanos
        : readUnixNano(span.startTimeUnixNano, 'startTimeUnixNano');
    if (endNanos < startNanos)
      throw new ValidationError('endTimeUnixNano', 'must not be before startTimeUnixNano');
    const durationMs = Number((endNanos - startNanos + NANOS_PER_MS / 2n) / NANOS_PER_MS);

    const orgId = firstString([TOLLGATE.orgId], attrs, resource);
    if (orgId === undefined)
      throw new ValidationError(
        `resource.attributes.${TOLLGATE.orgId}`,
        'is required (e.g. OTEL_RESOURCE_ATTRIBUTES=tollgate.org_id=acme)',
      );
    const agentDepth = attrs.count(TOLLGATE.agentDepth) ?? 0;
    const tags: Record<string, string> = {};
    for (const [name, value] of resource.stringsWithPrefix(TOLLGATE.tagPrefix)) tags[name] = value;
    for (const [name, value] of attrs.stringsWithPrefix(TOLLGATE.tagPrefix)) tags[name] = value;
    const status = isRecord(span.status) ? span.status.code : undefined;

    const event: UsageEvent = {
      event_id: `otlp-${traceId}-${spanId}`,
      event_time: Number(endNanos / NANOS_PER_MS),
      kind: kind.kind,
      run_id: runId,
      agent_id: attrs.string(GEN_AI.agentId) ?? null,
      parent_agent_id: attrs.string(TOLLGATE.parentAgentId) ?? null,
      agent_name: attrs.string(GEN_AI.agentName) ?? null,
      agent_depth: agentDepth,
      provider: firstString([GEN_AI.providerName, GEN_AI.system], attrs) ?? null,
      model: firstString([GEN_AI.responseModel, GEN_AI.requestModel], attrs) ?? null,
      service_tier: serviceTier(attrs),
      org_id: orgId,
      feature: firstString([TOLLGATE.feature], attrs, resource) ?? null,
      customer_id: firstString([TOLLGATE.customerId], attrs, resource) ?? null,
      environment: firstString([RESOURCE.environmentName, RESOURCE.environment], resource) ?? null,
      tags,
      source: 'ingest-otlp',
      provider_cost: null,
      ...NO_BODIES,
    };
    if (kind.kind === 'model_call') {
      event.model_call = {
        operation: kind.operation,
        input_tokens: attrs.count(GEN_AI.inputTokens) ?? attrs.count(GEN_AI.promptTokens) ?? 0,
        cache_read_tokens: attrs.count(GEN_AI.cacheReadInputTokens) ?? 0,
        cache_write_5m_tokens: attrs.count(GEN_AI.cacheCreationInputTokens) ?? 0,
        cache_write_1h_tokens: 0,
        output_tokens: attrs.count(GEN_AI.outputTokens) ?? attrs.count(GEN_AI.completionTokens) ?? 0,
        reasoning_tokens: attrs.count(GEN_AI.reasoningOutputTokens) ?? 0,
        duration_ms: durationMs,
      };
    } else {
      const toolName = attrs.string(GEN_AI.toolName);
      if (toolName === undefined || toolName === '')
        throw new ValidationError(`attributes.${GEN_AI.toolName}`, 'is required on execute_tool spans');
      event.tool_call = {
        tool_name: toolName,
        call_signature: toolCallSignature(attrs.string(GEN_AI.toolCallArguments)),
        status: STATUS_ERROR.has(status) || attrs.has(GEN_AI.errorType) ? 'error' : 'ok',
        duration_ms: durationMs,
      };
    }
    const verdict = validateUsageEvent(event);
    if (!verdict.ok) throw new ValidationError(verdict.field, verdict.rule);
    return { outcome: 'accepted', event };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return { outcome: 'rejected', field: err.field, rule: err.rule, traceId, spanId, runId };
  }
}
