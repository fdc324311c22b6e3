import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyHash, murmur2, runKeyPartitioner } from './partitioner.ts';

describe('partitioner', () => {
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

  it('puts a key on the partition the Java default partitioner would choose', () => {
    const partition = runKeyPartitioner()({
      topic: 't',
      partitionMetadata: Array.from({ length: 6 }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
        offlineReplicas: [],
      })),
      message: {
        key: Buffer.from('foobar'),
        value: Buffer.alloc(0),
        keyHash: keyHash(Buffer.from('foobar')),
      } as never,
    });
    // toPositive(-790332482) % 6, as Utils.toPositive(Utils.murmur2(key)) % numPartitions
    assert.equal(partition, (-790332482 & 0x7fffffff) % 6);
  });
});
