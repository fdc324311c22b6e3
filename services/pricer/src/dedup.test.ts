import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from '@tollgate/core';
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

/** The rule as dedup.ts states it, with the ids themselves: the oracle for the hashed window. */
function referenceWindow(windowOffsets: number) {
  const last = new Map<string, number>();
  const order: { key: string; offset: number }[] = [];
  let head = 0;
  return {
    seen(orgId: string, eventId: string, offset: number): boolean {
      if (windowOffsets === 0) return false;
      while (head < order.length && order[head]!.offset < offset - windowOffsets) {
        const { key, offset: o } = order[head]!;
        if (last.get(key) === o) last.delete(key);
        head++;
      }
      const key = JSON.stringify([orgId, eventId]);
      const previous = last.get(key);
      last.set(key, offset);
      order.push({ key, offset });
      return previous !== undefined && previous < offset;
    },
    size: () => last.size,
  };
}

describe('duplicate window against the rule written with the ids', () => {
  it('makes the same decision for every message of random streams with retries', () => {
    const random = createRandom(21);
    for (const windowOffsets of [0, 1, 7, 300, 5_000]) {
      const window = createDedupWindow(windowOffsets);
      const oracle = referenceWindow(windowOffsets);
      const orgs = ['org-1', 'org-2', 'örg-3'];
      const sent: [string, string][] = [];
      let offset = 0;
      for (let n = 0; n < 20_000; n++) {
        // Mostly new events; some retries of recent ones (near and far), some replays of old ones.
        let event: [string, string];
        const roll = random.next();
        if (roll < 0.8 || sent.length === 0) {
          event = [orgs[random.int(0, 2)]!, `evt-${n}-${random.int(0, 1e9)}`];
          sent.push(event);
        } else {
          const back = roll < 0.95 ? random.int(1, 20) : random.int(1, Math.min(sent.length, 8_000));
          event = sent[Math.max(0, sent.length - back)]!;
        }
        offset += random.next() < 0.1 ? random.int(2, 50) : 1; // gaps: control records, compaction
        assert.equal(window.seen(event[0], event[1], offset), oracle.seen(event[0], event[1], offset));
        if (n % 97 === 0) assert.equal(window.size(), oracle.size(), `size at ${n}, window ${windowOffsets}`);
      }
    }
  });

  it('tells apart pairs whose concatenations read alike, and multibyte ids', () => {
    const window = createDedupWindow(100);
    assert.equal(window.seen('ab', 'c', 1), false);
    assert.equal(window.seen('a', 'bc', 2), false);
    assert.equal(window.seen('é', 'x', 3), false);
    assert.equal(window.seen('e', '\u0301x', 4), false);
    assert.equal(window.seen('a', 'bc', 5), true);
  });
});
