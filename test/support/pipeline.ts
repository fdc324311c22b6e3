/**
 * Runs Tollgate services as child processes against a test context's topics and database: the
 * same entry points `tollgate up` starts, so end-to-end tests exercise what production runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@tollgate/core';
import { repoRoot, type TestContext } from './index.ts';

export type ServiceName = 'pricer' | 'sink' | 'detector' | 'api' | 'ingest';

export interface RunningService {
  name: ServiceName;
  port: number;
  child: ChildProcess;
  logFile: string;
}

export interface Pipeline {
  services: Map<ServiceName, RunningService>;
  /** The last lines of every service's log, for a failing test's message. */
  logs(lines?: number): string;
  /** SIGKILLs one service (crash), leaving the others running. */
  kill(name: ServiceName): Promise<void>;
  /** Starts a service again (after kill). */
  restart(name: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `PIPELINE_NODE_FLAGS`: Node flags after {@link SERVICE_NODE_FLAGS} for every service this starts,
 * space-separated (a later V8 flag wins): `PIPELINE_NODE_FLAGS=--heap-growing-percent=0 npm run bench
 * -- e2e` measures the pipeline without that default, `--trace-gc` prints each collection in the logs.
 */
function extraNodeFlags(): string[] {
  return (process.env.PIPELINE_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

export interface StartPipelineOptions {
  services: ServiceName[];
  /** Extra environment for every service (e.g. shorter detector windows). */
  env?: Record<string, string>;
  /** Environment for one service on top of `env` (e.g. its own Kafka user). */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  readyTimeoutMs?: number;
}

export async function startPipeline(ctx: TestContext, options: StartPipelineOptions): Promise<Pipeline> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pipeline-'));
  const services = new Map<ServiceName, RunningService>();
  const baseEnv = {
    ...SERVICE_ENV,
    ...process.env,
    KAFKA_BROKERS: ctx.brokers.join(','),
    CLICKHOUSE_URL: ctx.clickhouseUrl,
    CLICKHOUSE_DATABASE: ctx.database,
    TOPIC_PREFIX: ctx.topicPrefix,
    // Consumer groups (and the transactional ids derived from them) of this test only: a group shared
    // with another pipeline on the same broker would split its partitions with that pipeline.
    PRICER_GROUP_ID: `${ctx.topicPrefix}pricer`,
    SINK_GROUP_ID: `${ctx.topicPrefix}sink`,
    DETECTOR_GROUP_ID: `${ctx.topicPrefix}detector`,
    LOG_LEVEL: 'info',
    ...options.env,
  };

  async function launch(name: ServiceName, port: number): Promise<RunningService> {
    const logFile = join(dir, `${name}.log`);
    const out = openSync(logFile, 'a');
    const child = spawn(
      process.execPath,
      [...SERVICE_NODE_FLAGS, ...extraNodeFlags(), join(repoRoot, 'services', name, 'src', 'main.ts')],
      {
        cwd: repoRoot,
        env: { ...baseEnv, ...options.serviceEnv?.[name], HTTP_PORT: String(port) },
        stdio: ['ignore', out, out],
      },
    );
    const service = { name, port, child, logFile };
    services.set(name, service);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    while (!(await ready(port))) {
      if (child.exitCode !== null)
        throw new Error(`${name} exited with ${child.exitCode}:\n${tail(logFile, 30)}`);
      if (Date.now() > deadline) throw new Error(`${name} not ready in time:\n${tail(logFile, 30)}`);
      await sleep(200);
    }
    return service;
  }

  async function exited(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  }

  for (const name of options.services) await launch(name, await freePort());

  return {
    services,
    logs: (lines = 40) =>
      [...services.values()].map((s) => `--- ${s.name} (${s.logFile})\n${tail(s.logFile, lines)}`).join('\n'),
    async kill(name) {
      const service = services.get(name);
      if (!service) return;
      service.child.kill('SIGKILL');
      await exited(service.child);
    },
    async restart(name) {
      const service = services.get(name);
      await launch(name, service?.port ?? (await freePort()));
    },
    async stop() {
      // Reverse start order, as `tollgate down` does; SIGTERM lets each flush and commit.
      for (const service of [...services.values()].reverse()) {
        if (service.child.exitCode === null && service.child.signalCode === null) {
          service.child.kill('SIGTERM');
          const timer = setTimeout(() => service.child.kill('SIGKILL'), 15_000);
          await exited(service.child);
          clearTimeout(timer);
        }
      }
    },
  };
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls until `check` returns true; fails with `describe()` after the timeout. */
export async function eventually(
  check: () => Promise<boolean>,
  {
    timeoutMs = 60_000,
    intervalMs = 500,
    describe = () => 'condition not met',
  }: { timeoutMs?: number; intervalMs?: number; describe?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(intervalMs);
  }
}
