/**
 * What the production build (`pnpm build`) ships, checked on the built files: every CRM's content script
 * within the 30 KB gzip budget (a page loads only its CRM's script), no zod or second dictionary in
 * them, the manifest's match patterns exactly each adapter's, and no host permission granted up front.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ADAPTERS, SALESFORCE_API_HOSTS } from '@accesslens/shared';
import { describe, expect, it } from 'vitest';
import { productionExtensionPath } from '../support/browser.ts';

const BUDGET_BYTES = 30 * 1024;
const scripts = join(productionExtensionPath, 'content-scripts');
const manifest = JSON.parse(readFileSync(join(productionExtensionPath, 'manifest.json'), 'utf8')) as {
  content_scripts: { matches: string[]; js: string[]; run_at: string }[];
  host_permissions?: string[];
  optional_host_permissions?: string[];
  permissions: string[];
};

describe('the production build', () => {
  const files = readdirSync(scripts).filter((f) => f.endsWith('.js'));

  it('has a content script per CRM and one for in-house CRMs', () => {
    expect(files.sort()).toEqual([...ADAPTERS.map((a) => `${a.kind}.js`), 'generic.js'].sort());
  });

  it.each(files.map((f) => [f]))('%s is within the 30 KB gzip budget, without zod or the dictionaries', (file) => {
    const code = readFileSync(join(scripts, file));
    const gzip = gzipSync(code, { level: 9 }).length;
    expect(gzip, `${file}: ${gzip} bytes gzip`).toBeLessThanOrEqual(BUDGET_BYTES);
    const text = code.toString('utf8');
    expect(text).not.toContain('ZodError');
    // Strings come from the browser's i18n: neither dictionary is bundled.
    expect(text).not.toContain('Your access to {object}');
    expect(text).not.toContain('您对');
  });

  it("declares each CRM's content script for exactly its adapter's hosts, at document_start", () => {
    for (const adapter of ADAPTERS) {
      const entry = manifest.content_scripts.find((c) => c.js.includes(`content-scripts/${adapter.kind}.js`));
      expect(entry, adapter.kind).toBeDefined();
      expect([...entry!.matches].sort()).toEqual([...adapter.matches].sort());
      expect(entry!.run_at).toBe('document_start');
    }
    // In-house CRMs' script is registered at run time, for the hosts a person allows.
    expect(manifest.content_scripts.some((c) => c.js.includes('content-scripts/generic.js'))).toBe(false);
  });

  it("asks for no host up front but Salesforce's API hosts (already its content script's): in-house hosts are optional, one at a time", () => {
    // The current-user API check after a grant (background/live-check.ts) reads the org's session cookie there.
    expect(manifest.host_permissions ?? []).toEqual([...SALESFORCE_API_HOSTS]);
    const salesforceMatches = ADAPTERS.find((a) => a.kind === 'salesforce')!.matches;
    for (const host of SALESFORCE_API_HOSTS) expect(salesforceMatches).toContain(host);
    expect(manifest.permissions).toContain('cookies');
    expect(manifest.optional_host_permissions).toEqual(['https://*/*', 'http://*/*']);
    expect(manifest.permissions).toContain('scripting');
  });
});
