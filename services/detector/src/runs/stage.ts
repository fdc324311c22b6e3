/**
 * The run stage's task for one priced-topic partition: decodes priced events, applies the per-run
 * rules, and repartitions cost for the feature and budget stages (pre-aggregated per batch: one slice
 * per (org, feature, currency, window) and per (budget, period, currency), so downstream traffic grows
 * with the number of features, not of events).
 *
 * Stream time = the largest event time seen on the partition; watermark = stream time − allowed
 * lateness. Events behind the watermark are counted as late and still applied: run rules are
 * cumulative, budgets count every event in its month, the feature stage decides for its windows.
 */

import type {
  Codec,
  CostAlert,
  DeadLetter,
  Logger,
  Message,
  PolicyIndex,
  RunThresholds,
  Subject,
} from '@tollgate/core';
import type { BudgetSlice } from '../budgets/budget.ts';
import { deadLetter } from '../dead-letters.ts';
import type { FeatureSlice } from '../features/windows.ts';
import type { DetectorMetrics } from '../metrics.ts';
import type { PricedViewDecoder, UsageView } from '../priced-view.ts';
import { encodeRecord } from '../records.ts';
import type { InputMessage, TaskOutput, TaskProcessor } from '../runtime/stage.ts';
import { isPacked, type PackedRun, packedTimes, packRun, unpackRun } from './packed.ts';
import { addBudgetSlice, addFeatureSlice } from './repartition.ts';
import { applyRunEvent } from './rules.ts';
import { createInterner, isEvictable, newRunState, parseRunState, type RunState, runKey } from './state.ts';

/**
 * A tick carries this partition's stream time to the feature partitions that got no slice from it
 * (slices carry it themselves), so their windows can close. Once per second of stream time is plenty
 * against 5-minute windows and 60 s of allowed lateness; a tick on every batch made every feature
 * partition commit a transaction per fetch round (the end-to-end benchmark: 66–84 of the detector's
 * 150–177 transactions in its full-speed phase were the feature stage's).
 */
export const TICK_EVERY_MS = 1_000;

export interface RunStageSettings {
  windowMs: number;
  allowedLatenessMs: number;
  endGraceMs: number;
  inactivityMs: number;
}

export interface RunTaskOptions {
  partition: number;
  topics: { alerts: string; featureRepartition: string; budgetRepartition: string; deadLetters: string };
  featurePartitions: number;
  policies: PolicyIndex;
  pricedView: PricedViewDecoder;
  alertCodec: Codec<CostAlert>;
  deadLetterCodec: Codec<DeadLetter>;
  settings: RunStageSettings;
  metrics: DetectorMetrics;
  logger: Logger;
}

interface RunPolicies {
  version: number;
  feature: string | null;
  customer: string | null;
  thresholds: RunThresholds;
  budgets: string[];
}

const RUN_PREFIX = 'r:';
const META_KEY = 'meta';
/** How far the watermark moves between eviction scans. */
const EVICTION_SCAN_MS = 60_000;

