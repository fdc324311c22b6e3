/** Splitting a transaction's output into produce requests the broker accepts. */
import type { Message } from '@tollgate/core';

/**
 * Largest produce request of a transaction. A partition's records go out as one record batch per
 * request, and the broker refuses batches over its max.message.bytes (1 MiB by default).
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

/** Splits outputs into requests of at most about `maxBytes` (one oversized record still goes alone). */
export function chunk(
  outputs: { topic: string; messages: Message[] }[],
  maxBytes: number,
): { topic: string; messages: Message[] }[][] {
  const requests: { topic: string; messages: Message[] }[][] = [];
  let current: { topic: string; messages: Message[] }[] = [];
  let bytes = 0;
  for (const { topic, messages } of outputs) {
    let slice: Message[] = [];
    for (const message of messages) {
      const size = sizeOf(message.key) + sizeOf(message.value) + 32;
      if (bytes + size > maxBytes && bytes > 0) {
        if (slice.length > 0) current.push({ topic, messages: slice });
        requests.push(current);
        current = [];
        slice = [];
        bytes = 0;
      }
      slice.push(message);
      bytes += size;
    }
    if (slice.length > 0) current.push({ topic, messages: slice });
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

function sizeOf(value: Message['value'] | Message['key']): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
