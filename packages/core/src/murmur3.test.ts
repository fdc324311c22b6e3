import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { murmur3x86_128 } from './murmur3.ts';
import { createRandom } from './random.ts';

// An independent implementation of the same reference algorithm, used as the oracle.
const reference: { x86: { hash128(bytes: Uint8Array, seed?: number): string } } = createRequire(
  import.meta.url,
)('murmurhash3js-revisited');

const hex = (bytes: Uint8Array, seed: number) => {
  const out = new Uint32Array(4);
  murmur3x86_128(bytes, bytes.length, seed, out);
  return [...out].map((w) => w.toString(16).padStart(8, '0')).join('');
};

describe('murmur3x86_128', () => {
  it('matches the reference on every length up to three blocks and on random inputs', () => {
    const random = createRandom(3);
    for (let length = 0; length <= 48; length++) {
      for (const seed of [0, 1, 0x9747b28c, 0xffffffff]) {
        const bytes = Uint8Array.from({ length }, () => random.int(0, 255));
        assert.equal(hex(bytes, seed), reference.x86.hash128(bytes, seed), `length ${length}, seed ${seed}`);
      }
    }
    for (let n = 0; n < 500; n++) {
      const bytes = Uint8Array.from({ length: random.int(0, 300) }, () => random.int(0, 255));
      assert.equal(hex(bytes, 0), reference.x86.hash128(bytes, 0));
    }
  });

  it('hashes only the first `length` bytes of a larger buffer', () => {
    const bytes = Buffer.from('org-1/evt-0123456789abcdef0123456789abcdef????');
    const out = new Uint32Array(4);
    murmur3x86_128(bytes, 42, 0, out);
    assert.equal(
      [...out].map((w) => w.toString(16).padStart(8, '0')).join(''),
      reference.x86.hash128(bytes.subarray(0, 42), 0),
    );
  });
});
