/**
 * `npm run bench -- restore`: how long a detector takes to get its run state back from the changelog
 * after a crash or a rebalance, and the memory that costs.
 *
 * The runs changelog of a detector that has seen ten minutes of the soak's rate of run starts (185 a
 * second, so ~110,000 runs, 99% of them ended and held for their end grace): the synthetic fleet's runs
 * played through the run rules, one record per run (a fully compacted changelog; a live one also holds
 * older records of the same runs until compaction catches up), spread over RESTORE_PARTITIONS
 * partitions. Then a fresh process restores every partition at once, as a detector assigned all of
 * them does on its first batches (the changelog read with `readTopic`, each record given to the run
 * task's `restore`), and reports:
 *   records, runs_held            changelog records read, runs held once restored
 *   restore_s                     from the first read to every partition caught up
 *   rss_mb                        before restoring, at the peak (VmHWM), after, and the live heap
 *                                 after a collection
 * Environment: RESTORE_RUNS (110,000), RESTORE_PARTITIONS (6), RESTORE_SEED (7). Prints progress, then
 * one JSON line.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createAlertCodec,
  createDeadLetterCodec,
  createKafka,
  createPolicyIndex,
  createRegistry,
  type Message,
  SERVICE_ENV,
  SERVICE_NODE_FLAGS,
  silentLogger,
} from '@tollgate/core';
import { readTopic } from '@tollgate/core/read-topic';
import { createFleet } from '@tollgate/detector/fleet/generator';
import { priceUsage } from '@tollgate/detector/fleet/pricing';
import { createDetectorMetrics } from '@tollgate/detector/metrics';
import { createPricedViewDecoder } from '@tollgate/detector/priced-view';
import { applyRunEvent } from '@tollgate/detector/runs/rules';
import { createRunTask } from '@tollgate/detector/runs/stage';
import { newRunState, type RunState, runKey } from '@tollgate/detector/runs/state';
import { createTestContext } from '@tollgate/test/support';

const log = (line: string) => process.stderr.write(`restore: ${line}\n`);
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

if (process.argv[2] === 'child') await restoreAll();
else await main();

async function main(): Promise<void> {
  const runs = Number(process.env.RESTORE_RUNS ?? 110_000);
  const partitions = Number(process.env.RESTORE_PARTITIONS ?? 6);
  const seed = Number(process.env.RESTORE_SEED ?? 7);
  const ctx = await createTestContext({ partitions });
  try {
    await ctx.createTopics();
    const topic = ctx.topics.runsChangelog;
    log(`playing ${runs.toLocaleString('en-US')} runs of the synthetic fleet through the run rules`);
    const states = playFleet(runs, seed);
    const producer = ctx.kafka.producer();
    await producer.connect();
    let sent = 0;
    let batch: Message[] = [];
    const flush = async () => {
      await producer.send({ topic, messages: batch });
      sent += batch.length;
      batch = [];
    };
    let n = 0;
    for (const [key, state] of states) {
      batch.push({ key: `r:${key}`, value: JSON.stringify(state), partition: n++ % partitions });
      if (batch.length === 5_000) await flush();
    }
    await flush();
    const streamTime = Math.max(...[...states.values()].map((s) => s.last));
    await producer.send({
      topic,
      messages: Array.from({ length: partitions }, (_, partition) => ({
        key: 'meta',
        value: JSON.stringify({ streamTime, tickedTime: streamTime }),
        partition,
      })),
    });
    await producer.disconnect();
    log(`${sent.toLocaleString('en-US')} changelog records on ${partitions} partitions of ${topic}`);
    states.clear();

    const child = spawn(
      process.execPath,
      [...SERVICE_NODE_FLAGS, '--expose-gc', fileURLToPath(import.meta.url), 'child'],
      {
        env: {
          ...SERVICE_ENV,
          ...process.env,
          RESTORE_BROKERS: ctx.brokers.join(','),
          RESTORE_TOPIC: topic,
          RESTORE_PARTITIONS: String(partitions),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`the restoring process exited with ${code}`);
    const figures = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown>;
    process.stdout.write(`${JSON.stringify({ runs, partitions, records: sent, ...figures })}\n`);
  } finally {
    await ctx.cleanup();
  }
}

/** The final state of `count` runs of the synthetic fleet at the soak's rate of run starts. */
function playFleet(count: number, seed: number): Map<string, RunState> {
  const runsPerMinute = 185 * 60;
  const fleet = createFleet({
    start: Date.UTC(2026, 11, 7, 9),
    durationMs: Math.ceil((count / runsPerMinute) * 60_000),
    runsPerMinute,
    seed,
    anomalyTypes: [],
  });
  const thresholds = createPolicyIndex().runThresholds({ org_id: 'any', feature: null, customer_id: null });
  const states = new Map<string, RunState>();
  for (const usage of fleet.events()) {
    const key = runKey(usage.org_id, usage.run_id);
    let state = states.get(key);
    if (state === undefined) {
      if (states.size === count) continue;
      const event = priceUsage(usage);
      state = newRunState(event);
      states.set(key, state);
      applyRunEvent(state, event, { thresholds, now: 0 });
    } else applyRunEvent(state, priceUsage(usage), { thresholds, now: 0 });
  }
  return states;
}

