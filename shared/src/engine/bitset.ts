/** Fixed-width bitsets stored as rows of a flat Uint32Array (row r occupies words [r*W, (r+1)*W)). */

export const wordsFor = (bits: number): number => Math.max(1, (bits + 31) >>> 5);

export function hasBit(bits: Uint32Array, offset: number, i: number): boolean {
  return ((bits[offset + (i >>> 5)]! >>> (i & 31)) & 1) === 1;
}

export function setBit(bits: Uint32Array, offset: number, i: number): void {
  bits[offset + (i >>> 5)]! |= 1 << (i & 31);
}

export function orRow(dst: Uint32Array, dstOff: number, src: Uint32Array, srcOff: number, words: number): void {
  for (let w = 0; w < words; w++) dst[dstOff + w]! |= src[srcOff + w]!;
}

export function rowsIntersect(a: Uint32Array, aOff: number, b: Uint32Array, bOff: number, words: number): boolean {
  for (let w = 0; w < words; w++) if ((a[aOff + w]! & b[bOff + w]!) !== 0) return true;
  return false;
}

export function countRow(bits: Uint32Array, offset: number, words: number): number {
  let n = 0;
  for (let w = 0; w < words; w++) {
    let v = bits[offset + w]!;
    v = v - ((v >>> 1) & 0x55555555);
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    n += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return n;
}

/** Calls fn(i) for every set bit of the row, ascending. */
export function forEachBit(bits: Uint32Array, offset: number, words: number, fn: (i: number) => void): void {
  for (let w = 0; w < words; w++) {
    let v = bits[offset + w]!;
    while (v !== 0) {
      const t = v & -v;
      fn((w << 5) + (31 - Math.clz32(t)));
      v ^= t;
    }
  }
}

/** Set bits of the row as a sorted array. */
export function bitsOf(bits: Uint32Array, offset: number, words: number): number[] {
  const out: number[] = [];
  forEachBit(bits, offset, words, (i) => out.push(i));
  return out;
}
