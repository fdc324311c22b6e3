/**
 * The feature stage's task for one partition of the feature repartition topic (keyed by org and
 * feature, so each (org, feature) lives in exactly one task, on whichever instance owns it).
 *
 * Watermark: every run-stage partition reports its stream time (on each slice and on ticks). The
 * watermark is the minimum over the upstream partitions heard from within `idleUpstreamMs` (wall
 * clock; a partition that has gone quiet must not hold every window open) minus the allowed
 * lateness, and it never moves back. A window [w, w + W) closes once the watermark reaches w + W;
 * slices for it after that are late: counted, not re-judged.
 */
import type {
  Codec,
  CostAlert,
  DeadLetter,
  FeatureThresholds,
  Logger,
  Message,
  PolicyIndex,
} from '@tollgate/core';
import { badInternalRecord } from '../dead-letters.ts';
import type { DetectorMetrics } from '../metrics.ts';
import { parseFeatureRecord } from '../records.ts';
import type { InputMessage, TaskOutput, TaskProcessor } from '../runtime/stage.ts';
import type { BaselineOptions } from './baseline.ts';
import {
  addSlice,
  checkOpenWindow,
  closeWindow,
  type FeatureContext,
  type FeatureState,
  featureKey,
  newFeatureState,
} from './windows.ts';

export interface FeatureStageSettings {
  windowMs: number;
  allowedLatenessMs: number;
  idleUpstreamMs: number;
  /** A feature with no spend for this long (event time) is forgotten, baseline included. */
  retentionMs: number;
  baseline: BaselineOptions;
}

export interface FeatureTaskOptions {
  partition: number;
  /** Partitions of the priced topic: every one must report (or go idle) before a window closes. */
  upstreamPartitions: number;
  topics: { alerts: string; deadLetters: string };
  policies: PolicyIndex;
  alertCodec: Codec<CostAlert>;
  deadLetterCodec: Codec<DeadLetter>;
  settings: FeatureStageSettings;
  metrics: DetectorMetrics;
  logger: Logger;
}

interface Upstream {
  time: number;
  /**
   * Wall clock when last heard from. Not persisted: after a restore (or for a partition never heard
   * from) it is NaN until the first batch, which counts as hearing from every upstream afresh.
   */
  heardAt: number;
}

const FEATURE_PREFIX = 'f:';
const META_KEY = 'meta';

