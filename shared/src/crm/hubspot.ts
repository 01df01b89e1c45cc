/**
 * HubSpot's app on `app.hubspot.com` and its regional hosts. Facts: shared/reference/crm-pages.md
 * ("HubSpot"); object type ids: HubSpot developer docs, "Using object APIs" (0-1 contacts, 0-2
 * companies, 0-3 deals, 0-5 tickets, 2-… custom objects, 0-115 users, …). Record and list URL shapes
 * as public code builds them (`/contacts/{portalId}/record/{objectTypeId}/{id}`,
 * `/contacts/{portalId}/objects/{objectTypeId}/views/{viewId}/list`, the older
 * `/contacts/{portalId}/contact/{id}`); the users page `/settings/{portalId}/users`.
 */
import { userIdInLink } from './detect.ts';
import type { CrmAdapter, DetectedPage, PageCheck, PageExample, PageMatch, UserLinkExample } from './types.ts';

/**
 * UI hosts. `app` and `app-eu1` are documented; `app-na2` and `app-ap1` are the `uiDomain` HubSpot's
 * account-info API returns for accounts hosted there (seen in public code, unconfirmed in HubSpot's docs).
 */
export const HUBSPOT_HOSTS = ['app.hubspot.com', 'app-eu1.hubspot.com', 'app-na2.hubspot.com', 'app-ap1.hubspot.com'] as const;

/** Object type ids with the CRM's own (singular) object names. */
export const HUBSPOT_OBJECT_TYPES: Readonly<Record<string, string>> = {
  '0-1': 'contact',
  '0-2': 'company',
  '0-3': 'deal',
  '0-5': 'ticket',
  '0-7': 'product',
  '0-8': 'line_item',
  '0-14': 'quote',
  '0-27': 'task',
  '0-46': 'note',
  '0-47': 'meeting',
  '0-48': 'call',
  '0-49': 'email',
  '0-53': 'invoice',
  '0-115': 'user',
  '0-123': 'order',
  '0-136': 'lead',
};

/** The users settings pages: `object` is HubSpot's own name of its Users object (type 0-115). */
export const HUBSPOT_USER_OBJECT = 'user';

/** The older record paths name the object instead of giving its type id. */
const LEGACY_RECORD_OBJECTS = new Set(['contact', 'company', 'deal', 'ticket']);
const LEGACY_LIST_OBJECTS: Readonly<Record<string, string>> = { contacts: 'contact', companies: 'company', deals: 'deal', tickets: 'ticket' };

const PORTAL = /^\d{1,12}$/;
const TYPE_ID = /^([02])-(\d{1,12})$/;
const RECORD_ID = /^\d{1,20}$/;

function isHost(hostname: string): boolean {
  return (HUBSPOT_HOSTS as readonly string[]).includes(hostname.toLowerCase());
}

/** Every app path names the portal (HubSpot account) second: `/contacts/{portalId}/…`, `/settings/{portalId}/…`. */
function portalOf(url: URL): string | null {
  const second = url.pathname.split('/')[2];
  return second !== undefined && PORTAL.test(second) ? second : null;
}

/** The page object of a type id: the standard object's name, or the type id itself (custom objects, unknown types). */
function objectOfType(typeId: string): string | null {
  if (!TYPE_ID.test(typeId)) return null;
  return HUBSPOT_OBJECT_TYPES[typeId] ?? typeId;
}

function segments(url: URL): string[] {
  return url.pathname.replace(/\/+$/, '').split('/').slice(1);
}

const hs = (tenant: string, page: PageMatch): DetectedPage => ({ crm: 'hubspot', tenant, ...page });

