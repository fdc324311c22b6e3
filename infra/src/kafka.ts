/**
 * The local Kafka broker: jars from Maven Central (infra/kafka/pom.xml), a rendered KRaft config,
 * storage formatted on first start, one JVM in the background.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { createKafka, silentLogger, TollgateError } from '@tollgate/core';
import { ensureScramCredentials, ensureSecureListener, SERVICE_USERS } from './kafka-secure.ts';
import { requireJava17, requireMaven } from './prerequisites.ts';
import { lastOutputLine, requirePortFree, runningPid, spawnDetached, waitFor } from './processes.ts';
import { type InfraSettings, infraPaths, kafkaBrokers } from './settings.ts';

function pomDigest(pomPath: string): string {
  return createHash('sha256').update(readFileSync(pomPath)).digest('hex');
}

/** Resolves the broker jars with Maven when the pom changed since the last download. */
export async function ensureKafkaJars(settings: InfraSettings): Promise<void> {
  const paths = infraPaths(settings);
  const digest = pomDigest(paths.kafkaPom);
  if (existsSync(paths.kafkaLibsStamp) && readFileSync(paths.kafkaLibsStamp, 'utf8') === digest) return;
  requireMaven();
  // Resolved into a fresh directory that replaces the old one only once complete: after a version bump
  // no jar of the previous version stays on the classpath, and a failed download leaves the old set.
  const staging = `${paths.kafkaLibs}.new`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  settings.progress(`kafka: fetching broker jars from Maven Central into ${paths.kafkaLibs}`);
  const child = spawn(
    'mvn',
    [
      '-B',
      '-f',
      paths.kafkaPom,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${staging}`,
      '-DincludeScope=runtime',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let downloaded = 0;
  const tail: string[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (line.includes('Downloaded from')) {
      downloaded += 1;
      if (downloaded % 25 === 0) settings.progress(`kafka: ${downloaded} artifacts downloaded…`);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => tail.push(chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) {
    const reason =
      tail
        .filter((line) => line.includes('ERROR'))
        .slice(0, 2)
        .join(' ') || `mvn exited with ${code}`;
    throw new TollgateError(`kafka: could not fetch the broker jars: ${reason}`, {
      code: 'TG_INFRA_DOWNLOAD',
    });
  }
  const jars = readdirSync(staging).filter((file) => file.endsWith('.jar')).length;
  writeFileSync(join(staging, basename(paths.kafkaLibsStamp)), digest);
  rmSync(paths.kafkaLibs, { recursive: true, force: true });
  renameSync(staging, paths.kafkaLibs);
  settings.progress(`kafka: ${jars} jars ready (${downloaded} downloaded)`);
}

function render(template: string, values: Record<string, string | number>): string {
  return template.replaceAll(/\{\{([A-Z_]+)\}\}/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined)
      throw new TollgateError(`template placeholder {{${key}}} has no value`, { code: 'TG_INFRA_TEMPLATE' });
    return String(value);
  });
}

function javaArgs(settings: InfraSettings, mainClass: string, args: string[]): string[] {
  const paths = infraPaths(settings);
  return [
    '-Xms256m',
    '-Xmx1g',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${paths.kafkaLog4j}`,
    `-Dkafka.logs.dir=${paths.kafkaLogDir}`,
    '-cp',
    `${paths.kafkaLibs}/*`,
    mainClass,
    ...args,
  ];
}

function formatStorage(settings: InfraSettings): void {
  const paths = infraPaths(settings);
  if (existsSync(`${paths.kafkaData}/meta.properties`)) return;
  // A Kafka Uuid is 16 random bytes in URL-safe base64 without padding (what `kafka-storage random-uuid` prints).
  // It may start with '-', so it is passed as `--cluster-id=<id>`, never as a separate argument.
  const clusterId = randomBytes(16).toString('base64url');
  settings.progress(`kafka: formatting KRaft storage in ${paths.kafkaData} (cluster ${clusterId})`);
  const result = spawnSync(
    'java',
    javaArgs(settings, 'kafka.tools.StorageTool', [
      'format',
      `--cluster-id=${clusterId}`,
      '-c',
      paths.kafkaConfig,
    ]),
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) {
    const reason = lastOutputLine(result);
    throw new TollgateError(`kafka: formatting storage failed: ${reason}`, { code: 'TG_INFRA_KAFKA_FORMAT' });
  }
}

export async function kafkaAnswers(settings: InfraSettings): Promise<boolean> {
  const kafka = createKafka({
    brokers: kafkaBrokers(settings),
    clientId: 'tollgate-infra',
    logger: silentLogger(),
    connectionTimeoutMs: 1_000,
    requestTimeoutMs: 3_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Starts the broker unless ours is already running; resolves once it answers a metadata request. */
export async function startKafka(settings: InfraSettings): Promise<{ pid: number; started: boolean }> {
  const paths = infraPaths(settings);
  const running = runningPid(paths.kafkaPid, paths.kafkaConfig);
  if (running !== undefined) return { pid: running, started: false };
  requireJava17();
  await requirePortFree(settings.kafkaPort, 'Kafka', 'TOLLGATE_KAFKA_PORT');
  await requirePortFree(settings.kafkaControllerPort, 'Kafka controller', 'TOLLGATE_KAFKA_CONTROLLER_PORT');
  await requirePortFree(settings.kafkaSecurePort, 'Kafka SASL_SSL listener', 'TOLLGATE_KAFKA_SECURE_PORT');
  await ensureKafkaJars(settings);
  mkdirSync(paths.kafkaData, { recursive: true });
  mkdirSync(paths.kafkaLogDir, { recursive: true });
  const secure = ensureSecureListener(settings);
  const template = readFileSync(paths.kafkaTemplate, 'utf8');
  writeFileSync(
    paths.kafkaConfig,
    render(template, {
      KAFKA_PORT: settings.kafkaPort,
      CONTROLLER_PORT: settings.kafkaControllerPort,
      KAFKA_SECURE_PORT: settings.kafkaSecurePort,
      SECURE_DIR: paths.kafkaSecure,
      SASL_PASSWORD: secure.saslPassword,
      SERVICE_USERS: SERVICE_USERS.map((user) => `user_${user}="${secure.saslPassword}"`).join(' '),
      KEYSTORE_PASSWORD: secure.keystorePassword,
      DATA_DIR: paths.kafkaData,
    }),
    { mode: 0o600 },
  );
  chmodSync(paths.kafkaConfig, 0o600); // it holds the listener's passwords
  formatStorage(settings);
  const logFile = `${paths.kafkaLogDir}/stdout.log`;
  settings.progress(`kafka: starting broker on 127.0.0.1:${settings.kafkaPort} (logs: ${paths.kafkaLogDir})`);
  const pid = spawnDetached({
    command: 'java',
    args: javaArgs(settings, 'kafka.Kafka', [paths.kafkaConfig]),
    cwd: paths.kafkaHome,
    logFile,
    pidFile: paths.kafkaPid,
  });
  const up = await waitFor(() => kafkaAnswers(settings), 90_000, 500);
  if (!up) {
    throw new TollgateError(`kafka: broker did not answer within 90 s; see ${paths.kafkaLogDir}/server.log`, {
      code: 'TG_INFRA_KAFKA_START',
    });
  }
  ensureScramCredentials(settings, (main, args) => javaArgs(settings, main, args));
  return { pid, started: true };
}
