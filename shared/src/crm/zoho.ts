/**
 * Zoho CRM in every data centre, production and sandbox. Facts: shared/reference/crm-pages.md
 * ("Zoho CRM"). The org segment: Zoho's help ("FAQs: Zoho User ID, User IDs and Org IDs") says the
 * Org ID is the number in the URL's `org{number}`; the Organization API returns it as `zgid` and
 * the segment as `domain_name` (`org74822955`). Sandboxes are `crmsandbox.zoho.{tld}/crm/{name}/…`.
 * Record, edit, create and custom-view URLs as public code builds them
 * (`/crm/org{orgId}/tab/Potentials/{id}`, `/crm/org{orgId}/tab/Leads/create`); module names in
 * URLs are the `module_name`s (`Potentials` for the Deals module).
 */
import { userIdInLink } from './detect.ts';
import type { CrmAdapter, DetectedPage, PageCheck, PageExample, PageMatch, UserLinkExample } from './types.ts';

/** Data-centre domains after `crm.` / `crmsandbox.`. */
export const ZOHO_DOMAINS = ['zoho.com', 'zoho.eu', 'zoho.in', 'zoho.com.au', 'zoho.com.cn', 'zoho.jp', 'zoho.sa', 'zohocloud.ca'] as const;
/**
 * Production and sandbox hosts. Unconfirmed: `crmsandbox.zohocloud.ca` (by analogy with the others).
 * Zoho's newer data centres (e.g. `zoho.uk`) are not listed in the sources we read.
 */
export const ZOHO_HOSTS: readonly string[] = ZOHO_DOMAINS.flatMap((d) => [`crm.${d}`, `crmsandbox.${d}`]);

/**
 * URL module names that differ from the module's API name (Zoho's Modules API returns both:
 * `module_name` and `api_name`). The catalog uses API names.
 */
export const ZOHO_MODULE_API_NAMES: Readonly<Record<string, string>> = {
  Potentials: 'Deals',
  // Unconfirmed in URLs (seen in the Modules API's module_name/api_name pairs only).
  SalesOrders: 'Sales_Orders',
  PurchaseOrders: 'Purchase_Orders',
  PriceBooks: 'Price_Books',
};

/** The users settings pages: `object` is `Users` (Zoho's Users API resource, capitalised like its modules). */
export const ZOHO_USER_OBJECT = 'Users';

const MODULE = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
/** Record and user ids are long numbers (`1386586000002572002`). */
const RECORD_ID = /^\d{5,25}$/;
const ORG = /^org(\d{1,20})$/;
/** A sandbox's name in its URL. */
const SANDBOX_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
/** Pages that are no module's (the CRM's home page is a tab called Home). */
const NOT_MODULES = new Set(['Home', 'Dashboards', 'Reports', 'Analytics', 'Feeds', 'Documents', 'Forecasts', 'Visits', 'Social']);

function isHost(hostname: string): boolean {
  return ZOHO_HOSTS.includes(hostname.toLowerCase());
}

const isSandbox = (hostname: string) => hostname.toLowerCase().startsWith('crmsandbox.');

/** `/crm/{org segment}/{rest}` or `/crm/{rest}` (no org segment): the org segment and the rest. */
function split(url: URL): { org: string | null; rest: string[] } | null {
  const s = url.pathname.replace(/\/+$/, '').split('/').slice(1);
  if (s[0] !== 'crm') return null;
  if (s[1] === 'tab' || s[1] === 'settings') return { org: null, rest: s.slice(1) };
  if (s[1] !== undefined && (ORG.test(s[1]) || (isSandbox(url.hostname) && SANDBOX_NAME.test(s[1])))) return { org: s[1], rest: s.slice(2) };
  return null;
}

/** The Org ID (`7700001` of `org7700001`), or a sandbox's name; null when the URL has neither. */
function tenantOf(url: URL): string | null {
  const s = url.pathname.split('/');
  if (s[1] !== 'crm' || s[2] === undefined) return null;
  const org = ORG.exec(s[2]);
  if (org) return org[1]!;
  if (isSandbox(url.hostname) && s[2] !== 'tab' && s[2] !== 'settings' && SANDBOX_NAME.test(s[2])) return s[2];
  return null;
}

const zo = (tenant: string | null, page: PageMatch): DetectedPage => ({ crm: 'zoho', tenant, ...page });

