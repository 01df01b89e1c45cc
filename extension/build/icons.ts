/**
 * The toolbar and store icons, rendered from the one committed source `assets/icon.svg` at build time
 * (resvg, no network): 16 and 32 for the toolbar, 48 for the extensions page, 96 for Firefox's add-ons
 * manager on high-density screens, 128 for the Chrome Web Store and Edge Add-ons listings.
 */
import { Resvg } from '@resvg/resvg-js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ICON_SIZES = [16, 32, 48, 96, 128] as const;
export const ICON_SOURCE = join(import.meta.dirname, '../assets/icon.svg');

/** `{ "16": "icon/16.png", … }` for the manifest's `icons` and `action.default_icon`. */
export const iconPaths = (): Record<string, string> => Object.fromEntries(ICON_SIZES.map((s) => [String(s), `icon/${s}.png`]));

/** Renders one size as a PNG. */
export function renderIcon(size: number, svg: string = readFileSync(ICON_SOURCE, 'utf8')): Buffer {
  return new Resvg(svg, { fitTo: { mode: 'width', value: size }, background: 'rgba(0,0,0,0)' }).render().asPng();
}

/** Writes every size under `dir` and says where each went (for the build's public files). */
export function writeIcons(dir: string): { absoluteSrc: string; relativeDest: string }[] {
  mkdirSync(dir, { recursive: true });
  const svg = readFileSync(ICON_SOURCE, 'utf8');
  return ICON_SIZES.map((size) => {
    const absoluteSrc = join(dir, `${size}.png`);
    writeFileSync(absoluteSrc, renderIcon(size, svg));
    return { absoluteSrc, relativeDest: `icon/${size}.png` };
  });
}
