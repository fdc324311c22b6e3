import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chunkBySize, type OutgoingMessage, runKeyPartitioner } from './publisher.ts';

const message = (bytes: number, key = 'run-1'): OutgoingMessage => ({
  topic: 'usage',
  key: Buffer.from(key),
  value: Buffer.alloc(bytes - key.length),
});

describe('chunkBySize', () => {
  test('keeps the order and cuts before a message that would overflow the chunk', () => {
    const messages = [message(400), message(400), message(300), message(900), message(100)];
    const chunks = chunkBySize(messages, 1_000);
    assert.deepEqual(
      chunks.map((c) => c.map((m) => messages.indexOf(m))),
      [[0, 1], [2], [3, 4]],
    );
  });

  test('a message larger than the chunk size travels alone', () => {
    const chunks = chunkBySize([message(100), message(5_000), message(100)], 1_000);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [1, 1, 1],
    );
  });
});

describe('partitioning', () => {
  test("a run key lands where Kafka's Java default partitioner puts it (same as the SDK)", () => {
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
    }));
    const partition = runKeyPartitioner()({
      topic: 'tollgate.usage.v1',
      partitionMetadata,
      message: { key: Buffer.from('foobar'), value: Buffer.alloc(0) },
    });
    // Utils.toPositive(Utils.murmur2("foobar")) % 6, murmur2("foobar") = -790332482 (Kafka's UtilsTest).
    assert.equal(partition, (-790332482 & 0x7fffffff) % 6);
  });
});
