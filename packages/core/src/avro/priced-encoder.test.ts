import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { examplePricedEvent, exampleUsageEvents } from '../contract/examples.ts';
import type { PricedEvent, UsageEvent } from '../contract/types.ts';
import { ValidationError } from '../errors.ts';
import { createAvroCodec, createPricedCodec, createUsageCodec } from './codec.ts';
import { createPricedEncoder } from './priced-encoder.ts';

const usageCodec = createUsageCodec();
const pricedCodec = createPricedCodec();
const encoder = createPricedEncoder();

function priced(usage: UsageEvent): PricedEvent {
  return { ...examplePricedEvent(), usage };
}

describe('createPricedEncoder', () => {
  it('copies usage bodies with the current schemas', () => {
    assert.equal(encoder.splices, true);
  });

  it('writes the same bytes as encoding the whole priced event, for every kind of usage event', () => {
    for (const usage of exampleUsageEvents()) {
      const message = usageCodec.encode(usage);
      // What the pricer holds: the event decoded from the message.
      const decoded = usageCodec.decode(message);
      assert.ok(decoded.ok);
      const event = priced(decoded.value);
      assert.deepEqual(encoder.encode(event, message), pricedCodec.encode(event), usage.kind);
    }
  });

  it('copies the usage bytes rather than encoding the event again', () => {
    const usage = exampleUsageEvents()[0]!;
    const message = usageCodec.encode(usage);
    // The same event with another id than its message: the message's bytes are what gets written.
    const spliced = encoder.encode(priced({ ...usage, event_id: 'not-from-the-message' }), message);
    const decoded = pricedCodec.decode(spliced);
    assert.ok(decoded.ok);
    assert.equal(decoded.value.usage.event_id, usage.event_id);
  });

  it('encodes in full when the usage message has another writer schema, or none', () => {
    const v1 = createAvroCodec<Record<string, unknown>>('usage-event', { version: 1 });
    const usage = exampleUsageEvents().find((e) => e.kind === 'model_call')!;
    const { agent_depth: _depth, ceiling_decision: _ceiling, ...v1Event } = usage;
    const oldMessage = v1.encode(v1Event);
    const decoded = usageCodec.decode(oldMessage);
    assert.ok(decoded.ok && decoded.writer === 'tollgate.UsageEvent@1');
    const event = priced(decoded.value);
    assert.deepEqual(encoder.encode(event, oldMessage), pricedCodec.encode(event));
    assert.deepEqual(encoder.encode(event, null), pricedCodec.encode(event));
  });

  it('writes into the buffer `allocate` gives', () => {
    const usage = exampleUsageEvents()[0]!;
    const message = usageCodec.encode(usage);
    const slab = Buffer.alloc(4096);
    const out = encoder.encode(priced(usage), message, (length) => slab.subarray(100, 100 + length));
    assert.equal(out.buffer, slab.buffer);
    assert.deepEqual(Buffer.from(out), pricedCodec.encode(priced(usage)));
  });

  it('refuses a priced part that does not fit the schema, naming the field', () => {
    const usage = exampleUsageEvents()[0]!;
    const event = priced(usage);
    event.line_items = [{ ...event.line_items[0]!, cost_nanos: 1.5 }];
    assert.throws(
      () => encoder.encode(event, usageCodec.encode(usage)),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.match(err.message, /line_items/);
        return true;
      },
    );
  });
});
