/**
 * The Zoho CRM connector: REST API v8 over `fetch`. Reads users, profiles (with their module
 * permissions) and roles; a user holds exactly one profile and one role, so a grant *replaces* the
 * user's profile (`PUT /users/{id}`) and the revocation puts the previous one back (the framework keeps
 * it on the job: `exclusiveKinds`). Zoho grants only that way, hence `replacesWholeProfile`: by default
 * a grant is an admin task unless the connection's `automaticChange` is on.
 *
 * On zoho.com.cn the Chinese UI swaps the usual words: a profile is 角色 and a role is 职位
 * (shared/reference/crm-pages.md); every message here that names one says both (`term()`).
 *
 * Shapes used (the fake in test/fakes/zoho.ts cites the same):
 * - Zoho Accounts, "Refresh Access Tokens" (https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html):
 *   POST {accounts-server}/oauth/v2/token with refresh_token, client_id, client_secret,
 *   grant_type=refresh_token → `{access_token, api_domain, token_type, expires_in}` (seconds); a refused
 *   grant answers `{error}` (e.g. invalid_code, invalid_client).
 * - Zoho CRM API v8, "Multi DC Support" (https://www.zoho.com/crm/developer/docs/api/v8/multi-dc.html) and
 *   Bigin's table of the same Zoho domains (https://www.bigin.com/developer/docs/apis/multi-dc.html): the
 *   accounts server and API domain per data centre (`ZOHO_DATA_CENTRES`).
 * - Every call: header `Authorization: Zoho-oauthtoken {access_token}` (Zoho CRM API v8, "Get Users").
 * - "Get Users" (v8/get-users.html): GET /crm/v8/users?type=AllUsers|CurrentUser&page=&per_page= (at most
 *   200) → `{users: [{id, email, full_name, status, confirm, created_time, profile {id, name}, role {id,
 *   name}}], info {count, page, per_page, more_records}}`; 204 when there is none; GET /users/{id} → one.
 * - "Update User" (update-user.html): PUT /crm/v8/users/{id} `{users: [{id, profile, role}]}` (one user per
 *   request) → `{users: [{code: "SUCCESS", details {id}, message, status}]}`; a refusal is that entry
 *   with `status: "error"` (or the top-level error below).
 * - "Get Profiles" (v7/get-profiles.html): GET /crm/v8/settings/profiles → `{profiles: [{id, name,
 *   display_label}]}`; GET /settings/profiles/{id} adds `permissions_details: [{id, name
 *   ("Crm_Implied_View_Leads"), module ("Leads"), display_label ("View"), enabled}]`.
 * - "Get Roles" (get-roles.html): GET /crm/v8/settings/roles → `{roles: [{id, name, display_label,
 *   reporting_to {id, name} | null, share_with_peers}]}`.
 * - "Organization" API (get-org-data.html): GET /crm/v8/org → `{org: [{id, zgid, domain_name
 *   ("org7700001"), company_name}]}` — the org id the CRM's page URLs carry (the adapter's tenant).
 * - Errors ("Status Codes", v8/status-codes.html): `{code, details, message, status: "error"}`; 401
 *   INVALID_TOKEN (expired or unknown token) and OAUTH_SCOPE_MISMATCH; 403 NO_PERMISSION; 429
 *   TOO_MANY_REQUESTS ("Kaizen #203 — Handling API Limits and Error Responses": concurrency limits).
 *
 * Unconfirmed (kept where noted): whether v8 takes `profile` as `{id}` or a bare id in "Update User" (the
 * v8 SDK sends an object; older Postman samples a string — we send `{id}`); the `module` of the Deals
 * module's permissions (`Deals` or `Potentials`: both map to Deals through the adapter); whether Zoho
 * sends Retry-After with a 429 (without it the HTTP layer backs off); which profile permission lets the
 * integration user change users' profiles (`canChangeProfiles`).
 */
import { isApiName, type BundleKind } from '@accesslens/shared';
import { zoho as zohoAdapter } from '@accesslens/shared/crm';
import { z } from 'zod';
import { describe } from './http.ts';
import {
  CrmError,
  type ConnectorContext,
  type ConnectorDefinition,
  type CrmAssignment,
  type CrmBundle,
  type CrmClient,
  type CrmHolding,
  type CrmUser,
  type GrantOperation,
  type GrantOutcome,
  type ReadProgress,
  type RevokeOperation,
  type RevokeOutcome,
  type StoredToken,
  type TestReport,
} from './types.ts';

