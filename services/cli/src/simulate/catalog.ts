/**
 * The things a simulated agent uses, named as the default rate card names them (ratecards/default.yaml),
 * so every simulated unit is priced by real list prices.
 */

import type { Random } from '@tollgate/core';
import type { ModelUsage } from './plan.ts';

export interface ModelChoice {
  provider: string;
  model: string;
  /** Whether the provider reports cache writes split by TTL (Anthropic). */
  cacheWrites: boolean;
  reasoning: boolean;
}

export const MODELS = {
  sonnet: { provider: 'anthropic', model: 'claude-sonnet-4-5', cacheWrites: true, reasoning: false },
  haiku: { provider: 'anthropic', model: 'claude-haiku-4-5', cacheWrites: true, reasoning: false },
  opus: { provider: 'anthropic', model: 'claude-opus-4-5', cacheWrites: true, reasoning: false },
  gpt5: { provider: 'openai', model: 'gpt-5', cacheWrites: false, reasoning: true },
  gpt5mini: { provider: 'openai', model: 'gpt-5-mini', cacheWrites: false, reasoning: true },
  gpt41mini: { provider: 'openai', model: 'gpt-4.1-mini', cacheWrites: false, reasoning: false },
  flash: { provider: 'gcp.gemini', model: 'gemini-2.5-flash', cacheWrites: false, reasoning: true },
} as const satisfies Record<string, ModelChoice>;

export const TOOLS = ['web_search', 'code_interpreter', 'file_search', 'read_file', 'run_tests'] as const;

export const SANDBOX_PROVIDERS = ['e2b', 'daytona', 'modal'] as const;

export interface UsageShape {
  inputMin: number;
  inputMax: number;
  outputMin: number;
  outputMax: number;
  /** Share of input served from cache (0..1). */
  cacheHit: number;
}

/** Token counts of one call, OpenTelemetry convention (input includes cache reads and writes). */
export function modelUsage(random: Random, model: ModelChoice, shape: UsageShape): ModelUsage {
  const input = random.int(shape.inputMin, shape.inputMax);
  const cacheRead = Math.floor(input * shape.cacheHit);
  // Providers that report cache writes write the new tail of the prompt for the next turn.
  const cacheWrite5m = model.cacheWrites
    ? Math.min(input - cacheRead, random.int(0, Math.floor(input * 0.1)))
    : 0;
  const output = random.int(shape.outputMin, shape.outputMax);
  const reasoning = model.reasoning ? Math.floor(output * random.next() * 0.6) : 0;
  return { input, cacheRead, cacheWrite5m, cacheWrite1h: 0, output, reasoning };
}