const record: PageCheck = {
  name: 'record',
  match(url) {
    const s = segments(url);
    if (s[0] !== 'contacts' || !PORTAL.test(s[1] ?? '')) return null;
    // /contacts/{portal}/record/{typeId}/{id}
    if (s[2] === 'record' && s.length === 5) {
      const object = objectOfType(s[3]!);
      if (!object || !RECORD_ID.test(s[4]!)) return null;
      return { pageKind: object === HUBSPOT_USER_OBJECT ? 'user-record' : 'record', object, recordId: s[4]! };
    }
    // The older /contacts/{portal}/contact/{id} (also company, deal, ticket).
    if (s.length === 4 && LEGACY_RECORD_OBJECTS.has(s[2]!) && RECORD_ID.test(s[3]!)) return { pageKind: 'record', object: s[2]!, recordId: s[3]! };
    return null;
  },
  examples: [
    {
      url: 'https://app.hubspot.com/contacts/4242424/record/0-1/51',
      expect: hs('4242424', { pageKind: 'record', object: 'contact', recordId: '51' }),
    },
    {
      url: 'https://app-eu1.hubspot.com/contacts/4242424/record/0-2/9803454501/',
      expect: hs('4242424', { pageKind: 'record', object: 'company', recordId: '9803454501' }),
    },
    {
      url: 'https://app.hubspot.com/contacts/4242424/record/0-3/18273645501?interaction=note',
      expect: hs('4242424', { pageKind: 'record', object: 'deal', recordId: '18273645501' }),
    },
    {
      url: 'https://app.hubspot.com/contacts/4242424/record/0-5/3301',
      expect: hs('4242424', { pageKind: 'record', object: 'ticket', recordId: '3301' }),
    },
    {
      // A custom object: the type id itself.
      url: 'https://app.hubspot.com/contacts/4242424/record/2-1234567/88',
      expect: hs('4242424', { pageKind: 'record', object: '2-1234567', recordId: '88' }),
    },
    {
      url: 'https://app-ap1.hubspot.com/contacts/22617666/record/0-136/702',
      expect: hs('22617666', { pageKind: 'record', object: 'lead', recordId: '702' }),
    },
    {
      url: 'https://app.hubspot.com/contacts/4242424/contact/51',
      expect: hs('4242424', { pageKind: 'record', object: 'contact', recordId: '51' }),
    },
    {
      url: 'https://app-na2.hubspot.com/contacts/246507261/deal/18273645501/',
      expect: hs('246507261', { pageKind: 'record', object: 'deal', recordId: '18273645501' }),
    },
  ],
};

const list: PageCheck = {
  name: 'list',
  match(url) {
    const s = segments(url);
    if (s[0] !== 'contacts' || !PORTAL.test(s[1] ?? '')) return null;
    // /contacts/{portal}/objects/{typeId}[/views/{viewId}/list|board]
    if (s[2] === 'objects' && s[3] !== undefined) {
      const object = objectOfType(s[3]);
      if (!object) return null;
      const rest = s.slice(4);
      const ok =
        rest.length === 0 || (rest.length === 3 && rest[0] === 'views' && /^[\w-]{1,40}$/.test(rest[1]!) && (rest[2] === 'list' || rest[2] === 'board'));
      return ok ? { pageKind: object === HUBSPOT_USER_OBJECT ? 'user-list' : 'list', object, recordId: null } : null;
    }
    // The older /contacts/{portal}/companies/list/view/all
    const legacy = LEGACY_LIST_OBJECTS[s[2] ?? ''];
    if (legacy && s[3] === 'list') return { pageKind: 'list', object: legacy, recordId: null };
    return null;
  },
  examples: [
    {
      url: 'https://app.hubspot.com/contacts/4242424/objects/0-1/views/all/list',
      expect: hs('4242424', { pageKind: 'list', object: 'contact', recordId: null }),
    },
    {
      url: 'https://app-na2.hubspot.com/contacts/39705134/objects/0-3/views/353515006/list',
      expect: hs('39705134', { pageKind: 'list', object: 'deal', recordId: null }),
    },
    {
      url: 'https://app.hubspot.com/contacts/4242424/objects/0-3/views/all/board',
      expect: hs('4242424', { pageKind: 'list', object: 'deal', recordId: null }),
    },
    {
      url: 'https://app-eu1.hubspot.com/contacts/4242424/objects/2-1234567/views/all/list',
      expect: hs('4242424', { pageKind: 'list', object: '2-1234567', recordId: null }),
    },
    {
      url: 'https://app.hubspot.com/contacts/6798828/companies/list/view/all/',
      expect: hs('6798828', { pageKind: 'list', object: 'company', recordId: null }),
    },
  ],
};

