/**
 * Scores detector alerts against a fleet's ground truth.
 *
 * An alert is a true positive when it is about an injected anomaly:
 * - a run alert on an anomalous run, or on a run of a feature while a feature anomaly was in force
 *   there (the anomaly made that run expensive);
 * - a feature alert on the anomaly's (org, feature) whose window overlaps the anomaly (a feature
 *   anomaly, or an anomalous run of that feature, whose spend is part of the feature's).
 * Everything else is a false positive. precision = true-positive alerts / alerts.
 *
 * An anomaly is detected when an alert of its own scope matches it: the run's own alert for a run
 * anomaly, a feature alert for a feature anomaly. recall = detected anomalies / injected anomalies.
 * Latency is in event time: for a run, from the start of its anomalous behaviour to the event that
 * triggered the alert (window_end); for a feature, in windows from the anomaly's first window to the
 * window flagged (0 = flagged within its first window).
 */
import type { CostAlert } from '@tollgate/core';
import { ANOMALY_TYPES, type Anomaly, type AnomalyType } from './generator.ts';

export interface ScoreOptions {
  anomalies: Anomaly[];
  alerts: CostAlert[];
  windowMs: number;
  /** The run's cost (nanos) after all its events up to an event time, for anomalous runs. */
  runCostAt(runId: string, eventTime: number): number;
  /** The per-run cost threshold in force (nanos). */
  costThresholdNanos: number;
}

export interface TypeScore {
  injected: number;
  detected: number;
  recall: number;
  /** Run anomalies: event-time ms from the anomaly's start to the alert's triggering event. */
  latency_ms_p50?: number;
  latency_ms_max?: number;
  /** Run anomalies: share flagged before the run had spent twice its cost threshold. */
  flagged_before_2x_threshold?: number;
  /** Feature anomalies: windows from the anomaly's first window to the one flagged. */
  windows_to_detect_max?: number;
}

export interface Score {
  precision: number;
  recall: number;
  alerts: number;
  false_positives: number;
  alerts_by_rule: Record<string, number>;
  /** Precision of the feature-scope alerts alone (run alerts outnumber them many times). */
  feature_precision: number;
  per_type: Record<string, TypeScore>;
  missed: string[];
  false_positive_examples: string[];
}

function windowOf(t: number, windowMs: number): number {
  return t - (((t % windowMs) + windowMs) % windowMs);
}

export function scoreAlerts({
  anomalies,
  alerts,
  windowMs,
  runCostAt,
  costThresholdNanos,
}: ScoreOptions): Score {
  const byRun = new Map(anomalies.filter((a) => a.runId !== null).map((a) => [a.runId!, a]));
  const featureAnomalies = anomalies.filter((a) => a.scope === 'feature');
  const onFeature = (a: Anomaly, alert: CostAlert) => a.org === alert.org_id && a.feature === alert.feature;
  const firstAlert = new Map<string, CostAlert>();
  const note = (anomaly: Anomaly, alert: CostAlert) => {
    const seen = firstAlert.get(anomaly.id);
    if (!seen || (alert.window_end ?? 0) < (seen.window_end ?? 0)) firstAlert.set(anomaly.id, alert);
  };
  let falsePositives = 0;
  let featureAlerts = 0;
  let featureFalsePositives = 0;
  const byRule: Record<string, number> = {};
  const examples: string[] = [];
  for (const alert of alerts) {
    byRule[alert.rule] = (byRule[alert.rule] ?? 0) + 1;
    if (alert.scope === 'feature') featureAlerts++;
    let matched = false;
    if (alert.scope === 'run') {
      const own = alert.run_id === null ? undefined : byRun.get(alert.run_id);
      if (own) {
        note(own, alert);
        matched = true;
      } else {
        const t = alert.window_end ?? alert.first_event_time;
        matched = featureAnomalies.some((a) => onFeature(a, alert) && t >= a.start && t < a.end + windowMs);
      }
    } else if (alert.scope === 'feature') {
      const from = alert.window_start ?? alert.first_event_time;
      const to = alert.window_end ?? from + windowMs;
      for (const a of anomalies) {
        if (!onFeature(a, alert) || from >= a.end + windowMs || to <= a.start) continue;
        matched = true;
        if (a.scope === 'feature') note(a, alert);
      }
    }
    if (!matched) {
      falsePositives++;
      if (alert.scope === 'feature') featureFalsePositives++;
      if (examples.length < 10)
        examples.push(
          `${alert.rule} ${alert.org_id}/${alert.feature ?? '-'}/${alert.run_id ?? '-'}: ${alert.explanation}`,
        );
    }
  }

  const perType: Record<string, TypeScore> = {};
  const missed: string[] = [];
  for (const type of ANOMALY_TYPES) {
    const injected = anomalies.filter((a) => a.type === type);
    if (injected.length === 0) continue;
    const detected = injected.filter((a) => firstAlert.has(a.id));
    for (const a of injected)
      if (!firstAlert.has(a.id)) missed.push(`${a.id} ${a.org}/${a.feature}${a.runId ? `/${a.runId}` : ''}`);
    perType[type] = {
      injected: injected.length,
      detected: detected.length,
      recall: round(detected.length / injected.length),
    };
    if (injected[0]!.scope === 'run') {
      const latencies = detected
        .map((a) => (firstAlert.get(a.id)!.window_end ?? a.start) - a.start)
        .sort((x, y) => x - y);
      const under = detected.filter(
        (a) => runCostAt(a.runId!, firstAlert.get(a.id)!.window_end ?? a.end) < 2 * costThresholdNanos,
      );
      Object.assign(perType[type]!, {
        latency_ms_p50: latencies[Math.floor(latencies.length / 2)] ?? null,
        latency_ms_max: latencies.at(-1) ?? null,
        flagged_before_2x_threshold: detected.length ? round(under.length / detected.length) : null,
      });
    } else {
      const windows = detected.map(
        (a) => ((firstAlert.get(a.id)!.window_start ?? a.start) - windowOf(a.start, windowMs)) / windowMs,
      );
      perType[type]!.windows_to_detect_max = windows.length ? Math.max(...windows) : undefined;
    }
  }
  const detectedTotal = Object.values(perType).reduce((sum, t) => sum + t.detected, 0);
  return {
    precision: alerts.length ? round((alerts.length - falsePositives) / alerts.length) : 1,
    recall: anomalies.length ? round(detectedTotal / anomalies.length) : 1,
    alerts: alerts.length,
    false_positives: falsePositives,
    alerts_by_rule: byRule,
    feature_precision: featureAlerts ? round((featureAlerts - featureFalsePositives) / featureAlerts) : 1,
    per_type: perType,
    missed,
    false_positive_examples: examples,
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export type { AnomalyType };
