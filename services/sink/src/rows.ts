/**
 * Decoded events → ClickHouse rows, one pure function per table. The row shapes match the columns of
 * schemas/clickhouse (JSONEachRow): absent optional attributes become '' (never NULL), times are UTC
 * `YYYY-MM-DD hh:mm:ss`, money stays an integer of nano-units.
 *
 * Every row carries the Kafka position of the message it came from (`source_*`): the sink reads those
 * back to skip messages it already stored, which is what keeps the rollups exactly-once.
 */

import { formatDateTime } from '@tollgate/core';
import type { CostAlert, DeadLetter, PricedEvent } from '@tollgate/core/contract/types';

export type Row = Record<string, unknown>;

/** Where a message sits in Kafka; offsets are decimal strings as kafkajs gives them. */
export interface SourcePosition {
  topic: string;
  partition: number;
  offset: string;
}

/** DateTime columns hold 1970-01-01 00:00:00 … 2105: a time outside is bad data, not a crash. */
export const MAX_DATETIME_MS = Date.UTC(2105, 11, 31);

export type Check = { ok: true } | { ok: false; field: string; rule: string };

const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * What the sink needs to store a priced event faithfully. The pricer already enforced the contract;
 * this catches what would corrupt the tables (an event without org, a fractional cost, a time
 * DateTime cannot hold) so it becomes a dead letter instead of a failed insert.
 */
export function checkPricedEvent(event: PricedEvent): Check {
  const usage = event.usage;
  if (!usage.event_id) return { ok: false, field: 'usage.event_id', rule: 'must not be empty' };
  if (!usage.org_id) return { ok: false, field: 'usage.org_id', rule: 'must not be empty' };
  if (!usage.run_id) return { ok: false, field: 'usage.run_id', rule: 'must not be empty' };
  if (!Number.isFinite(usage.event_time) || usage.event_time < 0 || usage.event_time >= MAX_DATETIME_MS)
    return { ok: false, field: 'usage.event_time', rule: 'must be between 1970 and 2105' };
  const lineNumbers = new Set<number>();
  for (const [i, line] of event.line_items.entries()) {
    const at = `line_items[${i}]`;
    if (!Number.isInteger(line.line_no) || line.line_no < 0 || line.line_no > 65_535)
      return { ok: false, field: `${at}.line_no`, rule: 'must be an integer 0…65535' };
    if (lineNumbers.has(line.line_no))
      return { ok: false, field: `${at}.line_no`, rule: 'must be unique within the event' };
    lineNumbers.add(line.line_no);
    if (!DECIMAL.test(line.quantity))
      return { ok: false, field: `${at}.quantity`, rule: 'must be a decimal string' };
    if (line.priced) {
      if (line.cost_nanos === null || !Number.isSafeInteger(line.cost_nanos))
        return { ok: false, field: `${at}.cost_nanos`, rule: 'must be a safe integer when priced' };
      if (!event.currency)
        return { ok: false, field: 'currency', rule: 'must not be empty when a line is priced' };
    }
  }
  return { ok: true };
}

function tagColumns(tags: Record<string, string>): { tag_keys: string[]; tag_values: string[] } {
  const keys = Object.keys(tags).sort();
  return { tag_keys: keys, tag_values: keys.map((key) => tags[key] ?? '') };
}

function time(ms: number): string {
  return formatDateTime(new Date(ms));
}

/** One row per line item; an event without line items (run_start, …) yields none. */
export function lineItemRows(event: PricedEvent, source: SourcePosition, insertedAt: string): Row[] {
  const u = event.usage;
  const common = {
    event_id: u.event_id,
    event_time: time(u.event_time),
    kind: u.kind,
    run_id: u.run_id,
    agent_id: u.agent_id ?? '',
    parent_agent_id: u.parent_agent_id ?? '',
    agent_name: u.agent_name ?? '',
    agent_depth: u.agent_depth ?? 0,
    provider: u.provider ?? '',
    model: u.model ?? '',
    service_tier: u.service_tier,
    org_id: u.org_id,
    feature: u.feature ?? '',
    customer_id: u.customer_id ?? '',
    environment: u.environment ?? '',
    ...tagColumns(u.tags ?? {}),
    currency: event.currency,
    rate_card_id: event.rate_card.id,
    rate_card_version: event.rate_card.version,
    rate_card_hash: event.rate_card.content_hash,
    adjustment_of: event.adjustment_of ?? '',
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
    inserted_at: insertedAt,
  };
  return event.line_items.map((line) => ({
    ...common,
    line_no: line.line_no,
    category: line.category,
    item: line.item,
    unit: line.unit,
    quantity: line.quantity,
    quantity_value: Number(line.quantity),
    unit_price: line.unit_price ?? '',
    // An unpriced line stores 0 with priced = 0: its cost is unknown, and every query reports it apart.
    cost_nanos: line.priced ? line.cost_nanos : 0,
    priced: line.priced ? 1 : 0,
  }));
}

/** Kinds with a run_events row (unless they restate another event). */
export const RUN_EVENT_KINDS: ReadonlySet<string> = new Set(['run_start', 'run_end', 'subagent_spawn']);

