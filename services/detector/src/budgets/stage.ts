/**
 * The budget stage's task for one partition of the budget repartition topic (keyed by budget policy
 * id, so each budget is summed in exactly one task). Budgets need no watermark: every slice counts in
 * the month its events happened, however late it arrives.
 */
import type {
  BudgetPolicy,
  Codec,
  CostAlert,
  DeadLetter,
  Logger,
  Message,
  PolicyIndex,
} from '@tollgate/core';
import { badInternalRecord } from '../dead-letters.ts';
import type { DetectorMetrics } from '../metrics.ts';
import { parseBudgetSlice } from '../records.ts';
import type { InputMessage, TaskOutput, TaskProcessor } from '../runtime/stage.ts';
import { applyBudgetSlice, type BudgetState, newBudgetState } from './budget.ts';

export interface BudgetTaskOptions {
  partition: number;
  topics: { alerts: string; deadLetters: string };
  policies: PolicyIndex;
  alertCodec: Codec<CostAlert>;
  deadLetterCodec: Codec<DeadLetter>;
  forecastMinElapsedFraction: number;
  metrics: DetectorMetrics;
  logger: Logger;
}

const BUDGET_PREFIX = 'b:';

export function createBudgetTask(options: BudgetTaskOptions): TaskProcessor {
  const { metrics, policies } = options;
  const budgets = new Map<string, BudgetState>();
  const labels = { stage: 'budgets', partition: String(options.partition) };

  return {
    restore(key, value) {
      if (!key.startsWith(BUDGET_PREFIX)) return;
      const id = key.slice(BUDGET_PREFIX.length);
      if (value === null) budgets.delete(id);
      else budgets.set(id, JSON.parse(value) as BudgetState);
    },
    restored() {
      metrics.stateEntries.set(labels, budgets.size);
    },
    process(messages: InputMessage[], now: number): TaskOutput {
      const alerts: Message[] = [];
      const dead: Message[] = [];
      const dirty = new Set<string>();
      for (const message of messages) {
        const parsed = parseBudgetSlice(message.value);
        if (!parsed.ok) {
          dead.push(
            badInternalRecord(options.deadLetterCodec, metrics, 'budgets', message, parsed.reason, now),
          );
          continue;
        }
        const slice = parsed.value;
        let state = budgets.get(slice.policyId);
        if (!state) {
          state = newBudgetState(slice.policyId);
          budgets.set(slice.policyId, state);
        }
        const policy = policies.get(slice.policyId);
        const budget = policy?.kind === 'budget' ? (policy as BudgetPolicy) : undefined;
        const result = applyBudgetSlice(state, slice, budget, {
          now,
          forecastMinElapsedFraction: options.forecastMinElapsedFraction,
        });
        if (result.currencyMismatch) metrics.currencyMismatches.inc({ stage: 'budgets' });
        for (const alert of result.alerts) {
          alerts.push({ key: alert.alert_id, value: options.alertCodec.encode(alert) });
          metrics.alerts.inc({ rule: alert.rule, severity: alert.severity });
        }
        dirty.add(slice.policyId);
      }
      metrics.stateEntries.set(labels, budgets.size);
      return {
        messages: [
          { topic: options.topics.alerts, messages: alerts },
          { topic: options.topics.deadLetters, messages: dead },
        ],
        changelog: [...dirty].map((id) => ({
          key: BUDGET_PREFIX + id,
          value: JSON.stringify(budgets.get(id)),
        })),
      };
    },
    close() {
      metrics.stateEntries.remove(labels);
    },
  };
}
