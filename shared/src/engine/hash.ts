/**
 * Stable 64-bit string hashing (two independent 32-bit FNV-1a/murmur-finalised lanes), for ids that
 * must be identical across recomputation, processes and runtimes.
 */
export function hash64(parts: readonly string[]): string {
  return hashParts(parts, null, null);
}

/** hash64([first, second, ...rest]) without building the array. */
export function hashParts(rest: readonly string[], first: string | null, second: string | null): string {
  return hashPartsPrefixed(rest, first, second, false);
}

/** Hex digit codes: the id is built as one flat string (no concatenation, nothing to flatten later). */
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const h = (x: number, shift: number): number => HEX[(x >>> shift) & 15]!;

/**
 * `hashParts`, optionally as `f_` + the hash (a finding id), as one flat string: ids are kept for
 * every finding, and a concatenated string costs three objects where a flat one costs one.
 */
export function hashPartsPrefixed(rest: readonly string[], first: string | null, second: string | null, findingPrefix: boolean): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  const n = rest.length + (first === null ? 0 : 1) + (second === null ? 0 : 1);
  const skip = n - rest.length;
  for (let p = 0; p < n; p++) {
    const s = p < skip ? (p === 0 && first !== null ? first : second!) : rest[p - skip]!;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    // Separator so ["ab","c"] and ["a","bc"] differ.
    h1 = Math.imul(h1 ^ 0x1f, 0x01000193);
    h2 = Math.imul(h2 ^ 0x1f, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0x85ebca6b);
  h2 ^= h2 >>> 13;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  // prettier-ignore
  return findingPrefix
    ? String.fromCharCode(
        0x66,
        0x5f,
        h(h1, 28),
        h(h1, 24),
        h(h1, 20),
        h(h1, 16),
        h(h1, 12),
        h(h1, 8),
        h(h1, 4),
        h(h1, 0),
        h(h2, 28),
        h(h2, 24),
        h(h2, 20),
        h(h2, 16),
        h(h2, 12),
        h(h2, 8),
        h(h2, 4),
        h(h2, 0),
      )
    : String.fromCharCode(
        h(h1, 28),
        h(h1, 24),
        h(h1, 20),
        h(h1, 16),
        h(h1, 12),
        h(h1, 8),
        h(h1, 4),
        h(h1, 0),
        h(h2, 28),
        h(h2, 24),
        h(h2, 20),
        h(h2, 16),
        h(h2, 12),
        h(h2, 8),
        h(h2, 4),
        h(h2, 0),
      );
}
