/**
 * Plays run plans through the real SDK, as an orchestrator would: checks a request against the
 * run's ceilings before the "call", records its usage after, spawns workers through the SDK (which
 * may grant fewer), and ends the run. Returns the ledger of what was actually sent.
 */
import { type Agent, CeilingExceededError, type Meter, type Run } from '@tollgate/sdk';
import type { Action, RunLedger, RunPlan } from './plan.ts';

export interface ExecuteOptions {
  meter: Meter;
  plans: RunPlan[];
  /** Runs in flight at once (their events interleave, as a fleet's do). */
  concurrency?: number;
  /** Called after each action with the number of events recorded so far (for pacing and progress). */
  onEvents?: (events: number) => Promise<void> | void;
  /** Called as each run has ended. */
  onRunDone?: () => void;
}

async function recorded(result: Promise<void> | undefined): Promise<void> {
  if (result !== undefined) await result;
}

/** Records one action on its agent; returns the events it produced. */
async function play(
  action: Action,
  agent: Agent,
  ledger: RunLedger,
  index: number,
  agents: Agent[],
): Promise<number> {
  switch (action.op) {
    case 'model': {
      // The check an orchestrator makes before calling the model: throws past a ceiling.
      agent.checkRequest({
        provider: action.provider,
        model: action.model,
        serviceTier: action.tier,
        inputTokens: action.usage.input,
        maxOutputTokens: action.maxOutputTokens,
      });
      await recorded(
        agent.recordModelCall({
          provider: action.provider,
          model: action.model,
          serviceTier: action.tier,
          usage: {
            input_tokens: action.usage.input,
            cache_read_tokens: action.usage.cacheRead,
            cache_write_5m_tokens: action.usage.cacheWrite5m,
            cache_write_1h_tokens: action.usage.cacheWrite1h,
            output_tokens: action.usage.output,
            reasoning_tokens: action.usage.reasoning,
          },
        }),
      );
      return 1;
    }
    case 'tool':
      await recorded(
        agent.recordToolCall({
          toolName: action.tool,
          signature: action.signature,
          ...(action.provider ? { provider: action.provider } : {}),
        }),
      );
      return 1;
    case 'spawn': {
      const children = await agent.spawnMany(action.count, { name: action.name });
      agents.push(...children);
      ledger.granted.set(index, children.length);
      // One subagent_spawn per child, plus a ceiling decision when fewer were granted.
      return children.length + (children.length < action.count ? 1 : 0);
    }
    case 'sandbox':
      await recorded(
        agent.recordSandbox({
          provider: action.provider,
          sandboxId: action.sandboxId,
          vcpuSeconds: action.vcpuSeconds,
          gibSeconds: action.gibSeconds,
          idleSeconds: action.idleSeconds,
        }),
      );
      return 1;
    case 'retrieval':
      await recorded(
        agent.recordRetrieval({
          provider: action.provider,
          queries: action.queries,
          readUnits: action.readUnits,
          embeddingTokens: action.embeddingTokens,
          ...(action.embeddingModel ? { embeddingModel: action.embeddingModel } : {}),
        }),
      );
      return 1;
    case 'cache_storage':
      await recorded(
        agent.recordCacheStorage({
          provider: action.provider,
          model: action.model,
          tokenHours: action.tokenHours,
        }),
      );
      return 1;
    case 'egress':
      await recorded(agent.recordEgress({ provider: action.provider, bytes: action.bytes }));
      return 1;
  }
}

async function executeRun(
  meter: Meter,
  plan: RunPlan,
  onEvents: (events: number) => Promise<void> | void,
): Promise<RunLedger> {
  const run: Run = await meter.startRun({
    runId: plan.runId,
    agentName: plan.agentName,
    org_id: plan.org,
    feature: plan.feature,
    customer_id: plan.customer,
    environment: plan.environment,
    ...(plan.tags ? { tags: plan.tags } : {}),
    ...(plan.ceilings ? { ceilings: plan.ceilings } : {}),
  });
  const ledger: RunLedger = {
    plan,
    sent: [],
    skipped: [],
    granted: new Map(),
    outcome: plan.outcome,
    events: 1,
  };
  await onEvents(1); // run_start
  const agents: Agent[] = [run];
  let stopped: string | undefined;
  for (const [index, action] of plan.actions.entries()) {
    const agent = agents[action.agent];
    if (stopped !== undefined) {
      ledger.skipped.push({ action, reason: stopped });
      continue;
    }
    if (agent === undefined) {
      ledger.skipped.push({ action, reason: 'worker not granted by the subagent ceiling' });
      continue;
    }
    try {
      const events = await play(action, agent, ledger, index, agents);
      ledger.sent.push(action);
      ledger.events += events;
      await onEvents(events);
    } catch (err) {
      if (!(err instanceof CeilingExceededError)) throw err;
      // The orchestrator stops the run when a hard ceiling refuses its next call: that is the point.
      ledger.events += 1; // the SDK emitted the refusal as a ceiling_decision event
      await onEvents(1);
      stopped = `refused by ceiling ${err.ceiling}`;
      ledger.skipped.push({ action, reason: stopped });
      ledger.outcome = 'failure';
    }
  }
  await run.end(ledger.outcome);
  ledger.events += 1;
  await onEvents(1);
  return ledger;
}

/** Executes plans with `concurrency` runs in flight; the ledgers come back in plan order. */
export async function executePlans({
  meter,
  plans,
  concurrency = 8,
  onEvents = () => {},
  onRunDone = () => {},
}: ExecuteOptions): Promise<RunLedger[]> {
  const ledgers: RunLedger[] = new Array(plans.length);
  let next = 0;
  const worker = async () => {
    while (next < plans.length) {
      const index = next++;
      ledgers[index] = await executeRun(meter, plans[index]!, onEvents);
      onRunDone();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker));
  return ledgers;
}
