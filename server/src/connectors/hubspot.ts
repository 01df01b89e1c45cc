/**
 * The HubSpot connector: the user provisioning API over `fetch`, with a private app's access token or an
 * OAuth app's refresh token. Reads users (with their permission set — HubSpot's API calls it a role —,
 * Super Admin flag and teams), permission sets, teams, paid seats and login history; grants by changing
 * the user's permission set after checking a paid seat is free, and revokes by putting the previous one
 * back (what a grant replaced is kept with the grant's job: `exclusiveKinds`). The fake in test/fakes/hubspot.ts implements the
 * same shapes, citing the same pages.
 *
 * HubSpot developer docs, each shape used here:
 * - "User provisioning" guide (api/settings/user-provisioning) and its endpoints (Settings API v3):
 *   GET /settings/v3/users?limit=&after= → `{results: [{id, email, roleId, roleIds, primaryTeamId,
 *   secondaryTeamIds, superAdmin}], paging: {next: {after, link}}}` (at most 100 per page); GET
 *   /settings/v3/users/{userId}; PUT /settings/v3/users/{userId} `{roleId, primaryTeamId, secondaryTeamIds}`
 *   ("Modifies a user") → the user; GET /settings/v3/users/roles → `{results: [{id, name,
 *   requiresBillingWrite}]}` ("permission sets that have paid seats attached to them can only be modified by
 *   applications that have the billing-write scope"); GET /settings/v3/users/teams → `{results: [{id, name,
 *   userIds, secondaryUserIds}]}`. Scopes: settings.users.read, settings.users.write,
 *   settings.users.teams.read.
 * - "User provisioning (BETA)", GET /settings/users/2026-09-beta/seats ("Retrieves the seats on this
 *   account": each seat's name, description and number of remaining seats) → `{results: [{name,
 *   description, remainingSeats}]}` (field names as HubSpot's generated API clients spell them; the path is
 *   a setting, as the beta may move).
 * - "Account activity API" (api/settings/account-activity-api): GET /account-info/v3/activity/login?limit=
 *   &after= → `{results: [{id, loginAt, userId, email, loginSucceeded, …}], paging}`, login attempts of the
 *   last 90 days; scope account-info.security.read.
 * - "Account information API": GET /account-info/v3/details → `{portalId, accountType, timeZone,
 *   companyCurrency, uiDomain, dataHostingLocation, …}` — the portal id is what the app's URLs name.
 * - "OAuth" (api/oauth/tokens): POST /oauth/v1/token form `grant_type=refresh_token, client_id,
 *   client_secret, refresh_token` → `{token_type, refresh_token, access_token, expires_in, hub_id, scopes}`;
 *   a bad refresh token is 400 `{status: "BAD_REFRESH_TOKEN", message}`; GET /oauth/v1/access-tokens/{token}
 *   → `{token, user, hub_id, scopes, app_id, expires_in, user_id}`. "Private apps": POST
 *   /oauth/v2/private-apps/get/access-token-info `{tokenKey}` → `{userId, hubId, appId, scopes}`.
 * - "API usage guidelines and limits": 429 `{status: "error", message, errorType: "RATE_LIMIT", policyName}`;
 *   errors in general `{status: "error", message, correlationId, category}` (403 MISSING_SCOPES, 404
 *   OBJECT_NOT_FOUND, 400 VALIDATION_ERROR); 401 `category: INVALID_AUTHENTICATION` or EXPIRED_AUTHENTICATION.
 *
 * What a permission set grants is not in HubSpot's API (it returns a set's id, name and whether paid seats
 * are attached — not its object permissions). AccessLens therefore maps nothing onto keys for it
 * (`permissionsKnown: false`): an import keeps the keys AccessLens records for the set (the demo seed's, or
 * an administrator's) and never removes them. Super Admin is a flag on the user, not a set: it is imported
 * as the bundle "Super Admin" (`super-admin`) that cannot be granted through the API. A team grants nothing
 * by itself (it widens "their team's records" access): teams are imported with no keys.
 */
