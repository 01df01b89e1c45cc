/**
 * Microsoft Dynamics 365 model-driven apps (Unified Interface) on `{org}.crm{N}.dynamics.com`.
 * Facts: shared/reference/crm-pages.md ("Microsoft Dynamics 365"). URL parameters: Microsoft Learn,
 * "Open forms, views, dialogs, and reports with a URL" (main.aspx with `etn`, `pagetype`, `id`,
 * `viewid`; a record form without `id` opens a new record). Dialog `data-id`s: the ones Microsoft's
 * own UI test framework (EasyRepro, AppElementReference.cs) locates.
 */
import { userIdInLink } from './detect.ts';
import type { CrmAdapter, DetectedPage, PageCheck, PageExample, PageMatch, UserLinkExample } from './types.ts';

/**
 * Online regions: `crm` (North America), then `crm2` (South America) … `crm21`. Microsoft documents
 * regions up to crm12 (France) in the pages we read; the higher numbers are newer regions
 * (unconfirmed individually), accepted so a new region needs no release. Only the
 * `.crm{N}.dynamics.com` family: sovereign clouds (`.dynamics.cn`, `.microsoftdynamics.us`) and
 * on-premises hosts are in-house CRMs for AccessLens (page rules).
 */
export const DYNAMICS_MAX_REGION = 21;
const REGION_LABELS = ['crm', ...Array.from({ length: DYNAMICS_MAX_REGION - 1 }, (_, i) => `crm${i + 2}`)];

/** One DNS label: the organisation's URL name (`contoso`). */
const HOST = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.crm([1-9][0-9]?)?\.dynamics\.com$/;

function orgOf(hostname: string): string | null {
  const m = HOST.exec(hostname.toLowerCase());
  if (!m) return null;
  const region = m[2];
  if (region !== undefined && (Number(region) < 2 || Number(region) > DYNAMICS_MAX_REGION)) return null;
  return m[1]!;
}

/** Table (entity) logical names are lower case: `account`, `new_project`, `cr1a2_invoice`. */
const LOGICAL_NAME = /^[a-z][a-z0-9_]{0,99}$/;
const GUID = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

/** The user table: its list and records are the user pages. */
export const DYNAMICS_USER_TABLE = 'systemuser';

/** `main.aspx` parameters, or null when this is not the app's main page. Names are case-insensitive. */
function mainParams(url: URL): { pagetype: string; etn: string | null; id: string | null } | null {
  if (url.pathname.toLowerCase() !== '/main.aspx') return null;
  const params = new Map<string, string>();
  url.searchParams.forEach((value, key) => {
    if (!params.has(key.toLowerCase())) params.set(key.toLowerCase(), value);
  });
  const get = (name: string): string | null => params.get(name) ?? null;
  const etn = get('etn')?.trim().toLowerCase() ?? null;
  return { pagetype: (get('pagetype') ?? '').toLowerCase(), etn: etn && LOGICAL_NAME.test(etn) ? etn : null, id: get('id') };
}

const dyn = (tenant: string, page: PageMatch): DetectedPage => ({ crm: 'dynamics', tenant, ...page });

