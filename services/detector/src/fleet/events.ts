/**
 * Builders for complete usage events: the attribution a run shares plus exactly one body, the one
 * named by `kind`. The fleet generator and the detector's tests build every event through these.
 */
import {
  type ModelCall,
  NO_BODIES,
  type RunOutcome,
  type Sandbox,
  type ServiceTier,
  type SubagentSpawn,
  type ToolCall,
  type UsageBodies,
  type UsageEvent,
  type UsageKind,
} from '@tollgate/core';

/** What every event of one run (or one agent of it) carries. */
export interface RunContext {
  run_id: string;
  org_id: string;
  feature: string | null;
  customer_id: string | null;
  agent_id: string | null;
  parent_agent_id: string | null;
  agent_name: string | null;
  agent_depth: number;
  environment: string | null;
  source: string;
}

export function runContext(fields: Partial<RunContext> & Pick<RunContext, 'run_id' | 'org_id'>): RunContext {
  return {
    feature: null,
    customer_id: null,
    agent_id: null,
    parent_agent_id: null,
    agent_name: null,
    agent_depth: 0,
    environment: 'production',
    source: 'simulator',
    ...fields,
  };
}

function event(
  ctx: RunContext,
  eventId: string,
  eventTime: number,
  kind: UsageKind,
  body: Partial<UsageBodies>,
  model: { provider: string | null; model: string | null; service_tier?: ServiceTier } = {
    provider: null,
    model: null,
  },
): UsageEvent {
  return {
    event_id: eventId,
    event_time: eventTime,
    kind,
    run_id: ctx.run_id,
    agent_id: ctx.agent_id,
    parent_agent_id: ctx.parent_agent_id,
    agent_name: ctx.agent_name,
    agent_depth: ctx.agent_depth,
    provider: model.provider,
    model: model.model,
    service_tier: model.service_tier ?? 'default',
    org_id: ctx.org_id,
    feature: ctx.feature,
    customer_id: ctx.customer_id,
    environment: ctx.environment,
    tags: {},
    source: ctx.source,
    provider_cost: null,
    ...NO_BODIES,
    ...body,
  };
}

export function providerOf(model: string): string {
  if (model.startsWith('claude')) return 'anthropic';
  if (model.startsWith('gemini')) return 'google';
  return 'openai';
}

export const usage = {
  runStart: (ctx: RunContext, id: string, t: number) =>
    event(ctx, id, t, 'run_start', { run_start: { trigger: 'api' } }),
  runEnd: (ctx: RunContext, id: string, t: number, outcome: RunOutcome, durationMs: number) =>
    event(ctx, id, t, 'run_end', { run_end: { outcome, duration_ms: durationMs } }),
  modelCall: (ctx: RunContext, id: string, t: number, model: string, call: Partial<ModelCall>) =>
    event(
      ctx,
      id,
      t,
      'model_call',
      {
        model_call: {
          operation: 'chat',
          input_tokens: 0,
          cache_read_tokens: 0,
          cache_write_5m_tokens: 0,
          cache_write_1h_tokens: 0,
          output_tokens: 0,
          reasoning_tokens: 0,
          duration_ms: 1_000,
          ...call,
        },
      },
      { provider: providerOf(model), model },
    ),
  toolCall: (ctx: RunContext, id: string, t: number, call: Pick<ToolCall, 'tool_name'> & Partial<ToolCall>) =>
    event(ctx, id, t, 'tool_call', {
      tool_call: { call_signature: null, status: 'ok', duration_ms: 200, ...call },
    }),
  spawn: (ctx: RunContext, id: string, t: number, spawn: SubagentSpawn) =>
    event(ctx, id, t, 'subagent_spawn', { subagent_spawn: spawn }),
  sandbox: (ctx: RunContext, id: string, t: number, sandbox: Sandbox) =>
    event(ctx, id, t, 'sandbox', { sandbox }, { provider: 'e2b', model: null }),
  retrieval: (
    ctx: RunContext,
    id: string,
    t: number,
    queries: number,
    readUnits: number,
    embeddingTokens: number,
  ) =>
    event(
      ctx,
      id,
      t,
      'retrieval',
      {
        retrieval: {
          queries,
          read_units: readUnits,
          embedding_tokens: embeddingTokens,
          embedding_model: 'text-embedding-3-small',
          index_name: 'docs',
        },
      },
      { provider: 'tavily', model: null },
    ),
};
