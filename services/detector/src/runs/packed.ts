/**
 * An ended run, held for its end grace (late events still land in it), packed into a one-byte string
 * of its fields in binary. A fleet of short runs holds (run rate × (end grace + lateness)) of them,
 * nearly all ended (the synthetic fleet: 99.6%), so this is where the detector's memory goes: as an
 * object a typical ended run was about 750 bytes (its arrays of doubles, the record of category costs,
 * the fired rules, the object itself), packed it is about 380.
 *
 * In memory only: the changelog keeps the run's JSON, so the packed form has no version and may change
 * with the code. A run is unpacked when an event touches it and packed again once the batch is done.
 *
 * Layout, little-endian: the f64 fields of FIXED_FIELDS (ended and last first, so an eviction scan
 * reads only them; NaN for null); org length in UTF-16 units (u32: org and run are the map key's two
 * parts, not stored again); feature, customer, currency (u16 UTF-8 length, 0xFFFF for null, bytes);
 * fired rules (u8 count, u8 index into RUN_ALERT_RULES each); categories (u8 count, then u8 name
 * length, name, f64 nanos each); tool calls (u32 pairs, then f64 hash, u32 calls each); velocity (u32
 * pairs, then f64 start, f64 nanos each).
 */
import { RUN_ALERT_RULES } from '@tollgate/core';
import type { RunState } from './state.ts';

/** A run in its packed form: a string only {@link unpackRun} reads. */
export type PackedRun = string & { readonly packedRun: unique symbol };

const NULL_LENGTH = 0xffff;
/** The f64 fields, in layout order (NaN stands for null); the eviction scan reads the first two. */
const FIXED_FIELDS = [
  'ended',
  'last',
  'first',
  'costNanos',
  'lastActivity',
  'idleSeconds',
  'idleCostNanos',
  'sandboxAfterEnd',
  'steps',
  'subagents',
  'maxDepth',
] as const satisfies readonly (keyof RunState)[];
type FixedField = (typeof FIXED_FIELDS)[number];
const AT = Object.fromEntries(FIXED_FIELDS.map((field, i) => [field, i * 8])) as Record<FixedField, number>;
/** Then the org's length (u32). */
const ORG_LENGTH_AT = FIXED_FIELDS.length * 8;
const FIXED_BYTES = ORG_LENGTH_AT + 4;
const RULE_INDEX = new Map<string, number>(RUN_ALERT_RULES.map((rule, i) => [rule, i]));

let buffer = Buffer.allocUnsafe(4096);

function reserve(bytes: number): void {
  if (buffer.length < bytes) buffer = Buffer.allocUnsafe(Math.max(bytes, buffer.length * 2));
}

export function isPacked(run: RunState | PackedRun): run is PackedRun {
  return typeof run === 'string';
}

/**
 * The packed form of an ended run whose map key is `key` (see runKey), or null when the run is not
 * ended or holds something the layout has no room for (a rule this code does not know, a tag longer
 * than 65,534 bytes, a tool call count past 2³²): such a run stays an object, which is only bigger.
 */
