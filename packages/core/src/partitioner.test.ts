import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Partitioners } from './kafka.ts';
import { keyPartitioner, murmur2 } from './partitioner.ts';
import { createRandom } from './random.ts';

const metadata = (count: number, leaderless: number[] = []) =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
  }));

describe('keyPartitioner', () => {
  it("matches the Java client's murmur2 on Kafka's own test vectors", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, expected] of cases) assert.equal(murmur2(Buffer.from(key)), expected, key);
  });

  it("chooses kafkajs's DefaultPartitioner's partition for every key, count and key type", () => {
    const random = createRandom(7);
    const ours = keyPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 3_000; i++) {
      const partitionMetadata = metadata(random.int(1, 64));
      const text = `run-${random.int(0, 1e9)}-${'x'.repeat(random.int(0, 7))}`;
      const key = random.chance(0.5) ? Buffer.from(text) : text;
      const message = { key, value: 'v' };
      assert.equal(
        ours({ topic: 't', partitionMetadata, message }),
        theirs({ topic: 't', partitionMetadata, message }),
        text,
      );
    }
  });

  it('keeps an explicit partition and spreads keyless messages over partitions with a leader', () => {
    const partitioner = keyPartitioner();
    const partitionMetadata = metadata(4, [1, 3]);
    assert.equal(
      partitioner({ topic: 't', partitionMetadata, message: { key: 'k', value: 'v', partition: 3 } }),
      3,
    );
    const chosen = new Set<number>();
    for (let i = 0; i < 20; i++)
      chosen.add(partitioner({ topic: 't', partitionMetadata, message: { value: 'v' } }));
    assert.deepEqual([...chosen].sort(), [0, 2]);
  });
});
