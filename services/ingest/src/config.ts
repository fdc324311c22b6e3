/**
 * Every environment variable the ingest service reads, with its default. Only main.ts parses the
 * environment, once, through this schema (loadConfig names every bad variable).
 */
import { commonConfig, prefixedTopicNames, z } from '@tollgate/core';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export const ingestConfigSchema = z.object({
  ...commonConfig,
  HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(9104),
  /** Largest request body accepted, after gzip decompression. */
  INGEST_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 1024 * 1024),
  /** Most events (POST /v1/events) or spans (POST /v1/traces) in one request. */
  INGEST_MAX_EVENTS_PER_REQUEST: z.coerce.number().int().positive().default(5_000),
  /** Largest single event, as JSON: one Kafka message must stay well under the broker's message.max.bytes. */
  INGEST_MAX_EVENT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  /**
   * SHA-256 digests (hex) of the accepted bearer tokens, comma-separated. Empty: no authentication
   * (for a loopback-only local stack). Digest of a token: `printf %s "$TOKEN" | sha256sum`.
   */
  INGEST_API_KEY_SHA256S: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((part) => part.trim().toLowerCase())
        .filter((part) => part.length > 0),
    )
    .pipe(z.array(z.string().regex(SHA256_HEX, 'each entry must be a SHA-256 digest, 64 hex digits'))),
  /** How long a request waits for Kafka to acknowledge before it is answered 503. */
  INGEST_PUBLISH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Encoded bytes per produce call; a bigger request is sent in several calls, in order. */
  INGEST_KAFKA_BATCH_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024),
  /** Seconds a client is told to wait (Retry-After) after a 503. */
  INGEST_RETRY_AFTER_SECONDS: z.coerce.number().int().positive().default(5),
  /** Prefix of the topic names, as every service takes it; INGEST_*_TOPIC override one name each. */
  TOPIC_PREFIX: z.string().default(''),
  INGEST_USAGE_TOPIC: z.string().min(1).optional(),
  INGEST_DLQ_TOPIC: z.string().min(1).optional(),
  KAFKA_CLIENT_ID: z.string().min(1).default('tollgate-ingest'),
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;

/** Where ingest publishes: TOPIC_PREFIX's usage and dead-letter topics, unless INGEST_*_TOPIC names one. */
export function ingestTopics(config: IngestConfig): { usage: string; deadLetters: string } {
  const names = prefixedTopicNames(config.TOPIC_PREFIX);
  return {
    usage: config.INGEST_USAGE_TOPIC ?? names.usage,
    deadLetters: config.INGEST_DLQ_TOPIC ?? names.deadLetters,
  };
}