export function createRunTask(options: RunTaskOptions): TaskProcessor {
  const { partition, topics, policies, settings, metrics } = options;
  /** Ended runs are held packed (see packed.ts) until their end grace passes. */
  const runs = new Map<string, RunState | PackedRun>();
  let streamTime = Number.NEGATIVE_INFINITY;
  let tickedTime = Number.NEGATIVE_INFINITY;
  let scannedAt = Number.NEGATIVE_INFINITY;
  /**
   * Per run: the thresholds and budgets that apply, resolved once per policy version. The values are
   * shared by every run with the same tags (`resolvedPolicies`): one object per run with its own
   * thresholds was a fifth of the state of a fleet of short runs.
   */
  const runPolicies = new Map<string, RunPolicies>();
  const resolvedPolicies = new Map<string, RunPolicies>();
  const budgetCache = new Map<string, { version: number; ids: string[] }>();
  const intern = createInterner();
  const labels = { stage: 'runs', partition: String(partition) };

  function budgetsFor(subject: Subject): string[] {
    const key = `${subject.org_id}\u0000${subject.feature ?? ''}\u0000${subject.customer_id ?? ''}`;
    const cached = budgetCache.get(key);
    if (cached && cached.version === policies.version) return cached.ids;
    const ids = policies.budgets(subject).map((b) => b.policy_id);
    if (budgetCache.size > 10_000) budgetCache.clear();
    budgetCache.set(key, { version: policies.version, ids });
    return ids;
  }

  /** Thresholds follow the run's tags (its first ones); budgets each event's own tags. */
  function policiesFor(key: string, run: RunState, usage: UsageView): RunPolicies {
    const cached = runPolicies.get(key);
    if (
      cached &&
      cached.version === policies.version &&
      cached.feature === usage.feature &&
      cached.customer === usage.customer_id
    )
      return cached;
    const feature = run.feature ?? usage.feature;
    const customer = run.customer ?? usage.customer_id;
    // \u0001 stands for null, which is not the empty string.
    const shared = [run.org, feature, customer, usage.org_id, usage.feature, usage.customer_id]
      .map((part) => part ?? '\u0001')
      .join('\u0000');
    let value = resolvedPolicies.get(shared);
    if (value === undefined || value.version !== policies.version) {
      value = {
        version: policies.version,
        feature: usage.feature,
        customer: usage.customer_id,
        thresholds: policies.runThresholds({ org_id: run.org, feature, customer_id: customer }),
        budgets: budgetsFor({ org_id: usage.org_id, feature: usage.feature, customer_id: usage.customer_id }),
      };
      if (resolvedPolicies.size > 10_000) resolvedPolicies.clear();
      resolvedPolicies.set(shared, value);
    }
    runPolicies.set(key, value);
    return value;
  }

  return {
    restore(key, value) {
      if (key === META_KEY) {
        if (value === null) return;
        // JSON has no infinities: a task that never saw an event stored null.
        const meta = JSON.parse(value) as { streamTime: number | null; tickedTime: number | null };
        streamTime = meta.streamTime ?? Number.NEGATIVE_INFINITY;
        tickedTime = meta.tickedTime ?? Number.NEGATIVE_INFINITY;
      } else if (key.startsWith(RUN_PREFIX)) {
        const runId = key.slice(RUN_PREFIX.length);
        if (value === null) runs.delete(runId);
        else {
          const run = parseRunState(value, intern);
          runs.set(runId, packRun(runId, run) ?? run);
        }
      }
    },
    restored() {
      metrics.stateEntries.set(labels, runs.size);
    },

    process(messages: InputMessage[], now: number): TaskOutput {
      const alerts: Message[] = [];
      const dead: Message[] = [];
      const dirty = new Set<string>();
      const slices = new Map<string, FeatureSlice>();
      const budgetSlices = new Map<string, BudgetSlice>();
      let late = 0;
      let mismatches = 0;

      for (const message of messages) {
        const decoded = message.value === null ? null : options.pricedView.decode(message.value);
        if (decoded === null || !decoded.ok) {
          const code = decoded === null ? 'null_value' : decoded.code;
          dead.push(
            deadLetter(
              options.deadLetterCodec,
              'detector',
              message,
              code,
              decoded?.ok === false ? decoded.reason : 'message has no value',
              now,
            ),
          );
          metrics.deadLetters.inc({ stage: 'runs', reason: code });
          continue;
        }
        const event = decoded.value;
        const usage = event.usage;
        const t = usage.event_time;
        if (t < streamTime - settings.allowedLatenessMs) late++;
        if (t > streamTime) streamTime = t;
        let budgets: string[];
        if (event.adjustment_of === null) {
          const key = runKey(usage.org_id, usage.run_id);
          const held = runs.get(key);
          const created = held === undefined;
          let run: RunState;
          if (held === undefined) {
            run = newRunState(event, intern);
            runs.set(key, run);
          } else if (isPacked(held)) {
            run = unpackRun(key, held, intern);
            runs.set(key, run);
          } else run = held;
          const resolved = policiesFor(key, run, usage);
          budgets = resolved.budgets;
          const result = applyRunEvent(run, event, { thresholds: resolved.thresholds, now });
          if (created) run.currency = intern(run.currency);
          if (result.currencyMismatch) mismatches++;
          for (const alert of result.alerts) {
            alerts.push({ key: alert.alert_id, value: options.alertCodec.encode(alert) });
            metrics.alerts.inc({ rule: alert.rule, severity: alert.severity });
          }
          dirty.add(key);
        } else {
          // A restatement adjusts spend (budgets, windows), not what the run did.
          budgets = budgetsFor({
            org_id: usage.org_id,
            feature: usage.feature,
            customer_id: usage.customer_id,
          });
        }
        addFeatureSlice(slices, event, settings.windowMs);
        for (const policyId of budgets) addBudgetSlice(budgetSlices, policyId, event);
      }

      const changelog: TaskOutput['changelog'] = [];
      const watermark = streamTime - settings.allowedLatenessMs;
      if (watermark >= scannedAt + EVICTION_SCAN_MS) {
        scannedAt = watermark;
        for (const [key, run] of runs)
          if (isEvictable(isPacked(run) ? packedTimes(run) : run, watermark, settings)) {
            runs.delete(key);
            runPolicies.delete(key);
            dirty.delete(key);
            changelog.push({ key: RUN_PREFIX + key, value: null });
          }
      }
      for (const key of dirty) {
        const run = runs.get(key) as RunState;
        changelog.push({ key: RUN_PREFIX + key, value: JSON.stringify(run) });
        const packed = packRun(key, run);
        if (packed !== null) {
          runs.set(key, packed);
          // Resolved again from the shared ones should a late event come.
          runPolicies.delete(key);
        }
      }

      const repartitioned: Message[] = [];
      for (const slice of slices.values())
        repartitioned.push({
          key: `${slice.org}\u0000${slice.feature}`,
          value: encodeRecord({ kind: 'slice', src: partition, srcTime: streamTime, slice }),
        });
      if (Math.floor(streamTime / TICK_EVERY_MS) > Math.floor(tickedTime / TICK_EVERY_MS)) {
        tickedTime = streamTime;
        const tick = encodeRecord({ kind: 'tick', src: partition, srcTime: streamTime });
        for (let p = 0; p < options.featurePartitions; p++) repartitioned.push({ partition: p, value: tick });
      }
      changelog.push({ key: META_KEY, value: JSON.stringify({ streamTime, tickedTime }) });

      if (late > 0) metrics.lateEvents.inc({ stage: 'runs' }, late);
      if (mismatches > 0) metrics.currencyMismatches.inc({ stage: 'runs' }, mismatches);
      metrics.stateEntries.set(labels, runs.size);
      if (Number.isFinite(watermark)) metrics.watermark.set(labels, watermark / 1000);
      return {
        messages: [
          { topic: topics.alerts, messages: alerts },
          { topic: topics.featureRepartition, messages: repartitioned },
          {
            topic: topics.budgetRepartition,
            messages: [...budgetSlices.values()].map((s) => ({ key: s.policyId, value: encodeRecord(s) })),
          },
          { topic: topics.deadLetters, messages: dead },
        ],
        changelog,
      };
    },
    close() {
      metrics.stateEntries.remove(labels);
      metrics.watermark.remove(labels);
    },
  };
}
