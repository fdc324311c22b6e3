/**
 * Which policies govern a given (org, feature, customer). Thresholds and ceilings merge field by field:
 * each field comes from the most specific policy that sets it (null included: null switches it off),
 * else from the built-in defaults. Budgets do not merge: every matching budget counts the spend.
 *
 * Specificity: a concrete org beats "*", then a feature adds 2 and a customer 1, so org+feature+customer
 * > org+feature > org+customer > org > "*". Equal specificity: the greater policy_id wins, so the
 * outcome never depends on arrival order.
 */
import {
  type BudgetPolicy,
  type CeilingsPolicy,
  type FeatureThresholdsInput,
  type Policy,
  type PolicyScope,
  parseAmountNanos,
  parsePolicyMessage,
  type RunThresholdsInput,
  type ThresholdsPolicy,
} from './schema.ts';

/** A money limit; only compared with spend in the same currency. */
export interface CostLimit {
  nanos: number;
  currency: string;
}

/** Effective per-run thresholds; null means the rule is off. */
export interface RunThresholds {
  costPerRun: CostLimit | null;
  subagentsPerRun: number | null;
  spawnDepth: number | null;
  stepsPerRun: number | null;
  velocityCost: CostLimit | null;
  velocityWindowMs: number;
  loopRepeats: number | null;
  idleSandboxSeconds: number | null;
  /** The policies that contributed, most specific first (empty: built-in defaults only). */
  policyIds: string[];
}

export interface FeatureThresholds {
  minWindowCost: CostLimit;
  spikeRatio: number;
  spikeSigmas: number;
  warmupWindows: number;
  policyIds: string[];
}

export interface Ceilings {
  tokensPerRequest: number | null;
  costPerRun: CostLimit | null;
  subagentsPerRun: number | null;
  spawnDepth: number | null;
  policyIds: string[];
}

/** What applies when no policy says otherwise. Chosen to stay quiet on healthy fleets. */
type Filled<T> = { readonly [K in keyof T]-?: NonNullable<T[K]> };

export const DEFAULT_RUN_THRESHOLDS: Filled<RunThresholdsInput> = {
  cost_per_run: '5.00',
  subagents_per_run: 50,
  spawn_depth: 5,
  steps_per_run: 500,
  velocity_cost: '2.00',
  velocity_window_ms: 60_000,
  loop_repeats: 10,
  idle_sandbox_seconds: 900,
};

export const DEFAULT_FEATURE_THRESHOLDS: Filled<FeatureThresholdsInput> = {
  min_window_cost: '1.00',
  spike_ratio: 2,
  spike_sigmas: 4,
  warmup_windows: 6,
};

export const DEFAULT_CURRENCY = 'USD';

export interface Subject {
  org_id: string;
  feature: string | null;
  customer_id: string | null;
}

export function scopeMatches(scope: PolicyScope, subject: Subject): boolean {
  if (scope.org_id !== '*' && scope.org_id !== subject.org_id) return false;
  if (scope.feature != null && scope.feature !== subject.feature) return false;
  if (scope.customer_id != null && scope.customer_id !== subject.customer_id) return false;
  return true;
}

export function specificity(scope: PolicyScope): number {
  return (
    (scope.org_id === '*' ? 0 : 4) + (scope.feature != null ? 2 : 0) + (scope.customer_id != null ? 1 : 0)
  );
}

export interface PolicyIndex {
  /** Bumped on every change, so callers can cache resolutions per version. */
  readonly version: number;
  upsert(policy: Policy): void;
  remove(policyId: string): boolean;
  get(policyId: string): Policy | undefined;
  list(): Policy[];
  runThresholds(subject: Subject): RunThresholds;
  featureThresholds(subject: Subject): FeatureThresholds;
  ceilings(subject: Subject): Ceilings;
  /** Every budget whose scope covers the subject. */
  budgets(subject: Subject): BudgetPolicy[];
  /** Every threshold and ceiling setting in force for the subject, with the policy that set it. */
  explain(subject: Subject): ResolvedSetting[];
}

/** One setting as it applies to a subject: for `tollgate policy show`. */
export interface ResolvedSetting {
  section: 'run' | 'feature' | 'ceilings';
  field: string;
  /** As the policy spells it (money as a decimal string); null: the rule or ceiling is off. */
  value: string | number | null;
  /** Of a money value. */
  currency: string | null;
  /** The policy it comes from; null: the built-in default. */
  policyId: string | null;
}

