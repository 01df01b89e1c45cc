/**
 * One HTTPS fixture server for every CRM AccessLens reads. Chromium maps the CRMs' real hostnames here
 * (--host-resolver-rules, see shared/reference/browser-testing.md), so content scripts run under
 * their production match patterns. The server picks the CRM by the request's Host header and the
 * page by its path (as each CRM's own server does); Fxiaoke's hash routes are rendered by the
 * fixture app after load, from `?__route={hash}`. Which objects the demo user may not read is
 * configurable per CRM: their record pages render the CRM's own denial a moment after load.
 * Pages are hand-built after each CRM's real structure (test/fixtures/{crm}/); nothing leaves the machine.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { PageKind } from '@accesslens/shared';
import { generate } from 'selfsigned';

const fixtures = join(import.meta.dirname, '../fixtures');

export const FIXTURE_CRMS = ['salesforce', 'dynamics', 'hubspot', 'zoho', 'fxiaoke'] as const;
export type FixtureCrm = (typeof FIXTURE_CRMS)[number];

/** The real hostnames each CRM's fixtures answer on (map every one of them to the fixture server). */
export const FIXTURE_HOSTS: Readonly<Record<FixtureCrm, readonly string[]>> = {
  salesforce: ['acme.lightning.force.com', 'acme.my.salesforce.com', 'acme.my.salesforce-setup.com'],
  dynamics: ['acme.crm4.dynamics.com'],
  hubspot: ['app.hubspot.com', 'app-eu1.hubspot.com'],
  zoho: ['crm.zoho.com.cn', 'crm.zoho.com'],
  fxiaoke: ['www.fxiaoke.com'],
};
export const CRM_FIXTURE_HOSTS: readonly string[] = FIXTURE_CRMS.flatMap((crm) => FIXTURE_HOSTS[crm]);

/** Objects (by the page object name detectPage reads) the demo user cannot read, per CRM. */
export const DEFAULT_DENIED: Readonly<Record<FixtureCrm, readonly string[]>> = {
  salesforce: ['Contract', 'Quote', 'Order', 'Case'],
  dynamics: ['opportunity', 'quote'],
  hubspot: ['deal'],
  zoho: ['Potentials', 'Quotes'],
  fxiaoke: ['SalesOrderObj', 'ContractObj'],
};

/** Fixed demo tenants. */
export const FIXTURE_TENANTS = {
  salesforce: 'acme',
  dynamics: 'acme',
  hubspot: '4242424',
  /** detectPage's tenant: the Org ID, the number in the URL's `org7700001`. */
  zoho: '7700001',
  fxiaoke: null,
} as const;

const DYN_APP = '3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b';
const dynUrl = (query: string) => `https://acme.crm4.dynamics.com/main.aspx?appid=${DYN_APP}&${query}`;

/** One fixture page: its URL, the page kind it is, and what it shows (for whoever writes tests against it). */
export interface FixturePage {
  crm: FixtureCrm;
  url: string;
  kind: PageKind;
  /** The object and record (or user) id the page is about, as the CRM writes them. */
  object: string | null;
  recordId: string | null;
  /** Denied under DEFAULT_DENIED: the CRM's denial appears a moment after load. */
  denied: boolean;
  shows: string;
}

const page = (crm: FixtureCrm, url: string, kind: PageKind, object: string | null, recordId: string | null, shows: string, denied = false): FixturePage => ({
  crm,
  url,
  kind,
  object,
  recordId,
  denied,
  shows,
});

