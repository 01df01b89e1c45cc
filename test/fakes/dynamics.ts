/**
 * A fake Microsoft Dataverse environment (Dynamics 365) and its Microsoft Entra ID token endpoint, on
 * loopback (real HTTP), implementing the documented shapes the Dynamics connector
 * (server/src/connectors/dynamics.ts) uses — nothing more. Each shape cites its Microsoft Learn page:
 *
 * - Token endpoint, POST /{tenant}/oauth2/v2.0/token ("Microsoft identity platform and the OAuth 2.0
 *   client credentials flow"): form `client_id, client_secret, scope, grant_type=client_credentials` →
 *   `{token_type: "Bearer", expires_in, ext_expires_in, access_token}`; a bad secret is 401
 *   `{error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided…",
 *   error_codes: [7000215]}`, a scope of another resource 400 `invalid_scope` (the scope must be
 *   `{environment URL}/.default`: "Use OAuth authentication with Microsoft Dataverse").
 * - Web API, /api/data/v9.2/… with `Authorization: Bearer`; an expired or unknown token is 401 with
 *   `WWW-Authenticate: Bearer error="invalid_token"` ("Use OAuth authentication with Microsoft Dataverse").
 * - Collections ("Query data using the Web API", "Select columns", "Filter rows", "Page results"):
 *   `$select`, `$filter` (eq, ne, gt, ge, lt, le, and, or, parentheses; lookups `_{name}_value`; GUIDs and
 *   date-times unquoted), `$top`; `Prefer: odata.maxpagesize={n}` (default and maximum 5,000) answered with
 *   `Preference-Applied`; `{"@odata.context", value: [...], "@odata.nextLink"}` where the next link carries a
 *   `$skiptoken` (opaque to clients). An unknown column in `$select` or `$filter` is 400
 *   `{error: {code: "0x80060888", message: "Could not find a property named '…'"}}`.
 * - Tables (reference/entities): systemuser, businessunit, role (`_parentrootroleid_value`: each role has a
 *   copy in every business unit pointing at its root role), team, privilege; the intersect tables
 *   systemuserrolescollection, teamrolescollection, teammemberships; audit (`action` 64 "User Access via
 *   Web", 65 "User Access via Web Services", `_objectid_value`, `createdon`; reading it needs
 *   prvReadAuditSummary, else 403 `{error: {code: "0x80040220", message: "Principal user … is missing
 *   prvReadAuditSummary privilege"}}` — "Retrieve the history of audited data changes").
 * - Collection-valued navigation properties ("Retrieve related table records with a query"):
 *   `systemusers({id})/systemuserroles_association`, `systemusers({id})/teammembership_association`,
 *   `roles({id})/roleprivileges_association`.
 * - Functions: `WhoAmI` → `{BusinessUnitId, UserId, OrganizationId}`; `RetrieveRolePrivilegesRole(RoleId=@p1)
 *   ?@p1={id}` → `{RolePrivileges: [{Depth, PrivilegeId, BusinessUnitId, PrivilegeName}]}` (Depth as the
 *   PrivilegeDepth member name); `systemusers({id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()` → the same
 *   shape for a user ("RetrieveRolePrivilegesRole function", "RolePrivilege complex type",
 *   "RetrieveUserPrivileges function").
 * - Associations ("Associate and disassociate table rows using the Web API"): POST
 *   `systemusers({id})/systemuserroles_association/$ref` `{"@odata.id": "…/roles({roleid})"}` → 204; the role
 *   must be in the user's business unit. DELETE `systemusers({id})/systemuserroles_association({roleid})/$ref`
 *   → 204. Unconfirmed (no public page showed it), modelled as Dataverse reports duplicate and missing rows
 *   elsewhere: associating a role the user already holds is 400 `0x80040237` "Cannot insert duplicate key",
 *   and disassociating one the user does not hold is 404 `0x80040217`.
 * - A person's own browser session (what the extension's Dynamics content script uses: a same-origin fetch
 *   carrying the page's cookies): a request with the `CrmOwinAuth` session cookie `sessionFor` gives acts as
 *   that user (the cookie's name as browsers show it; unconfirmed by a public page, and never read by AccessLens).
 *   `WhoAmI` then names them; `systemusers({id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()` lists the
 *   privileges of their roles, direct and through their teams; `EntityDefinitions(LogicalName='{table}')
 *   ?$select=EntitySetName` → `{EntitySetName, MetadataId}` ("Query table definitions using the Web API");
 *   `systemusers({id})/Microsoft.Dynamics.CRM.RetrievePrincipalAccess(Target=@tid)?@tid={"@odata.id":
 *   "{set}({id})"}` → `{AccessRights: "ReadAccess, WriteAccess, …"}` (the AccessRights members, comma
 *   separated: "RetrievePrincipalAccess function", "AccessRights EnumType"). Record ownership is not
 *   modelled: a privilege at any depth reaches the record.
 * - Errors ("Web API error handling"): `{error: {code, message}}`; service protection limits ("Service
 *   protection API limits") are 429 with `Retry-After` in seconds (injected with `fail`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, send, startFakeServer, type Fault } from './fake-http.ts';

export type DvRow = Record<string, string | number | boolean | null>;

/** The environment's data, as the Web API names its columns. */
export interface DvOrg {
  organizationId: string;
  businessunits: DvRow[];
  systemusers: DvRow[];
  roles: DvRow[];
  privileges: DvRow[];
  /** Root role id → its privileges with their depth. */
  rolePrivileges: Record<string, { privilegeid: string; depth: 'Basic' | 'Local' | 'Deep' | 'Global' }[]>;
  systemuserroles: DvRow[];
  teams: DvRow[];
  teamroles: DvRow[];
  teammemberships: DvRow[];
  audits: DvRow[];
}

