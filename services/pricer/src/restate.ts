/**
 * Restatement: what an event should have cost under a corrected rate card, published as the
 * difference, never by rewriting what was billed.
 *
 * An adjustment is a PricedEvent whose `adjustment_of` names the original event_id and whose lines
 * hold, per (category, item), `corrected cost − billed cost`, where billed = the original line plus
 * every earlier adjustment of it. So the sum of an event's original and adjustment lines is always
 * its cost under the newest restatement, and restating twice under the same card adds nothing.
 *
 * - Adjustment lines carry the corrected quantity and unit price for reference; consumers count
 *   quantities from original lines only (adjustment_of set means "not usage").
 * - A line the corrected card prices but that was billed unpriced gets its full corrected cost.
 * - A line the corrected card cannot price keeps what was billed (no adjustment): the cost is
 *   unknown, and removing it would bill it as zero. It is reported as `nowUnpriced`.
 * - The adjustment's event_id is derived from the original's, the restatement's sequence number and
 *   the corrected card's hash: deterministic for a given log, distinct for each restatement.
 */
import { type CompiledRateCard, price } from '@tollgate/core';
import type { LineItem, PricedEvent } from '@tollgate/core/contract/types';

export type Restatement =
  | { kind: 'unchanged'; nowUnpriced: number }
  | { kind: 'adjusted'; adjustment: PricedEvent; deltaNanos: bigint; nowUnpriced: number }
  | { kind: 'skipped'; reason: string };

/** `<original>:restated:<n>:<card hash prefix>`, n = 1 for the first restatement of the event. */
export function adjustmentEventId(originalEventId: string, sequence: number, card: CompiledRateCard): string {
  return `${originalEventId}:restated:${sequence}:${card.contentHash.slice(0, 12)}`;
}

interface Billed {
  nanos: bigint;
  /** At least one of the original line and its adjustments had a known cost. */
  priced: boolean;
}

function lineKey(line: LineItem): string {
  return `${line.category}\u0000${line.item}`;
}

/** What was billed per (category, item): the original line plus every earlier adjustment. */
function billedLines(original: PricedEvent, adjustments: readonly PricedEvent[]): Map<string, Billed> {
  const billed = new Map<string, Billed>();
  for (const event of [original, ...adjustments]) {
    for (const line of event.line_items) {
      const entry = billed.get(lineKey(line)) ?? { nanos: 0n, priced: false };
      if (line.priced && line.cost_nanos !== null) {
        entry.nanos += BigInt(line.cost_nanos);
        entry.priced = true;
      }
      billed.set(lineKey(line), entry);
    }
  }
  return billed;
}

export function restate(
  original: PricedEvent,
  adjustments: readonly PricedEvent[],
  corrected: CompiledRateCard,
  pricedAtMs: number,
): Restatement {
  if (original.adjustment_of !== null) return { kind: 'skipped', reason: 'is itself an adjustment' };
  if (corrected.currency !== original.currency)
    return {
      kind: 'skipped',
      reason: `was billed in ${original.currency}; the corrected card prices in ${corrected.currency}`,
    };
  const outcome = price(original.usage, corrected);
  if (!outcome.ok) return { kind: 'skipped', reason: `${outcome.code}: ${outcome.reason}` };
  const billed = billedLines(original, adjustments);
  const lines: LineItem[] = [];
  let deltaNanos = 0n;
  let nowUnpriced = 0;
  for (const line of outcome.value.line_items) {
    const before = billed.get(lineKey(line)) ?? { nanos: 0n, priced: false };
    if (!line.priced || line.cost_nanos === null) {
      if (before.priced) nowUnpriced++;
      continue;
    }
    const delta = BigInt(line.cost_nanos) - before.nanos;
    if (delta === 0n && before.priced) continue;
    lines.push({ ...line, line_no: lines.length, cost_nanos: Number(delta) });
    deltaNanos += delta;
  }
  if (lines.length === 0) return { kind: 'unchanged', nowUnpriced };
  return {
    kind: 'adjusted',
    deltaNanos,
    nowUnpriced,
    adjustment: {
      usage: {
        ...original.usage,
        event_id: adjustmentEventId(original.usage.event_id, adjustments.length + 1, corrected),
      },
      line_items: lines,
      total_nanos: Number(deltaNanos),
      currency: corrected.currency,
      has_unpriced: false,
      rate_card: outcome.value.rate_card,
      priced_at: pricedAtMs,
      adjustment_of: original.usage.event_id,
    },
  };
}
