/**
 * Avro single-object encoding (Avro specification, "Single-object encoding"):
 *   C3 01 | CRC-64-AVRO fingerprint of the writer schema, 8 bytes little-endian | Avro binary body.
 * A codec writes with its own schema version and reads any kept version of its family, resolving the
 * writer's schema into its own (schema resolution: new fields take their defaults, unknown enum
 * symbols take the enum default). Decoding never throws: bad bytes are data, returned as a typed
 * failure the caller dead-letters.
 */
import type avro from 'avsc';
import type { CostAlert, DeadLetter, PricedEvent, UsageEvent } from '../contract/types.ts';
import { TollgateError, ValidationError } from '../errors.ts';
import { fingerprintHex } from './fingerprint.ts';
import { compileBodyScanner, type ScanResult } from './reader.ts';
import { loadSchemaFamily, type SchemaFamily, type SchemaVersion } from './schemas.ts';
import { compileWriter, type WriteState } from './writer.ts';

export type DecodeFailureCode = 'not_single_object' | 'unknown_fingerprint' | 'corrupt';

export type DecodeResult<T> =
  | { ok: true; value: T; writer: string /* e.g. 'tollgate.UsageEvent@2' */ }
  | { ok: false; code: DecodeFailureCode; reason: string };

export interface Codec<T> {
  /**
   * Avro single-object encoding (C3 01 + CRC-64-AVRO fingerprint, little-endian + Avro binary), this
   * codec's schema. Throws ValidationError naming the field when the value does not fit the schema
   * (a programming error: validate events first, e.g. with validateUsageEvent). `allocate` gives
   * the buffer of exactly `length` bytes the encoding is copied into (a slab block, say); by default
   * a new one.
   */
  encode(value: T, allocate?: (length: number) => Buffer): Buffer;
  /** Resolves the writer schema by fingerprint among the versions kept in schemas/avro, reads into this codec's version. Never throws on bad bytes. */
  decode(bytes: Uint8Array): DecodeResult<T>;
  /** The schema this codec writes and reads into, e.g. 'tollgate.UsageEvent@2'. */
  readonly schema: string;
}

export interface CodecOptions {
  /** Folder holding <family>/v<N>.avsc; defaults to the repository's schemas/avro. */
  schemaDir?: string;
  /**
   * The version this codec writes and reads into; defaults to the newest. An older version makes the
   * codec behave like a producer or consumer built against that version (its values have that
   * version's shape, so only the untyped `createAvroCodec` offers it).
   */
  version?: number;
  /** Initial size of the reusable encode buffer; it grows to fit the largest value seen. */
  initialBufferBytes?: number;
}

/** The 2-byte marker that opens every single-object encoded message. */
export const SINGLE_OBJECT_MARKER = Buffer.from([0xc3, 0x01]);
/** Marker plus fingerprint. */
export const SINGLE_OBJECT_HEADER_BYTES = 10;

interface WriterEntry {
  /** The fingerprint as its two little-endian 32-bit halves, compared without allocating. */
  lo: number;
  hi: number;
  label: string;
  /** undefined when the writer is the reader's own version (no resolution needed). */
  resolver: avro.Resolver | undefined;
  /** Where a body of this writer's schema ends (reader.ts): checked before avsc reads it. */
  scan: (buf: Buffer, pos: number) => ScanResult;
}

