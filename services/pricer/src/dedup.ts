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
 */

export interface DedupWindow {
  /**
   * Records a valid event at `offset` and says whether it repeats one inside the window. Offsets
   * must be fed in increasing order.
   */
  seen(key: string, offset: number): boolean;
  /** Entries currently inside the window. */
  size(): number;
  readonly windowOffsets: number;
}

export function dedupKey(orgId: string, eventId: string): string {
  return `${orgId}\u0000${eventId}`;
}

export function createDedupWindow(windowOffsets: number): DedupWindow {
  if (!Number.isSafeInteger(windowOffsets) || windowOffsets < 0)
    throw new RangeError(`windowOffsets must be a non-negative integer, got ${windowOffsets}`);
  /** key → offset of its latest occurrence. */
  const latest = new Map<string, number>();
  // A FIFO of occurrences as two parallel ring arrays, trimmed from the head as offsets leave.
  const offsets: number[] = [];
  const keys: string[] = [];
  let head = 0;

  function evictBefore(lowest: number): void {
    while (head < offsets.length && offsets[head]! < lowest) {
      const key = keys[head]!;
      if (latest.get(key) === offsets[head]) latest.delete(key);
      head++;
    }
    // Compact once the consumed head dominates, keeping pushes amortised O(1).
    if (head > 1024 && head * 2 > offsets.length) {
      offsets.splice(0, head);
      keys.splice(0, head);
      head = 0;
    }
  }

  return {
    windowOffsets,
    seen(key, offset) {
      if (windowOffsets === 0) return false;
      evictBefore(offset - windowOffsets);
      const previous = latest.get(key);
      const duplicate = previous !== undefined && previous < offset;
      latest.set(key, offset);
      offsets.push(offset);
      keys.push(key);
      return duplicate;
    },
    size() {
      return latest.size;
    },
  };
}
