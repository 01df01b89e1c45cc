/**
 * In-house CRMs, read entirely by the page rules their admins define on the server (synced to every
 * extension). `genericAdapter(rules)` turns a connection's rules into an adapter like the built-in
 * ones (hosts, match patterns for `scripting.registerContentScripts`, one rule-driven page check),
 * so the overlay treats an in-house CRM exactly as it treats Salesforce. `genericSample` is that
 * adapter over a sample rule set, with the examples the cross-adapter conventions test proves.
 */
import { matchRules, rulesFor } from './rules.ts';
import type { CrmAdapter, DenialPhrases, DetectedPage, PageCheck, PageExample, PageRule, UserLinkExample } from './types.ts';

/** An adapter built from page rules: the rules it reads pages with are part of it. */
export interface GenericAdapter extends CrmAdapter {
  kind: 'generic';
  rules: readonly PageRule[];
}

export function isGenericAdapter(adapter: CrmAdapter): adapter is GenericAdapter {
  return adapter.kind === 'generic' && Array.isArray((adapter as Partial<GenericAdapter>).rules);
}

/**
 * Refusal wording most in-house CRMs (and the web frameworks they are built on) use. A rule's own
 * `denialPhrases` come first: pass them to `detectDenial` (see `genericDenialPhrases`).
 */
export const GENERIC_DENIAL_PHRASES: DenialPhrases = {
  en: ['Access denied', 'You do not have permission', "You don't have permission", 'Not authorized to view'],
  'zh-CN': ['访问被拒绝', '没有权限', '无权访问'],
};

function parseUrl(href: string | URL): URL | null {
  if (typeof href !== 'string') return href;
  try {
    return new URL(href);
  } catch {
    return null;
  }
}

/** The in-house CRM's rules that apply to `url` (its host, port and protocol), in priority order. */
function ownRules(rules: readonly PageRule[], url: URL): PageRule[] {
  return rulesFor(rules, url).filter((r) => r.crm === 'generic');
}

/**
 * Reads `url` with an in-house CRM's page rules. null when no rule is for this host, port and
 * protocol (not the CRM); `other` for a page of the CRM that none of its rules reads. The tenant is
 * the rule's (else the host, with its port).
 */
export function detectGeneric(href: string | URL, pageRules: readonly PageRule[]): DetectedPage | null {
  const url = parseUrl(href);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return null;
  const own = ownRules(pageRules, url);
  if (own.length === 0) return null;
  const ruled = matchRules(own, url);
  const tenant = (ruled?.rule ?? own[0]!).tenant ?? url.host.toLowerCase();
  if (ruled) return { crm: 'generic', tenant, ...ruled.page };
  return { crm: 'generic', tenant, pageKind: 'other', object: null, recordId: null };
}

/** The refusal wording of the rule that reads `url` (falls back to every rule of its host), then the defaults. */
export function genericDenialPhrases(href: string | URL, pageRules: readonly PageRule[]): string[] {
  const url = parseUrl(href);
  if (!url) return [];
  const own = ownRules(pageRules, url);
  const rule = matchRules(own, url)?.rule;
  const phrases = rule ? rule.denialPhrases : own.flatMap((r) => r.denialPhrases);
  return [...new Set(phrases)];
}

/** Where web apps usually put a refusal: alerts, dialogs, the main content. */
export const GENERIC_DENIAL_REGIONS: readonly string[] = ['[role="alert"]', '[role="alertdialog"]', '[role="dialog"]', '[role="main"]', 'main'];

/** `host[:port]` → hostname. */
const hostnameOf = (host: string) => host.replace(/:\d+$/, '').toLowerCase();

/**
 * Catalog object names for in-house objects: captured names may hold `.`, `-`, `~` and the like,
 * which the key grammar does not allow; those become `_`, and a name not starting with a letter
 * gets `o_` in front (`sales.order` → `sales_order`, `2024-deals` → `o_2024_deals`).
 */
export function genericCatalogObject(object: string): string {
  let name = object.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z]/.test(name)) name = `o_${name}`;
  return name.slice(0, 80);
}

/** The adapter for the in-house CRMs `rules` describe (rules for built-in CRMs are ignored here). */
export function genericAdapter(rules: readonly PageRule[], examples: readonly PageExample[] = [], otherExamples: readonly PageExample[] = []): GenericAdapter {
  const own = rules.filter((r) => r.crm === 'generic');
  const pageRules: PageCheck = {
    name: 'page-rules',
    match: (url) => matchRules(ownRules(own, url), url)?.page ?? null,
    examples,
  };
  return {
    kind: 'generic',
    rules: own,
    // Chrome match patterns take the port (`http://localhost:8788/*`); without one they match any port.
    matches: [...new Set(own.map((r) => `${r.protocol}://${r.host}/*`))],
    isHost: (hostname) => own.some((r) => hostnameOf(r.host) === hostname.toLowerCase()),
    tenantOf(url) {
      const applying = ownRules(own, url);
      if (applying.length === 0) return null;
      return (matchRules(applying, url)?.rule ?? applying[0]!).tenant ?? url.host.toLowerCase();
    },
    checks: [pageRules],
    otherExamples,
    denialPhrases: GENERIC_DENIAL_PHRASES,
    denialRegions: GENERIC_DENIAL_REGIONS,
    // Rules may read the hash (`#/deals/:recordId`): follow hashchange as well as history changes.
    hashRouting: own.some((r) => r.hash !== null),
    catalogObject: genericCatalogObject,
  };
}

