import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requests } from './pricer.ts';

const message = (bytes: number) => ({ key: Buffer.from('run'), value: Buffer.alloc(bytes) });
const topics = { priced: 'priced', deadLetters: 'dlq' };

describe('produce requests', () => {
  it('keeps every request under the byte limit, in order, across both topics', () => {
    const priced = Array.from({ length: 10 }, () => message(300));
    const letters = [message(300), message(300)];
    // Each message counts 300 + 3 (key) + 64 (overhead) = 367 bytes; 1,000 bytes hold two.
    const out = requests(priced, letters, 1_000, topics);
    assert.equal(out.length, 6);
    assert.deepEqual(
      out.map((request) => request.map((t) => `${t.topic}:${t.messages.length}`).join(',')),
      ['priced:2', 'priced:2', 'priced:2', 'priced:2', 'priced:2', 'dlq:2'],
    );
    const flattened = out.flatMap((request) => request.flatMap((t) => t.messages));
    assert.deepEqual(flattened, [...priced, ...letters]);
  });

  it('puts one oversized message alone rather than dropping it', () => {
    const out = requests([message(5_000), message(10)], [], 1_000, topics);
    assert.deepEqual(
      out.map((request) => request[0]!.messages.length),
      [1, 1],
    );
  });
});
