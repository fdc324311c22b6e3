/**
 * Fleet presets: normal traffic, and one per field scenario of the design. Each returns run plans;
 * nothing here talks to Kafka.
 */
import type { Random, RunOutcome } from '@tollgate/core';
import {
  MODELS,
  type ModelChoice,
  modelUsage,
  SANDBOX_PROVIDERS,
  TOOLS,
  type UsageShape,
} from './catalog.ts';
import type { Action, RunPlan } from './plan.ts';

export const PRESETS = ['normal', 'untagged', 'fanout', 'hidden-costs'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface PresetOptions {
  random: Random;
  /** Makes run ids unique across simulations (the pipeline de-duplicates by event id). */
  nonce: string;
  orgs: string[];
  features: string[];
  runs: number;
}

const PAID_TOOLS: ReadonlySet<string> = new Set(['web_search', 'file_search', 'code_interpreter']);

const CUSTOMERS = ['cus_northwind', 'cus_initech', 'cus_umbrella', 'cus_hooli', 'cus_stark'];

function outcome(random: Random): RunOutcome {
  return random.weighted<RunOutcome>([
    ['success', 88],
    ['failure', 8],
    ['timeout', 3],
    ['cancelled', 1],
  ]);
}

function model(agent: number, choice: ModelChoice, random: Random, shape: UsageShape): Action {
  return {
    op: 'model',
    agent,
    provider: choice.provider,
    model: choice.model,
    tier: 'default',
    usage: modelUsage(random, choice, shape),
    maxOutputTokens: shape.outputMax,
  };
}

const CHAT: UsageShape = {
  inputMin: 2_000,
  inputMax: 24_000,
  outputMin: 150,
  outputMax: 1_500,
  cacheHit: 0.5,
};

/** An ordinary agent run: a few model turns with tools, sometimes subagents, a sandbox, retrieval. */
export function normalRun(
  random: Random,
  runId: string,
  org: string,
  feature: string | null,
  label = 'normal',
): RunPlan {
  const choice = random.weighted<ModelChoice>([
    [MODELS.sonnet, 4],
    [MODELS.gpt5mini, 3],
    [MODELS.haiku, 2],
    [MODELS.flash, 2],
    [MODELS.gpt5, 1],
  ]);
  const actions: Action[] = [];
  const turns = random.int(2, 6);
  for (let turn = 0; turn < turns; turn++) {
    actions.push(model(0, choice, random, CHAT));
    if (random.chance(0.6)) {
      const tool = random.pick(TOOLS);
      actions.push({
        op: 'tool',
        agent: 0,
        tool,
        signature: `sig-${random.int(0, 1e9)}`,
        // OpenAI's hosted tools are billed per call; the agent's own functions are not.
        provider: PAID_TOOLS.has(tool) ? 'openai' : null,
      });
    }
    if (random.chance(0.25)) {
      actions.push({
        op: 'retrieval',
        agent: 0,
        provider: 'tavily',
        queries: random.int(1, 3),
        readUnits: 0,
        embeddingTokens: 0,
        embeddingModel: null,
      });
    }
  }
  if (random.chance(0.2)) {
    const workers = random.int(2, 4);
    actions.push({ op: 'spawn', agent: 0, name: 'worker', count: workers });
    for (let w = 1; w <= workers; w++) actions.push(model(w, MODELS.haiku, random, CHAT));
  }
  if (random.chance(0.25)) {
    const seconds = random.int(30, 300);
    actions.push({
      op: 'sandbox',
      agent: 0,
      provider: random.pick(SANDBOX_PROVIDERS),
      sandboxId: `sbx-${runId}`,
      vcpuSeconds: seconds * 2,
      gibSeconds: seconds * 4,
      idleSeconds: Math.floor(seconds * 0.1),
    });
  }
  return {
    runId,
    org,
    feature,
    customer: random.pick(CUSTOMERS),
    environment: 'production',
    agentName: feature ? `${feature}-agent` : 'agent',
    actions,
    outcome: outcome(random),
    label,
  };
}

export function normalFleet({ random, nonce, orgs, features, runs }: PresetOptions): RunPlan[] {
  return Array.from({ length: runs }, (_, i) =>
    normalRun(random, `run-${nonce}-n${i}`, random.pick(orgs), random.pick(features)),
  );
}

/**
 * Scenario 1, shared key and untagged fleet: three product lines behind one key. First without
 * business tags (all spend untagged), then tagged: support-bot, on the priciest model with long
 * contexts, drives about two thirds of spend. One support-bot run loops on the same tool call; a
 * per-run cost ceiling stops it.
 */
export function sharedKeyFleet(
  { random, nonce, runs }: PresetOptions,
  { tagged }: { tagged: boolean },
): RunPlan[] {
  const phase = tagged ? 'tagged' : 'untagged';
  // Three product lines in a fixed 4:3:3 mix of runs. support-bot answers from long ticket histories
  // on Sonnet; code-review runs GPT-5; search-assist runs Haiku: support-bot ends up near two thirds.
  const lines: [string, ModelChoice, UsageShape][] = [
    ['support-bot', MODELS.sonnet, { ...CHAT, inputMin: 20_000, inputMax: 40_000, cacheHit: 0.3 }],
    [
      'code-review',
      MODELS.gpt5,
      { ...CHAT, inputMin: 20_000, inputMax: 40_000, outputMin: 500, outputMax: 3_000, cacheHit: 0.3 },
    ],
    ['search-assist', MODELS.haiku, { ...CHAT, inputMin: 20_000, inputMax: 40_000, cacheHit: 0.3 }],
  ];
  const mix = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
  const plans: RunPlan[] = [];
  for (let i = 0; i < runs; i++) {
    const [feature, choice, shape] = lines[mix[i % mix.length]!]!;
    const actions: Action[] = [];
    for (let turn = 0, turns = random.int(3, 6); turn < turns; turn++)
      actions.push(model(0, choice, random, shape));
    plans.push({
      runId: `run-${nonce}-${phase}-${i}`,
      org: 'acme',
      feature: tagged ? feature : null,
      customer: tagged ? random.pick(CUSTOMERS) : null,
      environment: tagged ? 'production' : null,
      agentName: `${feature}-agent`,
      actions,
      outcome: 'success',
      label: phase,
    });
  }
  if (tagged) {
    // The runaway: the same lookup over and over, each turn re-reading a long context.
    const loop: Action[] = [];
    for (let turn = 0; turn < 200; turn++) {
      loop.push({
        op: 'tool',
        agent: 0,
        tool: 'lookup_order',
        signature: 'lookup_order:{"order":"A-1001"}',
        provider: null,
      });
      loop.push(
        model(0, MODELS.sonnet, random, { ...CHAT, inputMin: 40_000, inputMax: 40_000, cacheHit: 0 }),
      );
    }
    plans.push({
      runId: `run-${nonce}-loop`,
      org: 'acme',
      feature: 'support-bot',
      customer: 'cus_northwind',
      environment: 'production',
      agentName: 'support-bot-agent',
      actions: loop,
      outcome: 'failure',
      ceilings: { costPerRun: '2.00' },
      label: 'loop',
    });
  }
  return plans;
}

/**
 * Scenario 2, fan-out: ordinary research runs, and one run that asks for 400 workers. The subagent
 * ceiling grants what remains; the run completes with the smaller batch.
 */
export function fanoutFleet(options: PresetOptions, { workers = 400, ceiling = 25 } = {}): RunPlan[] {
  const { random, nonce, runs } = options;
  const plans = Array.from({ length: runs }, (_, i) =>
    normalRun(random, `run-${nonce}-research-${i}`, 'initech', 'research'),
  );
  const actions: Action[] = [
    model(0, MODELS.sonnet, random, CHAT),
    { op: 'spawn', agent: 0, name: 'researcher', count: workers },
  ];
  // Workers run on Haiku: each is cheap; hundreds of them are not.
  const worker: UsageShape = { ...CHAT, inputMin: 30_000, inputMax: 40_000, cacheHit: 0.2 };
  for (let w = 1; w <= workers; w++) {
    actions.push(model(w, MODELS.haiku, random, worker));
    actions.push({ op: 'tool', agent: w, tool: 'web_search', signature: `q-${w}`, provider: 'anthropic' });
    actions.push(model(w, MODELS.haiku, random, worker));
  }
  actions.push(model(0, MODELS.sonnet, random, CHAT));
  plans.push({
    runId: `run-${nonce}-fanout`,
    org: 'initech',
    feature: 'research',
    customer: 'cus_initech',
    environment: 'production',
    agentName: 'research-orchestrator',
    actions,
    outcome: 'success',
    ceilings: { subagentsPerRun: ceiling },
    label: 'fanout',
  });
  return plans;
}

/**
 * Scenario 3, hidden costs: the same data agent before and after prompt caching (token spend about
 * halves), while sandboxes are left running idle and every step fires per-query web searches.
 */
export function hiddenCostsFleet({ random, nonce, runs }: PresetOptions): RunPlan[] {
  const plans: RunPlan[] = [];
  for (const phase of ['before-cache', 'after-cache'] as const) {
    for (let i = 0; i < runs; i++) {
      const cacheHit = phase === 'before-cache' ? 0 : 0.75;
      const runId = `run-${nonce}-${phase}-${i}`;
      const actions: Action[] = [];
      for (let turn = 0; turn < 4; turn++) {
        actions.push(
          model(0, MODELS.sonnet, random, {
            inputMin: 8_000,
            inputMax: 12_000,
            outputMin: 200,
            outputMax: 600,
            cacheHit,
          }),
        );
        actions.push({
          op: 'retrieval',
          agent: 0,
          provider: 'tavily',
          queries: random.int(4, 8),
          readUnits: 0,
          embeddingTokens: 0,
          embeddingModel: null,
        });
      }
      if (phase === 'after-cache') {
        // Left running after the run's last step: an hour of lease, almost all of it idle.
        const seconds = random.int(3_000, 4_000);
        actions.push({
          op: 'sandbox',
          agent: 0,
          provider: 'e2b',
          sandboxId: `sbx-${runId}`,
          vcpuSeconds: seconds * 4,
          gibSeconds: seconds * 8,
          idleSeconds: seconds - 120,
        });
      }
      plans.push({
        runId,
        org: 'globex',
        feature: 'data-agent',
        customer: 'cus_hooli',
        environment: 'production',
        agentName: 'data-agent',
        tags: { phase },
        actions,
        outcome: 'success',
        label: phase,
      });
    }
  }
  return plans;
}
