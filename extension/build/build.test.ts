import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ICON_SIZES, renderIcon } from './icons';
import { removeHtmlInjection } from './preact-no-html';

describe('icons rendered from assets/icon.svg', () => {
  it.each(ICON_SIZES.map((s) => [s]))('%i px is a real PNG of that size', (size) => {
    const png = renderIcon(size);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    expect(png.readUInt32BE(16)).toBe(size);
    expect(png.readUInt32BE(20)).toBe(size);
  });
});

describe('Preact without its HTML path', () => {
  const preactModule = join(createRequire(import.meta.url).resolve('preact/package.json'), '../dist/preact.module.js');

  it("replaces the installed Preact's one innerHTML assignment with a throw", () => {
    const code = readFileSync(preactModule, 'utf8');
    const patched = removeHtmlInjection(code);
    expect(patched).not.toMatch(/\.innerHTML=\w+\.__html/);
    expect(patched).toContain('dangerouslySetInnerHTML is disabled');
    // Clearing (innerHTML="") stays: it inserts nothing.
    expect(patched).toContain('.innerHTML=""');
  });

  it('fails the build when the pattern moved (a Preact upgrade), rather than shipping it again', () => {
    expect(() => removeHtmlInjection('el.innerHTML = props.html;')).toThrow(/found 0/);
    expect(() => removeHtmlInjection('(a.innerHTML=b.__html);(c.innerHTML=d.__html)')).toThrow(/found 2/);
  });
});
