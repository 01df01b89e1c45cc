/**
 * A fake HubSpot account on loopback (real HTTP), implementing the documented shapes the HubSpot connector
 * (server/src/connectors/hubspot.ts) uses — nothing more. Each shape cites its HubSpot developer doc:
 *
 * - User provisioning (Settings API v3, "User provisioning" guide and endpoint reference):
 *   GET /settings/v3/users?limit=&after= → `{results: [PublicUser], paging: {next: {after, link}}}` with
 *   `limit` at most 100 and `after` an opaque cursor; PublicUser `{id, email, roleId, roleIds, primaryTeamId,
 *   secondaryTeamIds, superAdmin, firstName, lastName}`; GET /settings/v3/users/{userId}; PUT
 *   /settings/v3/users/{userId} with PublicUserUpdate `{firstName, lastName, roleId, primaryTeamId,
 *   secondaryTeamIds}` → the user; GET /settings/v3/users/roles → `{results: [{id, name,
 *   requiresBillingWrite}]}`; GET /settings/v3/users/teams → `{results: [{id, name, userIds,
 *   secondaryUserIds}]}`. Scopes settings.users.read / .write / settings.users.teams.read; "permission sets
 *   that have paid seats attached to them can only be modified by applications that have the billing-write
 *   scope" (403 MISSING_SCOPES otherwise).
 * - Seats ("User provisioning (BETA)", "Retrieves the seats on this account"): GET
 *   /settings/users/2026-09-beta/seats → `{results: [{name, description, remainingSeats}]}`. Unconfirmed
 *   (not documented): how HubSpot refuses a permission set change when no seat is left — modelled as 400
 *   `{status: "error", category: "VALIDATION_ERROR", message: "No seats available …"}`.
 * - Account activity API: GET /account-info/v3/activity/login?limit=&after= (limit at most 200) →
 *   `{results: [{id, loginAt, userId, email, loginSucceeded, ipAddress, countryCode}], paging}`; scope
 *   account-info.security.read.
 * - Account information API: GET /account-info/v3/details → `{portalId, accountType, timeZone,
 *   companyCurrency, additionalCurrencies, utcOffset, utcOffsetMilliseconds, uiDomain, dataHostingLocation}`.
 * - OAuth: POST /oauth/v1/token (form, grant_type=refresh_token) → `{token_type: "bearer", refresh_token,
 *   access_token, expires_in, hub_id, scopes}`; a bad refresh token 400 `{status: "BAD_REFRESH_TOKEN",
 *   message: "missing or unknown refresh token"}`. GET /oauth/v1/access-tokens/{token} → `{token, user,
 *   hub_domain, scopes, hub_id, app_id, expires_in, user_id, token_type}`. Private apps: POST
 *   /oauth/v2/private-apps/get/access-token-info `{tokenKey}` → `{userId, hubId, appId, scopes}`.
 * - Errors ("API usage guidelines and limits", error handling): `{status: "error", message, correlationId,
 *   category}`; 401 `INVALID_AUTHENTICATION` (unknown token) / `EXPIRED_AUTHENTICATION`; 403 MISSING_SCOPES;
 *   404 OBJECT_NOT_FOUND; 429 `{status: "error", message, errorType: "RATE_LIMIT", policyName}` (injected
 *   with `fail`, with `Retry-After`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, send, startFakeServer, type Fault } from './fake-http.ts';

export interface HsUserRow {
  id: string;
  email: string;
  roleId: string | null;
  primaryTeamId: string | null;
  secondaryTeamIds: string[];
  superAdmin: boolean;
  firstName?: string;
  lastName?: string;
}

export interface HsAccount {
  portalId: number;
  users: HsUserRow[];
  roles: { id: string; name: string; requiresBillingWrite: boolean }[];
  teams: { id: string; name: string }[];
  seats: { name: string; description: string; remainingSeats: number }[];
  /** Which seat a permission set takes (HubSpot knows; its API does not say). */
  roleSeats: Record<string, string>;
  logins: { id: string; loginAt: string; userId: number; email: string; loginSucceeded: boolean }[];
}

export const ALL_SCOPES = ['settings.users.read', 'settings.users.write', 'settings.users.teams.read', 'account-info.security.read', 'billing-write'];

