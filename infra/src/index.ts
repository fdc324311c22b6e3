/**
 * `tollgate infra up|down|status`: the local Kafka and ClickHouse, idempotent. `up` on a running
 * stack only re-checks topics and migrations and reports what is up.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  applyMigrations,
  createClickHouse,
  createKafka,
  ensureDatabase,
  ensureTopics,
  loadMigrations,
  silentLogger,
  TollgateError,
  topicSpecs,
} from '@tollgate/core';
import { clickhouseAnswers, startClickHouse } from './clickhouse.ts';
import { kafkaAnswers, startKafka } from './kafka.ts';
import { runningPid, stopProcess } from './processes.ts';
import { clickhouseUrl, type InfraSettings, infraPaths, kafkaBrokers } from './settings.ts';

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
    const { created, applied } = await provision({
      brokers: kafkaBrokers(settings),
      clickhouseUrl: clickhouseUrl(settings),
      database: settings.clickhouseDatabase,
      root: settings.root,
      progress: settings.progress,
    });
    return {
      kafka,
      clickhouse,
      topicsCreated: created,
      migrationsApplied: applied,
      elapsedMs: Date.now() - started,
    };
  });
}

export interface ProvisionOptions {
  brokers: string[];
  clickhouseUrl: string;
  database: string;
  root: string;
  progress: (line: string) => void;
  clickhouseUser?: string;
  clickhousePassword?: string;
}

/**
 * Creates missing topics and applies pending migrations, against any Kafka and ClickHouse (the
 * local stack, docker-compose's, or a staging cluster).
 */
export async function provision(
  settings: ProvisionOptions,
): Promise<{ created: string[]; applied: string[] }> {
  const logger = silentLogger();
  const kafka = createKafka({ brokers: settings.brokers, clientId: 'tollgate-infra', logger });
  const admin = kafka.admin();
  await admin.connect();
  let created: string[];
  try {
    ({ created } = await ensureTopics(admin, topicSpecs()));
  } finally {
    await admin.disconnect();
  }
  for (const topic of created) settings.progress(`kafka: created topic ${topic}`);
  const chOptions = {
    url: settings.clickhouseUrl,
    database: settings.database,
    username: settings.clickhouseUser,
    password: settings.clickhousePassword,
    logger,
  };
  await ensureDatabase(chOptions);
  const ch = createClickHouse(chOptions);
  try {
    const migrations = await loadMigrations(join(settings.root, 'schemas', 'clickhouse'));
    const result = await applyMigrations(ch, migrations, (name) =>
      settings.progress(`clickhouse: applied migration ${name}`),
    );
    for (const name of result.changed) {
      settings.progress(
        `clickhouse: WARNING migration ${name} changed after it was applied; add a new migration instead`,
      );
    }
    return { created, applied: result.applied };
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
