/**
 * What a simulated fleet does, as data. A generator turns a preset and a seed into run plans; the
 * executor plays them through the real SDK and returns the ledger of what it actually sent (a
 * ceiling may cut a plan short). Scenario tests compute their expected figures from that ledger,
 * independently of the pipeline.
 */
import type { RunOutcome, ServiceTier } from '@tollgate/core';

export interface ModelUsage {
  /** OpenTelemetry convention: includes cache reads and writes. */
  input: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  output: number;
  reasoning: number;
}

/** `agent` indexes the run's agents: 0 is the root, spawned children are appended in spawn order. */
export type Action =
  | {
      op: 'model';
      agent: number;
      provider: string;
      model: string;
      tier: ServiceTier;
      usage: ModelUsage;
      maxOutputTokens: number;
    }
  /** `provider` bills the tool when it is a paid one (web search); null for the agent's own functions. */
  | { op: 'tool'; agent: number; tool: string; signature: string; provider: string | null }
  | { op: 'spawn'; agent: number; name: string; count: number }
  | {
      op: 'sandbox';
      agent: number;
      provider: string;
      sandboxId: string;
      vcpuSeconds: number;
      gibSeconds: number;
      idleSeconds: number;
    }
  | {
      op: 'retrieval';
      agent: number;
      provider: string;
      queries: number;
      readUnits: number;
      embeddingTokens: number;
      embeddingModel: string | null;
    }
  | { op: 'cache_storage'; agent: number; provider: string; model: string; tokenHours: number }
  | { op: 'egress'; agent: number; provider: string; bytes: number };

/** Per-run ceilings, as the SDK takes them (cost as a decimal string of the rate card's currency). */
export interface RunCeilings {
  costPerRun?: string;
  subagentsPerRun?: number;
  spawnDepth?: number;
  tokensPerRequest?: number;
}

export interface RunPlan {
  runId: string;
  org: string;
  feature: string | null;
  customer: string | null;
  environment: string | null;
  /** Free-form business tags of the run (e.g. `phase` in the hidden-costs scenario). */
  tags?: Record<string, string>;
  agentName: string;
  actions: Action[];
  outcome: RunOutcome;
  ceilings?: RunCeilings;
  /** Which part of a scenario the run belongs to (for reports and tests), e.g. `untagged`, `fanout`. */
  label: string;
}

/** What the executor did with one plan. */
export interface RunLedger {
  plan: RunPlan;
  /** The actions that reached the SDK and were accepted, in order. */
  sent: Action[];
  /** Actions skipped: refused by a ceiling, or addressed to a worker the ceiling never granted. */
  skipped: { action: Action; reason: string }[];
  /** Workers granted per spawn action (index into plan.actions). */
  granted: Map<number, number>;
  outcome: RunOutcome;
  events: number;
}

/**
 * Usage events of these runs that produce line items: everything sent but spawns (a grant, not usage);
 * run start and end and ceiling decisions are not actions. Each is one line_no 0 row in ClickHouse.
 */
export function costlyEvents(ledgers: readonly RunLedger[]): number {
  return ledgers.reduce((n, ledger) => n + ledger.sent.filter((action) => action.op !== 'spawn').length, 0);
}