export interface FakeHubspotOptions {
  account: HsAccount;
  /** Private apps' access tokens and their scopes. */
  privateApps?: { token: string; scopes?: string[] }[];
  /** OAuth apps, the refresh tokens they may exchange, and their scopes. */
  oauthApps?: { clientId: string; clientSecret: string; refreshTokens: string[]; scopes?: string[] }[];
  /** OAuth access token lifetime (HubSpot: 30 minutes). */
  tokenTtlMs?: number;
  now?: () => Date;
}

export interface FakeHubspot {
  url: string;
  account: HsAccount;
  log: { method: string; path: string }[];
  /** Every permission set change asked for (accepted or not). */
  updateAttempts: { userId: string; roleId: string; ok: boolean; category: string | null }[];
  fail(fault: Fault): void;
  /** OAuth access tokens stop working (the next call is 401 EXPIRED_AUTHENTICATION); a private app token is revoked with `revokePrivateApp`. */
  expireTokens(): void;
  revokePrivateApp(token: string): void;
  /** Refresh tokens are refused (an uninstalled app). */
  refuseGrants(refuse: boolean): void;
  /** Awaited after a permission set change is applied and before the answer is sent (e.g. to fail what follows). */
  afterUpdate: ((user: HsUserRow) => Promise<void>) | null;
  userById(id: string): HsUserRow | undefined;
  close(): Promise<void>;
}