/** Zoho's data centres: the accounts server (OAuth) and the API domain of each. */
export const ZOHO_DATA_CENTRES = {
  com: { accounts: 'https://accounts.zoho.com', api: 'https://www.zohoapis.com' },
  eu: { accounts: 'https://accounts.zoho.eu', api: 'https://www.zohoapis.eu' },
  in: { accounts: 'https://accounts.zoho.in', api: 'https://www.zohoapis.in' },
  'com.au': { accounts: 'https://accounts.zoho.com.au', api: 'https://www.zohoapis.com.au' },
  'com.cn': { accounts: 'https://accounts.zoho.com.cn', api: 'https://www.zohoapis.com.cn' },
  jp: { accounts: 'https://accounts.zoho.jp', api: 'https://www.zohoapis.jp' },
  sa: { accounts: 'https://accounts.zoho.sa', api: 'https://www.zohoapis.sa' },
  ca: { accounts: 'https://accounts.zohocloud.ca', api: 'https://www.zohoapis.ca' },
} as const;
export type ZohoDataCentre = keyof typeof ZOHO_DATA_CENTRES;

/** The OAuth scopes the connector needs (README "Connect a CRM"). */
export const ZOHO_SCOPES = ['ZohoCRM.users.ALL', 'ZohoCRM.settings.profiles.READ', 'ZohoCRM.settings.roles.READ', 'ZohoCRM.org.READ'] as const;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });
const required = text().trim().min(1, 'is required');
const serverUrl = (example: string) =>
  text()
    .trim()
    .url(`must be a URL such as ${example}`)
    .refine((u) => {
      const url = new URL(u);
      return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
    }, 'must be https:// (http:// only for a test server on this machine)')
    .transform((u) => u.replace(/\/+$/, ''));

export const zohoSettings = z
  .object({
    /** Where the org lives: the suffix of its CRM host (`com.cn` for crm.zoho.com.cn). */
    dataCenter: z
      .enum(Object.keys(ZOHO_DATA_CENTRES) as [ZohoDataCentre, ...ZohoDataCentre[]], { error: `must be one of ${Object.keys(ZOHO_DATA_CENTRES).join(', ')}` })
      .default('com'),
    /** Override of the data centre's accounts server (a data centre not listed, or a test server). */
    accountsUrl: serverUrl('https://accounts.zoho.com').optional(),
    /** Override of the API domain (else the token's `api_domain`, else the data centre's). */
    apiDomain: serverUrl('https://www.zohoapis.com').optional(),
    apiVersion: z
      .string()
      .regex(/^v[2-8](\.\d)?$/, 'must look like v8')
      .default('v8'),
    /** Users per page (Zoho allows at most 200). */
    pageSize: z.number().int().min(1).max(200).default(200),
  })
  .loose();
export type ZohoSettings = z.infer<typeof zohoSettings>;

/** A self client's (or server-based client's) refresh token, issued with `access_type=offline` and ZOHO_SCOPES. */
export const zohoCredentials = z.object({ clientId: required, clientSecret: required, refreshToken: required });
export type ZohoCredentials = z.infer<typeof zohoCredentials>;

type Ctx = ConnectorContext<ZohoSettings, ZohoCredentials>;
type Json = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const ID = /^\d{1,25}$/;

/** Profile permission names → our object actions ("Crm_Implied_View_Leads"). */
const MODULE_ACTIONS: Record<string, string> = { View: 'read', Create: 'create', Edit: 'edit', Delete: 'delete' };
const PERMISSION_NAME = /^Crm_Implied_(View|Create|Edit|Delete)_[A-Za-z0-9_]+$/;

/**
 * Unconfirmed: which profile permission lets a user change other users' profiles. Zoho's "Manage Users"
 * administrative permission; the Administrator profile always has it.
 */
const canChangeProfiles = (profile: Json) =>
  str(profile.name) === 'Administrator' ||
  (Array.isArray(profile.permissions_details) && profile.permissions_details.some((p) => /Manage_Users$/.test(String(obj(p).name)) && obj(p).enabled === true));

/** How Zoho's UI names a profile or a role, with zoho.com.cn's Chinese words (swapped there). */
export function term(kind: BundleKind): string {
  if (kind === 'profile') return 'profile (角色 on zoho.com.cn)';
  if (kind === 'role') return 'role (职位 on zoho.com.cn)';
  return kind;
}