/** Every page the fixture server serves, for end-to-end tests and the fixture test. */
export const FIXTURE_PAGES: readonly FixturePage[] = [
  // Salesforce Lightning and Setup (acme.lightning.force.com), Classic (acme.my.salesforce.com).
  page(
    'salesforce',
    'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/view',
    'record',
    'Account',
    '001xx000003DGb2AAG',
    'Lightning record page of Globex Corporation (fields incl. SECRET-REVENUE-4,200,000); nav links to Contract 00000142 (denied) and Opportunity, by pushState',
  ),
  page(
    'salesforce',
    'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/edit',
    'record-edit',
    'Account',
    '001xx000003DGb2AAG',
    'the same record in edit mode',
  ),
  page(
    'salesforce',
    'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
    'record',
    'Contract',
    '800xx000001AbCdAAK',
    'Lightning shell, spinner, then the "Insufficient Privileges" illustration (~300 ms)',
    true,
  ),
  page(
    'salesforce',
    'https://acme.lightning.force.com/lightning/r/Quote/0Q0xx0000004CmnCAE/edit',
    'record-edit',
    'Quote',
    '0Q0xx0000004CmnCAE',
    'denied edit page (Insufficient Privileges after ~300 ms)',
    true,
  ),
  page(
    'salesforce',
    'https://acme.lightning.force.com/lightning/o/Account/list?filterName=Recent',
    'list',
    'Account',
    null,
    'Lightning list view of accounts, rows link to records (data-recordid)',
  ),
  page('salesforce', 'https://acme.lightning.force.com/lightning/o/Opportunity/home', 'home', 'Opportunity', null, 'Lightning object home (recently viewed)'),
  page('salesforce', 'https://acme.lightning.force.com/lightning/page/home', 'other', null, null, 'Lightning home page'),
  page(
    'salesforce',
    'https://acme.lightning.force.com/lightning/setup/ManageUsers/home',
    'user-list',
    'User',
    null,
    'Setup › Users: the Lightning Setup shell with the Classic user list inside an iframe (https://acme.my.salesforce.com/005?isUserEntityOverride=1&isdtp=p1…), rows link /005… with names and emails',
  ),
  page(
    'salesforce',
    'https://acme.lightning.force.com/lightning/setup/ManageUsers/page?address=%2F005xx000001SvHaAAK%3Fnoredirect%3D1',
    'user-record',
    'User',
    '005xx000001SvHaAAK',
    "Setup › Users › Ava Chen: the Classic user detail inside Setup's iframe",
  ),
  page(
    'salesforce',
    'https://acme.my.salesforce-setup.com/lightning/setup/ManageUsers/home',
    'user-list',
    'User',
    null,
    'the same Setup users page on the Setup domain',
  ),
  page(
    'salesforce',
    'https://acme.my.salesforce.com/005?isUserEntityOverride=1',
    'user-list',
    'User',
    null,
    'Classic user list (the page Setup frames), table.list with dataRow links /005…?noredirect=1',
  ),
  page(
    'salesforce',
    'https://acme.my.salesforce.com/005xx000001SvHa?noredirect=1&isUserEntityOverride=1',
    'user-record',
    'User',
    '005xx000001SvHa',
    'Classic user detail of Ava Chen',
  ),
  page('salesforce', 'https://acme.my.salesforce.com/001xx000003DGb2', 'record', 'Account', '001xx000003DGb2', 'Classic account detail page'),
  page('salesforce', 'https://acme.my.salesforce.com/800xx000001AbCd', 'record', 'Contract', '800xx000001AbCd', 'Classic "Insufficient Privileges" page', true),
  page('salesforce', 'https://acme.my.salesforce.com/001/o', 'home', 'Account', null, 'Classic Accounts home with recent accounts'),
  // Dynamics 365 Unified Interface (acme.crm4.dynamics.com).
  page(
    'dynamics',
    dynUrl('pagetype=entityrecord&etn=account&id=5a4f6a2e-1b7c-ef11-a671-6045bd8c1d2e'),
    'record',
    'account',
    '5a4f6a2e-1b7c-ef11-a671-6045bd8c1d2e',
    'account form of Globex Corporation (data-id fields); sitemap links to lists, a link to a denied opportunity',
  ),
  page(
    'dynamics',
    dynUrl('pagetype=entityrecord&etn=opportunity&id=9c3e1d2a-6b5f-ef11-a671-6045bd8c1d2e'),
    'record',
    'opportunity',
    '9c3e1d2a-6b5f-ef11-a671-6045bd8c1d2e',
    'form shell, then the "Insufficient Permissions" error dialog (errorDialogdialog) after ~300 ms',
    true,
  ),
  page(
    'dynamics',
    dynUrl('pagetype=entitylist&etn=account&viewid=00000000-0000-0000-00aa-000010001001'),
    'list',
    'account',
    null,
    'Active Accounts grid, rows link to account forms',
  ),
  page('dynamics', dynUrl('pagetype=entityrecord&etn=account'), 'new', 'account', null, 'new account form'),
  page(
    'dynamics',
    dynUrl('pagetype=entitylist&etn=systemuser'),
    'user-list',
    'systemuser',
    null,
    'Enabled Users grid: links carry each systemuser id, with full names and primary emails',
  ),
  page(
    'dynamics',
    dynUrl('pagetype=entityrecord&etn=systemuser&id=7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c'),
    'user-record',
    'systemuser',
    '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c',
    'user form of Ava Chen',
  ),
  // HubSpot (app.hubspot.com, app-eu1.hubspot.com), portal 4242424.
  page(
    'hubspot',
    'https://app.hubspot.com/contacts/4242424/record/0-1/51',
    'record',
    'contact',
    '51',
    'contact record of Ava Dahl (properties incl. SECRET-REVENUE); links to a company and a denied deal',
  ),
  page(
    'hubspot',
    'https://app.hubspot.com/contacts/4242424/record/0-3/18273645501',
    'record',
    'deal',
    '18273645501',
    'record shell, then the "You don\'t have permission to view this record" alert after ~300 ms',
    true,
  ),
  page('hubspot', 'https://app-eu1.hubspot.com/contacts/4242424/record/0-2/9803454501', 'record', 'company', '9803454501', 'company record on the EU host'),
  page('hubspot', 'https://app.hubspot.com/contacts/4242424/objects/0-1/views/all/list', 'list', 'contact', null, 'contacts index table, rows link to records'),
  page(
    'hubspot',
    'https://app.hubspot.com/settings/4242424/users',
    'user-list',
    'user',
    null,
    'Settings › Users: rows link /settings/4242424/users/user/{id}, with names and emails',
  ),
  page('hubspot', 'https://app.hubspot.com/settings/4242424/users/user/61002', 'user-record', 'user', '61002', "Ava Chen's user settings (permissions)"),
  // Zoho CRM, China data centre (Chinese UI) and .com (English UI), org7700001.
  page(
    'zoho',
    'https://crm.zoho.com.cn/crm/org7700001/tab/Leads/770000100000231001',
    'record',
    'Leads',
    '770000100000231001',
    'lead record (Chinese UI), Lyte/crux components',
  ),
  page(
    'zoho',
    'https://crm.zoho.com.cn/crm/org7700001/tab/Potentials/770000100000245007',
    'record',
    'Potentials',
    '770000100000245007',
    'deal record shell, then "您没有权限查看此记录" after ~300 ms',
    true,
  ),
  page(
    'zoho',
    'https://crm.zoho.com.cn/crm/org7700001/tab/Leads/770000100000231001/edit',
    'record-edit',
    'Leads',
    '770000100000231001',
    'lead edit form (Chinese UI)',
  ),
  page(
    'zoho',
    'https://crm.zoho.com.cn/crm/org7700001/tab/Leads/custom-view/770000100000087501/list',
    'list',
    'Leads',
    null,
    'leads list view: crux-table-component, lyte-exptable rows, cells classed lv_data_* and lv-{Field_API_Name}',
  ),
  page(
    'zoho',
    'https://crm.zoho.com.cn/crm/org7700001/settings/users',
    'user-list',
    'Users',
    null,
    '设置 › 用户及控制 › 用户: rows link settings/users/{id}, names and emails',
  ),
  page(
    'zoho',
    'https://crm.zoho.com.cn/crm/org7700001/settings/users/770000100000000301',
    'user-record',
    'Users',
    '770000100000000301',
    "a user's details (profile 角色, role 职位)",
  ),
  page(
    'zoho',
    'https://crm.zoho.com/crm/org7700001/tab/Leads/770000100000231001',
    'record',
    'Leads',
    '770000100000231001',
    'the lead record in the English UI',
  ),
  page(
    'zoho',
    'https://crm.zoho.com/crm/org7700001/tab/Potentials/770000100000245007',
    'record',
    'Potentials',
    '770000100000245007',
    'denied deal in the English UI ("You do not have permission to view this record")',
    true,
  ),
  // Fxiaoke (www.fxiaoke.com): one hash-routed app; the server serves the shell, the app renders the hash.
  page('fxiaoke', 'https://www.fxiaoke.com/XV/UI/Home#crm/index', 'home', null, null, 'CRM home (Chinese UI)'),
  page(
    'fxiaoke',
    'https://www.fxiaoke.com/XV/UI/Home#crm/list/=/AccountObj',
    'list',
    'AccountObj',
    null,
    '客户 list: tr[data-id] rows, td.td-{field} cells, names link #crm/detail/=/AccountObj/{id}',
  ),
  page(
    'fxiaoke',
    'https://www.fxiaoke.com/XV/UI/Home#paasapp/list/=/appId_CRM/AccountObj',
    'list',
    'AccountObj',
    null,
    'the same list in the newer paasapp route',
  ),
  page(
    'fxiaoke',
    'https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/AccountObj/65a1f0c2e4b0a1b2c3d4e5f6',
    'record',
    'AccountObj',
    '65a1f0c2e4b0a1b2c3d4e5f6',
    'customer detail (faci-field-display fields)',
  ),
  page(
    'fxiaoke',
    'https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/SalesOrderObj/65a1f0c2e4b0a1b2c3d4e6a0',
    'record',
    'SalesOrderObj',
    '65a1f0c2e4b0a1b2c3d4e6a0',
    'order detail shell, then the el-message-box "您没有访问该数据的权限" after ~300 ms',
    true,
  ),
  page(
    'fxiaoke',
    'https://www.fxiaoke.com/XV/UI/Home#crm/list/=/PersonnelObj',
    'user-list',
    'PersonnelObj',
    null,
    '人员 list: names link #profile/=/empid-{id}, with emails',
  ),
  page('fxiaoke', 'https://www.fxiaoke.com/XV/UI/Home#profile/=/empid-1001', 'user-record', 'PersonnelObj', '1001', "陈艾娃's profile (department, CRM roles)"),
  page('fxiaoke', 'https://www.fxiaoke.com/XV/UI/manage#crmmanage/=/module-sysobject', 'other', null, null, 'admin console: preset objects (not a user page)'),
];