const cursor = (n: number) => Buffer.from(`o:${n}`).toString('base64url');
const offsetOf = (after: string | null) => {
  if (!after) return 0;
  const m = /^o:(\d+)$/.exec(Buffer.from(after, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : -1;
};

class HsError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeHubspot(options: FakeHubspotOptions): Promise<FakeHubspot> {
  const now = options.now ?? (() => new Date());
  const account = options.account;
  const ttl = options.tokenTtlMs ?? 30 * 60_000;
  const privateApps = new Map((options.privateApps ?? []).map((p) => [p.token, p.scopes ?? ALL_SCOPES] as const));
  const oauth = new Map<string, { issued: number; scopes: string[]; appId: number }>();
  const refreshTokens = new Map<string, { clientId: string; scopes: string[] }>();
  for (const a of options.oauthApps ?? []) for (const t of a.refreshTokens) refreshTokens.set(t, { clientId: a.clientId, scopes: a.scopes ?? ALL_SCOPES });
  let refuseGrants = false;
  const updateAttempts: FakeHubspot['updateAttempts'] = [];
  let base = '';

  const publicUser = (u: HsUserRow) => ({
    id: u.id,
    email: u.email,
    ...(u.roleId ? { roleId: u.roleId } : {}),
    roleIds: u.roleId ? [u.roleId] : [],
    ...(u.primaryTeamId ? { primaryTeamId: u.primaryTeamId } : {}),
    secondaryTeamIds: u.secondaryTeamIds,
    superAdmin: u.superAdmin,
    ...(u.firstName ? { firstName: u.firstName } : {}),
    ...(u.lastName ? { lastName: u.lastName } : {}),
  });

  const page = <T>(list: T[], query: URLSearchParams, max: number, path: string) => {
    const limit = Math.min(max, Number(query.get('limit') ?? max) || max);
    const from = offsetOf(query.get('after'));
    if (from < 0) throw new HsError(400, 'VALIDATION_ERROR', 'Invalid paging cursor.');
    const results = list.slice(from, from + limit);
    const more = from + limit < list.length;
    const next = new URLSearchParams(query);
    next.set('after', cursor(from + limit));
    return { results, ...(more ? { paging: { next: { after: cursor(from + limit), link: `${base}${path}?${next.toString()}` } } } : {}) };
  };

  /** The caller's scopes, or a 401. */
  const scopesOf = (req: IncomingMessage): string[] => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const token = m?.[1];
    if (!token) throw new HsError(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication.');
    const pa = privateApps.get(token);
    if (pa) return pa;
    const o = oauth.get(token);
    if (!o) throw new HsError(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found.');
    if (now().getTime() - o.issued >= ttl) throw new HsError(401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired.');
    return o.scopes;
  };
  const need = (scopes: string[], ...required: string[]) => {
    const missing = required.filter((s) => !scopes.includes(s));
    if (missing.length > 0)
      throw new HsError(403, 'MISSING_SCOPES', `This app hasn't been granted all required scopes to make this call. Missing: ${missing.join(', ')}.`);
  };

  const tokenEndpoint = async (req: IncomingMessage, res: ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    const grant = refreshTokens.get(form.get('refresh_token') ?? '');
    const app = (options.oauthApps ?? []).find((a) => a.clientId === form.get('client_id'));
    if (
      form.get('grant_type') !== 'refresh_token' ||
      refuseGrants ||
      !grant ||
      !app ||
      app.clientSecret !== form.get('client_secret') ||
      grant.clientId !== app.clientId
    )
      return send(res, 400, { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token', correlationId: randomUUID() });
    const accessToken = `CK${randomBytes(24).toString('base64url')}`;
    oauth.set(accessToken, { issued: now().getTime(), scopes: grant.scopes, appId: 77001 });
    return send(res, 200, {
      token_type: 'bearer',
      refresh_token: form.get('refresh_token'),
      access_token: accessToken,
      expires_in: Math.round(ttl / 1000),
      hub_id: account.portalId,
      scopes: grant.scopes,
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => {
    const method = req.method ?? 'GET';
    if (path === '/oauth/v1/token' && method === 'POST') return tokenEndpoint(req, res);
    const accessTokenInfo = /^\/oauth\/v1\/access-tokens\/(.+)$/.exec(path);
    if (accessTokenInfo && method === 'GET') {
      const o = oauth.get(decodeURIComponent(accessTokenInfo[1]!));
      if (!o) throw new HsError(404, 'OBJECT_NOT_FOUND', 'Token not found.');
      return send(res, 200, {
        token: accessTokenInfo[1],
        user: 'integrations@acme.test',
        hub_domain: 'acme.hubspot.com',
        scopes: o.scopes,
        hub_id: account.portalId,
        app_id: o.appId,
        expires_in: Math.max(0, Math.round((o.issued + ttl - now().getTime()) / 1000)),
        user_id: 60001,
        token_type: 'access',
      });
    }
    const scopes = scopesOf(req);
    if (path === '/oauth/v2/private-apps/get/access-token-info' && method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}') as { tokenKey?: string };
      const s = privateApps.get(body.tokenKey ?? '');
      if (!s) throw new HsError(404, 'OBJECT_NOT_FOUND', 'Unknown private app token.');
      return send(res, 200, { userId: 60001, hubId: account.portalId, appId: 3300001, scopes: s });
    }
    if (path === '/account-info/v3/details' && method === 'GET')
      return send(res, 200, {
        portalId: account.portalId,
        accountType: 'STANDARD',
        timeZone: 'Europe/Dublin',
        companyCurrency: 'EUR',
        additionalCurrencies: [],
        utcOffset: '+00:00',
        utcOffsetMilliseconds: 0,
        uiDomain: 'app-eu1.hubspot.com',
        dataHostingLocation: 'eu1',
      });
    if (path === '/account-info/v3/activity/login' && method === 'GET') {
      need(scopes, 'account-info.security.read');
      const newest = [...account.logins].sort((a, b) => b.loginAt.localeCompare(a.loginAt));
      return send(res, 200, page(newest, query, 200, path));
    }
    if (path === '/settings/v3/users' || path === '/settings/v3/users/') {
      need(scopes, 'settings.users.read');
      return send(res, 200, page(account.users.map(publicUser), query, 100, path));
    }
    if (path === '/settings/v3/users/roles') {
      need(scopes, 'settings.users.read');
      return send(res, 200, { results: account.roles });
    }
    if (path === '/settings/v3/users/teams') {
      need(scopes, 'settings.users.teams.read');
      return send(res, 200, {
        results: account.teams.map((t) => ({
          id: t.id,
          name: t.name,
          userIds: account.users.filter((u) => u.primaryTeamId === t.id).map((u) => u.id),
          secondaryUserIds: account.users.filter((u) => u.secondaryTeamIds.includes(t.id)).map((u) => u.id),
        })),
      });
    }
    if (path === '/settings/users/2026-09-beta/seats' && method === 'GET') {
      need(scopes, 'settings.users.read');
      return send(res, 200, { results: account.seats });
    }
    const one = /^\/settings\/v3\/users\/(\d+)$/.exec(path);
    if (one) {
      const user = account.users.find((u) => u.id === one[1]);
      if (!user) throw new HsError(404, 'OBJECT_NOT_FOUND', `User ${one[1]} not found.`);
      if (method === 'GET') {
        need(scopes, 'settings.users.read');
        return send(res, 200, publicUser(user));
      }
      if (method === 'PUT') {
        need(scopes, 'settings.users.write');
        const body = JSON.parse((await readBody(req)) || '{}') as { roleId?: string };
        const roleId = body.roleId === undefined ? null : String(body.roleId);
        if (roleId === null) return send(res, 200, publicUser(user));
        const record = (ok: boolean, category: string | null) => updateAttempts.push({ userId: user.id, roleId, ok, category });
        const to = account.roles.find((r) => r.id === roleId);
        if (!to) {
          record(false, 'VALIDATION_ERROR');
          throw new HsError(400, 'VALIDATION_ERROR', `Role ${roleId} does not exist.`);
        }
        const from = account.roles.find((r) => r.id === user.roleId);
        if ((to.requiresBillingWrite || from?.requiresBillingWrite) && !scopes.includes('billing-write')) {
          record(false, 'MISSING_SCOPES');
          throw new HsError(403, 'MISSING_SCOPES', 'Changing to or from a permission set with paid seats needs the billing-write scope.');
        }
        const seatTo = account.roleSeats[to.id];
        const seatFrom = user.roleId ? account.roleSeats[user.roleId] : undefined;
        if (seatTo && seatTo !== seatFrom) {
          const seat = account.seats.find((s) => s.name === seatTo)!;
          if (seat.remainingSeats < 1) {
            record(false, 'VALIDATION_ERROR');
            throw new HsError(400, 'VALIDATION_ERROR', `No seats available for ${seat.name}.`);
          }
          seat.remainingSeats--;
        }
        if (seatFrom && seatFrom !== seatTo) account.seats.find((s) => s.name === seatFrom)!.remainingSeats++;
        user.roleId = roleId;
        record(true, null);
        if (fake.afterUpdate) await fake.afterUpdate(user);
        return send(res, 200, publicUser(user));
      }
    }
    throw new HsError(404, 'OBJECT_NOT_FOUND', `No route for ${method} ${path}.`);
  };

  const server = await startFakeServer(
    async (req, res, b) => {
      base = b;
      const url = new URL(req.url ?? '/', b);
      await handle(req, res, url.pathname, url.searchParams);
    },
    (res, error) => {
      const correlationId = randomUUID();
      if (error instanceof HsError) send(res, error.status, { status: 'error', message: error.message, correlationId, category: error.category });
      else send(res, 500, { status: 'error', message: error instanceof Error ? error.message : String(error), correlationId, category: 'INTERNAL_ERROR' });
    },
  );
  base = server.url;

  const fake: FakeHubspot = {
    url: server.url,
    account,
    log: server.log,
    updateAttempts,
    fail: server.fail,
    expireTokens: () => oauth.clear(),
    revokePrivateApp: (token) => void privateApps.delete(token),
    refuseGrants: (refuse) => void (refuseGrants = refuse),
    userById: (id) => account.users.find((u) => u.id === id),
    afterUpdate: null,
    close: server.close,
  };
  return fake;
}

/** Builds an account: permission sets (with the seat they take), teams, users, logins. */
export class HsAccountBuilder {
  readonly account: HsAccount;
  #next = 70000;

  constructor(portalId: number) {
    this.account = { portalId, users: [], roles: [], teams: [], seats: [], roleSeats: {}, logins: [] };
  }

  seat(name: string, remainingSeats: number, description = name): string {
    this.account.seats.push({ name, description, remainingSeats });
    return name;
  }

  /** A permission set; with `seat`, paid seats are attached (requiresBillingWrite). */
  role(name: string, options: { id?: string; seat?: string } = {}): string {
    const id = options.id ?? String(this.#next++);
    this.account.roles.push({ id, name, requiresBillingWrite: options.seat !== undefined });
    if (options.seat) this.account.roleSeats[id] = options.seat;
    return id;
  }

  team(name: string, id = String(this.#next++)): string {
    this.account.teams.push({ id, name });
    return id;
  }

  user(u: { id?: string; email: string; roleId?: string | null; superAdmin?: boolean; primaryTeamId?: string | null; secondaryTeamIds?: string[] }): string {
    const id = u.id ?? String(this.#next++);
    this.account.users.push({
      id,
      email: u.email,
      roleId: u.roleId ?? null,
      primaryTeamId: u.primaryTeamId ?? null,
      secondaryTeamIds: u.secondaryTeamIds ?? [],
      superAdmin: u.superAdmin ?? false,
    });
    return id;
  }

  login(userId: string, at: string, succeeded = true): void {
    const u = this.account.users.find((x) => x.id === userId)!;
    this.account.logins.push({
      id: String(this.#next++),
      loginAt: new Date(at).toISOString(),
      userId: Number(userId),
      email: u.email,
      loginSucceeded: succeeded,
    });
  }
}
