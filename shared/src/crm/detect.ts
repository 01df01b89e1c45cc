/**
 * Reading a URL and page text with one adapter, without the registry of all adapters: a CRM's content
 * script imports this and its own adapter only, so it does not ship every other CRM's adapter.
 */
import { matchDenialText } from '../denial.ts';
import { detectGeneric, isGenericAdapter } from './generic.ts';
import { matchRules, rulesFor } from './rules.ts';
import type { CrmAdapter, DetectedPage, PageRule } from './types.ts';

export function parseUrl(href: string): URL | null {
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
  if (isGenericAdapter(adapter)) return detectGeneric(href, [...adapter.rules, ...pageRules]);
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

/**
 * The refusal phrase found in `pageText`: the phrases given first (a page rule's), then every
 * language the adapter knows. Only the known phrase is returned, never page text.
 */
export function denialWith(adapter: Pick<CrmAdapter, 'denialPhrases'>, pageText: string, extraPhrases: readonly string[] = []): string | null {
  const phrases = [...extraPhrases, ...adapter.denialPhrases.en, ...adapter.denialPhrases['zh-CN']];
  return phrases.length > 0 ? matchDenialText(pageText, phrases) : null;
}

/**
 * The CRM user id a link names: the href (as written in the page, relative or absolute) resolved
 * against the page's URL, read with the adapter as a page; its record id when that page is one
 * user's (`user-record`). Only the URL is read, never the link's text.
 */
export function userIdInLink(adapter: CrmAdapter, href: string, pageUrl: string | URL, pageRules: readonly PageRule[] = []): string | null {
  if (!href || href.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(href, pageUrl);
  } catch {
    return null;
  }
  const page = detectWith(adapter, url, pageRules);
  return page?.pageKind === 'user-record' && page.recordId ? page.recordId : null;
}