/** `{code, message}` of a Zoho error body (top level, or the first entry of `users`). */
function zohoError(body: unknown): { code: string; message: string } | null {
  const b = obj(body);
  const entry = Array.isArray(b.users) ? obj(b.users[0]) : b;
  const code = str(entry.code) ?? str(b.code);
  if (!code) return null;
  return { code, message: str(entry.message) ?? str(b.message) ?? '' };
}

function refusal(status: number, body: unknown, what: string): CrmError {
  const e = zohoError(body);
  const detail = e ? `${e.code}: ${e.message}` : describe(body);
  return new CrmError(status === 400 || status === 403 || status === 404 ? 'refused' : 'protocol', `${what}: Zoho CRM answered ${status} (${detail}).`, {
    status,
    ...(e ? { code: e.code } : {}),
  });
}

const isRateLimitBody = (status: number, body: unknown) => status === 429 || zohoError(body)?.code === 'TOO_MANY_REQUESTS';

async function authenticate(ctx: Omit<Ctx, 'tokens'>, previous: StoredToken | null): Promise<StoredToken> {
  const { settings } = ctx.connection;
  const accounts = settings.accountsUrl ?? ZOHO_DATA_CENTRES[settings.dataCenter].accounts;
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: ctx.credentials.clientId,
    client_secret: ctx.credentials.clientSecret,
    refresh_token: ctx.credentials.refreshToken,
  });
  const res = await ctx.http.request(`${accounts}/oauth/v2/token`, {
    method: 'POST',
    anonymous: true,
    body: form,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const body = obj(res.body);
  // Zoho answers a refused grant with `{error}` (also with status 200).
  if (typeof body.error === 'string' || res.status === 400 || res.status === 401)
    throw new CrmError('auth', `Zoho refused the credentials (${str(body.error) ?? res.status}): create a new refresh token for the connection.`, {
      status: res.status,
      code: str(body.error) ?? '',
    });
  if (res.status !== 200 || typeof body.access_token !== 'string')
    throw new CrmError('protocol', `The Zoho accounts server answered ${res.status} (${describe(res.body)}).`, { status: res.status });
  const seconds = Number(body.expires_in);
  const apiDomain = safeApiDomain(str(body.api_domain)) ?? previous?.instanceUrl ?? null;
  return {
    accessToken: body.access_token,
    instanceUrl: apiDomain,
    expiresAt: new Date(ctx.now().getTime() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 3600) * 1000).toISOString(),
  };
}

/** The token's `api_domain`, when it is https (or a test server on this machine). */
function safeApiDomain(v: string | null): string | null {
  if (!v) return null;
  try {
    const url = new URL(v);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname)) ? v.replace(/\/+$/, '') : null;
  } catch {
    return null;
  }
}

