/**
 * Instants from ISO-8601 strings: `Date.parse`, with a fast path for the form the server and the
 * connectors write (`YYYY-MM-DDTHH:MM:SS.sssZ` or without the milliseconds) — the engine parses
 * every assignment's and usage aggregate's dates when it builds.
 */

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The two or more digits of `s` from `at` (length `n`) as a number, or -1 when one is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Milliseconds since the epoch, exactly as `Date.parse(s)` (NaN when it cannot be parsed). */
export function parseInstant(s: string): number {
  const n = s.length;
  if (
    (n === 24 || n === 20) &&
    s.charCodeAt(4) === 45 && // -
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(10) === 84 && // T
    s.charCodeAt(13) === 58 && // :
    s.charCodeAt(16) === 58 &&
    s.charCodeAt(n - 1) === 90 && // Z
    (n === 20 || s.charCodeAt(19) === 46) // .
  ) {
    const y = digits(s, 0, 4);
    const mo = digits(s, 5, 2);
    const d = digits(s, 8, 2);
    const h = digits(s, 11, 2);
    const mi = digits(s, 14, 2);
    const se = digits(s, 17, 2);
    const ms = n === 24 ? digits(s, 20, 3) : 0;
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    if (
      y >= 1000 &&
      mo >= 1 &&
      mo <= 12 &&
      d >= 1 &&
      d <= (mo === 2 && leap ? 29 : DAYS[mo - 1]!) &&
      h >= 0 &&
      h <= 23 &&
      mi >= 0 &&
      mi <= 59 &&
      se >= 0 &&
      se <= 59 &&
      ms >= 0
    )
      return Date.UTC(y, mo - 1, d, h, mi, se, ms);
  }
  return Date.parse(s);
}
