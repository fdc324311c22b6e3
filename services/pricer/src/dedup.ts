/**
 * Dropping duplicate event_ids from producer retries, per usage partition.
 *
 * The rule, a pure function of the partition's log: the message at offset `o` is a duplicate when a
 * valid event (it decoded and passed validateUsageEvent) with the same (org_id, event_id) sits at an
 * offset in [o − windowOffsets, o) of the same partition. Usage events are keyed by run_id, so a
 * retried event lands on the partition of its original.
 *
 * Why this survives restarts: the window's content at offset `o` depends only on the messages in
 * [o − windowOffsets, o), which stay in the usage topic (retention 7 days). When a partition is
 * (re)assigned at committed offset C, the pricer re-reads [C − windowOffsets, C), feeding the
 * window without producing anything, and then continues at C with exactly the state an
 * uninterrupted run would have had. Nothing to persist, nothing that can disagree with the log.
 *
 * What the window holds: not the ids but a 128-bit hash of (org_id, event_id) (MurmurHash3 x86_128
 * of their UTF-8, the org's length first so that no two pairs read alike) and the offset, in typed
 * arrays: 32 bytes per entry off the JS heap, where a Map of the id strings took 120 to 145 bytes on
 * it (a full default window of 100,000 offsets on each of 6 partitions: 20 MiB instead of 80). Two
 * different ids share a hash with probability 2^-128; across a full window that is about 10^-33 per
 * event, far below the chance that two random UUIDs (the usual event_id) collide at all.
 */

import { murmur3x86_128 } from '@tollgate/core';

export interface DedupWindow {
  /**
   * Records a valid event at `offset` and says whether it repeats one inside the window. Offsets
   * must be fed in increasing order.
   */
  seen(orgId: string, eventId: string, offset: number): boolean;
  /** Entries currently inside the window. */
  size(): number;
  readonly windowOffsets: number;
}

export function createDedupWindow(windowOffsets: number): DedupWindow {
  if (!Number.isSafeInteger(windowOffsets) || windowOffsets < 0)
    throw new RangeError(`windowOffsets must be a non-negative integer, got ${windowOffsets}`);
  // The occurrences in offset order, a ring of `capacity` (a power of two): hash words and offset.
  let capacity = 1024;
  let hashes = new Uint32Array(capacity * 4);
  let offsets = new Float64Array(capacity);
  /** 1 while the occurrence is the latest of its key (the one the index points at). */
  let latest = new Uint8Array(capacity);
  let head = 0;
  let count = 0;
  // Index: open addressing with linear probing, slot = ring position + 1 (0 = empty), kept at most
  // half full; keyed by the hash's first word.
  let slots = new Int32Array(capacity * 2);
  let mask = slots.length - 1;
  let entries = 0;

  const hash = new Uint32Array(4);
  let scratch = Buffer.allocUnsafe(256);

  function hashKey(orgId: string, eventId: string): void {
    const most = 4 + (orgId.length + eventId.length) * 3;
    if (scratch.length < most) scratch = Buffer.allocUnsafe(most * 2);
    const orgBytes = scratch.write(orgId, 4, 'utf8');
    scratch.writeUInt32LE(orgBytes, 0);
    const length = 4 + orgBytes + scratch.write(eventId, 4 + orgBytes, 'utf8');
    murmur3x86_128(scratch, length, 0, hash);
  }

  /** The slot holding `hash`, or the empty slot where it would go (negative: -(index + 1)). */
  function find(): number {
    let i = hash[0]! & mask;
    for (;;) {
      const slot = slots[i]!;
      if (slot === 0) return -(i + 1);
      const at = (slot - 1) * 4;
      if (
        hashes[at] === hash[0] &&
        hashes[at + 1] === hash[1] &&
        hashes[at + 2] === hash[2] &&
        hashes[at + 3] === hash[3]
      )
        return i;
      i = (i + 1) & mask;
    }
  }

  /** Empties slot `i`, moving later entries of its probe run back (no tombstones). */
  function removeSlot(i: number): void {
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const slot = slots[j]!;
      if (slot === 0) break;
      const home = hashes[(slot - 1) * 4]! & mask;
      // The entry at j may move to i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      slots[i] = slot;
      i = j;
    }
    slots[i] = 0;
  }

  function insertSlot(position: number): void {
    let i = hashes[position * 4]! & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = position + 1;
  }

  /** Doubles the ring (unrolled to start at 0) and rebuilds the index for it. */
  function grow(): void {
    const size = capacity * 2;
    const nextHashes = new Uint32Array(size * 4);
    const nextOffsets = new Float64Array(size);
    const nextLatest = new Uint8Array(size);
    for (let n = 0; n < count; n++) {
      const from = (head + n) & (capacity - 1);
      nextHashes.set(hashes.subarray(from * 4, from * 4 + 4), n * 4);
      nextOffsets[n] = offsets[from]!;
      nextLatest[n] = latest[from]!;
    }
    capacity = size;
    hashes = nextHashes;
    offsets = nextOffsets;
    latest = nextLatest;
    head = 0;
    slots = new Int32Array(size * 2);
    mask = slots.length - 1;
    for (let n = 0; n < count; n++) if (latest[n] === 1) insertSlot(n);
  }

  function evictBefore(lowest: number): void {
    while (count > 0 && offsets[head]! < lowest) {
      if (latest[head] === 1) {
        hash.set(hashes.subarray(head * 4, head * 4 + 4));
        removeSlot(find());
        entries--;
      }
      head = (head + 1) & (capacity - 1);
      count--;
    }
  }

  return {
    windowOffsets,
    seen(orgId, eventId, offset) {
      if (windowOffsets === 0) return false;
      evictBefore(offset - windowOffsets);
      if (count === capacity) grow();
      hashKey(orgId, eventId);
      const found = find();
      const position = (head + count) & (capacity - 1);
      hashes.set(hash, position * 4);
      offsets[position] = offset;
      latest[position] = 1;
      count++;
      if (found < 0) {
        slots[-found - 1] = position + 1;
        entries++;
        return false;
      }
      // Seen before: the index points at this occurrence now.
      const previous = slots[found]! - 1;
      latest[previous] = 0;
      slots[found] = position + 1;
      return offsets[previous]! < offset;
    },
    size() {
      return entries;
    },
  };
}
