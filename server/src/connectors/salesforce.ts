import { isSalesforceId, salesforce as salesforceAdapter } from '@accesslens/shared/crm';
/**
 * The Salesforce connector: REST API over `fetch` (see README "Salesforce connector" for why not
 * jsforce). Reads users, profiles, permission sets, permission-set groups and their assignments,
 * mapping object, field and system permissions onto our keys; grants and revokes by inserting and
 * deleting PermissionSetAssignment records (with ExpirationDate where the org allows it).
 *
 * Salesforce documents every shape used here; the fake in test/fakes/salesforce.ts cites the same:
 * - REST API Developer Guide, "Query" (resources_query.htm) and "Execute a SOQL Query" (dome_query.htm):
 *   `{totalSize, done, records, nextRecordsUrl}`, paged by following `nextRecordsUrl`; batch size via the
 *   `Sforce-Query-Options: batchSize=` header (200–2,000).
 * - REST API Developer Guide, "sObject Describe" (resources_sobject_describe.htm): `fields[]` with
 *   `name`, `type`; `createable`, `deletable`.
 * - REST API Developer Guide, "Update a Record" (dome_update_fields.htm): PATCH /sobjects/User/{id} with
 *   `{"IsActive": false}` → 204 No Content; how departures deactivate a user (users are never deleted;
 *   the integration user needs "Manage Internal Users").
 * - REST API Developer Guide, "sObject Collections" (resources_composite_sobjects_collections_create.htm,
 *   …_delete.htm): `{allOrNone, records}` → `[{id, success, errors: [{statusCode, message, fields}]}]`.
 * - REST API Developer Guide, "Status Codes and Error Responses" (errorcodes.htm): errors are
 *   `[{message, errorCode, fields}]`; 401 INVALID_SESSION_ID; 403 REQUEST_LIMIT_EXCEEDED.
 * - Object Reference: User (LastLoginDate, IsActive, UserType), PermissionSet (IsOwnedByProfile,
 *   ProfileId, Type, PermissionSetGroupId, Permissions* booleans), PermissionSetGroup,
 *   PermissionSetGroupComponent, PermissionSetAssignment (AssigneeId, PermissionSetId,
 *   PermissionSetGroupId, ExpirationDate, IsActive), ObjectPermissions, FieldPermissions.
 * - Salesforce Help, "OAuth 2.0 Client Credentials Flow", "OAuth 2.0 Refresh Token Flow", "OAuth 2.0
 *   JWT Bearer Flow": POST /services/oauth2/token → `{access_token, instance_url, id, issued_at, …}`,
 *   errors `{error, error_description}`; "UserInfo Endpoint": /services/oauth2/userinfo.
 */
import { createSign } from 'node:crypto';
import { isApiName, type BundleKind } from '@accesslens/shared';
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
  type GrantOutcome,
  type ReadProgress,
  type RevokeOutcome,
  type StoredToken,
} from './types.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });

const crmUrl = text()
  .trim()
  .url('must be a URL such as https://acme.my.salesforce.com')
  // zod runs this check even when .url() failed: an unparseable value is left to that message (not a 500).
  .refine((u) => {
    if (!URL.canParse(u)) return true;
    const url = new URL(u);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
  }, 'must be https:// (http:// only for a test server on this machine)')
  .transform((u) => u.replace(/\/+$/, ''));

export const salesforceSettings = z
  .object({
    /** The org's My Domain URL: the token endpoint and the API live here. */
    instanceUrl: crmUrl,
    apiVersion: z
      .string()
      .regex(/^\d{2,3}\.0$/, 'must look like 62.0')
      .default('62.0'),
    /** The JWT bearer flow's audience (https://login.salesforce.com, or https://test.salesforce.com for a sandbox). */
    loginUrl: crmUrl.default('https://login.salesforce.com'),
    /** The org's session timeout: tokens are refreshed before it ends (Salesforce does not say in the token). */
    sessionTimeoutMinutes: z.number().int().min(15).max(1440).default(120),
    /** Send ExpirationDate with grants (needs "permission set assignments with expiration dates" enabled in the org). */
    useExpirationDate: z.boolean().default(true),
    /** Records per query page (Sforce-Query-Options batchSize). */
    pageSize: z.number().int().min(200).max(2000).default(2000),
  })
  .loose();
