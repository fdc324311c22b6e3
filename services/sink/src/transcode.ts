/**
 * A priced event's line_items TSV straight from its Avro bytes: no PricedEvent object, no strings.
 *
 * Decoding every event into objects and writing TSV text from them was the sink's largest cost (avsc's
 * decode, UTF-8 slices of every string, the TSV strings, their UTF-8 encoding into the slab, and the
 * garbage of all of it). Here the record is walked once, noting where each needed field's bytes lie,
 * and the lines are written from those bytes into one reusable buffer: strings are copied byte for
 * byte with TabSeparated escaping, numbers written as digits, the 26 columns every line of an event
 * shares written once and copied per line.
 *
 * It handles the common case and declines the rest, which then takes the decoding path (sink.ts:
 * decode, checkPricedEvent, lineItemTsv, runEventRow) and so keeps that path's exact behaviour, dead
 * letters and reasons included. It declines (returns -1) when:
 * - the writer schema is not the current PricedEvent version (an older writer needs schema resolution);
 * - the event is a run lifecycle event (run_start, run_end, subagent_spawn: it also has a run_events row);
 * - anything would make checkPricedEvent or the decoder refuse it (bounds, union or enum index, a long
 *   beyond what avsc reads, an empty id, a time outside DateTime, a bad line number or quantity, a priced
 *   line without a cost or currency, trailing bytes), or a string is not valid UTF-8 (the decoder would
 *   put U+FFFD in its place), or a tag key is not ASCII, repeated or `__proto__` (the decoded map would
 *   order or drop it differently).
 * A test holds the output byte for byte equal to lineItemTsv of the decoded event on random events.
 */
import { isUtf8 } from 'node:buffer';
import {
  type Cursor,
  compileSkipper,
  loadSchemaFamily,
  readBlockCount,
  readLong,
  SINGLE_OBJECT_HEADER_BYTES,
  UnsupportedAvroType,
} from '@tollgate/core';
import avro from 'avsc';
import { MAX_DATETIME_MS, RUN_EVENT_KINDS, type SourcePosition } from './rows.ts';
import { dateTime, tsvField } from './tsv.ts';

const EMPTY = Buffer.alloc(0);
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const QUOTE = 0x27;

/** Where a string's bytes lie in the message; start -1 for null. */
interface Span {
  start: number;
  end: number;
}

/** One line item's fields as read. */
interface Line {
  lineNo: number;
  category: Span;
  item: Span;
  unit: Span;
  quantity: Span;
  unitPrice: Span;
  costNanos: number;
  costNull: boolean;
  priced: boolean;
}

const span = (): Span => ({ start: -1, end: -1 });
const newLine = (): Line => ({
  lineNo: 0,
  category: span(),
  item: span(),
  unit: span(),
  quantity: span(),
  unitPrice: span(),
  costNanos: 0,
  costNull: true,
  priced: false,
});

/** Everything read from one event, reused from event to event. */
interface Fields {
  eventId: Span;
  eventTime: number;
  kind: number;
  runId: Span;
  agentId: Span;
  parentAgentId: Span;
  agentName: Span;
  agentDepth: number;
  provider: Span;
  model: Span;
  serviceTier: number;
  orgId: Span;
  feature: Span;
  customerId: Span;
  environment: Span;
  /** Tag key and value spans, in the order written. */
  tags: Span[];
  tagCount: number;
  lines: Line[];
  lineCount: number;
  currency: Span;
  rateCardId: Span;
  rateCardVersion: Span;
  rateCardHash: Span;
  adjustmentOf: Span;
}

function readString(c: Cursor, into: Span): void {
  const n = readLong(c);
  if (n < 0) c.ok = false;
  into.start = c.pos;
  c.pos += n;
  into.end = c.pos;
}

/** ["null", "string"]: the span, start -1 for null. */
function readOptionalString(c: Cursor, into: Span): void {
  const branch = c.buf[c.pos++];
  if (branch === 0) {
    into.start = -1;
    into.end = -1;
  } else if (branch === 2) readString(c, into);
  else c.ok = false;
}