/** The single-object header (marker + little-endian fingerprint) of a schema version. */
export function singleObjectHeader(fingerprint: bigint): Buffer {
  const header = Buffer.alloc(SINGLE_OBJECT_HEADER_BYTES);
  SINGLE_OBJECT_MARKER.copy(header, 0);
  header.writeBigUInt64LE(fingerprint, 2);
  return header;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Names the first field of `value` that does not fit `type`, for an encode error a person can act on. */
function invalidField(type: avro.Type, value: unknown): ValidationError {
  let field = '(root)';
  let rule = 'must match the Avro schema';
  let found = false;
  type.isValid(value, {
    errorHook(path, bad, fieldType) {
      if (found) return;
      found = true;
      if (path.length > 0) field = path.join('.');
      const shown = JSON.stringify(bad) ?? String(bad);
      rule = `must be a valid ${fieldType.name ?? fieldType.typeName}, got ${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}`;
    },
  });
  return new ValidationError(field, rule);
}

/** A codec for any schema family; prefer the typed factories below. */
export function createAvroCodec<T>(family: SchemaFamily, options: CodecOptions = {}): Codec<T> {
  const versions = loadSchemaFamily(family, options.schemaDir);
  const newest = versions[versions.length - 1]!;
  const own: SchemaVersion | undefined =
    options.version === undefined ? newest : versions.find((v) => v.version === options.version);
  if (own === undefined)
    throw new TollgateError(`${newest.name} has no version ${options.version} in schemas/avro`, {
      code: 'TG_SCHEMA',
      details: { family, version: options.version, kept: versions.map((v) => v.version) },
    });
  const type = own.type;

  const writers: WriterEntry[] = versions.map((writer) => {
    let resolver: avro.Resolver | undefined;
    if (writer !== own) {
      try {
        resolver = type.createResolver(writer.type);
      } catch (err) {
        throw new TollgateError(
          `${own.label} cannot read data written by ${writer.label}: ${(err as Error).message}`,
          {
            code: 'TG_SCHEMA',
            details: { reader: own.file, writer: writer.file },
            cause: err,
          },
        );
      }
    }
    const header = singleObjectHeader(writer.fingerprint);
    const scan = compileBodyScanner(writer.type);
    return { lo: header.readUInt32LE(2), hi: header.readUInt32LE(6), label: writer.label, resolver, scan };
  });
  const known = versions.map((v) => `${v.label}=${fingerprintHex(v.fingerprint)}`).join(', ');

  // One reusable buffer for encoding, header written once; every encode copies out exactly its bytes.
  let scratch = Buffer.allocUnsafe(Math.max(options.initialBufferBytes ?? 4096, 64));
  singleObjectHeader(own.fingerprint).copy(scratch, 0);
  const compiled = compileWriter(type);
  const state: WriteState = { buf: scratch, pos: 0 };
  /** Writes the body after the header; returns the end position, past the buffer's end when it did not fit. */
  const writeBody: (value: T) => number = compiled
    ? (value) => {
        state.buf = scratch;
        state.pos = SINGLE_OBJECT_HEADER_BYTES;
        compiled(state, value);
        return state.pos;
      }
    : (value) => {
        // avsc returns minus the number of missing bytes when the value does not fit.
        const end = type.encode(value, scratch, SINGLE_OBJECT_HEADER_BYTES);
        return end < 0 ? scratch.length - end : end;
      };

  function corrupt(reason: string): DecodeResult<T> {
    return { ok: false, code: 'corrupt', reason };
  }

  return {
    schema: own.label,

    encode(value: T, allocate?: (length: number) => Buffer): Buffer {
      let end: number;
      try {
        end = writeBody(value);
        if (end > scratch.length) {
          // Grow to fit (keeping the header) and write again; the buffer stays grown for later values.
          const grown = Buffer.allocUnsafe(Math.max(scratch.length * 2, end));
          scratch.copy(grown, 0, 0, SINGLE_OBJECT_HEADER_BYTES);
          scratch = grown;
          end = writeBody(value);
        }
      } catch {
        throw invalidField(type, value);
      }
      const out = allocate ? allocate(end) : Buffer.allocUnsafe(end);
      scratch.copy(out, 0, 0, end);
      return out;
    },

    decode(bytes: Uint8Array): DecodeResult<T> {
      const buf = asBuffer(bytes);
      if (buf.length < SINGLE_OBJECT_HEADER_BYTES || buf[0] !== 0xc3 || buf[1] !== 0x01) {
        return {
          ok: false,
          code: 'not_single_object',
          reason:
            buf.length < SINGLE_OBJECT_HEADER_BYTES && buf[0] === 0xc3 && (buf.length < 2 || buf[1] === 0x01)
              ? `${buf.length} bytes: shorter than the 10-byte single-object header`
              : `does not start with the Avro single-object marker C3 01 (got ${buf.subarray(0, 2).toString('hex') || 'nothing'})`,
        };
      }
      const lo = buf.readUInt32LE(2);
      const hi = buf.readUInt32LE(6);
      let writer: WriterEntry | undefined;
      for (const entry of writers) {
        if (entry.lo === lo && entry.hi === hi) {
          writer = entry;
          break;
        }
      }
      if (writer === undefined) {
        const fingerprint = buf.readBigUInt64LE(2);
        return {
          ok: false,
          code: 'unknown_fingerprint',
          reason: `writer schema fingerprint ${fingerprintHex(fingerprint)} is not a kept version of ${own.name} (known: ${known})`,
        };
      }
      const refused = scanRefusal(writer.scan(buf, SINGLE_OBJECT_HEADER_BYTES), buf.length, writer.label);
      if (refused) return corrupt(refused);
      try {
        const { value, offset } = type.decode(buf, SINGLE_OBJECT_HEADER_BYTES, writer.resolver);
        if (offset < 0) return corrupt(`truncated: the body ends inside a ${writer.label} record`);
        if (offset !== buf.length)
          return corrupt(`${buf.length - offset} trailing bytes after the ${writer.label} record`);
        return { ok: true, value: value as T, writer: writer.label };
      } catch (err) {
        return corrupt(`body does not decode as ${writer.label}: ${(err as Error).message}`);
      }
    },
  };
}

/**
 * Why a scanned body (reader.ts) is corrupt, or undefined when it fills the message exactly. avsc is
 * never given a body the scan refused: it would trust an impossible count.
 */
export function scanRefusal(scan: ScanResult, length: number, label: string): string | undefined {
  if (!scan.ok) return `body does not decode as ${label}: ${scan.why}`;
  if (scan.end > length) return `truncated: the body ends inside a ${label} record`;
  if (scan.end < length) return `${length - scan.end} trailing bytes after the ${label} record`;
  return undefined;
}

export function createUsageCodec(options: Omit<CodecOptions, 'version'> = {}): Codec<UsageEvent> {
  return createAvroCodec<UsageEvent>('usage-event', options);
}

export function createPricedCodec(options: Omit<CodecOptions, 'version'> = {}): Codec<PricedEvent> {
  return createAvroCodec<PricedEvent>('priced-event', options);
}

export function createAlertCodec(options: Omit<CodecOptions, 'version'> = {}): Codec<CostAlert> {
  return createAvroCodec<CostAlert>('cost-alert', options);
}

/** DeadLetter carries bytes; avsc writes only Buffers, so Uint8Array fields are viewed (not copied) as Buffers. */
export function createDeadLetterCodec(options: Omit<CodecOptions, 'version'> = {}): Codec<DeadLetter> {
  const codec = createAvroCodec<DeadLetter>('dead-letter', options);
  return {
    schema: codec.schema,
    decode: codec.decode,
    encode(letter: DeadLetter): Buffer {
      const bytesOk =
        (letter.key === null || letter.key === undefined || Buffer.isBuffer(letter.key)) &&
        Buffer.isBuffer(letter.payload);
      if (bytesOk) return codec.encode(letter);
      return codec.encode({
        ...letter,
        key: letter.key == null ? null : asBuffer(letter.key),
        payload: letter.payload instanceof Uint8Array ? asBuffer(letter.payload) : letter.payload,
      });
    },
  };
}