import { hubspot as hubspotAdapter } from '@accesslens/shared/crm';
import type { BundleKind } from '@accesslens/shared';
import { z } from 'zod';
import { later, required, serviceUrl, str, text, toIso } from './fields.ts';
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
  type CrmLicence,
  type CrmUser,
  type GrantOutcome,
  type ReadProgress,
  type RevokeOperation,
  type RevokeOutcome,
  type StoredToken,
  type TestReport,
} from './types.ts';

/** The bundle standing for HubSpot's Super Admin flag (also the demo seed's external id). */
export const HUBSPOT_SUPER_ADMIN = 'super-admin';

export const hubspotSettings = z
  .object({
    apiUrl: serviceUrl('https://api.hubapi.com').default('https://api.hubapi.com'),
    /** Users per page (at most 100). */
    pageSize: z.number().int().min(1).max(100).default(100),
    /** Where the seats are read (HubSpot's beta user provisioning API); null: seats are not read. */
    seatsPath: text()
      .regex(/^\/[\w./-]+$/, 'must be a path such as /settings/users/2026-09-beta/seats')
      .nullable()
      .default('/settings/users/2026-09-beta/seats'),
    /**
     * Which paid seat each permission set uses (its id or name → the seat's name): HubSpot's API says only
     * that a set has paid seats attached. Needed to check a seat is free before granting such a set.
     */
    roleSeats: z.record(text(), required()).default({}),
    /** Read the login history for last logins (scope account-info.security.read). */
    readLoginHistory: z.boolean().default(true),
  })
  .loose();
export type HubspotSettings = z.infer<typeof hubspotSettings>;

export const hubspotCredentials = z.discriminatedUnion('flow', [
  /** A private app's access token (Settings > Integrations > Private apps). */
  z.object({ flow: z.literal('private_app'), accessToken: required() }),
  /** An OAuth app installed in the account: a refresh token issued to it. */
  z.object({ flow: z.literal('oauth'), clientId: required(), clientSecret: required(), refreshToken: required() }),
]);
export type HubspotCredentials = z.infer<typeof hubspotCredentials>;

type Ctx = ConnectorContext<HubspotSettings, HubspotCredentials>;
type Row = Record<string, unknown>;

const NUMERIC_ID = /^\d{1,20}$/;
/** A user's permission set: `{userId}/role/{roleId}`. */
export const roleAssignmentId = (user: string, role: string) => `${user}/role/${role}`;
const superAdminAssignmentId = (user: string) => `${user}/${HUBSPOT_SUPER_ADMIN}`;
const teamAssignmentId = (user: string, team: string) => `${user}/team/${team}`;

/** The tenant as the adapter reads it from page URLs: the portal id. */
export function hubspotTenantOf(portalId: unknown): string | null {
  const id = typeof portalId === 'number' || typeof portalId === 'string' ? String(portalId) : '';
  if (!NUMERIC_ID.test(id)) return null;
  return hubspotAdapter.tenantOf(new URL(`https://app.hubspot.com/contacts/${id}/objects/0-1/views/all/list`));
}

/** HubSpot error bodies: `{status, message, category, correlationId}`. */
function hsError(body: unknown): { category: string; message: string } | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Row;
  if (b.message === undefined && b.category === undefined) return null;
  return { category: String(b.category ?? b.errorType ?? b.status ?? ''), message: String(b.message ?? '') };
}

function refusal(status: number, body: unknown, what: string): CrmError {
  const e = hsError(body);
  const detail = e ? `${e.category}: ${e.message}` : describe(body);
  return new CrmError(
    status === 400 || status === 403 || status === 404 || status === 409 ? 'refused' : 'protocol',
    `${what}: HubSpot answered ${status} (${detail}).`,
    {
      status,
      ...(e?.category ? { code: e.category } : {}),
    },
  );
}