const isString = (t: avro.Type) => t.typeName === 'string';
const isOptionalString = (t: avro.Type) =>
  t instanceof avro.types.UnwrappedUnionType &&
  t.types.length === 2 &&
  t.types[0]?.typeName === 'null' &&
  t.types[1]?.typeName === 'string';
const isOptionalLong = (t: avro.Type) =>
  t instanceof avro.types.UnwrappedUnionType &&
  t.types.length === 2 &&
  t.types[0]?.typeName === 'null' &&
  t.types[1]?.typeName === 'long';

type FieldReader<T> = { accepts: (type: avro.Type) => boolean; read: (c: Cursor, into: T) => void };

const str = <T>(get: (into: T) => Span): FieldReader<T> => ({
  accepts: isString,
  read: (c, into) => readString(c, get(into)),
});
const optStr = <T>(get: (into: T) => Span): FieldReader<T> => ({
  accepts: isOptionalString,
  read: (c, into) => readOptionalString(c, get(into)),
});
/** An int or long field (`typeName`), read into a number. */
const num = <T>(typeName: 'int' | 'long', set: (into: T, n: number) => void): FieldReader<T> => ({
  accepts: (t) => t.typeName === typeName,
  read: (c, into) => set(into, readLong(c)),
});

/**
 * The readers of a record: the named fields are read into `T`, the others skipped. Undefined when a
 * named field is missing or of another type (a reader of it would need the schema's resolution rules).
 */
function recordOps<T>(
  type: avro.Type,
  wanted: Record<string, FieldReader<T>>,
): ((c: Cursor, into: T) => void)[] {
  if (!(type instanceof avro.types.RecordType)) throw new UnsupportedAvroType(`${type.name} is not a record`);
  const seen = new Set<string>();
  const ops = type.fields.map((field) => {
    const reader = wanted[field.name];
    if (reader === undefined) {
      const skip = compileSkipper(field.type);
      return (c: Cursor) => skip(c);
    }
    if (!reader.accepts(field.type)) throw new UnsupportedAvroType(`${type.name}.${field.name} changed type`);
    seen.add(field.name);
    return reader.read;
  });
  for (const name of Object.keys(wanted))
    if (!seen.has(name)) throw new UnsupportedAvroType(`${type.name} has no field ${name}`);
  return ops;
}

function enumReader<T>(symbols: string[][], set: (into: T, index: number) => void): FieldReader<T> {
  return {
    accepts: (type) => {
      if (!(type instanceof avro.types.EnumType)) return false;
      symbols.push(type.symbols);
      return true;
    },
    read: (c, into) => {
      const i = readLong(c);
      if (i < 0 || i >= (symbols[0]?.length ?? 0)) c.ok = false;
      set(into, i);
    },
  };
}

export interface LineItemTranscoder {
  /**
   * Writes the event's line_items TSV lines (the columns of LINE_ITEM_TSV_COLUMNS, each line ending in
   * '\n') into `output` and returns how many; -1 when the event must take the decoding path instead.
   */
  transcode(value: Buffer, source: SourcePosition, insertedAt: string): number;
  /** The bytes of the last transcode that returned lines; valid until the next call. */
  readonly output: Buffer;
}

/**
 * A transcoder for the current PricedEvent version, or undefined when that version has a shape it
 * does not read (then every event takes the decoding path; a test fails first).
 */
export function createLineItemTranscoder(schemaDir?: string): LineItemTranscoder | undefined {
  const versions = loadSchemaFamily('priced-event', schemaDir);
  const current = versions[versions.length - 1];
  if (current === undefined) return undefined;
  try {
    return compileTranscoder(current.type, current.fingerprint);
  } catch (err) {
    if (err instanceof UnsupportedAvroType) return undefined;
    throw err;
  }
}

