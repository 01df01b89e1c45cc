/**
 * Salesforce: Lightning Experience, Salesforce Classic and Setup, on production, sandbox, Setup-domain
 * and China hosts. Facts: shared/reference/crm-pages.md ("Salesforce").
 */
import { userIdInLink } from './detect.ts';
import type { CrmAdapter, DetectedPage, PageCheck, PageExample, PageMatch, UserLinkExample } from './types.ts';

/**
 * Host suffixes after the My Domain name (`acme`, or `acme--uat` for a sandbox). Longest first, so a
 * sandbox host is not read as a production one. A host must have exactly one label before its suffix.
 */
const HOST_SUFFIXES = [
  '.sandbox.lightning.force.com',
  '.sandbox.my.salesforce.com',
  '.sandbox.my.salesforce-setup.com',
  '.lightning.force.com',
  '.my.salesforce.com',
  '.my.salesforce-setup.com',
  // Salesforce on Alibaba Cloud (China).
  '.lightning.sfcrmapps.cn',
  '.my.sfcrmapps.cn',
  '.my.sfcrmproducts.cn',
] as const;

const MY_DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$/;

function myDomainOf(hostname: string): string | null {
  const h = hostname.toLowerCase();
  for (const suffix of HOST_SUFFIXES) {
    if (!h.endsWith(suffix)) continue;
    const name = h.slice(0, -suffix.length);
    return MY_DOMAIN.test(name) ? name : null;
  }
  return null;
}

/** Three-character key prefixes of standard objects (the first three characters of every record id). */
export const SALESFORCE_KEY_PREFIXES: Readonly<Record<string, string>> = {
  '001': 'Account',
  '003': 'Contact',
  '005': 'User',
  '006': 'Opportunity',
  '00Q': 'Lead',
  '500': 'Case',
  '800': 'Contract',
  '801': 'Order',
  '0Q0': 'Quote',
  '701': 'Campaign',
  '00T': 'Task',
  '00U': 'Event',
  '01t': 'Product2',
  '02i': 'Asset',
  '0PS': 'PermissionSet',
  '00e': 'Profile',
  '00E': 'UserRole',
};

const ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
const PREFIX = /^[A-Za-z0-9]{3}$/;
const API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

const isId = (s: string | undefined): s is string => s !== undefined && ID.test(s);

/** A Salesforce record id: 15 case-sensitive letters and digits, or 18 (the 15 plus a checksum). */
export const isSalesforceId = (s: string): boolean => ID.test(s);
const objectOfId = (id: string): string | null => SALESFORCE_KEY_PREFIXES[id.slice(0, 3)] ?? null;

/** A record page: a user's record is the user's page. */
function recordPage(object: string | null, recordId: string, kind: 'record' | 'record-edit'): PageMatch {
  if (object === 'User' && kind === 'record') return { pageKind: 'user-record', object, recordId };
  return { pageKind: kind, object, recordId };
}

const sf = (tenant: string, page: PageMatch): DetectedPage => ({ crm: 'salesforce', tenant, ...page });

const lightningRecord: PageCheck = {
  name: 'lightning-record',
  match(url) {
    const m = /^\/lightning\/r\/(?:([A-Za-z][A-Za-z0-9_]*)\/)?([A-Za-z0-9]+)\/(view|edit|clone)\/?$/.exec(url.pathname);
    if (!m || !isId(m[2])) return null;
    const [, named, recordId, view] = m as unknown as [string, string | undefined, string, string];
    const object = named ?? objectOfId(recordId);
    if (view === 'clone') return { pageKind: 'new', object, recordId };
    return recordPage(object, recordId, view === 'edit' ? 'record-edit' : 'record');
  },
  examples: [
    {
      url: 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
      expect: sf('acme', { pageKind: 'record', object: 'Contract', recordId: '800xx000001AbCdAAK' }),
    },
    {
      url: 'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/edit',
      expect: sf('acme', { pageKind: 'record-edit', object: 'Account', recordId: '001xx000003DGb2AAG' }),
    },
    {
      url: 'https://acme.lightning.force.com/lightning/r/Opportunity/006xx000001a2b3AAA/clone',
      expect: sf('acme', { pageKind: 'new', object: 'Opportunity', recordId: '006xx000001a2b3AAA' }),
    },
    {
      url: 'https://acme.lightning.force.com/lightning/r/Invoice__c/a01xx00000AbCdE/view',
      expect: sf('acme', { pageKind: 'record', object: 'Invoice__c', recordId: 'a01xx00000AbCdE' }),
    },
    {
      // Only an id: the object comes from its key prefix.
      url: 'https://acme.lightning.force.com/lightning/r/006xx000001a2b3AAA/view',
      expect: sf('acme', { pageKind: 'record', object: 'Opportunity', recordId: '006xx000001a2b3AAA' }),
    },
    {
      url: 'https://acme--uat.sandbox.lightning.force.com/lightning/r/Lead/00Qxx0000012345/view',
      expect: sf('acme--uat', { pageKind: 'record', object: 'Lead', recordId: '00Qxx0000012345' }),
    },
    {
      url: 'https://acme.lightning.force.com/lightning/r/User/005xx000001SvHaAAK/view',
      expect: sf('acme', { pageKind: 'user-record', object: 'User', recordId: '005xx000001SvHaAAK' }),
    },
    {
      url: 'https://acme.lightning.sfcrmapps.cn/lightning/r/Account/001xx000003DGb2AAG/view',
      expect: sf('acme', { pageKind: 'record', object: 'Account', recordId: '001xx000003DGb2AAG' }),
    },
  ],
};

