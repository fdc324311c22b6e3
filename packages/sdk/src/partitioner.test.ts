import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyHash, runKeyPartitioner } from './partitioner.ts';

describe('partitioner', () => {
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
