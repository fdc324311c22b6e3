import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from './random.ts';
import { createSlabPool, type SlabBlock } from './slabs.ts';

const bytesOf = (pool: ReturnType<typeof createSlabPool>, blocks: SlabBlock[]) =>
  Buffer.concat([...pool.chunks(blocks)]).toString('utf8');

describe('slab pool', () => {
  it('gives back exactly the UTF-8 of what was written, in order, for any subset of blocks', () => {
    const random = createRandom(11);
    const pool = createSlabPool({ slabBytes: 256 });
    const alphabet = ['a', 'b', '\t', '\n', 'é', '€', '😀', '東'];
    const texts = Array.from({ length: 500 }, () =>
      Array.from({ length: random.int(0, 60) }, () => alphabet[random.int(0, alphabet.length - 1)]).join(''),
    );
    const blocks = texts.map((text) => pool.write(text));
    assert.equal(bytesOf(pool, blocks), texts.join(''));
    const odd = blocks.filter((_, i) => i % 3 === 1);
    assert.equal(bytesOf(pool, odd), texts.filter((_, i) => i % 3 === 1).join(''));
  });

  it('joins contiguous blocks of a slab into one chunk instead of one per message', () => {
    const pool = createSlabPool({ slabBytes: 1024 });
    const blocks = Array.from({ length: 100 }, (_, i) => pool.write(`line ${i}\n`));
    assert.equal([...pool.chunks(blocks)].length, 1);
    const more = Array.from({ length: 200 }, (_, i) => pool.write(`line ${i}\n`));
    assert.ok([...pool.chunks([...blocks, ...more])].length >= 2, 'a second slab starts a second chunk');
  });

  it('writes a released slab again, and never one that still holds a block', () => {
    const pool = createSlabPool({ slabBytes: 128 });
    const kept = pool.write('kept: must survive\n');
    const churn: SlabBlock[] = [];
    for (let round = 0; round < 50; round++) {
      const blocks = Array.from({ length: 20 }, (_, i) => pool.write(`round ${round} message ${i}\n`));
      assert.equal(bytesOf(pool, blocks), blocks.map((_, i) => `round ${round} message ${i}\n`).join(''));
      pool.release(blocks, true);
      churn.push(...blocks);
    }
    assert.equal(bytesOf(pool, [kept]), 'kept: must survive\n');
    const { held, free } = pool.stats();
    // 1,000 messages of ~20 bytes through 128-byte slabs took a handful of slabs, not 150.
    assert.ok(held + free <= 8, `held ${held} + free ${free}`);
    assert.ok(free > 0);
  });

  it('does not reuse the slabs of a failed insert, and gives a large block a buffer of its own', () => {
    const pool = createSlabPool({ slabBytes: 64 });
    const failed = Array.from({ length: 10 }, (_, i) => pool.write(`failed ${i}\n`));
    const before = bytesOf(pool, failed);
    pool.release(failed, false);
    assert.equal(pool.stats().free, 0);
    for (let i = 0; i < 100; i++) pool.release([pool.write(`next ${i}\n`)], true);
    assert.equal(bytesOf(pool, failed), before, 'what a dying socket may still read is untouched');

    const large = 'x'.repeat(100);
    const block = pool.write(large);
    assert.equal(bytesOf(pool, [block]), large);
    const freeBefore = pool.stats().free;
    pool.release([block], true);
    assert.equal(pool.stats().free, freeBefore);
  });

  it('hands out blocks to fill in place, which later blocks never overlap', () => {
    const pool = createSlabPool({ slabBytes: 100 });
    const blocks = [10, 50, 40, 1, 99, 100, 30].map((length, i) => {
      const block = pool.allocate(length);
      pool.view(block).fill(i);
      return block;
    });
    blocks.forEach((block, i) => {
      assert.equal(pool.view(block).length, [10, 50, 40, 1, 99, 100, 30][i]);
      assert.ok(
        pool.view(block).every((byte) => byte === i),
        `block ${i} intact`,
      );
    });
    const large = pool.allocate(1_000);
    assert.equal(pool.view(large).length, 1_000);
  });
});
