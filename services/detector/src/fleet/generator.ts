/**
 * A labelled synthetic agent fleet: several orgs and features with diurnal traffic (a
 * non-homogeneous Poisson process of run starts), plus injected anomalies with their ground truth:
 *
 *   run:     runaway_loop, fanout_explosion, sandbox_left_running
 *   feature: cache_hit_collapse, model_swap, retrieval_storm (every run of the feature, for a while)
 *
 * `events()` yields usage events in event-time order (runs overlap; a heap merges them). The same
 * options and seed always yield the same fleet. The detector benchmark prices the events itself; the
 * CLI simulator can publish them to the usage topic as they are.
 */
import type { UsageEvent } from '@tollgate/core';
import { createRandom as createRng, type Random as Rng } from '@tollgate/core';
import { diurnal, type FeatureProfile, fleetProfiles } from './profiles.ts';
import {
  type AnomalousRun,
  type FeatureMods,
  fanoutExplosion,
  normalRun,
  runawayLoop,
  sandboxLeftRunning,
} from './runs.ts';

export const RUN_ANOMALIES = ['runaway_loop', 'fanout_explosion', 'sandbox_left_running'] as const;
export const FEATURE_ANOMALIES = ['cache_hit_collapse', 'model_swap', 'retrieval_storm'] as const;
export const ANOMALY_TYPES = [...RUN_ANOMALIES, ...FEATURE_ANOMALIES] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

export interface Anomaly {
  id: string;
  type: AnomalyType;
  scope: 'run' | 'feature';
  org: string;
  feature: string;
  /** The anomalous run (run anomalies). */
  runId: string | null;
  /** Event time the anomalous behaviour starts and ends. */
  start: number;
  end: number;
}

export interface FleetOptions {
  start: number;
  durationMs: number;
  /** Mean run starts per minute over the whole fleet (before the diurnal curve). */
  runsPerMinute: number;
  seed?: number;
  orgs?: number;
  featuresPerOrg?: number;
  /** 0 = flat traffic, 0.6 = the trough is 40 % and the peak 160 % of the mean. */
  diurnalAmplitude?: number;
  runAnomaliesPerType?: number;
  featureAnomaliesPerType?: number;
  /** Which anomalies to inject (default: all six). */
  anomalyTypes?: readonly AnomalyType[];
  /** No anomaly starts before this much event time has passed (baselines warm up). */
  warmupMs?: number;
  /** Run anomalies start within this span after the warm-up (default: all but the last hour). */
  runAnomalySpanMs?: number;
  featureAnomalyMs?: number;
  /** Feature anomalies on one feature are at least this far apart, so its baseline recovers. */
  featureAnomalySpacingMs?: number;
  source?: string;
  /** Prefixed to every run id (two fleets on one topic must not share run ids). */
  runIdPrefix?: string;
}

export interface Fleet {
  profiles: FeatureProfile[];
  anomalies: Anomaly[];
  events(): Generator<UsageEvent>;
}

const HOUR_MS = 3_600_000;

