/**
 * The Microsoft Dynamics 365 connector: the Dataverse Web API over `fetch`, signed in as an application
 * user with the OAuth 2.0 client credentials flow against Microsoft Entra ID. Reads users (with last
 * logins from user access auditing), business units, security roles with their privileges and depth
 * (mapped onto our keys by shared `mapDynamicsPrivileges`: `prvReadAccount` at Global →
 * `object:account:read` + `scope:account:read:org`), teams with their roles, and who holds which role
 * (directly or through a team). Grants associate a security role with the user; revocations
 * disassociate it. The fake in test/fakes/dynamics.ts implements the same shapes, citing the same pages.
 *
 * Microsoft Learn, each shape used here:
 * - "OAuth 2.0 client credentials flow" (Microsoft identity platform, v2-oauth2-client-creds-grant-flow):
 *   POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token, form `client_id, client_secret,
 *   scope={org URL}/.default, grant_type=client_credentials` → `{token_type, expires_in, access_token}`;
 *   errors `{error, error_description, error_codes}` (invalid_client, unauthorized_client, invalid_scope).
 *   "Use OAuth authentication with Microsoft Dataverse" (authenticate-oauth): the `/.default` scope of the
 *   environment URL, and an application user for server-to-server access.
 * - "Query data using the Web API" and "Page results" (webapi/query/page-results): `$select`, `$filter`,
 *   `$top`; `Prefer: odata.maxpagesize={n}` (at most 5,000), each page `{value, @odata.nextLink}`, the next
 *   page by GET of `@odata.nextLink` exactly as given.
 * - "Filter rows" (webapi/query/filter-rows): `eq`, `gt`, `ge`, `and`, `or`, lookups as `_{name}_value`,
 *   date-times unquoted (`modifiedon gt 2026-03-02T09:00:00Z`).
 * - "WhoAmI function" (webapi/reference/whoami): `{BusinessUnitId, UserId, OrganizationId}`.
 * - "RetrieveRolePrivilegesRole function" (webapi/reference/retrieveroleprivilegesrole), GET
 *   `RetrieveRolePrivilegesRole(RoleId=@p1)?@p1={roleid}` → `{RolePrivileges}`; "RolePrivilege complex type":
 *   `Depth` (PrivilegeDepth: Basic, Local, Deep, Global), `PrivilegeId`, `BusinessUnitId`, `PrivilegeName`.
 *   Where `PrivilegeName` is absent (older versions), the names come from the role's
 *   `roleprivileges_association` (privilege table: `privilegeid`, `name`).
 * - "RetrieveUserPrivileges function" (webapi/reference/retrieveuserprivileges), bound to systemuser:
 *   `{RolePrivileges}` — what the application user may do (prvAssignRole, prvReadAuditSummary).
 * - Table references (reference/entities/…): systemuser (`systemuserid, domainname, internalemailaddress,
 *   isdisabled, createdon, modifiedon, _businessunitid_value`), businessunit (`businessunitid, name,
 *   _parentbusinessunitid_value`), role (`roleid, name, _businessunitid_value, _parentrootroleid_value`: a
 *   role exists once per business unit, every copy pointing at its root role), team (`teamid, name,
 *   teamtype, _businessunitid_value`), and the intersect tables of the N:N relationships
 *   `systemuserroles_association` (entity set `systemuserrolescollection`: `systemuserid, roleid`),
 *   `teamroles_association` (`teamrolescollection`: `teamid, roleid`) and `teammembership_association`
 *   (`teammemberships`: `teamid, systemuserid`).
 * - "Retrieve the history of audited data changes" (auditing/retrieve-audit-data) and the audit table
 *   reference: the `audits` entity set, `action` 64 "User Access via Web" and 65 "User Access via Web
 *   Services", `createdon`, `_objectid_value` (the user); needs `prvReadAuditSummary`, and user access
 *   auditing turned on ("Manage Dataverse auditing": *Log access*).
 * - "Associate and disassociate table rows using the Web API": POST
 *   `systemusers({id})/systemuserroles_association/$ref` `{"@odata.id": "{api}/roles({roleid})"}` → 204;
 *   DELETE `systemusers({id})/systemuserroles_association({roleid})/$ref` → 204.
 * - "Web API error handling" (webapi/compose-http-requests-handle-errors): `{error: {code, message}}`;
 *   "Service protection API limits": 429 with `Retry-After` (seconds).
 *
 * Last login: Dataverse keeps no last-sign-in column on systemuser. AccessLens reads the user access audit
 * records (actions 64 and 65) — the newest per user — since the previous import (first import: the last
 * `lastLoginLookbackDays` days), and keeps what it learnt in the import cursor. Without `prvReadAuditSummary`
 * or with access auditing off, last logins stay unknown (a warning on the import).
 */
