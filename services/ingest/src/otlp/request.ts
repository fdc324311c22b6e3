/**
 * An OTLP/JSON ExportTraceServiceRequest (`resourceSpans[].scopeSpans[].spans[]`) → one outcome per
 * span. The envelope must have the OTLP shape (else the whole request is refused); each span is then
 * mapped on its own, so one malformed span never costs the others.
 *
 * A rejected span is dead-lettered as a self-contained request holding only that span with its
 * resource and scope: an operator can fix it and POST the payload back as it is.
 */
import { type UsageEvent, ValidationError } from '@tollgate/core';
import { type Attributes, readAttributes } from './attributes.ts';
import { type IgnoreReason, mapSpan } from './map.ts';

export interface RejectedSpan {
  /** Position of the span in the request, counting every span in document order. */
  index: number;
  traceId: string | null;
  spanId: string | null;
  runId: string | null;
  field: string;
  rule: string;
  /** A one-span ExportTraceServiceRequest, as JSON bytes. */
  payload: Buffer;
}

export interface MappedRequest {
  spans: number;
  accepted: { index: number; event: UsageEvent }[];
  ignored: Record<IgnoreReason, number>;
  rejected: RejectedSpan[];
}

export type EnvelopeResult = { ok: true; spans: number } | { ok: false; field: string; rule: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayOf(v: unknown): unknown[] | undefined {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : undefined;
}

/** Checks the envelope and counts the spans (for the per-request limit) before any span is mapped. */
export function checkEnvelope(body: unknown): EnvelopeResult {
  if (!isRecord(body))
    return { ok: false, field: '(body)', rule: 'must be an ExportTraceServiceRequest object' };
  const resourceSpans = arrayOf(body.resourceSpans);
  if (resourceSpans === undefined) return { ok: false, field: 'resourceSpans', rule: 'must be an array' };
  let spans = 0;
  for (const [r, rs] of resourceSpans.entries()) {
    if (!isRecord(rs)) return { ok: false, field: `resourceSpans[${r}]`, rule: 'must be an object' };
    const scopeSpans = arrayOf(rs.scopeSpans);
    if (scopeSpans === undefined)
      return { ok: false, field: `resourceSpans[${r}].scopeSpans`, rule: 'must be an array' };
    for (const [s, ss] of scopeSpans.entries()) {
      const list = isRecord(ss) ? arrayOf(ss.spans) : undefined;
      if (list === undefined)
        return { ok: false, field: `resourceSpans[${r}].scopeSpans[${s}].spans`, rule: 'must be an array' };
      spans += list.length;
    }
  }
  return { ok: true, spans };
}

/** Maps every span of a request that passed checkEnvelope. */
export function mapExportRequest(body: Record<string, unknown>): MappedRequest {
  const result: MappedRequest = {
    spans: 0,
    accepted: [],
    ignored: { not_gen_ai: 0, no_usage: 0, agent_span: 0 },
    rejected: [],
  };
  for (const rs of (body.resourceSpans as Record<string, unknown>[] | undefined) ?? []) {
    const resourceRaw = isRecord(rs.resource) ? rs.resource : undefined;
    let resource: Attributes | ValidationError;
    try {
      resource = readAttributes(resourceRaw?.attributes, 'resource.attributes');
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      resource = err;
    }
    for (const ss of (rs.scopeSpans as Record<string, unknown>[] | undefined) ?? []) {
      for (const span of (ss.spans as unknown[] | undefined) ?? []) {
        const index = result.spans++;
        const mapped = mapSpan(span, resource);
        if (mapped.outcome === 'accepted') result.accepted.push({ index, event: mapped.event });
        else if (mapped.outcome === 'ignored') result.ignored[mapped.reason]++;
        else {
          const single = {
            resourceSpans: [{ ...rs, scopeSpans: [{ ...ss, spans: [span] }] }],
          };
          result.rejected.push({
            index,
            traceId: mapped.traceId,
            spanId: mapped.spanId,
            runId: mapped.runId,
            field: mapped.field,
            rule: mapped.rule,
            payload: Buffer.from(JSON.stringify(single), 'utf8'),
          });
        }
      }
    }
  }
  return result;
}
