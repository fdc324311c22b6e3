/**
 * One POSTed JSON value → a contract UsageEvent, or the field and rule it broke. Bad events are data:
 * nothing here throws on input. Three checks, in order: the JSON Schema (shape, types, unknown fields;
 * fills defaults), event_time conversion, then the contract's invariants (validateUsageEvent).
 */
import { type UsageEvent, validateUsageEvent } from '@tollgate/core';
import { Ajv, type ErrorObject } from 'ajv';
import { usageEventInputSchema } from './schema.ts';

export type Normalized =
  | { ok: true; event: UsageEvent }
  | { ok: false; field: string; rule: string; reasonCode: 'invalid_event' | 'invariant_violated' };

export type EventNormalizer = (value: unknown) => Normalized;

/**
 * ISO-8601 date-time with a mandatory zone: without one, the instant depends on the server's clock
 * settings, so it is refused rather than guessed.
 */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
/** Below this an epoch value is almost surely seconds, not milliseconds (it would be before 1973-03). */
const SMALLEST_PLAUSIBLE_MS = 100_000_000_000;

function fieldOf(path: string, child?: string): string {
  const dotted = path
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.');
  if (child === undefined) return dotted || '(event)';
  return dotted ? `${dotted}.${child}` : child;
}

function typeRule(type: unknown): string {
  const names = (Array.isArray(type) ? type : [type]).map((t) =>
    t === 'null' ? 'null' : t === 'integer' ? 'an integer' : t === 'object' ? 'an object' : `a ${t}`,
  );
  return `must be ${names.join(' or ')}`;
}

/** Ajv's error → the field path (dotted, as validateUsageEvent names fields) and a rule a person can act on. */
export function ruleOf(error: ErrorObject): { field: string; rule: string } {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: fieldOf(error.instancePath, String(params.missingProperty)), rule: 'is required' };
    case 'additionalProperties':
      return {
        field: fieldOf(error.instancePath, String(params.additionalProperty)),
        rule: 'is not a field of the UsageEvent contract',
      };
    case 'type':
      return { field: fieldOf(error.instancePath), rule: typeRule(params.type) };
    case 'enum':
      return {
        field: fieldOf(error.instancePath),
        rule: `must be one of ${(params.allowedValues as unknown[]).join(', ')}`,
      };
    case 'minimum':
      return { field: fieldOf(error.instancePath), rule: `must be >= ${String(params.limit)}` };
    case 'minLength':
      return { field: fieldOf(error.instancePath), rule: 'must be a non-empty string' };
    case 'propertyNames':
      return {
        field: fieldOf(error.instancePath, String(params.propertyName)),
        rule: 'is not an allowed key (empty or __proto__)',
      };
    default:
      return { field: fieldOf(error.instancePath), rule: error.message ?? `fails ${error.keyword}` };
  }
}

/** event_time as sent → epoch milliseconds, or the rule it broke. */
export function eventTimeMs(value: number | string): { ok: true; ms: number } | { ok: false; rule: string } {
  if (typeof value === 'string') {
    const ms = ISO_DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(ms))
      return {
        ok: false,
        rule: 'must be epoch milliseconds or an ISO-8601 date-time with a time zone, e.g. 2026-11-03T14:05:00Z',
      };
    return { ok: true, ms };
  }
  if (value < SMALLEST_PLAUSIBLE_MS)
    return {
      ok: false,
      rule: 'must be epoch milliseconds; values before 1973-03-03 (below 100000000000) are refused as likely epoch seconds',
    };
  return { ok: true, ms: value };
}

export function createEventNormalizer(): EventNormalizer {
  const ajv = new Ajv({ useDefaults: true, allowUnionTypes: true, allErrors: false });
  const validateShape = ajv.compile(usageEventInputSchema);

  return (value) => {
    if (!validateShape(value)) {
      // One error without allErrors; for a nested failure the innermost is last.
      const errors = validateShape.errors ?? [];
      const { field, rule } = ruleOf(errors[errors.length - 1]!);
      return { ok: false, field, rule, reasonCode: 'invalid_event' };
    }
    const event = value as unknown as UsageEvent & { event_time: number | string };
    const time = eventTimeMs(event.event_time);
    if (!time.ok) return { ok: false, field: 'event_time', rule: time.rule, reasonCode: 'invalid_event' };
    event.event_time = time.ms;
    const spawn = event.subagent_spawn as { child_depth?: number } | null;
    if (spawn && spawn.child_depth === undefined) spawn.child_depth = event.agent_depth + 1;
    const verdict = validateUsageEvent(event);
    if (!verdict.ok)
      return { ok: false, field: verdict.field, rule: verdict.rule, reasonCode: 'invariant_violated' };
    return { ok: true, event };
  };
}
