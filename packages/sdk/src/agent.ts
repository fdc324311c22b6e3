/**
 * Agent handles: what an agent developer records usage on. A run is its own root agent (depth 0);
 * `spawn` returns a child handle one level down. The SDK builds the tree: agent ids, parent ids and
 * depths come from the handles, never from the caller.
 *
 * Ceilings are decided before the action (checkRequest before a model call, spawn before a subagent)
 * from counters every agent of the run shares. Record calls are never refused by a ceiling: usage
 * that happened must be counted. Every ceiling decision, refused or degraded, is itself an event.
 */
import { randomUUID } from 'node:crypto';
import type { CeilingDecisionKind, UsageEvent } from '@tollgate/core/contract/types';
import { type TollgateError, ValidationError } from '@tollgate/core/errors';
import {
  allowedSpawns,
  type CeilingCheck,
  checkCost,
  checkDepth,
  checkTokens,
  type ResolvedCeilings,
} from './ceilings.ts';
import { CeilingExceededError } from './errors.ts';
import {
  type Attribution,
  type CacheStorageInput,
  cacheStorageEvent,
  type EgressInput,
  egressEvent,
  type ModelCallInput,
  modelCallEvent,
  newEvent,
  type RetrievalInput,
  requireText,
  retrievalEvent,
  type SandboxInput,
  sandboxEvent,
  type ToolCallInput,
  toolCallEvent,
} from './events.ts';

/**
 * What a record call returns: undefined when the event was buffered (the usual case, synchronous),
 * or a promise while the buffer is full, which resolves once the event is buffered or rejects with
 * BufferFullError after bufferTimeoutMs. `await` it (awaiting undefined is free) or check it.
 */
export type Recorded = Promise<void> | undefined;

/** Cost of an event in nano-units of the ceiling's currency; null when it cannot be priced. */
export type CostEstimator = (event: UsageEvent) => number | null;

/** What the meter gives a run: the way out for events, and the error hook. */
export interface RunSink {
  /** Validates, encodes once and buffers the event (throws ValidationError on a broken rule). */
  emit(event: UsageEvent, run: RunState): Recorded;
  /** Reports an error nobody awaits (a ceiling decision that could not be buffered). */
  report(err: TollgateError): void;
  estimateCost: CostEstimator | undefined;
}

/** Shared by every agent of one run. */
export interface RunState {
  readonly runId: string;
  /** The Kafka key (the run id's bytes) and its partition hash, computed once per run. */
  readonly key: Buffer;
  readonly keyHash: number;
  readonly ceilings: ResolvedCeilings;
  readonly startedAt: number;
  spentNanos: number;
  subagents: number;
  ended: boolean;
}

export interface RequestCheckInput {
  provider: string;
  model: string;
  serviceTier?: string;
  /** Tokens the request sends (prompt, tools, images counted by your tokenizer or the provider's count API). */
  inputTokens: number;
  /** The max_tokens / max_output_tokens the request sets. */
  maxOutputTokens: number;
}

export interface RequestCheck {
  /** Worst-case cost of the request (all input uncached, max output), when it can be priced. */
  estimatedCostNanos: number | null;
}

export interface SpawnOptions {
  name?: string;
}

export interface Agent {
  readonly runId: string;
  readonly agentId: string;
  readonly parentAgentId: string | null;
  readonly name: string | null;
  /** 0 for the run's root agent. */
  readonly depth: number;
  recordModelCall(input: ModelCallInput): Recorded;
  recordToolCall(input: ToolCallInput): Recorded;
  recordSandbox(input: SandboxInput): Recorded;
  recordRetrieval(input: RetrievalInput): Recorded;
  recordCacheStorage(input: CacheStorageInput): Recorded;
  recordEgress(input: EgressInput): Recorded;
  /** Throws CeilingExceededError when the request would cross tokens_per_request or cost_per_run. */
  checkRequest(input: RequestCheckInput): RequestCheck;
  /** A child agent one level down; throws CeilingExceededError past spawn_depth or subagents_per_run. */
  spawn(options?: SpawnOptions): Promise<Agent>;
  /**
   * Up to `count` child agents: as many as subagents_per_run still allows (possibly none), the
   * shortfall recorded as a ceiling decision. Throws CeilingExceededError past spawn_depth.
   */
  spawnMany(count: number, options?: SpawnOptions): Promise<Agent[]>;
}

const COST_KINDS: ReadonlySet<string> = new Set([
  'model_call',
  'tool_call',
  'sandbox',
  'retrieval',
  'cache_storage',
  'egress',
]);

function requireInput(input: unknown, call: string): void {
  if (input === null || typeof input !== 'object') throw new ValidationError(call, 'needs an options object');
}

function requireCount(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new ValidationError(field, 'must be a non-negative integer');
  return value as number;
}

