import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from './random.ts';

describe('createRandom', () => {
  it('repeats its sequence for a seed, and differs across seeds', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const first = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(
      first,
      Array.from({ length: 5 }, () => b.next()),
    );
    assert.notDeepEqual(
      first,
      Array.from({ length: 5 }, () => c.next()),
    );
  });

  it('keeps int within its bounds, both included, and weighted near its weights', () => {
    const random = createRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) seen.add(random.int(3, 6));
    assert.deepEqual([...seen].sort(), [3, 4, 5, 6]);
    let heavy = 0;
    for (let i = 0; i < 10_000; i++)
      if (
        random.weighted([
          ['heavy', 3],
          ['light', 1],
        ] as const) === 'heavy'
      )
        heavy++;
    assert.ok(heavy > 7_200 && heavy < 7_800, `about three quarters heavy: ${heavy}`);
  });
});