import { dynamics as dynamicsAdapter } from '@accesslens/shared/crm';
import { mapDynamicsPrivilege, type BundleKind } from '@accesslens/shared';
import { z } from 'zod';
import { GUID, later, required, serviceUrl, str, text, toIso } from './fields.ts';
import { describe } from './http.ts';
import {
  CrmError,
  refusalOf,
  type ConnectorContext,
  type ConnectorDefinition,
  type CrmAssignment,
  type CrmBundle,
  type CrmClient,
  type CrmHolding,
  type CrmUser,
  type GrantOutcome,
  type ReadProgress,
  type RevokeOutcome,
  type StoredToken,
  type TestReport,
} from './types.ts';

export const dynamicsSettings = z
  .object({
    /** The environment URL, as the app's pages are on it: https://acme.crm4.dynamics.com. */
    orgUrl: serviceUrl('https://acme.crm4.dynamics.com'),
    /** The Microsoft Entra tenant (directory) id or one of its domains; names the token endpoint. */
    tenantId: required().optional(),
    /** The token endpoint, when not Microsoft Entra ID's public one for `tenantId` (sovereign clouds, tests). */
    tokenUrl: serviceUrl('https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token').optional(),
    /** Default `{orgUrl}/.default`. */
    scope: required().optional(),
    apiVersion: text()
      .regex(/^9\.\d$/, 'must look like 9.2')
      .default('9.2'),
    /** Rows per page (`Prefer: odata.maxpagesize`), at most 5,000. */
    pageSize: z.number().int().min(10).max(5000).default(5000),
    /** How far back the first import reads user access audits for last logins. */
    lastLoginLookbackDays: z.number().int().min(1).max(365).default(90),
  })
  .loose()
  .superRefine((s, ctx) => {
    if (!s.tenantId && !s.tokenUrl) ctx.addIssue({ code: 'custom', path: ['tenantId'], message: 'is required (or give tokenUrl)' });
  });
export type DynamicsSettings = z.infer<typeof dynamicsSettings>;

export const dynamicsCredentials = z.object({
  /** An app registration with a client secret, registered in the environment as an application user. */
  flow: z.literal('client_credentials').default('client_credentials'),
  clientId: required(),
  clientSecret: required(),
});
export type DynamicsCredentials = z.infer<typeof dynamicsCredentials>;

type Ctx = ConnectorContext<DynamicsSettings, DynamicsCredentials>;
type Row = Record<string, unknown>;

/** Dataverse error code of a duplicate row: associating a role the user already holds. */
const DUPLICATE = '0x80040237';

/** The tenant as the adapter reads it from page URLs (`acme` of https://acme.crm4.dynamics.com). */
export function dynamicsTenantOf(orgUrl: string): string | null {
  try {
    return dynamicsAdapter.tenantOf(new URL(orgUrl));
  } catch {
    return null;
  }
}

function tokenUrlOf(s: DynamicsSettings): string {
  return s.tokenUrl ?? `https://login.microsoftonline.com/${encodeURIComponent(s.tenantId!)}/oauth2/v2.0/token`;
}

/** `{error: {code, message}}` of the Web API. */
function dvError(body: unknown): { code: string; message: string } | null {
  const e = body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  if (!e || typeof e !== 'object') return null;
  const r = e as Row;
  return { code: String(r.code ?? ''), message: String(r.message ?? '') };
}

function refusal(status: number, body: unknown, what: string): CrmError {
  const e = dvError(body);
  const detail = e ? `${e.code}: ${e.message}` : describe(body);
  return new CrmError(status === 400 || status === 403 || status === 404 ? 'refused' : 'protocol', `${what}: Dataverse answered ${status} (${detail}).`, {
    status,
    ...(e?.code ? { code: e.code } : {}),
  });
}

const guid = (v: unknown): string | null => (typeof v === 'string' && GUID.test(v) ? v.toLowerCase() : null);

/** An OData date-time literal for $filter (unquoted, whole seconds, UTC). */
const odataDateTime = (iso: string) => `${new Date(iso).toISOString().slice(0, 19)}Z`;

