import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packBatch, unpackBatch } from './batch-wire.ts';
import { keyHash } from './partitioner.ts';

describe('batch wire format', () => {
  it('round-trips keys, values and hashes, in order, including empty values', () => {
    const messages = ['run-a', 'run-b', 'rün-ç'].flatMap((run, i) =>
      [Buffer.from([0xc3, 0x01, i, 7, 7]), Buffer.alloc(0), Buffer.alloc(4000, i)].map((value) => {
        const key = Buffer.from(run);
        return { key, value, keyHash: keyHash(key) };
      }),
    );
    const packed = packBatch(messages);
    assert.equal(
      packed.byteLength,
      messages.reduce((n, m) => n + 12 + m.key.length + m.value.length, 0),
    );
    const back = unpackBatch(packed);
    assert.equal(back.length, messages.length);
    back.forEach((m, i) => {
      assert.deepEqual(m.key, messages[i]!.key);
      assert.deepEqual(m.value, messages[i]!.value);
      assert.equal(m.keyHash, messages[i]!.keyHash);
    });
  });
});
