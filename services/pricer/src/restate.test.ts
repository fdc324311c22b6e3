import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRateCardOrThrow, price } from '@tollgate/core';
import type { PricedEvent } from '@tollgate/core/contract/types';
import { modelCallEvent } from '@tollgate/core/ratecard/testing';
import { restate } from './restate.ts';

const cardWith = (input: string, output: string) =>
  parseRateCardOrThrow(
    `id: card
currency: USD
versions:
  - version: v1
    effective_from: 2024-01-01
    models: [{ provider: openai, match: gpt-4o, input: "${input}", output: "${output}" }]
`,
    'card.yaml',
  );

const billedCard = cardWith('2.50', '10.00');
const corrected = cardWith('2.00', '10.00');

function billed(): PricedEvent {
  const usage = modelCallEvent(
    'openai',
    'gpt-4o',
    { input_tokens: 10_000, output_tokens: 1_000 },
    { event_id: 'e1' },
  );
  const outcome = price(usage, billedCard);
  assert.ok(outcome.ok);
  return { usage, ...outcome.value, priced_at: 1, adjustment_of: null };
}

describe('restatement under a corrected card', () => {
  it('publishes the difference per line, keeping what was billed', () => {
    // Billed: 10,000 × 2.50 = 25,000,000 + 1,000 × 10.00 = 10,000,000.
    // Corrected input 10,000 × 2.00 = 20,000,000: difference −5,000,000 on the input line only.
    const original = billed();
    const result = restate(original, [], corrected, 99);
    assert.equal(result.kind, 'adjusted');
    if (result.kind !== 'adjusted') return;
    assert.equal(result.deltaNanos, -5_000_000n);
    const { adjustment } = result;
    assert.equal(adjustment.adjustment_of, 'e1');
    assert.equal(adjustment.usage.event_id, `e1:restated:1:${corrected.contentHash.slice(0, 12)}`);
    assert.equal(adjustment.total_nanos, -5_000_000);
    assert.deepEqual(
      adjustment.line_items.map((l) => [l.item, l.quantity, l.unit_price, l.cost_nanos]),
      [['input', '10000', '0.000002', -5_000_000]],
    );
    assert.equal(adjustment.rate_card.content_hash, corrected.contentHash);
    assert.equal(original.total_nanos, 35_000_000, 'the original is not touched');
  });

  it('adds nothing when the same correction was already published', () => {
    const original = billed();
    const first = restate(original, [], corrected, 99);
    assert.ok(first.kind === 'adjusted');
    assert.deepEqual(restate(original, [first.adjustment], corrected, 100), {
      kind: 'unchanged',
      nowUnpriced: 0,
    });
  });

  it('nets a second correction against the first', () => {
    // After the first restatement input is billed 20,000,000; at 3.00 it is 30,000,000: +10,000,000.
    const original = billed();
    const first = restate(original, [], corrected, 99);
    assert.ok(first.kind === 'adjusted');
    const second = restate(original, [first.adjustment], cardWith('3.00', '10.00'), 100);
    assert.ok(second.kind === 'adjusted');
    assert.equal(second.deltaNanos, 10_000_000n);
    assert.match(second.adjustment.usage.event_id, /^e1:restated:2:/);
  });

  it('bills a formerly unpriced line in full, and leaves a now-unpriced line as billed', () => {
    const unknownBefore = parseRateCardOrThrow(
      `id: card
currency: USD
versions:
  - version: v1
    effective_from: 2024-01-01
    models: [{ provider: openai, match: gpt-4o, input: "2.50" }]
`,
      'card.yaml',
    );
    const usage = modelCallEvent(
      'openai',
      'gpt-4o',
      { input_tokens: 10_000, output_tokens: 1_000 },
      { event_id: 'e2' },
    );
    const outcome = price(usage, unknownBefore);
    assert.ok(outcome.ok);
    const original: PricedEvent = { usage, ...outcome.value, priced_at: 1, adjustment_of: null };
    // Output was unpriced; the corrected card prices it: 1,000 × 10.00 = 10,000,000 (input unchanged).
    const result = restate(original, [], cardWith('2.50', '10.00'), 5);
    assert.ok(result.kind === 'adjusted');
    assert.deepEqual(
      result.adjustment.line_items.map((l) => [l.item, l.cost_nanos]),
      [['output', 10_000_000]],
    );
    // The other way round: output billed at 10.00, corrected card lacks output → nothing changes.
    const back = restate(billed(), [], unknownBefore, 5);
    assert.deepEqual(back, { kind: 'unchanged', nowUnpriced: 1 });
  });

  it('refuses to restate across currencies', () => {
    const euro = parseRateCardOrThrow(
      'id: eur\ncurrency: EUR\nversions:\n  - version: v1\n    effective_from: 2024-01-01\n',
      'eur.yaml',
    );
    assert.equal(restate(billed(), [], euro, 1).kind, 'skipped');
  });
});