export function createFleet(options: FleetOptions): Fleet {
  const {
    start,
    durationMs,
    runsPerMinute,
    seed = 42,
    orgs = 4,
    featuresPerOrg = 3,
    diurnalAmplitude = 0.6,
    runAnomaliesPerType = 8,
    featureAnomaliesPerType = 4,
    anomalyTypes = ANOMALY_TYPES,
    warmupMs = 2 * HOUR_MS,
    runAnomalySpanMs = Math.max(1, durationMs - warmupMs - HOUR_MS),
    featureAnomalyMs = 30 * 60_000,
    featureAnomalySpacingMs = 3 * HOUR_MS,
    source = 'simulator',
    runIdPrefix = '',
  } = options;
  const end = start + durationMs;
  const profiles = fleetProfiles(createRng(seed), orgs, featuresPerOrg);
  const planner = createRng(seed + 1);
  const anomalies: Anomaly[] = [];
  const anomalyRuns: { start: number; run: AnomalousRun }[] = [];

  // Feature anomalies: a fitting feature, spaced from the others on it.
  const fits: Record<(typeof FEATURE_ANOMALIES)[number], (p: FeatureProfile) => boolean> = {
    // Where the cache carries the bill: Anthropic models (reads at 0.1×, writes at 1.25×), big prompts.
    cache_hit_collapse: (p) =>
      p.model.startsWith('claude') && p.cacheRatio >= 0.8 && p.promptTokens >= 20_000,
    model_swap: () => true,
    retrieval_storm: (p) => p.retrievalProbability > 0,
  };
  for (const type of FEATURE_ANOMALIES) {
    if (!anomalyTypes.includes(type)) continue;
    const candidates = profiles.filter(fits[type]);
    for (let i = 0; i < featureAnomaliesPerType && candidates.length > 0; i++) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const profile = planner.pick(candidates);
        const at = start + warmupMs + planner.next() * (durationMs - warmupMs - featureAnomalyMs - HOUR_MS);
        const clash = anomalies.some(
          (a) =>
            a.scope === 'feature' &&
            a.org === profile.org &&
            a.feature === profile.feature &&
            Math.abs(a.start - at) < featureAnomalySpacingMs,
        );
        if (clash) continue;
        anomalies.push({
          id: `${type}-${i}`,
          type,
          scope: 'feature',
          org: profile.org,
          feature: profile.feature,
          runId: null,
          start: Math.round(at),
          end: Math.round(at + featureAnomalyMs),
        });
        break;
      }
    }
  }

  const scripts: Record<
    (typeof RUN_ANOMALIES)[number],
    (rng: Rng, p: FeatureProfile, runId: string, at: number, source: string) => AnomalousRun
  > = {
    runaway_loop: runawayLoop,
    fanout_explosion: fanoutExplosion,
    sandbox_left_running: sandboxLeftRunning,
  };
  for (const type of RUN_ANOMALIES) {
    if (!anomalyTypes.includes(type)) continue;
    for (let i = 0; i < runAnomaliesPerType; i++) {
      const profile = planner.pick(profiles);
      const at = Math.round(start + warmupMs + planner.next() * runAnomalySpanMs);
      const runId = `${runIdPrefix}${profile.org}-${type}-${i}`;
      const run = scripts[type](planner, profile, runId, at, source);
      const last = run.events.reduce((max, e) => Math.max(max, e.event_time), at);
      anomalies.push({
        id: `${type}-${i}`,
        type,
        scope: 'run',
        org: profile.org,
        feature: profile.feature,
        runId,
        start: run.anomalyStart,
        end: last,
      });
      anomalyRuns.push({ start: at, run });
    }
  }
  anomalyRuns.sort((a, b) => a.start - b.start);

  function modsAt(profile: FeatureProfile, t: number): FeatureMods {
    const active = (type: AnomalyType) =>
      anomalies.some(
        (a) =>
          a.type === type &&
          a.org === profile.org &&
          a.feature === profile.feature &&
          t >= a.start &&
          t < a.end,
      );
    return {
      cacheCollapse: active('cache_hit_collapse'),
      modelSwap: active('model_swap'),
      retrievalStorm: active('retrieval_storm'),
    };
  }

  return {
    profiles,
    anomalies,
    *events() {
      const rng = createRng(seed + 2);
      const heap = createEventHeap();
      const totalWeight = profiles.reduce((sum, p) => sum + p.weight, 0);
      // Thinning: candidates at the peak rate, each kept with its feature's diurnal factor.
      const meanGapMs = 60_000 / (runsPerMinute * (1 + diurnalAmplitude));
      let nextAnomaly = 0;
      let runs = 0;
      for (let t = start + rng.exponential(meanGapMs); t < end; t += rng.exponential(meanGapMs)) {
        while (nextAnomaly < anomalyRuns.length && anomalyRuns[nextAnomaly]!.start <= t)
          for (const event of anomalyRuns[nextAnomaly++]!.run.events) heap.push(event);
        const profile = pickWeighted(profiles, rng.next() * totalWeight);
        if (rng.next() * (1 + diurnalAmplitude) < diurnal(t, profile.phaseHours, diurnalAmplitude)) {
          const at = Math.round(t);
          for (const event of normalRun(
            rng,
            profile,
            `${profile.org}-r${runs++}`,
            at,
            modsAt(profile, at),
            source,
          ))
            heap.push(event);
        }
        while (heap.size() > 0 && heap.peek()!.event_time <= t) yield heap.pop()!;
      }
      while (nextAnomaly < anomalyRuns.length)
        for (const event of anomalyRuns[nextAnomaly++]!.run.events) heap.push(event);
      while (heap.size() > 0) yield heap.pop()!;
    },
  };
}

function pickWeighted(profiles: FeatureProfile[], target: number): FeatureProfile {
  let remaining = target;
  for (const profile of profiles) {
    remaining -= profile.weight;
    if (remaining < 0) return profile;
  }
  return profiles[profiles.length - 1]!;
}

/** A binary min-heap on event time; ties keep insertion order. */
function createEventHeap() {
  const items: { event: UsageEvent; seq: number }[] = [];
  let seq = 0;
  const less = (a: { event: UsageEvent; seq: number }, b: { event: UsageEvent; seq: number }) =>
    a.event.event_time < b.event.event_time || (a.event.event_time === b.event.event_time && a.seq < b.seq);
  return {
    size: () => items.length,
    peek: () => items[0]?.event,
    push(event: UsageEvent) {
      items.push({ event, seq: seq++ });
      let i = items.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!less(items[i]!, items[parent]!)) break;
        [items[i], items[parent]] = [items[parent]!, items[i]!];
        i = parent;
      }
    },
    pop(): UsageEvent | undefined {
      const top = items[0];
      const last = items.pop();
      if (items.length > 0 && last) {
        items[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let smallest = i;
          if (l < items.length && less(items[l]!, items[smallest]!)) smallest = l;
          if (r < items.length && less(items[r]!, items[smallest]!)) smallest = r;
          if (smallest === i) break;
          [items[i], items[smallest]] = [items[smallest]!, items[i]!];
          i = smallest;
        }
      }
      return top?.event;
    },
  };
}
