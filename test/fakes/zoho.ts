/**
 * A fake Zoho CRM org on loopback (real HTTP): the accounts server's token endpoint and the CRM API v8
 * resources the Zoho connector (server/src/connectors/zoho.ts) uses — nothing more. Each shape cites
 * its source:
 *
 * - POST /oauth/v2/token (Zoho Accounts, "Refresh Access Tokens",
 *   https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html): form fields
 *   grant_type=refresh_token, client_id, client_secret, refresh_token → `{access_token, api_domain,
 *   token_type: "Bearer", expires_in: 3600}`; a refused grant → `{error: "invalid_code"}` (a bad client:
 *   `invalid_client`).
 * - Every API call needs `Authorization: Zoho-oauthtoken {token}` (Zoho CRM API v8, "Get Users": Header);
 *   else 401 `{code: "INVALID_TOKEN", details: {}, message: "invalid oauth token", status: "error"}`
 *   ("Status Codes", v8/status-codes.html).
 * - GET /crm/v8/users?type=AllUsers|ActiveUsers|CurrentUser&page=&per_page= ("Get Users", v8/get-users.html):
 *   `{users: [...], info: {count, page, per_page, more_records}}`; per_page at most 200; 204 (no body) when
 *   a page has no users. GET /crm/v8/users/{id}: `{users: [user]}`; an unknown id 400 INVALID_DATA.
 * - PUT /crm/v8/users/{id} `{users: [{id, profile, role}]}` ("Update User", update-user.html: one user per
 *   request; profile and role as `{id}` or an id) → `{users: [{code: "SUCCESS", details: {id}, message:
 *   "User updated", status: "success"}]}`; an unknown profile or role → 400 `{users: [{code: "INVALID_DATA",
 *   details: {api_name}, message: "invalid data", status: "error"}]}`; a deactivated user cannot be updated
 *   (same page: "You cannot update a deactivated user").
 * - GET /crm/v8/settings/profiles and /settings/profiles/{id} ("Get Profiles", v7/get-profiles.html):
 *   `{profiles: [{id, name, display_label, custom, created_time, modified_time}]}`; one profile adds
 *   `permissions_details: [{id, name: "Crm_Implied_View_Leads", module: "Leads", display_label: "View",
 *   enabled}]`.
 * - GET /crm/v8/settings/roles ("Get Roles", get-roles.html): `{roles: [{id, name, display_label,
 *   reporting_to, share_with_peers}]}`.
 * - GET /crm/v8/org ("Organization API", get-org-data.html): `{org: [{id, zgid, domain_name, company_name}]}`.
 * - 429 `{code: "TOO_MANY_REQUESTS", …}` when asked to (fault injection), with `Retry-After` as the test
 *   says ("Kaizen #203 — Handling API Limits and Error Responses").
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_CRMS, keysOf } from '@accesslens/server/seed/demo-crms';

export interface ZohoUser {
  id: string;
  email: string;
  full_name: string;
  status: 'active' | 'disabled' | 'deleted';
  profile: string;
  role: string;
  created_time: string;
}

export interface ZohoOrg {
  orgId: string;
  companyName: string;
  users: ZohoUser[];
  /** Profiles with their module permissions: module API name → actions (`View`, `Create`, `Edit`, `Delete`). */
  profiles: { id: string; name: string; modules: Record<string, ('View' | 'Create' | 'Edit' | 'Delete')[]>; manageUsers?: boolean }[];
  roles: { id: string; name: string; reportingTo: string | null }[];
}

export interface Fault {
  method?: string;
  path: RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  times?: number;
}

