/**
 * The store packages as a store and its reviewers meet them: `pnpm zip` writes the Chrome, Edge and Firefox
 * archives and the Firefox sources zip; the sources, unzipped into an empty folder, install from their own
 * lockfile and rebuild the Firefox add-on with the command the README gives reviewers — file for file,
 * byte for byte, what the Firefox archive holds.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/server.ts';

const PNPM = ['-y', 'pnpm@10.34.8'];
const output = join(repoRoot, 'extension/.output-store');
const version = (JSON.parse(readFileSync(join(repoRoot, 'extension/package.json'), 'utf8')) as { version: string }).version;
const archive = (suffix: string) => join(output, `accesslens-${version}-${suffix}.zip`);
const ICON_SIZES = ['16', '32', '48', '96', '128'];

/** As a reviewer's shell runs it: not with vitest's NODE_ENV=test (Vite would make a development build of it). */
function reviewerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  for (const name of Object.keys(env)) if (name === 'NODE_ENV' || name.startsWith('VITEST')) delete env[name];
  return env;
}

const run = (args: string[], cwd: string) =>
  execFileSync('npx', [...PNPM, ...args], { cwd, stdio: 'pipe', encoding: 'utf8', env: reviewerEnv(), maxBuffer: 64 << 20 });

async function entries(path: string): Promise<Map<string, Buffer>> {
  const zip = await JSZip.loadAsync(readFileSync(path));
  const out = new Map<string, Buffer>();
  for (const file of Object.values(zip.files)) if (!file.dir) out.set(file.name, await file.async('nodebuffer'));
  return out;
}

function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return out;
}

let scratch: string;

beforeAll(() => {
  run(['zip'], repoRoot);
  scratch = mkdtempSync(join(tmpdir(), 'accesslens-sources-'));
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 120_000);

describe('pnpm zip', () => {
  it('writes the Chrome, Edge and Firefox packages, each with its manifest and every icon size', async () => {
    for (const browser of ['chrome', 'edge', 'firefox']) {
      const files = await entries(archive(browser));
      const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
      expect(manifest.manifest_version, browser).toBe(3);
      for (const size of ICON_SIZES) {
        expect(manifest.icons[size], `${browser} icon ${size}`).toBe(`icon/${size}.png`);
        const png = files.get(`icon/${size}.png`)!;
        expect(png.readUInt32BE(16), `${browser} icon ${size} width`).toBe(Number(size));
      }
      expect(files.has('_locales/en/messages.json') && files.has('_locales/zh_CN/messages.json'), browser).toBe(true);
      if (browser === 'firefox') {
        expect(manifest.browser_specific_settings.gecko.id).toBe('accesslens@accesslens.app');
        expect(manifest.browser_specific_settings.gecko.data_collection_permissions.required).toContain('authenticationInfo');
        expect(manifest.background).toEqual({ scripts: ['background.js'] });
      } else {
        expect(manifest.browser_specific_settings, browser).toBeUndefined();
        expect(manifest.background.service_worker, browser).toBe('background.js');
      }
    }
  });

  it('the Firefox sources rebuild the Firefox package exactly, from a clean folder, with the README command', async () => {
    const sources = await entries(archive('sources'));
    const names = [...sources.keys()];
    // The workspace it needs, and nothing of the server, the tests or a local database.
    for (const needed of [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'extension/package.json',
      'extension/wxt.config.ts',
      'extension/assets/icon.svg',
      'shared/package.json',
    ])
      expect(names, needed).toContain(needed);
    expect(
      names.filter((n) => /^(server|test|docs)\//.test(n) || /\.(db|key)$/.test(n) || n.includes('node_modules/') || n.startsWith('extension/.output')),
    ).toEqual([]);

    for (const [name, content] of sources) {
      const path = join(scratch, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const command = 'npx -y pnpm@10.34.8 install --frozen-lockfile && npx -y pnpm@10.34.8 build:firefox';
    expect(readme).toContain(command);
    run(['install', '--frozen-lockfile', '--prefer-offline'], scratch);
    run(['build:firefox'], scratch);

    const rebuilt = filesUnder(join(scratch, 'extension/.output/firefox-mv3'));
    const shipped = await entries(archive('firefox'));
    expect([...rebuilt.keys()].sort()).toEqual([...shipped.keys()].sort());
    for (const [name, content] of shipped) expect(rebuilt.get(name)!.equals(content), name).toBe(true);
  }, 600_000);
});
