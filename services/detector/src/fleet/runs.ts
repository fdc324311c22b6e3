/**
 * Scripts of single runs, as the usage events their SDK would emit, in time order: a normal run of a
 * feature (optionally under a feature-wide anomaly), and the three run-level anomalies. Each returns
 * its events and, for an anomaly, the event time its anomalous behaviour starts.
 */
import type { Random as Rng, UsageEvent } from '@tollgate/core';
import { type RunContext, runContext, usage } from './events.ts';
import type { FeatureProfile } from './profiles.ts';

/** Feature-wide anomalies in force when a run starts. */
export interface FeatureMods {
  cacheCollapse: boolean;
  modelSwap: boolean;
  retrievalStorm: boolean;
}

export const NO_MODS: FeatureMods = { cacheCollapse: false, modelSwap: false, retrievalStorm: false };

interface Script {
  events: UsageEvent[];
  run: RunContext;
  t: number;
  n: number;
}

function begin(rng: Rng, profile: FeatureProfile, runId: string, start: number, source: string): Script {
  const run = runContext({
    run_id: runId,
    org_id: profile.org,
    feature: profile.feature,
    customer_id: rng.pick(profile.customers),
    agent_id: `${runId}/root`,
    agent_name: profile.agentName,
    source,
  });
  const script: Script = { events: [], run, t: start, n: 0 };
  script.events.push(usage.runStart(run, nextId(script), start));
  return script;
}

function nextId(script: Script): string {
  return `${script.run.run_id}/${script.n++}`;
}

function modelCall(
  script: Script,
  rng: Rng,
  model: string,
  input: number,
  cacheRatio: number,
  collapse: boolean,
  first: boolean,
  ctx = script.run,
) {
  const cached = Math.round(input * cacheRatio * (0.9 + rng.next() * 0.1));
  const output = rng.int(200, 1_200);
  // A collapsed cache is rewritten on every call instead of read.
  const call = first
    ? { cache_read_tokens: 0, cache_write_5m_tokens: cached }
    : collapse
      ? { cache_read_tokens: 0, cache_write_5m_tokens: cached }
      : { cache_read_tokens: cached, cache_write_5m_tokens: 0 };
  script.events.push(
    usage.modelCall(ctx, nextId(script), script.t, model, {
      input_tokens: input,
      output_tokens: output,
      reasoning_tokens: Math.round(output * 0.2),
      duration_ms: rng.int(800, 4_000),
      ...call,
    }),
  );
}

export function normalRun(
  rng: Rng,
  profile: FeatureProfile,
  runId: string,
  start: number,
  mods: FeatureMods = NO_MODS,
  source = 'simulator',
): UsageEvent[] {
  const script = begin(rng, profile, runId, start, source);
  const model = mods.modelSwap ? profile.swapModel : profile.model;
  const steps = rng.int(profile.minSteps, profile.maxSteps);
  let lastSignature: string | null = null;
  let repeats = 0;
  for (let i = 0; i < steps; i++) {
    const interval = rng.int(1_500, 5_000);
    script.t += interval;
    modelCall(
      script,
      rng,
      model,
      Math.round(profile.promptTokens * (1 + 0.05 * i)),
      profile.cacheRatio,
      mods.cacheCollapse,
      i === 0,
    );
    if (rng.next() < profile.toolProbability) {
      script.t += 300;
      // Agents sometimes retry a call once or twice; that is not a loop.
      const retry: boolean = lastSignature !== null && repeats < 2 && rng.next() < 0.08;
      const signature: string = retry && lastSignature !== null ? lastSignature : `${runId}:${i}`;
      repeats = retry ? repeats + 1 : 0;
      lastSignature = signature;
      script.events.push(
        usage.toolCall(script.run, nextId(script), script.t, {
          tool_name: rng.pick(profile.tools),
          call_signature: signature,
        }),
      );
    }
    if (profile.sandbox && i % 3 === 2) {
      const seconds = Math.round((interval * 3) / 1000);
      script.events.push(
        usage.sandbox(script.run, nextId(script), script.t, {
          sandbox_id: `${runId}/sb`,
          vcpu_seconds: 2 * seconds,
          gib_seconds: 4 * seconds,
          idle_seconds: rng.int(0, 3),
        }),
      );
    }
    if (mods.retrievalStorm ? true : rng.next() < profile.retrievalProbability) {
      const queries = mods.retrievalStorm ? rng.int(6, 12) : rng.int(1, 2);
      script.events.push(
        usage.retrieval(
          script.run,
          nextId(script),
          script.t + 100,
          queries,
          queries * rng.int(5, 10),
          queries * 300,
        ),
      );
    }
    if (rng.next() < profile.spawnProbability) {
      const child = runContext({
        ...script.run,
        agent_id: `${runId}/w${i}`,
        parent_agent_id: script.run.agent_id,
        agent_name: 'worker',
        agent_depth: 1,
      });
      script.events.push(
        usage.spawn(script.run, nextId(script), script.t + 200, {
          child_agent_id: child.agent_id!,
          child_agent_name: 'worker',
          child_depth: 1,
        }),
      );
      script.t += 1_000;
      modelCall(script, rng, model, 5_000, 0, false, true, child);
    }
  }
  script.t += 1_000;
  script.events.push(usage.runEnd(script.run, nextId(script), script.t, 'success', script.t - start));
  return script.events;
}

