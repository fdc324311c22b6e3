import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeadLetterCodec, createUsageCodec } from './avro/codec.ts';
import { exampleModelCall } from './contract/examples.ts';
import { validateUsageEvent } from './contract/validate.ts';
import {
  createDeadLetter,
  deadLetterForDecodeFailure,
  deadLetterForInvariant,
  deadLetterMessage,
} from './deadletters.ts';

const source = {
  topic: 'tollgate.usage.v1',
  partition: 2,
  offset: '1044',
  key: Buffer.from('run-7f3a'),
  value: Buffer.from([0x01, 0x02, 0x03]),
};

describe('dead letters', () => {
  it('keeps the source coordinates, key and bytes untouched', () => {
    const letter = createDeadLetter({
      stage: 'pricer',
      reasonCode: 'corrupt',
      reason: 'truncated',
      source,
      failedAtMs: 1_762_000_000_000,
    });
    assert.deepEqual(letter, {
      stage: 'pricer',
      reason_code: 'corrupt',
      reason: 'truncated',
      source_topic: 'tollgate.usage.v1',
      source_partition: 2,
      source_offset: '1044',
      key: source.key,
      payload: source.value,
      failed_at: 1_762_000_000_000,
    });
  });

  it('keeps a tombstone (null value) as an empty payload', () => {
    const letter = createDeadLetter({
      stage: 'sink',
      reasonCode: 'corrupt',
      reason: 'x',
      source: { ...source, value: null },
    });
    assert.equal(letter.payload.length, 0);
    assert.ok(Math.abs(letter.failed_at - Date.now()) < 5_000);
  });

  it('turns a decode failure into a dead letter with its code as the reason code', () => {
    const failed = createUsageCodec().decode(Buffer.from('not avro'));
    assert.equal(failed.ok, false);
    if (failed.ok) return;
    const letter = deadLetterForDecodeFailure('pricer', failed, source, 1);
    assert.equal(letter.reason_code, 'not_single_object');
    assert.equal(letter.reason, failed.reason);
  });

  it('turns an invariant violation into invariant_violated naming the field and the rule', () => {
    const event = exampleModelCall();
    event.model_call!.reasoning_tokens = event.model_call!.output_tokens + 1;
    const violation = validateUsageEvent(event);
    assert.equal(violation.ok, false);
    if (violation.ok) return;
    const letter = deadLetterForInvariant('ingest', violation, source, 1);
    assert.equal(letter.reason_code, 'invariant_violated');
    assert.equal(
      letter.reason,
      'model_call.reasoning_tokens: reasoning_tokens must not exceed output_tokens',
    );
  });

  it('builds a DLQ message keyed like the source that decodes back to the letter', () => {
    const codec = createDeadLetterCodec();
    const letter = createDeadLetter({
      stage: 'pricer',
      reasonCode: 'corrupt',
      reason: 'x',
      source,
      failedAtMs: 5,
    });
    const message = deadLetterMessage(codec, letter);
    assert.deepEqual(message.key, source.key);
    assert.deepEqual(codec.decode(message.value), {
      ok: true,
      value: letter,
      writer: 'tollgate.DeadLetter@1',
    });
  });

  it('keys the message with a Buffer view of a Uint8Array key, and null without a key', () => {
    const codec = createDeadLetterCodec();
    const key = new Uint8Array([7, 7, 7]);
    const keyed = deadLetterMessage(
      codec,
      createDeadLetter({ stage: 's', reasonCode: 'c', reason: 'r', source: { ...source, key } }),
    );
    assert.ok(Buffer.isBuffer(keyed.key));
    assert.deepEqual([...keyed.key!], [7, 7, 7]);
    const unkeyed = deadLetterMessage(
      codec,
      createDeadLetter({ stage: 's', reasonCode: 'c', reason: 'r', source: { ...source, key: null } }),
    );
    assert.equal(unkeyed.key, null);
  });
});
