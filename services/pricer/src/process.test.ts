import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  createDeadLetterCodec,
  createPricedCodec,
  createPricedEncoder,
  createUsageCodec,
  parseRateCardOrThrow,
} from '@tollgate/core';
import { modelCallEvent } from '@tollgate/core/ratecard/testing';
import { DEFAULT_RATE_CARD_FILE } from './config.ts';
import { createDedupWindow } from './dedup.ts';
import { processMessages, type SourceMessage } from './process.ts';

const codecs = {
  usage: createUsageCodec(),
  priced: createPricedEncoder(),
  deadLetter: createDeadLetterCodec(),
};
const pricedCodec = createPricedCodec();
const card = parseRateCardOrThrow(readFileSync(DEFAULT_RATE_CARD_FILE, 'utf8'), 'ratecards/default.yaml');

function message(offset: number, value: Buffer, key = 'run-1'): SourceMessage {
  return { offset: String(offset), key: Buffer.from(key), value };
}

// gpt-4o: 1,000 uncached × 2.50 = 2,500,000 nanos; 100 output × 10.00 = 1,000,000. Total 3,500,000.
const call = (eventId: string) =>
  modelCallEvent(
    'openai',
    'gpt-4o',
    { input_tokens: 1_000, output_tokens: 100 },
    { event_id: eventId, run_id: 'run-9' },
  );

function run(messages: SourceMessage[], committedOffset = 0, window = createDedupWindow(1_000)) {
  return processMessages(messages, {
    codecs,
    card,
    window,
    topic: 'tollgate.usage.v1',
    partition: 2,
    committedOffset,
    pricedAtMs: 1_800_000_000_000,
  });
}

describe('processing a batch', () => {
  it('prices a valid event into a PricedEvent keyed by run id, with the card reference', () => {
    const result = run([message(0, codecs.usage.encode(call('e1')))]);
    assert.equal(result.priced.length, 1);
    assert.equal(result.priced[0]!.key!.toString(), 'run-9');
    const decoded = pricedCodec.decode(result.priced[0]!.value);
    assert.ok(decoded.ok);
    assert.equal(decoded.value.usage.event_id, 'e1');
    assert.equal(decoded.value.total_nanos, 3_500_000);
    assert.equal(decoded.value.currency, 'USD');
    assert.deepEqual(decoded.value.rate_card, {
      id: 'default',
      version: '2026-11-28',
      content_hash: card.contentHash,
    });
    assert.equal(decoded.value.adjustment_of, null);
    assert.equal(result.totalNanos, 3_500_000n);
  });

  it('dead-letters undecodable and invalid events with the original bytes and the reason', () => {
    const garbage = Buffer.from('not avro at all');
    const invalid = call('e2');
    invalid.model_call!.cache_read_tokens = 5_000; // more than input_tokens
    const invalidBytes = codecs.usage.encode(invalid);
    const result = run([
      message(7, garbage),
      message(8, invalidBytes),
      message(9, codecs.usage.encode(call('e3'))),
    ]);
    assert.equal(result.priced.length, 1, 'the partition moves on past bad events');
    assert.equal(result.deadLetters.length, 2);
    const [first, second] = result.deadLetters.map((m) => {
      const d = codecs.deadLetter.decode(m.value);
      assert.ok(d.ok);
      return d.value;
    });
    assert.equal(first!.reason_code, 'not_single_object');
    assert.deepEqual(Buffer.from(first!.payload), garbage);
    assert.equal(first!.source_offset, '7');
    assert.equal(first!.source_partition, 2);
    assert.equal(first!.source_topic, 'tollgate.usage.v1');
    assert.equal(first!.stage, 'pricer');
    assert.equal(second!.reason_code, 'invariant_violated');
    assert.match(second!.reason, /cache/);
    assert.deepEqual(Buffer.from(second!.payload), invalidBytes);
    assert.deepEqual(Object.fromEntries(result.counts.deadLetters), {
      not_single_object: 1,
      invariant_violated: 1,
    });
  });

  it('drops a retried event_id within the window, once', () => {
    const bytes = codecs.usage.encode(call('e4'));
    const result = run([message(0, bytes), message(1, codecs.usage.encode(call('e5'))), message(2, bytes)]);
    assert.equal(result.priced.length, 2);
    assert.equal(result.counts.duplicates, 1);
  });

  it('only feeds the window with messages below the committed offset', () => {
    const window = createDedupWindow(1_000);
    const bytes = codecs.usage.encode(call('e6'));
    const result = run(
      [message(10, bytes), message(11, codecs.usage.encode(call('e7'))), message(12, bytes)],
      12,
      window,
    );
    assert.equal(result.counts.replayed, 2);
    assert.equal(result.priced.length, 0, 'offset 12 repeats e6 from offset 10, handled before the restart');
    assert.equal(result.counts.duplicates, 1);
  });

  it('counts unpriced lines', () => {
    const unknown = modelCallEvent(
      'openai',
      'gpt-9',
      { input_tokens: 10, output_tokens: 5 },
      { event_id: 'e8' },
    );
    const result = run([message(0, codecs.usage.encode(unknown))]);
    assert.equal(result.counts.unpricedLines, 2);
    const decoded = pricedCodec.decode(result.priced[0]!.value);
    assert.ok(decoded.ok && decoded.value.has_unpriced);
  });
});

describe('oversized output', () => {
  it('dead-letters an event whose priced form would exceed the message limit, instead of stalling', () => {
    const big = call('e9');
    big.tags = { note: 'x'.repeat(5_000) };
    const result = processMessages([message(0, codecs.usage.encode(big))], {
      codecs,
      card,
      window: createDedupWindow(10),
      topic: 'tollgate.usage.v1',
      partition: 0,
      committedOffset: 0,
      pricedAtMs: 1,
      maxPricedBytes: 4_096,
    });
    assert.equal(result.priced.length, 0);
    const letter = codecs.deadLetter.decode(result.deadLetters[0]!.value);
    assert.ok(letter.ok);
    assert.equal(letter.value.reason_code, 'priced_too_large');
  });
});