export type SalesforceSettings = z.infer<typeof salesforceSettings>;

const required = text().trim().min(1, 'is required');
export const salesforceCredentials = z.discriminatedUnion('flow', [
  /** A connected app with the client credentials flow and a "run as" integration user. */
  z.object({ flow: z.literal('client_credentials'), clientId: required, clientSecret: required }),
  /** A refresh token issued to an integration user through the web server flow. */
  z.object({ flow: z.literal('refresh_token'), clientId: required, clientSecret: required.optional(), refreshToken: required }),
  /** A connected app with a certificate: the integration user's username and the PEM private key. */
  z.object({
    flow: z.literal('jwt_bearer'),
    clientId: required,
    username: required,
    privateKey: text().includes('PRIVATE KEY', { message: 'must be a PEM private key' }),
  }),
]);
export type SalesforceCredentials = z.infer<typeof salesforceCredentials>;

type Ctx = ConnectorContext<SalesforceSettings, SalesforceCredentials>;
type SfRecord = Record<string, unknown>;

/** ObjectPermissions columns → our object actions. */
const OBJECT_COLUMNS: [string, string][] = [
  ['PermissionsRead', 'read'],
  ['PermissionsCreate', 'create'],
  ['PermissionsEdit', 'edit'],
  ['PermissionsDelete', 'delete'],
  ['PermissionsViewAllRecords', 'viewAll'],
  ['PermissionsModifyAllRecords', 'modifyAll'],
];

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Salesforce error bodies: `[{message, errorCode, fields}]` (sometimes one object). */
function sfErrors(body: unknown): { errorCode: string; message: string }[] {
  const list = Array.isArray(body) ? body : body && typeof body === 'object' ? [body] : [];
  return list
    .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object')
    .map((e) => ({ errorCode: String(e.errorCode ?? e.statusCode ?? e.error ?? 'UNKNOWN'), message: String(e.message ?? e.error_description ?? '') }));
}

function refusal(status: number, body: unknown, what: string): CrmError {
  const [first] = sfErrors(body);
  const detail = first ? `${first.errorCode}: ${first.message}` : describe(body);
  return new CrmError(status === 404 || status === 400 || status === 403 ? 'refused' : 'protocol', `${what}: Salesforce answered ${status} (${detail}).`, {
    status,
    ...(first ? { code: first.errorCode } : {}),
  });
}

const isRateLimitBody = (status: number, body: unknown) => status === 403 && sfErrors(body).some((e) => e.errorCode === 'REQUEST_LIMIT_EXCEEDED');

/** The org and user ids in the token's identity URL (https://login.salesforce.com/id/{orgId}/{userId}). */
export function identityOf(idUrl: string | undefined): { orgId: string; userId: string } | null {
  const m = idUrl ? /\/id\/([A-Za-z0-9]{15,18})\/([A-Za-z0-9]{15,18})\/?$/.exec(idUrl) : null;
  return m ? { orgId: m[1]!, userId: m[2]! } : null;
}

function jwtAssertion(credentials: Extract<SalesforceCredentials, { flow: 'jwt_bearer' }>, audience: string, now: Date): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${b64({ alg: 'RS256' })}.${b64({
    iss: credentials.clientId,
    sub: credentials.username,
    aud: audience,
    exp: Math.floor(now.getTime() / 1000) + 180,
  })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(credentials.privateKey).toString('base64url');
  return `${unsigned}.${signature}`;
}