export interface FakeZoho {
  url: string;
  org: ZohoOrg;
  /** Every request: method and path (with the query string). */
  log: { method: string; path: string }[];
  /** Every profile or role change asked (accepted or not). */
  changes: { userId: string; field: 'profile' | 'role'; to: string; ok: boolean }[];
  /** Token grants issued. */
  tokensIssued: number;
  fail(fault: Fault): void;
  /** Every access token issued so far stops working (the next call gets 401 INVALID_TOKEN). */
  expireTokens(): void;
  /** The accounts server refuses the refresh token (revoked). */
  refuseGrants(refuse: boolean): void;
  /** Refuses changing a user to this profile (or role) with a Zoho error code. */
  refuseChange(bundleId: string, error: { code: string; message: string } | null): void;
  userById(id: string): ZohoUser | undefined;
  close(): Promise<void>;
}

export const ZOHO_INTEGRATION_USER_ID = '770000100000000399';

export async function startFakeZoho(options: {
  org: ZohoOrg;
  clients: { clientId: string; clientSecret: string; refreshToken: string }[];
  /** The integration user the tokens act as (default: a user in the org with the Administrator profile). */
  integrationUserId?: string;
}): Promise<FakeZoho> {
  const org = options.org;
  const tokens = new Set<string>();
  const faults: (Fault & { left: number })[] = [];
  const refusedChanges = new Map<string, { code: string; message: string }>();
  let refuseGrants = false;
  let baseUrl = '';
  const log: FakeZoho['log'] = [];
  const changes: FakeZoho['changes'] = [];

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json;charset=UTF-8' } : {}), ...headers });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string, details: Record<string, unknown> = {}) =>
    send(res, status, { code, details, message, status: 'error' });
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const userJson = (u: ZohoUser) => {
    const profile = org.profiles.find((p) => p.id === u.profile);
    const role = org.roles.find((r) => r.id === u.role);
    const [first, ...rest] = u.full_name.split(' ');
    return {
      id: u.id,
      zuid: `9${u.id.slice(-8)}`,
      email: u.email,
      full_name: u.full_name,
      first_name: first ?? '',
      last_name: rest.join(' '),
      status: u.status,
      confirm: true,
      category: 'regular_user',
      created_time: u.created_time,
      Modified_Time: u.created_time,
      profile: profile ? { id: profile.id, name: profile.name } : null,
      role: role ? { id: role.id, name: role.name } : null,
    };
  };
  const profileJson = (p: ZohoOrg['profiles'][number], detail: boolean) => ({
    id: p.id,
    name: p.name,
    display_label: p.name,
    custom: !['Administrator', 'Standard'].includes(p.name),
    created_time: null,
    modified_time: null,
    ...(detail
      ? {
          permissions_details: [
            ...Object.entries(p.modules).flatMap(([module, actions]) =>
              (['View', 'Create', 'Edit', 'Delete'] as const).map((a, i) => ({
                id: `${p.id}${module.length}${i}`,
                name: `Crm_Implied_${a}_${module}`,
                module,
                display_label: a,
                enabled: actions.includes(a),
              })),
            ),
            // Not a module permission: the connector keys none of these.
            { id: `${p.id}90`, name: 'Crm_Implied_Export_Leads', module: 'Leads', display_label: 'Export', enabled: true },
            { id: `${p.id}91`, name: 'Crm_Implied_Manage_Users', module: null, display_label: 'Manage Users', enabled: p.manageUsers === true },
          ],
        }
      : {}),
  });

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') !== 'refresh_token') return send(res, 200, { error: 'unsupported_grant_type' });
    const client = options.clients.find((c) => c.clientId === form.get('client_id'));
    if (!client || client.clientSecret !== form.get('client_secret')) return send(res, 200, { error: 'invalid_client' });
    if (refuseGrants || client.refreshToken !== form.get('refresh_token')) return send(res, 200, { error: 'invalid_code' });
    const t = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
    tokens.add(t);
    fake.tokensIssued++;
    return send(res, 200, { access_token: t, api_domain: baseUrl, token_type: 'Bearer', expires_in: 3600 });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', baseUrl);
    const method = req.method ?? 'GET';
    log.push({ method, path: url.pathname + url.search });
    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === method) && f.path.test(url.pathname + url.search));
    if (fault) {
      fault.left--;
      return send(res, fault.status, fault.body, fault.headers);
    }
    if (url.pathname === '/oauth/v2/token' && method === 'POST') return token(req, res);
    const m = /^Zoho-oauthtoken (.+)$/.exec(req.headers.authorization ?? '');
    if (!m || !tokens.has(m[1]!)) return error(res, 401, 'INVALID_TOKEN', 'invalid oauth token');
    const api = /^\/crm\/v8(\/.*)$/.exec(url.pathname);
    if (!api) return error(res, 404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
    const rest = api[1]!;

    if (rest === '/users' && method === 'GET') {
      const type = url.searchParams.get('type') ?? 'AllUsers';
      if (type === 'CurrentUser') {
        const me = org.users.find((u) => u.id === (options.integrationUserId ?? ZOHO_INTEGRATION_USER_ID));
        return send(res, 200, { users: me ? [userJson(me)] : [] });
      }
      const perPage = Number(url.searchParams.get('per_page') ?? 200);
      const page = Number(url.searchParams.get('page') ?? 1);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200) return error(res, 400, 'INVALID_DATA', 'invalid data', { param_name: 'per_page' });
      const all = org.users.filter((u) => (type === 'ActiveUsers' ? u.status === 'active' : u.status !== 'deleted'));
      const slice = all.slice((page - 1) * perPage, page * perPage);
      if (slice.length === 0) return send(res, 204);
      return send(res, 200, { users: slice.map(userJson), info: { count: slice.length, page, per_page: perPage, more_records: page * perPage < all.length } });
    }
    const one = /^\/users\/(\d+)$/.exec(rest);
    if (one && method === 'GET') {
      const u = org.users.find((x) => x.id === one[1]);
      return u ? send(res, 200, { users: [userJson(u)] }) : error(res, 400, 'INVALID_DATA', 'the id given seems to be invalid', { api_name: 'id' });
    }
    if (one && method === 'PUT') {
      const body = JSON.parse(await readBody(req)) as { users?: Record<string, unknown>[] };
      const input = body.users?.[0];
      const u = org.users.find((x) => x.id === one[1]);
      if (!input || !u) return error(res, 400, 'INVALID_DATA', 'the id given seems to be invalid', { api_name: 'id' });
      const idOf = (v: unknown) => (typeof v === 'string' ? v : v && typeof v === 'object' ? String((v as { id?: unknown }).id ?? '') : null);
      const entryError = (code: string, message: string, apiName: string) =>
        send(res, 400, { users: [{ code, details: { api_name: apiName }, message, status: 'error' }] });
      if (u.status !== 'active') return entryError('CANNOT_UPDATE_DEACTIVATED_USER', 'You cannot update a deactivated user', 'status');
      for (const field of ['profile', 'role'] as const) {
        if (!(field in input)) continue;
        const to = idOf(input[field]);
        const exists = field === 'profile' ? org.profiles.some((p) => p.id === to) : org.roles.some((r) => r.id === to);
        const refused = to ? refusedChanges.get(to) : undefined;
        const ok = !!to && exists && !refused;
        changes.push({ userId: u.id, field, to: to ?? '', ok });
        if (refused) return entryError(refused.code, refused.message, field);
        if (!ok) return entryError('INVALID_DATA', 'invalid data', field);
        u[field] = to!;
      }
      return send(res, 200, { users: [{ code: 'SUCCESS', details: { id: u.id }, message: 'User updated', status: 'success' }] });
    }
    if (rest === '/settings/profiles' && method === 'GET') return send(res, 200, { profiles: org.profiles.map((p) => profileJson(p, false)) });
    const profile = /^\/settings\/profiles\/(\d+)$/.exec(rest);
    if (profile && method === 'GET') {
      const p = org.profiles.find((x) => x.id === profile[1]);
      return p ? send(res, 200, { profiles: [profileJson(p, true)] }) : error(res, 400, 'INVALID_DATA', 'the id given seems to be invalid', { api_name: 'id' });
    }
    if (rest === '/settings/roles' && method === 'GET')
      return send(res, 200, {
        roles: org.roles.map((r) => {
          const boss = org.roles.find((x) => x.id === r.reportingTo);
          return {
            id: r.id,
            name: r.name,
            display_label: r.name,
            reporting_to: boss ? { id: boss.id, name: boss.name } : null,
            share_with_peers: true,
            admin_user: !boss,
          };
        }),
      });
    if (rest === '/org' && method === 'GET')
      return send(res, 200, { org: [{ id: `${org.orgId}000000017001`, zgid: org.orgId, domain_name: `org${org.orgId}`, company_name: org.companyName }] });
    return error(res, 404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, 'INTERNAL_ERROR', e instanceof Error ? e.message : String(e));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeZoho = {
    url: baseUrl,
    org,
    log,
    changes,
    tokensIssued: 0,
    fail: (f) => faults.push({ ...f, left: f.times ?? 1 }),
    expireTokens: () => tokens.clear(),
    refuseGrants: (refuse) => void (refuseGrants = refuse),
    refuseChange: (id, e) => (e ? refusedChanges.set(id, e) : refusedChanges.delete(id)),
    userById: (id) => org.users.find((u) => u.id === id),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

// ---------- the demo org ----------

export const ZOHO_DEMO_CLIENT = {
  clientId: '1000.ACCESSLENSDEMO',
  clientSecret: 'zoho-demo-secret-2026',
  refreshToken: '1000.demo-refresh-token.2026',
} as const;

const ACTIONS: Record<string, 'View' | 'Create' | 'Edit' | 'Delete'> = { read: 'View', create: 'Create', edit: 'Edit', delete: 'Delete' };

/**
 * The demo seed's Zoho CRM (server/src/seed/demo-crms.ts, `zoho-acme`) as a fake org: the same users
 * (ids, emails), profiles (ids, names, module permissions) and roles (ids, Chinese names), and who holds
 * which — plus the integration user AccessLens signs in as (an Administrator whose email matches no one).
 * An import of it onto the seed changes nothing.
 */
export function demoZohoOrg(): ZohoOrg {
  const crm = DEMO_CRMS.find((c) => c.connection.id === 'zoho-acme')!;
  const profiles = crm.bundles
    .filter((b) => b.kind === 'profile')
    .map((b) => {
      const modules: ZohoOrg['profiles'][number]['modules'] = {};
      for (const key of keysOf(b.grants)) {
        const [, module, action] = key.split(':') as [string, string, string];
        (modules[module] ??= []).push(ACTIONS[action]!);
      }
      return { id: b.externalId!, name: b.name, modules, manageUsers: b.name === 'Administrator' };
    });
  const roleIds = crm.bundles.filter((b) => b.kind === 'role');
  const roles = roleIds.map((b, i) => ({ id: b.externalId!, name: b.name, reportingTo: i === 0 ? null : roleIds[i - 1]!.externalId! }));
  const idOf = (bundleId: string) => crm.bundles.find((b) => b.id === bundleId)!.externalId!;
  const users: ZohoUser[] = Object.values(crm.users).map((u) => {
    const held = u.bundles.map((b) => crm.bundles.find((x) => x.id === b)!);
    const first = u.username.split('@')[0]!;
    return {
      id: u.externalUserId,
      email: u.username,
      full_name: `${first[0]!.toUpperCase()}${first.slice(1)} (Acme)`,
      status: 'active',
      profile: idOf(held.find((b) => b.kind === 'profile')!.id),
      role: idOf(held.find((b) => b.kind === 'role')!.id),
      created_time: '2025-09-01T09:00:00+08:00',
    };
  });
  users.push({
    id: ZOHO_INTEGRATION_USER_ID,
    email: 'crm-integration@acme.test',
    full_name: 'AccessLens Integration',
    status: 'active',
    profile: profiles.find((p) => p.name === 'Administrator')!.id,
    role: roles[0]!.id,
    created_time: '2025-09-01T09:00:00+08:00',
  });
  return { orgId: crm.connection.tenant!, companyName: 'Acme 中国', users, profiles, roles };
}
