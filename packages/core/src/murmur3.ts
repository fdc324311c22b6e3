/**
 * MurmurHash3, x86 128-bit variant (Austin Appleby's MurmurHash3_x86_128 from SMHasher), in 32-bit
 * integer arithmetic. Not a cryptographic hash: for identifying keys that nobody crafts to collide.
 * A test holds it to an independent implementation (murmurhash3js-revisited) on random inputs.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const word = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);

/** Tail bytes as a zero-padded 16-byte block (the reference XORs them into zeroed words). */
const tailBlock = new Uint8Array(16);

/**
 * Hashes `bytes[0, length)` and writes the four 32-bit words of the result (h1..h4, unsigned) to
 * `out`. The reference prints them as h1 h2 h3 h4, each big-endian hex.
 */
export function murmur3x86_128(bytes: Uint8Array, length: number, seed: number, out: Uint32Array): void {
  let h1 = seed | 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;
  const blocks = length >>> 4;
  for (let i = 0; i < blocks; i++) {
    const at = i << 4;
    let k1 = word(bytes, at);
    let k2 = word(bytes, at + 4);
    let k3 = word(bytes, at + 8);
    let k4 = word(bytes, at + 12);

    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl(h1, 19);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl(h2, 17);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl(h3, 15);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl(h4, 13);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  const rest = length & 15;
  if (rest > 0) {
    tailBlock.fill(0);
    tailBlock.set(bytes.subarray(blocks << 4, length));
    // Each word is mixed in only when the tail reaches into it, as the reference's switch does.
    if (rest > 12) h4 ^= Math.imul(rotl(Math.imul(word(tailBlock, 12), C4), 18), C1);
    if (rest > 8) h3 ^= Math.imul(rotl(Math.imul(word(tailBlock, 8), C3), 17), C4);
    if (rest > 4) h2 ^= Math.imul(rotl(Math.imul(word(tailBlock, 4), C2), 16), C3);
    h1 ^= Math.imul(rotl(Math.imul(word(tailBlock, 0), C1), 15), C2);
  }

  h1 ^= length;
  h2 ^= length;
  h3 ^= length;
  h4 ^= length;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}