export function createAgent(sink: RunSink, run: RunState, who: Attribution): Agent {
  /** Emits a usage event and counts its estimated cost against the run (when a cost ceiling is on). */
  function record(event: UsageEvent): Recorded {
    const pending = sink.emit(event, run);
    if (
      run.ceilings.costPerRunNanos !== null &&
      sink.estimateCost !== undefined &&
      COST_KINDS.has(event.kind)
    )
      run.spentNanos += sink.estimateCost(event) ?? 0;
    return pending;
  }

  function decisionEvent(
    check: CeilingCheck,
    decision: CeilingDecisionKind,
    granted: number,
    provider: string | null,
    model: string | null,
  ): UsageEvent {
    const event = newEvent(who, 'ceiling_decision', undefined, provider, model, 'default');
    event.ceiling_decision = { ...check, decision, granted };
    return event;
  }

  /** Records a refusal from a synchronous call: if it has to wait for room, failure goes to onError. */
  function refuseNow(check: CeilingCheck, provider: string | null, model: string | null): never {
    const pending = sink.emit(decisionEvent(check, 'refused', 0, provider, model), run);
    pending?.catch((err: unknown) => sink.report(err as TollgateError));
    throw new CeilingExceededError(check.ceiling, check.limit, check.requested, check.observed, run.runId);
  }

  async function refuseLater(check: CeilingCheck): Promise<never> {
    await sink.emit(decisionEvent(check, 'refused', 0, null, null), run);
    throw new CeilingExceededError(check.ceiling, check.limit, check.requested, check.observed, run.runId);
  }

  /** Creates the child handle and its subagent_spawn event (recorded by this agent, the parent). */
  function child(name: string | null): { agent: Agent; pending: Recorded } {
    run.subagents += 1;
    const childWho: Attribution = {
      ...who,
      agent_id: randomUUID(),
      parent_agent_id: who.agent_id,
      agent_name: name,
      agent_depth: who.agent_depth + 1,
    };
    const event = newEvent(who, 'subagent_spawn', undefined, null, null, 'default');
    event.subagent_spawn = {
      child_agent_id: childWho.agent_id,
      child_agent_name: name,
      child_depth: childWho.agent_depth,
    };
    return { agent: createAgent(sink, run, childWho), pending: sink.emit(event, run) };
  }

  function nameOf(options: SpawnOptions | undefined): string | null {
    const name = options?.name;
    if (name !== undefined && (typeof name !== 'string' || name.length === 0))
      throw new ValidationError('name', 'must be a non-empty string');
    return name ?? null;
  }

  return {
    runId: run.runId,
    agentId: who.agent_id,
    parentAgentId: who.parent_agent_id,
    name: who.agent_name,
    depth: who.agent_depth,

    recordModelCall(input) {
      requireInput(input, 'recordModelCall');
      return record(modelCallEvent(who, input));
    },
    recordToolCall(input) {
      requireInput(input, 'recordToolCall');
      return record(toolCallEvent(who, input));
    },
    recordSandbox(input) {
      requireInput(input, 'recordSandbox');
      return record(sandboxEvent(who, input));
    },
    recordRetrieval(input) {
      requireInput(input, 'recordRetrieval');
      return record(retrievalEvent(who, input));
    },
    recordCacheStorage(input) {
      requireInput(input, 'recordCacheStorage');
      return record(cacheStorageEvent(who, input));
    },
    recordEgress(input) {
      requireInput(input, 'recordEgress');
      return record(egressEvent(who, input));
    },

    checkRequest(input) {
      requireInput(input, 'checkRequest');
      const provider = requireText(input.provider, 'provider');
      const model = requireText(input.model, 'model');
      const inputTokens = requireCount(input.inputTokens, 'inputTokens');
      const maxOutputTokens = requireCount(input.maxOutputTokens, 'maxOutputTokens');
      const tokens = checkTokens(run.ceilings, inputTokens + maxOutputTokens);
      if (tokens) refuseNow(tokens, provider, model);
      let estimate: number | null = null;
      if (sink.estimateCost !== undefined) {
        // Worst case: nothing cached, every allowed output token produced.
        estimate = sink.estimateCost(
          modelCallEvent(who, {
            provider,
            model,
            serviceTier: input.serviceTier,
            usage: { input_tokens: inputTokens, output_tokens: maxOutputTokens },
          }),
        );
      }
      const cost = checkCost(run.ceilings, run.spentNanos, estimate);
      if (cost) refuseNow(cost, provider, model);
      return { estimatedCostNanos: estimate };
    },

    async spawn(options) {
      const name = nameOf(options);
      const depth = checkDepth(run.ceilings, who.agent_depth);
      if (depth) return refuseLater(depth);
      if (allowedSpawns(run.ceilings, run.subagents, 1) === 0)
        return refuseLater({
          ceiling: 'subagents_per_run',
          limit: run.ceilings.subagentsPerRun!,
          requested: 1,
          observed: run.subagents,
        });
      const { agent, pending } = child(name);
      await pending;
      return agent;
    },

    async spawnMany(count, options) {
      requireCount(count, 'count');
      const name = nameOf(options);
      if (count === 0) return [];
      const depth = checkDepth(run.ceilings, who.agent_depth);
      if (depth) return refuseLater(depth);
      const observed = run.subagents;
      const granted = allowedSpawns(run.ceilings, observed, count);
      const children: Agent[] = [];
      const pending: Promise<void>[] = [];
      if (granted < count) {
        const check: CeilingCheck = {
          ceiling: 'subagents_per_run',
          limit: run.ceilings.subagentsPerRun!,
          requested: count,
          observed,
        };
        const waiting = sink.emit(
          decisionEvent(check, granted === 0 ? 'refused' : 'degraded', granted, null, null),
          run,
        );
        if (waiting) pending.push(waiting);
      }
      for (let i = 0; i < granted; i++) {
        const spawned = child(name);
        children.push(spawned.agent);
        if (spawned.pending) pending.push(spawned.pending);
      }
      await Promise.all(pending);
      return children;
    },
  };
}