export function createFeatureTask(options: FeatureTaskOptions): TaskProcessor {
  const { settings, metrics, policies } = options;
  const W = settings.windowMs;
  const features = new Map<string, FeatureState>();
  const upstream = new Map<number, Upstream>();
  let watermark = Number.NEGATIVE_INFINITY;
  /** Window start → features with that window open. */
  const openWindows = new Map<number, Set<string>>();
  const labels = { stage: 'features', partition: String(options.partition) };
  const thresholdCache = new Map<string, { version: number; value: FeatureThresholds }>();

  function thresholdsFor(state: FeatureState): FeatureThresholds {
    const key = featureKey(state.org, state.feature);
    const cached = thresholdCache.get(key);
    if (cached && cached.version === policies.version) return cached.value;
    const value = policies.featureThresholds({
      org_id: state.org,
      feature: state.feature || null,
      customer_id: null,
    });
    thresholdCache.set(key, { version: policies.version, value });
    return value;
  }

  function indexOpen(key: string, windowStart: number): void {
    let set = openWindows.get(windowStart);
    if (!set) {
      set = new Set();
      openWindows.set(windowStart, set);
    }
    set.add(key);
  }

  function advanceWatermark(now: number): void {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const up of upstream.values()) {
      if (now - up.heardAt <= settings.idleUpstreamMs) min = Math.min(min, up.time);
      max = Math.max(max, up.time);
    }
    // Every upstream idle: nothing is in flight, everything heard of can be judged.
    const reference = min === Number.POSITIVE_INFINITY ? max : min;
    if (Number.isFinite(reference)) watermark = Math.max(watermark, reference - settings.allowedLatenessMs);
  }

  return {
    restore(key, value) {
      if (key === META_KEY) {
        if (value === null) return;
        const meta = JSON.parse(value) as { watermark: number; upstream: [number, number][] };
        watermark = meta.watermark ?? Number.NEGATIVE_INFINITY;
        for (const [src, time] of meta.upstream) upstream.set(src, { time, heardAt: Number.NaN });
      } else if (key.startsWith(FEATURE_PREFIX)) {
        const fk = key.slice(FEATURE_PREFIX.length);
        if (value === null) features.delete(fk);
        else features.set(fk, JSON.parse(value) as FeatureState);
      }
    },
    restored() {
      // An upstream partition not heard from yet holds windows open until it reports or goes idle.
      for (let src = 0; src < options.upstreamPartitions; src++)
        if (!upstream.has(src)) upstream.set(src, { time: Number.NEGATIVE_INFINITY, heardAt: Number.NaN });
      for (const [key, state] of features) for (const w of Object.keys(state.open)) indexOpen(key, Number(w));
      metrics.stateEntries.set(labels, features.size);
    },

    process(messages: InputMessage[], now: number): TaskOutput {
      for (const up of upstream.values()) if (Number.isNaN(up.heardAt)) up.heardAt = now;
      const alerts: Message[] = [];
      const dead: Message[] = [];
      const dirty = new Set<string>();
      const touched = new Map<string, Set<number>>();
      let late = 0;
      let mismatches = 0;
      const ctxFor = (state: FeatureState): FeatureContext => ({
        windowMs: W,
        baseline: settings.baseline,
        thresholds: thresholdsFor(state),
        now,
      });
      const emit = (alert: CostAlert | null) => {
        if (!alert) return;
        alerts.push({ key: alert.alert_id, value: options.alertCodec.encode(alert) });
        metrics.alerts.inc({ rule: alert.rule, severity: alert.severity });
      };

      for (const message of messages) {
        const parsed = parseFeatureRecord(message.value);
        if (!parsed.ok) {
          dead.push(
            badInternalRecord(options.deadLetterCodec, metrics, 'features', message, parsed.reason, now),
          );
          continue;
        }
        const record = parsed.value;
        const up = upstream.get(record.src);
        upstream.set(record.src, {
          time: Math.max(up?.time ?? Number.NEGATIVE_INFINITY, record.srcTime),
          heardAt: now,
        });
        if (record.kind === 'tick') continue;
        const slice = record.slice;
        const key = featureKey(slice.org, slice.feature);
        let state = features.get(key);
        if (!state) {
          state = newFeatureState(slice);
          features.set(key, state);
        }
        if (slice.currency !== state.currency) {
          mismatches++;
          continue;
        }
        dirty.add(key);
        if (addSlice(state, slice, watermark, W) === 'late') {
          late += slice.events;
          continue;
        }
        indexOpen(key, slice.windowStart);
        let windows = touched.get(key);
        if (!windows) {
          windows = new Set();
          touched.set(key, windows);
        }
        windows.add(slice.windowStart);
      }

      // Early: a window whose partial cost already crosses its boundary alerts now.
      for (const [key, windows] of touched) {
        const state = features.get(key)!;
        for (const w of windows) emit(checkOpenWindow(state, w, ctxFor(state)));
      }
      advanceWatermark(now);
      for (const w of [...openWindows.keys()].sort((a, b) => a - b)) {
        if (w + W > watermark) break;
        for (const key of openWindows.get(w)!) {
          const state = features.get(key);
          if (!state) continue;
          emit(closeWindow(state, w, ctxFor(state)));
          dirty.add(key);
        }
        openWindows.delete(w);
      }

      const changelog: TaskOutput['changelog'] = [];
      for (const [key, state] of features)
        if (Object.keys(state.open).length === 0 && state.lastEventTime < watermark - settings.retentionMs) {
          features.delete(key);
          dirty.delete(key);
          changelog.push({ key: FEATURE_PREFIX + key, value: null });
        }
      for (const key of dirty)
        changelog.push({ key: FEATURE_PREFIX + key, value: JSON.stringify(features.get(key)) });
      changelog.push({
        key: META_KEY,
        value: JSON.stringify({
          watermark,
          upstream: [...upstream]
            .filter(([, up]) => Number.isFinite(up.time))
            .map(([src, up]) => [src, up.time]),
        }),
      });
      if (late > 0) metrics.lateEvents.inc({ stage: 'features' }, late);
      if (mismatches > 0) metrics.currencyMismatches.inc({ stage: 'features' }, mismatches);
      metrics.stateEntries.set(labels, features.size);
      if (Number.isFinite(watermark)) metrics.watermark.set(labels, watermark / 1000);
      return {
        messages: [
          { topic: options.topics.alerts, messages: alerts },
          { topic: options.topics.deadLetters, messages: dead },
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
