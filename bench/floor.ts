/**
 * The pipeline's Kafka traffic alone: how many events/s this machine carries through the pipeline's
 * topics and hops when pricing, storing and detecting cost nothing. Same payloads, same hops, kafkajs
 * with the services' settings, each stage in a process of its own (bench/_floor-stage.ts):
 *   this process  produces FLOOR_EVENTS model calls, already encoded (no Avro work), to the usage topic
 *   relay         the pricer's hop: per batch of a partition one transaction holding a priced event per
 *                 usage event (the real encoding of the same call, priced by the default rate card)
 *                 and the batch's offsets
 *   reader × 2    the sink's and the detector's reads of the priced topic (read committed)
 * Then ClickHouse's part: the same events' line items, as the sink writes them (its TSV and its
 * writer, inserts of SINK_MAX_BATCH_ROWS' 50,000 rows, the rollup views filling), into a fresh
 * database, with the server's CPU counted until its merges are done.
 * Left out: the detector's own transactions and internal topics, the SDK's and the services' work on
 * each event. So the figures bound `npm run bench -- e2e` on the same machine from above; they are not a
 * pipeline. Prints progress, then one JSON line:
 *   kafka_events_per_s        the Kafka phase, produced until read by both readers
 *   cpu_us_per_event          per process (kafka_jit: the part of the broker's its JIT compilers took;
 *                             clickhouse: the server during the insert phase)
 *   cpu_us_per_event_total    all of it, kafka_jit included
 *   bound_events_per_s        what the machine's cores could carry at that CPU per event
 * FLOOR_EVENTS (default 200000); a warm-up of FLOOR_WARMUP_EVENTS (default 50000) goes through the Kafka
 * phase first, unmeasured.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  createPricedCodec,
  createUsageCodec,
  keyPartitioner,
  loadRateCardFile,
  price,
  SERVICE_ENV,
  SERVICE_NODE_FLAGS,
} from '@tollgate/core';
import { exampleModelCall } from '@tollgate/core/contract/examples';
import type { PricedEvent } from '@tollgate/core/contract/types';
import { DEFAULT_RATE_CARD_FILE } from '@tollgate/pricer/config';
import { createSinkWriter } from '@tollgate/sink';
import { dateTime, lineItemTsv } from '@tollgate/sink/tsv';
import { createTestContext, repoRoot } from '@tollgate/test/support';
import { cpuMeter, cpuSeconds, findPid, waitForQuiet } from './_proc.ts';

const EVENTS = Number(process.env.FLOOR_EVENTS ?? 200_000);
const WARMUP_EVENTS = Number(process.env.FLOOR_WARMUP_EVENTS ?? 50_000);
const INSERT_ROWS = 50_000;
/** How long a stage may take to join its group or to read what was produced. */
const STAGE_TIMEOUT_MS = 300_000;
const log = (line: string) => process.stderr.write(`floor: ${line}\n`);

// The payloads: a model call with bench/e2e.ts's token counts (four line items) as the SDK encodes it,
// and its priced event as the pricer encodes it.
const call = exampleModelCall();
call.model_call = {
  ...call.model_call!,
  input_tokens: 12_000,
  cache_read_tokens: 6_000,
  cache_write_5m_tokens: 500,
  cache_write_1h_tokens: 0,
  output_tokens: 700,
  reasoning_tokens: 0,
};
const priced = price(call, await loadRateCardFile(DEFAULT_RATE_CARD_FILE));
if (!priced.ok) throw new Error(`the example model call does not price: ${priced.reason}`);
const pricedEvent: PricedEvent = { usage: call, ...priced.value, priced_at: Date.now(), adjustment_of: null };
const usagePayload = createUsageCodec().encode(call);
const pricedPayload = createPricedCodec().encode(pricedEvent);

interface Stage {
  name: string;
  child: ChildProcess;
  /** Resolves at the child's next line equal to `line`; rejects if it exits or takes over `STAGE_TIMEOUT_MS`. */
  next(line: 'ready' | 'done'): Promise<void>;
}

