/**
 * Soak: the simulator's normal fleet (runs with model calls on the default card's models, tool calls,
 * subagent trees, sandboxes, retrieval, outcomes) at a steady rate through pricer, sink and detector
 * for minutes, to see whether anything grows with time: each service's memory and CPU per minute, and
 * at the end whether ClickHouse holds every event exactly once. Prints a line per minute, then one
 * JSON line:
 *   events, events_per_s        what the simulator sent, and its rate over the whole soak
 *   visible_after_end_s         from the last event sent to every event visible
 *   stored_events               distinct events in line_items for the soak's orgs (= events with lines)
 *   rss_mb / live_heap_mb       per service: the second and the last minute of sending, and the
 *                               highest RSS of the whole soak (the drain included); live heap is the
 *                               lowest heap_used seen in the minute (after collections)
 *   rss_growth_mb_per_min       per service: least-squares slope of the per-minute RSS peaks after the
 *                               first minute (a leak shows as a steady positive slope)
 *   cpu_us_per_event            per process over the whole soak (services, Kafka broker, ClickHouse)
 *   detector_restart            then the detector is killed (SIGKILL) and started again, and a few
 *                               seconds more of the fleet sent (a task restores on its partition's
 *                               first batch): seconds from the kill until every run task has
 *                               restored, changelog records read, runs held again, and RSS and live
 *                               heap after 30 s more of the fleet (SOAK_RESTART=0 skips it)
 * Sizes: SOAK_SECONDS (default 600), SOAK_RATE events/s (default 2000), SOAK_SEED. It measures; it
 * does not assert, except that nothing was lost or counted twice (it exits 1 if so).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { costlyEvents, simulate } from '@tollgate/cli/simulate/index';
import { loadRateCardFile } from '@tollgate/core';
import { DEFAULT_RATE_CARD_FILE } from '@tollgate/pricer/config';
import { createTestContext, uniqueId } from '@tollgate/test/support';
import { startPipeline } from '@tollgate/test/support/pipeline';
import { memoryGauges, sampleMemory, scrape } from './_metrics.ts';
import { cpuMeter, findPid } from './_proc.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const RATE = Number(process.env.SOAK_RATE ?? 2_000);
const SEED = Number(process.env.SOAK_SEED ?? 7);
const RESTART = process.env.SOAK_RESTART !== '0';
const PARTITIONS = 6;
/** Traffic after the restart; restoring took seconds, not this long. */
const RESTART_TRAFFIC_SECONDS = 30;
const log = (line: string) => process.stderr.write(`soak: ${line}\n`);

/** Per service and minute: the highest RSS and the lowest heap_used sampled in it. */
const minutes = new Map<string, { rss: number; liveHeap: number }[]>();
let started = 0;
let sending = false;
const recordSample = (name: string, gauges: Record<string, number>) => {
  if (!sending || gauges.rss === undefined || gauges.heap_used === undefined) return;
  const minute = Math.floor((Date.now() - started) / 60_000);
  const series = minutes.get(name) ?? [];
  minutes.set(name, series);
  const slot = series[minute] ?? { rss: 0, liveHeap: Number.POSITIVE_INFINITY };
  series[minute] = slot;
  slot.rss = Math.max(slot.rss, gauges.rss);
  slot.liveHeap = Math.min(slot.liveHeap, gauges.heap_used);
};

/** Least-squares slope of y over its index, from index 1 on (the first minute is start-up). */
function slope(values: number[]): number | null {
  const points = values.map((y, x) => ({ x, y })).filter(({ x, y }) => x >= 1 && Number.isFinite(y));
  if (points.length < 3) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return Number((num / den).toFixed(2));
}

const ctx = await createTestContext({ partitions: PARTITIONS });
await ctx.createTopics();
const ch = await ctx.clickhouse();
log('starting pricer, sink and detector');
const pipeline = await startPipeline(ctx, {
  services: ['pricer', 'sink', 'detector'],
  env: { LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'warn' },
});
const ports = new Map([...pipeline.services.values()].map((s) => [s.name, s.port]));
const pids: Record<string, number | undefined> = {
  ...Object.fromEntries([...pipeline.services.values()].map((s) => [s.name, s.child.pid])),
  kafka: findPid('kafka.Kafka'),
  clickhouse: findPid('clickhouse-server'),
};

/** The detector's figures for one stage, summed over its tasks. */
async function detectorStage(port: number, stage: string) {
  const figures = { restoredTasks: 0, restoreRecords: 0, restoreSeconds: 0, entries: 0 };
  for (const { name, labels, value } of await scrape(port)) {
    if (!labels.includes(`stage="${stage}"`)) continue;
    if (name === 'tollgate_detector_restore_seconds_count') figures.restoredTasks += value;
    else if (name === 'tollgate_detector_restore_seconds_sum') figures.restoreSeconds += value;
    else if (name === 'tollgate_detector_restore_records_total') figures.restoreRecords += value;
    else if (name === 'tollgate_detector_state_entries') figures.entries += value;
  }
  return figures;
}

/**
 * A crash of the detector holding the soak's runs, and its restart: how long a platform team waits
 * for it to be whole again. Its tasks restore on their partitions' first batches, so the fleet keeps
 * sending meanwhile.
 */
