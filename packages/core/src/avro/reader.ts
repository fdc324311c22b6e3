/**
 * Reading Avro binary without building values: a bounds-checked walk over a body, and the primitives
 * readers built on it use (the sink's line-item transcoder).
 *
 * avsc trusts the lengths and counts it reads: an array or map block that claims 2^40 items in a
 * 300-byte message makes it loop and allocate until the process runs out of memory (found by mutating
 * priced events in services/sink/src/transcode.test.ts). A consumer that crashes on a message never
 * commits past it and crashes again after every restart, so every decode first walks the body with
 * `compileBodyScanner` and refuses one whose lengths, counts or indexes cannot fit the bytes it has.
 *
 * Values are checked the way avsc reads them: a union branch or enum index must exist, a long must be
 * within ±(2^53 − 2) (avsc refuses wider ones, "potential precision loss"), a string or bytes length
 * must not be negative; a count of items must fit the bytes left (each item takes at least one byte;
 * for items that can take none, at most MAX_EMPTY_ITEMS).
 */
import avro from 'avsc';
import { MAX_LONG } from './writer.ts';

/** A read position in a message, and whether everything read so far was possible. */
export interface Cursor {
  buf: Buffer;
  pos: number;
  ok: boolean;
  /** What was impossible, once `ok` is false. */
  why: string;
}

/** Marks the cursor bad, keeping the first reason. */
export function fail(c: Cursor, why: string): void {
  if (c.ok) c.why = why;
  c.ok = false;
}

const EMPTY = Buffer.alloc(0);

/** Items of an array or map whose encoding can be empty (null, an empty record): at most this many. */
const MAX_EMPTY_ITEMS = 1_000_000;

/** A zigzag varint (Avro int and long); marks the cursor bad beyond 10 bytes or ±(2^53 − 2). */
export function readLong(c: Cursor): number {
  const buf = c.buf;
  let pos = c.pos;
  let b = buf[pos++] ?? 0;
  let z = b & 0x7f;
  if (b < 0x80) {
    c.pos = pos;
    return (z >>> 1) ^ -(z & 1);
  }
  // Up to 28 bits with integer arithmetic, beyond with floats (exact for safe integers).
  for (let shift = 7; shift < 28; shift += 7) {
    b = buf[pos++] ?? 0;
    z |= (b & 0x7f) << shift;
    if (b < 0x80) {
      c.pos = pos;
      return (z >>> 1) ^ -(z & 1);
    }
  }
  let big = z;
  let scale = 2 ** 28;
  do {
    b = buf[pos++] ?? 0;
    big += (b & 0x7f) * scale;
    scale *= 128;
  } while (b >= 0x80 && scale <= 2 ** 63);
  c.pos = pos;
  if (b >= 0x80) {
    fail(c, `a varint longer than 10 bytes at byte ${c.pos}`);
    return 0;
  }
  const n = big % 2 === 0 ? big / 2 : -(big + 1) / 2;
  if (Math.abs(n) > MAX_LONG) fail(c, `a long beyond ±(2^53 − 2) at byte ${c.pos}`);
  return n;
}

/**
 * The item count of the next array or map block (0 ends the value). A negative count is followed by
 * the block's size in bytes. A count the bytes left cannot hold marks the cursor bad and reads as 0.
 */
export function readBlockCount(c: Cursor, minItemBytes = 1): number {
  let n = readLong(c);
  if (n < 0) {
    n = -n;
    readLong(c);
  }
  const room = minItemBytes > 0 ? (c.buf.length - c.pos) / minItemBytes : MAX_EMPTY_ITEMS;
  if (n > room) fail(c, `a block of ${n} items with ${Math.max(0, c.buf.length - c.pos)} bytes left`);
  return c.ok ? n : 0;
}

/** Skips a string or bytes value. */
export function skipBytes(c: Cursor): void {
  const n = readLong(c);
  if (n < 0) fail(c, `a negative length ${n}`);
  else c.pos += n;
}

export type Skipper = (c: Cursor) => void;

/** The schema uses a type this module does not read. */
export class UnsupportedAvroType extends Error {}

/** The fewest bytes a value of `type` can take. */
function minBytes(type: avro.Type, seen = new Set<avro.Type>()): number {
  const underlying = (type as { underlyingType?: avro.Type }).underlyingType;
  if (underlying) return minBytes(underlying, seen);
  switch (type.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
  }
  if (type instanceof avro.types.FixedType) return type.size;
  if (type instanceof avro.types.RecordType) {
    if (seen.has(type)) return 0; // recursive: do not count further
    seen.add(type);
    const sum = type.fields.reduce((n, field) => n + minBytes(field.type, seen), 0);
    seen.delete(type);
    return sum;
  }
  return 1; // a varint, a boolean, a length, a union index, a block count
}

/** A reader that moves the cursor past a value of `type`, checking what avsc would trust. */
export function compileSkipper(type: avro.Type): Skipper {
  return skipper(type, new Map());
}