async function authenticate(ctx: Omit<Ctx, 'tokens'>, previous: StoredToken | null): Promise<StoredToken> {
  const s = ctx.connection.settings;
  const c = ctx.credentials;
  // A private app's token does not expire and cannot be refreshed: after a 401 it is tried once more, then
  // the connection needs a new token.
  if (c.flow === 'private_app') return { accessToken: c.accessToken, instanceUrl: s.apiUrl, expiresAt: null };
  const refreshToken = previous?.extra?.refreshToken ?? c.refreshToken;
  const res = await ctx.http.request(`${s.apiUrl}/oauth/v1/token`, {
    method: 'POST',
    anonymous: true,
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: c.clientId, client_secret: c.clientSecret, refresh_token: refreshToken }),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const body = (res.body ?? {}) as Row;
  if (res.status === 400 || res.status === 401)
    throw new CrmError(
      'auth',
      `HubSpot refused the credentials (${String(body.status ?? body.error ?? res.status)}: ${String(body.message ?? body.error_description ?? '')}).`,
      {
        status: res.status,
        code: String(body.status ?? body.error ?? ''),
      },
    );
  if (res.status !== 200 || typeof body.access_token !== 'string')
    throw new CrmError('protocol', `The HubSpot token endpoint answered ${res.status} (${describe(res.body)}).`, { status: res.status });
  const seconds = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    instanceUrl: s.apiUrl,
    expiresAt: new Date(ctx.now().getTime() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 1800) * 1000).toISOString(),
    // HubSpot may rotate the refresh token: the newest is kept with the access token.
    extra: { refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : refreshToken },
  };
}

interface HsUser {
  id: string;
  email: string | null;
  roleIds: string[];
  superAdmin: boolean;
  teamIds: string[];
}

interface HsRole {
  id: string;
  name: string;
  paidSeats: boolean;
}

function userOf(r: Row): HsUser | null {
  const id = str(String(r.id ?? ''));
  if (!id || !NUMERIC_ID.test(id)) return null;
  const roleIds = Array.isArray(r.roleIds) ? r.roleIds.map(String) : [];
  const roleId = str(typeof r.roleId === 'number' ? String(r.roleId) : r.roleId);
  if (roleId && !roleIds.includes(roleId)) roleIds.unshift(roleId);
  const teams = [
    str(r.primaryTeamId === undefined ? undefined : String(r.primaryTeamId)),
    ...(Array.isArray(r.secondaryTeamIds) ? r.secondaryTeamIds.map(String) : []),
  ];
  return { id, email: str(r.email), roleIds, superAdmin: r.superAdmin === true, teamIds: [...new Set(teams.filter((t): t is string => !!t))] };
}

function holdingsOf(u: HsUser): CrmHolding[] {
  return [
    ...u.roleIds.map((r) => ({ externalId: roleAssignmentId(u.id, r), bundleExternalId: r, expiresAt: null })),
    ...(u.superAdmin ? [{ externalId: superAdminAssignmentId(u.id), bundleExternalId: HUBSPOT_SUPER_ADMIN, expiresAt: null }] : []),
    ...u.teamIds.map((t) => ({ externalId: teamAssignmentId(u.id, t), bundleExternalId: t, expiresAt: null })),
  ];
}

class HubspotClient implements CrmClient {
  constructor(private readonly ctx: Ctx) {}

