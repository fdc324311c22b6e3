/**
 * Java-compatible key partitioning. A run's events must land on one partition (per-run state in every
 * later stage is partition-local), and on the SAME partition whichever producer wrote them (the Java
 * client, the ingest service, this SDK): that is `toPositive(murmur2(keyBytes)) % partitions`, the
 * rule of Kafka's default partitioner. The hash is computed once per run and carried on each
 * message, so partitioning a batch costs one modulo per event instead of one murmur2.
 */
import { type CreatePartitioner, murmur2 } from '@tollgate/core/partitioner';
import type { OutboundMessage } from './errors.ts';

/** The non-negative hash a message carries (`keyHash`); the partition is this modulo the count. */
export function keyHash(key: Uint8Array): number {
  return murmur2(key) & 0x7fffffff;
}

/**
 * A kafkajs partitioner for OutboundMessages: the same partition kafkajs' own default partitioner
 * (and Java's) would choose for the key, without hashing it again.
 */
export const runKeyPartitioner: CreatePartitioner =
  () =>
  ({ partitionMetadata, message }) =>
    (message as unknown as OutboundMessage).keyHash % partitionMetadata.length;
