/**
 * Fxiaoke (纷享销客): a single-page app routed by the URL's hash on `www.fxiaoke.com` (also
 * `hws.fxiaoke.com`). Facts: shared/reference/crm-pages.md ("Fxiaoke"). Routes as Fxiaoke's own
 * front-end code and public userscripts write them: `/XV/UI/Home#crm/list/=/{ApiName}`,
 * `#paasapp/list/=/appId_CRM/{ApiName}`, `#crm/index`, `#paasapp/index/=/appId_CRM`,
 * `#profile/=/empid-{employeeId}` (an employee's profile, linked from every name in the app), the
 * admin console `/XV/UI/manage#crmmanage/=/module-sysobject|myobject|approval|myfunction`, and a
 * record's detail `#crm/detail/=/{ApiName}/{id}` (seen in a public automation script that opens it
 * directly; not in Fxiaoke's docs).
 *
 * The tenant is never in the URL: every company shares the host, so the connection chosen in
 * settings decides which company's catalog applies.
 */
import { userIdInLink } from './detect.ts';
import type { CrmAdapter, DetectedPage, PageCheck, PageExample, PageMatch, UserLinkExample } from './types.ts';

/** Web app hosts (`open.fxiaoke.com` is the open platform's API and docs, not the CRM). */
export const FXIAOKE_HOSTS = ['www.fxiaoke.com', 'hws.fxiaoke.com'] as const;

/**
 * The employee (人员) object: its list and records, and employee profiles, are the user pages.
 * Unconfirmed: the object's API name `PersonnelObj` (Fxiaoke's open API has a "人员对象" section;
 * the API name follows its `{Name}Obj` convention). The record id on a profile is the employee id.
 */
export const FXIAOKE_USER_OBJECT = 'PersonnelObj';

/** Front-end and admin pages (and the older `/XV/Home/Index`, which routes the same way). */
const APP_PATHS = new Set(['/XV/UI/Home', '/XV/UI/manage', '/XV/Home/Index']);

/** Object API names: `AccountObj`, `SalesOrderObj`, custom `object_x1__c`. */
const API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
/** Data ids are 24-hex object ids; allow any plain id token. */
const DATA_ID = /^[A-Za-z0-9_-]{1,64}$/;
const APP_ID = /^appId_[A-Za-z0-9_]{1,64}$/;
const EMPLOYEE_ID = /^empid-(\d{1,12})$/;

function isHost(hostname: string): boolean {
  return (FXIAOKE_HOSTS as readonly string[]).includes(hostname.toLowerCase());
}