const rule = (over: Partial<PageRule> & Pick<PageRule, 'id' | 'path' | 'pageKind'>): PageRule => ({
  connectionId: 'c-desk',
  crm: 'generic',
  tenant: null,
  host: 'crm.acme.internal',
  protocol: 'https',
  hash: null,
  object: { group: 'object' },
  recordId: { group: 'recordId' },
  denialPhrases: ['You are not allowed to see this record'],
  priority: 10,
  ...over,
});

/**
 * A sample in-house CRM: a server-rendered app on `crm.acme.internal` and a hash-routed one served
 * over plain HTTP on loopback (as the demo CRM of `pnpm start` is). Its "new" page is listed before
 * the record page, which would otherwise read `new` as a record id.
 */
export const GENERIC_SAMPLE_RULES: readonly PageRule[] = /* @__PURE__ */ sampleRules();

function sampleRules(): PageRule[] {
  return [
    rule({ id: 'desk-new', path: '/records/:object/new', pageKind: 'new', recordId: null, priority: 1 }),
    rule({ id: 'desk-record', path: '/records/:object/:recordId', pageKind: 'record' }),
    rule({ id: 'desk-edit', path: '/records/:object/:recordId/edit', pageKind: 'record-edit' }),
    rule({ id: 'desk-list', path: '/records/:object', pageKind: 'list', recordId: null }),
    rule({ id: 'desk-users', path: '/admin/users', pageKind: 'user-list', object: { value: 'User' }, recordId: null }),
    rule({ id: 'desk-user', path: '/admin/users/:recordId', pageKind: 'user-record', object: { value: 'User' } }),
    rule({
      id: 'demo-deal',
      connectionId: 'c-demo',
      tenant: 'demo',
      host: 'localhost:8788',
      protocol: 'http',
      path: '/app',
      hash: '#/deals/:recordId',
      pageKind: 'record',
      object: { value: 'Deal' },
      denialPhrases: ['Access to this deal is restricted'],
    }),
    rule({
      id: 'demo-deals',
      connectionId: 'c-demo',
      tenant: 'demo',
      host: 'localhost:8788',
      protocol: 'http',
      path: '/app',
      hash: '#/deals',
      pageKind: 'list',
      object: { value: 'Deal' },
      recordId: null,
      denialPhrases: [],
    }),
  ];
}

const desk = (page: Omit<DetectedPage, 'crm' | 'tenant'>): DetectedPage => ({ crm: 'generic', tenant: 'crm.acme.internal', ...page });
const demo = (page: Omit<DetectedPage, 'crm' | 'tenant'>): DetectedPage => ({ crm: 'generic', tenant: 'demo', ...page });

export const genericSample: GenericAdapter = /* @__PURE__ */ genericAdapter(
  GENERIC_SAMPLE_RULES,
  [
    { url: 'https://crm.acme.internal/records/Account/42', expect: desk({ pageKind: 'record', object: 'Account', recordId: '42' }) },
    { url: 'https://crm.acme.internal/records/Account/42/edit', expect: desk({ pageKind: 'record-edit', object: 'Account', recordId: '42' }) },
    { url: 'https://crm.acme.internal/records/Invoice/new', expect: desk({ pageKind: 'new', object: 'Invoice', recordId: null }) },
    { url: 'https://crm.acme.internal/records/sales.order?page=2', expect: desk({ pageKind: 'list', object: 'sales.order', recordId: null }) },
    { url: 'https://crm.acme.internal/admin/users', expect: desk({ pageKind: 'user-list', object: 'User', recordId: null }) },
    { url: 'https://crm.acme.internal/admin/users/u-17', expect: desk({ pageKind: 'user-record', object: 'User', recordId: 'u-17' }) },
    { url: 'http://localhost:8788/app#/deals/7', expect: demo({ pageKind: 'record', object: 'Deal', recordId: '7' }) },
    { url: 'http://localhost:8788/app#/deals', expect: demo({ pageKind: 'list', object: 'Deal', recordId: null }) },
  ],
  [
    { url: 'https://crm.acme.internal/reports/weekly', expect: desk({ pageKind: 'other', object: null, recordId: null }) },
    { url: 'http://localhost:8788/app#/settings', expect: demo({ pageKind: 'other', object: null, recordId: null }) },
    // Not the in-house CRM: another host, port or protocol than its rules say.
    { url: 'https://crm.acme.internal.attacker.io/records/Account/42', expect: null },
    { url: 'http://crm.acme.internal/records/Account/42', expect: null },
    { url: 'http://localhost:9999/app#/deals/7', expect: null },
    { url: 'https://localhost:8788/app#/deals/7', expect: null },
  ],
);

// ---------- user links (the flags on user pages) ----------

/**
 * The user id a link of an in-house CRM names: the link read with the admins' page rules, its record
 * id when a `user-record` rule reads it (e.g. `/admin/users/:recordId`).
 */
export function genericUserIdFromHref(href: string, pageUrl: string | URL, pageRules: readonly PageRule[]): string | null {
  if (!href || href.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(href, pageUrl);
  } catch {
    return null;
  }
  const page = detectGeneric(url, pageRules);
  return page?.pageKind === 'user-record' && page.recordId ? page.recordId : null;
}

export const GENERIC_USER_LINKS: readonly UserLinkExample[] = [
  { page: 'https://crm.acme.internal/admin/users', href: '/admin/users/u-17', expect: 'u-17' },
  { page: 'https://crm.acme.internal/admin/users', href: 'https://crm.acme.internal/admin/users/u-42?tab=roles', expect: 'u-42' },
  { page: 'https://crm.acme.internal/admin/users', href: '/records/Deal/d-1', expect: null },
  { page: 'https://crm.acme.internal/admin/users', href: 'https://other.example/admin/users/u-17', expect: null },
];