function compileTranscoder(type: avro.Type, fingerprint: bigint): LineItemTranscoder {
  if (!(type instanceof avro.types.RecordType)) throw new UnsupportedAvroType('PricedEvent is not a record');
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(fingerprint);
  const fpLo = header.readUInt32LE(0);
  const fpHi = header.readUInt32LE(4);

  const kindSymbols: string[][] = [];
  const tierSymbols: string[][] = [];
  const usageType = type.field('usage')?.type;
  const lineItemsType = type.field('line_items')?.type;
  const rateCardType = type.field('rate_card')?.type;
  if (!usageType || !(lineItemsType instanceof avro.types.ArrayType) || !rateCardType)
    throw new UnsupportedAvroType('PricedEvent lacks usage, line_items or rate_card');

  const usageOps = recordOps<Fields>(usageType, {
    event_id: str((f) => f.eventId),
    event_time: num('long', (f, n) => {
      f.eventTime = n;
    }),
    kind: enumReader(kindSymbols, (f, i) => {
      f.kind = i;
    }),
    run_id: str((f) => f.runId),
    agent_id: optStr((f) => f.agentId),
    parent_agent_id: optStr((f) => f.parentAgentId),
    agent_name: optStr((f) => f.agentName),
    agent_depth: num('int', (f, n) => {
      f.agentDepth = n;
    }),
    provider: optStr((f) => f.provider),
    model: optStr((f) => f.model),
    service_tier: enumReader(tierSymbols, (f, i) => {
      f.serviceTier = i;
    }),
    org_id: str((f) => f.orgId),
    feature: optStr((f) => f.feature),
    customer_id: optStr((f) => f.customerId),
    environment: optStr((f) => f.environment),
    tags: {
      accepts: (t) => t instanceof avro.types.MapType && isString(t.valuesType as avro.Type),
      read: readTags,
    },
  });
  const lineOps = recordOps<Line>(lineItemsType.itemsType, {
    line_no: num('int', (l, n) => {
      l.lineNo = n;
    }),
    category: str((l) => l.category),
    item: str((l) => l.item),
    unit: str((l) => l.unit),
    quantity: str((l) => l.quantity),
    unit_price: optStr((l) => l.unitPrice),
    cost_nanos: {
      accepts: isOptionalLong,
      read: (c, l) => {
        const branch = c.buf[c.pos++];
        if (branch === 0) {
          l.costNull = true;
          l.costNanos = 0;
        } else if (branch === 2) {
          l.costNull = false;
          l.costNanos = readLong(c);
        } else c.ok = false;
      },
    },
    priced: {
      accepts: (t) => t.typeName === 'boolean',
      read: (c, l) => {
        l.priced = c.buf[c.pos++] !== 0;
      },
    },
  });
  const rateCardOps = recordOps<Fields>(rateCardType, {
    id: str((f) => f.rateCardId),
    version: str((f) => f.rateCardVersion),
    content_hash: str((f) => f.rateCardHash),
  });
  const topOps = recordOps<Fields>(type, {
    usage: {
      accepts: (t) => t === usageType,
      read: (c, f) => {
        for (const op of usageOps) op(c, f);
      },
    },
    line_items: {
      accepts: (t) => t === lineItemsType,
      read: (c, f) => {
        f.lineCount = 0;
        for (let n = readBlockCount(c); n > 0 && c.ok; n = readBlockCount(c))
          for (let i = 0; i < n && c.ok; i++) {
            if (f.lineCount === f.lines.length) f.lines.push(newLine());
            const line = f.lines[f.lineCount++] as Line;
            for (const op of lineOps) op(c, line);
          }
      },
    },
    currency: str((f) => f.currency),
    rate_card: {
      accepts: (t) => t === rateCardType,
      read: (c, f) => {
        for (const op of rateCardOps) op(c, f);
      },
    },
    adjustment_of: optStr((f) => f.adjustmentOf),
  });

  const kinds = (kindSymbols[0] ?? []).map((s) => Buffer.from(s, 'utf8'));
  const runKinds = new Set(
    (kindSymbols[0] ?? []).flatMap((symbol, i) => (RUN_EVENT_KINDS.has(symbol) ? [i] : [])),
  );
  const tiers = (tierSymbols[0] ?? []).map((s) => Buffer.from(s, 'utf8'));
  for (const symbol of [...kinds, ...tiers])
    if (symbol.some((b) => b === TAB || b === LF || b === CR || b === BACKSLASH || b === 0))
      throw new UnsupportedAvroType('an enum symbol needs escaping');

  const fields: Fields = {
    eventId: span(),
    eventTime: 0,
    kind: 0,
    runId: span(),
    agentId: span(),
    parentAgentId: span(),
    agentName: span(),
    agentDepth: 0,
    provider: span(),
    model: span(),
    serviceTier: 0,
    orgId: span(),
    feature: span(),
    customerId: span(),
    environment: span(),
    tags: [],
    tagCount: 0,
    lines: [],
    lineCount: 0,
    currency: span(),
    rateCardId: span(),
    rateCardVersion: span(),
    rateCardHash: span(),
    adjustmentOf: span(),
  };
  const cursor: Cursor = { buf: EMPTY, pos: 0, ok: true, why: '' };
  let out = Buffer.allocUnsafe(64 * 1024);
  let output = out.subarray(0, 0);

  // Per-batch constants, encoded once while they stay the same.
  let lastTopic = '';
  let lastPartition = -1;
  let topicPartition = Buffer.alloc(0);
  let lastInsertedAt = '';
  let insertedAtBytes = Buffer.alloc(0);
  let lastTimeText = '';
  let timeBytes = Buffer.alloc(0);

  /**
   * Every span written is valid UTF-8 (the decoder would replace invalid bytes with U+FFFD). Only
   * called when a written byte was not ASCII (`high`).
   */
  function allUtf8(buf: Buffer, f: Fields): boolean {
    for (const s of [
      f.eventId,
      f.runId,
      f.agentId,
      f.parentAgentId,
      f.agentName,
      f.provider,
      f.model,
      f.orgId,
      f.feature,
      f.customerId,
      f.environment,
      f.currency,
      f.rateCardId,
      f.rateCardVersion,
      f.rateCardHash,
      f.adjustmentOf,
    ])
      if (s.start >= 0 && !isUtf8(buf.subarray(s.start, s.end))) return false;
    for (let i = 0; i < f.lineCount; i++) {
      const line = f.lines[i] as Line;
      for (const s of [line.category, line.item, line.unit, line.unitPrice])
        if (s.start >= 0 && !isUtf8(buf.subarray(s.start, s.end))) return false;
    }
    for (let i = 1; i < f.tagCount * 2; i += 2) {
      const s = f.tags[i] as Span;
      if (!isUtf8(buf.subarray(s.start, s.end))) return false;
    }
    return true;
  }

  /** What checkPricedEvent (rows.ts) and the decoder would refuse, plus what this writer does not do. */
  function acceptable(buf: Buffer, f: Fields): boolean {
    if (f.eventId.end === f.eventId.start || f.orgId.end === f.orgId.start || f.runId.end === f.runId.start)
      return false;
    if (f.eventTime < 0 || f.eventTime >= MAX_DATETIME_MS) return false;
    let anyPriced = false;
    for (let i = 0; i < f.lineCount; i++) {
      const line = f.lines[i] as Line;
      if (line.lineNo < 0 || line.lineNo > 65_535) return false;
      for (let j = 0; j < i; j++) if ((f.lines[j] as Line).lineNo === line.lineNo) return false;
      if (!decimal(buf, line.quantity)) return false;
      if (line.priced) {
        if (line.costNull) return false;
        anyPriced = true;
      }
    }
    if (anyPriced && f.currency.end === f.currency.start) return false;
    for (let i = 0; i < f.tagCount * 2; i += 2) {
      const key = f.tags[i] as Span;
      // ASCII keys sort by bytes as Object.keys(…).sort() sorts them; a repeated key or __proto__
      // would not survive the decoded object.
      for (let b = key.start; b < key.end; b++) if ((buf[b] as number) >= 0x80) return false;
      if (key.end - key.start === 9 && buf.toString('latin1', key.start, key.end) === '__proto__')
        return false;
    }
    return true;
  }

  /** Sorts the tag pairs by key bytes (insertion sort: there are a few); false on a repeated key. */
  function sortTags(buf: Buffer, f: Fields): boolean {
    const tags = f.tags;
    for (let i = 1; i < f.tagCount; i++) {
      const key = tags[2 * i] as Span;
      const value = tags[2 * i + 1] as Span;
      let j = i - 1;
      for (; j >= 0; j--) {
        const cmp = compare(buf, tags[2 * j] as Span, key);
        if (cmp === 0) return false;
        if (cmp < 0) break;
        tags[2 * j + 2] = tags[2 * j] as Span;
        tags[2 * j + 3] = tags[2 * j + 1] as Span;
      }
      tags[2 * j + 2] = key;
      tags[2 * j + 3] = value;
    }
    return true;
  }

  function readTags(c: Cursor, f: Fields): void {
    f.tagCount = 0;
    for (let n = readBlockCount(c); n > 0 && c.ok; n = readBlockCount(c))
      for (let i = 0; i < n && c.ok; i++) {
        const at = 2 * f.tagCount++;
        if (at === f.tags.length) f.tags.push(span(), span());
        readString(c, f.tags[at] as Span);
        readString(c, f.tags[at + 1] as Span);
      }
  }

  return {
    get output() {
      return output;
    },

    transcode(value, source, insertedAt) {
      const lines = transcode(value, source, insertedAt);
      cursor.buf = EMPTY; // hold no fetched message past the call
      return lines;
    },
  };

  function transcode(value: Buffer, source: SourcePosition, insertedAt: string): number {
    if (
      value.length < SINGLE_OBJECT_HEADER_BYTES ||
      value[0] !== 0xc3 ||
      value[1] !== 0x01 ||
      value.readUInt32LE(2) !== fpLo ||
      value.readUInt32LE(6) !== fpHi
    )
      return -1;
    const c = cursor;
    c.buf = value;
    c.pos = SINGLE_OBJECT_HEADER_BYTES;
    c.ok = true;
    const f = fields;
    for (const op of topOps) {
      op(c, f);
      if (!c.ok) return -1;
    }
    if (c.pos !== value.length) return -1;
    if (runKinds.has(f.kind)) return -1;
    if (!acceptable(value, f) || !sortTags(value, f)) return -1;
    if (f.lineCount === 0) {
      output = out.subarray(0, 0);
      return 0;
    }

    if (source.topic !== lastTopic || source.partition !== lastPartition) {
      lastTopic = source.topic;
      lastPartition = source.partition;
      topicPartition = Buffer.from(`${tsvField(source.topic)}\t${source.partition}\t`, 'utf8');
    }
    if (insertedAt !== lastInsertedAt) {
      lastInsertedAt = insertedAt;
      insertedAtBytes = Buffer.from(insertedAt, 'latin1');
    }
    const timeText = dateTime(f.eventTime);
    if (timeText !== lastTimeText) {
      lastTimeText = timeText;
      timeBytes = Buffer.from(timeText, 'latin1');
    }

    // Escaping at most doubles a string (a quoted array element: plus quotes and a comma), so each
    // line is at most twice the message plus the fixed columns.
    const most =
      f.lineCount *
      (2 * value.length + 4 * f.tagCount + topicPartition.length + insertedAtBytes.length + 256);
    if (out.length < most) out = Buffer.allocUnsafe(Math.max(most, out.length * 2));
    const o = out;
    const b = value;
    let p = 0;
    high = 0;
    p = text(o, p, b, f.eventId);
    o[p++] = TAB;
    p = put(o, p, timeBytes);
    o[p++] = TAB;
    p = put(o, p, kinds[f.kind] as Buffer);
    o[p++] = TAB;
    p = text(o, p, b, f.runId);
    o[p++] = TAB;
    p = text(o, p, b, f.agentId);
    o[p++] = TAB;
    p = text(o, p, b, f.parentAgentId);
    o[p++] = TAB;
    p = text(o, p, b, f.agentName);
    o[p++] = TAB;
    p = integer(o, p, f.agentDepth);
    o[p++] = TAB;
    p = text(o, p, b, f.provider);
    o[p++] = TAB;
    p = text(o, p, b, f.model);
    o[p++] = TAB;
    p = put(o, p, tiers[f.serviceTier] as Buffer);
    o[p++] = TAB;
    p = text(o, p, b, f.orgId);
    o[p++] = TAB;
    p = text(o, p, b, f.feature);
    o[p++] = TAB;
    p = text(o, p, b, f.customerId);
    o[p++] = TAB;
    p = text(o, p, b, f.environment);
    o[p++] = TAB;
    p = array(o, p, b, f.tags, f.tagCount, 0);
    o[p++] = TAB;
    p = array(o, p, b, f.tags, f.tagCount, 1);
    o[p++] = TAB;
    p = text(o, p, b, f.currency);
    o[p++] = TAB;
    p = text(o, p, b, f.rateCardId);
    o[p++] = TAB;
    p = text(o, p, b, f.rateCardVersion);
    o[p++] = TAB;
    p = text(o, p, b, f.rateCardHash);
    o[p++] = TAB;
    p = text(o, p, b, f.adjustmentOf);
    o[p++] = TAB;
    p = put(o, p, topicPartition);
    const offset = source.offset;
    for (let i = 0; i < offset.length; i++) o[p++] = offset.charCodeAt(i);
    o[p++] = TAB;
    p = put(o, p, insertedAtBytes);
    const prefixEnd = p;

    for (let i = 0; i < f.lineCount; i++) {
      const line = f.lines[i] as Line;
      if (i > 0) {
        o.copyWithin(p, 0, prefixEnd);
        p += prefixEnd;
      }
      o[p++] = TAB;
      p = integer(o, p, line.lineNo);
      o[p++] = TAB;
      p = text(o, p, b, line.category);
      o[p++] = TAB;
      p = text(o, p, b, line.item);
      o[p++] = TAB;
      p = text(o, p, b, line.unit);
      o[p++] = TAB;
      p = text(o, p, b, line.quantity);
      o[p++] = TAB;
      p = quantityValue(o, p, b, line.quantity);
      o[p++] = TAB;
      p = text(o, p, b, line.unitPrice);
      o[p++] = TAB;
      p = integer(o, p, line.priced ? line.costNanos : 0);
      o[p++] = TAB;
      o[p++] = line.priced ? 0x31 : 0x30;
      o[p++] = LF;
    }
    if (high >= 0x80 && !allUtf8(b, f)) return -1;
    output = o.subarray(0, p);
    return f.lineCount;
  }
}

