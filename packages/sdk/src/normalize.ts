/**
 * Provider usage objects, as the OpenAI, Anthropic and Gemini APIs return them, turned into the
 * contract's token body (OpenTelemetry GenAI conventions):
 *   input_tokens   every input token, cache reads and cache writes included
 *   cache_*        subsets of input_tokens (writes split by TTL)
 *   output_tokens  every billed output token, reasoning included
 *   reasoning      subset of output_tokens
 *
 * How each provider counts (checked against their API references):
 * - OpenAI chat completions: `prompt_tokens` INCLUDES `prompt_tokens_details.cached_tokens`;
 *   `completion_tokens` INCLUDES `completion_tokens_details.reasoning_tokens`. The Responses API has
 *   the same rule under `input_tokens` / `input_tokens_details` / `output_tokens_details`. OpenAI
 *   does not bill cache writes.
 * - Anthropic messages: `input_tokens` EXCLUDES `cache_read_input_tokens` and
 *   `cache_creation_input_tokens`; the writes are split by TTL in `cache_creation`
 *   (`ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`); without that split every write is a
 *   5-minute write (the default TTL). `output_tokens` includes extended-thinking tokens, which the
 *   API does not report apart, so reasoning_tokens is 0.
 * - Gemini: `promptTokenCount` INCLUDES `cachedContentTokenCount`. `candidatesTokenCount` does NOT
 *   include `thoughtsTokenCount` (totalTokenCount = prompt + candidates + toolUsePrompt + thoughts),
 *   and thinking is billed at the output price, so output = candidates + thoughts and reasoning =
 *   thoughts. `toolUsePromptTokenCount` (tool results fed back, e.g. grounding) is input.
 *
 * A count that is missing is 0; one that is negative or fractional is a ValidationError naming the
 * provider's field, so a malformed payload is caught before it is priced.
 */

import type { ModelCall } from '@tollgate/core/contract/types';
import { SERVICE_TIERS, type ServiceTier } from '@tollgate/core/contract/types';
import { ValidationError } from '@tollgate/core/errors';

/** The token part of a model call body. */
export type TokenUsage = Omit<ModelCall, 'operation' | 'duration_ms'>;

export interface OpenAIUsage {
  // chat completions
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  // responses API
  input_tokens?: number | null;
  output_tokens?: number | null;
  input_tokens_details?: { cached_tokens?: number | null } | null;
  output_tokens_details?: { reasoning_tokens?: number | null } | null;
  total_tokens?: number | null;
}

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: {
    ephemeral_5m_input_tokens?: number | null;
    ephemeral_1h_input_tokens?: number | null;
  } | null;
  service_tier?: string | null;
}

export interface GeminiUsage {
  promptTokenCount?: number | null;
  candidatesTokenCount?: number | null;
  cachedContentTokenCount?: number | null;
  thoughtsTokenCount?: number | null;
  toolUsePromptTokenCount?: number | null;
  totalTokenCount?: number | null;
}

function count(value: number | null | undefined, field: string): number {
  if (value === undefined || value === null) return 0;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ValidationError(field, `must be a non-negative integer, got ${String(value)}`);
  return value;
}

function requireObject(usage: unknown, provider: string): void {
  if (usage === null || typeof usage !== 'object')
    throw new ValidationError('usage', `must be the ${provider} usage object`);
}

