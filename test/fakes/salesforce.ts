/**
 * A fake Salesforce org on loopback (real HTTP), implementing the documented shapes the Salesforce
 * connector (server/src/connectors/salesforce.ts) uses — nothing more. Each shape cites its source:
 *
 * - OAuth token endpoint, POST /services/oauth2/token (Salesforce Help: "OAuth 2.0 Client Credentials
 *   Flow for Server-to-Server Integration", "OAuth 2.0 Refresh Token Flow for Renewed Sessions", "OAuth
 *   2.0 JWT Bearer Flow for Server-to-Server Integration"): form-encoded grant, JSON
 *   `{access_token, instance_url, id, token_type, issued_at, signature}`; refused grants are 400
 *   `{error, error_description}` (invalid_client, invalid_grant).
 * - GET /services/oauth2/userinfo (Salesforce Help: "UserInfo Endpoint"): `user_id`, `organization_id`,
 *   `preferred_username`, `email`.
 * - GET /services/data/vXX.X/query?q= (REST API Developer Guide, "Query", resources_query.htm, and
 *   "Execute a SOQL Query", dome_query.htm): `{totalSize, done, nextRecordsUrl?, records}`, records with
 *   `attributes {type, url}`, relationship fields as nested records; up to 2,000 per page, fewer when the
 *   `Sforce-Query-Options: batchSize=` header asks (min 200) ("Query Options Header",
 *   headers_queryoptions.htm); the rest through GET nextRecordsUrl ("Query More Results").
 *   A bad query is 400 `[{message, errorCode: MALFORMED_QUERY | INVALID_FIELD | INVALID_TYPE}]`.
 * - GET /services/data/vXX.X/sobjects/{type}/describe ("sObject Describe", resources_sobject_describe.htm):
 *   `{name, createable, deletable, fields: [{name, type}]}`.
 * - POST /services/data/vXX.X/sobjects/PermissionSetAssignment ("Create a Record", dome_sobject_create.htm):
 *   201 `{id, success, errors}`; DELETE …/sobjects/PermissionSetAssignment/{id}: 204.
 * - PATCH /services/data/vXX.X/sobjects/User/{id} ("Update a Record", dome_update_fields.htm): 204 No
 *   Content; an unknown id is 404 NOT_FOUND; a user without "Manage Internal Users" gets 400
 *   INSUFFICIENT_ACCESS_OR_READONLY. Only `IsActive` is updatable here (how AccessLens deactivates
 *   departed users); the update moves SystemModstamp.
 * - POST /services/data/vXX.X/composite/sobjects and DELETE …/composite/sobjects?ids=&allOrNone=
 *   ("sObject Collections", resources_composite_sobjects_collections_create.htm / _delete.htm): 200 with
 *   one `{id, success, errors: [{statusCode, message, fields}]}` per record, partial failures allowed
 *   unless `allOrNone` (then every record fails, the others with ALL_OR_NONE_OPERATION_ROLLED_BACK).
 * - The current user's own access, with a browser session id as the Bearer token (what the extension's
 *   background reads from the My Domain host's `sid` cookie; the value starts with the org id and `!`):
 *   GET /services/data/vXX.X/ ("Resources by Version", resources_discoveryresource.htm /
 *   dome_discoveryresource.htm): resource names → URIs, with `identity` = `{instance}/id/{orgId}/{userId}`;
 *   `UserRecordAccess` ("Object Reference › UserRecordAccess": `SELECT RecordId, HasReadAccess, …
 *   MaxAccessLevel FROM UserRecordAccess WHERE UserId = [single ID] AND RecordId = [single ID]`, MaxAccessLevel
 *   None | Read | Edit | Delete | Transfer | All); GET /services/data/vXX.X/tooling/query/?q= for Tooling
 *   `UserEntityAccess` ("Tooling API Objects › UserEntityAccess": DurableId, IsReadable, IsCreatable,
 *   IsEditable, IsDeletable; "queries on UserEntityAccess need filters on both the entity side and the user
 *   side": `UserId = …` and `EntityDefinition.QualifiedApiName = …`). What they answer follows the user's
 *   permission sets (`userCan`) and the record sharing the test sets (`shareRecord`).
 * - Errors ("Status Codes and Error Responses", errorcodes.htm): `[{message, errorCode, fields}]`;
 *   401 INVALID_SESSION_ID for an expired or unknown token; 403 REQUEST_LIMIT_EXCEEDED when the org's
 *   API limit is reached. 429 with `Retry-After` is how the tests make a CRM ask for a pause (the HTTP
 *   rule RFC 9110 §10.2.3 the connector follows for every CRM).
 * - Objects and fields (Object Reference for the Salesforce Platform): User (Username, Email, IsActive,
 *   UserType, LastLoginDate, CreatedDate, SystemModstamp), Profile (Name), PermissionSet (Name, Label,
 *   Type, IsOwnedByProfile, ProfileId, PermissionSetGroupId, Permissions* booleans), ObjectPermissions,
 *   FieldPermissions, PermissionSetGroup (DeveloperName, MasterLabel, Status), PermissionSetGroupComponent,
 *   PermissionSetAssignment (AssigneeId, PermissionSetId, PermissionSetGroupId, ExpirationDate, IsActive,
 *   SystemModstamp; one per user and permission set: a second is DUPLICATE_VALUE), UserPermissionAccess
 *   (the calling user's Permissions* booleans). Every user holds a PermissionSetAssignment of their
 *   profile's own permission set (IsOwnedByProfile), and a group's assignment points at the group's
 *   aggregate permission set (Type = 'Group').
 */