/** A rendered fixture page: the template and the values it is filled with. */
interface Route {
  template: string;
  kind: PageKind | 'shell';
  vars?: Record<string, string>;
}

/** Language of the UI: the China data centre and Fxiaoke are Chinese. */
function languageOf(host: string): 'en' | 'zh-CN' {
  return host.endsWith('.com.cn') || host.endsWith('fxiaoke.com') ? 'zh-CN' : 'en';
}

function crmOf(host: string): FixtureCrm | null {
  return FIXTURE_CRMS.find((crm) => FIXTURE_HOSTS[crm].includes(host)) ?? null;
}

const SF_PREFIXES: Record<string, string> = {
  '001': 'Account',
  '003': 'Contact',
  '005': 'User',
  '006': 'Opportunity',
  '800': 'Contract',
  '801': 'Order',
  '0Q0': 'Quote',
  '500': 'Case',
};

const FX_LABELS: Record<string, string> = { AccountObj: '客户', ContactObj: '联系人', SalesOrderObj: '销售订单', ContractObj: '合同' };

/** Each CRM's own routing, written independently of AccessLens's adapters (they must agree with it, not derive from it). */
const ROUTERS: Record<FixtureCrm, (url: URL, denied: ReadonlySet<string>) => Route | null> = {
  salesforce(url, denied): Route | null {
    const p = url.pathname;
    let m = /^\/lightning\/r\/([A-Za-z_]+)\/([A-Za-z0-9]{15,18})\/(view|edit)$/.exec(p);
    if (m) {
      const [, object, id, view] = m as unknown as [string, string, string, string];
      if (object === 'User') return null; // Lightning's user profile page is not modelled (Setup's user pages are)
      const kind = view === 'edit' ? 'record-edit' : 'record';
      return { template: denied.has(object) ? 'record-denied.html' : 'record.html', kind, vars: { object, recordId: id } };
    }
    m = /^\/lightning\/o\/([A-Za-z_]+)\/(home|list)$/.exec(p);
    if (m) return { template: m[2] === 'list' ? 'list.html' : 'object-home.html', kind: m[2] as 'home' | 'list', vars: { object: m[1]! } };
    if (p === '/lightning/page/home') return { template: 'home.html', kind: 'other' };
    if (p === '/lightning/setup/ManageUsers/home') return { template: 'setup-users.html', kind: 'user-list', vars: { frame: '/005?isUserEntityOverride=1' } };
    if (p === '/lightning/setup/ManageUsers/page') {
      const address = url.searchParams.get('address') ?? '';
      const user = /^\/(005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)/.exec(address);
      if (!user) return null;
      return { template: 'setup-user.html', kind: 'user-record', vars: { frame: `/${user[1]!.slice(0, 15)}?noredirect=1&isUserEntityOverride=1` } };
    }
    // Salesforce Classic.
    if (p === '/005') return { template: 'classic-users.html', kind: 'user-list' };
    m = /^\/([A-Za-z0-9]{3})\/o$/.exec(p);
    if (m && SF_PREFIXES[m[1]!]) return { template: 'classic-home.html', kind: 'home', vars: { object: SF_PREFIXES[m[1]!]! } };
    m = /^\/([A-Za-z0-9]{15}|[A-Za-z0-9]{18})$/.exec(p);
    if (m) {
      const id = m[1]!;
      const object = SF_PREFIXES[id.slice(0, 3)];
      if (!object) return null;
      if (object === 'User') return { template: 'classic-user.html', kind: 'user-record', vars: { recordId: id } };
      return { template: denied.has(object) ? 'classic-denied.html' : 'classic-record.html', kind: 'record', vars: { object, recordId: id } };
    }
    return null;
  },

  dynamics(url, denied): Route | null {
    if (url.pathname.toLowerCase() !== '/main.aspx') return null;
    const q = new Map<string, string>();
    url.searchParams.forEach((v, k) => q.set(k.toLowerCase(), v));
    const etn = (q.get('etn') ?? '').toLowerCase();
    const id = (q.get('id') ?? '').replace(/[{}]/g, '').toLowerCase();
    const vars = { object: etn, recordId: id, appid: DYN_APP };
    switch ((q.get('pagetype') ?? '').toLowerCase()) {
      case 'entityrecord':
        if (etn === 'systemuser') return id ? { template: 'user.html', kind: 'user-record', vars } : null;
        if (!id) return { template: 'new.html', kind: 'new', vars };
        return { template: denied.has(etn) ? 'record-denied.html' : 'record.html', kind: 'record', vars };
      case 'entitylist':
        if (etn === 'systemuser') return { template: 'users.html', kind: 'user-list', vars };
        return etn ? { template: 'list.html', kind: 'list', vars } : null;
      default:
        return null;
    }
  },

  hubspot(url, denied): Route | null {
    const s = url.pathname.replace(/\/+$/, '').split('/').slice(1);
    const types: Record<string, string> = { '0-1': 'contact', '0-2': 'company', '0-3': 'deal', '0-5': 'ticket' };
    if (s[0] === 'contacts' && s[2] === 'record' && s.length === 5) {
      const object = types[s[3]!];
      if (!object) return null;
      return {
        template: denied.has(object) ? 'record-denied.html' : 'record.html',
        kind: 'record',
        vars: { portal: s[1]!, object, typeId: s[3]!, recordId: s[4]! },
      };
    }
    if (s[0] === 'contacts' && s[2] === 'objects' && s[4] === 'views' && s[6] === 'list' && types[s[3]!])
      return { template: 'list.html', kind: 'list', vars: { portal: s[1]!, object: types[s[3]!]! } };
    if (s[0] === 'settings' && s[2] === 'users' && s.length === 3) return { template: 'users.html', kind: 'user-list', vars: { portal: s[1]! } };
    if (s[0] === 'settings' && s[2] === 'users' && s[3] === 'user' && s.length === 5)
      return { template: 'user.html', kind: 'user-record', vars: { portal: s[1]!, recordId: s[4]! } };
    return null;
  },

  zoho(url, denied): Route | null {
    const s = url.pathname.replace(/\/+$/, '').split('/').slice(1);
    if (s[0] !== 'crm' || !/^org\d+$/.test(s[1] ?? '')) return null;
    const org = s[1]!;
    const [section, module, a, b, c] = s.slice(2);
    if (section === 'tab' && module) {
      const vars = { org, object: module, recordId: a ?? '' };
      if (s.length === 5 && /^\d+$/.test(a!)) return { template: denied.has(module) ? 'record-denied.html' : 'record.html', kind: 'record', vars };
      if (s.length === 6 && /^\d+$/.test(a!) && b === 'edit')
        return { template: denied.has(module) ? 'record-denied.html' : 'edit.html', kind: 'record-edit', vars };
      if (s.length === 7 && a === 'custom-view' && c === 'list') return { template: 'list.html', kind: 'list', vars };
      return null;
    }
    if (section === 'settings' && module === 'users') {
      if (s.length === 4) return { template: 'users.html', kind: 'user-list', vars: { org } };
      if (s.length === 5) return { template: 'user.html', kind: 'user-record', vars: { org, recordId: a! } };
    }
    return null;
  },

  fxiaoke(url, denied): Route | null {
    if (url.pathname !== '/XV/UI/Home' && url.pathname !== '/XV/UI/manage') return null;
    const hash = url.searchParams.get('__route');
    if (hash === null) return { template: 'shell.html', kind: 'shell' };
    const r = hash.split('?')[0]!.split('/');
    if (r.join('/') === 'crm/index') return { template: 'home.html', kind: 'home' };
    let api: string | undefined;
    if (r[0] === 'crm' && r[1] === 'list' && r[2] === '=' && r.length === 4) api = r[3];
    if (r[0] === 'paasapp' && r[1] === 'list' && r[2] === '=' && r.length === 5) api = r[4];
    if (api === 'PersonnelObj') return { template: 'users.html', kind: 'user-list' };
    if (api && /^[A-Za-z][A-Za-z0-9_]*$/.test(api)) return { template: 'list.html', kind: 'list', vars: { object: api, label: FX_LABELS[api] ?? api } };
    if (r[0] === 'crm' && r[1] === 'detail' && r[2] === '=' && r.length === 5)
      return { template: denied.has(r[3]!) ? 'record-denied.html' : 'record.html', kind: 'record', vars: { object: r[3]!, recordId: r[4]! } };
    const emp = /^empid-(\d+)$/.exec(r[2] ?? '');
    if (r[0] === 'profile' && r[1] === '=' && emp) return { template: 'user.html', kind: 'user-record', vars: { recordId: emp[1]! } };
    if (r[0] === 'crmmanage' && r[1] === '=' && r[2] === 'module-sysobject') return { template: 'manage-objects.html', kind: 'other' };
    return null;
  },
};