/** `tab/{Module}/…`: record, edit, create, custom-view lists and the module's own tab. */
const moduleTab: PageCheck = {
  name: 'module-tab',
  match(url) {
    const p = split(url);
    if (!p || p.rest[0] !== 'tab') return null;
    const [, module, a, b, c] = p.rest;
    if (!module || !MODULE.test(module) || NOT_MODULES.has(module)) return null;
    const n = p.rest.length;
    if (n === 2) return { pageKind: 'list', object: module, recordId: null };
    if (n === 3 && a === 'create') return { pageKind: 'new', object: module, recordId: null };
    if (n === 3 && RECORD_ID.test(a!)) return { pageKind: 'record', object: module, recordId: a! };
    if (n === 4 && RECORD_ID.test(a!) && b === 'edit') return { pageKind: 'record-edit', object: module, recordId: a! };
    if (n === 5 && a === 'custom-view' && /^\d{1,25}$/.test(b!) && (c === 'list' || c === 'kanban' || c === 'canvas'))
      return { pageKind: 'list', object: module, recordId: null };
    return null;
  },
  examples: [
    {
      url: 'https://crm.zoho.com.cn/crm/org7700001/tab/Leads/770000100000231001',
      expect: zo('7700001', { pageKind: 'record', object: 'Leads', recordId: '770000100000231001' }),
    },
    {
      url: 'https://crm.zoho.com/crm/org926864613/tab/Potentials/1234567890',
      expect: zo('926864613', { pageKind: 'record', object: 'Potentials', recordId: '1234567890' }),
    },
    {
      url: 'https://crm.zoho.eu/crm/org20071234/tab/Contacts/1386586000002572002/edit',
      expect: zo('20071234', { pageKind: 'record-edit', object: 'Contacts', recordId: '1386586000002572002' }),
    },
    {
      url: 'https://crm.zoho.in/crm/org60012345/tab/Leads/create?layoutId=4000000000169',
      expect: zo('60012345', { pageKind: 'new', object: 'Leads', recordId: null }),
    },
    {
      url: 'https://crm.zoho.com.au/crm/org7004062519/tab/Accounts/custom-view/4000000000512/list',
      expect: zo('7004062519', { pageKind: 'list', object: 'Accounts', recordId: null }),
    },
    {
      url: 'https://crm.zoho.jp/crm/org90012345/tab/Deals/custom-view/90000000000123/kanban',
      expect: zo('90012345', { pageKind: 'list', object: 'Deals', recordId: null }),
    },
    {
      url: 'https://crm.zoho.sa/crm/org5001/tab/CustomModule4/500100000000345',
      expect: zo('5001', { pageKind: 'record', object: 'CustomModule4', recordId: '500100000000345' }),
    },
    {
      url: 'https://crm.zohocloud.ca/crm/org110000123/tab/Cases',
      expect: zo('110000123', { pageKind: 'list', object: 'Cases', recordId: null }),
    },
    {
      // No org segment: the page is known, the company is not.
      url: 'https://crm.zoho.com/crm/tab/Potentials/1234567890',
      expect: zo(null, { pageKind: 'record', object: 'Potentials', recordId: '1234567890' }),
    },
    {
      // A sandbox: the tenant is the sandbox's name.
      url: 'https://crmsandbox.zoho.com/crm/boostedcrmsandbox/tab/Leads/100200300400',
      expect: zo('boostedcrmsandbox', { pageKind: 'record', object: 'Leads', recordId: '100200300400' }),
    },
    {
      url: 'https://crmsandbox.zoho.eu/crm/uat/tab/Potentials/292528000000000000/edit',
      expect: zo('uat', { pageKind: 'record-edit', object: 'Potentials', recordId: '292528000000000000' }),
    },
  ],
};