const lightningObject: PageCheck = {
  name: 'lightning-object',
  match(url) {
    const m = /^\/lightning\/o\/([A-Za-z][A-Za-z0-9_]*)\/(home|list|new)\/?$/.exec(url.pathname);
    if (!m) return null;
    const object = m[1]!;
    const view = m[2] as 'home' | 'list' | 'new';
    if (object === 'User' && view !== 'new') return { pageKind: 'user-list', object, recordId: null };
    return { pageKind: view, object, recordId: null };
  },
  examples: [
    {
      url: 'https://acme.lightning.force.com/lightning/o/Opportunity/home',
      expect: sf('acme', { pageKind: 'home', object: 'Opportunity', recordId: null }),
    },
    {
      url: 'https://acme.lightning.force.com/lightning/o/Contract/list?filterName=Recent',
      expect: sf('acme', { pageKind: 'list', object: 'Contract', recordId: null }),
    },
    {
      url: 'https://acme.lightning.force.com/lightning/o/Quote/new',
      expect: sf('acme', { pageKind: 'new', object: 'Quote', recordId: null }),
    },
    {
      url: 'https://acme--dev.sandbox.lightning.force.com/lightning/o/Case/list?filterName=MyCases',
      expect: sf('acme--dev', { pageKind: 'list', object: 'Case', recordId: null }),
    },
  ],
};

/** `/one/one.app#/sObject/{Id}/view`, the legacy Lightning hash route. */
const oneApp: PageCheck = {
  name: 'one-app',
  match(url) {
    if (url.pathname !== '/one/one.app') return null;
    const m = /^#\/sObject\/([A-Za-z0-9_]+)(?:\/(view|edit|home|list|new))?\/?(?:\?.*)?$/.exec(url.hash);
    if (!m) return null;
    const [, id, view] = m as unknown as [string, string, string | undefined];
    if (isId(id) && (view === undefined || view === 'view' || view === 'edit'))
      return recordPage(objectOfId(id), id, view === 'edit' ? 'record-edit' : 'record');
    if (API_NAME.test(id) && (view === 'home' || view === 'list' || view === 'new')) return { pageKind: view, object: id, recordId: null };
    return null;
  },
  examples: [
    {
      url: 'https://acme.lightning.force.com/one/one.app#/sObject/001xx000003DGb2AAG/view',
      expect: sf('acme', { pageKind: 'record', object: 'Account', recordId: '001xx000003DGb2AAG' }),
    },
    {
      url: 'https://acme.my.salesforce.com/one/one.app#/sObject/006xx000001a2b3AAA',
      expect: sf('acme', { pageKind: 'record', object: 'Opportunity', recordId: '006xx000001a2b3AAA' }),
    },
    {
      url: 'https://acme.lightning.force.com/one/one.app#/sObject/Lead/home',
      expect: sf('acme', { pageKind: 'home', object: 'Lead', recordId: null }),
    },
  ],
};

