/**
 * line_items rows as TabSeparated text, the sink's hot path. The columns every line of an event shares
 * (25 of 35) are escaped once per event, not once per line, and ClickHouse parses TSV several times
 * faster than JSONEachRow. `lineItemRows` (rows.ts) is the same mapping as objects; a test holds the two
 * to the same values.
 *
 * Escaping (ClickHouse TabSeparated): in a plain field backslash, tab, line feed, carriage return and
 * NUL are backslash-escaped; an Array(String) field is `['a','b']` with each element a quoted literal
 * (core's `quoteString`, which escapes the same characters plus the quote and never emits a raw tab or
 * line break).
 */
import { quoteString } from '@tollgate/core';
import type { PricedEvent } from '@tollgate/core/contract/types';
import type { SourcePosition } from './rows.ts';

/** Column order of the TSV lines; the insert names them explicitly. */
export const LINE_ITEM_TSV_COLUMNS = [
  'event_id',
  'event_time',
  'kind',
  'run_id',
  'agent_id',
  'parent_agent_id',
  'agent_name',
  'agent_depth',
  'provider',
  'model',
  'service_tier',
  'org_id',
  'feature',
  'customer_id',
  'environment',
  'tag_keys',
  'tag_values',
  'currency',
  'rate_card_id',
  'rate_card_version',
  'rate_card_hash',
  'adjustment_of',
  'source_topic',
  'source_partition',
  'source_offset',
  'inserted_at',
  'line_no',
  'category',
  'item',
  'unit',
  'quantity',
  'quantity_value',
  'unit_price',
  'cost_nanos',
  'priced',
] as const;

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;

export function tsvField(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  let out = '';
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\0') out += '\\0';
    else out += ch;
  }
  return out;
}

function tsvArray(values: readonly string[]): string {
  return `[${values.map(quoteString).join(',')}]`;
}

let lastSecond = Number.NaN;
let lastSecondText = '';

const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * `YYYY-MM-DD hh:mm:ss` in UTC, like core's formatDateTime (rows.ts; a test holds them equal) without
 * its string surgery; event times of one batch are close together, so each second is formatted once.
 */
export function dateTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const d = new Date(second * 1000);
    lastSecond = second;
    lastSecondText = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  }
  return lastSecondText;
}

/** The event's line items as TSV lines, each ending in '\n' ('' for an event without line items). */
export function lineItemTsv(event: PricedEvent, source: SourcePosition, insertedAt: string): string {
  if (event.line_items.length === 0) return '';
  const u = event.usage;
  const keys = Object.keys(u.tags ?? {}).sort();
  const prefix = [
    tsvField(u.event_id),
    dateTime(u.event_time),
    tsvField(u.kind),
    tsvField(u.run_id),
    tsvField(u.agent_id ?? ''),
    tsvField(u.parent_agent_id ?? ''),
    tsvField(u.agent_name ?? ''),
    String(u.agent_depth ?? 0),
    tsvField(u.provider ?? ''),
    tsvField(u.model ?? ''),
    tsvField(u.service_tier),
    tsvField(u.org_id),
    tsvField(u.feature ?? ''),
    tsvField(u.customer_id ?? ''),
    tsvField(u.environment ?? ''),
    tsvArray(keys),
    tsvArray(keys.map((key) => u.tags[key] ?? '')),
    tsvField(event.currency),
    tsvField(event.rate_card.id),
    tsvField(event.rate_card.version),
    tsvField(event.rate_card.content_hash),
    tsvField(event.adjustment_of ?? ''),
    tsvField(source.topic),
    String(source.partition),
    source.offset,
    insertedAt,
  ].join('\t');
  let block = '';
  for (const line of event.line_items) {
    block += `${prefix}\t${line.line_no}\t${tsvField(line.category)}\t${tsvField(line.item)}\t${tsvField(line.unit)}\t${tsvField(line.quantity)}\t${Number(line.quantity)}\t${tsvField(line.unit_price ?? '')}\t${line.priced ? line.cost_nanos : 0}\t${line.priced ? 1 : 0}\n`;
  }
  return block;
}
