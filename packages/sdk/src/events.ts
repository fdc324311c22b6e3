/**
 * Record-call inputs → contract UsageEvents. Attribution comes from the agent handle (run, tree
 * position, business tags), never from the call, so a developer cannot mis-type a parent id or a
 * depth. Every event object has the same shape (all fields, one body set), which keeps the encoder on
 * its fast path.
 *
 * SDK-side checks here are those the contract cannot make: fields a kind needs to be priced
 * (provider and model of a model call, a tool's name, a sandbox's id and provider). The contract
 * invariants (counts, cache ≤ input, reasoning ≤ output, …) are checked by validateUsageEvent on the
 * built event, before it is encoded.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ProviderCost, ServiceTier, UsageEvent, UsageKind } from '@tollgate/core/contract/types';
import { ValidationError } from '@tollgate/core/errors';
import { serviceTierOf, type TokenUsage } from './normalize.ts';

/** The attribution an agent handle carries; shared by every event it records. */
export interface Attribution {
  run_id: string;
  agent_id: string;
  parent_agent_id: string | null;
  agent_name: string | null;
  agent_depth: number;
  org_id: string;
  feature: string | null;
  customer_id: string | null;
  environment: string | null;
  tags: Record<string, string>;
}

/** Options every record call accepts. */
export interface RecordOptions {
  /** When the usage happened, epoch ms; defaults to now. */
  eventTime?: number;
  /** What the provider itself billed, for reconciliation: an exact decimal string and a currency. */
  providerCost?: ProviderCost;
}

export interface ModelCallInput extends RecordOptions {
  provider: string;
  model: string;
  /** default, batch, flex, priority (provider spellings such as standard or auto are mapped). */
  serviceTier?: string;
  /** gen_ai.operation.name; defaults to chat. */
  operation?: string;
  /** Token counts, OpenTelemetry style (see fromOpenAIUsage / fromAnthropicUsage / fromGeminiUsage). */
  usage: Pick<TokenUsage, 'input_tokens' | 'output_tokens'> & Partial<TokenUsage>;
  durationMs?: number;
}

export interface ToolCallInput extends RecordOptions {
  toolName: string;
  /** Who bills the tool (web search by openai, a search API's vendor), when it is billed. */
  provider?: string;
  /** The call's arguments: the SDK stores a stable digest of them (the loop signature), never the arguments. */
  args?: unknown;
  /** A signature you computed yourself, instead of `args`. */
  signature?: string;
  status?: 'ok' | 'error';
  durationMs?: number;
}

export interface SandboxInput extends RecordOptions {
  provider: string;
  sandboxId: string;
  vcpuSeconds: number;
  gibSeconds: number;
  /** Seconds of this interval the sandbox ran with no model or tool activity. */
  idleSeconds?: number;
}

export interface RetrievalInput extends RecordOptions {
  provider?: string;
  queries?: number;
  readUnits?: number;
  embeddingTokens?: number;
  embeddingModel?: string;
  indexName?: string;
}

export interface CacheStorageInput extends RecordOptions {
  provider: string;
  model?: string;
  /** Cached tokens × hours stored. */
  tokenHours: number;
}

export interface EgressInput extends RecordOptions {
  provider?: string;
  bytes: number;
  destination?: string;
}

export function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new ValidationError(field, 'must be a non-empty string');
  return value;
}

function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  return value;
}

/** Durations are whole milliseconds in the contract; a measured 12.7 ms is recorded as 13. */
function durationOf(value: number | undefined, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new ValidationError(field, 'must be a finite non-negative number of milliseconds');
  return Math.round(value);
}

/** An event of `kind` with every field present and every body null; the caller sets one body. */
export function newEvent(
  who: Attribution,
  kind: UsageKind,
  options: RecordOptions | undefined,
  provider: string | null,
  model: string | null,
  serviceTier: ServiceTier,
): UsageEvent {
  return {
    event_id: randomUUID(),
    event_time: options?.eventTime ?? Date.now(),
    kind,
    run_id: who.run_id,
    agent_id: who.agent_id,
    parent_agent_id: who.parent_agent_id,
    agent_name: who.agent_name,
    agent_depth: who.agent_depth,
    provider,
    model,
    service_tier: serviceTier,
    org_id: who.org_id,
    feature: who.feature,
    customer_id: who.customer_id,
    environment: who.environment,
    tags: who.tags,
    source: 'sdk',
    provider_cost: options?.providerCost ?? null,
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
  };
}