const MONEY_FIELDS: ReadonlySet<string> = new Set(['cost_per_run', 'velocity_cost', 'min_window_cost']);
const CEILING_FIELDS = ['tokens_per_request', 'cost_per_run', 'subagents_per_run', 'spawn_depth'] as const;

const money = (amount: string | null, currency: string): CostLimit | null =>
  amount === null ? null : { nanos: Number(parseAmountNanos(amount)), currency };

/** Field-by-field merge: the first policy (most specific) that has the field set decides. */
function pick<P, K extends keyof NonNullable<R>, R>(
  ordered: P[],
  section: (policy: P) => R,
  field: K,
  fallback: NonNullable<NonNullable<R>[K]> | null,
): { value: NonNullable<NonNullable<R>[K]> | null; from: P | null } {
  for (const policy of ordered) {
    const value = (section(policy) as NonNullable<R>)[field];
    if (value !== undefined)
      return { value: (value ?? null) as NonNullable<NonNullable<R>[K]> | null, from: policy };
  }
  return { value: fallback, from: null };
}

export function createPolicyIndex(initial: Policy[] = []): PolicyIndex {
  const policies = new Map<string, Policy>();
  let version = 0;

  function ordered<K extends Policy['kind']>(kind: K, subject: Subject): Extract<Policy, { kind: K }>[] {
    const matching: Extract<Policy, { kind: K }>[] = [];
    for (const policy of policies.values())
      if (policy.kind === kind && scopeMatches(policy.scope, subject))
        matching.push(policy as Extract<Policy, { kind: K }>);
    return matching.sort(
      (a, b) =>
        specificity(b.scope) - specificity(a.scope) ||
        (a.policy_id < b.policy_id ? 1 : a.policy_id > b.policy_id ? -1 : 0),
    );
  }

  function contributors(picks: { from: Policy | null }[]): string[] {
    const ids = new Set<string>();
    for (const { from } of picks) if (from) ids.add(from.policy_id);
    return [...ids];
  }

  const index: PolicyIndex = {
    get version() {
      return version;
    },
    upsert(policy) {
      policies.set(policy.policy_id, policy);
      version++;
    },
    remove(policyId) {
      const removed = policies.delete(policyId);
      if (removed) version++;
      return removed;
    },
    get: (policyId) => policies.get(policyId),
    list: () => [...policies.values()],

    runThresholds(subject) {
      const list = ordered('thresholds', subject);
      const run = (policy: ThresholdsPolicy) => policy.run;
      const d = DEFAULT_RUN_THRESHOLDS;
      const cost = pick(list, run, 'cost_per_run', d.cost_per_run);
      const subagents = pick(list, run, 'subagents_per_run', d.subagents_per_run);
      const depth = pick(list, run, 'spawn_depth', d.spawn_depth);
      const steps = pick(list, run, 'steps_per_run', d.steps_per_run);
      const velocity = pick(list, run, 'velocity_cost', d.velocity_cost);
      const velocityWindow = pick(list, run, 'velocity_window_ms', d.velocity_window_ms);
      const loops = pick(list, run, 'loop_repeats', d.loop_repeats);
      const idle = pick(list, run, 'idle_sandbox_seconds', d.idle_sandbox_seconds);
      return {
        costPerRun: money(cost.value, cost.from?.currency ?? DEFAULT_CURRENCY),
        subagentsPerRun: subagents.value,
        spawnDepth: depth.value,
        stepsPerRun: steps.value,
        velocityCost: money(velocity.value, velocity.from?.currency ?? DEFAULT_CURRENCY),
        velocityWindowMs: velocityWindow.value ?? d.velocity_window_ms,
        loopRepeats: loops.value,
        idleSandboxSeconds: idle.value,
        policyIds: contributors([cost, subagents, depth, steps, velocity, velocityWindow, loops, idle]),
      };
    },

    featureThresholds(subject) {
      const list = ordered('thresholds', subject);
      const feature = (policy: ThresholdsPolicy) => policy.feature;
      const d = DEFAULT_FEATURE_THRESHOLDS;
      // null cannot switch these off: a spike rule without a floor or ratio would alert on noise.
      const floor = pick(list, feature, 'min_window_cost', d.min_window_cost);
      const ratio = pick(list, feature, 'spike_ratio', d.spike_ratio);
      const sigmas = pick(list, feature, 'spike_sigmas', d.spike_sigmas);
      const warmup = pick(list, feature, 'warmup_windows', d.warmup_windows);
      return {
        minWindowCost: money(floor.value ?? d.min_window_cost, floor.from?.currency ?? DEFAULT_CURRENCY)!,
        spikeRatio: ratio.value ?? d.spike_ratio,
        spikeSigmas: sigmas.value ?? d.spike_sigmas,
        warmupWindows: warmup.value ?? d.warmup_windows,
        policyIds: contributors([floor, ratio, sigmas, warmup]),
      };
    },

    ceilings(subject) {
      const list = ordered('ceilings', subject);
      const self = (policy: CeilingsPolicy) => policy;
      const tokens = pick(list, self, 'tokens_per_request', null);
      const cost = pick(list, self, 'cost_per_run', null);
      const subagents = pick(list, self, 'subagents_per_run', null);
      const depth = pick(list, self, 'spawn_depth', null);
      return {
        tokensPerRequest: tokens.value,
        costPerRun: money(cost.value, cost.from?.currency ?? DEFAULT_CURRENCY),
        subagentsPerRun: subagents.value,
        spawnDepth: depth.value,
        policyIds: contributors([tokens, cost, subagents, depth]),
      };
    },

    budgets(subject) {
      return ordered('budget', subject);
    },

    explain(subject) {
      const settings: ResolvedSetting[] = [];
      const add = (
        section: ResolvedSetting['section'],
        field: string,
        { value, from }: { value: unknown; from: { policy_id: string; currency: string } | null },
        fallback: unknown,
      ) => {
        // A feature spike setting cannot be switched off (featureThresholds): null keeps the default.
        const off = value === null && section === 'feature';
        const shown = (off ? fallback : value) as string | number | null;
        settings.push({
          section,
          field,
          value: shown,
          currency: shown !== null && MONEY_FIELDS.has(field) ? (from?.currency ?? DEFAULT_CURRENCY) : null,
          policyId: off ? null : (from?.policy_id ?? null),
        });
      };
      const thresholds = ordered('thresholds', subject);
      for (const [field, fallback] of Object.entries(DEFAULT_RUN_THRESHOLDS)) {
        const key = field as keyof RunThresholdsInput;
        add(
          'run',
          field,
          pick(thresholds, (p: ThresholdsPolicy) => p.run, key, fallback),
          fallback,
        );
      }
      for (const [field, fallback] of Object.entries(DEFAULT_FEATURE_THRESHOLDS)) {
        const key = field as keyof FeatureThresholdsInput;
        add(
          'feature',
          field,
          pick(thresholds, (p: ThresholdsPolicy) => p.feature, key, fallback),
          fallback,
        );
      }
      const ceilings = ordered('ceilings', subject);
      for (const field of CEILING_FIELDS)
        add(
          'ceilings',
          field,
          pick(ceilings, (p: CeilingsPolicy) => p, field, null),
          null,
        );
      return settings;
    },
  };
  for (const policy of initial) index.upsert(policy);
  return index;
}

/** What one message of the policy topic did to an index. */
export type PolicyMessageOutcome =
  | { kind: 'set'; policy: Policy }
  | { kind: 'deleted'; policyId: string }
  | { kind: 'unchanged' }
  | { kind: 'rejected'; policyId: string | null; field: string; reason: string };

/**
 * Applies one message of the compacted policy topic: a valid policy replaces its previous version, a
 * null value (tombstone) deletes it, and an invalid one is rejected with its reason while the previous
 * version stays in force.
 */
export function applyPolicyMessage(
  index: PolicyIndex,
  key: Uint8Array | null,
  value: Uint8Array | null,
): PolicyMessageOutcome {
  const id = key === null ? null : Buffer.from(key).toString('utf8');
  if (value === null) {
    return id !== null && index.remove(id) ? { kind: 'deleted', policyId: id } : { kind: 'unchanged' };
  }
  const parsed = parsePolicyMessage(id, value);
  if (!parsed.ok) return { kind: 'rejected', policyId: id, field: parsed.field, reason: parsed.reason };
  index.upsert(parsed.policy);
  return { kind: 'set', policy: parsed.policy };
}