/** -?digits(.digits)?, the quantity checkPricedEvent accepts. */
function decimal(buf: Buffer, s: Span): boolean {
  let i = s.start;
  if (buf[i] === 0x2d) i++;
  const intStart = i;
  while (i < s.end && isDigit(buf[i] as number)) i++;
  if (i === intStart) return false;
  if (i === s.end) return true;
  if (buf[i] !== 0x2e) return false;
  const fracStart = ++i;
  while (i < s.end && isDigit(buf[i] as number)) i++;
  return i > fracStart && i === s.end;
}

const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

function compare(buf: Buffer, a: Span, b: Span): number {
  const n = Math.min(a.end - a.start, b.end - b.start);
  for (let i = 0; i < n; i++) {
    const d = (buf[a.start + i] as number) - (buf[b.start + i] as number);
    if (d !== 0) return d;
  }
  return a.end - a.start - (b.end - b.start);
}

/** Every byte written from the message OR-ed together: at 0x80 or above, one was not ASCII. */
let high = 0;

/** Copies a short constant (a byte loop: Buffer#copy costs more to call than to run here). */
function put(o: Buffer, p: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) o[p++] = bytes[i] as number;
  return p;
}

/** A plain TSV field: backslash, tab, line feed, carriage return and NUL backslash-escaped; null is ''. */
function text(o: Buffer, p: number, b: Buffer, s: Span): number {
  for (let i = s.start; i < s.end; i++) {
    const ch = b[i] as number;
    high |= ch;
    if (ch > BACKSLASH || (ch > CR && ch !== BACKSLASH)) o[p++] = ch;
    else p = escaped(o, p, ch);
  }
  return p;
}