export interface AnomalousRun {
  events: UsageEvent[];
  /** Event time the anomalous behaviour starts. */
  anomalyStart: number;
}

/** Starts normally, then repeats the same search with a growing context, 120 times. */
export function runawayLoop(
  rng: Rng,
  profile: FeatureProfile,
  runId: string,
  start: number,
  source = 'simulator',
): AnomalousRun {
  const script = begin(rng, profile, runId, start, source);
  for (let i = 0; i < 3; i++) {
    script.t += rng.int(1_500, 4_000);
    modelCall(script, rng, profile.model, profile.promptTokens, profile.cacheRatio, false, i === 0);
  }
  const anomalyStart = script.t + 1;
  for (let i = 0; i < 120; i++) {
    script.t += rng.int(2_000, 4_000);
    script.events.push(
      usage.toolCall(script.run, nextId(script), script.t, {
        tool_name: 'web_search',
        call_signature: `${runId}:stuck`,
      }),
    );
    script.t += 500;
    modelCall(script, rng, profile.model, profile.promptTokens + 2_000 * i, 0.5, false, false);
  }
  script.events.push(
    usage.runEnd(script.run, nextId(script), script.t + 1_000, 'timeout', script.t + 1_000 - start),
  );
  return { events: script.events, anomalyStart };
}

/** Spawns 400 workers within a minute, each making two small model calls. */
export function fanoutExplosion(
  rng: Rng,
  profile: FeatureProfile,
  runId: string,
  start: number,
  source = 'simulator',
): AnomalousRun {
  const script = begin(rng, profile, runId, start, source);
  script.t += 2_000;
  modelCall(script, rng, profile.model, profile.promptTokens, profile.cacheRatio, false, true);
  const anomalyStart = script.t + 1;
  const workers: UsageEvent[] = [];
  for (let w = 0; w < 400; w++) {
    script.t += rng.int(50, 150);
    const child = runContext({
      ...script.run,
      agent_id: `${runId}/w${w}`,
      parent_agent_id: script.run.agent_id,
      agent_name: 'worker',
      agent_depth: 1,
    });
    script.events.push(
      usage.spawn(script.run, nextId(script), script.t, {
        child_agent_id: child.agent_id!,
        child_agent_name: 'worker',
        child_depth: 1,
      }),
    );
    for (let c = 0; c < 2; c++)
      workers.push(
        usage.modelCall(child, nextId(script), script.t + 1_000 + c * 1_500, 'claude-haiku-4.5', {
          input_tokens: 4_000,
          output_tokens: rng.int(200, 600),
          duration_ms: 1_200,
        }),
      );
  }
  const end = script.t + 5_000;
  const events = [...script.events, ...workers].sort((a, b) => a.event_time - b.event_time);
  events.push(usage.runEnd(script.run, nextId(script), end, 'success', end - start));
  return { events, anomalyStart };
}

/** A normal run whose sandbox keeps running, idle, for two hours after the run ends. */
export function sandboxLeftRunning(
  rng: Rng,
  profile: FeatureProfile,
  runId: string,
  start: number,
  source = 'simulator',
): AnomalousRun {
  const events = normalRun(rng, { ...profile, sandbox: true }, runId, start, NO_MODS, source);
  const end = events[events.length - 1]!;
  const run = runContext({
    run_id: runId,
    org_id: end.org_id,
    feature: end.feature,
    customer_id: end.customer_id,
    agent_id: end.agent_id,
    agent_name: end.agent_name,
    source,
  });
  for (let minute = 1; minute <= 120; minute++)
    events.push(
      usage.sandbox(run, `${runId}/idle${minute}`, end.event_time + minute * 60_000, {
        sandbox_id: `${runId}/sb`,
        vcpu_seconds: 120,
        gib_seconds: 240,
        idle_seconds: 60,
      }),
    );
  return { events, anomalyStart: end.event_time };
}
