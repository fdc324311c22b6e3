/**
 * The policy format: what a platform team sets to govern spend. One JSON document per policy, keyed by
 * `policy_id` on the compacted policy topic (a null value deletes it). Three kinds:
 * - `thresholds`: when the detector alerts on a run (cost, fan-out, depth, steps, velocity, loops, idle
 *   sandboxes) and on a feature's spend spike. Advisory: nothing is blocked.
 * - `budget`: a soft monthly allocation for an org, a feature or a customer; alerts at percentages of it
 *   and when the projected period-end spend exceeds it.
 * - `ceilings`: hard limits the SDK enforces on the action path (tokens per request, cost per run,
 *   subagents per run, spawn depth).
 *
 * Money is a decimal string in the policy's currency ("12.50"), never a float. In a thresholds or
 * ceilings policy a field left out inherits from a less specific policy (or the built-in default); a
 * field set to null switches that rule or ceiling off.
 */
import { z } from 'zod';
import { fieldName, fieldProblems } from '../zod-issues.ts';

export const POLICY_KINDS = ['thresholds', 'budget', 'ceilings'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export const BUDGET_PERIODS = ['month'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** Amounts must stay exact as integer nanos in a JS number for per-run and per-window arithmetic. */
const MAX_THRESHOLD_UNITS = 9_000_000;

const DECIMAL = /^\d{1,15}(\.\d{1,9})?$/;
const decimalAmount = z
  .string()
  .regex(DECIMAL, 'must be a non-negative decimal string with at most 9 fraction digits');

/** zod runs refinements even after the format check failed: only compare well-formed amounts. */
const nanosOf = (value: string): bigint | null => (DECIMAL.test(value) ? parseAmountNanos(value) : null);

/** A money threshold: small enough that its nanos are an exact JS number. */
const thresholdAmount = decimalAmount.refine(
  (value) => (nanosOf(value) ?? 0n) <= BigInt(MAX_THRESHOLD_UNITS) * 1_000_000_000n,
  `must be at most ${MAX_THRESHOLD_UNITS}`,
);

const positiveInt = z.number().int().positive();

const policyId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 characters of letters, digits, . _ : -');

export const policyScopeSchema = z.strictObject({
  /** The org it governs; "*" applies to every org (below any org-specific policy). */
  org_id: z.string().min(1, 'must not be empty'),
  /** Only this feature; absent or null: every feature. */
  feature: z.string().min(1, 'must not be empty').nullish(),
  /** Only this customer; absent or null: every customer. */
  customer_id: z.string().min(1, 'must not be empty').nullish(),
});
export type PolicyScope = z.infer<typeof policyScopeSchema>;

const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD');

export const runThresholdsSchema = z.strictObject({
  /** Cost of one run so far. */
  cost_per_run: thresholdAmount.nullish(),
  /** Subagents spawned in one run. */
  subagents_per_run: positiveInt.nullish(),
  /** Depth of the spawn tree (the root agent is depth 0). */
  spawn_depth: positiveInt.nullish(),
  /** Model calls plus tool calls in one run. */
  steps_per_run: positiveInt.nullish(),
  /** Spend within any trailing `velocity_window_ms` of event time. */
  velocity_cost: thresholdAmount.nullish(),
  velocity_window_ms: z.number().int().min(1_000).max(3_600_000).nullish(),
  /** The same tool called with the same arguments (call_signature) this many times: a loop. */
  loop_repeats: z.number().int().min(2).nullish(),
  /** Sandbox time with no model or tool activity in the run. */
  idle_sandbox_seconds: positiveInt.nullish(),
});
export type RunThresholdsInput = z.infer<typeof runThresholdsSchema>;

export const featureThresholdsSchema = z.strictObject({
  /** Windows costing less than this never alert (tiny volumes are noise). */
  min_window_cost: thresholdAmount.nullish(),
  /** A spike costs at least this multiple of the baseline… */
  spike_ratio: z.number().gt(1).max(1000).nullish(),
  /** …and exceeds the baseline by at least this many deviations. */
  spike_sigmas: z.number().positive().max(100).nullish(),
  /** Closed windows of history before the baseline may alert. */
  warmup_windows: z.number().int().min(1).max(10_000).nullish(),
});
export type FeatureThresholdsInput = z.infer<typeof featureThresholdsSchema>;

const common = {
  policy_id: policyId,
  scope: policyScopeSchema,
  description: z.string().max(1000).optional(),
};

export const thresholdsPolicySchema = z.strictObject({
  ...common,
  kind: z.literal('thresholds'),
  /** Currency of the money fields. */
  currency: currency.default('USD'),
  run: runThresholdsSchema.default({}),
  feature: featureThresholdsSchema.default({}),
});
export type ThresholdsPolicy = z.infer<typeof thresholdsPolicySchema>;

export const budgetPolicySchema = z.strictObject({
  ...common,
  kind: z.literal('budget'),
  currency: currency.default('USD'),
  /** The allocation per period, a decimal string in `currency`. */
  amount: decimalAmount.refine((value) => (nanosOf(value) ?? 1n) > 0n, 'must be greater than zero'),
  /** Calendar periods in UTC. */
  period: z.enum(BUDGET_PERIODS).default('month'),
  /** Percentages of `amount` that alert once each per period. */
  alert_at_percent: z
    .array(z.number().int().min(1).max(1000))
    .min(1)
    .max(10)
    .refine((list) => new Set(list).size === list.length, 'must not repeat a percentage')
    .default([50, 80, 100]),
  /** Alert when the linear run-rate projects period-end spend above `amount`. */
  forecast: z.boolean().default(true),
});
export type BudgetPolicy = z.infer<typeof budgetPolicySchema>;

export const ceilingsPolicySchema = z.strictObject({
  ...common,
  kind: z.literal('ceilings'),
  currency: currency.default('USD'),
  tokens_per_request: positiveInt.nullish(),
  cost_per_run: thresholdAmount.nullish(),
  subagents_per_run: positiveInt.nullish(),
  spawn_depth: positiveInt.nullish(),
});
export type CeilingsPolicy = z.infer<typeof ceilingsPolicySchema>;

export const policySchema = z
  .discriminatedUnion('kind', [thresholdsPolicySchema, budgetPolicySchema, ceilingsPolicySchema])
  .superRefine((policy, ctx) => {
    if (policy.kind === 'budget' && policy.scope.org_id === '*')
      ctx.addIssue({ code: 'custom', path: ['scope', 'org_id'], message: 'a budget needs one org, not "*"' });
  });
export type Policy = z.infer<typeof policySchema>;

export type PolicyParseResult = { ok: true; policy: Policy } | { ok: false; field: string; reason: string };

/** Validates one policy document; a rejection names the first offending field and every problem. */
export function parsePolicy(input: unknown): PolicyParseResult {
  const result = policySchema.safeParse(input);
  if (result.success) return { ok: true, policy: result.data };
  const problems = fieldProblems(result.error, input, 'is not a policy field');
  return {
    ok: false,
    field: problems[0] ? fieldName(problems[0]) : '(root)',
    reason: problems.map((problem) => `${fieldName(problem)}: ${problem.reason}`).join('; '),
  };
}

/** Parses a policy from its topic value (UTF-8 JSON); the key must equal its `policy_id`. */
export function parsePolicyMessage(key: string | null, value: Uint8Array): PolicyParseResult {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch (err) {
    return { ok: false, field: '(root)', reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = parsePolicy(json);
  if (parsed.ok && key !== null && key !== parsed.policy.policy_id)
    return { ok: false, field: 'policy_id', reason: `must equal the message key "${key}"` };
  return parsed;
}

/** "12.5" → 12_500_000_000n. The format is checked by the schema; this throws on anything else. */
export function parseAmountNanos(amount: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,9}))?$/.exec(amount);
  if (!match) throw new RangeError(`not a decimal amount: ${amount}`);
  return BigInt(match[1]!) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** 12_500_000_000 → "12.50": at least two fraction digits, trailing zeros beyond them dropped. */
export function formatNanos(nanos: bigint | number): string {
  const value = BigInt(nanos);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}