/** Which fixture the server renders for a request (exported for the fixture test). */
export function routeFixture(
  host: string,
  pathAndQuery: string,
  denied: Readonly<Record<FixtureCrm, ReadonlySet<string>>>,
): (Route & { crm: FixtureCrm }) | null {
  const crm = crmOf(host.toLowerCase());
  if (!crm) return null;
  const route = ROUTERS[crm](new URL(pathAndQuery, `https://${host}`), denied[crm]);
  return route ? { ...route, crm } : null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const cache = new Map<string, string>();
function read(path: string): string {
  let text = cache.get(path);
  if (text === undefined) {
    text = readFileSync(path, 'utf8');
    cache.set(path, text);
  }
  return text;
}

function strings(crm: FixtureCrm, lang: string): Record<string, string> {
  let file: string;
  try {
    file = read(join(fixtures, crm, 'strings.json'));
  } catch {
    return {};
  }
  const all = JSON.parse(file) as Record<string, Record<string, string>>;
  return all[lang] ?? all.en ?? {};
}

/** Fills `{{name}}` (HTML-escaped values) and `{{t.key}}` (the UI language's strings). */
function fill(template: string, vars: Record<string, string>, t: Record<string, string>): string {
  return template.replace(/\{\{(t\.)?([A-Za-z][\w-]*)\}\}/g, (whole, isString: string | undefined, name: string) => {
    const value = isString ? t[name] : vars[name];
    if (value === undefined) throw new Error(`fixture placeholder ${whole} has no value`);
    return escapeHtml(value);
  });
}

export function renderFixture(
  host: string,
  pathAndQuery: string,
  denied: Readonly<Record<FixtureCrm, ReadonlySet<string>>>,
): { status: number; html: string; kind: string | null } {
  const route = routeFixture(host, pathAndQuery, denied);
  if (!route) return { status: 404, html: 'not found', kind: null };
  const lang = languageOf(host.toLowerCase());
  const config = JSON.stringify({ crm: route.crm, hashRouting: route.crm === 'fxiaoke', lang }).replace(/</g, '\\u003c');
  const vars = { ...route.vars, host, lang, kind: route.kind };
  const template = read(join(fixtures, route.crm, route.template)).replace('{{config}}', config);
  const html = fill(template, vars, strings(route.crm, lang));
  return { status: 200, html, kind: route.kind };
}

export interface CrmFixtureOptions {
  /** Per CRM, the objects the demo user may not read (replaces that CRM's DEFAULT_DENIED). */
  denied?: Partial<Record<FixtureCrm, readonly string[]>>;
  /**
   * What the CRM itself now says (e.g. a fake CRM API that really holds the user's roles): true lifts a
   * denial, as the CRM would once access is granted there; undefined leaves the fixture's own list.
   */
  access?: (crm: FixtureCrm, object: string) => boolean | undefined;
  /**
   * Fake CRM API servers (test/fakes/) behind the CRMs' own hosts, as the real CRMs serve their APIs there:
   * Salesforce's REST API under `/services/` on the My Domain host (`*.my.salesforce.com`), Dynamics' Web API
   * under `/api/` on the environment's host. Requests are passed on as they came (method, path, headers, body).
   */
  apis?: Partial<Record<'salesforce' | 'dynamics', string>>;
}

export interface CrmFixture {
  port: number;
  /** Every hostname to map to the server (`--host-resolver-rules`). */
  hosts: string[];
  denied: Readonly<Record<FixtureCrm, ReadonlySet<string>>>;
  /** The CRM's administrator gives the demo user `object` by hand: its pages stop refusing. */
  allow(crm: FixtureCrm, object: string): void;
  close(): Promise<void>;
}

export async function startCrmFixture(options: CrmFixtureOptions = {}): Promise<CrmFixture> {
  const denied = {} as Record<FixtureCrm, ReadonlySet<string>>;
  for (const crm of FIXTURE_CRMS) denied[crm] = new Set(options.denied?.[crm] ?? DEFAULT_DENIED[crm]);
  const pems = await generate([{ name: 'commonName', value: 'accesslens-crm-fixtures.test' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 2 * 86_400_000),
    algorithm: 'sha256',
  });
  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (req: IncomingMessage, res: ServerResponse) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const path = req.url ?? '/';
    if (path === '/__fixture/spa.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(read(join(fixtures, 'spa.js')));
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const api =
      options.apis?.salesforce && host.endsWith('.my.salesforce.com') && path.startsWith('/services/')
        ? options.apis.salesforce
        : options.apis?.dynamics && crmOf(host) === 'dynamics' && path.startsWith('/api/')
          ? options.apis.dynamics
          : null;
    if (api) {
      const target = new URL(path, api);
      const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    const now = {} as Record<FixtureCrm, ReadonlySet<string>>;
    for (const crm of FIXTURE_CRMS) now[crm] = new Set([...denied[crm]].filter((object) => options.access?.(crm, object) !== true));
    const { status, html } = renderFixture(host, path, now);
    res.writeHead(status, { 'content-type': status === 200 ? 'text/html; charset=utf-8' : 'text/plain', 'cache-control': 'no-store' }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hosts: [...CRM_FIXTURE_HOSTS],
    denied,
    allow: (crm, object) => void (denied[crm] as Set<string>).delete(object),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
