import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDedupWindow } from './dedup.ts';

describe('duplicate window', () => {
  it('drops a repeat inside the window and keeps one outside it', () => {
    const window = createDedupWindow(3);
    assert.equal(window.seen('o', 'a', 10), false);
    assert.equal(window.seen('o', 'b', 11), false);
    assert.equal(window.seen('o', 'a', 12), true); // 12 − 3 = 9 ≤ 10: inside
    assert.equal(window.seen('o', 'c', 13), false);
    assert.equal(window.seen('o', 'd', 15), false);
    // 'a' was last seen at 12; at 16 the window is [13, 16): 12 has left it.
    assert.equal(window.seen('o', 'a', 16), false);
  });

  it('keys by org and event id together', () => {
    const window = createDedupWindow(10);
    assert.equal(window.seen('org-1', 'e1', 0), false);
    assert.equal(window.seen('org-2', 'e1', 1), false);
    assert.equal(window.seen('org-1', 'e1', 2), true);
  });

  it('reaches the same decisions after a restart that replays the previous window', () => {
    // A stream with retries at various distances; the "restart" at offset 500 rebuilds from [500 − N, 500).
    const N = 50;
    const stream = Array.from(
      { length: 1_000 },
      (_, offset) => `e${offset % 7 === 0 ? offset - (offset % 40) : offset}`,
    );
    const uninterrupted = createDedupWindow(N);
    const expected = stream.map((key, offset) => uninterrupted.seen('o', key, offset));
    const restarted = createDedupWindow(N);
    for (let offset = 500 - N; offset < 500; offset++) restarted.seen('o', stream[offset]!, offset);
    const after = stream.slice(500).map((key, i) => restarted.seen('o', key, 500 + i));
    assert.deepEqual(after, expected.slice(500));
    assert.ok(
      expected.filter(Boolean).length > 10,
      'the stream must contain duplicates for this test to mean anything',
    );
  });

  it('holds at most the window, and nothing when disabled', () => {
    const window = createDedupWindow(100);
    for (let offset = 0; offset < 10_000; offset++) window.seen('o', `e${offset}`, offset);
    assert.equal(window.size(), 101); // the 100 offsets before the newest, and the newest
    const off = createDedupWindow(0);
    assert.equal(off.seen('o', 'a', 1), false);
    assert.equal(off.seen('o', 'a', 2), false);
  });
});
