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
  seen(orgId: string, eventId: string, offset: number): boolean;
  /** Entries currently inside the window. */
  size(): number;
  readonly windowOffsets: number;
}

export function createDedupWindow(windowOffsets: number): DedupWindow {
  if (!Number.isSafeInteger(windowOffsets) || windowOffsets < 0)
    throw new RangeError(`windowOffsets must be a non-negative integer, got ${windowOffsets}`);
  // org_id → (event_id → offset of its latest occurrence). Keyed in two levels so the event_id
  // strings the decoder made are kept as they are, without building a combined key per event
  // (that doubled the memory of a full window).
  const byOrg = new Map<string, Map<string, number>>();
  // A FIFO of occurrences as parallel arrays, trimmed from the head as offsets leave the window.
  const offsets: number[] = [];
  const ids: string[] = [];
  const maps: Map<string, number>[] = [];
  let head = 0;
  let entries = 0;

  function evictBefore(lowest: number): void {
    while (head < offsets.length && offsets[head]! < lowest) {
      const map = maps[head]!;
      const id = ids[head]!;
      if (map.get(id) === offsets[head]) {
        map.delete(id);
        entries--;
      }
      head++;
    }
    // Compact once the consumed head dominates, keeping pushes amortised O(1).
    if (head > 1024 && head * 2 > offsets.length) {
      offsets.splice(0, head);
      ids.splice(0, head);
      maps.splice(0, head);
      head = 0;
    }
  }

  return {
    windowOffsets,
    seen(orgId, eventId, offset) {
      if (windowOffsets === 0) return false;
      evictBefore(offset - windowOffsets);
      let map = byOrg.get(orgId);
      if (map === undefined) {
        map = new Map();
        byOrg.set(orgId, map);
      }
      const previous = map.get(eventId);
      if (previous === undefined) entries++;
      map.set(eventId, offset);
      offsets.push(offset);
      ids.push(eventId);
      maps.push(map);
      return previous !== undefined && previous < offset;
    },
    size() {
      return entries;
    },
  };
}
