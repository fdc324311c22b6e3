/**
 * The Tollgate services as background processes of the local stack: each is `node services/<name>/src/main.ts`
 * with its environment, a pid file, a log file, and an ops port whose `/readyz` says when it is up.
 * `tollgate up` starts the ones that are not running; `down` stops exactly those it started.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_ENV, SERVICE_NODE_FLAGS, TollgateError } from '@tollgate/core';
import { requirePortFree, runningPid, spawnDetached, stopProcess, waitFor } from '@tollgate/infra/processes';
import { clickhouseUrl, type InfraSettings, kafkaBrokers } from '@tollgate/infra/settings';

/** Start order: consumers of a topic after its producers' dependencies; the API last. */
export const SERVICE_NAMES = ['pricer', 'sink', 'detector', 'ingest', 'api'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The infrastructure's settings plus the port of each service (its /healthz, /readyz and /metrics). */
export interface StackSettings extends InfraSettings {
  servicePorts: Record<ServiceName, number>;
}

/** The variable that sets a service's port (cli/src/config.ts). */
export function portVariable(name: ServiceName): string {
  return `TOLLGATE_${name.toUpperCase()}_PORT`;
}

interface ServiceSpec {
  name: ServiceName;
  port: number;
}

export interface ServiceStatus {
  name: ServiceName;
  pid: number | undefined;
  port: number;
  ready: boolean;
  log: string;
  entry: string;
}

function entryOf(settings: InfraSettings, name: string): string {
  return join(settings.root, 'services', name, 'src', 'main.ts');
}

function logOf(settings: InfraSettings, name: string): string {
  return join(settings.home, 'logs', name, `${name}.log`);
}

function pidOf(settings: InfraSettings, name: string): string {
  return join(settings.home, 'run', `${name}.pid`);
}

export async function serviceReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** The services whose entry point exists in this checkout (the pipeline grows stage by stage). */
export function availableServices(settings: StackSettings): ServiceSpec[] {
  return SERVICE_NAMES.filter((name) => existsSync(entryOf(settings, name))).map((name) => ({
    name,
    port: settings.servicePorts[name],
  }));
}

/**
 * Starts the services that are not running. Every port is checked before the first is spawned, so a
 * taken port starts none of them.
 */
export async function startServices(
  settings: StackSettings,
  env: Record<string, string>,
): Promise<{ name: string; pid: number; started: boolean; port: number }[]> {
  const results: { name: string; pid: number; started: boolean; port: number }[] = [];
  const toStart: ServiceSpec[] = [];
  for (const spec of availableServices(settings)) {
    const running = runningPid(pidOf(settings, spec.name), entryOf(settings, spec.name));
    if (running === undefined) toStart.push(spec);
    else results.push({ name: spec.name, pid: running, started: false, port: spec.port });
  }
  for (const spec of toStart)
    await requirePortFree(spec.port, `tollgate ${spec.name}`, portVariable(spec.name));
  for (const spec of toStart) {
    const entry = entryOf(settings, spec.name);
    const pidFile = pidOf(settings, spec.name);
    const log = logOf(settings, spec.name);
    settings.progress(`${spec.name}: starting (logs: ${log})`);
    const pid = spawnDetached({
      command: process.execPath,
      args: [...SERVICE_NODE_FLAGS, entry],
      cwd: settings.root,
      logFile: log,
      pidFile,
      env: {
        ...SERVICE_ENV,
        // The local stack's services use the local broker's plaintext listener and ClickHouse's http
        // port, and serve http: KAFKA_SSL*, KAFKA_SASL_*, CLICKHOUSE_*_FILE and HTTP_TLS_* of the
        // caller's shell (meant for another cluster or deployment) are not passed on.
        ...Object.fromEntries(
          Object.entries(process.env).filter(
            ([name]) => !/^KAFKA_(SSL|SASL)|^CLICKHOUSE_(CA|CERT|KEY)_FILE$|^HTTP_TLS_/.test(name),
          ),
        ),
        KAFKA_BROKERS: kafkaBrokers(settings).join(','),
        CLICKHOUSE_URL: clickhouseUrl(settings),
        CLICKHOUSE_DATABASE: settings.clickhouseDatabase,
        TOPIC_PREFIX: settings.topicPrefix ?? '',
        HTTP_PORT: String(spec.port),
        ...env,
      },
    });
    results.push({ name: spec.name, pid, started: true, port: spec.port });
  }
  // Readiness is awaited after all are spawned: they start in parallel.
  for (const result of results.filter((r) => r.started)) {
    const ready = await waitFor(() => serviceReady(result.port), 60_000, 250);
    if (!ready) {
      throw new TollgateError(
        `${result.name} did not become ready within 60 s; see ${logOf(settings, result.name)}`,
        { code: 'TG_STACK_START' },
      );
    }
    settings.progress(`${result.name}: ready on 127.0.0.1:${result.port}`);
  }
  return results;
}

export async function stopServices(settings: InfraSettings): Promise<{ name: string; pid: number }[]> {
  const stopped: { name: string; pid: number }[] = [];
  // Reverse start order: the API first, producers of work last.
  for (const name of [...SERVICE_NAMES].reverse()) {
    const pid = runningPid(pidOf(settings, name), entryOf(settings, name));
    if (pid === undefined) continue;
    settings.progress(`${name}: stopping pid ${pid}`);
    await stopProcess(pid, 15_000);
    stopped.push({ name, pid });
  }
  return stopped;
}

export async function servicesStatus(settings: StackSettings): Promise<ServiceStatus[]> {
  return Promise.all(
    availableServices(settings).map(async (spec) => ({
      name: spec.name,
      pid: runningPid(pidOf(settings, spec.name), entryOf(settings, spec.name)),
      port: spec.port,
      ready: await serviceReady(spec.port),
      log: logOf(settings, spec.name),
      entry: entryOf(settings, spec.name),
    })),
  );
}
