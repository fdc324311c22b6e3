/**
 * Validate + encode cost per usage event (the SDK's and ingest's per-event work), and decode cost, for
 * the typical event: a model call with tags and provider cost. Prints progress lines, then one JSON
 * object as its last line. Goal on the two-core dev machine: validate + encode ≤ 5 µs/event.
 *   node bench/codec.ts            or   npm run bench -- codec
 */
import { loadavg } from 'node:os';
import { createUsageCodec, validateUsageEvent } from '@tollgate/core';
import { exampleModelCall } from '@tollgate/core/contract/examples';

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
    load_average_1m: round(loadavg()[0]!),
    node: process.version,
  })}\n`,
);

function round(us: number): number {
  return Math.round(us * 1_000) / 1_000;
}
