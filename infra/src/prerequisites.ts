/**
 * Checks for what the local stack needs from the machine. Each failure is one line saying what to
 * install: the CLI prints the message, never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TollgateError } from '@tollgate/core';

function missing(message: string): TollgateError {
  return new TollgateError(message, { code: 'TG_INFRA_PREREQUISITE' });
}

export function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Java 17 or newer: Kafka 4.x brokers need it. */
export function requireJava17(): string {
  if (!onPath('java'))
    throw missing('Java 17 is required to run Kafka: install it (apt-get install openjdk-17-jre-headless)');
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : 0;
  if (major < 17) {
    throw missing(
      `Java ${major || 'of unknown version'} found; Kafka 4.x needs Java 17 or newer (apt-get install openjdk-17-jre-headless)`,
    );
  }
  return `java ${major}`;
}

export function requireMaven(): void {
  if (!onPath('mvn'))
    throw missing('Maven is required to fetch the Kafka broker jars: install it (apt-get install maven)');
}

const CLICKHOUSE_BINARIES = [
  '/usr/bin/clickhouse-server',
  '/usr/sbin/clickhouse-server',
  '/usr/bin/clickhouse',
];

/** The ClickHouse server binary and the arguments that run its server mode. */
export function findClickHouse(): { command: string; prefixArgs: string[] } | undefined {
  for (const path of CLICKHOUSE_BINARIES) {
    if (!existsSync(path)) continue;
    return path.endsWith('/clickhouse')
      ? { command: path, prefixArgs: ['server'] }
      : { command: path, prefixArgs: [] };
  }
  if (onPath('clickhouse-server')) return { command: 'clickhouse-server', prefixArgs: [] };
  return undefined;
}

/** Installs the ClickHouse server from Debian's packages (the system service is not started). */
export function installClickHouse(progress: (line: string) => void, allowApt: boolean): void {
  if (!allowApt || !onPath('apt-get')) {
    throw missing(
      'ClickHouse server is not installed: install it (apt-get install clickhouse-server) or use docker-compose.yml',
    );
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw missing(
      'ClickHouse server is not installed: run `sudo apt-get install clickhouse-server`, then retry',
    );
  }
  progress('installing clickhouse-server from Debian packages (apt-get)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync(
      'apt-get',
      ['install', '-y', '--no-install-recommends', 'clickhouse-server', 'clickhouse-client'],
      {
        env,
        encoding: 'utf8',
      },
    );
  let result = install();
  if (result.status !== 0) {
    progress('apt-get install failed; refreshing package lists (apt-get update) and retrying…');
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore' });
    result = install();
  }
  if (result.status !== 0 || !findClickHouse()) {
    const reason = (result.stderr || result.stdout || '').trim().split('\n').pop();
    throw missing(
      `apt-get could not install clickhouse-server (${reason ?? 'no output'}); install it by hand and retry`,
    );
  }
}
