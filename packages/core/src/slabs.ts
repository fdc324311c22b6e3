/**
 * Bytes that wait for a request (a message's line_items TSV in the sink until its insert, a priced
 * event in the pricer until its transaction ends), written into large buffers (slabs) that are used
 * again once that request is over.
 *
 * One small Buffer per message, the way both started, cost most of their resident memory: at 17,000
 * events/s the sink allocated about 30 MB/s of TSV from Node's 8 KiB pool, held each piece past two
 * scavenges (a flush waits up to a second), copied it again into request body chunks, and left all
 * of it as dead ArrayBuffers until the next full collection, which V8 schedules by heap size, not by
 * this memory. Here a message's bytes are one block of a slab, a request body can be the slabs'
 * contiguous runs (no copy), and a slab goes back to the free list when no block of it is held any
 * more: at a steady rate nothing is allocated.
 *
 * A slab with a block in a failed request is never written again (`release(…, false)`): that request
 * may still be read by a socket being torn down, or retried. It is left to the garbage collector.
 * The pool is for one thread; nothing here is shared.
 */

/** A message's bytes: [start, end) of a slab. */
export interface SlabBlock {
  readonly slab: Slab;
  readonly start: number;
  readonly end: number;
}

interface Slab {
  readonly bytes: Buffer;
  /** Bytes written so far. */
  used: number;
  /** Blocks handed out and not yet released. */
  refs: number;
  /** False once a block of it was sent in a failed insert, or for a slab sized to one large block. */
  reusable: boolean;
}

export interface SlabPool {
  /** Writes `text` (UTF-8) into the current slab, or a fresh one when it does not fit. */
  write(text: string): SlabBlock;
  /** A block of `length` bytes for the caller to fill (through `view`). */
  allocate(length: number): SlabBlock;
  /** The block's bytes (a view of its slab, valid until the block is released). */
  view(block: SlabBlock): Buffer;
  /** The blocks' bytes in order, contiguous blocks of a slab joined into one view (nothing copied). */
  chunks(blocks: readonly SlabBlock[]): Generator<Buffer>;
  /**
   * The blocks are no longer needed. `reusable`: nothing can still read them (their insert
   * succeeded, or they were never sent), so their slabs may be written again.
   */
  release(blocks: Iterable<SlabBlock>, reusable: boolean): void;
  /** Slabs holding blocks now, and slabs free for reuse. */
  stats(): { held: number; free: number; slabBytes: number };
}

export function createSlabPool({
  slabBytes = 1024 * 1024,
  maxFree = 32,
}: {
  slabBytes?: number;
  /** Free slabs kept for reuse; beyond this a released slab is left to the garbage collector. */
  maxFree?: number;
} = {}): SlabPool {
  const free: Slab[] = [];
  let current: Slab | undefined;
  let held = 0;

  function newSlab(bytes: Buffer, reusable: boolean): Slab {
    held += 1;
    return { bytes, used: 0, refs: 0, reusable };
  }

  /** The slab holds no block and is not being written: keep it for reuse or let it go. */
  function retire(slab: Slab): void {
    held -= 1;
    if (slab.reusable && free.length < maxFree) {
      slab.used = 0;
      free.push(slab);
    }
  }

  /** A slab with at least `room` bytes left, with a hold on it; `room` is at most slabBytes. */
  function slabWithRoom(room: number): Slab {
    if (current === undefined || current.bytes.length - current.used < room) {
      const full = current;
      const reused = free.pop();
      if (reused) held += 1;
      current = reused ?? newSlab(Buffer.allocUnsafeSlow(slabBytes), true);
      if (full && full.refs === 0) retire(full);
    }
    current.refs += 1;
    return current;
  }

  /** A block too large for a slab: a buffer of its own, never reused. */
  function ownSlab(bytes: Buffer): SlabBlock {
    const slab = newSlab(bytes, false);
    slab.used = bytes.length;
    slab.refs = 1;
    return { slab, start: 0, end: bytes.length };
  }

  return {
    write(text) {
      // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
      const most = text.length * 3;
      if (most > slabBytes) return ownSlab(Buffer.from(text, 'utf8'));
      const slab = slabWithRoom(most);
      const start = slab.used;
      slab.used += slab.bytes.write(text, start, 'utf8');
      return { slab, start, end: slab.used };
    },

    allocate(length) {
      if (length > slabBytes) return ownSlab(Buffer.allocUnsafe(length));
      const slab = slabWithRoom(length);
      const start = slab.used;
      slab.used += length;
      return { slab, start, end: slab.used };
    },

    view: (block) => block.slab.bytes.subarray(block.start, block.end),

    *chunks(blocks) {
      let slab: Slab | undefined;
      let start = 0;
      let end = 0;
      for (const block of blocks) {
        if (block.slab === slab && block.start === end) {
          end = block.end;
          continue;
        }
        if (slab && end > start) yield slab.bytes.subarray(start, end);
        slab = block.slab;
        start = block.start;
        end = block.end;
      }
      if (slab && end > start) yield slab.bytes.subarray(start, end);
    },

    release(blocks, reusable) {
      for (const { slab } of blocks) {
        slab.refs -= 1;
        if (!reusable) slab.reusable = false;
        if (slab.refs > 0) continue;
        if (slab !== current) retire(slab);
        else if (slab.reusable) slab.used = 0; // nothing of it is held: write it again from the start
      }
    },

    stats: () => ({ held, free: free.length, slabBytes }),
  };
}