async function restartDetector(orgs: string[]) {
  const port = ports.get('detector')!;
  const before = await detectorStage(port, 'runs');
  await pipeline.kill('detector');
  const killedAt = Date.now();
  await pipeline.restart('detector');
  const readyS = (Date.now() - killedAt) / 1000;
  log(
    `detector killed with ${before.entries.toLocaleString('en-US')} runs held; ready again after ${readyS} s`,
  );
  const sending = simulate({
    brokers: ctx.brokers,
    topic: ctx.topics.usage,
    preset: 'normal',
    runs: 50,
    seed: SEED + 1,
    orgs,
    features: ['support-bot', 'code-review'],
    ratePerSecond: RATE,
    durationSeconds: RESTART_TRAFFIC_SECONDS,
    card: await loadRateCardFile(DEFAULT_RATE_CARD_FILE),
  });
  let runs = await detectorStage(port, 'runs');
  for (const deadline = Date.now() + 120_000; runs.restoredTasks < PARTITIONS && Date.now() < deadline; ) {
    await sleep(200);
    runs = await detectorStage(port, 'runs');
  }
  const restoredS = (Date.now() - killedAt) / 1000;
  await sending;
  const memory = await memoryGauges(port);
  log(
    `every run task restored ${restoredS} s after the kill: ${runs.restoreRecords.toLocaleString('en-US')} ` +
      `changelog records in ${runs.restoreSeconds.toFixed(1)} s of restoring, ${runs.entries.toLocaleString('en-US')} runs held; ` +
      `RSS/live heap ${memory.rss}/${memory.heap_used} MiB`,
  );
  return {
    runs_held_before: before.entries,
    ready_s: readyS,
    restored_s: runs.restoredTasks >= PARTITIONS ? restoredS : null,
    restore_records: runs.restoreRecords,
    restoring_s: Number(runs.restoreSeconds.toFixed(2)),
    runs_held_after: runs.entries,
    rss_mb: memory.rss ?? null,
    heap_used_mb: memory.heap_used ?? null,
  };
}

try {
  const id = uniqueId();
  const orgs = ['a', 'b', 'c'].map((suffix) => `soak-${id}-${suffix}`);
  const memory = sampleMemory(ports, { intervalMs: 2_000, onSample: recordSample });
  const cpu = cpuMeter(pids);
  started = Date.now();
  sending = true;
  let lastMinute = 0;
  log(
    `${RATE.toLocaleString('en-US')} events/s of the normal fleet for ${SECONDS} s (orgs ${orgs.join(', ')})`,
  );
  const result = await simulate({
    brokers: ctx.brokers,
    topic: ctx.topics.usage,
    preset: 'normal',
    runs: 50,
    seed: SEED,
    orgs,
    features: ['support-bot', 'code-review', 'search-assist', 'research'],
    ratePerSecond: RATE,
    durationSeconds: SECONDS,
    card: await loadRateCardFile(DEFAULT_RATE_CARD_FILE),
    progress: ({ events }) => {
      const minute = Math.floor((Date.now() - started) / 60_000);
      if (minute === lastMinute) return;
      const done = minute - 1;
      const figures = [...minutes].map(([name, series]) => {
        const slot = series[done];
        return slot ? `${name} ${slot.rss}/${slot.liveHeap}` : `${name} -`;
      });
      log(
        `minute ${done + 1}: ${events.toLocaleString('en-US')} events sent; RSS/live heap MiB: ${figures.join(', ')}`,
      );
      lastMinute = minute;
    },
  });
  const sentAt = Date.now();
  sending = false;
  const expected = costlyEvents(result.ledgers);
  const orgList = orgs.map((org) => `'${org}'`).join(',');
  let stored = { events: 0, firsts: 0 };
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(500)) {
    const [row] = await ch.rows<{ events: string; firsts: string }>(
      `SELECT uniqExact(event_id) AS events, countIf(line_no = 0) AS firsts FROM line_items WHERE org_id IN (${orgList})`,
    );
    stored = { events: Number(row?.events), firsts: Number(row?.firsts) };
    if (stored.firsts >= expected) break;
  }
  const visibleAfterS = Number(((Date.now() - sentAt) / 1000).toFixed(1));
  const cpuUsPerEvent = cpu.perEvent(result.events);
  const peaks = await memory.stop();
  log(
    `${result.events.toLocaleString('en-US')} events sent in ${(result.elapsedMs / 1000).toFixed(0)} s; ` +
      `${stored.events.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} costly events stored ` +
      `(${stored.firsts.toLocaleString('en-US')} first lines) ${visibleAfterS} s after the last was sent`,
  );
  const per = <T>(f: (series: { rss: number; liveHeap: number }[], name: string) => T) =>
    Object.fromEntries([...minutes].map(([name, series]) => [name, f(series, name)]));
  const summary = {
    seconds: SECONDS,
    rate: RATE,
    events: result.events,
    events_per_s: Math.round((result.events * 1000) / result.elapsedMs),
    runs: result.ledgers.length,
    expected_events: expected,
    stored_events: stored.events,
    visible_after_end_s: visibleAfterS,
    rss_mb: per((s, name) => ({
      minute_2: s[1]?.rss ?? null,
      last_minute: s.at(-1)?.rss ?? null,
      peak: peaks[name]?.rss ?? null,
    })),
    live_heap_mb: per((s) => ({ minute_2: s[1]?.liveHeap ?? null, last_minute: s.at(-1)?.liveHeap ?? null })),
    rss_growth_mb_per_min: per((s) => slope(s.map((m) => m?.rss ?? Number.NaN))),
    cpu_us_per_event: cpuUsPerEvent,
    detector_restart: RESTART ? await restartDetector(orgs) : null,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (stored.events !== expected || stored.firsts !== expected) {
    log(
      `lost or counted twice: expected ${expected} events, stored ${stored.events} (${stored.firsts} first lines)`,
    );
    process.exitCode = 1;
  }
} finally {
  await pipeline.stop();
  await ctx.cleanup();
}