/** Setup › Users and Control › Users: the list, and one user's page. */
const settingsUsers: PageCheck = {
  name: 'settings-users',
  match(url) {
    const p = split(url);
    if (!p || p.rest[0] !== 'settings' || p.rest[1] !== 'users') return null;
    if (p.rest.length === 2) return { pageKind: 'user-list', object: ZOHO_USER_OBJECT, recordId: null };
    // Unconfirmed: one user's page as `settings/users/{userId}`; admins fix it with a page rule if
    // Zoho writes it otherwise.
    if (p.rest.length === 3 && RECORD_ID.test(p.rest[2]!)) return { pageKind: 'user-record', object: ZOHO_USER_OBJECT, recordId: p.rest[2]! };
    return null;
  },
  examples: [
    {
      url: 'https://crm.zoho.com.cn/crm/org7700001/settings/users',
      expect: zo('7700001', { pageKind: 'user-list', object: 'Users', recordId: null }),
    },
    {
      url: 'https://crm.zoho.com/crm/org7700001/settings/users?type=ActiveUsers',
      expect: zo('7700001', { pageKind: 'user-list', object: 'Users', recordId: null }),
    },
    {
      url: 'https://crm.zoho.com.cn/crm/org7700001/settings/users/770000100000000301',
      expect: zo('7700001', { pageKind: 'user-record', object: 'Users', recordId: '770000100000000301' }),
    },
    {
      url: 'https://crmsandbox.zoho.in/crm/qa/settings/users',
      expect: zo('qa', { pageKind: 'user-list', object: 'Users', recordId: null }),
    },
  ],
};

const otherExamples: PageExample[] = [
  {
    url: 'https://crm.zoho.com/crm/org7700001/tab/Home/begin',
    expect: zo('7700001', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://crm.zoho.com.cn/crm/org7700001/settings/profiles',
    expect: zo('7700001', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://crm.zoho.com/crm/org7700001/tab/Leads/not-a-record',
    expect: zo('7700001', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    // On a production host only `org{id}` names an org.
    url: 'https://crm.zoho.com/crm/somename/tab/Leads/1234567890',
    expect: zo(null, { pageKind: 'other', object: null, recordId: null }),
  },
  { url: 'https://crm.zoho.com/', expect: zo(null, { pageKind: 'other', object: null, recordId: null }) },
  // Not Zoho CRM pages at all.
  { url: 'http://crm.zoho.com/crm/org7700001/tab/Leads/1234567890', expect: null },
  { url: 'https://crm.zoho.com.attacker.io/crm/org7700001/tab/Leads/1234567890', expect: null },
  { url: 'https://crm.zoho.com.cn.evil/crm/org7700001/tab/Leads/1234567890', expect: null },
  { url: 'https://evilcrm.zoho.com/crm/org7700001/tab/Leads/1234567890', expect: null },
  { url: 'https://analytics.zoho.com/workspace/123', expect: null },
  { url: 'https://www.zohoapis.com/crm/v8/Leads/1234567890', expect: null },
];

export const zoho: CrmAdapter = {
  kind: 'zoho',
  matches: ZOHO_HOSTS.map((h) => `https://${h}/*`),
  isHost,
  tenantOf,
  checks: [moduleTab, settingsUsers],
  otherExamples,
  denialPhrases: {
    // Unconfirmed: Zoho CRM's in-app wording (the API says "permission denied", code NO_PERMISSION);
    // admins add the exact wording of their org through page rules.
    en: ["You don't have permission to", 'You do not have permission to', 'Permission denied'],
    // zoho.com.cn's Chinese UI (unconfirmed wording).
    'zh-CN': ['您没有权限', '没有权限执行此操作', '权限被拒绝', '无权访问'],
  },
  denialRegions: [
    // Zoho's Lyte UI components for messages and dialogs, then the list/record content.
    'lyte-messagebox',
    'lyte-alert',
    'lyte-modal',
    '[role="alert"]',
    '[role="dialog"]',
    'crux-table-component',
    'main',
  ],
  hashRouting: false,
  catalogObject: (object) => ZOHO_MODULE_API_NAMES[object] ?? object,
};

// ---------- user links (the flags on user pages) ----------

/** The Zoho user id a link names: `/crm/org{orgId}/settings/users/{userId}`. */
export function zohoUserIdFromHref(href: string, pageUrl: string | URL): string | null {
  return userIdInLink(zoho, href, pageUrl);
}

export const ZOHO_USER_LINKS: readonly UserLinkExample[] = [
  { page: 'https://crm.zoho.com.cn/crm/org7700001/settings/users', href: '/crm/org7700001/settings/users/770000100000000301', expect: '770000100000000301' },
  { page: 'https://crm.zoho.com/crm/org7700001/settings/users', href: 'users/770000100000000302', expect: '770000100000000302' },
  { page: 'https://crm.zoho.com.cn/crm/org7700001/settings/users', href: '/crm/org7700001/tab/Leads/770000100000087501', expect: null },
];
