/**
 * What the benchmarks read about processes from /proc: CPU time (per process and per thread), peak RSS,
 * a pid by command line. Linux only; a process that cannot be read gives null (or nothing).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function peakRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used so far (from /proc), or null when it is not readable. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] and [12] are utime and stime (the 14th and 15th of the whole line), in clock ticks
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * User + system CPU seconds so far of each thread of `pid` whose name (`comm`) matches `name`, by thread
 * id; empty when the process is not readable.
 */
export function threadCpuSeconds(pid: number | undefined, name: RegExp): Map<string, number> {
  const seconds = new Map<string, number>();
  if (pid === undefined) return seconds;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return seconds;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!name.test(comm)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seconds.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {} // the thread ended between the listing and the read
  }
  return seconds;
}

/**
 * The JVM's JIT compiler threads ("C1 CompilerThre", "C2 CompilerThre"): while a broker is young they
 * use a large share of its CPU, which a long-running production broker no longer pays.
 */
export const JIT_THREADS = /^C[12] CompilerThre/;

/** CPU seconds the threads in `after` used since `before` (a thread absent before counts whole). */
export function threadDelta(before: Map<string, number>, after: Map<string, number>): number {
  let sum = 0;
  for (const [tid, seconds] of after) sum += seconds - (before.get(tid) ?? 0);
  return sum;
}

/**
 * CPU time per event of this process (the SDK) and of `pids`, from now until `perEvent` is called; for
 * `kafka`, also `kafka_jit`: the part of it the broker's JIT compiler threads used (compiler threads that
 * ended in between are not counted, so it is a lower bound).
 */
export function cpuMeter(pids: Record<string, number | undefined>) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const jitBefore = threadCpuSeconds(pids.kafka, JIT_THREADS);
  const sdkBefore = process.cpuUsage();
  const perEventUs = (seconds: number, events: number) => Number(((seconds * 1e6) / events).toFixed(1));
  return {
    perEvent(events: number): Record<string, number | null> {
      const sdk = process.cpuUsage(sdkBefore);
      const out: Record<string, number | null> = {
        sdk: Number(((sdk.user + sdk.system) / events).toFixed(1)),
      };
      for (const [name, pid] of Object.entries(pids)) {
        const start = before[name];
        const end = cpuSeconds(pid);
        out[name] = start == null || end == null ? null : perEventUs(end - start, events);
      }
      if (out.kafka != null)
        out.kafka_jit = perEventUs(threadDelta(jitBefore, threadCpuSeconds(pids.kafka, JIT_THREADS)), events);
      return out;
    },
  };
}

/** The pid of a process on this machine whose command line contains `marker`, if any. */
export function findPid(marker: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) return Number(entry);
    } catch {}
  }
  return undefined;
}

/**
 * Waits until none of `pids` uses more than 5 % of a core over half a second; returns how long it took
 * (at most `timeoutMs`).
 */
export async function waitForQuiet(pids: (number | undefined)[], timeoutMs: number): Promise<number> {
  const started = performance.now();
  const total = () => pids.map(cpuSeconds);
  let before = total();
  while (performance.now() - started < timeoutMs) {
    await sleep(500);
    const now = total();
    const busy = now.some((after, i) => after !== null && before[i] !== null && after - before[i]! > 0.025);
    if (!busy) break;
    before = now;
  }
  return performance.now() - started;
}
