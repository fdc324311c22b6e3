import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPricedCodec, createRandom, type Random } from '@tollgate/core';
import { examplePricedEvent } from '@tollgate/core/contract/examples';
import type { LineItem, PricedEvent, UsageEvent } from '@tollgate/core/contract/types';
import { checkPricedEvent, runEventRow, type SourcePosition } from './rows.ts';
import { lineItem, pricedEvent, runEvent, spawnEvent } from './testing.ts';
import { createLineItemTranscoder } from './transcode.ts';
import { lineItemTsv } from './tsv.ts';

const codec = createPricedCodec();
const transcoder = createLineItemTranscoder();
const source: SourcePosition = { topic: 'tollgate.priced.v1', partition: 3, offset: '1234567' };
const at = '2026-12-07 12:00:00';

/** What the decoding path stores for these bytes: TSV lines, or why it takes another route. */
function decodingPath(bytes: Buffer, where = source): { tsv: string } | { other: string } {
  const decoded = codec.decode(bytes);
  if (!decoded.ok) return { other: `dead letter ${decoded.code}` };
  const check = checkPricedEvent(decoded.value);
  if (!check.ok) return { other: `dead letter ${check.field}` };
  if (runEventRow(decoded.value, where, at)) return { other: 'run_events row' };
  return { tsv: lineItemTsv(decoded.value, where, at) };
}

function transcoded(bytes: Buffer, where = source): string | undefined {
  assert.ok(transcoder, 'the current PricedEvent schema has a transcoder');
  const lines = transcoder.transcode(bytes, where, at);
  if (lines < 0) return undefined;
  const text = transcoder.output.toString('utf8');
  assert.equal(text.split('\n').length - 1, lines, 'the line count matches the lines written');
  return text;
}

const ODD = [
  '',
  'a\tb',
  'line\nbreak',
  'cr\rhere',
  'back\\slash',
  "quo'te",
  'nul\0byte',
  'ünïcödé',
  '🧾 receipt',
  ' ',
];

function text(r: Random, odd: number): string {
  if (r.chance(odd)) return r.pick(ODD) + r.pick(['', 'x', '-7']);
  const n = r.int(1, 40);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.int(0x20, 0x7e));
  return s;
}

const optional = (r: Random, odd: number) => (r.chance(0.2) ? null : text(r, odd));

function quantity(r: Random): string {
  if (r.chance(0.01)) return '1e5'; // not a decimal: the event is refused
  return r.pick([
    () => String(r.int(0, 10_000_000)),
    () => `${r.int(0, 999)}.${r.int(0, 999_999)}`,
    () => `-${r.int(1, 5000)}`,
    () => `0${r.int(0, 99)}`,
    () => '123456789012345678',
    () => '0.000000000001',
  ])();
}

/** A priced event with every field varied, odd text (escapes, Unicode) with probability `odd`. */
function randomEvent(r: Random, odd: number): PricedEvent {
  const tags: Record<string, string> = {};
  for (let i = r.int(0, 4); i > 0; i--) tags[r.chance(odd) ? r.pick(ODD) : `k${r.int(0, 20)}`] = text(r, odd);
  const lines: LineItem[] = [];
  for (let i = r.int(0, 9); i > 0; i--) {
    const priced = r.chance(0.85);
    lines.push(
      lineItem({
        line_no: r.chance(0.005) ? lines.length - 1 : lines.length,
        category: r.pick([
          'tokens',
          'tools',
          'sandbox',
          'retrieval',
          'egress',
          text(r, odd),
        ]) as LineItem['category'],
        item: text(r, odd),
        unit: r.pick(['token', 'call', 'vcpu_second', 'byte']),
        quantity: quantity(r),
        unit_price: priced ? `0.${r.int(0, 99999)}` : null,
        cost_nanos: priced ? r.int(-5_000_000, 900_000_000_000) : r.chance(0.5) ? null : 7,
        priced,
      }),
    );
  }
  const usage: Partial<UsageEvent> = {
    event_id: r.chance(0.01) ? '' : `evt-${r.int(0, 1e9)}`,
    event_time: r.chance(0.01) ? Date.UTC(2200, 0, 1) : Date.UTC(2026, 11, 7) + r.int(0, 86_400_000),
    kind: r.pick(['model_call', 'tool_call', 'sandbox', 'retrieval', 'egress', 'cache_storage']),
    run_id: text(r, odd),
    agent_id: optional(r, odd),
    parent_agent_id: optional(r, odd),
    agent_name: optional(r, odd),
    agent_depth: r.int(0, 6),
    provider: optional(r, odd),
    model: optional(r, odd),
    service_tier: r.pick(['default', 'batch', 'priority', 'flex']),
    org_id: text(r, odd),
    feature: optional(r, odd),
    customer_id: optional(r, odd),
    environment: optional(r, odd),
    tags,
  };
  return pricedEvent(usage, lines, {
    currency: r.chance(0.02) ? '' : r.pick(['USD', 'EUR']),
    rate_card: { id: text(r, odd), version: text(r, odd), content_hash: `sha256:${r.int(0, 1e9)}` },
    adjustment_of: r.chance(0.1) ? `evt-${r.int(0, 1e6)}` : null,
  });
}