/** The route in the hash, split on `/` (`crm/list/=/AccountObj?x=1` → ['crm', 'list', '=', 'AccountObj']). */
function route(url: URL): string[] | null {
  if (!APP_PATHS.has(url.pathname.replace(/\/+$/, ''))) return null;
  const hash = url.hash.replace(/^#\/?/, '').split('?')[0]!.replace(/\/+$/, '');
  if (hash === '') return null;
  try {
    return decodeURIComponent(hash).split('/');
  } catch {
    return null;
  }
}

const isUserObject = (api: string) => api === FXIAOKE_USER_OBJECT;
const fx = (page: PageMatch): DetectedPage => ({ crm: 'fxiaoke', tenant: null, ...page });

const home: PageCheck = {
  name: 'home',
  match(url) {
    const r = route(url);
    if (!r) return null;
    if (r.length === 2 && r[0] === 'crm' && r[1] === 'index') return { pageKind: 'home', object: null, recordId: null };
    if (r.length === 4 && r[0] === 'paasapp' && r[1] === 'index' && r[2] === '=' && APP_ID.test(r[3]!))
      return { pageKind: 'home', object: null, recordId: null };
    return null;
  },
  examples: [
    { url: 'https://www.fxiaoke.com/XV/UI/Home#crm/index', expect: fx({ pageKind: 'home', object: null, recordId: null }) },
    { url: 'https://www.fxiaoke.com/XV/UI/Home#paasapp/index/=/appId_CRM', expect: fx({ pageKind: 'home', object: null, recordId: null }) },
  ],
};

const list: PageCheck = {
  name: 'list',
  match(url) {
    const r = route(url);
    if (!r || r[1] !== 'list' || r[2] !== '=') return null;
    let api: string | undefined;
    if (r[0] === 'crm' && r.length === 4) api = r[3];
    else if (r[0] === 'paasapp' && r.length === 5 && APP_ID.test(r[3]!)) api = r[4];
    if (!api || !API_NAME.test(api)) return null;
    return { pageKind: isUserObject(api) ? 'user-list' : 'list', object: api, recordId: null };
  },
  examples: [
    {
      url: 'https://www.fxiaoke.com/XV/UI/Home#crm/list/=/AccountObj',
      expect: fx({ pageKind: 'list', object: 'AccountObj', recordId: null }),
    },
    {
      url: 'https://www.fxiaoke.com/XV/UI/Home#crm/list/=/SalesOrderObj?debug=1',
      expect: fx({ pageKind: 'list', object: 'SalesOrderObj', recordId: null }),
    },
    {
      url: 'https://www.fxiaoke.com/XV/UI/Home#paasapp/list/=/appId_CRM/object_x1__c',
      expect: fx({ pageKind: 'list', object: 'object_x1__c', recordId: null }),
    },
    {
      url: 'https://hws.fxiaoke.com/XV/UI/Home#paasapp/list/=/appId_CRM/ContactObj',
      expect: fx({ pageKind: 'list', object: 'ContactObj', recordId: null }),
    },
    {
      url: 'https://www.fxiaoke.com/XV/UI/Home#crm/list/=/PersonnelObj',
      expect: fx({ pageKind: 'user-list', object: 'PersonnelObj', recordId: null }),
    },
  ],
};

const detail: PageCheck = {
  name: 'detail',
  match(url) {
    const r = route(url);
    if (!r || r[1] !== 'detail' || r[2] !== '=') return null;
    let api: string | undefined;
    let id: string | undefined;
    if (r[0] === 'crm' && r.length === 5) [api, id] = [r[3], r[4]];
    // Unconfirmed: the newer app's detail route, by analogy with its list route.
    else if (r[0] === 'paasapp' && r.length === 6 && APP_ID.test(r[3]!)) [api, id] = [r[4], r[5]];
    if (!api || !id || !API_NAME.test(api) || !DATA_ID.test(id)) return null;
    return { pageKind: isUserObject(api) ? 'user-record' : 'record', object: api, recordId: id };
  },
  examples: [
    {
      url: 'https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/AccountObj/65a1f0c2e4b0a1b2c3d4e5f6',
      expect: fx({ pageKind: 'record', object: 'AccountObj', recordId: '65a1f0c2e4b0a1b2c3d4e5f6' }),
    },
    {
      url: 'https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/SalesOrderObj/5d0c806a7cfed91f3e95ba8e',
      expect: fx({ pageKind: 'record', object: 'SalesOrderObj', recordId: '5d0c806a7cfed91f3e95ba8e' }),
    },
    {
      url: 'https://www.fxiaoke.com/XV/UI/Home#paasapp/detail/=/appId_CRM/object_x1__c/65a1f0c2e4b0a1b2c3d4e5f7',
      expect: fx({ pageKind: 'record', object: 'object_x1__c', recordId: '65a1f0c2e4b0a1b2c3d4e5f7' }),
    },
  ],
};

const profile: PageCheck = {
  name: 'profile',
  match(url) {
    const r = route(url);
    if (!r || r.length !== 3 || r[0] !== 'profile' || r[1] !== '=') return null;
    const m = EMPLOYEE_ID.exec(r[2]!);
    return m ? { pageKind: 'user-record', object: FXIAOKE_USER_OBJECT, recordId: m[1]! } : null;
  },
  examples: [
    {
      url: 'https://www.fxiaoke.com/XV/UI/Home#profile/=/empid-1001',
      expect: fx({ pageKind: 'user-record', object: 'PersonnelObj', recordId: '1001' }),
    },
    {
      url: 'https://www.fxiaoke.com/XV/Home/Index#profile/=/empid-1042',
      expect: fx({ pageKind: 'user-record', object: 'PersonnelObj', recordId: '1042' }),
    },
  ],
};

const other = fx({ pageKind: 'other', object: null, recordId: null });
const otherExamples: PageExample[] = [
  // The admin console's object, approval and function pages are admin pages but not user pages.
  // Unconfirmed: which `crmmanage` module is role/permission administration; admins map it with a
  // page rule (page kind user-list) once they know their console's route.
  { url: 'https://www.fxiaoke.com/XV/UI/manage#crmmanage/=/module-sysobject', expect: other },
  { url: 'https://www.fxiaoke.com/XV/UI/manage#crmmanage/=/module-myobject', expect: other },
  { url: 'https://www.fxiaoke.com/XV/UI/manage#crmmanage/=/module-approval', expect: other },
  { url: 'https://www.fxiaoke.com/XV/UI/Home#crm/custompage/=/page_home__c', expect: other },
  { url: 'https://www.fxiaoke.com/XV/UI/Home', expect: other },
  { url: 'https://www.fxiaoke.com/proj/page/loginv2?returnUrl=https%3A%2F%2Fwww.fxiaoke.com%2FXV%2FUI%2FHome', expect: other },
  // Not Fxiaoke's web app at all.
  { url: 'http://www.fxiaoke.com/XV/UI/Home#crm/list/=/AccountObj', expect: null },
  { url: 'https://www.fxiaoke.com.cn.evil/XV/UI/Home#crm/list/=/AccountObj', expect: null },
  { url: 'https://fxiaoke.com.evil.io/XV/UI/Home#crm/list/=/AccountObj', expect: null },
  { url: 'https://www.fxiaoke.com.evil.io/XV/UI/Home#crm/index', expect: null },
  { url: 'https://open.fxiaoke.com/wiki.html', expect: null },
];

export const fxiaoke: CrmAdapter = {
  kind: 'fxiaoke',
  matches: FXIAOKE_HOSTS.map((h) => `https://${h}/*`),
  isHost,
  tenantOf: () => null,
  checks: [home, list, detail, profile],
  otherExamples,
  denialPhrases: {
    // Unconfirmed: Fxiaoke's English UI wording.
    en: ['You do not have permission to access this data', 'Insufficient permissions', 'No permission'],
    // Typical Chinese wording (crm-pages.md); matched case-insensitively anywhere in the watched regions.
    'zh-CN': ['您没有访问该数据的权限', '权限不足', '没有权限', '无权限'],
  },
  denialRegions: [
    // Message boxes, toasts and dialogs (the app uses Element UI: `el-*`), then the content.
    '.el-message-box',
    '.el-message',
    '.el-notification',
    '.el-dialog',
    '[role="alertdialog"]',
    '[role="alert"]',
    '[role="dialog"]',
    '[role="main"]',
    'main',
  ],
  hashRouting: true,
  catalogObject: (object) => object,
};

// ---------- user links (the flags on user pages) ----------

/** The Fxiaoke employee id a link names: the hash route `#profile/=/empid-{id}` (relative to the app's page). */
export function fxiaokeUserIdFromHref(href: string, pageUrl: string | URL): string | null {
  return userIdInLink(fxiaoke, href, pageUrl);
}

const FX_USERS = 'https://www.fxiaoke.com/XV/UI/Home#crm/list/=/PersonnelObj';
export const FXIAOKE_USER_LINKS: readonly UserLinkExample[] = [
  { page: FX_USERS, href: '#profile/=/empid-1001', expect: '1001' },
  { page: FX_USERS, href: 'https://www.fxiaoke.com/XV/Home/Index#profile/=/empid-1042', expect: '1042' },
  { page: FX_USERS, href: '#crm/detail/=/AccountObj/65a1f0c2e4b0a1b2c3d4e5f6', expect: null },
];
