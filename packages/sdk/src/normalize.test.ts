import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '@tollgate/core';
import { fromAnthropicUsage, fromGeminiUsage, fromOpenAIUsage, serviceTierOf } from './normalize.ts';

describe('fromOpenAIUsage', () => {
  it('keeps chat-completions prompt_tokens as input (cached tokens are already inside it)', () => {
    // gpt-5 chat completion with a warm prompt cache and reasoning.
    const usage = {
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 192,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    assert.deepEqual(fromOpenAIUsage(usage), {
      input_tokens: 2006,
      cache_read_tokens: 1920,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 300,
      reasoning_tokens: 192,
    });
  });

  it('reads the Responses API shape', () => {
    const usage = {
      input_tokens: 5328,
      input_tokens_details: { cached_tokens: 4096 },
      output_tokens: 852,
      output_tokens_details: { reasoning_tokens: 640 },
      total_tokens: 6180,
    };
    assert.deepEqual(fromOpenAIUsage(usage), {
      input_tokens: 5328,
      cache_read_tokens: 4096,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 852,
      reasoning_tokens: 640,
    });
  });

  it('treats absent or null details as zero (embeddings, older models)', () => {
    assert.deepEqual(fromOpenAIUsage({ prompt_tokens: 8, total_tokens: 8, prompt_tokens_details: null }), {
      input_tokens: 8,
      cache_read_tokens: 0,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 0,
      reasoning_tokens: 0,
    });
  });

  it('names the provider field of a malformed count', () => {
    assert.throws(
      () => fromOpenAIUsage({ prompt_tokens: 10, completion_tokens: -1 }),
      (err: ValidationError) =>
        err.field === 'usage.completion_tokens' && /non-negative integer/.test(err.rule),
    );
    assert.throws(
      () => fromOpenAIUsage({ total_tokens: 3 }),
      (err: ValidationError) => err instanceof ValidationError && err.field === 'usage',
    );
  });
});

describe('fromAnthropicUsage', () => {
  it('adds cache reads and writes to input_tokens, which excludes them, and keeps the TTL split', () => {
    // claude-sonnet-4-5 turn: 1-hour cache write of the system prompt, 10k tokens read from cache.
    const usage = {
      input_tokens: 12,
      cache_creation_input_tokens: 2048,
      cache_read_input_tokens: 10240,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2048 },
      output_tokens: 503,
      service_tier: 'standard',
      server_tool_use: { web_search_requests: 0 },
    };
    assert.deepEqual(fromAnthropicUsage(usage), {
      input_tokens: 12 + 2048 + 10240,
      cache_read_tokens: 10240,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 2048,
      output_tokens: 503,
      reasoning_tokens: 0,
    });
    assert.equal(serviceTierOf(usage.service_tier), 'default');
  });

  it('counts writes without a TTL split as 5-minute writes (the default TTL)', () => {
    const usage = {
      input_tokens: 900,
      cache_creation_input_tokens: 1500,
      cache_read_input_tokens: 0,
      output_tokens: 40,
    };
    const tokens = fromAnthropicUsage(usage);
    assert.equal(tokens.input_tokens, 2400);
    assert.equal(tokens.cache_write_5m_tokens, 1500);
    assert.equal(tokens.cache_write_1h_tokens, 0);
  });

  it('refuses a TTL split that does not add up to cache_creation_input_tokens', () => {
    assert.throws(
      () =>
        fromAnthropicUsage({
          input_tokens: 1,
          output_tokens: 1,
          cache_creation_input_tokens: 100,
          cache_creation: { ephemeral_5m_input_tokens: 60, ephemeral_1h_input_tokens: 30 },
        }),
      (err: ValidationError) => err.field === 'usage.cache_creation' && /must equal/.test(err.rule),
    );
  });
});

describe('fromGeminiUsage', () => {
  it('keeps promptTokenCount (cache included) and adds thoughts, which candidates exclude, to output', () => {
    // gemini-2.5-pro with an explicit context cache and thinking: total = prompt + candidates + thoughts.
    const usageMetadata = {
      promptTokenCount: 9120,
      candidatesTokenCount: 412,
      totalTokenCount: 10712,
      cachedContentTokenCount: 8192,
      thoughtsTokenCount: 1180,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 9120 }],
      cacheTokensDetails: [{ modality: 'TEXT', tokenCount: 8192 }],
    };
    const tokens = fromGeminiUsage(usageMetadata);
    assert.deepEqual(tokens, {
      input_tokens: 9120,
      cache_read_tokens: 8192,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 412 + 1180,
      reasoning_tokens: 1180,
    });
    assert.equal(tokens.input_tokens + tokens.output_tokens, usageMetadata.totalTokenCount);
  });

  it('counts tool-use prompt tokens (grounding results) as input', () => {
    const tokens = fromGeminiUsage({
      promptTokenCount: 100,
      toolUsePromptTokenCount: 2500,
      candidatesTokenCount: 80,
      totalTokenCount: 2680,
    });
    assert.equal(tokens.input_tokens, 2600);
    assert.equal(tokens.output_tokens, 80);
  });

  it('refuses a cached count larger than the prompt that includes it', () => {
    assert.throws(
      () => fromGeminiUsage({ promptTokenCount: 10, cachedContentTokenCount: 11 }),
      (err: ValidationError) => err.field === 'usageMetadata.cachedContentTokenCount',
    );
  });
});

describe('serviceTierOf', () => {
  it("maps providers' tier names to the contract's", () => {
    assert.equal(serviceTierOf(undefined), 'default');
    assert.equal(serviceTierOf('auto'), 'default');
    assert.equal(serviceTierOf('scale'), 'default');
    assert.equal(serviceTierOf('flex'), 'flex');
    assert.equal(serviceTierOf('priority'), 'priority');
    assert.equal(serviceTierOf('batch'), 'batch');
    assert.throws(
      () => serviceTierOf('turbo'),
      (err: ValidationError) => err.field === 'serviceTier',
    );
  });
});