  get #s() {
    return this.ctx.connection.settings;
  }

  async #get(path: string, what: string): Promise<Row> {
    const res = await this.ctx.http.request(`${this.#s.apiUrl}${path}`);
    if (res.status !== 200) throw refusal(res.status, res.body, what);
    if (!res.body || typeof res.body !== 'object') throw new CrmError('protocol', `${what}: HubSpot answered without a body.`);
    return res.body as Row;
  }

  /** Every page of a list paged with `after` (`paging.next.after`). */
  async #paged(path: string, what: string, onPage: (rows: Row[]) => void): Promise<void> {
    let after: string | null = null;
    for (let pages = 0; ; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.#get(`${path}${after ? `${sep}after=${encodeURIComponent(after)}` : ''}`, what);
      if (!Array.isArray(page.results)) throw new CrmError('protocol', `${what}: HubSpot answered without results (${describe(page)}).`);
      onPage(page.results as Row[]);
      const next = ((page.paging as Row | undefined)?.next as Row | undefined)?.after;
      if (typeof next !== 'string' || next === '' || next === after) return;
      if (pages > 100_000) throw new CrmError('protocol', `${what}: HubSpot kept giving more pages.`);
      after = next;
    }
  }

  async #roles(): Promise<HsRole[]> {
    const body = await this.#get('/settings/v3/users/roles', 'Read permission sets');
    if (!Array.isArray(body.results)) throw new CrmError('protocol', `Read permission sets: HubSpot answered without results (${describe(body)}).`);
    return (body.results as Row[])
      .map((r) => ({ id: String(r.id ?? ''), name: str(r.name) ?? String(r.id ?? ''), paidSeats: r.requiresBillingWrite === true }))
      .filter((r) => r.id !== '');
  }

  async #user(userId: string): Promise<HsUser> {
    if (!NUMERIC_ID.test(userId)) throw new CrmError('refused', `"${userId}" is not a HubSpot user id.`);
    const u = userOf(await this.#get(`/settings/v3/users/${userId}`, 'Read the user'));
    if (!u) throw new CrmError('protocol', `HubSpot answered without a user for ${userId}.`);
    return u;
  }

  /** Seats left by seat name (fresh), or a CrmError saying why they cannot be read. */
  async #seats(): Promise<Map<string, number | null>> {
    if (!this.#s.seatsPath) throw new CrmError('refused', 'Seats are not read for this connection (settings.seatsPath is null).');
    const body = await this.#get(this.#s.seatsPath, 'Read seats');
    if (!Array.isArray(body.results)) throw new CrmError('protocol', `Read seats: HubSpot answered without results (${describe(body)}).`);
    return new Map(
      (body.results as Row[])
        .filter((r) => typeof r.name === 'string')
        .map((r) => [String(r.name), typeof r.remainingSeats === 'number' ? r.remainingSeats : null] as const),
    );
  }

  /** The seat a permission set uses (settings.roleSeats, by id or name), or null when none is named. */
  #seatOf(role: HsRole | undefined): string | null {
    if (!role) return null;
    return this.#s.roleSeats[role.id] ?? this.#s.roleSeats[role.name] ?? null;
  }

  /**
   * Why moving a user from `from` to `to` needs a seat that is not free (a CrmError), or null: only a set
   * with paid seats needs one, and not when the user's current set already takes the same seat.
   */
  async #seatProblem(to: HsRole, from: HsRole | undefined): Promise<CrmError | null> {
    if (!to.paidSeats) return null;
    const seat = this.#seatOf(to);
    if (!seat)
      return new CrmError(
        'refused',
        `"${to.name}" has paid seats attached and HubSpot's API does not say which: name its seat in the connection's settings.roleSeats so AccessLens can check one is free.`,
        { code: 'SEAT_UNKNOWN' },
      );
    if (from && this.#seatOf(from) === seat) return null;
    let left: number | null | undefined;
    try {
      left = (await this.#seats()).get(seat);
    } catch (error) {
      if (error instanceof CrmError && error.kind === 'refused')
        return new CrmError('refused', `AccessLens cannot check a "${seat}" seat is free: ${error.message}`, { code: 'SEAT_UNKNOWN' });
      throw error;
    }
    if (left === undefined)
      return new CrmError('refused', `HubSpot lists no seat named "${seat}" (settings.roleSeats names it for "${to.name}").`, { code: 'SEAT_UNKNOWN' });
    if (left !== null && left < 1)
      return new CrmError('refused', `No "${seat}" seat is free in HubSpot (0 left): free one or buy more before "${to.name}" can be given.`, {
        code: 'NO_SEAT_FREE',
      });
    return null;
  }

  async #setRole(userId: string, roleId: string, what: string): Promise<void> {
    const res = await this.ctx.http.request(`${this.#s.apiUrl}/settings/v3/users/${userId}`, { method: 'PUT', body: { roleId } });
    if (res.status !== 200) throw refusal(res.status, res.body, what);
  }

  async #scopes(): Promise<{ scopes: string[]; hubId: string | null; user: string | null; userId: string | null }> {
    const c = this.ctx.credentials;
    let body: Row;
    if (c.flow === 'private_app') {
      const res = await this.ctx.http.request(`${this.#s.apiUrl}/oauth/v2/private-apps/get/access-token-info`, {
        method: 'POST',
        body: { tokenKey: c.accessToken },
      });
      if (res.status !== 200) throw refusal(res.status, res.body, 'Read the private app token');
      body = (res.body ?? {}) as Row;
    } else {
      const token = (await this.ctx.tokens.get())?.accessToken ?? '';
      body = await this.#get(`/oauth/v1/access-tokens/${encodeURIComponent(token)}`, 'Read the OAuth token');
    }
    const hub = body.hubId ?? body.hub_id;
    const user = body.userId ?? body.user_id;
    return {
      scopes: Array.isArray(body.scopes) ? body.scopes.map(String) : [],
      hubId: hub === undefined || hub === null ? null : String(hub),
      user: str(body.user),
      userId: user === undefined || user === null ? null : String(user),
    };
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
    let scopes: string[] = [];
    try {
      await attempt('sign-in', 'Signed in to HubSpot.', async () => {
        const details = await this.#get('/account-info/v3/details', 'Read the account details');
        const info = await this.#scopes();
        scopes = info.scopes;
        identity = {
          userId: info.userId ?? (this.ctx.credentials.flow === 'private_app' ? 'private app' : 'oauth app'),
          username: info.user,
          tenant: hubspotTenantOf(details.portalId ?? info.hubId),
        };
      });
    } catch (error) {
      checks.push({ id: 'sign-in', ok: false, message: error instanceof Error ? error.message : String(error) });
      return { identity: null, canRead: false, canProvision: false, checks };
    }
    if (!identity) return { identity: null, canRead: false, canProvision: false, checks };
    const need = (scope: string) => {
      if (!scopes.includes(scope)) throw new Error(`The app lacks the ${scope} scope.`);
    };
    const readUsers = await attempt('read-users', 'Can read users and permission sets (settings.users.read).', async () => {
      need('settings.users.read');
      await this.#get('/settings/v3/users?limit=1', 'Read users');
      await this.#roles();
    });
    const readTeams = await attempt('read-teams', 'Can read teams (settings.users.teams.read).', async () => {
      need('settings.users.teams.read');
      await this.#get('/settings/v3/users/teams', 'Read teams');
    });
    if (this.#s.seatsPath)
      await attempt('read-seats', 'Can read paid seats.', async () => {
        await this.#seats();
      });
    if (this.#s.readLoginHistory)
      await attempt('read-last-logins', 'Can read the login history (account-info.security.read).', async () => {
        need('account-info.security.read');
        await this.#get('/account-info/v3/activity/login?limit=1', 'Read the login history');
      });
    let canProvision = false;
    await attempt('change-permission-sets', "Can change users' permission sets (settings.users.write).", async () => {
      need('settings.users.write');
      canProvision = true;
      const paid = (await this.#roles()).filter((r) => r.paidSeats);
      if (paid.length > 0 && !scopes.includes('billing-write'))
        throw new Error(
          `${paid.map((r) => r.name).join(', ')} ${paid.length === 1 ? 'has' : 'have'} paid seats attached: changing users to or from them needs the billing-write scope too.`,
        );
    });
    return { identity, canRead: readUsers && readTeams, canProvision, checks };
  }

  async read(cursor: unknown, progress: (p: ReadProgress) => void) {
    const prior = z
      .object({ lastLogins: z.record(z.string(), z.string()).optional() })
      .catch({})
      .parse(cursor ?? {});
    const counts: ReadProgress = { phase: 'users', users: 0, bundles: 0, assignments: 0 };
    const warnings: string[] = [];
    const details = await this.#get('/account-info/v3/details', 'Read the account details');

    // Last logins: the login history of the last 90 days (newest successful login per user), merged with
    // what earlier imports learnt.
    const lastLogins: Record<string, string> = { ...(prior.lastLogins ?? {}) };
    let loginsKnown = this.#s.readLoginHistory;
    if (loginsKnown) {
      try {
        await this.#paged('/account-info/v3/activity/login?limit=200', 'Read the login history', (rows) => {
          for (const r of rows) {
            const user = r.userId === undefined || r.userId === null ? null : String(r.userId);
            const at = toIso(r.loginAt);
            if (user && at && r.loginSucceeded !== false) lastLogins[user] = later(lastLogins[user], at)!;
          }
        });
      } catch (error) {
        const refusal = refusalOf(error);
        loginsKnown = false;
        warnings.push(
          `Last logins are unknown: AccessLens cannot read HubSpot's login history (${refusal.message}) — it needs the account-info.security.read scope.`,
        );
      }
    }

    // Users: HubSpot's user API has no "changed since" filter, and removed users are deleted: read whole.
    const users: HsUser[] = [];
    await this.#paged(`/settings/v3/users?limit=${this.#s.pageSize}`, 'Read users', (rows) => {
      for (const r of rows) {
        const u = userOf(r);
        if (u) users.push(u);
      }
      counts.users = users.length;
      progress({ ...counts });
    });

    counts.phase = 'bundles';
    progress({ ...counts });
    const roles = await this.#roles();
    const bundles: CrmBundle[] = roles.map((r) => ({
      externalId: r.id,
      kind: 'role',
      name: r.name,
      permissions: [],
      permissionsKnown: false,
      includes: [],
      assignable: true,
    }));
    bundles.push({
      externalId: HUBSPOT_SUPER_ADMIN,
      kind: 'role',
      name: 'Super Admin',
      permissions: [],
      permissionsKnown: false,
      includes: [],
      assignable: false,
    });
    const teams = await this.#get('/settings/v3/users/teams', 'Read teams');
    for (const t of Array.isArray(teams.results) ? (teams.results as Row[]) : []) {
      const id = t.id === undefined ? '' : String(t.id);
      if (id) bundles.push({ externalId: id, kind: 'team', name: str(t.name) ?? id, permissions: [], includes: [], assignable: false });
    }
    counts.bundles = bundles.length;
    progress({ ...counts });

    // Seats: bought = left + taken by users whose permission set uses the seat (settings.roleSeats).
    let licences: CrmLicence[] | undefined;
    if (this.#s.seatsPath) {
      try {
        const left = await this.#seats();
        licences = [];
        const unmapped: string[] = [];
        for (const [seat, remaining] of left) {
          const using = roles.filter((r) => this.#seatOf(r) === seat).map((r) => r.id);
          if (using.length === 0 || remaining === null) {
            unmapped.push(seat);
            continue;
          }
          const taken = users.filter((u) => u.roleIds.some((r) => using.includes(r))).length;
          licences.push({ name: seat, type: 'seat', seats: taken + remaining });
        }
        if (unmapped.length > 0)
          warnings.push(`Seats not counted (${unmapped.join(', ')}): HubSpot does not say which permission sets use them — name them in settings.roleSeats.`);
      } catch (error) {
        warnings.push(`Paid seats are unknown: ${refusalOf(error).message}`);
      }
    }

    counts.phase = 'assignments';
    progress({ ...counts });
    const known = new Set(bundles.map((b) => b.externalId));
    const assignments: CrmAssignment[] = [];
    for (const u of users)
      for (const h of holdingsOf(u))
        if (known.has(h.bundleExternalId))
          assignments.push({ externalId: h.externalId, userExternalId: u.id, bundleExternalId: h.bundleExternalId, grantedAt: null, expiresAt: null });
    counts.assignments = assignments.length;
    progress({ ...counts });

    const crmUsers: CrmUser[] = users.map((u) => ({
      externalId: u.id,
      username: u.email ?? u.id,
      email: u.email,
      // HubSpot deletes users it removes; every listed user is active.
      active: true,
      ...(loginsKnown || lastLogins[u.id] ? { lastLoginAt: lastLogins[u.id] ?? null } : {}),
      createdAt: null,
    }));
    return {
      users: { complete: true, items: crmUsers },
      bundles: { complete: true, items: bundles },
      assignments: { complete: true, items: assignments },
      cursor: { lastLogins },
      tenant: hubspotTenantOf(details.portalId),
      warnings,
      ...(licences ? { licences } : {}),
    };
  }

  async holdings(userExternalId: string): Promise<CrmHolding[]> {
    return holdingsOf(await this.#user(userExternalId));
  }

  async grant(op: { userExternalId: string; bundles: { externalId: string; kind: BundleKind }[]; expiresAt: string | null }): Promise<GrantOutcome[]> {
    const refuse = (message: string, code?: string) =>
      op.bundles.map((b): GrantOutcome => ({ bundleExternalId: b.externalId, ok: false, error: new CrmError('refused', message, code ? { code } : {}) }));
    if (op.bundles.length !== 1)
      return refuse(
        `A HubSpot user has one permission set: no single set grants everything asked (${op.bundles.length} would be needed). An administrator decides.`,
      );
    const b = op.bundles[0]!;
    if (b.kind !== 'role' || b.externalId === HUBSPOT_SUPER_ADMIN)
      return refuse(`AccessLens changes HubSpot permission sets only (not ${b.externalId === HUBSPOT_SUPER_ADMIN ? 'Super Admin' : `a ${b.kind}`}).`);
    const user = await this.#user(op.userExternalId);
    if (user.roleIds.includes(b.externalId)) return [{ bundleExternalId: b.externalId, ok: true, externalId: roleAssignmentId(user.id, b.externalId) }];
    const roles = await this.#roles();
    const to = roles.find((r) => r.id === b.externalId);
    if (!to) return refuse(`HubSpot has no permission set ${b.externalId} any more.`);
    const seat = await this.#seatProblem(
      to,
      roles.find((r) => r.id === user.roleIds[0]),
    );
    if (seat) return [{ bundleExternalId: b.externalId, ok: false, error: seat }];
    try {
      await this.#setRole(user.id, to.id, `Give ${user.email ?? user.id} the permission set "${to.name}"`);
    } catch (error) {
      return [{ bundleExternalId: b.externalId, ok: false, error: refusalOf(error) }];
    }
    return [{ bundleExternalId: b.externalId, ok: true, externalId: roleAssignmentId(user.id, to.id) }];
  }

  async revoke(op: RevokeOperation): Promise<RevokeOutcome[]> {
    const out: RevokeOutcome[] = [];
    const user = await this.#user(op.userExternalId);
    const granted = new Set(op.assignments.map((a) => a.bundleExternalId));
    // What to put back: the permission set the user had before the grant.
    // (Super Admin is a flag beside the permission set, never what a grant replaced.)
    const previous = (op.restore ?? []).find(
      (h) => h.kind === 'role' && h.bundleExternalId !== HUBSPOT_SUPER_ADMIN && !granted.has(h.bundleExternalId),
    )?.bundleExternalId;
    for (const a of op.assignments) {
      if (!user.roleIds.includes(a.bundleExternalId)) {
        out.push({ externalId: a.externalId, ok: true }); // already changed in HubSpot
        continue;
      }
      if (!previous) {
        out.push({
          externalId: a.externalId,
          ok: false,
          error: new CrmError(
            'refused',
            `AccessLens does not know the permission set ${user.email ?? user.id} had before this grant: an administrator chooses it in HubSpot.`,
          ),
        });
        continue;
      }
      try {
        const roles = await this.#roles();
        const to = roles.find((r) => r.id === previous);
        if (!to)
          throw new CrmError(
            'refused',
            `The permission set ${user.email ?? user.id} had before (${previous}) is gone from HubSpot: an administrator chooses another.`,
          );
        const seat = await this.#seatProblem(
          to,
          roles.find((r) => r.id === a.bundleExternalId),
        );
        if (seat) throw seat;
        await this.#setRole(user.id, to.id, `Give ${user.email ?? user.id} back the permission set "${to.name}"`);
        out.push({ externalId: a.externalId, ok: true });
      } catch (error) {
        out.push({ externalId: a.externalId, ok: false, error: refusalOf(error) });
      }
    }
    return out;
  }
}

export const hubspot: ConnectorDefinition<HubspotSettings, HubspotCredentials> = {
  kind: 'hubspot',
  settingsSchema: hubspotSettings,
  credentialsSchema: hubspotCredentials,
  replacesWholeProfile: false,
  canProvision: true,
  supportsExpiration: false,
  assignableKinds: ['role'],
  // A HubSpot user has one permission set: granting one replaces the one held.
  exclusiveKinds: ['role'],
  isRateLimitBody: (status, body) => status === 429 || (!!body && typeof body === 'object' && (body as Row).errorType === 'RATE_LIMIT'),
  authenticate,
  open: (ctx) => new HubspotClient(ctx),
};
