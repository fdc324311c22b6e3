/**
 * OTLP/JSON attributes (`[{ key, value: AnyValue }]`) read by name with a type. In OTLP/JSON an AnyValue
 * is an object with one of stringValue, boolValue, intValue (int64: a decimal string, or a number from
 * lenient encoders), doubleValue, arrayValue, kvlistValue or bytesValue (base64).
 *
 * A getter returns undefined when the attribute is absent and throws ValidationError (field + rule) when
 * it is present with a value of the wrong type. The throw never leaves the OTLP mapping: mapSpan turns
 * it into a rejected span, reported to the caller and dead-lettered.
 */
import { ValidationError } from '@tollgate/core';

export interface Attributes {
  has(key: string): boolean;
  string(key: string): string | undefined;
  /** A non-negative integer (token counts, depths): intValue, an integral doubleValue, or a digit string. */
  count(key: string): number | undefined;
  /** Every key starting with `prefix`, with its string value, prefix removed. */
  stringsWithPrefix(prefix: string): [string, string][];
}

type AnyValue = Record<string, unknown>;

const DIGITS = /^[0-9]+$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `where` prefixes field names in errors: `attributes` or `resource.attributes`. */
export function readAttributes(list: unknown, where: string): Attributes {
  const values = new Map<string, AnyValue>();
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list)) throw new ValidationError(where, 'must be an array of { key, value }');
    for (const [i, kv] of list.entries()) {
      if (!isRecord(kv) || typeof kv.key !== 'string')
        throw new ValidationError(`${where}[${i}]`, 'must be an object { key, value } with a string key');
      // A KeyValue without a value (or with an empty AnyValue) is "no value": treat it as absent.
      if (isRecord(kv.value) && Object.keys(kv.value).length > 0) values.set(kv.key, kv.value);
    }
  }
  const field = (key: string) => `${where}.${key}`;

  return {
    has: (key) => values.has(key),
    string(key) {
      const v = values.get(key);
      if (v === undefined) return undefined;
      if (typeof v.stringValue !== 'string') throw new ValidationError(field(key), 'must be a stringValue');
      return v.stringValue;
    },
    count(key) {
      const v = values.get(key);
      if (v === undefined) return undefined;
      const raw = v.intValue ?? v.doubleValue ?? v.stringValue;
      let n = Number.NaN;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && DIGITS.test(raw)) n = Number(raw);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new ValidationError(field(key), 'must be a non-negative integer (intValue)');
      return n;
    },
    stringsWithPrefix(prefix) {
      const out: [string, string][] = [];
      for (const [key, v] of values) {
        if (!key.startsWith(prefix) || key.length === prefix.length) continue;
        if (typeof v.stringValue !== 'string') throw new ValidationError(field(key), 'must be a stringValue');
        out.push([key.slice(prefix.length), v.stringValue]);
      }
      return out;
    },
  };
}
