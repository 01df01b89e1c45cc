/**
 * Every CRM adapter, and the two questions the rest of AccessLens asks them: which page is this URL
 * (`detectPage`), and did the CRM refuse the user (`detectDenial`).
 */
import type { CrmKind } from '../constants.ts';
import { matchDenialText } from '../denial.ts';
import { matchRules, rulesFor } from './rules.ts';
import { salesforce } from './salesforce.ts';
import type { CrmAdapter, DetectedPage, PageRule } from './types.ts';

export * from './types.ts';
export * from './rules.ts';
export * from './kill-switch.ts';
export { salesforce, SALESFORCE_KEY_PREFIXES } from './salesforce.ts';

/** The built-in adapters (in-house CRMs are read by page rules alone). */
export const ADAPTERS: readonly CrmAdapter[] = [salesforce];

export function adapterFor(kind: CrmKind): CrmAdapter | null {
  return ADAPTERS.find((a) => a.kind === kind) ?? null;
}

function parseUrl(href: string): URL | null {
  try {
    return new URL(href);
  } catch {
    return null;
  }
}

/**
 * Reads `url` with one adapter (and the admins' rules that override it for this tenant): the page,
 * `other` for a page of the CRM that no check knows, null when the URL is not this CRM's.
 */
export function detectWith(adapter: CrmAdapter, href: string | URL, pageRules: readonly PageRule[] = []): DetectedPage | null {
  const url = typeof href === 'string' ? parseUrl(href) : href;
  if (!url || url.protocol !== 'https:' || !adapter.isHost(url.hostname)) return null;
  const tenant = adapter.tenantOf(url);
  const overrides = rulesFor(pageRules, url).filter((r) => r.crm === adapter.kind && (r.tenant === null || r.tenant === tenant));
  const ruled = matchRules(overrides, url);
  if (ruled) return { crm: adapter.kind, tenant, ...ruled.page };
  for (const check of adapter.checks) {
    const page = check.match(url);
    if (page) return { crm: adapter.kind, tenant, ...page };
  }
  return { crm: adapter.kind, tenant, pageKind: 'other', object: null, recordId: null };
}

/** Reads `url` with an in-house CRM's page rules: null when none of them reads it. */
export function detectGeneric(href: string | URL, pageRules: readonly PageRule[]): DetectedPage | null {
  const url = typeof href === 'string' ? parseUrl(href) : href;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return null;
  const ruled = matchRules(
    rulesFor(pageRules, url).filter((r) => r.crm === 'generic'),
    url,
  );
  return ruled ? { crm: 'generic', tenant: ruled.rule.tenant ?? url.host.toLowerCase(), ...ruled.page } : null;
}

/**
 * Which CRM page `url` is: `{ crm, tenant, pageKind, object, recordId }`, or null for anything that is
 * not a CRM page (plain `http:` included, unless an admin's rule reads an in-house CRM served so).
 */
export function detectPage(url: string, options: { pageRules?: readonly PageRule[] } = {}): DetectedPage | null {
  const parsed = parseUrl(url);
  if (!parsed) return null;
  const rules = options.pageRules ?? [];
  for (const adapter of ADAPTERS) {
    const page = detectWith(adapter, parsed, rules);
    if (page) return page;
  }
  return rules.length > 0 ? detectGeneric(parsed, rules) : null;
}

/**
 * The CRM's own refusal phrase found in `pageText` (every language the adapter knows, plus any
 * phrases given, e.g. from page rules), or null. Only the known phrase is returned, never page text.
 */
export function detectDenial(crm: CrmKind, pageText: string, extraPhrases: readonly string[] = []): string | null {
  const adapter = adapterFor(crm);
  const phrases = [...(adapter ? [...adapter.denialPhrases.en, ...adapter.denialPhrases['zh-CN']] : []), ...extraPhrases];
  return phrases.length > 0 ? matchDenialText(pageText, phrases) : null;
}
