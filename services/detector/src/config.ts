/**
 * Every environment variable the detector and its commands read, with its default. Only a process's
 * entry point parses the environment, once, through this schema (loadConfig names every bad variable).
 * The window and lateness settings must be the same on every instance of one deployment.
 */
import { commonConfig, z } from '@tollgate/core';
import type { DetectorSettings } from './detector.ts';

const positiveInt = z.coerce.number().int().positive();
const fraction = z.coerce.number().gt(0).max(1);
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export const detectorConfigSchema = z.object({
  ...commonConfig,
  HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(9103),
  /** Prefix of every topic name (tests and benchmarks run a detector against their own topics). */
  TOPIC_PREFIX: z.string().default(''),
  DETECTOR_GROUP_ID: z.string().min(1).default('tollgate-detector'),
  /** Transactional ids are `<prefix>.<stage>.<partition>`; defaults to the group id. */
  DETECTOR_TRANSACTIONAL_ID_PREFIX: z.string().min(1).optional(),
  /** Length of a feature's tumbling window. */
  DETECTOR_WINDOW_MS: positiveInt.default(5 * MINUTE_MS),
  /** How far behind the newest event time an event may arrive and still be on time. */
  DETECTOR_ALLOWED_LATENESS_MS: z.coerce.number().int().min(0).default(MINUTE_MS),
  /** A run-stage partition silent this long (wall clock) stops holding feature windows open. */
  DETECTOR_IDLE_UPSTREAM_MS: positiveInt.default(30_000),
  DETECTOR_RUN_END_GRACE_MS: positiveInt.default(10 * MINUTE_MS),
  DETECTOR_RUN_INACTIVITY_MS: positiveInt.default(2 * 60 * MINUTE_MS),
  DETECTOR_FEATURE_RETENTION_MS: positiveInt.default(35 * DAY_MS),
  DETECTOR_BASELINE_ALPHA: fraction.default(0.2),
  DETECTOR_SEASONAL_ALPHA: fraction.default(0.3),
  /** Windows an hour-of-week slot needs before it is the expectation (24 = two weeks of 5-min windows). */
  DETECTOR_SEASONAL_MIN_SAMPLES: positiveInt.default(24),
  /** The budget forecast waits until this fraction of the month has elapsed. */
  DETECTOR_FORECAST_MIN_ELAPSED: fraction.default(0.1),
  DETECTOR_PARTITIONS_CONCURRENTLY: positiveInt.default(6),
  DETECTOR_MAX_BYTES_PER_PARTITION: positiveInt.default(2 * 1024 * 1024),
  /** A stage's fetch waits for this many bytes or DETECTOR_FETCH_MAX_WAIT_MS (fewer, larger transactions). */
  DETECTOR_FETCH_MIN_BYTES: positiveInt.default(1024 * 1024),
  DETECTOR_FETCH_MAX_WAIT_MS: positiveInt.default(200),
  DETECTOR_SESSION_TIMEOUT_MS: positiveInt.default(30_000),
  DETECTOR_RESTORE_TIMEOUT_MS: positiveInt.default(120_000),
});

export type DetectorConfig = z.infer<typeof detectorConfigSchema>;

export function detectorSettings(config: DetectorConfig): DetectorSettings {
  return {
    groupId: config.DETECTOR_GROUP_ID,
    transactionalIdPrefix: config.DETECTOR_TRANSACTIONAL_ID_PREFIX ?? config.DETECTOR_GROUP_ID,
    windowMs: config.DETECTOR_WINDOW_MS,
    allowedLatenessMs: config.DETECTOR_ALLOWED_LATENESS_MS,
    idleUpstreamMs: config.DETECTOR_IDLE_UPSTREAM_MS,
    runEndGraceMs: config.DETECTOR_RUN_END_GRACE_MS,
    runInactivityMs: config.DETECTOR_RUN_INACTIVITY_MS,
    featureRetentionMs: config.DETECTOR_FEATURE_RETENTION_MS,
    baseline: {
      alpha: config.DETECTOR_BASELINE_ALPHA,
      seasonalAlpha: config.DETECTOR_SEASONAL_ALPHA,
      minSeasonalSamples: config.DETECTOR_SEASONAL_MIN_SAMPLES,
    },
    forecastMinElapsedFraction: config.DETECTOR_FORECAST_MIN_ELAPSED,
    partitionsConsumedConcurrently: config.DETECTOR_PARTITIONS_CONCURRENTLY,
    maxBytesPerPartition: config.DETECTOR_MAX_BYTES_PER_PARTITION,
    fetchMinBytes: config.DETECTOR_FETCH_MIN_BYTES,
    fetchMaxWaitMs: config.DETECTOR_FETCH_MAX_WAIT_MS,
    sessionTimeoutMs: config.DETECTOR_SESSION_TIMEOUT_MS,
    restoreTimeoutMs: config.DETECTOR_RESTORE_TIMEOUT_MS,
  };
}
