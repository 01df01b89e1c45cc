import { describe, expect, it } from 'vitest';
import { plainText, textProblem } from './text.ts';

describe('the text rule', () => {
  it('names the first offending character', () => {
    expect(textProblem('a\u0000b')).toBe('must not contain control characters or bidirectional overrides (U+0000 at position 2)');
    expect(textProblem('x\u202Ey')).toMatch(/U\+202E at position 2/);
    expect(textProblem('\uDC00')).toMatch(/U\+DC00 at position 1/);
  });

  it('lets ordinary text through, line breaks and tabs only where several lines are allowed', () => {
    for (const ok of ['Ava Chen', '陈艾娃', 'naïve café', '🚀 launch', 'שלום', '\u200Ezero-width mark']) expect(textProblem(ok)).toBeNull();
    expect(textProblem('one\ntwo')).not.toBeNull();
    expect(textProblem('one\r\ntwo\tthree', { multiline: true })).toBeNull();
    expect(textProblem('one\u000Btwo', { multiline: true })).not.toBeNull();
  });

  it('plainText trims, bounds and refuses', () => {
    expect(plainText(5).parse('  abc  ')).toBe('abc');
    expect(plainText(5).safeParse('abcdef').success).toBe(false);
    expect(plainText(5, { required: true }).safeParse('   ').error?.issues[0]?.message).toBe('is required');
    expect(plainText(50).safeParse('a\u0000b').error?.issues[0]?.message).toMatch(/^must not contain control characters/);
  });
});