export interface FakeDynamicsOptions {
  org: DvOrg;
  /** App registrations allowed to sign in (client credentials), and the application user they act as. */
  clients?: { clientId: string; clientSecret: string }[];
  /** The application user (a systemuser of the org) the tokens act as. */
  appUserId: string;
  /** Privileges of the application user (RetrieveUserPrivileges), e.g. prvAssignRole, prvReadAuditSummary. */
  appPrivileges?: string[];
  /** How long an access token is accepted (default an hour, as `expires_in` says). */
  tokenTtlMs?: number;
  /** Answer RetrieveRolePrivilegesRole without PrivilegeName (older versions). */
  omitPrivilegeNames?: boolean;
  now?: () => Date;
}

export interface FakeDynamics {
  /** The environment URL (the org URL): the Web API is under /api/data/v9.2. */
  url: string;
  /** The fake Entra ID token endpoint for `tenant`. */
  tokenUrl(tenant: string): string;
  org: DvOrg;
  log: { method: string; path: string }[];
  /** Every role association asked for (accepted or not). */
  associateAttempts: { userId: string; roleId: string; ok: boolean; code: string | null }[];
  /** Every role disassociation asked for. */
  disassociateAttempts: { userId: string; roleId: string; ok: boolean }[];
  fail(fault: Fault): void;
  /** Every token issued so far stops working (the next call gets 401). */
  expireTokens(): void;
  /** The token endpoint refuses every grant (a deleted client secret). */
  refuseGrants(refuse: boolean): void;
  /** Refuses associating this role (any copy) with `error` (e.g. a licence or privilege problem). */
  refuseRole(rootRoleId: string, error: { code: string; message: string } | null): void;
  /** Root role ids the user holds directly. */
  rolesOf(userId: string): string[];
  /** A browser session of the user: the value of its `CrmOwinAuth` cookie (the extension never reads it). */
  sessionFor(userId: string): string;
  /** Whether the user's roles (direct or through a team) hold the table's privilege for `action` (for page fixtures). */
  userCan(userId: string, entity: string, action: 'read' | 'create' | 'edit' | 'delete'): boolean;
  /** Takes a role (any copy) away from the user, as an administrator would in Dataverse. */
  removeRole(userId: string, rootRoleId: string): void;
  close(): Promise<void>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE_MAX = 5000;

/** The column names each table answers with (an unknown one in $select or $filter is a 400). */
const COLUMNS: Record<string, string[]> = {
  systemusers: [
    'systemuserid',
    'domainname',
    'internalemailaddress',
    'fullname',
    'isdisabled',
    'createdon',
    'modifiedon',
    '_businessunitid_value',
    'applicationid',
    'accessmode',
  ],
  businessunits: ['businessunitid', 'name', '_parentbusinessunitid_value'],
  roles: ['roleid', 'name', '_businessunitid_value', '_parentrootroleid_value'],
  privileges: ['privilegeid', 'name'],
  teams: ['teamid', 'name', 'teamtype', '_businessunitid_value', 'isdefault'],
  systemuserrolescollection: ['systemuserroleid', 'systemuserid', 'roleid'],
  teamrolescollection: ['teamroleid', 'teamid', 'roleid'],
  teammemberships: ['teammembershipid', 'teamid', 'systemuserid'],
  audits: ['auditid', 'action', 'createdon', '_objectid_value', 'objecttypecode'],
};

// ---------- $filter (the subset "Filter rows" documents and the connector sends) ----------

type Tok = { t: 'id' | 'lit' | 'op' | 'and' | 'or' | 'not' | '(' | ')'; v: string | number | boolean | null };
type Cond = { k: 'and' | 'or'; a: Cond; b: Cond } | { k: 'not'; a: Cond } | { k: 'cmp'; field: string; op: string; value: string | number | boolean | null };

class FilterError extends Error {}

function tokenizeFilter(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const rest = q.slice(i);
    const ws = /^\s+/.exec(rest);
    if (ws) {
      i += ws[0].length;
      continue;
    }
    if (rest[0] === '(' || rest[0] === ')') {
      out.push({ t: rest[0], v: rest[0] });
      i++;
      continue;
    }
    const m =
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})/.exec(rest) ??
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(rest);
    if (m) {
      out.push({ t: 'lit', v: m[0].toLowerCase().includes('t') && m[0].includes(':') ? new Date(m[0]).toISOString() : m[0].toLowerCase() });
      i += m[0].length;
      continue;
    }
    if (rest[0] === "'") {
      const end = rest.indexOf("'", 1);
      if (end < 0) throw new FilterError('unterminated string');
      out.push({ t: 'lit', v: rest.slice(1, end) });
      i += end + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?(?![\w-])/.exec(rest);
    if (num) {
      out.push({ t: 'lit', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      const w = word[0];
      if (['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(w)) out.push({ t: 'op', v: w });
      else if (w === 'and' || w === 'or' || w === 'not') out.push({ t: w, v: w });
      else if (w === 'true' || w === 'false') out.push({ t: 'lit', v: w === 'true' });
      else if (w === 'null') out.push({ t: 'lit', v: null });
      else out.push({ t: 'id', v: w });
      i += w.length;
      continue;
    }
    throw new FilterError(`unexpected "${rest[0]}"`);
  }
  return out;
}

function parseFilter(q: string): Cond {
  const toks = tokenizeFilter(q);
  let p = 0;
  const peek = () => toks[p];
  const orExpr = (): Cond => {
    let a = andExpr();
    while (peek()?.t === 'or') {
      p++;
      a = { k: 'or', a, b: andExpr() };
    }
    return a;
  };
  const andExpr = (): Cond => {
    let a = unary();
    while (peek()?.t === 'and') {
      p++;
      a = { k: 'and', a, b: unary() };
    }
    return a;
  };
  const unary = (): Cond => {
    const t = toks[p++];
    if (!t) throw new FilterError('unexpected end');
    if (t.t === 'not') return { k: 'not', a: unary() };
    if (t.t === '(') {
      const c = orExpr();
      if (toks[p++]?.t !== ')') throw new FilterError('missing )');
      return c;
    }
    if (t.t !== 'id') throw new FilterError(`unexpected ${String(t.v)}`);
    const op = toks[p++];
    const value = toks[p++];
    if (op?.t !== 'op' || value?.t !== 'lit') throw new FilterError(`bad comparison after ${String(t.v)}`);
    return { k: 'cmp', field: String(t.v), op: String(op.v), value: value.v };
  };
  const c = orExpr();
  if (p !== toks.length) throw new FilterError('trailing tokens');
  return c;
}

function fieldsOf(c: Cond): string[] {
  return c.k === 'cmp' ? [c.field] : c.k === 'not' ? fieldsOf(c.a) : [...fieldsOf(c.a), ...fieldsOf(c.b)];
}

function evaluate(row: DvRow, c: Cond): boolean {
  if (c.k === 'and') return evaluate(row, c.a) && evaluate(row, c.b);
  if (c.k === 'or') return evaluate(row, c.a) || evaluate(row, c.b);
  if (c.k === 'not') return !evaluate(row, c.a);
  if (c.k !== 'cmp') return false;
  let v = row[c.field] ?? null;
  let w = c.value;
  if (typeof v === 'string' && typeof w === 'string') {
    if (/^\d{4}-\d{2}-\d{2}T/.test(v) && /^\d{4}-\d{2}-\d{2}T/.test(w)) {
      v = Date.parse(v);
      w = Date.parse(w);
    } else {
      v = v.toLowerCase();
      w = w.toLowerCase();
    }
  }
  switch (c.op) {
    case 'eq':
      return v === w;
    case 'ne':
      return v !== w;
  }
  if (v === null || w === null) return false;
  switch (c.op) {
    case 'gt':
      return v > w;
    case 'ge':
      return v >= w;
    case 'lt':
      return v < w;
    default:
      return v <= w;
  }
}

// ---------- the server ----------

class DvError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeDynamics(options: FakeDynamicsOptions): Promise<FakeDynamics> {
  const now = options.now ?? (() => new Date());
  const org = options.org;
  const ttl = options.tokenTtlMs ?? 3600_000;
  const tokens = new Map<string, number>();
  let refuseGrants = false;
  const refusedRoles = new Map<string, { code: string; message: string }>();
  const associateAttempts: FakeDynamics['associateAttempts'] = [];
  const disassociateAttempts: FakeDynamics['disassociateAttempts'] = [];
  const appPrivileges = options.appPrivileges ?? ['prvReadUser', 'prvReadRole', 'prvReadTeam', 'prvReadBusinessUnit', 'prvReadAuditSummary', 'prvAssignRole'];
  let base = '';

  const tables: Record<string, () => DvRow[]> = {
    systemusers: () => org.systemusers,
    businessunits: () => org.businessunits,
    roles: () => org.roles,
    privileges: () => org.privileges,
    teams: () => org.teams,
    systemuserrolescollection: () => org.systemuserroles,
    teamrolescollection: () => org.teamroles,
    teammemberships: () => org.teammemberships,
    audits: () => org.audits,
  };
  const roleById = (id: string) => org.roles.find((r) => r.roleid === id);
  const userById = (id: string) => org.systemusers.find((u) => u.systemuserid === id);
  const privilegeName = (id: string) => String(org.privileges.find((p) => p.privilegeid === id)?.name ?? '');

  const tokenEndpoint = async (req: IncomingMessage, res: ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') !== 'client_credentials')
      return send(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'AADSTS70003: The app requested an unsupported grant type.',
        error_codes: [70003],
      });
    const client = (options.clients ?? []).find((c) => c.clientId === form.get('client_id'));
    if (!client)
      return send(res, 400, {
        error: 'unauthorized_client',
        error_description: `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`,
        error_codes: [700016],
      });
    if (refuseGrants || client.clientSecret !== form.get('client_secret'))
      return send(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] });
    if (form.get('scope') !== `${base}/.default`)
      return send(res, 400, {
        error: 'invalid_scope',
        error_description: `AADSTS70011: The provided value for the input parameter 'scope' is not valid.`,
        error_codes: [70011],
      });
    const accessToken = `eyJ0eXAiOiJKV1QifQ.${randomBytes(24).toString('base64url')}`;
    tokens.set(accessToken, now().getTime());
    return send(res, 200, { token_type: 'Bearer', expires_in: Math.round(ttl / 1000), ext_expires_in: Math.round(ttl / 1000), access_token: accessToken });
  };

  const authorised = (req: IncomingMessage) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const issued = m ? tokens.get(m[1]!) : undefined;
    return issued !== undefined && now().getTime() - issued < ttl;
  };
  /** Browser sessions: cookie value → the user they act as. */
  const sessions = new Map<string, string>();
  const sessionUser = (req: IncomingMessage): string | null => {
    const m = /(?:^|;\s*)CrmOwinAuth=([^;]+)/.exec(String(req.headers.cookie ?? ''));
    return m ? (sessions.get(m[1]!) ?? null) : null;
  };
  /** Root role ids a user holds, directly and through their teams. */
  const allRoles = (userId: string): string[] => {
    const teams = new Set(org.teammemberships.filter((l) => l.systemuserid === userId).map((l) => String(l.teamid)));
    const copies = [
      ...org.systemuserroles.filter((l) => l.systemuserid === userId).map((l) => String(l.roleid)),
      ...org.teamroles.filter((l) => teams.has(String(l.teamid))).map((l) => String(l.roleid)),
    ];
    return [...new Set(copies.map((id) => String(roleById(id)?._parentrootroleid_value ?? id)))];
  };
  const privilegeNamesOf = (userId: string): string[] =>
    allRoles(userId).flatMap((root) => (org.rolePrivileges[root] ?? []).map((p) => privilegeName(p.privilegeid)));
  const PRV = { read: 'Read', create: 'Create', edit: 'Write', delete: 'Delete' } as const;
  const userCan = (userId: string, entity: string, action: keyof typeof PRV) =>
    privilegeNamesOf(userId).some((n) => n.toLowerCase() === `prv${PRV[action]}${entity}`.toLowerCase());
  const entitySet = (logical: string) => (logical.endsWith('y') ? `${logical.slice(0, -1)}ies` : `${logical}s`);

  /** A page of a collection: $select, $filter, $top, Prefer: odata.maxpagesize, $skiptoken. */
  const collection = (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, rows: DvRow[], table: string) => {
    const columns = COLUMNS[table] ?? [];
    const select =
      query
        .get('$select')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) ?? columns;
    for (const c of select)
      if (!columns.includes(c)) throw new DvError(400, '0x80060888', `Could not find a property named '${c}' on type 'Microsoft.Dynamics.CRM.${table}'.`);
    let list = rows;
    const filter = query.get('$filter');
    if (filter) {
      let cond: Cond;
      try {
        cond = parseFilter(filter);
      } catch (e) {
        throw new DvError(400, '0x80060888', `Syntax error in $filter: ${(e as Error).message}`);
      }
      for (const f of fieldsOf(cond))
        if (!columns.includes(f)) throw new DvError(400, '0x80060888', `Could not find a property named '${f}' on type 'Microsoft.Dynamics.CRM.${table}'.`);
      list = list.filter((r) => evaluate(r, cond));
    }
    const top = query.get('$top');
    if (top) list = list.slice(0, Number(top));
    const prefer = /odata\.maxpagesize=(\d+)/.exec(String(req.headers.prefer ?? ''));
    const size = Math.min(PAGE_MAX, prefer ? Number(prefer[1]) : PAGE_MAX);
    const skip = Number(query.get('$skiptoken') ?? 0);
    const page = list.slice(skip, skip + size);
    const body: Record<string, unknown> = {
      '@odata.context': `${base}/api/data/v9.2/$metadata#${table}(${select.join(',')})`,
      value: page.map((r) => Object.fromEntries(select.map((c) => [c, r[c] ?? null]))),
    };
    if (skip + size < list.length) {
      const next = new URLSearchParams(query);
      next.set('$skiptoken', String(skip + size));
      body['@odata.nextLink'] = `${base}/api/data/v9.2/${path}?${next.toString()}`;
    }
    send(res, 200, body, prefer ? { 'Preference-Applied': `odata.maxpagesize=${size}` } : {});
  };

  const privilegesOfRole = (rootId: string) =>
    (org.rolePrivileges[rootId] ?? []).map((p) => ({
      Depth: p.depth,
      PrivilegeId: p.privilegeid,
      BusinessUnitId: String(roleById(rootId)?._businessunitid_value ?? ''),
      ...(options.omitPrivilegeNames ? {} : { PrivilegeName: privilegeName(p.privilegeid) }),
    }));

  const api = async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, caller: string) => {
    const method = req.method ?? 'GET';
    if (path === 'WhoAmI') {
      const me = userById(caller);
      return send(res, 200, {
        '@odata.context': `${base}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: me?._businessunitid_value ?? null,
        UserId: caller,
        OrganizationId: org.organizationId,
      });
    }
    const definition = /^EntityDefinitions\(LogicalName='([a-z_][a-z0-9_]*)'\)$/.exec(path);
    if (definition && method === 'GET') {
      if (query.get('$select') !== 'EntitySetName') throw new DvError(400, '0x80060888', 'This fake answers $select=EntitySetName only.');
      return send(res, 200, {
        '@odata.context': `${base}/api/data/v9.2/$metadata#EntityDefinitions(EntitySetName)/$entity`,
        EntitySetName: entitySet(definition[1]!),
        MetadataId: randomUUID(),
      });
    }
    const rrp = /^RetrieveRolePrivilegesRole\(RoleId=@p1\)$/.exec(path);
    if (rrp) {
      const id = String(query.get('@p1') ?? '').toLowerCase();
      if (!GUID.test(id) || !roleById(id)) throw new DvError(404, '0x80040217', `role With Id = ${id} Does Not Exist`);
      const root = String(roleById(id)!._parentrootroleid_value ?? id);
      return send(res, 200, {
        '@odata.context': `${base}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.RetrieveRolePrivilegesRoleResponse`,
        RolePrivileges: privilegesOfRole(root),
      });
    }
    if (path === 'audits' && !appPrivileges.includes('prvReadAuditSummary'))
      throw new DvError(403, '0x80040220', `Principal user (Id=${options.appUserId}, type=8) is missing prvReadAuditSummary privilege`);
    const table = tables[path];
    if (table && method === 'GET') return collection(req, res, path, query, table(), path);

    const nav = /^(systemusers|roles)\(([0-9a-f-]{36})\)(?:\/(.+))?$/i.exec(path);
    if (!nav) throw new DvError(404, '0x8006088a', `Resource not found for the segment '${path.split('/')[0]}'.`);
    const [, set, rawId, rest] = nav;
    const id = rawId!.toLowerCase();
    if (set === 'roles') {
      const role = roleById(id);
      if (!role) throw new DvError(404, '0x80040217', `role With Id = ${id} Does Not Exist`);
      if (rest === 'roleprivileges_association') {
        const root = String(role._parentrootroleid_value ?? id);
        const ids = new Set((org.rolePrivileges[root] ?? []).map((p) => p.privilegeid));
        return collection(
          req,
          res,
          path,
          query,
          org.privileges.filter((p) => ids.has(String(p.privilegeid))),
          'privileges',
        );
      }
      throw new DvError(404, '0x8006088a', `Resource not found for the segment '${rest}'.`);
    }
    const user = userById(id);
    if (!user) throw new DvError(404, '0x80040217', `systemuser With Id = ${id} Does Not Exist`);
    if (!rest && method === 'GET') {
      const select = query.get('$select')?.split(',') ?? COLUMNS.systemusers!;
      for (const c of select)
        if (!COLUMNS.systemusers!.includes(c))
          throw new DvError(400, '0x80060888', `Could not find a property named '${c}' on type 'Microsoft.Dynamics.CRM.systemuser'.`);
      return send(res, 200, {
        '@odata.context': `${base}/api/data/v9.2/$metadata#systemusers(${select.join(',')})/$entity`,
        ...Object.fromEntries(select.map((c) => [c, user[c] ?? null])),
      });
    }
    if (rest === 'systemuserroles_association' && method === 'GET') {
      const held = new Set(org.systemuserroles.filter((l) => l.systemuserid === id).map((l) => String(l.roleid)));
      return collection(
        req,
        res,
        path,
        query,
        org.roles.filter((r) => held.has(String(r.roleid))),
        'roles',
      );
    }
    if (rest === 'teammembership_association' && method === 'GET') {
      const held = new Set(org.teammemberships.filter((l) => l.systemuserid === id).map((l) => String(l.teamid)));
      return collection(
        req,
        res,
        path,
        query,
        org.teams.filter((t) => held.has(String(t.teamid))),
        'teams',
      );
    }
    const rpa = /^Microsoft\.Dynamics\.CRM\.RetrievePrincipalAccess\(Target=@tid\)$/.exec(rest ?? '');
    if (rpa && method === 'GET') {
      let target: string;
      try {
        target = String((JSON.parse(query.get('@tid') ?? '') as Record<string, unknown>)['@odata.id'] ?? '');
      } catch {
        throw new DvError(400, '0x80060888', "The parameter alias '@tid' is not a valid reference.");
      }
      const t = /^([a-z_]+)\(([0-9a-f-]{36})\)$/i.exec(target);
      if (!t) throw new DvError(400, '0x80060888', `Invalid target '${target}'.`);
      const logical = t[1]!.replace(/ies$/, 'y').replace(/s$/, '');
      const rights = [
        userCan(id, logical, 'read') && 'ReadAccess',
        userCan(id, logical, 'edit') && 'WriteAccess',
        userCan(id, logical, 'create') && 'CreateAccess',
        userCan(id, logical, 'delete') && 'DeleteAccess',
      ].filter(Boolean);
      return send(res, 200, {
        '@odata.context': `${base}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.RetrievePrincipalAccessResponse`,
        AccessRights: rights.length ? rights.join(', ') : 'None',
      });
    }
    if (rest === 'Microsoft.Dynamics.CRM.RetrieveUserPrivileges()' && method === 'GET') {
      const privileges = id === options.appUserId ? appPrivileges : privilegeNamesOf(id);
      return send(res, 200, {
        '@odata.context': `${base}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse`,
        RolePrivileges: privileges.map((name) => ({
          Depth: 'Global',
          PrivilegeId: randomUUID(),
          BusinessUnitId: user._businessunitid_value,
          PrivilegeName: name,
        })),
      });
    }
    if (rest === 'systemuserroles_association/$ref' && method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
      const m = /\/roles\(([0-9a-f-]{36})\)$/i.exec(String(body['@odata.id'] ?? ''));
      const role = m ? roleById(m[1]!.toLowerCase()) : undefined;
      if (!role) throw new DvError(400, '0x80060891', 'A navigation link to a role was expected in "@odata.id".');
      const roleId = String(role.roleid);
      const record = (ok: boolean, code: string | null) => associateAttempts.push({ userId: id, roleId, ok, code });
      const refused = refusedRoles.get(String(role._parentrootroleid_value ?? roleId));
      if (refused) {
        record(false, refused.code);
        throw new DvError(400, refused.code, refused.message);
      }
      if (role._businessunitid_value !== user._businessunitid_value) {
        record(false, '0x80040230');
        throw new DvError(400, '0x80040230', 'The user and the role belong to different business units.');
      }
      if (org.systemuserroles.some((l) => l.systemuserid === id && l.roleid === roleId)) {
        record(false, '0x80040237');
        throw new DvError(400, '0x80040237', 'Cannot insert duplicate key.');
      }
      org.systemuserroles.push({ systemuserroleid: randomUUID(), systemuserid: id, roleid: roleId });
      user.modifiedon = now().toISOString();
      record(true, null);
      return send(res, 204, undefined, { 'OData-Version': '4.0' });
    }
    const del = /^systemuserroles_association\(([0-9a-f-]{36})\)\/\$ref$/i.exec(rest ?? '');
    if (del && method === 'DELETE') {
      const roleId = del[1]!.toLowerCase();
      const at = org.systemuserroles.findIndex((l) => l.systemuserid === id && l.roleid === roleId);
      disassociateAttempts.push({ userId: id, roleId, ok: at >= 0 });
      if (at < 0) throw new DvError(404, '0x80040217', `The user does not hold role ${roleId}.`);
      org.systemuserroles.splice(at, 1);
      user.modifiedon = now().toISOString();
      return send(res, 204, undefined, { 'OData-Version': '4.0' });
    }
    throw new DvError(405, '0x80060888', `The request ${method} ${path} is not supported.`);
  };

  const server = await startFakeServer(
    async (req, res, b) => {
      base = b;
      const url = new URL(req.url ?? '/', b);
      if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(url.pathname) && req.method === 'POST') return tokenEndpoint(req, res);
      const m = /^\/api\/data\/v9\.2\/(.+)$/.exec(decodeURIComponent(url.pathname));
      if (!m) return send(res, 404, { error: { code: '0x8006088a', message: 'Not found' } });
      const browserUser = sessionUser(req);
      if (!browserUser && !authorised(req))
        return send(res, 401, undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="The access token is expired or invalid"' });
      await api(req, res, m[1]!, url.searchParams, browserUser ?? options.appUserId);
    },
    (res, error) => {
      if (error instanceof DvError) send(res, error.status, { error: { code: error.code, message: error.message } });
      else send(res, 500, { error: { code: '0x80040216', message: error instanceof Error ? error.message : String(error) } });
    },
  );
  base = server.url;

  return {
    url: server.url,
    tokenUrl: (tenant) => `${server.url}/${tenant}/oauth2/v2.0/token`,
    org,
    log: server.log,
    associateAttempts,
    disassociateAttempts,
    fail: server.fail,
    expireTokens: () => tokens.clear(),
    refuseGrants: (refuse) => void (refuseGrants = refuse),
    refuseRole: (rootRoleId, error) => void (error ? refusedRoles.set(rootRoleId, error) : refusedRoles.delete(rootRoleId)),
    rolesOf: (userId) =>
      org.systemuserroles.filter((l) => l.systemuserid === userId).map((l) => String(roleById(String(l.roleid))?._parentrootroleid_value ?? l.roleid)),
    sessionFor: (userId) => {
      const value = randomBytes(24).toString('base64url');
      sessions.set(value, userId);
      return value;
    },
    userCan,
    removeRole: (userId, rootRoleId) => {
      org.systemuserroles = org.systemuserroles.filter(
        (l) => !(l.systemuserid === userId && String(roleById(String(l.roleid))?._parentrootroleid_value ?? l.roleid) === rootRoleId),
      );
    },
    close: server.close,
  };
}