export function modelCallEvent(who: Attribution, input: ModelCallInput): UsageEvent {
  const provider = requireText(input.provider, 'provider');
  const model = requireText(input.model, 'model');
  const usage = input.usage;
  if (usage === null || typeof usage !== 'object')
    throw new ValidationError('usage', 'must be a token usage object');
  const event = newEvent(who, 'model_call', input, provider, model, serviceTierOf(input.serviceTier));
  event.model_call = {
    operation: input.operation ?? 'chat',
    input_tokens: usage.input_tokens,
    cache_read_tokens: usage.cache_read_tokens ?? 0,
    cache_write_5m_tokens: usage.cache_write_5m_tokens ?? 0,
    cache_write_1h_tokens: usage.cache_write_1h_tokens ?? 0,
    output_tokens: usage.output_tokens,
    reasoning_tokens: usage.reasoning_tokens ?? 0,
    duration_ms: durationOf(input.durationMs, 'durationMs'),
  };
  return event;
}

/** Keys sorted at every level, so {a, b} and {b, a} give one signature. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

/** A short stable digest of a tool's name and arguments: identical calls share it. */
export function callSignature(toolName: string, args: unknown): string {
  return createHash('sha256')
    .update(toolName)
    .update('\0')
    .update(stableJson(args))
    .digest('hex')
    .slice(0, 32);
}

export function toolCallEvent(who: Attribution, input: ToolCallInput): UsageEvent {
  const toolName = requireText(input.toolName, 'toolName');
  const status = input.status ?? 'ok';
  if (status !== 'ok' && status !== 'error') throw new ValidationError('status', 'must be ok or error');
  const event = newEvent(who, 'tool_call', input, optionalText(input.provider, 'provider'), null, 'default');
  event.tool_call = {
    tool_name: toolName,
    call_signature:
      input.signature !== undefined
        ? requireText(input.signature, 'signature')
        : input.args !== undefined
          ? callSignature(toolName, input.args)
          : null,
    status,
    duration_ms: durationOf(input.durationMs, 'durationMs'),
  };
  return event;
}

export function sandboxEvent(who: Attribution, input: SandboxInput): UsageEvent {
  const event = newEvent(who, 'sandbox', input, requireText(input.provider, 'provider'), null, 'default');
  event.sandbox = {
    sandbox_id: requireText(input.sandboxId, 'sandboxId'),
    vcpu_seconds: input.vcpuSeconds,
    gib_seconds: input.gibSeconds,
    idle_seconds: input.idleSeconds ?? 0,
  };
  return event;
}

export function retrievalEvent(who: Attribution, input: RetrievalInput): UsageEvent {
  const event = newEvent(who, 'retrieval', input, optionalText(input.provider, 'provider'), null, 'default');
  event.retrieval = {
    queries: input.queries ?? 0,
    read_units: input.readUnits ?? 0,
    embedding_tokens: input.embeddingTokens ?? 0,
    embedding_model: optionalText(input.embeddingModel, 'embeddingModel'),
    index_name: optionalText(input.indexName, 'indexName'),
  };
  return event;
}

export function cacheStorageEvent(who: Attribution, input: CacheStorageInput): UsageEvent {
  const provider = requireText(input.provider, 'provider');
  const event = newEvent(
    who,
    'cache_storage',
    input,
    provider,
    optionalText(input.model, 'model'),
    'default',
  );
  event.cache_storage = { token_hours: input.tokenHours };
  return event;
}

export function egressEvent(who: Attribution, input: EgressInput): UsageEvent {
  const event = newEvent(who, 'egress', input, optionalText(input.provider, 'provider'), null, 'default');
  event.egress = { bytes: input.bytes, destination: optionalText(input.destination, 'destination') };
  return event;
}