async function authenticate(ctx: Omit<Ctx, 'tokens'>, previous: StoredToken | null): Promise<StoredToken> {
  const { settings } = ctx.connection;
  const c = ctx.credentials;
  const form = new URLSearchParams();
  if (c.flow === 'client_credentials') {
    form.set('grant_type', 'client_credentials');
    form.set('client_id', c.clientId);
    form.set('client_secret', c.clientSecret);
  } else if (c.flow === 'refresh_token') {
    form.set('grant_type', 'refresh_token');
    form.set('client_id', c.clientId);
    if (c.clientSecret) form.set('client_secret', c.clientSecret);
    form.set('refresh_token', previous?.extra?.refreshToken ?? c.refreshToken);
  } else {
    form.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    form.set('assertion', jwtAssertion(c, settings.loginUrl, ctx.now()));
  }
  const res = await ctx.http.request(`${settings.instanceUrl}/services/oauth2/token`, {
    method: 'POST',
    anonymous: true,
    body: form,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const body = (res.body ?? {}) as Record<string, unknown>;
  if (res.status === 400 || res.status === 401) {
    // invalid_grant, invalid_client, unauthorized_client, …: the credentials themselves are refused.
    throw new CrmError('auth', `Salesforce refused the credentials (${String(body.error ?? res.status)}: ${String(body.error_description ?? '')}).`, {
      status: res.status,
      code: String(body.error ?? ''),
    });
  }
  if (res.status !== 200 || typeof body.access_token !== 'string')
    throw new CrmError('protocol', `The Salesforce token endpoint answered ${res.status} (${describe(res.body)}).`, { status: res.status });
  const issued = Number(body.issued_at);
  const issuedAt = Number.isFinite(issued) && issued > 0 ? issued : ctx.now().getTime();
  const extra: Record<string, string> = {};
  if (typeof body.id === 'string') extra.identity = body.id;
  const rotated = typeof body.refresh_token === 'string' ? body.refresh_token : previous?.extra?.refreshToken;
  if (rotated) extra.refreshToken = rotated;
  return {
    accessToken: body.access_token,
    instanceUrl: typeof body.instance_url === 'string' ? body.instance_url.replace(/\/+$/, '') : settings.instanceUrl,
    expiresAt: new Date(issuedAt + settings.sessionTimeoutMinutes * 60_000).toISOString(),
    extra,
  };
}

class SalesforceClient implements CrmClient {
  #token: StoredToken | null | undefined;

  constructor(private readonly ctx: Ctx) {}

  get #settings() {
    return this.ctx.connection.settings;
  }

  async #instance(): Promise<string> {
    // The framework's token source refreshes it; the instance URL rarely changes, read it once.
    if (this.#token === undefined) this.#token = await this.ctx.tokens.get();
    return this.#token?.instanceUrl ?? this.#settings.instanceUrl;
  }

  async #api(path: string): Promise<string> {
    return `${await this.#instance()}/services/data/v${this.#settings.apiVersion}${path}`;
  }

  /** Runs a SOQL query, handing each page of records to `onPage` (so 500,000 rows never sit in one response). */
  async query(soql: string, onPage: (records: SfRecord[]) => void): Promise<number> {
    let url = await this.#api(`/query?q=${encodeURIComponent(soql)}`);
    const instance = await this.#instance();
    let total = 0;
    for (;;) {
      const res = await this.ctx.http.request(url, { headers: { 'Sforce-Query-Options': `batchSize=${this.#settings.pageSize}` } });
      if (res.status !== 200) throw refusal(res.status, res.body, `Query "${soql.slice(0, 80)}"`);
      const page = res.body as { done?: boolean; nextRecordsUrl?: string; records?: SfRecord[] };
      if (!Array.isArray(page.records)) throw new CrmError('protocol', `A Salesforce query answered without records (${describe(res.body)}).`);
      total += page.records.length;
      onPage(page.records);
      if (page.done !== false) return total;
      if (typeof page.nextRecordsUrl !== 'string') throw new CrmError('protocol', 'A Salesforce query said it was not done but gave no nextRecordsUrl.');
      url = `${instance}${page.nextRecordsUrl}`;
    }
  }

  async queryAll(soql: string): Promise<SfRecord[]> {
    const out: SfRecord[] = [];
    await this.query(soql, (records) => {
      for (const r of records) out.push(r);
    });
    return out;
  }

  async describe(object: string): Promise<{ fields: { name: string; type: string }[]; createable: boolean; deletable: boolean }> {
    const res = await this.ctx.http.request(await this.#api(`/sobjects/${object}/describe`));
    if (res.status !== 200) throw refusal(res.status, res.body, `Describe ${object}`);
    const body = res.body as { fields?: { name: string; type: string }[]; createable?: boolean; deletable?: boolean };
    return { fields: body.fields ?? [], createable: body.createable === true, deletable: body.deletable === true };
  }

  async test() {
    const checks: { id: string; ok: boolean; message: string }[] = [];
    let identity: { userId: string; username: string | null; tenant: string | null } | null = null;
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
    try {
      await attempt('sign-in', 'Signed in to Salesforce.', async () => {
        const res = await this.ctx.http.request(`${await this.#instance()}/services/oauth2/userinfo`);
        if (res.status !== 200) throw refusal(res.status, res.body, 'UserInfo');
        const u = res.body as Record<string, unknown>;
        identity = { userId: String(u.user_id ?? ''), username: str(u.preferred_username), tenant: str(u.organization_id) };
      });
    } catch (error) {
      checks.push({ id: 'sign-in', ok: false, message: error instanceof Error ? error.message : String(error) });
      return { identity: null, canRead: false, canProvision: false, checks };
    }
    const readUsers = await attempt('read-users', 'Can read users (User, with LastLoginDate).', async () => {
      await this.queryAll('SELECT Id, LastLoginDate FROM User LIMIT 1');
    });
    const readBundles = await attempt('read-permissions', 'Can read profiles, permission sets and their object and field permissions.', async () => {
      await this.queryAll('SELECT Id FROM PermissionSet LIMIT 1');
      await this.queryAll('SELECT Id FROM ObjectPermissions LIMIT 1');
      await this.queryAll('SELECT Id FROM FieldPermissions LIMIT 1');
      await this.queryAll('SELECT Id FROM PermissionSetGroup LIMIT 1');
    });
    const readAssignments = await attempt('read-assignments', 'Can read permission set assignments.', async () => {
      await this.queryAll('SELECT Id, ExpirationDate FROM PermissionSetAssignment LIMIT 1');
    });
    let canProvision = false;
    await attempt('assign-permission-sets', 'Can assign and remove permission sets.', async () => {
      const d = await this.describe('PermissionSetAssignment');
      const [perms] = await this.queryAll('SELECT PermissionsAssignPermissionSets, PermissionsManageUsers FROM UserPermissionAccess');
      canProvision = d.createable && d.deletable && (perms?.PermissionsAssignPermissionSets === true || perms?.PermissionsManageUsers === true);
      if (!canProvision) throw new Error('The integration user cannot create and delete PermissionSetAssignment records (needs "Assign Permission Sets").');
    });
    return { identity, canRead: readUsers && readBundles && readAssignments, canProvision, checks };
  }

  async read(cursor: unknown, progress: (p: ReadProgress) => void) {
    const prior = z
      .object({ usersSince: z.string().optional(), fullUsersAt: z.string().optional() })
      .catch({})
      .parse(cursor ?? {});
    const now = this.ctx.now();
    const counts: ReadProgress = { phase: 'users', users: 0, bundles: 0, assignments: 0 };
    const warnings: string[] = [];

    // Users: incremental by SystemModstamp or LastLoginDate (users are deactivated, never deleted);
    // a full read once a day catches anything the watermark missed.
    const full = !prior.usersSince || !prior.fullUsersAt || now.getTime() - Date.parse(prior.fullUsersAt) > 24 * 3600_000;
    const users: CrmUser[] = [];
    let watermark = prior.usersSince ?? null;
    const since = full ? null : prior.usersSince!;
    await this.query(
      `SELECT Id, Username, Email, IsActive, LastLoginDate, CreatedDate, SystemModstamp FROM User WHERE UserType = 'Standard'` +
        (since ? ` AND (SystemModstamp > ${soqlDateTime(since)} OR LastLoginDate > ${soqlDateTime(since)})` : ''),
      (records) => {
        for (const r of records) {
          const stamp =
            [toIso(str(r.SystemModstamp)), toIso(str(r.LastLoginDate))]
              .filter((x): x is string => x !== null)
              .sort()
              .at(-1) ?? null;
          if (stamp && (!watermark || stamp > watermark)) watermark = stamp;
          users.push({
            externalId: String(r.Id),
            username: String(r.Username ?? r.Id),
            email: str(r.Email),
            active: r.IsActive === true,
            lastLoginAt: toIso(str(r.LastLoginDate)),
            createdAt: toIso(str(r.CreatedDate)),
          });
        }
        counts.users = users.length;
        progress({ ...counts });
      },
    );

    // Bundles (always whole: a few hundred rows, and removals must be seen).
    counts.phase = 'bundles';
    progress({ ...counts });
    const { fields } = await this.describe('PermissionSet');
    const systemFields = fields.filter((f) => f.type === 'boolean' && /^Permissions[A-Za-z0-9_]+$/.test(f.name)).map((f) => f.name);
    const sets = await this.queryAll(
      `SELECT Id, Name, Label, Type, IsOwnedByProfile, ProfileId, Profile.Name, PermissionSetGroupId${systemFields.map((f) => `, ${f}`).join('')} FROM PermissionSet`,
    );
    const bundles = new Map<string, CrmBundle>();
    /** PermissionSet id → the bundle it stands for (a profile's own set → the profile; a group's aggregate set → the group). */
    const bundleOfSet = new Map<string, string>();
    const muting = new Set<string>();
    for (const s of sets) {
      const id = String(s.Id);
      const type = str(s.Type);
      if (type === 'Muting') {
        muting.add(id);
        continue;
      }
      if (type === 'Group' || (s.PermissionSetGroupId && type !== 'Regular')) {
        if (str(s.PermissionSetGroupId)) bundleOfSet.set(id, String(s.PermissionSetGroupId));
        continue;
      }
      const permissions = systemFields.filter((f) => s[f] === true).map((f) => `system:${f.slice('Permissions'.length)}`);
      const profile = s.IsOwnedByProfile === true && str(s.ProfileId);
      const externalId = profile ? String(s.ProfileId) : id;
      const name = profile ? (str((s.Profile as SfRecord | null)?.Name) ?? String(s.Label ?? s.Name)) : String(s.Label ?? s.Name ?? id);
      bundleOfSet.set(id, externalId);
      bundles.set(externalId, { externalId, kind: profile ? 'profile' : 'permissionSet', name, permissions, includes: [], assignable: !profile });
    }
    await this.query(
      'SELECT ParentId, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete, PermissionsViewAllRecords, PermissionsModifyAllRecords FROM ObjectPermissions',
      (records) => {
        for (const r of records) {
          const b = bundles.get(bundleOfSet.get(String(r.ParentId)) ?? '');
          const object = String(r.SobjectType ?? '');
          if (!b || !isApiName(object)) continue;
          for (const [column, action] of OBJECT_COLUMNS) if (r[column] === true) b.permissions.push(`object:${object}:${action}`);
        }
      },
    );
    await this.query('SELECT ParentId, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions', (records) => {
      for (const r of records) {
        const b = bundles.get(bundleOfSet.get(String(r.ParentId)) ?? '');
        const [object, field, extra] = String(r.Field ?? '').split('.');
        if (!b || !object || !field || extra !== undefined || !isApiName(object) || !isApiName(field)) continue;
        if (r.PermissionsRead === true) b.permissions.push(`field:${object}.${field}:read`);
        if (r.PermissionsEdit === true) b.permissions.push(`field:${object}.${field}:edit`);
      }
    });
    const groups = await this.queryAll('SELECT Id, DeveloperName, MasterLabel FROM PermissionSetGroup');
    for (const g of groups) {
      const id = String(g.Id);
      bundles.set(id, {
        externalId: id,
        kind: 'permissionSetGroup',
        name: String(g.MasterLabel ?? g.DeveloperName ?? id),
        permissions: [],
        includes: [],
        assignable: true,
      });
    }
    let mutingSeen = false;
    await this.query('SELECT PermissionSetGroupId, PermissionSetId FROM PermissionSetGroupComponent', (records) => {
      for (const r of records) {
        const group = bundles.get(String(r.PermissionSetGroupId));
        const set = String(r.PermissionSetId);
        if (muting.has(set)) {
          mutingSeen = true;
          continue;
        }
        const included = bundleOfSet.get(set);
        if (group && included && !group.includes.includes(included)) group.includes.push(included);
      }
    });
    if (mutingSeen)
      warnings.push(
        'Some permission set groups use muting permission sets; AccessLens counts a group as granting all of its permission sets (it may overstate access).',
      );
    for (const b of bundles.values()) b.permissions = [...new Set(b.permissions)];
    counts.bundles = bundles.size;
    progress({ ...counts });

    // Assignments: always whole — Salesforce gives no trace of a deleted PermissionSetAssignment to a query.
    counts.phase = 'assignments';
    progress({ ...counts });
    const assignments: CrmAssignment[] = [];
    let unknown = 0;
    await this.query(
      'SELECT Id, AssigneeId, PermissionSetId, PermissionSetGroupId, ExpirationDate, IsActive, SystemModstamp FROM PermissionSetAssignment',
      (records) => {
        for (const r of records) {
          if (r.IsActive === false) continue;
          const bundle = str(r.PermissionSetGroupId) ?? bundleOfSet.get(String(r.PermissionSetId));
          if (!bundle) {
            unknown++;
            continue;
          }
          assignments.push({
            externalId: String(r.Id),
            userExternalId: String(r.AssigneeId),
            bundleExternalId: bundle,
            grantedAt: toIso(str(r.SystemModstamp)),
            expiresAt: toIso(str(r.ExpirationDate)),
          });
        }
        counts.assignments = assignments.length;
        progress({ ...counts });
      },
    );
    if (unknown > 0) warnings.push(`${unknown} permission set assignments name a permission set AccessLens could not read; they were skipped.`);

    const token = await this.ctx.tokens.get();
    return {
      users: { complete: full, items: users },
      bundles: { complete: true, items: [...bundles.values()] },
      assignments: { complete: true, items: assignments },
      cursor: { usersSince: watermark ?? undefined, fullUsersAt: full ? now.toISOString() : prior.fullUsersAt },
      // The tenant as the org's pages name it (its My Domain), so the overlay finds this connection.
      tenant: myDomainOf(token?.instanceUrl ?? this.#settings.instanceUrl),
      warnings,
    };
  }

  async holdings(userExternalId: string): Promise<CrmHolding[]> {
    if (!isSalesforceId(userExternalId)) throw new CrmError('refused', `"${userExternalId}" is not a Salesforce user id.`);
    const rows = await this.queryAll(
      'SELECT Id, PermissionSetId, PermissionSetGroupId, ExpirationDate, IsActive, PermissionSet.IsOwnedByProfile, PermissionSet.ProfileId ' +
        `FROM PermissionSetAssignment WHERE AssigneeId = '${userExternalId}'`,
    );
    return rows
      .filter((r) => r.IsActive !== false)
      .map((r) => {
        const set = (r.PermissionSet ?? {}) as SfRecord;
        const bundle = str(r.PermissionSetGroupId) ?? (set.IsOwnedByProfile === true && str(set.ProfileId) ? String(set.ProfileId) : String(r.PermissionSetId));
        return { externalId: String(r.Id), bundleExternalId: bundle, expiresAt: toIso(str(r.ExpirationDate)) };
      });
  }

  async userActive(userExternalId: string): Promise<boolean | null> {
    if (!isSalesforceId(userExternalId)) throw new CrmError('refused', `"${userExternalId}" is not a Salesforce user id.`);
    const [user] = await this.queryAll(`SELECT Id, IsActive FROM User WHERE Id = '${userExternalId}'`);
    return user ? user.IsActive === true : null;
  }

  async deactivateUser(userExternalId: string): Promise<void> {
    if (!isSalesforceId(userExternalId)) throw new CrmError('refused', `"${userExternalId}" is not a Salesforce user id.`);
    const res = await this.ctx.http.request(await this.#api(`/sobjects/User/${userExternalId}`), { method: 'PATCH', body: { IsActive: false } });
    if (res.status !== 204 && res.status !== 200) throw refusal(res.status, res.body, `Deactivate user ${userExternalId}`);
  }

  async grant(op: { userExternalId: string; bundles: { externalId: string; kind: BundleKind }[]; expiresAt: string | null }): Promise<GrantOutcome[]> {
    const out: GrantOutcome[] = [];
    for (let i = 0; i < op.bundles.length; i += 200) {
      const chunk = op.bundles.slice(i, i + 200);
      const records = chunk.map((b) => ({
        attributes: { type: 'PermissionSetAssignment' },
        AssigneeId: op.userExternalId,
        ...(b.kind === 'permissionSetGroup' ? { PermissionSetGroupId: b.externalId } : { PermissionSetId: b.externalId }),
        ...(op.expiresAt && this.#settings.useExpirationDate ? { ExpirationDate: op.expiresAt } : {}),
      }));
      const res = await this.ctx.http.request(await this.#api('/composite/sobjects'), { method: 'POST', body: { allOrNone: false, records } });
      if (res.status !== 200 || !Array.isArray(res.body)) throw refusal(res.status, res.body, 'Assign permission sets');
      const results = res.body as { id?: string; success?: boolean; errors?: unknown[] }[];
      chunk.forEach((b, j) => {
        const r = results[j];
        if (r?.success === true && typeof r.id === 'string') out.push({ bundleExternalId: b.externalId, ok: true, externalId: r.id });
        else {
          const [e] = sfErrors(r?.errors ?? []);
          out.push({
            bundleExternalId: b.externalId,
            ok: false,
            error: new CrmError('refused', `Salesforce refused the assignment (${e ? `${e.errorCode}: ${e.message}` : 'no reason given'}).`, {
              ...(e ? { code: e.errorCode } : {}),
            }),
          });
        }
      });
    }
    return out;
  }

  async revoke(op: { userExternalId: string; assignments: { externalId: string; bundleExternalId: string }[] }): Promise<RevokeOutcome[]> {
    const out: RevokeOutcome[] = [];
    for (let i = 0; i < op.assignments.length; i += 200) {
      const ids = op.assignments.slice(i, i + 200).map((a) => a.externalId);
      const res = await this.ctx.http.request(await this.#api(`/composite/sobjects?ids=${ids.join(',')}&allOrNone=false`), { method: 'DELETE' });
      if (res.status !== 200 || !Array.isArray(res.body)) throw refusal(res.status, res.body, 'Remove permission set assignments');
      const results = res.body as { id?: string; success?: boolean; errors?: unknown[] }[];
      ids.forEach((id, j) => {
        const r = results[j];
        const [e] = sfErrors(r?.errors ?? []);
        // Already gone (expired in Salesforce, or removed by an administrator) is what we wanted.
        if (r?.success === true || e?.errorCode === 'ENTITY_IS_DELETED' || e?.errorCode === 'INVALID_CROSS_REFERENCE_KEY')
          out.push({ externalId: id, ok: true });
        else
          out.push({
            externalId: id,
            ok: false,
            error: new CrmError('refused', `Salesforce refused to remove ${id} (${e ? `${e.errorCode}: ${e.message}` : 'no reason given'}).`),
          });
      });
    }
    return out;
  }
}

/** A SOQL date-time literal (whole seconds, UTC): `2026-03-02T09:00:00Z`. */
const soqlDateTime = (iso: string) => `${new Date(iso).toISOString().slice(0, 19)}Z`;

/** Salesforce date-times ("2026-03-02T09:00:00.000+0000") as ISO 8601 UTC. */
function toIso(v: string | null): string | null {
  if (!v) return null;
  const t = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

export const salesforce: ConnectorDefinition<SalesforceSettings, SalesforceCredentials> = {
  kind: 'salesforce',
  settingsSchema: salesforceSettings,
  credentialsSchema: salesforceCredentials,
  replacesWholeProfile: false,
  canProvision: true,
  canDeactivateUsers: true,
  supportsExpiration: true,
  isRateLimitBody,
  authenticate,
  open: (ctx) => new SalesforceClient(ctx),
};

/** The My Domain name of an instance URL (`acme` of https://acme.my.salesforce.com), as the Salesforce adapter reads pages. */
function myDomainOf(instanceUrl: string): string | null {
  try {
    return salesforceAdapter.tenantOf(new URL(instanceUrl));
  } catch {
    return null;
  }
}