/** In a process of its own: every partition's run task restored at once, as a detector does. */
async function restoreAll(): Promise<void> {
  const topic = process.env.RESTORE_TOPIC!;
  const partitions = Number(process.env.RESTORE_PARTITIONS);
  const kafka = createKafka({
    brokers: process.env.RESTORE_BROKERS!.split(','),
    clientId: 'bench-restore',
    logger: silentLogger(),
  });
  const registry = createRegistry('bench');
  const metrics = createDetectorMetrics(registry);
  const settings = {
    windowMs: 300_000,
    allowedLatenessMs: 60_000,
    endGraceMs: 600_000,
    inactivityMs: 7_200_000,
  };
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  let records = 0;
  // Held to the end, as a detector holds its tasks: the live heap after restoring is their state.
  const tasks = await Promise.all(
    Array.from({ length: partitions }, async (_, partition) => {
      const task = createRunTask({
        partition,
        topics: { alerts: 'a', featureRepartition: 'f', budgetRepartition: 'b', deadLetters: 'd' },
        featurePartitions: partitions,
        policies: createPolicyIndex(),
        pricedView: createPricedViewDecoder(),
        alertCodec: createAlertCodec(),
        deadLetterCodec: createDeadLetterCodec(),
        settings,
        metrics,
        logger: silentLogger(),
      });
      const reader = await readTopic({
        kafka,
        topic,
        partitions: [partition],
        groupIdPrefix: 'bench-restore',
        follow: false,
        caughtUpTimeoutMs: 600_000,
        logger: silentLogger(),
        onMessage(_partition, key, value) {
          records++;
          task.restore(key?.toString('utf8') ?? '', value === null ? null : value.toString('utf8'));
        },
      });
      await reader.caughtUp;
      task.restored();
      return task;
    }),
  );
  const restoreS = (performance.now() - started) / 1000;
  const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
  globalThis.gc?.();
  globalThis.gc?.();
  let held = 0;
  for (const value of (await registry.getSingleMetric('tollgate_detector_state_entries')?.get())?.values ??
    [])
    held += value.value;
  const memory = process.memoryUsage();
  for (const task of tasks) task.close();
  log(
    `${records.toLocaleString('en-US')} records restored in ${restoreS.toFixed(1)} s: ${held.toLocaleString('en-US')} runs held, ` +
      `RSS ${mib(rssBefore)} MiB before, ${mib(peak)} at the peak, ${mib(memory.rss)} after; live heap ${mib(memory.heapUsed)} MiB`,
  );
  process.stdout.write(
    `${JSON.stringify({
      records_read: records,
      runs_held: held,
      restore_s: Number(restoreS.toFixed(2)),
      rss_mb: { before: mib(rssBefore), peak: mib(peak), after: mib(memory.rss) },
      live_heap_mb: mib(memory.heapUsed),
    })}\n`,
  );
}
