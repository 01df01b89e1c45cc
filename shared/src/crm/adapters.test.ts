/**
 * Conventions every adapter keeps, enforced here rather than by review: each page check has examples
 * and detects them exactly; no adapter accepts another's examples; the manifest match patterns cover
 * every host the adapter accepts; denial phrases exist in English and Chinese.
 */
import { describe, expect, it } from 'vitest';
import { isApiName } from '../permissions.ts';
import { ADAPTERS, detectDenial, detectPage, detectWith, genericSample, isGenericAdapter, type CrmAdapter, type PageExample } from './index.ts';

/**
 * Chrome's match-pattern semantics for `scheme://host[:port]/path` patterns (host may start with `*.`;
 * without a port the pattern matches any port).
 */
export function matchesPattern(pattern: string, href: string): boolean {
  const m = /^(https?|\*):\/\/(\*|\*\.[^/*:]+|[^/*:]+)(?::(\d+|\*))?(\/.*)$/.exec(pattern);
  if (!m) throw new Error(`not a match pattern: ${pattern}`);
  const [, scheme, host, port, path] = m as unknown as [string, string, string, string | undefined, string];
  const url = new URL(href);
  const proto = url.protocol.slice(0, -1);
  if (scheme === '*' ? proto !== 'http' && proto !== 'https' : proto !== scheme) return false;
  if (port !== undefined && port !== '*' && (url.port || (proto === 'https' ? '443' : '80')) !== port) return false;
  const h = url.hostname.toLowerCase();
  if (host !== '*') {
    if (host.startsWith('*.')) {
      const base = host.slice(2);
      if (h !== base && !h.endsWith(`.${base}`)) return false;
    } else if (h !== host) return false;
  }
  const re = new RegExp(
    `^${path
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(url.pathname + url.search);
}

const examplesOf = (a: CrmAdapter): PageExample[] => [...a.checks.flatMap((c) => c.examples), ...a.otherExamples];
/** The built-in adapters and the in-house (page-rule) adapter over its sample rules. */
const ALL = [...ADAPTERS, genericSample];
/** The page rules detectPage needs to read an adapter's examples (the in-house CRM's own rules). */
const rulesOf = (a: CrmAdapter) => (isGenericAdapter(a) ? a.rules : []);

describe.each(ALL.map((a) => [a.kind, a] as const))('%s adapter', (_kind, adapter) => {
  it('has page checks, each with examples, and examples of other pages and look-alike hosts', () => {
    expect(adapter.checks.length).toBeGreaterThan(0);
    for (const check of adapter.checks) expect(check.examples.length, check.name).toBeGreaterThan(0);
    expect(adapter.otherExamples.some((e) => e.expect === null)).toBe(true);
  });

  it.each(adapter.checks.map((c) => [c.name, c] as const))('check %s detects exactly its examples, first', (_name, check) => {
    for (const example of check.examples) {
      expect(detectWith(adapter, example.url), example.url).toEqual(example.expect);
      const first = adapter.checks.find((c) => c.match(new URL(example.url)) !== null);
      expect(first?.name, `${example.url} is read by another check first`).toBe(check.name);
    }
  });

  it('reads its other examples as `other` pages or as not its own', () => {
    for (const example of adapter.otherExamples) expect(detectWith(adapter, example.url), example.url).toEqual(example.expect);
  });

  it('detectPage gives every example the expected page', () => {
    for (const example of examplesOf(adapter)) expect(detectPage(example.url, { pageRules: rulesOf(adapter) }), example.url).toEqual(example.expect);
  });

  it("accepts no other adapter's examples", () => {
    for (const other of ALL) {
      if (other === adapter) continue;
      for (const example of examplesOf(other)) expect(detectWith(adapter, example.url), `${adapter.kind} read ${example.url}`).toBeNull();
    }
  });

  it('its manifest match patterns cover every page it accepts', () => {
    for (const example of examplesOf(adapter)) {
      if (example.expect === null) continue;
      expect(
        adapter.matches.some((p) => matchesPattern(p, example.url)),
        example.url,
      ).toBe(true);
    }
  });

  it("maps every example's object to a valid catalog object name", () => {
    for (const example of examplesOf(adapter)) {
      if (!example.expect?.object) continue;
      expect(isApiName(adapter.catalogObject(example.expect.object)), `${example.expect.object} → ${adapter.catalogObject(example.expect.object)}`).toBe(true);
    }
  });

  it('declares where its denials show, and each region is a plain selector', () => {
    expect(adapter.denialRegions.length).toBeGreaterThan(0);
    for (const selector of adapter.denialRegions) expect(selector).toMatch(/^[\w\-.#[\]="' :]+$/);
  });

  it('knows denial phrases in English and Chinese, and returns only the phrase', () => {
    expect(adapter.denialPhrases.en.length).toBeGreaterThan(0);
    expect(adapter.denialPhrases['zh-CN'].length).toBeGreaterThan(0);
    for (const phrase of [...adapter.denialPhrases.en, ...adapter.denialPhrases['zh-CN']]) {
      const page = `Customer: Globex, revenue SECRET  ${phrase.toUpperCase()}  more record text`;
      expect(detectDenial(adapter.kind, page)).toBe(phrase);
    }
    expect(detectDenial(adapter.kind, 'Opportunity: Big Deal, Amount 1,000,000')).toBeNull();
  });
});

describe('detectPage', () => {
  it('is null for anything that is not a CRM page', () => {
    for (const url of ['not a url', 'https://example.com/', 'http://localhost:8788/records/Account/1', 'file:///etc/passwd', 'chrome://extensions'])
      expect(detectPage(url), url).toBeNull();
  });

  it('matches Salesforce denial phrases with curly apostrophes and any case', () => {
    expect(detectDenial('salesforce', 'You don\u2019t have access to this record. Ask your administrator for help.')).toBe(
      "You don't have access to this record.",
    );
    expect(detectDenial('salesforce', 'INSUFFICIENT PRIVILEGES')).toBe('Insufficient Privileges');
  });
});
