/**
 * Where the line_items TSV of buffered messages is kept: written into large buffers (slabs) that are
 * used again once the insert that sent them has succeeded.
 *
 * One small Buffer per message (the way this started) cost the sink most of its resident memory:
 * at 17,000 events/s it allocated about 30 MB/s of TSV in Node's 8 KiB pool slabs, held each one
 * past two scavenges (a flush waits up to a second), copied all of it again into the request body
 * chunks, and left both as dead ArrayBuffers until the next full collection, which V8 schedules by
 * heap size and not by this memory. Here a message's TSV is one block of a slab, a request body is
 * the slabs' contiguous runs (no copy), and a slab goes back to the free list when no block of it is
 * held any more, so at a steady rate the TSV allocates nothing.
 *
 * A slab whose blocks were part of a failed insert is never written again: the request body may
 * still be read by a socket being torn down. It is left to the garbage collector.
 */

/** A message's TSV lines: bytes [start, end) of a slab. */
export interface TsvBlock {
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
  write(text: string): TsvBlock;
  /** The blocks' bytes in order, contiguous blocks of a slab joined into one view (nothing copied). */
  chunks(blocks: readonly TsvBlock[]): Generator<Buffer>;
  /**
   * The blocks are no longer needed. `reusable`: nothing can still read them (their insert
   * succeeded, or they were never sent), so their slabs may be written again.
   */
  release(blocks: Iterable<TsvBlock>, reusable: boolean): void;
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

  return {
    write(text) {
      // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
      const most = text.length * 3;
      if (most > slabBytes) {
        const bytes = Buffer.from(text, 'utf8');
        const slab = newSlab(bytes, false);
        slab.used = bytes.length;
        slab.refs = 1;
        return { slab, start: 0, end: bytes.length };
      }
      if (current === undefined || current.bytes.length - current.used < most) {
        const full = current;
        const reused = free.pop();
        if (reused) held += 1;
        current = reused ?? newSlab(Buffer.allocUnsafeSlow(slabBytes), true);
        if (full && full.refs === 0) retire(full);
      }
      const start = current.used;
      current.used += current.bytes.write(text, start, 'utf8');
      current.refs += 1;
      return { slab: current, start, end: current.used };
    },

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
