/**
 * Validate + encode cost per usage event (the SDK's and ingest's per-event work), and decode cost, for
 * the typical event: a model call with tags and provider cost. Then the sink's per-event work on its
 * priced event (four line items): decoded into objects and written as TSV (its decoding path), and
 * transcoded from the bytes (services/sink/src/transcode.ts). Prints progress lines, then one JSON
 * object as its last line. Goal on the two-core dev machine: validate + encode ≤ 5 µs/event.
 *   node bench/codec.ts            or   npm run bench -- codec
 */
import { loadavg } from 'node:os';
import {
  createPricedCodec,
  createSlabPool,
  createUsageCodec,
  type SlabBlock,
  validateUsageEvent,
} from '@tollgate/core';
import { exampleModelCall } from '@tollgate/core/contract/examples';
import { checkPricedEvent, runEventRow } from '@tollgate/sink/rows';
import { lineItem, pricedEvent } from '@tollgate/sink/testing';
import { createLineItemTranscoder } from '@tollgate/sink/transcode';
import { lineItemTsv } from '@tollgate/sink/tsv';

const ROUNDS = 5;
const EVENTS_PER_ROUND = 200_000;

const codec = createUsageCodec();
// Distinct objects, as in production (one object per recorded call), cycled so the set stays in cache.
const events = Array.from({ length: 1_024 }, (_, i) => {
  const event = exampleModelCall();
  event.event_id = `evt-${i}`;
  event.model_call!.input_tokens += i;
  return event;
});
const encoded = events.map((event) => codec.encode(event));

/**
 * Best of ROUNDS, in wall-clock and in CPU time per event. On a shared machine the CPU figure is the
 * steadier one: wall time also counts the moments another process held the core.
 */
function measure(label: string, work: (i: number) => number): { wallUs: number; cpuUs: number } {
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += work(i); // warm up: let V8 optimise before timing
  let wallUs = Number.POSITIVE_INFINITY;
  let cpuUs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < EVENTS_PER_ROUND; i++) sink += work(i);
    wallUs = Math.min(wallUs, Number(process.hrtime.bigint() - start) / 1_000 / EVENTS_PER_ROUND);
    const used = process.cpuUsage(cpu);
    cpuUs = Math.min(cpuUs, (used.user + used.system) / EVENTS_PER_ROUND);
  }
  process.stdout.write(
    `${label}: ${wallUs.toFixed(3)} µs/event wall, ${cpuUs.toFixed(3)} µs/event CPU (best of ${ROUNDS} × ${EVENTS_PER_ROUND})${sink === -1 ? '!' : ''}\n`,
  );
  return { wallUs, cpuUs };
}

const validateUs = measure('validate', (i) => (validateUsageEvent(events[i & 1023]!).ok ? 1 : 0));
const encodeUs = measure('encode', (i) => codec.encode(events[i & 1023]!).length);
const validateEncodeUs = measure('validate+encode', (i) => {
  const event = events[i & 1023]!;
  return validateUsageEvent(event).ok ? codec.encode(event).length : 0;
});
const decodeUs = measure('decode', (i) => (codec.decode(encoded[i & 1023]!).ok ? 1 : 0));

// The sink's side: a model call's priced event, four line items, as the pricer writes it.
const priced = createPricedCodec();
const pricedBytes = Array.from({ length: 1_024 }, (_, i) => {
  const lines = ['input', 'output', 'cache_read', 'cache_write_5m'].map((item, n) =>
    lineItem({ line_no: n, item, quantity: String(1_000 + i + n), cost_nanos: 3_000 * (i + n) }),
  );
  return priced.encode(pricedEvent({ event_id: `evt-${i}`, run_id: `run-${i >> 5}` }, lines));
});
const slabs = createSlabPool();
const held: SlabBlock[] = [];
/** The block is held as the batcher would hold it, and released 4,096 messages later (an insert's worth). */
function hold(block: SlabBlock): number {
  held.push(block);
  if (held.length === 4_096) slabs.release(held.splice(0), true);
  return block.end - block.start;
}
const source = { topic: 'tollgate.priced.v1', partition: 3, offset: '1234567' };
const insertedAt = '2026-12-07 12:00:00';
const sinkDecodeUs = measure('sink: decode + check + TSV', (i) => {
  const decoded = priced.decode(pricedBytes[i & 1023]!);
  if (!decoded.ok || !checkPricedEvent(decoded.value).ok) return 0;
  runEventRow(decoded.value, source, insertedAt);
  return hold(slabs.write(lineItemTsv(decoded.value, source, insertedAt)));
});
const transcoder = createLineItemTranscoder()!;
const sinkTranscodeUs = measure('sink: transcode', (i) => {
  if (transcoder.transcode(pricedBytes[i & 1023]!, source, insertedAt) <= 0) return 0;
  const block = slabs.allocate(transcoder.output.length);
  transcoder.output.copy(slabs.view(block));
  return hold(block);
});

process.stdout.write(
  `${JSON.stringify({
    benchmark: 'codec',
    event: 'model_call',
    bytes_per_event: encoded[0]!.length,
    validate_us_per_event: round(validateUs.wallUs),
    encode_us_per_event: round(encodeUs.wallUs),
    validate_encode_us_per_event: round(validateEncodeUs.wallUs),
    validate_encode_cpu_us_per_event: round(validateEncodeUs.cpuUs),
    decode_us_per_event: round(decodeUs.wallUs),
    decode_cpu_us_per_event: round(decodeUs.cpuUs),
    priced_bytes_per_event: pricedBytes[0]!.length,
    sink_decode_tsv_us_per_event: round(sinkDecodeUs.wallUs),
    sink_transcode_us_per_event: round(sinkTranscodeUs.wallUs),
    load_average_1m: round(loadavg()[0]!),
    node: process.version,
  })}\n`,
);

function round(us: number): number {
  return Math.round(us * 1_000) / 1_000;
}