const entityRecord: PageCheck = {
  name: 'entity-record',
  match(url) {
    const p = mainParams(url);
    if (!p || p.pagetype !== 'entityrecord' || !p.etn) return null;
    if (p.id === null || p.id.trim() === '') return { pageKind: 'new', object: p.etn, recordId: null };
    const m = GUID.exec(p.id.trim());
    if (!m) return null;
    const recordId = m[1]!.toLowerCase();
    return { pageKind: p.etn === DYNAMICS_USER_TABLE ? 'user-record' : 'record', object: p.etn, recordId };
  },
  examples: [
    {
      url: 'https://acme.crm4.dynamics.com/main.aspx?appid=0c1f7a7c-3a6e-ef11-a670-000d3a4a1b2c&pagetype=entityrecord&etn=account&id=5a4f6a2e-1b7c-ef11-a671-6045bd8c1d2e',
      expect: dyn('acme', { pageKind: 'record', object: 'account', recordId: '5a4f6a2e-1b7c-ef11-a671-6045bd8c1d2e' }),
    },
    {
      // Parameters in any order, the id in URL-encoded braces and upper case (as Microsoft Learn writes it).
      url: 'https://contoso.crm.dynamics.com/main.aspx?id=%7B91330924-802A-4B0D-A900-34FD9D790829%7D&etn=opportunity&pagetype=entityrecord',
      expect: dyn('contoso', { pageKind: 'record', object: 'opportunity', recordId: '91330924-802a-4b0d-a900-34fd9d790829' }),
    },
    {
      url: 'https://contoso.crm11.dynamics.com/main.aspx?pagetype=entityrecord&etn=new_project&id={0f8fad5b-d9cb-469f-a165-70867728950e}&formid=8448b78f-8f42-454e-8e2a-f8196b0419af',
      expect: dyn('contoso', { pageKind: 'record', object: 'new_project', recordId: '0f8fad5b-d9cb-469f-a165-70867728950e' }),
    },
    {
      // A record form without an id is the new-record form.
      url: 'https://contoso.crm.dynamics.com/main.aspx?etn=account&pagetype=entityrecord',
      expect: dyn('contoso', { pageKind: 'new', object: 'account', recordId: null }),
    },
    {
      url: 'https://acme.crm4.dynamics.com/main.aspx?appid=0c1f7a7c-3a6e-ef11-a670-000d3a4a1b2c&pagetype=entityrecord&etn=systemuser&id=7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c',
      expect: dyn('acme', { pageKind: 'user-record', object: 'systemuser', recordId: '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c' }),
    },
    {
      url: 'https://fabrikam.crm12.dynamics.com/main.aspx?forceUCI=1&pagetype=entityrecord&etn=incident&id=a1b2c3d4-0000-4000-8000-000000000001',
      expect: dyn('fabrikam', { pageKind: 'record', object: 'incident', recordId: 'a1b2c3d4-0000-4000-8000-000000000001' }),
    },
  ],
};

const entityList: PageCheck = {
  name: 'entity-list',
  match(url) {
    const p = mainParams(url);
    if (!p || p.pagetype !== 'entitylist' || !p.etn) return null;
    return { pageKind: p.etn === DYNAMICS_USER_TABLE ? 'user-list' : 'list', object: p.etn, recordId: null };
  },
  examples: [
    {
      url: 'https://acme.crm4.dynamics.com/main.aspx?appid=0c1f7a7c-3a6e-ef11-a670-000d3a4a1b2c&pagetype=entitylist&etn=account&viewid=00000000-0000-0000-00aa-000010001001&viewType=1039',
      expect: dyn('acme', { pageKind: 'list', object: 'account', recordId: null }),
    },
    {
      url: 'https://contoso.crm.dynamics.com/main.aspx?etn=contact&pagetype=entitylist&viewid={00000000-0000-0000-00AA-000010001004}&viewtype=1039&navbar=off&cmdbar=false',
      expect: dyn('contoso', { pageKind: 'list', object: 'contact', recordId: null }),
    },
    {
      url: 'https://acme.crm4.dynamics.com/main.aspx?pagetype=entitylist&etn=systemuser',
      expect: dyn('acme', { pageKind: 'user-list', object: 'systemuser', recordId: null }),
    },
    {
      url: 'https://contoso.crm5.dynamics.com/main.aspx?pagetype=entitylist&etn=opportunity',
      expect: dyn('contoso', { pageKind: 'list', object: 'opportunity', recordId: null }),
    },
  ],
};

