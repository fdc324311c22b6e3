/**
 * The integration-test harness every workspace uses. Real Kafka and ClickHouse only: it reads
 * KAFKA_BROKERS and CLICKHOUSE_URL when set (the `tollgate test` command sets them after starting the
 * local stack), and otherwise starts the local stack itself. Each test gets unique topic names and a
 * fresh ClickHouse database with every migration applied, and both are removed afterwards.
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  applyMigrations,
  type ClickHouse,
  createClickHouse,
  createKafka,
  dropDatabase,
  ensureDatabase,
  ensureTopics,
  formatDateTime,
  type Kafka,
  type Logger,
  loadMigrations,
  prefixedTopicNames,
  silentLogger,
  type TopicNames,
  type TopicSpec,
  topicSpecs,
} from '@tollgate/core';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Endpoints {
  brokers: string[];
  clickhouseUrl: string;
}

let endpoints: Promise<Endpoints> | undefined;

/** Where the real Kafka and ClickHouse are; starts the local stack once per process if needed. */
export function infrastructure(): Promise<Endpoints> {
  endpoints ??= (async () => {
    const brokers = process.env.KAFKA_BROKERS;
    const clickhouseUrl = process.env.CLICKHOUSE_URL;
    if (brokers && clickhouseUrl) return { brokers: brokers.split(','), clickhouseUrl };
    const { infraUp, kafkaBrokers, clickhouseUrl: chUrl } = await import('@tollgate/infra');
    const settings = {
      root: repoRoot,
      home: resolve(repoRoot, '.tollgate'),
      kafkaPort: 9092,
      kafkaControllerPort: 9093,
      kafkaSecurePort: 9094,
      clickhouseHttpPort: 8123,
      clickhouseTcpPort: 9000,
      clickhouseHttpsPort: 8443,
      clickhouseDatabase: 'tollgate',
      allowApt: true,
      progress: () => {},
    };
    await infraUp(settings);
    return { brokers: kafkaBrokers(settings), clickhouseUrl: chUrl(settings) };
  })();
  return endpoints;
}

/**
 * The local broker's SASL_SSL listener (TLS with the stack's own CA, SASL/PLAIN): the client variables
 * of its client.env (KAFKA_BROKERS, KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*), as a service reads them.
 */
export async function secureKafkaEnv(): Promise<Record<string, string>> {
  await infrastructure();
  return readEnvFile(
    process.env.TOLLGATE_KAFKA_SECURE_ENV ?? resolve(repoRoot, '.tollgate', 'kafka', 'secure', 'client.env'),
  );
}

/** The local ClickHouse's https port: CLICKHOUSE_URL=https://… and CLICKHOUSE_CA_FILE, from its client.env. */
export async function secureClickHouseEnv(): Promise<Record<string, string>> {
  await infrastructure();
  return readEnvFile(
    process.env.TOLLGATE_CLICKHOUSE_SECURE_ENV ??
      resolve(repoRoot, '.tollgate', 'clickhouse', 'secure', 'client.env'),
  );
}

function readEnvFile(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/**
 * Runs the `tollgate` CLI as a user would, with these variables on top of the environment: its exit code
 * and everything it printed (stdout, then stderr, where its one-line errors go).
 */
export async function runCli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [resolve(repoRoot, 'services', 'cli', 'src', 'main.ts'), ...args],
      { env: { ...process.env, ...env } },
    );
    return { code: 0, stdout };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: `${failed.stdout}${failed.stderr}` };
  }
}

/** A loopback port nothing listens on: one the kernel picked, released again. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** True when integration tests must be skipped (`tollgate test --no-infra`). */
export const skipIntegration = process.env.TOLLGATE_SKIP_INTEGRATION === '1';

export function uniqueId(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

export interface TestContext {
  brokers: string[];
  clickhouseUrl: string;
  logger: Logger;
  kafka: Kafka;
  /** Every Tollgate topic under a unique prefix, created on demand by `createTopics`. */
  topics: TopicNames;
  /** The prefix of `topics` (a service's TOPIC_PREFIX). */
  topicPrefix: string;
  /** Creates topics (Tollgate's set by default) under this context's names. */
  createTopics(specs?: TopicSpec[]): Promise<void>;
  /** A fresh database with every migration applied (created on first call). */
  clickhouse(): Promise<ClickHouse>;
  database: string;
  cleanup(): Promise<void>;
}

export async function createTestContext({
  partitions = 3,
  brokers: ownBrokers,
}: {
  partitions?: number;
  /** A broker of the test's own (private-broker.ts) instead of the shared one. */
  brokers?: string[];
} = {}): Promise<TestContext> {
  const shared = await infrastructure();
  const { clickhouseUrl } = shared;
  const brokers = ownBrokers ?? shared.brokers;
  const logger = silentLogger();
  const id = uniqueId();
  const topicPrefix = `${id}.`;
  const topics = prefixedTopicNames(topicPrefix);
  const kafka = createKafka({ brokers, clientId: `test-${id}`, logger });
  const database = `test_${id}`;
  const cleanups: (() => Promise<void>)[] = [];
  let ch: Promise<ClickHouse> | undefined;
  return {
    brokers,
    clickhouseUrl,
    logger,
    kafka,
    topics,
    topicPrefix,
    database,
    async createTopics(specs = topicSpecs(topics, partitions)) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, specs);
      } finally {
        await admin.disconnect();
      }
      cleanups.push(async () => {
        const cleanupAdmin = kafka.admin();
        await cleanupAdmin.connect();
        try {
          await cleanupAdmin.deleteTopics({ topics: specs.map((spec) => spec.name) });
        } catch {
          // Already gone, or the broker is down in a test that stops it: nothing to clean.
        } finally {
          await cleanupAdmin.disconnect();
        }
      });
    },
    clickhouse() {
      ch ??= (async () => {
        const options = { url: clickhouseUrl, database, logger };
        await ensureDatabase(options);
        const client = createClickHouse(options);
        await applyMigrations(client, await loadMigrations(resolve(repoRoot, 'schemas', 'clickhouse')));
        cleanups.push(async () => {
          await client.close();
          await dropDatabase(options);
        });
        return client;
      })();
      return ch;
    },
    async cleanup() {
      for (const step of cleanups.reverse()) await step().catch(() => {});
    },
  };
}

/** Produces raw messages (acks from every in-sync replica): what a test writes past Tollgate's own publishers. */
export async function produceMessages(
  kafka: Kafka,
  topic: string,
  messages: { key: string; value: string | Buffer | null }[],
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

export type DeadLetterRow = Record<string, string | number>;

/** A dead_letters row as the sink stores one: `stage` could not read a newer schema an hour ago. */
export function deadLetterRow(
  stage: string,
  topic: string,
  partition: number,
  offset: number,
  key: string,
  payload: Buffer,
  dlqOffset: number,
): DeadLetterRow {
  return {
    received_at: formatDateTime(new Date(Date.now() - 3_600_000)),
    stage,
    reason_code: 'unknown_fingerprint',
    reason: `schema fingerprint 0x1c2f… is not one this ${stage} knows`,
    source_topic: topic,
    source_partition: partition,
    source_offset: String(offset),
    key,
    payload_base64: payload.toString('base64'),
    dlq_partition: 0,
    dlq_offset: String(dlqOffset),
  };
}