/** Zoho date-times ("2017-02-24T23:35:57+05:30") as ISO 8601 UTC. */
function toIso(v: unknown): string | null {
  const s = str(v);
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** The org id of the Organization API's `domain_name` ("org7700001"), else its `zgid`: as the adapter reads page URLs. */
export function zohoTenant(org: Json): string | null {
  const fromDomain = /^org(\d{1,20})$/.exec(str(org.domain_name) ?? '');
  const tenant = fromDomain ? fromDomain[1]! : str(org.zgid);
  // The adapter's own reading of such a page, so the overlay finds this connection.
  return tenant ? zohoAdapter.tenantOf(new URL(`https://crm.zoho.com/crm/org${tenant}/tab/Home`)) : null;
}

/** An assignment's id: stable for (user, bundle), since Zoho has no assignment records. */
const assignmentId = (userId: string, bundleId: string) => `${userId}:${bundleId}`;

class ZohoClient implements CrmClient {
  constructor(private readonly ctx: Ctx) {}

  get #settings() {
    return this.ctx.connection.settings;
  }

  async #api(path: string): Promise<string> {
    const s = this.#settings;
    const domain = s.apiDomain ?? (await this.ctx.tokens.get())?.instanceUrl ?? ZOHO_DATA_CENTRES[s.dataCenter].api;
    return `${domain}/crm/${s.apiVersion}${path}`;
  }

  async #get(path: string, what: string): Promise<Json | null> {
    const res = await this.ctx.http.request(() => this.#api(path));
    if (res.status === 204) return null;
    if (res.status !== 200) throw refusal(res.status, res.body, what);
    return obj(res.body);
  }

  /** Every user, page by page (`info.more_records`). */
  async users(onPage: (users: Json[]) => void): Promise<void> {
    for (let page = 1; ; page++) {
      const body = await this.#get(`/users?type=AllUsers&page=${page}&per_page=${this.#settings.pageSize}`, 'Get users');
      if (!body) return;
      if (!Array.isArray(body.users)) throw new CrmError('protocol', `Zoho CRM answered users without a list (${describe(body)}).`);
      onPage(body.users.map(obj));
      if (obj(body.info).more_records !== true) return;
      if (page > 10_000) throw new CrmError('protocol', 'Zoho CRM kept saying there are more users after 10,000 pages.');
    }
  }

  async user(id: string): Promise<Json> {
    if (!ID.test(id)) throw new CrmError('refused', `"${id}" is not a Zoho CRM user id.`);
    const body = await this.#get(`/users/${id}`, `Get user ${id}`);
    const user = body && Array.isArray(body.users) ? obj(body.users[0]) : null;
    if (!user || str(user.id) === null) throw new CrmError('refused', `Zoho CRM has no user ${id}.`);
    return user;
  }

  async currentUser(): Promise<Json> {
    const body = await this.#get('/users?type=CurrentUser', 'Get the current user');
    const user = body && Array.isArray(body.users) ? obj(body.users[0]) : null;
    if (!user || str(user.id) === null) throw new CrmError('protocol', 'Zoho CRM did not say who the integration user is.');
    return user;
  }

  async profiles(): Promise<Json[]> {
    const body = await this.#get('/settings/profiles', 'Get profiles');
    return body && Array.isArray(body.profiles) ? body.profiles.map(obj) : [];
  }

  async profile(id: string): Promise<Json> {
    const body = await this.#get(`/settings/profiles/${id}`, `Get profile ${id}`);
    const p = body && Array.isArray(body.profiles) ? obj(body.profiles[0]) : null;
    if (!p) throw new CrmError('protocol', `Zoho CRM answered profile ${id} without it.`);
    return p;
  }

  async roles(): Promise<Json[]> {
    const body = await this.#get('/settings/roles', 'Get roles');
    return body && Array.isArray(body.roles) ? body.roles.map(obj) : [];
  }

  async org(): Promise<Json | null> {
    const body = await this.#get('/org', 'Get the organization');
    return body && Array.isArray(body.org) ? obj(body.org[0]) : null;
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
    let me: Json;
    try {
      me = await this.currentUser();
      checks.push({ id: 'sign-in', ok: true, message: 'Signed in to Zoho CRM.' });
    } catch (error) {
      checks.push({ id: 'sign-in', ok: false, message: error instanceof Error ? error.message : String(error) });
      return { identity: null, canRead: false, canProvision: false, checks };
    }
    let tenant: string | null = null;
    await attempt('read-org', 'Can read the organization (its org id).', async () => {
      const org = await this.org();
      tenant = org ? zohoTenant(org) : null;
    });
    const readUsers = await attempt('read-users', 'Can read users (ZohoCRM.users).', async () => {
      await this.#get('/users?type=AllUsers&page=1&per_page=1', 'Get users');
    });
    let myProfile: Json = {};
    const readProfiles = await attempt(
      'read-profiles',
      `Can read each ${term('profile')} with its module permissions (ZohoCRM.settings.profiles.READ).`,
      async () => {
        await this.profiles();
        const id = str(obj(me.profile).id);
        if (id) myProfile = await this.profile(id);
      },
    );
    const readRoles = await attempt('read-roles', `Can read ${term('role')}s (ZohoCRM.settings.roles.READ).`, async () => {
      await this.roles();
    });
    let canProvision = false;
    await attempt('change-profiles', `Can change users' ${term('profile')} (ZohoCRM.users.ALL, an administrator).`, async () => {
      canProvision = canChangeProfiles(myProfile);
      if (!canProvision)
        throw new Error(
          `The integration user's ${term('profile')} "${str(myProfile.name) ?? '?'}" cannot manage users: AccessLens can read, and grants stay admin tasks.`,
        );
    });
    return {
      identity: { userId: String(me.id), username: str(me.email) ?? str(me.full_name), tenant },
      canRead: readUsers && readProfiles && readRoles,
      canProvision,
      checks,
    };
  }

  async read(_cursor: unknown, progress: (p: ReadProgress) => void) {
    const counts: ReadProgress = { phase: 'users', users: 0, bundles: 0, assignments: 0 };
    const warnings: string[] = [];
    // Users are read whole each time: a user's profile and role come with the user, and a changed
    // profile must be seen as the old one's removal (an incremental read could not say so).
    const users: CrmUser[] = [];
    const holds: { userId: string; profile: string | null; role: string | null }[] = [];
    await this.users((page) => {
      for (const u of page) {
        const id = str(u.id);
        if (!id) continue;
        users.push({
          externalId: id,
          username: str(u.email) ?? str(u.full_name) ?? id,
          email: str(u.email),
          active: str(u.status) === 'active',
          // Zoho's Users API says nothing of sign-ins: AccessLens keeps what it knows (usage reports).
          createdAt: toIso(u.created_time),
        });
        holds.push({ userId: id, profile: str(obj(u.profile).id), role: str(obj(u.role).id) });
      }
      counts.users = users.length;
      progress({ ...counts });
    });

    counts.phase = 'bundles';
    progress({ ...counts });
    const bundles: CrmBundle[] = [];
    let unmapped = 0;
    for (const p of await this.profiles()) {
      const id = str(p.id);
      if (!id) continue;
      const detail = await this.profile(id);
      const permissions: string[] = [];
      for (const raw of Array.isArray(detail.permissions_details) ? detail.permissions_details : []) {
        const perm = obj(raw);
        const name = str(perm.name) ?? '';
        if (perm.enabled !== true || !PERMISSION_NAME.test(name)) continue;
        const action = MODULE_ACTIONS[name.split('_')[2]!]!;
        // Module API names as the adapter's catalog names them (Potentials → Deals).
        const module = zohoAdapter.catalogObject(str(perm.module) ?? name.split('_').slice(3).join('_'));
        if (!isApiName(module)) {
          unmapped++;
          continue;
        }
        permissions.push(`object:${module}:${action}`);
      }
      bundles.push({
        externalId: id,
        kind: 'profile',
        name: str(p.name) ?? str(p.display_label) ?? id,
        permissions: [...new Set(permissions)],
        includes: [],
        assignable: true,
      });
      counts.bundles = bundles.length;
      progress({ ...counts });
    }
    // Roles place users in the hierarchy (who sees whose records, with the org's data sharing rules,
    // which this connector does not read): they grant no keys by themselves.
    for (const r of await this.roles()) {
      const id = str(r.id);
      if (!id) continue;
      bundles.push({ externalId: id, kind: 'role', name: str(r.name) ?? str(r.display_label) ?? id, permissions: [], includes: [], assignable: true });
    }
    counts.bundles = bundles.length;
    if (unmapped > 0) warnings.push(`${unmapped} profile permissions name a module AccessLens cannot key; they were skipped.`);

    counts.phase = 'assignments';
    progress({ ...counts });
    const known = new Set(bundles.map((b) => b.externalId));
    const assignments: CrmAssignment[] = [];
    let unknown = 0;
    for (const h of holds)
      for (const bundle of [h.profile, h.role]) {
        if (!bundle) continue;
        if (!known.has(bundle)) {
          unknown++;
          continue;
        }
        assignments.push({ externalId: assignmentId(h.userId, bundle), userExternalId: h.userId, bundleExternalId: bundle, grantedAt: null, expiresAt: null });
      }
    counts.assignments = assignments.length;
    progress({ ...counts });
    if (unknown > 0) warnings.push(`${unknown} users' ${term('profile')} or ${term('role')} is not in Zoho's lists; skipped.`);

    let tenant: string | null = null;
    try {
      const org = await this.org();
      tenant = org ? zohoTenant(org) : null;
    } catch (error) {
      if (error instanceof CrmError && (error.kind === 'auth' || error.kind === 'rate-limited' || error.kind === 'unavailable')) throw error;
      warnings.push(`Could not read the organization's id (${error instanceof Error ? error.message : String(error)}); add ZohoCRM.org.READ to the scopes.`);
    }
    return {
      users: { complete: true, items: users },
      bundles: { complete: true, items: bundles },
      assignments: { complete: true, items: assignments },
      cursor: null,
      ...(tenant ? { tenant } : {}),
      warnings,
    };
  }

  async holdings(userExternalId: string): Promise<CrmHolding[]> {
    const u = await this.user(userExternalId);
    return [str(obj(u.profile).id), str(obj(u.role).id)]
      .filter((b): b is string => b !== null)
      .map((b) => ({ externalId: assignmentId(userExternalId, b), bundleExternalId: b, expiresAt: null }));
  }

  /** Puts `bundleId` as the user's profile or role. Safe to repeat: setting the same one again changes nothing. */
  async #set(userId: string, kind: 'profile' | 'role', bundleId: string): Promise<CrmError | null> {
    if (!ID.test(userId)) return new CrmError('refused', `"${userId}" is not a Zoho CRM user id.`);
    // Unconfirmed: `{id}` or a bare id (see the header).
    const res = await this.ctx.http.request(() => this.#api(`/users/${userId}`), {
      method: 'PUT',
      body: { users: [{ id: userId, [kind]: { id: bundleId } }] },
    });
    const entry = Array.isArray(obj(res.body).users) ? obj((obj(res.body).users as unknown[])[0]) : null;
    if (res.status === 200 && entry && (str(entry.status) === 'success' || str(entry.code) === 'SUCCESS')) return null;
    const e = zohoError(res.body);
    return new CrmError('refused', `Zoho CRM refused to change the ${term(kind)} of user ${userId} (${e ? `${e.code}: ${e.message}` : describe(res.body)}).`, {
      status: res.status,
      ...(e ? { code: e.code } : {}),
    });
  }

  async grant(op: GrantOperation): Promise<GrantOutcome[]> {
    const out: GrantOutcome[] = [];
    for (const kind of ['profile', 'role'] as const) {
      const of = op.bundles.filter((b) => b.kind === kind);
      if (of.length > 1) {
        // A user holds one profile: two cannot both be granted (no single one grants every key).
        for (const b of of)
          out.push({
            bundleExternalId: b.externalId,
            ok: false,
            error: new CrmError(
              'refused',
              `No single Zoho ${term(kind)} grants every requested permission, and a user holds only one: an administrator decides.`,
            ),
          });
        continue;
      }
      for (const b of of) {
        const error = await this.#set(op.userExternalId, kind, b.externalId);
        out.push(
          error
            ? { bundleExternalId: b.externalId, ok: false, error }
            : { bundleExternalId: b.externalId, ok: true, externalId: assignmentId(op.userExternalId, b.externalId) },
        );
      }
    }
    for (const b of op.bundles)
      if (b.kind !== 'profile' && b.kind !== 'role')
        out.push({ bundleExternalId: b.externalId, ok: false, error: new CrmError('refused', `Zoho CRM has no ${b.kind} to assign.`) });
    return out;
  }

  async revoke(op: RevokeOperation): Promise<RevokeOutcome[]> {
    const out: RevokeOutcome[] = [];
    const kinds = new Map<string, 'profile' | 'role'>();
    if (op.assignments.length > 0) {
      // Which of the user's two the assignment is: read fresh (an assignment id names only the bundle).
      const u = await this.user(op.userExternalId);
      const profile = str(obj(u.profile).id);
      const role = str(obj(u.role).id);
      if (profile) kinds.set(profile, 'profile');
      if (role) kinds.set(role, 'role');
    }
    for (const a of op.assignments) {
      const kind = kinds.get(a.bundleExternalId);
      // No longer held (an administrator changed it meanwhile): nothing to remove.
      if (!kind) {
        out.push({ externalId: a.externalId, ok: true });
        continue;
      }
      const back = (op.restore ?? []).find((r) => r.kind === kind && r.bundleExternalId !== a.bundleExternalId);
      if (!back) {
        out.push({
          externalId: a.externalId,
          ok: false,
          error: new CrmError(
            'refused',
            `A Zoho user always holds a ${term(kind)}, and AccessLens does not know which one to put back: an administrator chooses it.`,
          ),
        });
        continue;
      }
      const error = await this.#set(op.userExternalId, kind, back.bundleExternalId);
      out.push(error ? { externalId: a.externalId, ok: false, error } : { externalId: a.externalId, ok: true });
    }
    return out;
  }
}

export const zohoConnector: ConnectorDefinition<ZohoSettings, ZohoCredentials> = {
  kind: 'zoho',
  settingsSchema: zohoSettings,
  credentialsSchema: zohoCredentials,
  replacesWholeProfile: true,
  canProvision: true,
  supportsExpiration: false,
  exclusiveKinds: ['profile', 'role'],
  isRateLimitBody,
  authorization: (token) => `Zoho-oauthtoken ${token}`,
  authenticate,
  open: (ctx) => new ZohoClient(ctx),
};