export function packRun(key: string, run: RunState): PackedRun | null {
  if (run.ended === null || !key.startsWith(run.org) || key.charCodeAt(run.org.length) !== 0) return null;
  const fired: number[] = [];
  for (const rule of run.fired) {
    const index = RULE_INDEX.get(rule);
    if (index === undefined) return null;
    fired.push(index);
  }
  const categories = Object.keys(run.costByCategory);
  if (categories.length > 0xff || run.fired.length > 0xff) return null;
  const calls = run.toolCalls;
  for (let i = 1; i < calls.length; i += 2) if (!(calls[i]! >= 0 && calls[i]! <= 0xffffffff)) return null;
  let bytes = FIXED_BYTES + 3 * 2 + 1 + fired.length + 1 + 4 + calls.length * 6 + 4 + run.velocity.length * 8;
  for (const text of [run.feature, run.customer, run.currency]) if (text !== null) bytes += text.length * 3;
  for (const category of categories) bytes += 1 + category.length * 3 + 8;
  reserve(bytes);

  for (const field of FIXED_FIELDS) buffer.writeDoubleLE(run[field] ?? Number.NaN, AT[field]);
  let o = buffer.writeUInt32LE(run.org.length, ORG_LENGTH_AT);
  for (const text of [run.feature, run.customer, run.currency]) {
    if (text === null) {
      o = buffer.writeUInt16LE(NULL_LENGTH, o);
      continue;
    }
    const written = buffer.write(text, o + 2, 'utf8');
    if (written >= NULL_LENGTH) return null;
    buffer.writeUInt16LE(written, o);
    o += 2 + written;
  }
  o = buffer.writeUInt8(fired.length, o);
  for (const index of fired) o = buffer.writeUInt8(index, o);
  o = buffer.writeUInt8(categories.length, o);
  for (const category of categories) {
    const written = buffer.write(category, o + 1, 'utf8');
    if (written > 0xff) return null;
    buffer.writeUInt8(written, o);
    o = buffer.writeDoubleLE(run.costByCategory[category]!, o + 1 + written);
  }
  o = buffer.writeUInt32LE(calls.length / 2, o);
  for (let i = 0; i < calls.length; i += 2) {
    o = buffer.writeDoubleLE(calls[i]!, o);
    o = buffer.writeUInt32LE(calls[i + 1]!, o);
  }
  const velocity = run.velocity;
  o = buffer.writeUInt32LE(velocity.length / 2, o);
  for (const value of velocity) o = buffer.writeDoubleLE(value, o);
  return buffer.toString('latin1', 0, o) as PackedRun;
}

/** The run's end and last event time, all an eviction scan needs, without unpacking the rest. */
export function packedTimes(packed: PackedRun): { ended: number; last: number } {
  buffer.write(packed, 0, AT.last + 8, 'latin1');
  return { ended: buffer.readDoubleLE(AT.ended), last: buffer.readDoubleLE(AT.last) };
}

/** The run {@link packRun} packed, equal to it field by field; `intern` shares the tag strings. */
export function unpackRun(
  key: string,
  packed: PackedRun,
  intern: <T extends string | null>(value: T) => T,
): RunState {
  reserve(packed.length);
  buffer.write(packed, 0, packed.length, 'latin1');
  const fixed = (field: FixedField) => buffer.readDoubleLE(AT[field]);
  const nullable = (field: FixedField) => (Number.isNaN(fixed(field)) ? null : fixed(field));
  const orgLength = buffer.readUInt32LE(ORG_LENGTH_AT);
  let o = FIXED_BYTES;
  const text = (): string | null => {
    const length = buffer.readUInt16LE(o);
    o += 2;
    if (length === NULL_LENGTH) return null;
    o += length;
    return intern(buffer.toString('utf8', o - length, o));
  };
  const feature = text();
  const customer = text();
  const currency = text();
  const fired: string[] = [];
  for (let n = buffer.readUInt8(o++); n > 0; n--) fired.push(RUN_ALERT_RULES[buffer.readUInt8(o++)]!);
  const costByCategory: Record<string, number> = {};
  for (let n = buffer.readUInt8(o++); n > 0; n--) {
    const length = buffer.readUInt8(o);
    const category = intern(buffer.toString('utf8', o + 1, o + 1 + length));
    o += 1 + length;
    costByCategory[category] = buffer.readDoubleLE(o);
    o += 8;
  }
  const toolCalls: number[] = [];
  for (let n = buffer.readUInt32LE(o), i = o + 4; n > 0; n--, i += 12)
    toolCalls.push(buffer.readDoubleLE(i), buffer.readUInt32LE(i + 8));
  o += 4 + toolCalls.length * 6;
  const velocity: number[] = [];
  for (let n = buffer.readUInt32LE(o) * 2, i = o + 4; n > 0; n--, i += 8)
    velocity.push(buffer.readDoubleLE(i));
  return {
    org: intern(key.slice(0, orgLength)),
    run: key.slice(orgLength + 1),
    feature,
    customer,
    currency,
    first: fixed('first'),
    last: fixed('last'),
    costNanos: fixed('costNanos'),
    costByCategory,
    steps: fixed('steps'),
    subagents: fixed('subagents'),
    maxDepth: fixed('maxDepth'),
    toolCalls,
    velocity,
    lastActivity: nullable('lastActivity'),
    idleSeconds: fixed('idleSeconds'),
    idleCostNanos: fixed('idleCostNanos'),
    sandboxAfterEnd: nullable('sandboxAfterEnd'),
    ended: fixed('ended'),
    fired,
  };
}
