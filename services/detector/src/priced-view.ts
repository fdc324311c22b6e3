/**
 * The detector's reading of a priced event: only the fields its rules use. Decoding goes through
 * Avro schema resolution with a projected reader schema (the current PricedEvent schema with every
 * other field removed), so the skipped fields (ids, tags, token counts, line-item texts, the rate
 * card) are stepped over without building strings for them. That halves the cost of decoding, the
 * largest cost per event. Every kept writer version of schemas/avro/priced-event is resolved at
 * startup: a writer the projection cannot read fails there, not on a message.
 *
 * A full PricedEvent is a PricedView (the types are structural), so tests pass real events.
 */
import {
  avroType,
  type CostCategory,
  compileBodyScanner,
  type DecodeResult,
  loadSchemaFamily,
  SINGLE_OBJECT_HEADER_BYTES,
  scanRefusal,
  singleObjectHeader,
  TollgateError,
  type UsageKind,
} from '@tollgate/core';
import type avro from 'avsc';

export interface UsageView {
  event_time: number;
  kind: UsageKind;
  run_id: string;
  agent_name: string | null;
  agent_depth: number;
  model: string | null;
  org_id: string;
  feature: string | null;
  customer_id: string | null;
  tool_call: { tool_name: string; call_signature: string | null } | null;
  subagent_spawn: { child_depth: number } | null;
  sandbox: { idle_seconds: number } | null;
}

export interface PricedView {
  usage: UsageView;
  line_items: { category: CostCategory; cost_nanos: number | null }[];
  total_nanos: number;
  currency: string;
  adjustment_of: string | null;
}

/** Record name → the fields the detector keeps (every other record keeps all its fields). */
const KEEP: Record<string, string[]> = {
  PricedEvent: ['usage', 'line_items', 'total_nanos', 'currency', 'adjustment_of'],
  UsageEvent: [
    'event_time',
    'kind',
    'run_id',
    'agent_name',
    'agent_depth',
    'model',
    'org_id',
    'feature',
    'customer_id',
    'tool_call',
    'subagent_spawn',
    'sandbox',
  ],
  ToolCall: ['tool_name', 'call_signature'],
  SubagentSpawn: ['child_depth'],
  Sandbox: ['idle_seconds'],
  LineItem: ['category', 'cost_nanos'],
};

function shortName(name: unknown): string {
  return typeof name === 'string' ? (name.split('.').pop() ?? name) : '';
}

/** A copy of `schema` with the records' fields cut down to KEEP. */
export function projectSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(projectSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const node = schema as Record<string, unknown>;
  if (node.type === 'record') {
    const keep = KEEP[shortName(node.name)];
    const fields = (node.fields as { name: string; type: unknown }[])
      .filter((field) => keep === undefined || keep.includes(field.name))
      .map((field) => ({ ...field, type: projectSchema(field.type) }));
    return { ...node, fields };
  }
  if (node.type === 'array') return { ...node, items: projectSchema(node.items) };
  if (node.type === 'map') return { ...node, values: projectSchema(node.values) };
  return node;
}

export interface PricedViewDecoder {
  decode(bytes: Uint8Array): DecodeResult<PricedView>;
}

export function createPricedViewDecoder(schemaDir?: string): PricedViewDecoder {
  const versions = loadSchemaFamily('priced-event', schemaDir);
  const newest = versions[versions.length - 1]!;
  const reader = avroType(projectSchema(newest.schema));
  const writers = versions.map((writer) => {
    let resolver: avro.Resolver;
    try {
      resolver = reader.createResolver(writer.type);
    } catch (err) {
      throw new TollgateError(`the detector's view cannot read ${writer.label}: ${(err as Error).message}`, {
        code: 'TG_SCHEMA',
        details: { writer: writer.file },
        cause: err,
      });
    }
    const header = singleObjectHeader(writer.fingerprint);
    const scan = compileBodyScanner(writer.type);
    return { lo: header.readUInt32LE(2), hi: header.readUInt32LE(6), label: writer.label, resolver, scan };
  });

  return {
    decode(bytes) {
      const buf = Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (buf.length < SINGLE_OBJECT_HEADER_BYTES || buf[0] !== 0xc3 || buf[1] !== 0x01)
        return {
          ok: false,
          code: 'not_single_object',
          reason: 'does not start with the Avro single-object header (C3 01 + fingerprint)',
        };
      const lo = buf.readUInt32LE(2);
      const hi = buf.readUInt32LE(6);
      const writer = writers.find((w) => w.lo === lo && w.hi === hi);
      if (writer === undefined)
        return {
          ok: false,
          code: 'unknown_fingerprint',
          reason: `writer schema fingerprint ${buf.subarray(2, 10).toString('hex')} (little-endian) is not a kept version of ${newest.name}`,
        };
      const refused = scanRefusal(writer.scan(buf, SINGLE_OBJECT_HEADER_BYTES), buf.length, writer.label);
      if (refused) return { ok: false, code: 'corrupt', reason: refused };
      try {
        const { value, offset } = reader.decode(buf, SINGLE_OBJECT_HEADER_BYTES, writer.resolver);
        if (offset < 0)
          return {
            ok: false,
            code: 'corrupt',
            reason: `truncated: the body ends inside a ${writer.label} record`,
          };
        if (offset !== buf.length)
          return {
            ok: false,
            code: 'corrupt',
            reason: `${buf.length - offset} trailing bytes after the ${writer.label} record`,
          };
        return { ok: true, value: value as PricedView, writer: writer.label };
      } catch (err) {
        return {
          ok: false,
          code: 'corrupt',
          reason: `body does not decode as ${writer.label}: ${(err as Error).message}`,
        };
      }
    },
  };
}