function escaped(o: Buffer, p: number, ch: number): number {
  switch (ch) {
    case BACKSLASH:
      o[p++] = BACKSLASH;
      o[p++] = BACKSLASH;
      return p;
    case TAB:
      o[p++] = BACKSLASH;
      o[p++] = 0x74; // t
      return p;
    case LF:
      o[p++] = BACKSLASH;
      o[p++] = 0x6e; // n
      return p;
    case CR:
      o[p++] = BACKSLASH;
      o[p++] = 0x72; // r
      return p;
    case 0:
      o[p++] = BACKSLASH;
      o[p++] = 0x30; // 0
      return p;
    default:
      o[p++] = ch;
      return p;
  }
}

/** `['a','b']` of the keys (`which` 0) or values (1) of the sorted tag pairs, as core's quoteString quotes. */
function array(o: Buffer, p: number, b: Buffer, tags: Span[], count: number, which: 0 | 1): number {
  o[p++] = 0x5b; // [
  for (let t = 0; t < count; t++) {
    if (t > 0) o[p++] = 0x2c; // ,
    o[p++] = QUOTE;
    const s = tags[2 * t + which] as Span;
    for (let i = s.start; i < s.end; i++) {
      const ch = b[i] as number;
      high |= ch;
      if (ch === QUOTE) {
        o[p++] = BACKSLASH;
        o[p++] = QUOTE;
      } else if (ch > BACKSLASH || (ch > CR && ch !== BACKSLASH)) o[p++] = ch;
      else p = escaped(o, p, ch);
    }
    o[p++] = QUOTE;
  }
  o[p++] = 0x5d; // ]
  return p;
}

