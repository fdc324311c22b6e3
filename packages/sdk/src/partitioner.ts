/**
 * Java-compatible key partitioning. A run's events must land on one partition (per-run state in every
 * later stage is partition-local), and on the SAME partition whichever producer wrote them (the Java
 * client, the ingest service, this SDK): that is `toPositive(murmur2(keyBytes)) % partitions`, the
 * rule of Kafka's default partitioner. The hash is computed once per run and carried on each
 * message, so partitioning a batch costs one modulo per event instead of one murmur2.
 */
import type { Kafka } from '@tollgate/core';
import type { OutboundMessage } from './errors.ts';

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), 32-bit signed result. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The last 1-3 bytes fold in from the highest down (Java's switch falls through its cases).
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The non-negative hash a message carries (`keyHash`); the partition is this modulo the count. */
export function keyHash(key: Uint8Array): number {
  return murmur2(key) & 0x7fffffff;
}

type ProducerConfig = NonNullable<Parameters<Kafka['producer']>[0]>;
export type CreatePartitioner = NonNullable<ProducerConfig['createPartitioner']>;

/**
 * A kafkajs partitioner for OutboundMessages: the same partition kafkajs' own default partitioner
 * (and Java's) would choose for the key, without hashing it again.
 */
export const runKeyPartitioner: CreatePartitioner =
  () =>
  ({ partitionMetadata, message }) =>
    (message as unknown as OutboundMessage).keyHash % partitionMetadata.length;
