/**
 * `tollgate infra up|down|status`: the local Kafka and ClickHouse, idempotent. `up` on a running
 * stack only re-checks topics and migrations and reports what is up.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  applyMigrations,
  type ClickHouseConnection,
  createClickHouse,
  createKafka,
  databaseExists,
  ensureDatabase,
  ensureTopics,
  type KafkaConnection,
  kafkaError,
  loadMigrations,
  prefixedTopicNames,
  silentLogger,
  TollgateError,
  type TopicNames,
  topicMismatches,
  topicSpecs,
} from '@tollgate/core';
import { clickhouseAnswers, startClickHouse } from './clickhouse.ts';
import { kafkaAnswers, startKafka } from './kafka.ts';
import { runningPid, stopProcess } from './processes.ts';
import { clickhouseUrl, type InfraSettings, infraPaths, kafkaBrokers } from './settings.ts';

export { clickhouseSecureClientEnvFile } from './clickhouse.ts';
export { secureClientEnvFile } from './kafka-secure.ts';
export type { InfraSettings } from './settings.ts';
export { clickhouseUrl, kafkaBrokers } from './settings.ts';

export interface InfraUpResult {
  kafka: { pid: number; started: boolean };
  clickhouse: { pid: number; started: boolean };
  topicsCreated: string[];
  migrationsApplied: string[];
  elapsedMs: number;
}

/** Serialises concurrent `up` calls (two test files starting at once) with an atomic mkdir lock. */
async function withLock<T>(settings: InfraSettings, work: () => Promise<T>): Promise<T> {
  const lock = `${infraPaths(settings).runDir}/up.lock`;
  mkdirSync(infraPaths(settings).runDir, { recursive: true });
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than 10 minutes belongs to a process that died mid-start.
      const age = Date.now() - (statSafe(lock) ?? Date.now());
      if (age > 600_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new TollgateError(`infra: timed out waiting for ${lock}`, { code: 'TG_INFRA_LOCK' });
      await sleep(200);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function statSafe(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

export async function infraUp(settings: InfraSettings): Promise<InfraUpResult> {
  const started = Date.now();
  return withLock(settings, async () => {
    // Both servers start concurrently: the JVM's start-up hides ClickHouse's.
    const [kafka, clickhouse] = await Promise.all([startKafka(settings), startClickHouse(settings)]);
    const { created, applied, mismatches, changed } = await provision({
      kafka: { brokers: kafkaBrokers(settings) },
      clickhouse: { url: clickhouseUrl(settings), database: settings.clickhouseDatabase },
      topics: prefixedTopicNames(settings.topicPrefix ?? ''),
      root: settings.root,
      progress: settings.progress,
    });
    for (const problem of mismatches) settings.progress(`kafka: WARNING topic ${problem}`);
    for (const name of changed) {
      settings.progress(
        `clickhouse: WARNING migration ${name} changed after it was applied; add a new migration instead`,
      );
    }
    return {
      kafka,
      clickhouse,
      topicsCreated: created,
      migrationsApplied: applied,
      elapsedMs: Date.now() - started,
    };
  });
}

/** How long one migration statement may run. */
const MIGRATION_TIMEOUT_MS = 60 * 60_000;

export interface ProvisionOptions {
  kafka: KafkaConnection;
  clickhouse: ClickHouseConnection;
  root: string;
  progress: (line: string) => void;
  /** Topic names; a TOPIC_PREFIX'd set for stacks that share a cluster. */
  topics?: TopicNames;
  /** Partitions of the keyed topics (usage, priced, the detector's); the others have one. */
  partitions?: number;
  /** Replicas of each new topic; -1 (default) takes the cluster's default.replication.factor. */
  replicationFactor?: number;
  /** Change nothing: `created` and `applied` are what would be created and applied. */
  dryRun?: boolean;
}

export interface ProvisionResult {
  created: string[];
  existing: string[];
  /** How existing topics differ from what Tollgate needs, one line each (see topicMismatches). */
  mismatches: string[];
  applied: string[];
  alreadyApplied: string[];
  /** Migrations whose file changed after they were applied (a new migration should have been added). */
  changed: string[];
}

/**
 * Creates missing topics, checks the existing ones, and applies pending migrations, against any Kafka
 * and ClickHouse: the local stack, docker-compose's, or a production cluster (`tollgate provision`).
 * Idempotent: a second run creates and applies nothing.
 */
export async function provision(settings: ProvisionOptions): Promise<ProvisionResult> {
  const { dryRun = false } = settings;
  const logger = silentLogger();
  const specs = topicSpecs(settings.topics, settings.partitions);
  const kafka = createKafka({ ...settings.kafka, clientId: 'tollgate-provision', logger });
  const admin = kafka.admin();
  let topics: { created: string[]; existing: string[]; mismatches: string[] };
  try {
    await admin.connect();
    const { created, existing } = await ensureTopics(admin, specs, {
      ...(settings.replicationFactor === undefined ? {} : { replicationFactor: settings.replicationFactor }),
      dryRun,
    });
    for (const topic of created)
      settings.progress(`kafka: ${dryRun ? 'would create' : 'created'} topic ${topic}`);
    const mismatches = await topicMismatches(
      admin,
      specs.filter((spec) => existing.includes(spec.name)),
    );
    topics = { created, existing, mismatches };
  } catch (err) {
    throw err instanceof TollgateError ? err : kafkaError('provision', err);
  } finally {
    await admin.disconnect();
  }
  // A migration that copies a table (0007 folds every run into runs_monthly: about 7 s per million
  // runs on 18.16 here) must not be cut off by the 30 s a service's request gets.
  const chOptions = { ...settings.clickhouse, logger, requestTimeoutMs: MIGRATION_TIMEOUT_MS };
  const migrations = await loadMigrations(join(settings.root, 'schemas', 'clickhouse'));
  if (dryRun && !(await databaseExists(chOptions))) {
    settings.progress(`clickhouse: would create database ${chOptions.database}`);
    for (const { name } of migrations) settings.progress(`clickhouse: would apply migration ${name}`);
    return { ...topics, applied: migrations.map((m) => m.name), alreadyApplied: [], changed: [] };
  }
  if (!dryRun) await ensureDatabase(chOptions);
  const ch = createClickHouse(chOptions);
  try {
    const result = await applyMigrations(
      ch,
      migrations,
      (name) => settings.progress(`clickhouse: ${dryRun ? 'would apply' : 'applied'} migration ${name}`),
      { dryRun },
    );
    return {
      ...topics,
      applied: result.applied,
      alreadyApplied: result.alreadyApplied,
      changed: result.changed,
    };
  } finally {
    await ch.close();
  }
}

export interface InfraDownResult {
  stopped: { name: string; pid: number; how: 'stopped' | 'killed' }[];
  wiped: boolean;
}

export async function infraDown(settings: InfraSettings, { wipe = false } = {}): Promise<InfraDownResult> {
  const paths = infraPaths(settings);
  const stopped: InfraDownResult['stopped'] = [];
  const targets = [
    { name: 'kafka', pidFile: paths.kafkaPid, marker: paths.kafkaConfig },
    { name: 'clickhouse', pidFile: paths.clickhousePid, marker: paths.clickhouseConfig },
  ];
  await Promise.all(
    targets.map(async ({ name, pidFile, marker }) => {
      const pid = runningPid(pidFile, marker);
      if (pid !== undefined) {
        settings.progress(`${name}: stopping pid ${pid}`);
        stopped.push({ name, pid, how: await stopProcess(pid, 30_000) });
      }
      rmSync(pidFile, { force: true });
    }),
  );
  if (wipe) {
    settings.progress('wiping Kafka and ClickHouse data');
    rmSync(paths.kafkaData, { recursive: true, force: true });
    rmSync(paths.clickhouseData, { recursive: true, force: true });
  }
  return { stopped, wiped: wipe };
}

export interface ComponentStatus {
  name: string;
  pid: number | undefined;
  address: string;
  answers: boolean;
  logs: string;
}

export async function infraStatus(settings: InfraSettings): Promise<ComponentStatus[]> {
  const paths = infraPaths(settings);
  return [
    {
      name: 'kafka',
      pid: runningPid(paths.kafkaPid, paths.kafkaConfig),
      address: kafkaBrokers(settings).join(','),
      answers: await kafkaAnswers(settings),
      logs: paths.kafkaLogDir,
    },
    {
      name: 'clickhouse',
      pid: runningPid(paths.clickhousePid, paths.clickhouseConfig),
      address: clickhouseUrl(settings),
      answers: await clickhouseAnswers(settings),
      logs: paths.clickhouseLogDir,
    },
  ];
}
