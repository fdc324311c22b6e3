/**
 * A batch of encoded events packed into one ArrayBuffer, so it crosses to the producer thread as a
 * single transfer (no copy, no per-message structured clone). Layout per message, little-endian:
 *   u32 key length | u32 value length | u32 key hash | key bytes | value bytes
 */
import type { OutboundMessage } from './errors.ts';

const HEADER_BYTES = 12;

export function packBatch(messages: readonly OutboundMessage[]): ArrayBuffer {
  let total = 0;
  for (const m of messages) total += HEADER_BYTES + m.key.length + m.value.length;
  // allocUnsafeSlow: a buffer that owns its ArrayBuffer outright, so transferring it moves nothing else.
  const out = Buffer.allocUnsafeSlow(total);
  let pos = 0;
  for (const m of messages) {
    out.writeUInt32LE(m.key.length, pos);
    out.writeUInt32LE(m.value.length, pos + 4);
    out.writeUInt32LE(m.keyHash, pos + 8);
    pos += HEADER_BYTES;
    pos += m.key.copy(out, pos);
    pos += m.value.copy(out, pos);
  }
  return out.buffer as ArrayBuffer;
}

/** The messages of a packed batch, as views into it (nothing is copied). */
export function unpackBatch(packed: ArrayBuffer): OutboundMessage[] {
  const buf = Buffer.from(packed);
  const messages: OutboundMessage[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const keyLength = buf.readUInt32LE(pos);
    const valueLength = buf.readUInt32LE(pos + 4);
    const keyHash = buf.readUInt32LE(pos + 8);
    pos += HEADER_BYTES;
    const key = buf.subarray(pos, pos + keyLength);
    pos += keyLength;
    messages.push({ key, value: buf.subarray(pos, pos + valueLength), keyHash });
    pos += valueLength;
  }
  return messages;
}