const users: PageCheck = {
  name: 'settings-users',
  match(url) {
    const s = segments(url);
    if (s[0] !== 'settings' || !PORTAL.test(s[1] ?? '') || s[2] !== 'users') return null;
    if (s.length === 3) return { pageKind: 'user-list', object: HUBSPOT_USER_OBJECT, recordId: null };
    // A user's page. Unconfirmed: the exact path of one user's settings page (`/users/user/{userId}`,
    // optionally followed by a tab); admins fix it with a page rule if HubSpot writes it otherwise.
    if (s[3] === 'user' && RECORD_ID.test(s[4] ?? '') && s.length <= 6) return { pageKind: 'user-record', object: HUBSPOT_USER_OBJECT, recordId: s[4]! };
    return null;
  },
  examples: [
    {
      url: 'https://app.hubspot.com/settings/4242424/users',
      expect: hs('4242424', { pageKind: 'user-list', object: 'user', recordId: null }),
    },
    {
      url: 'https://app-eu1.hubspot.com/settings/4242424/users?search=ava',
      expect: hs('4242424', { pageKind: 'user-list', object: 'user', recordId: null }),
    },
    {
      url: 'https://app.hubspot.com/settings/4242424/users/user/61002',
      expect: hs('4242424', { pageKind: 'user-record', object: 'user', recordId: '61002' }),
    },
    {
      url: 'https://app.hubspot.com/settings/4242424/users/user/61002/permissions',
      expect: hs('4242424', { pageKind: 'user-record', object: 'user', recordId: '61002' }),
    },
  ],
};

const otherExamples: PageExample[] = [
  {
    url: 'https://app.hubspot.com/reports-dashboard/4242424/view/1001',
    expect: hs('4242424', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://app.hubspot.com/settings/4242424/users/teams',
    expect: hs('4242424', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://app.hubspot.com/contacts/4242424/record/0-1/not-an-id',
    expect: hs('4242424', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://app.hubspot.com/contacts/4242424/objectLists/17/',
    expect: hs('4242424', { pageKind: 'other', object: null, recordId: null }),
  },
  { url: 'https://app.hubspot.com/', expect: { crm: 'hubspot', tenant: null, pageKind: 'other', object: null, recordId: null } },
  // Not HubSpot app pages at all.
  { url: 'http://app.hubspot.com/contacts/4242424/record/0-1/51', expect: null },
  { url: 'https://app.hubspot.com.evil.io/contacts/4242424/record/0-1/51', expect: null },
  { url: 'https://evil-app.hubspot.com.io/contacts/4242424/record/0-1/51', expect: null },
  { url: 'https://knowledge.hubspot.com/records/view-record-access', expect: null },
  { url: 'https://hubspot.com/contacts/4242424/record/0-1/51', expect: null },
];

export const hubspot: CrmAdapter = {
  kind: 'hubspot',
  matches: HUBSPOT_HOSTS.map((h) => `https://${h}/*`),
  isHost,
  tenantOf: portalOf,
  checks: [record, list, users],
  otherExamples,
  denialPhrases: {
    // Unconfirmed: HubSpot's in-app wording when a permission hides a record (no public source quoted
    // it); these follow HubSpot's usual phrasing. Admins add the exact wording through page rules.
    en: ["You don't have permission to view this record", "You don't have access to this record", "You don't have permission to"],
    'zh-CN': ['您无权查看此记录', '您没有访问此记录的权限', '您没有权限'],
  },
  denialRegions: [
    // HubSpot's React app: alerts, dialogs and the main content (unconfirmed class names are avoided).
    '[role="alert"]',
    '[role="alertdialog"]',
    '[role="dialog"]',
    '[role="main"]',
    'main',
  ],
  hashRouting: false,
  catalogObject: hubspotCatalogObject,
};

/**
 * Catalog object names for HubSpot page objects. Standard objects keep their names; a custom object's
 * type id `2-1234567` (not a valid key name) becomes `custom_2_1234567`; any other type id `0-999`
 * that AccessLens does not name becomes `type_0_999`.
 */
export function hubspotCatalogObject(object: string): string {
  const m = TYPE_ID.exec(object);
  if (!m) return object;
  return m[1] === '2' ? `custom_2_${m[2]}` : `type_0_${m[2]}`;
}

// ---------- user links (the flags on user pages) ----------

/** The HubSpot user id a link names: Settings › Users › `/settings/{portalId}/users/user/{userId}`. */
export function hubspotUserIdFromHref(href: string, pageUrl: string | URL): string | null {
  return userIdInLink(hubspot, href, pageUrl);
}

export const HUBSPOT_USER_LINKS: readonly UserLinkExample[] = [
  { page: 'https://app.hubspot.com/settings/4242424/users', href: '/settings/4242424/users/user/61002', expect: '61002' },
  { page: 'https://app-eu1.hubspot.com/settings/4242424/users', href: 'https://app-eu1.hubspot.com/settings/4242424/users/user/61003', expect: '61003' },
  { page: 'https://app.hubspot.com/settings/4242424/users', href: '/contacts/4242424/record/0-1/9803454501', expect: null },
  { page: 'https://app.hubspot.com/settings/4242424/users', href: '/settings/4242424/users', expect: null },
];
