/**
 * `tollgate policy list` and `tollgate policy show`: what is in force, read back from the compacted
 * policy topic the way the detector and the SDK read it (the whole topic, the latest version of each
 * policy, tombstones removed, invalid versions skipped while the previous one stays in force).
 * `list` prints every policy with the settings it sets; `show` resolves what applies to one org,
 * feature and customer, setting by setting, with the policy each value comes from.
 */
import {
  applyPolicyMessage,
  type BudgetPolicy,
  CLI_POLICIES_GROUP_ID,
  createPolicyIndex,
  formatNanos,
  type KafkaConnection,
  type Policy,
  type PolicyIndex,
  type PolicyKind,
  parseAmountNanos,
  type ResolvedSetting,
  type Subject,
} from '@tollgate/core';
import { readWholeTopic, type TopicMessage } from '../kafka.ts';
import { printTable, usageError } from '../output.ts';

/** The latest version of a policy was not valid: the previous one (if any) is what is in force. */
export interface RejectedPolicy {
  policyId: string | null;
  partition: number;
  offset: string;
  reason: string;
}

export interface PolicyState {
  index: PolicyIndex;
  rejected: RejectedPolicy[];
}

/** Applies the policy topic's messages in order, remembering which policies' latest version was refused. */
export function policyState(): { state: PolicyState; apply: (message: TopicMessage) => void } {
  const index = createPolicyIndex();
  const rejected = new Map<string, RejectedPolicy>();
  const state: PolicyState = {
    index,
    get rejected() {
      return [...rejected.values()];
    },
  };
  return {
    state,
    apply({ partition, offset, key, value }) {
      const outcome = applyPolicyMessage(index, key, value);
      const id = key === null ? '' : key.toString('utf8');
      if (outcome.kind === 'rejected')
        rejected.set(id, { policyId: outcome.policyId, partition, offset, reason: outcome.reason });
      else rejected.delete(id);
    },
  };
}

export async function readPolicies(connection: KafkaConnection, topic: string): Promise<PolicyState> {
  const { state, apply } = policyState();
  await readWholeTopic(connection, topic, CLI_POLICIES_GROUP_ID, apply);
  return state;
}

const KINDS: readonly PolicyKind[] = ['thresholds', 'budget', 'ceilings'];