/** The run lifecycle row of run_start, run_end and subagent_spawn events; undefined for other kinds. */
export function runEventRow(event: PricedEvent, source: SourcePosition, insertedAt: string): Row | undefined {
  const u = event.usage;
  if (!RUN_EVENT_KINDS.has(u.kind) || event.adjustment_of) return undefined;
  return {
    event_id: u.event_id,
    event_time: time(u.event_time),
    kind: u.kind,
    org_id: u.org_id,
    run_id: u.run_id,
    agent_id: u.agent_id ?? '',
    parent_agent_id: u.parent_agent_id ?? '',
    agent_name: u.agent_name ?? '',
    agent_depth: u.agent_depth ?? 0,
    feature: u.feature ?? '',
    customer_id: u.customer_id ?? '',
    environment: u.environment ?? '',
    outcome: u.run_end?.outcome ?? '',
    duration_ms: u.run_end?.duration_ms ?? 0,
    child_agent_id: u.subagent_spawn?.child_agent_id ?? '',
    child_agent_name: u.subagent_spawn?.child_agent_name ?? '',
    child_depth: u.subagent_spawn?.child_depth ?? 0,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
    inserted_at: insertedAt,
  };
}

export function checkAlert(alert: CostAlert): Check {
  if (!alert.alert_id) return { ok: false, field: 'alert_id', rule: 'must not be empty' };
  if (!alert.org_id) return { ok: false, field: 'org_id', rule: 'must not be empty' };
  for (const field of ['first_event_time', 'detected_at'] as const) {
    const value = alert[field];
    if (!Number.isFinite(value) || value < 0 || value >= MAX_DATETIME_MS)
      return { ok: false, field, rule: 'must be between 1970 and 2105' };
  }
  return { ok: true };
}

export function alertRow(alert: CostAlert, source: SourcePosition, insertedAt: string): Row {
  return {
    alert_id: alert.alert_id,
    rule: alert.rule,
    severity: alert.severity,
    scope: alert.scope,
    org_id: alert.org_id,
    run_id: alert.run_id ?? '',
    feature: alert.feature ?? '',
    customer_id: alert.customer_id ?? '',
    window_start: alert.window_start === null ? null : time(alert.window_start),
    window_end: alert.window_end === null ? null : time(alert.window_end),
    observed: alert.observed,
    expected: alert.expected,
    unit: alert.unit,
    explanation: alert.explanation,
    contributor_dimensions: alert.contributors.map((c) => c.dimension),
    contributor_values: alert.contributors.map((c) => c.value),
    contributor_observed: alert.contributors.map((c) => c.observed),
    contributor_expected: alert.contributors.map((c) => c.expected),
    first_event_time: time(alert.first_event_time),
    detected_at: time(alert.detected_at),
    policy_id: alert.policy_id ?? '',
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
    inserted_at: insertedAt,
  };
}

/**
 * Message keys are run ids (UTF-8 text) by contract; a key that is not valid UTF-8 is kept losslessly
 * as `base64:<bytes>`. keyFromText reads it back.
 */
export function keyText(key: Uint8Array | null): string {
  if (key === null) return '';
  const buffer = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buffer);
  } catch {
    return `base64:${buffer.toString('base64')}`;
  }
}

/** The message key a keyText column stands for: '' is no key, `base64:` the bytes that were not UTF-8. */
export function keyFromText(text: string): Buffer | null {
  if (text === '') return null;
  return text.startsWith('base64:')
    ? Buffer.from(text.slice('base64:'.length), 'base64')
    : Buffer.from(text, 'utf8');
}

/**
 * A dead letter from tollgate.dlq.v1. `received_at` is the letter's own `failed_at` (not the sink's
 * clock), so a redelivered letter lands in the same ReplacingMergeTree partition and replaces itself.
 */
export function deadLetterRow(letter: DeadLetter, dlq: SourcePosition): Row {
  const failedAt = Math.min(Math.max(letter.failed_at, 0), MAX_DATETIME_MS - 1);
  return {
    received_at: time(failedAt),
    stage: letter.stage,
    reason_code: letter.reason_code,
    reason: letter.reason,
    source_topic: letter.source_topic,
    source_partition: letter.source_partition,
    source_offset: letter.source_offset,
    key: keyText(letter.key),
    payload_base64: Buffer.from(letter.payload).toString('base64'),
    dlq_partition: dlq.partition,
    dlq_offset: dlq.offset,
  };
}

/**
 * A message on the dead-letter topic that does not decode as a DeadLetter cannot be dead-lettered
 * again (that would loop); it is stored as its own dead letter, with stage `sink`, so it is never lost.
 */
export function undecodableDeadLetterRow(
  message: { key: Buffer | null; value: Buffer | null; timestamp: string },
  dlq: SourcePosition,
  reasonCode: string,
  reason: string,
): Row {
  return deadLetterRow(
    {
      stage: 'sink',
      reason_code: reasonCode,
      reason,
      source_topic: dlq.topic,
      source_partition: dlq.partition,
      source_offset: dlq.offset,
      key: message.key,
      payload: message.value ?? Buffer.alloc(0),
      failed_at: Number(message.timestamp),
    },
    dlq,
  );
}