/** OpenAI chat completions `usage` or Responses API `usage`. */
export function fromOpenAIUsage(usage: OpenAIUsage): TokenUsage {
  requireObject(usage, 'OpenAI');
  const chat = usage.prompt_tokens != null;
  if (!chat && usage.input_tokens == null)
    throw new ValidationError(
      'usage',
      'must carry prompt_tokens (chat completions) or input_tokens (responses)',
    );
  const input = chat
    ? count(usage.prompt_tokens, 'usage.prompt_tokens')
    : count(usage.input_tokens, 'usage.input_tokens');
  const cached = chat
    ? count(usage.prompt_tokens_details?.cached_tokens, 'usage.prompt_tokens_details.cached_tokens')
    : count(usage.input_tokens_details?.cached_tokens, 'usage.input_tokens_details.cached_tokens');
  const output = chat
    ? count(usage.completion_tokens, 'usage.completion_tokens')
    : count(usage.output_tokens, 'usage.output_tokens');
  const reasoning = chat
    ? count(
        usage.completion_tokens_details?.reasoning_tokens,
        'usage.completion_tokens_details.reasoning_tokens',
      )
    : count(usage.output_tokens_details?.reasoning_tokens, 'usage.output_tokens_details.reasoning_tokens');
  return {
    input_tokens: input,
    cache_read_tokens: cached,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    output_tokens: output,
    reasoning_tokens: reasoning,
  };
}

/** Anthropic Messages API `usage`. */
export function fromAnthropicUsage(usage: AnthropicUsage): TokenUsage {
  requireObject(usage, 'Anthropic');
  const uncached = count(usage.input_tokens, 'usage.input_tokens');
  const reads = count(usage.cache_read_input_tokens, 'usage.cache_read_input_tokens');
  const writes = count(usage.cache_creation_input_tokens, 'usage.cache_creation_input_tokens');
  let writes5m = writes;
  let writes1h = 0;
  const split = usage.cache_creation;
  if (split != null) {
    writes5m = count(split.ephemeral_5m_input_tokens, 'usage.cache_creation.ephemeral_5m_input_tokens');
    writes1h = count(split.ephemeral_1h_input_tokens, 'usage.cache_creation.ephemeral_1h_input_tokens');
    if (usage.cache_creation_input_tokens != null && writes5m + writes1h !== writes)
      throw new ValidationError(
        'usage.cache_creation',
        `ephemeral_5m_input_tokens + ephemeral_1h_input_tokens (${writes5m + writes1h}) must equal cache_creation_input_tokens (${writes})`,
      );
  }
  return {
    input_tokens: uncached + reads + writes5m + writes1h,
    cache_read_tokens: reads,
    cache_write_5m_tokens: writes5m,
    cache_write_1h_tokens: writes1h,
    output_tokens: count(usage.output_tokens, 'usage.output_tokens'),
    reasoning_tokens: 0,
  };
}

/** Gemini `usageMetadata` (Gemini API and Vertex AI). */
export function fromGeminiUsage(usage: GeminiUsage): TokenUsage {
  requireObject(usage, 'Gemini');
  const prompt = count(usage.promptTokenCount, 'usageMetadata.promptTokenCount');
  const toolPrompt = count(usage.toolUsePromptTokenCount, 'usageMetadata.toolUsePromptTokenCount');
  const cached = count(usage.cachedContentTokenCount, 'usageMetadata.cachedContentTokenCount');
  const candidates = count(usage.candidatesTokenCount, 'usageMetadata.candidatesTokenCount');
  const thoughts = count(usage.thoughtsTokenCount, 'usageMetadata.thoughtsTokenCount');
  if (cached > prompt)
    throw new ValidationError(
      'usageMetadata.cachedContentTokenCount',
      `must not exceed promptTokenCount (${prompt}), which includes it`,
    );
  return {
    input_tokens: prompt + toolPrompt,
    cache_read_tokens: cached,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    output_tokens: candidates + thoughts,
    reasoning_tokens: thoughts,
  };
}

const TIERS: ReadonlySet<string> = new Set(SERVICE_TIERS);

/**
 * A provider's service tier name as the contract's tier: OpenAI `default`/`auto`/`scale` and
 * Anthropic `standard` are the default tier; `flex`, `priority` and `batch` keep their names.
 */
export function serviceTierOf(value: string | null | undefined): ServiceTier {
  if (value === undefined || value === null || value === 'auto' || value === 'standard' || value === 'scale')
    return 'default';
  if (TIERS.has(value)) return value as ServiceTier;
  throw new ValidationError(
    'serviceTier',
    `must be one of ${SERVICE_TIERS.join(', ')} (or standard, auto, scale)`,
  );
}
