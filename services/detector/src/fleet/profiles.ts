/**
 * What the simulated fleet looks like: orgs with features, each feature with its own agent shape
 * (model, prompt size, cache hit ratio, tools, sandboxes, retrieval), traffic share and customers.
 * Deterministic from a seed.
 */
import type { Random as Rng } from '@tollgate/core';

export interface FeatureProfile {
  org: string;
  feature: string;
  /** Relative share of the fleet's runs. */
  weight: number;
  /** Hours the org's day is shifted by (its time zone), for the diurnal curve. */
  phaseHours: number;
  model: string;
  /** The pricier model a model swap moves to. */
  swapModel: string;
  promptTokens: number;
  /** Share of input tokens read from cache on a normal call. */
  cacheRatio: number;
  minSteps: number;
  maxSteps: number;
  tools: string[];
  toolProbability: number;
  sandbox: boolean;
  retrievalProbability: number;
  spawnProbability: number;
  customers: string[];
  agentName: string;
}

const SHAPES: Omit<FeatureProfile, 'org' | 'feature' | 'weight' | 'phaseHours' | 'customers'>[] = [
  {
    model: 'claude-sonnet-4.5',
    swapModel: 'claude-opus-4.1',
    promptTokens: 40_000,
    cacheRatio: 0.85,
    minSteps: 8,
    maxSteps: 20,
    tools: ['read_file', 'grep'],
    toolProbability: 0.5,
    sandbox: true,
    retrievalProbability: 0,
    spawnProbability: 0.05,
    agentName: 'coder',
  },
  {
    model: 'gpt-5',
    swapModel: 'claude-opus-4.1',
    promptTokens: 12_000,
    cacheRatio: 0.5,
    minSteps: 6,
    maxSteps: 16,
    tools: ['web_search', 'read_url'],
    toolProbability: 0.6,
    sandbox: false,
    retrievalProbability: 0.35,
    spawnProbability: 0.03,
    agentName: 'researcher',
  },
  {
    model: 'claude-haiku-4.5',
    swapModel: 'claude-opus-4.1',
    promptTokens: 30_000,
    cacheRatio: 0.85,
    minSteps: 5,
    maxSteps: 12,
    tools: ['lookup_order', 'send_reply'],
    toolProbability: 0.7,
    sandbox: false,
    retrievalProbability: 0.2,
    spawnProbability: 0.02,
    agentName: 'support',
  },
  {
    model: 'gemini-2.5-flash',
    swapModel: 'claude-sonnet-4.5',
    promptTokens: 30_000,
    cacheRatio: 0.7,
    minSteps: 6,
    maxSteps: 14,
    tools: ['sql_query', 'chart'],
    toolProbability: 0.6,
    sandbox: true,
    retrievalProbability: 0.2,
    spawnProbability: 0.04,
    agentName: 'analyst',
  },
];

const FEATURE_NAMES = ['code-review', 'research', 'support-chat', 'analytics', 'summaries', 'triage'];

export function fleetProfiles(rng: Rng, orgs: number, featuresPerOrg: number): FeatureProfile[] {
  const profiles: FeatureProfile[] = [];
  for (let o = 0; o < orgs; o++) {
    const org = `org-${String.fromCharCode(97 + o)}`;
    const phaseHours = (o * 5) % 24;
    for (let f = 0; f < featuresPerOrg; f++) {
      const shape = SHAPES[(o + f) % SHAPES.length]!;
      profiles.push({
        ...shape,
        org,
        feature: FEATURE_NAMES[f % FEATURE_NAMES.length]!,
        weight: 0.6 + rng.next() * 0.8,
        phaseHours,
        customers: Array.from({ length: 3 + rng.int(0, 4) }, (_, c) => `${org}-cust-${c}`),
      });
    }
  }
  return profiles;
}

/** Traffic multiplier in [1 − amplitude, 1 + amplitude]: lowest at 04:00 local, highest at 16:00. */
export function diurnal(epochMs: number, phaseHours: number, amplitude: number): number {
  const hours = (epochMs / 3_600_000 + phaseHours) % 24;
  return 1 + amplitude * Math.sin(((hours - 10) / 24) * 2 * Math.PI);
}