// ---------- building an environment ----------

/** Builds an environment: business units, roles (with a copy in every business unit), users, teams, logins. */
export class DvOrgBuilder {
  readonly org: DvOrg;
  readonly rootUnit: string;

  constructor(name: string, organizationId: string = randomUUID()) {
    this.rootUnit = randomUUID();
    this.org = {
      organizationId,
      businessunits: [{ businessunitid: this.rootUnit, name, _parentbusinessunitid_value: null }],
      systemusers: [],
      roles: [],
      privileges: [],
      rolePrivileges: {},
      systemuserroles: [],
      teams: [],
      teamroles: [],
      teammemberships: [],
      audits: [],
    };
  }

  /** A child business unit; every root role gets a copy in it. */
  unit(name: string, parent = this.rootUnit, id: string = randomUUID()): string {
    this.org.businessunits.push({ businessunitid: id, name, _parentbusinessunitid_value: parent });
    for (const root of this.org.roles.filter((r) => r.roleid === r._parentrootroleid_value))
      this.org.roles.push({ roleid: randomUUID(), name: root.name ?? null, _businessunitid_value: id, _parentrootroleid_value: root.roleid ?? null });
    return id;
  }

  #privilege(name: string): string {
    const have = this.org.privileges.find((p) => p.name === name);
    if (have) return String(have.privilegeid);
    const id = randomUUID();
    this.org.privileges.push({ privilegeid: id, name });
    return id;
  }

  /** A security role (its root in the root unit, a copy in every other) with privileges at a depth. */
  role(name: string, privileges: [string, 'Basic' | 'Local' | 'Deep' | 'Global'][], id: string = randomUUID()): string {
    this.org.roles.push({ roleid: id, name, _businessunitid_value: this.rootUnit, _parentrootroleid_value: id });
    for (const u of this.org.businessunits)
      if (u.businessunitid !== this.rootUnit)
        this.org.roles.push({ roleid: randomUUID(), name, _businessunitid_value: u.businessunitid ?? null, _parentrootroleid_value: id });
    this.org.rolePrivileges[id] = privileges.map(([p, depth]) => ({ privilegeid: this.#privilege(p), depth }));
    return id;
  }

  user(u: {
    id?: string;
    domainname: string;
    email: string | null;
    unit?: string;
    disabled?: boolean;
    createdon?: string;
    modifiedon?: string;
    applicationid?: string;
  }): string {
    const id = u.id ?? randomUUID();
    this.org.systemusers.push({
      systemuserid: id,
      domainname: u.domainname,
      internalemailaddress: u.email,
      fullname: u.domainname.split('@')[0] ?? u.domainname,
      isdisabled: u.disabled ?? false,
      createdon: u.createdon ?? '2024-01-01T00:00:00Z',
      modifiedon: u.modifiedon ?? u.createdon ?? '2024-01-01T00:00:00Z',
      _businessunitid_value: u.unit ?? this.rootUnit,
      applicationid: u.applicationid ?? null,
      accessmode: u.applicationid ? 4 : 0,
    });
    return id;
  }

  /** The role's copy in the user's business unit. */
  copyFor(userId: string, rootRoleId: string): string {
    const unit = this.org.systemusers.find((u) => u.systemuserid === userId)!._businessunitid_value;
    return String(this.org.roles.find((r) => r._parentrootroleid_value === rootRoleId && r._businessunitid_value === unit)!.roleid);
  }

  assign(userId: string, rootRoleId: string): void {
    this.org.systemuserroles.push({ systemuserroleid: randomUUID(), systemuserid: userId, roleid: this.copyFor(userId, rootRoleId) });
  }

  team(name: string, rootRoleIds: string[], members: string[], options: { id?: string; unit?: string } = {}): string {
    const id = options.id ?? randomUUID();
    const unit = options.unit ?? this.rootUnit;
    this.org.teams.push({ teamid: id, name, teamtype: 0, _businessunitid_value: unit, isdefault: false });
    for (const root of rootRoleIds) {
      const copy = this.org.roles.find((r) => r._parentrootroleid_value === root && r._businessunitid_value === unit)!;
      this.org.teamroles.push({ teamroleid: randomUUID(), teamid: id, roleid: copy.roleid ?? null });
    }
    for (const m of members) this.org.teammemberships.push({ teammembershipid: randomUUID(), teamid: id, systemuserid: m });
    return id;
  }

  /** A user access audit record (action 64, User Access via Web). */
  login(userId: string, at: string, action: 64 | 65 = 64): void {
    this.org.audits.push({ auditid: randomUUID(), action, createdon: new Date(at).toISOString(), _objectid_value: userId, objecttypecode: 'systemuser' });
  }
}