import { createVerify, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Value = string | number | boolean | null;
export type SfRecord = Record<string, Value>;

export interface FakeOrg {
  orgId: string;
  /** Objects by API name; each record has an `Id`. */
  objects: Record<string, SfRecord[]>;
}

export interface FakeSalesforceOptions {
  org: FakeOrg;
  /** Connected apps allowed to sign in with client credentials. */
  clients?: { clientId: string; clientSecret: string }[];
  /** Refresh tokens that may be exchanged (refresh token flow). */
  refreshTokens?: string[];
  /** JWT bearer flow: the connected app's certificate (PEM public key). */
  jwtPublicKey?: string;
  /** Who the tokens act as, and what they may do. */
  integrationUser?: { id: string; username: string; permissions: Record<string, boolean> };
  /** How long an access token is accepted. */
  tokenTtlMs?: number;
  now?: () => Date;
}

/** A response the fake gives instead of the real one (fault injection). */
export interface Fault {
  method?: string;
  path: RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many times (default once). */
  times?: number;
}

export interface FakeSalesforce {
  url: string;
  org: FakeOrg;
  /** Every request: method and path (with the query string). */
  log: { method: string; path: string }[];
  /** Every User update the fake applied (deactivations). */
  userUpdates: { userId: string; isActive: boolean }[];
  /** Every PermissionSetAssignment the fake was asked to create (accepted or not). */
  createAttempts: { assigneeId: string; permissionSetId: string | null; groupId: string | null; ok: boolean; errorCode: string | null }[];
  /** Answers the next matching requests with `fault`. */
  fail(fault: Fault): void;
  /** Every access token issued so far stops working (the next call gets 401 INVALID_SESSION_ID). */
  expireTokens(): void;
  /** The token endpoint refuses every grant (a revoked connected app). */
  refuseGrants(refuse: boolean): void;
  /** Awaited after a PermissionSetAssignment is created and before the response is sent (e.g. to stall it). */
  afterCreate: ((record: SfRecord) => Promise<void>) | null;
  /** Makes creating an assignment of this permission set (or group) fail with this error. */
  refuseAssignment(permissionSetOrGroupId: string, error: { errorCode: string; message: string } | null): void;
  /** The user's active assignments (what a confirmation reads). */
  assignmentsOf(userId: string): SfRecord[];
  /** Whether the user holds `object` `action` through any of their permission sets (for page fixtures). */
  userCan(userId: string, object: string, action: 'read' | 'create' | 'edit' | 'delete'): boolean;
  /** A browser session of the user (the `sid` cookie's value: `{orgId}!…`), accepted as a Bearer token. */
  sessionFor(userId: string): string;
  /** Sets whether a record is shared with a user (UserRecordAccess); unset records follow the object's permissions. */
  shareRecord(userId: string, recordId: string, shared: boolean | null): void;
  close(): Promise<void>;
}

// ---------- ids and dates ----------

let counter = 0;
/** An 18-character Salesforce-shaped id with a key prefix. */
export function fakeId(prefix: string): string {
  counter++;
  return `${prefix}Fk${String(counter).padStart(10, '0')}AAA`.slice(0, 18);
}

/** Salesforce's date-time format in API responses: 2026-03-02T09:00:00.000+0000. */
export const sfDateTime = (d: Date | string) => (typeof d === 'string' ? new Date(d) : d).toISOString().replace('Z', '+0000');

// ---------- SOQL (the subset the connector sends) ----------

type Token = { t: 'id' | 'str' | 'num' | 'op' | 'punct' | 'kw' | 'dt'; v: string };

const KEYWORDS = new Set(['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'IN', 'LIMIT', 'ORDER', 'BY', 'ASC', 'DESC', 'TRUE', 'FALSE', 'NULL']);

class SoqlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const dt = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})/.exec(q.slice(i));
    if (dt) {
      out.push({ t: 'dt', v: dt[0] });
      i += dt[0].length;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      let s = '';
      while (j < q.length && q[j] !== "'") {
        if (q[j] === '\\') j++;
        s += q[j];
        j++;
      }
      if (j >= q.length) throw new SoqlError('MALFORMED_QUERY', 'unterminated string');
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(q.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[0] === '<>' ? '!=' : op[0] });
      i += op[0].length;
      continue;
    }
    if ('(),'.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(q.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i));
    if (id) {
      out.push(KEYWORDS.has(id[0].toUpperCase()) ? { t: 'kw', v: id[0].toUpperCase() } : { t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    throw new SoqlError('MALFORMED_QUERY', `unexpected "${c}"`);
  }
  return out;
}

type Cond =
  | { k: 'and' | 'or'; parts: Cond[] }
  | { k: 'not'; part: Cond }
  | { k: 'cmp'; field: string; op: string; value: Value | { dt: number } }
  | { k: 'in'; field: string; values: Value[] };

interface Query {
  fields: string[];
  object: string;
  where: Cond | null;
  orderBy: { field: string; desc: boolean } | null;
  limit: number | null;
}

function parseSoql(q: string): Query {
  const ts = tokenize(q);
  let p = 0;
  const peek = () => ts[p];
  const next = () => {
    const t = ts[p++];
    if (!t) throw new SoqlError('MALFORMED_QUERY', 'unexpected end of query');
    return t;
  };
  const expectKw = (kw: string) => {
    const t = next();
    if (t.t !== 'kw' || t.v !== kw) throw new SoqlError('MALFORMED_QUERY', `expected ${kw}, got "${t.v}"`);
  };
  expectKw('SELECT');
  const fields: string[] = [];
  for (;;) {
    const t = next();
    if (t.t !== 'id') throw new SoqlError('MALFORMED_QUERY', `expected a field, got "${t.v}"`);
    fields.push(t.v);
    if (peek()?.t === 'punct' && peek()!.v === ',') p++;
    else break;
  }
  expectKw('FROM');
  const obj = next();
  if (obj.t !== 'id') throw new SoqlError('MALFORMED_QUERY', 'expected an object');
  const value = (): Value | { dt: number } => {
    const t = next();
    if (t.t === 'str') return t.v;
    if (t.t === 'num') return Number(t.v);
    if (t.t === 'dt') return { dt: Date.parse(t.v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) };
    if (t.t === 'kw' && (t.v === 'TRUE' || t.v === 'FALSE')) return t.v === 'TRUE';
    if (t.t === 'kw' && t.v === 'NULL') return null;
    throw new SoqlError('MALFORMED_QUERY', `expected a value, got "${t.v}"`);
  };
  const cond = (): Cond => {
    const t = peek();
    if (t?.t === 'kw' && t.v === 'NOT') {
      p++;
      return { k: 'not', part: cond() };
    }
    if (t?.t === 'punct' && t.v === '(') {
      p++;
      const inner = or();
      const close = next();
      if (close.v !== ')') throw new SoqlError('MALFORMED_QUERY', 'expected )');
      return inner;
    }
    const field = next();
    if (field.t !== 'id') throw new SoqlError('MALFORMED_QUERY', `expected a field, got "${field.v}"`);
    const op = next();
    if (op.t === 'kw' && op.v === 'IN') {
      if (next().v !== '(') throw new SoqlError('MALFORMED_QUERY', 'expected (');
      const values: Value[] = [];
      for (;;) {
        const v = value();
        values.push(v as Value);
        const sep = next();
        if (sep.v === ')') break;
        if (sep.v !== ',') throw new SoqlError('MALFORMED_QUERY', 'expected , or )');
      }
      return { k: 'in', field: field.v, values };
    }
    if (op.t !== 'op') throw new SoqlError('MALFORMED_QUERY', `expected an operator, got "${op.v}"`);
    return { k: 'cmp', field: field.v, op: op.v, value: value() };
  };
  const and = (): Cond => {
    const parts = [cond()];
    while (peek()?.t === 'kw' && peek()!.v === 'AND') {
      p++;
      parts.push(cond());
    }
    return parts.length === 1 ? parts[0]! : { k: 'and', parts };
  };
  const or = (): Cond => {
    const parts = [and()];
    while (peek()?.t === 'kw' && peek()!.v === 'OR') {
      p++;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : { k: 'or', parts };
  };
  let where: Cond | null = null;
  let orderBy: Query['orderBy'] = null;
  let limit: number | null = null;
  while (p < ts.length) {
    const t = next();
    if (t.t === 'kw' && t.v === 'WHERE') where = or();
    else if (t.t === 'kw' && t.v === 'ORDER') {
      expectKw('BY');
      const f = next();
      let desc = false;
      if (peek()?.t === 'kw' && (peek()!.v === 'ASC' || peek()!.v === 'DESC')) desc = next().v === 'DESC';
      orderBy = { field: f.v, desc };
    } else if (t.t === 'kw' && t.v === 'LIMIT') limit = Number(next().v);
    else throw new SoqlError('MALFORMED_QUERY', `unexpected "${t.v}"`);
  }
  return { fields, object: obj.v, where, orderBy, limit };
}

// ---------- the server ----------

/** Relationship fields: name on the object → [id field, related object]. */
const RELATIONS: Record<string, Record<string, [string, string]>> = {
  PermissionSet: { Profile: ['ProfileId', 'Profile'] },
  PermissionSetAssignment: { PermissionSet: ['PermissionSetId', 'PermissionSet'], Assignee: ['AssigneeId', 'User'] },
  User: { Profile: ['ProfileId', 'Profile'] },
};

const KEY_PREFIX: Record<string, string> = { PermissionSetAssignment: '0Pa', PermissionSet: '0PS' };

export async function startFakeSalesforce(options: FakeSalesforceOptions): Promise<FakeSalesforce> {
  const now = options.now ?? (() => new Date());
  const org = options.org;
  const tokens = new Map<string, { issuedAt: number; userId: string }>();
  const locators = new Map<string, { object: string; fields: string[]; records: SfRecord[]; pos: number }>();
  const faults: (Fault & { left: number })[] = [];
  const refused = new Map<string, { errorCode: string; message: string }>();
  let refuseGrants = false;
  const log: FakeSalesforce['log'] = [];
  const integration = options.integrationUser ?? {
    id: '005Fk0000000INTAAA',
    username: 'accesslens@acme.test.sf',
    permissions: { AssignPermissionSets: true, ViewSetup: true, ManageUsers: false },
  };
  let baseUrl = '';

  // Indexes kept current as records change (a 500,000-row org stays quick).
  const byId = new Map<string, SfRecord>();
  const index = () => {
    byId.clear();
    for (const list of Object.values(org.objects)) for (const r of list) byId.set(String(r.Id), r);
  };
  index();
  const list = (object: string) => (org.objects[object] ??= []);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json;charset=UTF-8' } : {}), ...headers });
    res.end(text);
  };
  const sfError = (res: ServerResponse, status: number, errorCode: string, message: string) => send(res, status, [{ message, errorCode, fields: [] }]);

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const issueToken = (userId: string) => {
    const token = `${org.orgId}!${randomBytes(24).toString('base64url')}`;
    tokens.set(token, { issuedAt: now().getTime(), userId });
    return {
      access_token: token,
      instance_url: baseUrl,
      id: `${baseUrl}/id/${org.orgId}/${userId}`,
      token_type: 'Bearer',
      issued_at: String(now().getTime()),
      signature: randomBytes(32).toString('base64'),
      scope: 'api',
    };
  };

  const verifyJwt = (assertion: string): string | null => {
    if (!options.jwtPublicKey) return null;
    const [h, p, sig] = assertion.split('.');
    if (!h || !p || !sig) return null;
    const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(options.jwtPublicKey, Buffer.from(sig, 'base64url'));
    if (!ok) return null;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { iss: string; sub: string; exp: number };
    if (claims.exp * 1000 < now().getTime()) return null;
    if (!(options.clients ?? []).some((c) => c.clientId === claims.iss)) return null;
    return claims.sub;
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    const grant = form.get('grant_type');
    const invalid = (error: string, description: string) => send(res, 400, { error, error_description: description });
    if (refuseGrants) return invalid('invalid_grant', 'expired access/refresh token');
    if (grant === 'client_credentials') {
      const ok = (options.clients ?? []).some((c) => c.clientId === form.get('client_id') && c.clientSecret === form.get('client_secret'));
      return ok ? send(res, 200, issueToken(integration.id)) : invalid('invalid_client', 'invalid client credentials');
    }
    if (grant === 'refresh_token') {
      const ok = (options.refreshTokens ?? []).includes(form.get('refresh_token') ?? '');
      return ok ? send(res, 200, issueToken(integration.id)) : invalid('invalid_grant', 'expired access/refresh token');
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const sub = verifyJwt(form.get('assertion') ?? '');
      return sub ? send(res, 200, issueToken(integration.id)) : invalid('invalid_grant', 'invalid assertion');
    }
    return invalid('unsupported_grant_type', 'grant type not supported');
  };

  const authorised = (req: IncomingMessage): { userId: string } | null => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const t = m ? tokens.get(m[1]!) : undefined;
    if (!t) return null;
    if (options.tokenTtlMs !== undefined && now().getTime() - t.issuedAt > options.tokenTtlMs) return null;
    return t;
  };

  // ---- query ----
  const fieldValue = (object: string, r: SfRecord, field: string): Value | SfRecord | undefined => {
    const dot = field.indexOf('.');
    if (dot < 0) return field in r ? r[field] : undefined;
    const rel = RELATIONS[object]?.[field.slice(0, dot)];
    if (!rel) return undefined;
    const target = r[rel[0]] ? byId.get(String(r[rel[0]])) : undefined;
    return target ? (fieldValue(rel[1], target, field.slice(dot + 1)) ?? null) : null;
  };
  const knownField = (object: string, field: string, sample: SfRecord | undefined): boolean => {
    const dot = field.indexOf('.');
    if (dot >= 0) return RELATIONS[object]?.[field.slice(0, dot)] !== undefined;
    if (field === 'Id') return true;
    return sample === undefined ? true : field in sample;
  };
  const matches = (object: string, r: SfRecord, c: Cond): boolean => {
    switch (c.k) {
      case 'and':
        return c.parts.every((x) => matches(object, r, x));
      case 'or':
        return c.parts.some((x) => matches(object, r, x));
      case 'not':
        return !matches(object, r, c.part);
      case 'in': {
        const v = fieldValue(object, r, c.field) as Value;
        return c.values.includes(v);
      }
      case 'cmp': {
        const v = fieldValue(object, r, c.field) as Value;
        const want = c.value;
        if (want !== null && typeof want === 'object') {
          if (v === null || v === undefined) return false;
          const a = Date.parse(String(v).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
          return compare(a, want.dt, c.op);
        }
        if (c.op === '=') return v === want;
        if (c.op === '!=') return v !== want;
        if (v === null || want === null) return false;
        return compare(v as number | string, want as number | string, c.op);
      }
    }
  };
  const shape = (object: string, r: SfRecord, fields: string[]) => {
    const out: Record<string, unknown> = { attributes: { type: object, url: `/services/data/v62.0/sobjects/${object}/${String(r.Id)}` } };
    for (const f of fields) {
      const dot = f.indexOf('.');
      if (dot < 0) {
        out[f] = r[f] ?? null;
        continue;
      }
      const relName = f.slice(0, dot);
      const rel = RELATIONS[object]![relName]!;
      const target = r[rel[0]] ? byId.get(String(r[rel[0]])) : undefined;
      if (!target) {
        out[relName] = null;
        continue;
      }
      const nested = (out[relName] as Record<string, unknown> | undefined) ?? {
        attributes: { type: rel[1], url: `/services/data/v62.0/sobjects/${rel[1]}/${String(target.Id)}` },
      };
      nested[f.slice(dot + 1)] = target[f.slice(dot + 1)] ?? null;
      out[relName] = nested;
    }
    return out;
  };
  const page = (res: ServerResponse, version: string, locator: string, batch: number) => {
    const l = locators.get(locator)!;
    const records = l.records.slice(l.pos, l.pos + batch).map((r) => shape(l.object, r, l.fields));
    l.pos += records.length;
    const done = l.pos >= l.records.length;
    if (done) locators.delete(locator);
    send(res, 200, {
      totalSize: l.records.length,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/${version}/query/${locator}-${l.pos}` }),
      records,
    });
  };
  const batchSize = (req: IncomingMessage) => {
    const m = /batchSize=(\d+)/.exec(String(req.headers['sforce-query-options'] ?? ''));
    return m ? Math.min(2000, Math.max(200, Number(m[1]))) : 2000;
  };
  const query = (req: IncomingMessage, res: ServerResponse, version: string, soql: string, userId: string) => {
    let q: Query;
    try {
      q = parseSoql(soql);
    } catch (error) {
      const e = error as SoqlError;
      return sfError(res, 400, e.code ?? 'MALFORMED_QUERY', e.message);
    }
    let records: SfRecord[];
    const current = currentUserAccess(q, userId);
    if (current && 'error' in current) return sfError(res, 400, current.error.code, current.error.message);
    if (current) records = current.records;
    else if (q.object === 'UserPermissionAccess') {
      records = [{ Id: 'UserPermissionAccess', ...Object.fromEntries(Object.entries(integration.permissions).map(([k, v]) => [`Permissions${k}`, v])) }];
      void userId;
    } else {
      const source = org.objects[q.object];
      if (!source) return sfError(res, 400, 'INVALID_TYPE', `sObject type '${q.object}' is not supported.`);
      records = source;
    }
    const sample = records[0];
    for (const f of q.fields) if (!knownField(q.object, f, sample)) return sfError(res, 400, 'INVALID_FIELD', `No such column '${f}' on entity '${q.object}'.`);
    // The current-user objects are answered for exactly what their filter names (above).
    let out = q.where && !current ? records.filter((r) => matches(q.object, r, q.where!)) : records.slice();
    if (q.orderBy) {
      const { field, desc } = q.orderBy;
      out.sort((a, b) => (String(a[field]) < String(b[field]) ? -1 : String(a[field]) > String(b[field]) ? 1 : 0) * (desc ? -1 : 1));
    }
    if (q.limit !== null) out = out.slice(0, q.limit);
    const locator = `01g${randomBytes(6).toString('hex')}`;
    locators.set(locator, { object: q.object, fields: q.fields, records: out, pos: 0 });
    page(res, version, locator, batchSize(req));
  };

  // ---- the current user's own access (UserRecordAccess, Tooling UserEntityAccess) ----
  const sharing = new Map<string, boolean>();
  const KEY_PREFIXES: Record<string, string> = {
    '001': 'Account',
    '003': 'Contact',
    '006': 'Opportunity',
    '800': 'Contract',
    '801': 'Order',
    '0Q0': 'Quote',
    '500': 'Case',
  };
  /** The values an equality filter on `field` names (`field = 'x'` or `field IN (…)`), in an AND of conditions. */
  const filterValues = (c: Cond | null, field: string): Value[] | null => {
    if (!c) return null;
    if (c.k === 'cmp' && c.field === field && c.op === '=') return [c.value as Value];
    if (c.k === 'in' && c.field === field) return c.values;
    if (c.k === 'and')
      for (const part of c.parts) {
        const v = filterValues(part, field);
        if (v) return v;
      }
    return null;
  };
  const currentUserAccess = (q: Query, callerId: string): { records: SfRecord[] } | { error: { code: string; message: string } } | null => {
    if (q.object !== 'UserRecordAccess' && q.object !== 'UserEntityAccess') return null;
    const users = filterValues(q.where, 'UserId');
    if (!users || users.length !== 1) return { error: { code: 'MALFORMED_QUERY', message: `${q.object}: filter on a single UserId` } };
    const user = String(users[0]);
    if (user !== callerId) return { error: { code: 'INSUFFICIENT_ACCESS', message: 'this fake answers for the calling user only' } };
    const can = (object: string, action: 'read' | 'create' | 'edit' | 'delete') => this_.userCan(user, object, action);
    if (q.object === 'UserEntityAccess') {
      const objects = filterValues(q.where, 'EntityDefinition.QualifiedApiName') ?? filterValues(q.where, 'EntityDefinitionId');
      if (!objects) return { error: { code: 'MALFORMED_QUERY', message: 'UserEntityAccess: filter on the entity side too' } };
      return {
        records: objects.map((o) => ({
          Id: null,
          DurableId: `${String(o)}.${user}`,
          EntityDefinitionId: String(o),
          UserId: user,
          IsReadable: can(String(o), 'read'),
          IsCreatable: can(String(o), 'create'),
          IsEditable: can(String(o), 'edit'),
          IsDeletable: can(String(o), 'delete'),
        })),
      };
    }
    const ids = filterValues(q.where, 'RecordId');
    if (!ids || ids.length > 200) return { error: { code: 'MALFORMED_QUERY', message: 'UserRecordAccess: filter on RecordId (up to 200 ids)' } };
    return {
      records: ids.map((raw) => {
        const id = String(raw);
        const object = KEY_PREFIXES[id.slice(0, 3)] ?? '';
        const shared = sharing.get(`${user}\u0000${id}`) ?? sharing.get(`${user}\u0000${id.slice(0, 15)}`) ?? true;
        const read = shared && can(object, 'read');
        const edit = read && can(object, 'edit');
        const del = edit && can(object, 'delete');
        return {
          Id: null,
          RecordId: id,
          UserId: user,
          HasReadAccess: read,
          HasEditAccess: edit,
          HasDeleteAccess: del,
          HasTransferAccess: false,
          HasAllAccess: false,
          MaxAccessLevel: del ? 'Delete' : edit ? 'Edit' : read ? 'Read' : 'None',
        };
      }),
    };
  };

  // ---- writes ----
  const aggregateSetOf = (groupId: string) => list('PermissionSet').find((p) => p.PermissionSetGroupId === groupId && p.Type === 'Group');
  const createAttempts: FakeSalesforce['createAttempts'] = [];
  const userUpdates: FakeSalesforce['userUpdates'] = [];
  const createAssignment = (
    input: Record<string, unknown>,
  ): { ok: true; record: SfRecord } | { ok: false; errorCode: string; message: string; fields: string[] } => {
    const result = tryCreate(input);
    createAttempts.push({
      assigneeId: String(input.AssigneeId ?? ''),
      permissionSetId: input.PermissionSetId === undefined ? null : String(input.PermissionSetId),
      groupId: input.PermissionSetGroupId === undefined ? null : String(input.PermissionSetGroupId),
      ok: result.ok,
      errorCode: result.ok ? null : result.errorCode,
    });
    return result;
  };
  const tryCreate = (input: Record<string, unknown>): { ok: true; record: SfRecord } | { ok: false; errorCode: string; message: string; fields: string[] } => {
    const assignee = byId.get(String(input.AssigneeId ?? ''));
    if (!assignee || !list('User').includes(assignee))
      return { ok: false, errorCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: ['AssigneeId'] };
    let permissionSetId = input.PermissionSetId === undefined ? null : String(input.PermissionSetId);
    const groupId = input.PermissionSetGroupId === undefined ? null : String(input.PermissionSetGroupId);
    if (groupId) {
      const group = byId.get(groupId);
      if (!group || !list('PermissionSetGroup').includes(group))
        return { ok: false, errorCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: ['PermissionSetGroupId'] };
      permissionSetId = String(aggregateSetOf(groupId)?.Id ?? '');
    }
    const set = permissionSetId ? byId.get(permissionSetId) : undefined;
    if (!set || !list('PermissionSet').includes(set))
      return { ok: false, errorCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: ['PermissionSetId'] };
    if (set.IsOwnedByProfile === true)
      return {
        ok: false,
        errorCode: 'FIELD_INTEGRITY_EXCEPTION',
        message: "You can't assign a permission set that's owned by a profile.",
        fields: ['PermissionSetId'],
      };
    const refusal = refused.get(groupId ?? permissionSetId!);
    if (refusal) return { ok: false, ...refusal, fields: [] };
    if (list('PermissionSetAssignment').some((a) => a.AssigneeId === assignee.Id && a.PermissionSetId === permissionSetId))
      return { ok: false, errorCode: 'DUPLICATE_VALUE', message: 'Duplicate PermissionSetAssignment. Assignee: ' + String(assignee.Id), fields: [] };
    const record: SfRecord = {
      Id: fakeId(KEY_PREFIX.PermissionSetAssignment!),
      AssigneeId: String(assignee.Id),
      PermissionSetId: permissionSetId,
      PermissionSetGroupId: groupId,
      ExpirationDate: typeof input.ExpirationDate === 'string' ? sfDateTime(input.ExpirationDate) : null,
      IsActive: true,
      SystemModstamp: sfDateTime(now()),
    };
    list('PermissionSetAssignment').push(record);
    byId.set(String(record.Id), record);
    return { ok: true, record };
  };
  const deleteRecord = (id: string): { ok: true } | { ok: false; errorCode: string; message: string } => {
    const rows = list('PermissionSetAssignment');
    const i = rows.findIndex((r) => r.Id === id);
    if (i < 0) return { ok: false, errorCode: 'ENTITY_IS_DELETED', message: 'entity is deleted' };
    rows.splice(i, 1);
    byId.delete(id);
    return { ok: true };
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
    if (url.pathname === '/services/oauth2/token' && method === 'POST') return token(req, res);
    const who = authorised(req);
    if (!who) return sfError(res, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    if (url.pathname === '/services/oauth2/userinfo')
      return send(res, 200, { user_id: integration.id, organization_id: org.orgId, preferred_username: integration.username, email: integration.username });
    const m = /^\/services\/data\/(v\d+\.\d)(\/.*)?$/.exec(url.pathname);
    if (!m) return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
    const [, version, rest = ''] = m as unknown as [string, string, string | undefined];
    if ((rest === '/' || rest === '') && method === 'GET')
      return send(res, 200, {
        tooling: `/services/data/${version}/tooling`,
        query: `/services/data/${version}/query`,
        sobjects: `/services/data/${version}/sobjects`,
        chatter: `/services/data/${version}/chatter`,
        identity: `${baseUrl}/id/${org.orgId}/${who.userId}`,
      });
    if ((rest === '/query' || rest === '/query/' || rest === '/tooling/query' || rest === '/tooling/query/') && method === 'GET')
      return query(req, res, version, url.searchParams.get('q') ?? '', who.userId);
    const more = /^\/query\/(01g[0-9a-f]+)-(\d+)$/.exec(rest);
    if (more && method === 'GET') {
      if (!locators.has(more[1]!)) return sfError(res, 400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
      return page(res, version, more[1]!, batchSize(req));
    }
    const describe = /^\/sobjects\/(\w+)\/describe$/.exec(rest);
    if (describe && method === 'GET') {
      const object = describe[1]!;
      const sample = org.objects[object]?.[0];
      if (!org.objects[object]) return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
      const writable = object === 'PermissionSetAssignment' && integration.permissions.AssignPermissionSets === true;
      return send(res, 200, {
        name: object,
        createable: writable,
        deletable: writable,
        fields: Object.keys(sample ?? { Id: '' }).map((name) => ({
          name,
          type: typeof sample?.[name] === 'boolean' ? 'boolean' : name === 'Id' ? 'id' : 'string',
        })),
      });
    }
    if (rest === '/sobjects/PermissionSetAssignment' && method === 'POST') {
      const r = createAssignment(JSON.parse(await readBody(req)) as Record<string, unknown>);
      if (!r.ok) return send(res, 400, [{ message: r.message, errorCode: r.errorCode, fields: r.fields }]);
      if (this_.afterCreate) await this_.afterCreate(r.record);
      return send(res, 201, { id: r.record.Id, success: true, errors: [] });
    }
    const user = /^\/sobjects\/User\/(\w+)$/.exec(rest);
    if (user && method === 'PATCH') {
      const record = byId.get(user[1]!);
      if (!record || !list('User').includes(record)) return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
      if (integration.permissions.ManageUsers !== true) return sfError(res, 400, 'INSUFFICIENT_ACCESS_OR_READONLY', 'insufficient access rights on object id');
      const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      const fields = Object.keys(body);
      if (fields.some((f) => f !== 'IsActive') || typeof body.IsActive !== 'boolean')
        return sfError(res, 400, 'INVALID_FIELD_FOR_INSERT_UPDATE', `This fake updates User.IsActive only (got ${fields.join(', ')}).`);
      record.IsActive = body.IsActive;
      record.SystemModstamp = sfDateTime(now());
      userUpdates.push({ userId: String(record.Id), isActive: body.IsActive });
      return send(res, 204, undefined);
    }
    const one = /^\/sobjects\/PermissionSetAssignment\/(\w+)$/.exec(rest);
    if (one && method === 'DELETE') {
      const r = deleteRecord(one[1]!);
      return r.ok ? send(res, 204, undefined) : sfError(res, 404, r.errorCode, r.message);
    }
    if (rest === '/composite/sobjects' && method === 'POST') {
      const body = JSON.parse(await readBody(req)) as { allOrNone?: boolean; records?: Record<string, unknown>[] };
      const records = body.records ?? [];
      if (records.length > 200) return sfError(res, 400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
      if (records.some((r) => (r.attributes as { type?: string } | undefined)?.type !== 'PermissionSetAssignment'))
        return sfError(res, 400, 'INVALID_TYPE', 'This fake creates PermissionSetAssignment records only.');
      const results = records.map((r) => createAssignment(r));
      if (body.allOrNone && results.some((r) => !r.ok)) {
        for (const r of results) if (r.ok) deleteRecord(String(r.record.Id));
        return send(
          res,
          200,
          results.map((r) =>
            r.ok
              ? {
                  success: false,
                  errors: [
                    {
                      statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
                      message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
                      fields: [],
                    },
                  ],
                }
              : { success: false, errors: [{ statusCode: r.errorCode, message: r.message, fields: r.fields }] },
          ),
        );
      }
      for (const r of results) if (r.ok && this_.afterCreate) await this_.afterCreate(r.record);
      return send(
        res,
        200,
        results.map((r) =>
          r.ok
            ? { id: r.record.Id, success: true, errors: [] }
            : { success: false, errors: [{ statusCode: r.errorCode, message: r.message, fields: r.fields }] },
        ),
      );
    }
    if (rest === '/composite/sobjects' && method === 'DELETE') {
      const ids = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length > 200) return sfError(res, 400, 'EXCEEDED_ID_LIMIT', 'cannot delete more than 200 records');
      return send(
        res,
        200,
        ids.map((id) => {
          const r = deleteRecord(id);
          return r.ok ? { id, success: true, errors: [] } : { id, success: false, errors: [{ statusCode: r.errorCode, message: r.message, fields: [] }] };
        }),
      );
    }
    return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sfError(res, 500, 'UNKNOWN_EXCEPTION', error instanceof Error ? error.message : String(error));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const this_: FakeSalesforce = {
    url: baseUrl,
    org,
    log,
    createAttempts,
    userUpdates,
    fail: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    expireTokens: () => tokens.clear(),
    refuseGrants: (refuse) => void (refuseGrants = refuse),
    afterCreate: null,
    refuseAssignment: (id, error) => (error ? refused.set(id, error) : refused.delete(id)),
    assignmentsOf: (userId) => list('PermissionSetAssignment').filter((a) => a.AssigneeId === userId && a.IsActive !== false),
    userCan(userId, object, action) {
      const column = { read: 'PermissionsRead', create: 'PermissionsCreate', edit: 'PermissionsEdit', delete: 'PermissionsDelete' }[action];
      const sets = new Set<string>();
      for (const a of this_.assignmentsOf(userId)) {
        const expires = a.ExpirationDate ? Date.parse(String(a.ExpirationDate).replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : Infinity;
        if (expires <= now().getTime()) continue;
        if (a.PermissionSetGroupId)
          for (const c of list('PermissionSetGroupComponent')) if (c.PermissionSetGroupId === a.PermissionSetGroupId) sets.add(String(c.PermissionSetId));
        sets.add(String(a.PermissionSetId));
      }
      return list('ObjectPermissions').some((o) => sets.has(String(o.ParentId)) && o.SobjectType === object && o[column] === true);
    },
    sessionFor(userId) {
      const session = `${org.orgId}!${randomBytes(24).toString('base64url')}`;
      tokens.set(session, { issuedAt: now().getTime(), userId });
      return session;
    },
    shareRecord(userId, recordId, shared) {
      if (shared === null) sharing.delete(`${userId}\u0000${recordId}`);
      else sharing.set(`${userId}\u0000${recordId}`, shared);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return this_;
}

function compare(a: number | string, b: number | string, op: string): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
    case '=':
      return a === b;
    default:
      return a !== b;
  }
}

// ---------- building orgs ----------

/** The standard Permissions* fields every PermissionSet row carries in these fakes. */
export const FAKE_SYSTEM_PERMISSIONS = [
  'ApiEnabled',
  'ViewSetup',
  'ModifyAllData',
  'ViewAllData',
  'ManageUsers',
  'CustomizeApplication',
  'ModifyMetadata',
  'AuthorApex',
  'ManageAuthProviders',
  'ManageNamedCredentials',
  'ViewClientSecret',
  'UseAnyApiClient',
  'BypassMFAForUiLogins',
  'BulkApiHardDelete',
  'ExportReport',
  'AssignPermissionSets',
  'ManageRoles',
  'ManageSharing',
  'ResetPasswords',
  'ViewAllUsers',
  'ViewEncryptedData',
  'DataExport',
  'RunReports',
  'ScheduleReports',
  'EditTask',
  'EmailSingle',
] as const;

/** A builder for fake orgs: profiles, permission sets (with object, field and system permissions), groups, users, assignments. */
export class OrgBuilder {
  readonly org: FakeOrg;
  constructor(orgId: string) {
    this.org = {
      orgId,
      objects: {
        User: [],
        Profile: [],
        PermissionSet: [],
        ObjectPermissions: [],
        FieldPermissions: [],
        PermissionSetGroup: [],
        PermissionSetGroupComponent: [],
        PermissionSetAssignment: [],
      },
    };
  }

  #set(id: string, fields: SfRecord, grants: string[]): void {
    const system = Object.fromEntries(FAKE_SYSTEM_PERMISSIONS.map((p) => [`Permissions${p}`, grants.includes(`system:${p}`)]));
    this.org.objects.PermissionSet!.push({
      Id: id,
      Type: 'Regular',
      IsOwnedByProfile: false,
      ProfileId: null,
      PermissionSetGroupId: null,
      SystemModstamp: sfDateTime('2025-01-01T00:00:00Z'),
      ...fields,
      ...system,
    });
    const objects = new Map<string, Set<string>>();
    for (const k of grants) {
      const m = /^object:(\w+):(\w+)$/.exec(k);
      if (m) (objects.get(m[1]!) ?? objects.set(m[1]!, new Set()).get(m[1]!)!).add(m[2]!);
      const f = /^field:(\w+)\.(\w+):(read|edit)$/.exec(k);
      if (f)
        this.org.objects.FieldPermissions!.push({
          Id: fakeId('01k'),
          ParentId: id,
          SobjectType: f[1]!,
          Field: `${f[1]}.${f[2]}`,
          PermissionsRead: true,
          PermissionsEdit: f[3] === 'edit',
        });
    }
    for (const [object, actions] of objects)
      this.org.objects.ObjectPermissions!.push({
        Id: fakeId('110'),
        ParentId: id,
        SobjectType: object,
        PermissionsRead: actions.has('read'),
        PermissionsCreate: actions.has('create'),
        PermissionsEdit: actions.has('edit'),
        PermissionsDelete: actions.has('delete'),
        PermissionsViewAllRecords: actions.has('viewAll'),
        PermissionsModifyAllRecords: actions.has('modifyAll'),
      });
  }

  /** A profile and its own permission set; returns the profile id. */
  profile(id: string, name: string, grants: string[], ownSetId = fakeId('0PS')): string {
    this.org.objects.Profile!.push({ Id: id, Name: name });
    this.#set(ownSetId, { Name: `X${id}`, Label: name, Type: 'Profile', IsOwnedByProfile: true, ProfileId: id }, grants);
    return id;
  }

  permissionSet(id: string, label: string, grants: string[]): string {
    this.#set(id, { Name: label.replace(/\W+/g, '_'), Label: label }, grants);
    return id;
  }

  /** A muting permission set inside a group (AccessLens does not subtract it: a warning). */
  mutingSet(id: string, label: string): string {
    this.#set(id, { Name: label.replace(/\W+/g, '_'), Label: label, Type: 'Muting' }, []);
    return id;
  }

  group(id: string, label: string, setIds: string[]): string {
    this.org.objects.PermissionSetGroup!.push({ Id: id, DeveloperName: label.replace(/\W+/g, '_'), MasterLabel: label, Status: 'Updated' });
    this.#set(fakeId('0PS'), { Name: `Group_${id}`, Label: label, Type: 'Group', PermissionSetGroupId: id }, []);
    for (const s of setIds) this.org.objects.PermissionSetGroupComponent!.push({ Id: fakeId('0PC'), PermissionSetGroupId: id, PermissionSetId: s });
    return id;
  }

  /** A user with their profile assignment. */
  user(u: { id: string; username: string; email: string; profileId: string; active?: boolean; lastLoginAt?: string | null; createdAt?: string }): string {
    this.org.objects.User!.push({
      Id: u.id,
      Username: u.username,
      Email: u.email,
      IsActive: u.active ?? true,
      UserType: 'Standard',
      ProfileId: u.profileId,
      LastLoginDate: u.lastLoginAt ? sfDateTime(u.lastLoginAt) : null,
      CreatedDate: sfDateTime(u.createdAt ?? '2024-01-01T00:00:00Z'),
      SystemModstamp: sfDateTime(u.createdAt ?? '2024-01-01T00:00:00Z'),
    });
    const own = this.org.objects.PermissionSet!.find((p) => p.ProfileId === u.profileId && p.IsOwnedByProfile === true);
    if (own) this.assign(u.id, String(own.Id));
    return u.id;
  }

  /** Assigns a permission set (or, with `group`, a permission set group). */
  assign(userId: string, setOrGroupId: string, options: { group?: boolean; expiresAt?: string | null; at?: string; id?: string } = {}): string {
    const id = options.id ?? fakeId('0Pa');
    const aggregate = options.group ? this.org.objects.PermissionSet!.find((p) => p.PermissionSetGroupId === setOrGroupId && p.Type === 'Group') : null;
    this.org.objects.PermissionSetAssignment!.push({
      Id: id,
      AssigneeId: userId,
      PermissionSetId: options.group ? String(aggregate?.Id ?? '') : setOrGroupId,
      PermissionSetGroupId: options.group ? setOrGroupId : null,
      ExpirationDate: options.expiresAt ? sfDateTime(options.expiresAt) : null,
      IsActive: true,
      SystemModstamp: sfDateTime(options.at ?? '2025-01-01T00:00:00Z'),
    });
    return id;
  }
}