async function authenticate(ctx: Omit<Ctx, 'tokens'>): Promise<StoredToken> {
  const s = ctx.connection.settings;
  const c = ctx.credentials;
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: c.clientId,
    client_secret: c.clientSecret,
    scope: s.scope ?? `${s.orgUrl}/.default`,
  });
  const res = await ctx.http.request(tokenUrlOf(s), {
    method: 'POST',
    anonymous: true,
    body: form,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const body = (res.body ?? {}) as Row;
  if (res.status === 400 || res.status === 401) {
    throw new CrmError(
      'auth',
      `Microsoft Entra ID refused the credentials (${String(body.error ?? res.status)}: ${String(body.error_description ?? '').split('\n')[0]}).`,
      {
        status: res.status,
        code: String(body.error ?? ''),
      },
    );
  }
  if (res.status !== 200 || typeof body.access_token !== 'string')
    throw new CrmError('protocol', `The Microsoft Entra token endpoint answered ${res.status} (${describe(res.body)}).`, { status: res.status });
  const seconds = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    instanceUrl: s.orgUrl,
    expiresAt: new Date(ctx.now().getTime() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 3600) * 1000).toISOString(),
  };
}

interface DynamicsCursor {
  usersSince?: string;
  fullUsersAt?: string;
  /** Audits read up to here (user access: last logins). */
  auditSince?: string;
  /** systemuserid → newest user access seen. */
  lastLogins?: Record<string, string>;
}

class DynamicsClient implements CrmClient {
  constructor(private readonly ctx: Ctx) {}