const setupUsers: PageCheck = {
  name: 'setup-users',
  match(url) {
    const p = url.pathname.replace(/\/$/, '');
    if (p === '/lightning/setup/ManageUsers/home') return { pageKind: 'user-list', object: 'User', recordId: null };
    // User detail: the Classic page inside Setup's frame, named by the `address` parameter.
    if (p === '/lightning/setup/ManageUsers/page') {
      const address = url.searchParams.get('address') ?? '';
      const m = /^\/([A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)(?:[/?]|$)/.exec(address);
      if (m && m[1]!.startsWith('005')) return { pageKind: 'user-record', object: 'User', recordId: m[1]! };
      return null;
    }
    // User Access Summary: everything one user holds, from every source.
    const summary = /^\/lightning\/setup\/ManageUsers\/([A-Za-z0-9]+)\/summary$/.exec(p);
    if (summary && isId(summary[1]) && summary[1].startsWith('005')) return { pageKind: 'user-record', object: 'User', recordId: summary[1] };
    return null;
  },
  examples: [
    {
      url: 'https://acme.lightning.force.com/lightning/setup/ManageUsers/home',
      expect: sf('acme', { pageKind: 'user-list', object: 'User', recordId: null }),
    },
    {
      url: 'https://acme.lightning.force.com/lightning/setup/ManageUsers/page?address=%2F005xx000001SvHaAAK%3Fnoredirect%3D1',
      expect: sf('acme', { pageKind: 'user-record', object: 'User', recordId: '005xx000001SvHaAAK' }),
    },
    {
      url: 'https://acme.lightning.force.com/lightning/setup/ManageUsers/005xx000001SvHaAAK/summary',
      expect: sf('acme', { pageKind: 'user-record', object: 'User', recordId: '005xx000001SvHaAAK' }),
    },
    {
      url: 'https://acme.my.salesforce-setup.com/lightning/setup/ManageUsers/home',
      expect: sf('acme', { pageKind: 'user-list', object: 'User', recordId: null }),
    },
    {
      url: 'https://acme--uat.sandbox.my.salesforce-setup.com/lightning/setup/ManageUsers/page?address=%2F005xx000001SvHa',
      expect: sf('acme--uat', { pageKind: 'user-record', object: 'User', recordId: '005xx000001SvHa' }),
    },
  ],
};

/** Salesforce Classic: `/{Id}`, `/{Id}/e`, `/{prefix}/o`, `/{prefix}/e`, and `/005` (the user list). */
const classic: PageCheck = {
  name: 'classic',
  match(url) {
    const m = /^\/([A-Za-z0-9]{3}|[A-Za-z0-9]{15}|[A-Za-z0-9]{18})(?:\/(o|e))?\/?$/.exec(url.pathname);
    if (!m) return null;
    const [, token, action] = m as unknown as [string, string, string | undefined];
    if (PREFIX.test(token)) {
      const object = objectOfId(token);
      if (token === '005' && action === undefined) return { pageKind: 'user-list', object: 'User', recordId: null };
      if (!object || action === undefined) return null;
      if (action === 'o') return object === 'User' ? { pageKind: 'user-list', object, recordId: null } : { pageKind: 'home', object, recordId: null };
      return { pageKind: 'new', object, recordId: null };
    }
    if (action === 'o') return null;
    return recordPage(objectOfId(token), token, action === 'e' ? 'record-edit' : 'record');
  },
  examples: [
    {
      url: 'https://acme.my.salesforce.com/001xx000003DGb2AAG',
      expect: sf('acme', { pageKind: 'record', object: 'Account', recordId: '001xx000003DGb2AAG' }),
    },
    {
      url: 'https://acme.my.salesforce.com/006xx000001a2b3/e?retURL=%2F006xx000001a2b3',
      expect: sf('acme', { pageKind: 'record-edit', object: 'Opportunity', recordId: '006xx000001a2b3' }),
    },
    {
      url: 'https://acme.my.salesforce.com/001/o',
      expect: sf('acme', { pageKind: 'home', object: 'Account', recordId: null }),
    },
    {
      url: 'https://acme.my.salesforce.com/00Q/e',
      expect: sf('acme', { pageKind: 'new', object: 'Lead', recordId: null }),
    },
    {
      url: 'https://acme.my.salesforce.com/005?isUserEntityOverride=1',
      expect: sf('acme', { pageKind: 'user-list', object: 'User', recordId: null }),
    },
    {
      url: 'https://acme.my.salesforce.com/005xx000001SvHaAAK?noredirect=1',
      expect: sf('acme', { pageKind: 'user-record', object: 'User', recordId: '005xx000001SvHaAAK' }),
    },
    {
      url: 'https://acme--uat.sandbox.my.salesforce.com/a01xx00000AbCdE',
      expect: sf('acme--uat', { pageKind: 'record', object: null, recordId: 'a01xx00000AbCdE' }),
    },
    {
      url: 'https://acme.my.sfcrmproducts.cn/500xx0000012345',
      expect: sf('acme', { pageKind: 'record', object: 'Case', recordId: '500xx0000012345' }),
    },
  ],
};

const otherExamples: PageExample[] = [
  {
    url: 'https://acme.lightning.force.com/lightning/page/home',
    expect: sf('acme', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://acme.lightning.force.com/lightning/setup/PermSets/home',
    expect: sf('acme', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://acme.lightning.force.com/lightning/r/Contract/not-an-id/view',
    expect: sf('acme', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://acme.my.salesforce.com/home/home.jsp',
    expect: sf('acme', { pageKind: 'other', object: null, recordId: null }),
  },
  // Not Salesforce pages at all.
  { url: 'http://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view', expect: null },
  { url: 'https://example.com/lightning/r/Contract/800xx000001AbCdAAK/view', expect: null },
  { url: 'https://acme.lightning.force.com.attacker.io/lightning/r/Contract/800xx000001AbCdAAK/view', expect: null },
  { url: 'https://lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view', expect: null },
  { url: 'https://a.b.lightning.force.com/lightning/o/Account/home', expect: null },
  { url: 'https://acmelightning.force.com/lightning/o/Account/home', expect: null },
];

export const salesforce: CrmAdapter = {
  kind: 'salesforce',
  matches: [
    'https://*.lightning.force.com/*',
    'https://*.my.salesforce.com/*',
    'https://*.my.salesforce-setup.com/*',
    'https://*.lightning.sfcrmapps.cn/*',
    'https://*.my.sfcrmapps.cn/*',
    'https://*.my.sfcrmproducts.cn/*',
  ],
  isHost: (hostname) => myDomainOf(hostname) !== null,
  tenantOf: (url) => myDomainOf(url.hostname),
  checks: [lightningRecord, lightningObject, oneApp, setupUsers, classic],
  otherExamples,
  denialPhrases: {
    en: [
      'Insufficient Privileges',
      "You don't have access to this record.",
      'You do not have the level of access necessary to perform the operation you requested.',
    ],
    // Unconfirmed: Salesforce's Simplified Chinese UI strings as translated in its help; admins add
    // the exact wording of their org through page rules.
    'zh-CN': ['权限不足', '您无权访问此记录。', '您没有执行所请求操作所需的访问级别。'],
  },
  denialRegions: [
    // Lightning: the record's illustration, toasts and modals; Classic: the message box.
    '.slds-illustration',
    '.forceToastMessage',
    '.slds-notify_toast',
    '.slds-modal',
    'one-record-home-flexipage2',
    'records-lwc-record-layout',
    '#bodyCell',
    '.pbBody',
    '[role="alert"]',
  ],
  hashRouting: true,
  catalogObject: (object) => object,
};

// ---------- user links (the flags on user pages) ----------

/**
 * The Salesforce user id a link on a user page names, as written (15 or 18 characters): Classic
 * `/005…?noredirect=1` (Setup's framed user list), Lightning `/lightning/r/User/005…/view`, Setup's
 * user page and User Access Summary. Edit links and links to other records name nobody.
 */
export function salesforceUserIdFromHref(href: string, pageUrl: string | URL): string | null {
  return userIdInLink(salesforce, href, pageUrl);
}

/** Salesforce ids are case-sensitive and their 18-character form is the 15 plus a checksum: compare the 15. */
export const salesforceUserKey = (id: string): string => id.slice(0, 15);

const CLASSIC_USERS = 'https://acme.my.salesforce.com/005?isUserEntityOverride=1&isdtp=p1';
export const SALESFORCE_USER_LINKS: readonly UserLinkExample[] = [
  { page: CLASSIC_USERS, href: '/005xx000001SvHa?noredirect=1&isUserEntityOverride=1', expect: '005xx000001SvHa' },
  { page: CLASSIC_USERS, href: '/005Hs0000000002AAA?noredirect=1', expect: '005Hs0000000002AAA' },
  { page: CLASSIC_USERS, href: '/005xx000001SvHa/e?retURL=%2F005&isUserEntityOverride=1', expect: null },
  { page: CLASSIC_USERS, href: '/001xx000003DGb2AAG', expect: null },
  { page: CLASSIC_USERS, href: 'javascript:void(0)', expect: null },
  { page: CLASSIC_USERS, href: 'https://evil.example/005xx000001SvHa', expect: null },
  {
    page: 'https://acme.lightning.force.com/lightning/setup/ManageUsers/home',
    href: '/lightning/setup/ManageUsers/page?address=%2F005xx000001SvHaAAK%3Fnoredirect%3D1',
    expect: '005xx000001SvHaAAK',
  },
  { page: 'https://acme.lightning.force.com/lightning/o/User/list', href: '/lightning/r/User/005xx000001SvHaAAK/view', expect: '005xx000001SvHaAAK' },
  { page: 'https://acme.lightning.force.com/lightning/o/User/list', href: '/lightning/r/Account/001xx000003DGb2AAG/view', expect: null },
];