describe('createLineItemTranscoder', () => {
  it('writes the same TSV bytes as lineItemTsv of the decoded event, on the contract example', () => {
    const bytes = codec.encode(examplePricedEvent());
    const expected = decodingPath(bytes);
    assert.ok('tsv' in expected);
    assert.equal(transcoded(bytes), expected.tsv);
  });

  it('writes the same bytes as the decoding path on 5,000 random events, escapes and Unicode included', () => {
    const r = createRandom(7);
    let fast = 0;
    let normal = 0;
    for (let i = 0; i < 5000; i++) {
      const odd = i % 2 === 0 ? 0 : 0.3;
      const bytes = codec.encode(randomEvent(r, odd));
      const where = {
        topic: r.pick(['tollgate.priced.v1', 'odd\ttopic']),
        partition: r.int(0, 63),
        offset: String(r.int(0, 1e12)),
      };
      const expected = decodingPath(bytes, where);
      const got = transcoded(bytes, where);
      if (got !== undefined) {
        fast += 1;
        assert.ok(
          'tsv' in expected,
          `transcoded an event the decoding path refuses (${JSON.stringify(expected)})`,
        );
        assert.equal(got, expected.tsv, `event ${i}`);
      }
      if (odd === 0 && 'tsv' in expected) {
        normal += 1;
        assert.notEqual(got, undefined, `event ${i}: an ordinary ASCII event took the decoding path`);
      }
    }
    // Half the events carry odd text in 30 % of their strings: escapes go through the fast path too.
    assert.ok(fast > 3000, `only ${fast} of 5,000 events transcoded`);
    assert.ok(normal > 2000, `only ${normal} ordinary events`);
  });

  it('declines what the decoding path must handle: lifecycle events, refusals, bytes avsc would replace', () => {
    const declined = (event: PricedEvent) => transcoded(codec.encode(event));
    assert.equal(declined(runEvent('run_start')), undefined, 'run_start has a run_events row');
    assert.equal(declined(runEvent('run_end')), undefined);
    assert.equal(declined(spawnEvent({ id: 'c', name: 'w', depth: 1 })), undefined);
    assert.equal(declined(pricedEvent({ org_id: '' })), undefined, 'empty org_id is dead-lettered');
    assert.equal(declined(pricedEvent({}, [lineItem(), lineItem()])), undefined, 'line_no repeated');
    assert.equal(
      declined(pricedEvent({}, [lineItem({ quantity: '1.' })])),
      undefined,
      'quantity not decimal',
    );
    assert.equal(
      declined(pricedEvent({}, [lineItem({ cost_nanos: null })])),
      undefined,
      'priced without cost',
    );
    assert.equal(declined(pricedEvent({ event_time: -1 })), undefined, 'time before 1970');
    assert.equal(declined(pricedEvent({ tags: { __proto__x: 'a', ['__proto__']: 'b' } })), undefined);
    assert.equal(declined(pricedEvent({ tags: { ключ: 'v' } })), undefined, 'non-ASCII tag key');
    // Invalid UTF-8 in a string: avsc decodes it as U+FFFD, so the decoding path stores that.
    const bytes = codec.encode(pricedEvent({ org_id: 'ACME' }));
    const at = bytes.indexOf('ACME');
    bytes[at + 1] = 0xff;
    assert.equal(transcoded(bytes), undefined);
    const decoded = codec.decode(bytes);
    assert.ok(decoded.ok && decoded.value.usage.org_id === 'A\ufffdME');
  });

  it('never transcodes bytes the decoder or the checks refuse: truncated, extended and mutated messages', () => {
    const r = createRandom(11);
    let mutated = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(codec.encode(randomEvent(r, 0.1)));
      const variant = r.int(0, 2);
      const bad =
        variant === 0
          ? bytes.subarray(0, r.int(0, bytes.length - 1))
          : variant === 1
            ? Buffer.concat([bytes, Buffer.from([r.int(0, 255)])])
            : bytes;
      if (variant === 2) for (let k = r.int(1, 3); k > 0; k--) bad[r.int(10, bad.length - 1)] = r.int(0, 255);
      mutated += 1;
      const expected = decodingPath(bad);
      const got = transcoded(bad);
      if (!('tsv' in expected)) refused += 1;
      if (got !== undefined) {
        assert.ok(
          'tsv' in expected,
          `transcoded bytes the decoding path refuses (${JSON.stringify(expected)})`,
        );
        assert.equal(got, expected.tsv);
      }
    }
    assert.ok(
      refused > mutated / 2,
      `only ${refused} of ${mutated} mutations were refused: the test proves little`,
    );
  });

  it('declines a message written with an unknown schema fingerprint', () => {
    const bytes = Buffer.from(codec.encode(pricedEvent()));
    bytes.writeUInt8(bytes.readUInt8(2) ^ 1, 2);
    assert.equal(transcoded(bytes), undefined);
  });
});
