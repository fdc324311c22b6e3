/**
 * Java-compatible key partitioning without kafkajs's per-message costs. A run's events must land on one
 * partition (per-run state in every later stage is partition-local), and on the SAME partition
 * whichever producer wrote them (the Java client, the ingest service, the SDK, the pricer): that is
 * `toPositive(murmur2(keyBytes)) % partitions`, the rule of Kafka's default partitioner.
 *
 * kafkajs's own DefaultPartitioner computes the same, but its murmur2 multiplies in BigInt-backed
 * Longs and it filters the partition list once per message: 10 % of the pricer's CPU in a profile.
 */
import type { Kafka } from './kafka.ts';

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

type ProducerConfig = NonNullable<Parameters<Kafka['producer']>[0]>;
export type CreatePartitioner = NonNullable<ProducerConfig['createPartitioner']>;

/**
 * kafkajs's DefaultPartitioner, rule for rule: a message's own `partition` wins; a key goes to
 * `toPositive(murmur2(key)) % partitions`; a message without either goes round robin over the
 * partitions that have a leader.
 */
export const keyPartitioner: CreatePartitioner = () => {
  let counter = Math.floor(Math.random() * 0x7fffffff);
  return ({ partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const { key } = message;
    if (key !== null && key !== undefined) {
      const bytes = typeof key === 'string' ? Buffer.from(key) : key;
      return (murmur2(bytes) & 0x7fffffff) % partitionMetadata.length;
    }
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    counter = (counter + 1) & 0x7fffffff;
    return available.length > 0
      ? available[counter % available.length]!.partitionId
      : counter % partitionMetadata.length;
  };
};