  get #s() {
    return this.ctx.connection.settings;
  }

  #api(path: string): string {
    return `${this.#s.orgUrl}/api/data/v${this.#s.apiVersion}/${path}`;
  }

  async #get(url: string, what: string): Promise<Row> {
    const res = await this.ctx.http.request(url, {
      headers: { 'OData-MaxVersion': '4.0', 'OData-Version': '4.0', Prefer: `odata.maxpagesize=${this.#s.pageSize}` },
    });
    if (res.status !== 200) throw refusal(res.status, res.body, what);
    if (!res.body || typeof res.body !== 'object') throw new CrmError('protocol', `${what}: Dataverse answered without a body.`);
    return res.body as Row;
  }

  /** GETs a collection, every page (following `@odata.nextLink`), handing each page's rows to `onPage`. */
  async list(path: string, what: string, onPage: (rows: Row[]) => void): Promise<number> {
    let url = this.#api(path);
    const origin = new URL(this.#s.orgUrl).origin;
    let total = 0;
    for (;;) {
      const page = await this.#get(url, what);
      if (!Array.isArray(page.value)) throw new CrmError('protocol', `${what}: Dataverse answered without a value list (${describe(page)}).`);
      total += page.value.length;
      onPage(page.value as Row[]);
      const next = page['@odata.nextLink'];
      if (typeof next !== 'string') return total;
      // The token goes only to the environment: a next link elsewhere is refused.
      if (new URL(next).origin !== origin) throw new CrmError('protocol', `${what}: Dataverse gave a next page on another host (${new URL(next).host}).`);
      url = next;
    }
  }

  async listAll(path: string, what: string): Promise<Row[]> {
    const out: Row[] = [];
    await this.list(path, what, (rows) => {
      for (const r of rows) out.push(r);
    });
    return out;
  }

  async test(): Promise<TestReport> {
    const checks: TestReport['checks'] = [];
    const attempt = async (id: string, ok: string, fn: () => Promise<void>) => {
      try {
        await fn();
        checks.push({ id, ok: true, message: ok });
        return true;
      } catch (error) {
        if (error instanceof CrmError && error.kind === 'auth') throw error;
        checks.push({ id, ok: false, message: error instanceof Error ? error.message : String(error) });
        return false;
      }
    };
    let identity: TestReport['identity'] = null;
    let appUser = '';
    try {
      await attempt('sign-in', 'Signed in to Dataverse as the application user.', async () => {
        const me = await this.#get(this.#api('WhoAmI'), 'WhoAmI');
        appUser = guid(me.UserId) ?? '';
        if (!appUser) throw new CrmError('protocol', `WhoAmI answered without a UserId (${describe(me)}).`);
        const u = await this.#get(this.#api(`systemusers(${appUser})?$select=domainname,fullname,applicationid`), 'Read the application user');
        identity = { userId: appUser, username: str(u.domainname) ?? str(u.fullname), tenant: dynamicsTenantOf(this.#s.orgUrl) };
      });
    } catch (error) {
      checks.push({ id: 'sign-in', ok: false, message: error instanceof Error ? error.message : String(error) });
      return { identity: null, canRead: false, canProvision: false, checks };
    }
    if (!identity) return { identity: null, canRead: false, canProvision: false, checks };
    const readUsers = await attempt('read-users', 'Can read users (systemuser).', async () => {
      await this.#get(this.#api('systemusers?$select=systemuserid,isdisabled&$top=1'), 'Read users');
    });
    const readRoles = await attempt('read-roles', 'Can read business units, security roles and their privileges.', async () => {
      await this.#get(this.#api('businessunits?$select=businessunitid&$top=1'), 'Read business units');
      const roles = await this.#get(this.#api('roles?$select=roleid&$top=1'), 'Read security roles');
      const first = guid(((roles.value as Row[] | undefined) ?? [])[0]?.roleid);
      if (first) await this.#get(this.#api(`RetrieveRolePrivilegesRole(RoleId=@p1)?@p1=${first}`), 'RetrieveRolePrivilegesRole');
    });
    const readAssignments = await attempt('read-assignments', 'Can read who holds which role, directly and through teams.', async () => {
      await this.#get(this.#api('systemuserrolescollection?$select=systemuserid,roleid&$top=1'), 'Read user roles');
      await this.#get(this.#api('teams?$select=teamid&$top=1'), 'Read teams');
      await this.#get(this.#api('teamrolescollection?$select=teamid,roleid&$top=1'), 'Read team roles');
      await this.#get(this.#api('teammemberships?$select=teamid,systemuserid&$top=1'), 'Read team members');
    });
    await attempt('read-last-logins', 'Can read user access audits (last logins).', async () => {
      await this.#get(this.#api('audits?$select=createdon&$filter=action eq 64 or action eq 65&$top=1'), 'Read user access audits');
    });
    let canProvision = false;
    await attempt('assign-roles', 'Can assign and remove security roles (prvAssignRole).', async () => {
      const p = await this.#get(this.#api(`systemusers(${appUser})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()`), 'RetrieveUserPrivileges');
      const names = new Set(((p.RolePrivileges as Row[] | undefined) ?? []).map((x) => String(x.PrivilegeName ?? '')));
      canProvision = names.has('prvAssignRole');
      if (!canProvision) throw new Error('The application user lacks the Assign Role privilege (prvAssignRole): AccessLens cannot change roles.');
    });
    return { identity, canRead: readUsers && readRoles && readAssignments, canProvision, checks };
  }

  async read(cursor: unknown, progress: (p: ReadProgress) => void) {
    const prior = z
      .object({
        usersSince: z.string().optional(),
        fullUsersAt: z.string().optional(),
        auditSince: z.string().optional(),
        lastLogins: z.record(z.string(), z.string()).optional(),
      })
      .catch({})
      .parse(cursor ?? {}) as DynamicsCursor;
    const now = this.ctx.now();
    const counts: ReadProgress = { phase: 'users', users: 0, bundles: 0, assignments: 0 };
    const warnings: string[] = [];

    // Last logins first (the users read below carry them): user access audits since the last import.
    const lastLogins: Record<string, string> = { ...(prior.lastLogins ?? {}) };
    let loginsKnown = true;
    const auditFrom = prior.auditSince ?? new Date(now.getTime() - this.#s.lastLoginLookbackDays * 86_400_000).toISOString();
    let auditSince = prior.auditSince;
    const loggedIn = new Set<string>();
    try {
      await this.list(
        `audits?$select=createdon,_objectid_value,action&$filter=(action eq 64 or action eq 65) and createdon ge ${odataDateTime(auditFrom)}`,
        'Read user access audits',
        (rows) => {
          for (const r of rows) {
            const user = guid(r._objectid_value);
            const at = toIso(r.createdon);
            if (!user || !at) continue;
            const best = later(lastLogins[user], at)!;
            if (best !== lastLogins[user]) {
              lastLogins[user] = best;
              loggedIn.add(user);
            }
            auditSince = later(auditSince, at) ?? undefined;
          }
        },
      );
    } catch (error) {
      const refusal = refusalOf(error);
      loginsKnown = false;
      warnings.push(
        `Last logins are unknown: AccessLens cannot read user access audits (${refusal.message}) — give the application user prvReadAuditSummary and turn on "Log access" auditing.`,
      );
    }

    // Users: incremental by modifiedon (Dataverse disables users, never deletes them), whole once a day.
    const full = !prior.usersSince || !prior.fullUsersAt || now.getTime() - Date.parse(prior.fullUsersAt) > 24 * 3600_000;
    const users = new Map<string, CrmUser>();
    let watermark = prior.usersSince ?? null;
    const select = '$select=systemuserid,domainname,internalemailaddress,isdisabled,createdon,modifiedon';
    const takeUsers = (rows: Row[]) => {
      for (const r of rows) {
        const id = guid(r.systemuserid);
        if (!id) continue;
        watermark = later(watermark, toIso(r.modifiedon));
        users.set(id, {
          externalId: id,
          username: str(r.domainname) ?? id,
          email: str(r.internalemailaddress),
          active: r.isdisabled !== true,
          ...(loginsKnown || lastLogins[id] ? { lastLoginAt: lastLogins[id] ?? null } : {}),
          createdAt: toIso(r.createdon),
        });
      }
      counts.users = users.size;
      progress({ ...counts });
    };
    await this.list(`systemusers?${select}${full ? '' : `&$filter=modifiedon gt ${odataDateTime(prior.usersSince!)}`}`, 'Read users', takeUsers);
    // Users who signed in since, but did not change: read them too, for their last login.
    const missing = [...loggedIn].filter((id) => !users.has(id));
    for (let i = 0; i < missing.length && !full; i += 25) {
      const chunk = missing.slice(i, i + 25);
      await this.list(`systemusers?${select}&$filter=${chunk.map((id) => `systemuserid eq ${id}`).join(' or ')}`, 'Read users who signed in', takeUsers);
    }

    // Bundles: security roles (one bundle per root role: a role's copies in other business units are the same
    // role), with their privileges; teams that hold roles. Always whole.
    counts.phase = 'bundles';
    progress({ ...counts });
    const units = await this.listAll('businessunits?$select=businessunitid,name,_parentbusinessunitid_value', 'Read business units');
    const unitIds = new Set(units.map((u) => guid(u.businessunitid)).filter((x): x is string => x !== null));
    const roles = await this.listAll('roles?$select=roleid,name,_businessunitid_value,_parentrootroleid_value', 'Read security roles');
    const rootOf = new Map<string, string>();
    const roots: { id: string; name: string }[] = [];
    let strayRoles = 0;
    for (const r of roles) {
      const id = guid(r.roleid);
      if (!id) continue;
      const root = guid(r._parentrootroleid_value) ?? id;
      rootOf.set(id, root);
      if (root === id) roots.push({ id, name: str(r.name) ?? id });
      const unit = guid(r._businessunitid_value);
      if (unit && unitIds.size > 0 && !unitIds.has(unit)) strayRoles++;
    }
    if (strayRoles > 0) warnings.push(`${strayRoles} security roles belong to business units AccessLens could not read.`);
    const bundles = new Map<string, CrmBundle>();
    let unmapped = 0;
    for (const root of roots) {
      const permissions = await this.#privilegesOf(root.id, () => unmapped++);
      bundles.set(root.id, { externalId: root.id, kind: 'securityRole', name: root.name, permissions, includes: [], assignable: true });
      counts.bundles = bundles.size;
      progress({ ...counts });
    }
    if (unmapped > 0) warnings.push(`${unmapped} privileges could not be mapped to permission keys and were skipped.`);

    const teamRoles = new Map<string, Set<string>>();
    await this.list('teamrolescollection?$select=teamid,roleid', 'Read team roles', (rows) => {
      for (const r of rows) {
        const team = guid(r.teamid);
        const root = rootOf.get(guid(r.roleid) ?? '');
        if (!team || !root) continue;
        const set = teamRoles.get(team) ?? new Set<string>();
        set.add(root);
        teamRoles.set(team, set);
      }
    });
    // Teams that hold no role grant nothing (every business unit's default team, access teams): skipped.
    await this.list('teams?$select=teamid,name,teamtype,_businessunitid_value', 'Read teams', (rows) => {
      for (const r of rows) {
        const id = guid(r.teamid);
        const held = id ? teamRoles.get(id) : undefined;
        if (!id || !held) continue;
        bundles.set(id, { externalId: id, kind: 'team', name: str(r.name) ?? id, permissions: [], includes: [...held].sort(), assignable: false });
      }
    });
    counts.bundles = bundles.size;
    progress({ ...counts });

    // Assignments: always whole (a removed link leaves no trace to query).
    counts.phase = 'assignments';
    progress({ ...counts });
    const assignments: CrmAssignment[] = [];
    let unknownRole = 0;
    await this.list('systemuserrolescollection?$select=systemuserid,roleid', 'Read user roles', (rows) => {
      for (const r of rows) {
        const user = guid(r.systemuserid);
        const role = guid(r.roleid);
        const root = role ? rootOf.get(role) : undefined;
        if (!user || !role) continue;
        if (!root) {
          unknownRole++;
          continue;
        }
        assignments.push({ externalId: roleAssignmentId(user, role), userExternalId: user, bundleExternalId: root, grantedAt: null, expiresAt: null });
      }
      counts.assignments = assignments.length;
      progress({ ...counts });
    });
    if (unknownRole > 0) warnings.push(`${unknownRole} user roles name a security role AccessLens could not read; they were skipped.`);
    await this.list('teammemberships?$select=teamid,systemuserid', 'Read team members', (rows) => {
      for (const r of rows) {
        const team = guid(r.teamid);
        const user = guid(r.systemuserid);
        if (!team || !user || !bundles.has(team)) continue;
        assignments.push({ externalId: teamAssignmentId(team, user), userExternalId: user, bundleExternalId: team, grantedAt: null, expiresAt: null });
      }
      counts.assignments = assignments.length;
      progress({ ...counts });
    });

    const next: DynamicsCursor = {
      ...(watermark ? { usersSince: watermark } : {}),
      ...(full ? { fullUsersAt: now.toISOString() } : prior.fullUsersAt ? { fullUsersAt: prior.fullUsersAt } : {}),
      ...(auditSince ? { auditSince } : {}),
      lastLogins,
    };
    return {
      users: { complete: full, items: [...users.values()] },
      bundles: { complete: true, items: [...bundles.values()] },
      assignments: { complete: true, items: assignments },
      cursor: next,
      tenant: dynamicsTenantOf(this.#s.orgUrl),
      warnings,
    };
  }

  /** A role's privileges with their depth, as keys. */
  async #privilegesOf(roleId: string, unmapped: () => void): Promise<string[]> {
    const r = await this.#get(this.#api(`RetrieveRolePrivilegesRole(RoleId=@p1)?@p1=${roleId}`), 'RetrieveRolePrivilegesRole');
    const privileges = Array.isArray(r.RolePrivileges) ? (r.RolePrivileges as Row[]) : [];
    let names: Map<string, string> | null = null;
    if (privileges.some((p) => typeof p.PrivilegeName !== 'string')) {
      names = new Map();
      for (const p of await this.listAll(`roles(${roleId})/roleprivileges_association?$select=privilegeid,name`, 'Read role privileges'))
        if (typeof p.privilegeid === 'string' && typeof p.name === 'string') names.set(p.privilegeid.toLowerCase(), p.name);
    }
    const keys = new Set<string>();
    for (const p of privileges) {
      const name = typeof p.PrivilegeName === 'string' ? p.PrivilegeName : names?.get(String(p.PrivilegeId ?? '').toLowerCase());
      const m = name ? mapDynamicsPrivilege(name, p.Depth as string | number) : null;
      if (!m || !m.ok) {
        unmapped();
        continue;
      }
      for (const k of m.keys) keys.add(k);
    }
    return [...keys].sort();
  }

  async holdings(userExternalId: string): Promise<CrmHolding[]> {
    const user = guid(userExternalId);
    if (!user) throw new CrmError('refused', `"${userExternalId}" is not a Dataverse user id.`);
    const roles = await this.listAll(`systemusers(${user})/systemuserroles_association?$select=roleid,_parentrootroleid_value`, "Read the user's roles");
    const teams = await this.listAll(`systemusers(${user})/teammembership_association?$select=teamid`, "Read the user's teams");
    const out: CrmHolding[] = [];
    for (const r of roles) {
      const role = guid(r.roleid);
      if (role) out.push({ externalId: roleAssignmentId(user, role), bundleExternalId: guid(r._parentrootroleid_value) ?? role, expiresAt: null });
    }
    for (const t of teams) {
      const team = guid(t.teamid);
      if (team) out.push({ externalId: teamAssignmentId(team, user), bundleExternalId: team, expiresAt: null });
    }
    return out;
  }

  /** The copy of a root role in the user's business unit (a user can hold only those). */
  async #roleForUser(user: string, root: string): Promise<string | null> {
    const u = await this.#get(this.#api(`systemusers(${user})?$select=_businessunitid_value`), "Read the user's business unit");
    const unit = guid(u._businessunitid_value);
    if (!unit) throw new CrmError('protocol', `Dataverse gave no business unit for user ${user}.`);
    const copies = await this.listAll(
      `roles?$select=roleid&$filter=_parentrootroleid_value eq ${root} and _businessunitid_value eq ${unit}`,
      "Find the role in the user's business unit",
    );
    return guid(copies[0]?.roleid);
  }

  async grant(op: { userExternalId: string; bundles: { externalId: string; kind: BundleKind }[]; expiresAt: string | null }): Promise<GrantOutcome[]> {
    const user = guid(op.userExternalId);
    if (!user) throw new CrmError('refused', `"${op.userExternalId}" is not a Dataverse user id.`);
    const out: GrantOutcome[] = [];
    for (const b of op.bundles) {
      const root = guid(b.externalId);
      if (b.kind !== 'securityRole' || !root) {
        out.push({ bundleExternalId: b.externalId, ok: false, error: new CrmError('refused', `AccessLens grants security roles only (not a ${b.kind}).`) });
        continue;
      }
      const role = await this.#roleForUser(user, root);
      if (!role) {
        out.push({ bundleExternalId: b.externalId, ok: false, error: new CrmError('refused', `The security role has no copy in the user's business unit.`) });
        continue;
      }
      const res = await this.ctx.http.request(this.#api(`systemusers(${user})/systemuserroles_association/$ref`), {
        method: 'POST',
        headers: { 'OData-MaxVersion': '4.0', 'OData-Version': '4.0' },
        body: { '@odata.id': this.#api(`roles(${role})`) },
      });
      const e = dvError(res.body);
      if (res.status === 204 || res.status === 200 || e?.code === DUPLICATE)
        out.push({ bundleExternalId: b.externalId, ok: true, externalId: roleAssignmentId(user, role) });
      else out.push({ bundleExternalId: b.externalId, ok: false, error: refusal(res.status, res.body, 'Assign the security role') });
    }
    return out;
  }

  async revoke(op: { userExternalId: string; assignments: { externalId: string; bundleExternalId: string }[] }): Promise<RevokeOutcome[]> {
    const out: RevokeOutcome[] = [];
    for (const a of op.assignments) {
      const parsed = parseRoleAssignment(a.externalId);
      if (!parsed) {
        out.push({
          externalId: a.externalId,
          ok: false,
          error: new CrmError('refused', `${a.externalId} is not a security role of the user (a team membership is changed by an administrator).`),
        });
        continue;
      }
      const res = await this.ctx.http.request(this.#api(`systemusers(${parsed.user})/systemuserroles_association(${parsed.role})/$ref`), {
        method: 'DELETE',
        headers: { 'OData-MaxVersion': '4.0', 'OData-Version': '4.0' },
      });
      // Already gone (an administrator removed it) is what we wanted.
      if (res.status === 204 || res.status === 200 || res.status === 404) out.push({ externalId: a.externalId, ok: true });
      else out.push({ externalId: a.externalId, ok: false, error: refusal(res.status, res.body, 'Remove the security role') });
    }
    return out;
  }
}

/** A user's role link: `{systemuserid}/{roleid}` (the role copy in the user's business unit). */
export const roleAssignmentId = (user: string, role: string) => `${user}/${role}`;
/** A team membership: `team:{teamid}/{systemuserid}`. */
export const teamAssignmentId = (team: string, user: string) => `team:${team}/${user}`;

function parseRoleAssignment(id: string): { user: string; role: string } | null {
  const [user, role, extra] = id.split('/');
  return extra === undefined && user && role && GUID.test(user) && GUID.test(role) ? { user: user.toLowerCase(), role: role.toLowerCase() } : null;
}

export const dynamics: ConnectorDefinition<DynamicsSettings, DynamicsCredentials> = {
  kind: 'dynamics',
  settingsSchema: dynamicsSettings,
  credentialsSchema: dynamicsCredentials,
  replacesWholeProfile: false,
  canProvision: true,
  supportsExpiration: false,
  assignableKinds: ['securityRole'],
  authenticate,
  open: (ctx) => new DynamicsClient(ctx),
};
