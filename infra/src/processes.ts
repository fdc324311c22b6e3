/**
 * Background processes started by `tollgate`, tracked by pid files. A pid file is trusted only while
 * the process it names is alive *and* its command line still carries our marker (a path under the
 * state folder), so a recycled pid never makes us think a server is up, or kill a stranger.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TollgateError } from '@tollgate/core';

export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** The pid of our running process for this pid file, or undefined (a stale pid file is removed). */
export function runningPid(pidFile: string, marker: string): number | undefined {
  const pid = readPid(pidFile);
  if (pid === undefined) return undefined;
  const cmd = commandLine(pid);
  if (cmd?.includes(marker)) return pid;
  rmSync(pidFile, { force: true });
  return undefined;
}

export interface SpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts a detached process whose output goes to `logFile`, and records its pid. */
export function spawnDetached({ command, args, cwd, logFile, pidFile, env }: SpawnOptions): number {
  mkdirSync(dirname(logFile), { recursive: true });
  mkdirSync(dirname(pidFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd,
    detached: true,
    stdio: ['ignore', out, out],
    env: env ?? process.env,
  });
  if (child.pid === undefined) {
    throw new TollgateError(`could not start ${command}; see ${logFile}`, { code: 'TG_INFRA_SPAWN' });
  }
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid;
}

/**
 * Whether the process runs. A zombie (exited, not yet reaped: our own detached child while this
 * process still lives, as in tests) counts as gone.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !isZombie(pid);
}

/** SIGTERM, wait up to `timeoutMs`, then SIGKILL. Resolves once the process is gone. */
export async function stopProcess(pid: number, timeoutMs: number): Promise<'stopped' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'stopped';
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function requirePortFree(port: number, what: string, variable: string): Promise<void> {
  if (!(await portFree(port))) {
    throw new TollgateError(
      `port ${port} (${what}) is taken by another process: free it, or set ${variable} to another port`,
      {
        code: 'TG_INFRA_PORT',
      },
    );
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(intervalMs);
  }
  return false;
}

/** The last line a failed command printed (stderr, then stdout): its reason, for a one-line error. */
export function lastOutputLine(result: { stderr: string; stdout: string }): string | undefined {
  return `${result.stderr}${result.stdout}`.trim().split('\n').slice(-1)[0];
}