const otherExamples: PageExample[] = [
  {
    url: 'https://acme.crm4.dynamics.com/main.aspx?appid=0c1f7a7c-3a6e-ef11-a670-000d3a4a1b2c&pagetype=dashboard&id=2e3d0841-fa6d-df11-986c-00155d2e3002',
    expect: dyn('acme', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://acme.crm4.dynamics.com/main.aspx?pagetype=entityrecord&etn=account&id=not-a-guid',
    expect: dyn('acme', { pageKind: 'other', object: null, recordId: null }),
  },
  {
    url: 'https://acme.crm4.dynamics.com/apps',
    expect: dyn('acme', { pageKind: 'other', object: null, recordId: null }),
  },
  // Not Dynamics CRM pages at all.
  { url: 'http://acme.crm4.dynamics.com/main.aspx?pagetype=entityrecord&etn=account', expect: null },
  { url: 'https://contoso.crm.dynamics.com.evil.io/main.aspx?pagetype=entitylist&etn=account', expect: null },
  { url: 'https://crm.dynamics.com/main.aspx?pagetype=entitylist&etn=account', expect: null },
  { url: 'https://a.b.crm.dynamics.com/main.aspx?pagetype=entitylist&etn=account', expect: null },
  { url: 'https://contoso.crm1.dynamics.com/main.aspx?pagetype=entitylist&etn=account', expect: null },
  { url: 'https://contoso.crm99.dynamics.com/main.aspx?pagetype=entitylist&etn=account', expect: null },
  { url: 'https://contoso.operations.dynamics.com/?mi=CustTableListPage', expect: null },
  { url: 'https://contoso.crm.dynamics.cn/main.aspx?pagetype=entitylist&etn=account', expect: null },
];

export const dynamics: CrmAdapter = {
  kind: 'dynamics',
  matches: REGION_LABELS.map((label) => `https://*.${label}.dynamics.com/*`),
  isHost: (hostname) => orgOf(hostname) !== null,
  tenantOf: (url) => orgOf(url.hostname),
  checks: [entityRecord, entityList],
  otherExamples,
  denialPhrases: {
    en: [
      // The Unified Interface dialog's title, and its message.
      'Insufficient Permissions',
      'You do not have permissions to access these records',
      'You do not have enough privileges',
      // "Principal user (Id=…, type=8, …) is missing prvReadAccount privilege (Id=…)": the privilege is missing.
      'is missing prv',
      // "Principal with id … does not have WriteAccess right(s) for record with id …": not shared.
      'Access right(s) for record',
    ],
    // Unconfirmed: Dynamics' Simplified Chinese UI wording (no public source showed it); admins add the
    // exact wording through page rules.
    'zh-CN': ['权限不足', '您没有足够的权限', '您没有访问这些记录的权限'],
  },
  denialRegions: [
    // The error dialog (`errorDialogdialog`, its subtitle and title), other dialogs, the form's
    // notification bar, then the form and the grid.
    '[data-id="errorDialog_subtitle"]',
    '[data-id="errorDialogdialog"]',
    '[role="alertdialog"]',
    '[role="dialog"]',
    '[data-id="notificationWrapper"]',
    '[role="alert"]',
    '[data-id="editFormRoot"]',
    '[data-id="data-set-body-container"]',
  ],
  // The Unified Interface is a single-page app that changes the query string with pushState.
  hashRouting: false,
  catalogObject: (object) => object,
};

// ---------- user links (the flags on user pages) ----------

/** The systemuser id (lower-case GUID) a link names: `main.aspx?…pagetype=entityrecord&etn=systemuser&id=…`. */
export function dynamicsUserIdFromHref(href: string, pageUrl: string | URL): string | null {
  return userIdInLink(dynamics, href, pageUrl);
}

const DYN_USERS = 'https://acme.crm4.dynamics.com/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entitylist&etn=systemuser';
export const DYNAMICS_USER_LINKS: readonly UserLinkExample[] = [
  {
    page: DYN_USERS,
    href: '/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entityrecord&etn=systemuser&id=7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c',
    expect: '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c',
  },
  {
    page: DYN_USERS,
    href: '/main.aspx?pagetype=entityrecord&etn=systemuser&id=%7B7D2A0F4E-59B1-EF11-B8E8-000D3A4A1B2C%7D',
    expect: '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c',
  },
  { page: DYN_USERS, href: '/main.aspx?pagetype=entityrecord&etn=account&id=7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c', expect: null },
  { page: DYN_USERS, href: '/main.aspx?pagetype=entitylist&etn=systemuser', expect: null },
];