/** A safe integer in decimal. */
function integer(o: Buffer, p: number, n: number): number {
  if (n < 0) {
    o[p++] = 0x2d;
    n = -n;
  }
  if (n < 10) {
    o[p++] = 0x30 + n;
    return p;
  }
  let digits = 0;
  if (n < 0x80000000) {
    for (let m = n; m > 0; m = (m / 10) | 0) digits++;
    for (let i = p + digits - 1, m = n; i >= p; i--, m = (m / 10) | 0) o[i] = 0x30 + (m % 10);
    return p + digits;
  }
  for (let m = n; m >= 1; m = Math.floor(m / 10)) digits++;
  for (let i = p + digits - 1; i >= p; i--) {
    o[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return p + digits;
}

/**
 * The quantity as the Float64 column reads it, written as lineItemTsv writes `Number(quantity)`: a
 * plain integer of up to 15 digits without leading zeros is its own shortest form and is copied; any
 * other goes through Number.
 */
function quantityValue(o: Buffer, p: number, b: Buffer, s: Span): number {
  const n = s.end - s.start;
  let plain = n <= 15 && (n === 1 || b[s.start] !== 0x30);
  for (let i = s.start; plain && i < s.end; i++) plain = isDigit(b[i] as number);
  if (plain) return p + b.copy(o, p, s.start, s.end);
  return p + o.write(String(Number(b.toString('latin1', s.start, s.end))), p, 'latin1');
}