function startStage(name: string, role: 'relay' | 'reader', env: Record<string, string>): Stage {
  const child = spawn(
    process.execPath,
    [...SERVICE_NODE_FLAGS, join(repoRoot, 'bench', '_floor-stage.ts'), role],
    { cwd: repoRoot, env: { ...SERVICE_ENV, ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const waiting: { line: string; resolve: () => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const index = waiting.findIndex((w) => w.line === line);
    if (index >= 0) waiting.splice(index, 1)[0]!.resolve();
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`))),
  );
  exited.catch(() => {});
  return {
    name,
    child,
    next(line) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${name}: no "${line}" after ${STAGE_TIMEOUT_MS / 1000} s`)),
          STAGE_TIMEOUT_MS,
        );
      });
      const seen = new Promise<void>((resolve) => waiting.push({ line, resolve }));
      return Promise.race([seen, exited, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

const ctx = await createTestContext({ partitions: 6 });
await ctx.createTopics();
const stages: Stage[] = [];
const producer = ctx.kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: keyPartitioner,
});
try {
  const marks = WARMUP_EVENTS > 0 ? [WARMUP_EVENTS, WARMUP_EVENTS + EVENTS] : [EVENTS];
  const common = { KAFKA_BROKERS: ctx.brokers.join(','), FLOOR_MARKS: marks.join(',') };
  stages.push(
    startStage('relay', 'relay', {
      ...common,
      FLOOR_FROM: ctx.topics.usage,
      FLOOR_TO: ctx.topics.priced,
      FLOOR_GROUP_ID: `${ctx.topicPrefix}relay`,
      FLOOR_PAYLOAD: pricedPayload.toString('base64'),
    }),
    startStage('sink_reader', 'reader', {
      ...common,
      FLOOR_FROM: ctx.topics.priced,
      FLOOR_GROUP_ID: `${ctx.topicPrefix}sink`,
    }),
    startStage('detector_reader', 'reader', {
      ...common,
      FLOOR_FROM: ctx.topics.priced,
      FLOOR_GROUP_ID: `${ctx.topicPrefix}detector`,
    }),
  );
  await Promise.all(stages.map((stage) => stage.next('ready')));
  await producer.connect();
  /** Resolves once every stage has handled everything produced so far. */
  const allDone = () => Promise.all(stages.map((stage) => stage.next('done')));

  /** `count` usage events, 100 per run key, 5,000 a request: the transport phase of bench/e2e.ts. */
  let sentEvents = 0;
  const produce = async (count: number) => {
    for (let i = 0; i < count; i += 5_000) {
      const messages = Array.from({ length: Math.min(5_000, count - i) }, (_, j) => ({
        key: `run-${Math.floor((sentEvents + j) / 100)}`,
        value: usagePayload,
      }));
      await producer.send({ topic: ctx.topics.usage, acks: -1, messages });
      sentEvents += messages.length;
    }
  };

  if (WARMUP_EVENTS > 0) {
    log(`warm-up: ${WARMUP_EVENTS.toLocaleString('en-US')} events`);
    const warmedUp = allDone();
    await produce(WARMUP_EVENTS);
    await warmedUp;
  }
  log(
    `kafka: ${EVENTS.toLocaleString('en-US')} events: usage ${usagePayload.length} bytes, priced ${pricedPayload.length} bytes (${pricedEvent.line_items.length} line items)`,
  );
  const cpu = cpuMeter({
    ...Object.fromEntries(stages.map((stage) => [stage.name, stage.child.pid])),
    kafka: findPid('kafka.Kafka'),
  });
  const done = allDone();
  done.catch(() => {});
  const started = performance.now();
  await produce(EVENTS);
  const producedMs = performance.now() - started;
  await done;
  const elapsedMs = performance.now() - started;
  const { sdk: producerUs, ...others } = cpu.perEvent(EVENTS);
  const kafkaEventsPerS = Math.round((EVENTS * 1000) / elapsedMs);
  log(
    `kafka: produced in ${(producedMs / 1000).toFixed(1)} s, read by both readers after ${(elapsedMs / 1000).toFixed(1)} s: ${kafkaEventsPerS} events/s`,
  );
  for (const stage of stages) stage.child.kill('SIGTERM');

  // ClickHouse: the line items of EVENTS such events (each its own event id, 100 a run), as the sink's
  // TSV, built before the clock starts.
  const ch = await ctx.clickhouse();
  const writer = createSinkWriter({ clickhouse: ch });
  const insertedAt = dateTime(Date.now());
  const eventsPerInsert = Math.floor(INSERT_ROWS / pricedEvent.line_items.length);
  const bodies: string[][] = [];
  for (let i = 0; i < EVENTS; i++) {
    if (i % eventsPerInsert === 0) bodies.push([]);
    pricedEvent.usage.event_id = `floor-${i}`;
    pricedEvent.usage.run_id = `run-${Math.floor(i / 100)}`;
    const source = { topic: ctx.topics.priced, partition: i % 6, offset: String(i) };
    bodies.at(-1)!.push(lineItemTsv(pricedEvent, source, insertedAt));
  }
  const clickhousePid = findPid('clickhouse-server');
  await waitForQuiet([clickhousePid], 30_000);
  const clickhouseBefore = cpuSeconds(clickhousePid);
  const insertsStarted = performance.now();
  for (const body of bodies)
    await writer.insert('line_items', { tsv: body }, writer.newQueryId('line_items'));
  const insertMs = performance.now() - insertsStarted;
  // Merges of the parts just written are part of what an insert costs the server.
  const mergesMs = await waitForQuiet([clickhousePid], 120_000);
  const clickhouseAfter = cpuSeconds(clickhousePid);
  const [stored] = await ch.rows<{ lines: string }>('SELECT count() AS lines FROM line_items');
  const expectedLines = EVENTS * pricedEvent.line_items.length;
  if (Number(stored?.lines) !== expectedLines)
    throw new Error(`clickhouse: ${stored?.lines} line items stored, ${expectedLines} inserted`);
  const clickhouseUs =
    clickhouseBefore === null || clickhouseAfter === null
      ? null
      : Number((((clickhouseAfter - clickhouseBefore) * 1e6) / EVENTS).toFixed(1));
  log(
    `clickhouse: ${expectedLines.toLocaleString('en-US')} line items in ${bodies.length} inserts, ${(insertMs / 1000).toFixed(1)} s, then ${(mergesMs / 1000).toFixed(1)} s until idle`,
  );

  const cpuUsPerEvent = { producer: producerUs, ...others, clickhouse: clickhouseUs };
  const total = Object.entries(cpuUsPerEvent)
    .filter(([name]) => name !== 'kafka_jit')
    .reduce((sum, [, us]) => sum + (us ?? 0), 0);
  const cores = availableParallelism();
  log(`CPU µs per event ${JSON.stringify(cpuUsPerEvent)}, ${total.toFixed(1)} in all`);
  const result = {
    events: EVENTS,
    line_items_per_event: pricedEvent.line_items.length,
    usage_bytes: usagePayload.length,
    priced_bytes: pricedPayload.length,
    kafka_events_per_s: kafkaEventsPerS,
    cpu_us_per_event: cpuUsPerEvent,
    cpu_us_per_event_total: Number(total.toFixed(1)),
    cores,
    bound_events_per_s: Math.round((cores * 1e6) / total),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await producer.disconnect().catch(() => {});
  for (const stage of stages) stage.child.kill('SIGTERM');
  await ctx.cleanup();
}