function scopeText(scope: Policy['scope']): string {
  return [
    `org ${scope.org_id === '*' ? '* (every org)' : scope.org_id}`,
    scope.feature ? `feature ${scope.feature}` : '',
    scope.customer_id ? `customer ${scope.customer_id}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

function settingText(field: string, value: unknown, currency: string | null): string {
  if (value === null) return `${field} off`;
  return currency === null
    ? `${field} ${value}`
    : `${field} ${formatNanos(parseAmountNanos(String(value)))} ${currency}`;
}

const MONEY = new Set(['cost_per_run', 'velocity_cost', 'min_window_cost']);

/** The settings a policy sets explicitly (what it changes from the less specific ones). */
export function policySettings(policy: Policy): string {
  const fields = (section: Record<string, unknown>, prefix = '') =>
    Object.entries(section)
      .filter(([, value]) => value !== undefined)
      .map(([field, value]) =>
        settingText(`${prefix}${field}`, value, MONEY.has(field) ? policy.currency : null),
      );
  if (policy.kind === 'budget') return budgetText(policy);
  if (policy.kind === 'ceilings') {
    const { tokens_per_request, cost_per_run, subagents_per_run, spawn_depth } = policy;
    return (
      fields({ tokens_per_request, cost_per_run, subagents_per_run, spawn_depth }).join(', ') || '(none)'
    );
  }
  return [...fields(policy.run, 'run.'), ...fields(policy.feature, 'feature.')].join(', ') || '(none)';
}

function budgetText(policy: BudgetPolicy): string {
  return `${formatNanos(parseAmountNanos(policy.amount))} ${policy.currency} per ${policy.period}, alerts at ${policy.alert_at_percent.join('/')} %, forecast ${policy.forecast ? 'on' : 'off'}`;
}

export interface ListFlags {
  kind?: string;
  org?: string;
  json: boolean;
}

export function printPolicyList(
  state: PolicyState,
  topic: string,
  flags: ListFlags,
  out: NodeJS.WritableStream,
): void {
  if (flags.kind !== undefined && !KINDS.includes(flags.kind as PolicyKind))
    throw usageError(`--kind must be one of ${KINDS.join(', ')}, got "${flags.kind}"`);
  const policies = state.index
    .list()
    .filter((policy) => flags.kind === undefined || policy.kind === flags.kind)
    .filter(
      (policy) => flags.org === undefined || policy.scope.org_id === flags.org || policy.scope.org_id === '*',
    )
    .sort((a, b) => a.policy_id.localeCompare(b.policy_id));
  if (flags.json) {
    out.write(`${JSON.stringify({ topic, policies, rejected: state.rejected }, null, 2)}\n`);
    return;
  }
  if (policies.length === 0) {
    const filtered = flags.kind !== undefined || flags.org !== undefined;
    out.write(
      filtered
        ? `no policy on ${topic} matches ${[flags.kind && `--kind ${flags.kind}`, flags.org && `--org ${flags.org}`].filter(Boolean).join(' ')}\n`
        : `no policies on ${topic}: every org runs on the built-in defaults (services/detector/README.md, "Policies")\n`,
    );
  } else {
    printTable(
      ['policy', 'kind', 'scope', 'settings'],
      policies.map((policy) => [
        policy.policy_id,
        policy.kind,
        scopeText(policy.scope),
        policySettings(policy),
      ]),
      out,
    );
  }
  printRejected(state.rejected, out);
}

function printRejected(rejected: RejectedPolicy[], out: NodeJS.WritableStream): void {
  if (rejected.length === 0) return;
  out.write(
    `${rejected.length} polic${rejected.length === 1 ? 'y has' : 'ies have'} a latest version that is not valid (the version before it, if any, is in force):\n`,
  );
  for (const r of rejected)
    out.write(`  ${r.policyId ?? '(no key)'} at partition ${r.partition} offset ${r.offset}: ${r.reason}\n`);
}

export interface ShowFlags {
  org: string;
  feature?: string;
  customer?: string;
  json: boolean;
}

const SECTIONS: { section: ResolvedSetting['section']; title: string }[] = [
  { section: 'run', title: 'Run thresholds (the detector alerts on a run past these)' },
  { section: 'feature', title: 'Feature spike thresholds (per window of the feature)' },
  {
    section: 'ceilings',
    title: 'Ceilings (enforced on the action path by SDK meters created with policies: true)',
  },
];

export function printPolicyShow(state: PolicyState, flags: ShowFlags, out: NodeJS.WritableStream): void {
  if (flags.org === '*') throw usageError('--org names one org (policies for "*" apply to every org)');
  const subject: Subject = {
    org_id: flags.org,
    feature: flags.feature ?? null,
    customer_id: flags.customer ?? null,
  };
  const settings = state.index.explain(subject);
  const budgets = state.index.budgets(subject);
  if (flags.json) {
    out.write(`${JSON.stringify({ subject, settings, budgets, rejected: state.rejected }, null, 2)}\n`);
    return;
  }
  out.write(
    `What applies to org ${subject.org_id}, ${subject.feature ? `feature ${subject.feature}` : 'runs without a feature'}, ${subject.customer_id ? `customer ${subject.customer_id}` : 'no customer'}:\n\n`,
  );
  for (const { section, title } of SECTIONS) {
    out.write(`${title}\n`);
    printTable(
      ['setting', 'value', 'from'],
      settings
        .filter((setting) => setting.section === section)
        .map((setting) => [
          setting.field,
          setting.value === null
            ? 'off'
            : setting.currency === null
              ? String(setting.value)
              : `${formatNanos(parseAmountNanos(String(setting.value)))} ${setting.currency}`,
          setting.policyId ?? 'default',
        ]),
      out,
    );
    out.write('\n');
  }
  if (budgets.length === 0) out.write('Budgets: none covers this scope\n');
  else {
    out.write('Budgets (each one counts the spend in its scope)\n');
    printTable(
      ['policy', 'scope', 'budget'],
      budgets.map((budget) => [budget.policy_id, scopeText(budget.scope), budgetText(budget)]),
      out,
    );
  }
  printRejected(state.rejected, out);
}
