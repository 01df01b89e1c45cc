import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInstant } from './time.ts';

describe('parseInstant', () => {
  it('equals Date.parse on ISO instants, valid or not, and on other strings (property)', () => {
    const two = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0'));
    const iso = fc
      .tuple(fc.integer({ min: 0, max: 9999 }), two, two, two, two, two, fc.integer({ min: 0, max: 999 }), fc.boolean())
      .map(([y, mo, d, h, mi, s, ms, withMs]) => `${String(y).padStart(4, '0')}-${mo}-${d}T${h}:${mi}:${s}${withMs ? `.${String(ms).padStart(3, '0')}` : ''}Z`);
    const near = fc
      .date({ min: new Date('1000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
      .map((d) => d.toISOString());
    fc.assert(
      fc.property(
        fc.oneof(
          iso,
          near,
          fc.string(),
          near.map((s) => s.replace('Z', '+02:00')),
          near.map((s) => s.slice(0, 10)),
        ),
        (s) => {
          expect(Object.is(parseInstant(s), Date.parse(s))).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('handles month lengths and leap years as Date.parse does', () => {
    for (const s of [
      '2024-02-29T00:00:00.000Z',
      '2023-02-29T00:00:00.000Z',
      '1900-02-29T12:00:00Z',
      '2000-02-29T12:00:00Z',
      '2026-04-31T00:00:00.000Z',
      '2026-12-31T23:59:59.999Z',
    ])
      expect(Object.is(parseInstant(s), Date.parse(s)), s).toBe(true);
  });
});
