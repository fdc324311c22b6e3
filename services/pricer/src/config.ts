/**
 * Every environment variable the pricer and its commands read, with its default. Only a process's
 * entry point parses the environment, once, through this schema (loadConfig names every bad variable).
 */
import { fileURLToPath } from 'node:url';
import { commonConfig, kafkaConfig, z } from '@tollgate/core';

export const DEFAULT_RATE_CARD_FILE = fileURLToPath(
  new URL('../../../ratecards/default.yaml', import.meta.url),
);

const positiveInt = z.coerce.number().int().positive();

export const pricerConfigSchema = z.object({
  ...commonConfig,
  HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(9101),
  /** Prefix of every topic name (tests and benchmarks run a pricer against their own topics). */
  TOPIC_PREFIX: z.string().default(''),
  PRICER_GROUP_ID: z.string().min(1).default('tollgate-pricer'),
  /** The card followed on the rate-card topic (its message key). */
  RATE_CARD_ID: z.string().min(1).default('default'),
  /** Used until (and unless) the rate-card topic holds a card of RATE_CARD_ID. */
  RATE_CARD_FILE: z.string().min(1).default(DEFAULT_RATE_CARD_FILE),
  /** Duplicate window per usage partition, in offsets (0 disables dropping duplicates). */
  PRICER_DEDUP_WINDOW_OFFSETS: z.coerce.number().int().min(0).default(100_000),
  PRICER_MAX_BYTES_PER_PARTITION: positiveInt.default(1024 * 1024),
  PRICER_PARTITIONS_CONCURRENTLY: positiveInt.default(6),
  /** A fetch waits for this many bytes or PRICER_FETCH_MAX_WAIT_MS (the linger: fewer, larger transactions). */
  PRICER_FETCH_MIN_BYTES: positiveInt.default(1024 * 1024),
  PRICER_FETCH_MAX_WAIT_MS: positiveInt.default(200),
  PRICER_SESSION_TIMEOUT_MS: positiveInt.default(30_000),
  /** The broker aborts a transaction left open this long (after a crash, at the latest). */
  PRICER_TRANSACTION_TIMEOUT_MS: positiveInt.default(30_000),
  PRICER_RATE_CARD_CATCH_UP_MS: positiveInt.default(30_000),
  /** Most bytes per produce request (the broker refuses record batches over max.message.bytes). */
  PRICER_MAX_REQUEST_BYTES: positiveInt.default(256 * 1024),
});

export type PricerConfig = z.infer<typeof pricerConfigSchema>;

/** What the pricer's one-shot commands (publish-ratecard, reprice) read from the environment. */
export const commandConfigSchema = z.object({
  LOG_LEVEL: commonConfig.LOG_LEVEL.default('warn'),
  ...kafkaConfig,
  TOPIC_PREFIX: z.string().default(''),
  PRICER_GROUP_ID: z.string().min(1).default('tollgate-pricer'),
});