function skipper(type: avro.Type, records: Map<avro.Type, Skipper>): Skipper {
  const underlying = (type as { underlyingType?: avro.Type }).underlyingType;
  if (underlying) return skipper(underlying, records);
  switch (type.typeName) {
    case 'null':
      return () => {};
    case 'boolean':
      return (c) => {
        c.pos += 1;
      };
    case 'int':
    case 'long':
      return (c) => {
        readLong(c);
      };
    case 'float':
      return (c) => {
        c.pos += 4;
      };
    case 'double':
      return (c) => {
        c.pos += 8;
      };
    case 'string':
    case 'bytes':
      return skipBytes;
  }
  if (type instanceof avro.types.FixedType) {
    const size = type.size;
    return (c) => {
      c.pos += size;
    };
  }
  if (type instanceof avro.types.EnumType) {
    const count = type.symbols.length;
    const name = type.name ?? 'enum';
    return (c) => {
      const i = readLong(c);
      if (i < 0 || i >= count) fail(c, `invalid ${name} enum index: ${i}`);
    };
  }
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    const branches = type.types.map((branch) => skipper(branch, records));
    return (c) => {
      const i = readLong(c);
      const branch = branches[i];
      if (branch === undefined) fail(c, `invalid union branch index: ${i}`);
      else branch(c);
    };
  }
  if (type instanceof avro.types.ArrayType) {
    const items = skipper(type.itemsType, records);
    const least = minBytes(type.itemsType);
    return (c) => {
      for (let n = readBlockCount(c, least); n > 0; n = readBlockCount(c, least))
        for (let i = 0; i < n && c.ok; i++) items(c);
    };
  }
  if (type instanceof avro.types.MapType) {
    const values = skipper(type.valuesType as avro.Type, records);
    return (c) => {
      for (let n = readBlockCount(c); n > 0; n = readBlockCount(c))
        for (let i = 0; i < n && c.ok; i++) {
          skipBytes(c);
          values(c);
        }
    };
  }
  if (type instanceof avro.types.RecordType) {
    const known = records.get(type);
    if (known) return known;
    // Before the fields are compiled: a recursive record calls itself through this.
    let compiled: Skipper = () => {};
    const record: Skipper = (c) => compiled(c);
    records.set(type, record);
    compiled = compileRecord(type, records);
    records.set(type, compiled);
    return compiled;
  }
  throw new UnsupportedAvroType(`no reader for the Avro type ${type.typeName}`);
}

/** Where a scanned body ends (past the buffer when it is truncated), or why it cannot be read. */
export type ScanResult = { ok: true; end: number } | { ok: false; why: string };

/**
 * Walks the Avro value of `type` starting at `pos`: where it ends (past `buf.length` when the bytes end
 * first), or which length, count or index in it is impossible.
 */
export function compileBodyScanner(type: avro.Type): (buf: Buffer, pos: number) => ScanResult {
  const skip = compileSkipper(type);
  const cursor: Cursor = { buf: EMPTY, pos: 0, ok: true, why: '' };
  return (buf, pos) => {
    cursor.buf = buf;
    cursor.pos = pos;
    cursor.ok = true;
    skip(cursor);
    cursor.buf = EMPTY; // hold no message past the call
    return cursor.ok ? { ok: true, end: cursor.pos } : { ok: false, why: cursor.why };
  };
}

/**
 * A record's skipper as generated code (as avsc and writer.ts generate theirs): the fields' varints,
 * lengths, enum and union indexes are read inline with the position in a local variable, and only
 * nested records, arrays, maps and multi-byte varints call out. About four times faster than a chain
 * of closures, and it runs before every decode.
 */
function compileRecord(type: avro.types.RecordType, records: Map<avro.Type, Skipper>): Skipper {
  const args: string[] = ['readLong', 'fail'];
  const values: unknown[] = [readLong, fail];
  /** A value the generated code calls or reads, passed in as an argument. */
  const bind = (value: unknown): string => {
    args.push(`a${args.length}`);
    values.push(value);
    return args[args.length - 1]!;
  };
  const callOut = (skip: Skipper) => `c.pos = pos; ${bind(skip)}(c); if (!c.ok) return; pos = c.pos;\n`;
  /** A varint into `n` (fast path: one byte); returns from the record when it is impossible. */
  const varint =
    'b = buf[pos]; if (b < 0x80) { pos++; n = (b >>> 1) ^ -(b & 1); } else { c.pos = pos; n = readLong(c); if (!c.ok) return; pos = c.pos; }\n';

  function code(t: avro.Type): string {
    const underlying = (t as { underlyingType?: avro.Type }).underlyingType;
    if (underlying) return code(underlying);
    switch (t.typeName) {
      case 'null':
        return '';
      case 'boolean':
        return 'pos += 1;\n';
      case 'int':
      case 'long':
        return 'b = buf[pos++]; if (b >= 0x80) { c.pos = pos - 1; readLong(c); if (!c.ok) return; pos = c.pos; }\n';
      case 'float':
        return 'pos += 4;\n';
      case 'double':
        return 'pos += 8;\n';
      case 'string':
      case 'bytes':
        return `${varint}if (n < 0) { fail(c, 'a negative length ' + n); return; } pos += n;\n`;
    }
    if (t instanceof avro.types.FixedType) return `pos += ${t.size};\n`;
    if (t instanceof avro.types.EnumType) {
      const what = JSON.stringify(`invalid ${t.name ?? 'enum'} enum index: `);
      return `${varint}if (n < 0 || n >= ${t.symbols.length}) { fail(c, ${what} + n); return; }\n`;
    }
    if (t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType) {
      const cases = t.types.map((branch, i) => `case ${i}:\n${code(branch)}break;\n`).join('');
      return `${varint}switch (n) {\n${cases}default: fail(c, 'invalid union branch index: ' + n); return;\n}\n`;
    }
    return callOut(skipper(t, records)); // records, arrays, maps
  }

  const body = type.fields.map((field) => code(field.type)).join('');
  const source = `return function skip(c) {\nvar buf = c.buf, pos = c.pos, b, n;\n${body}c.pos = pos;\n};`;
  return new Function(...args, source)(...values) as Skipper;
}
