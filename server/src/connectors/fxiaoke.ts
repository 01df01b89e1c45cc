/**
 * The Fxiaoke (纷享销客, ShareCRM) connector: the open API (open.fxiaoke.com) over `fetch`. Reads
 * employees (with their departments), CRM roles and which roles each employee holds; grants by adding a
 * role to an employee and revokes by taking it away again. Fxiaoke is treated as granting only by
 * changing a user's roles (`replacesWholeProfile`): by default a grant is an admin task unless the
 * connection's `automaticChange` is on.
 *
 * What a role grants: Fxiaoke's roles carry 功能权限 (per object: view, create, edit, delete…), but no
 * open API we could find returns them. So a role's permission keys are what an administrator maps in
 * the connection's settings, `roleKeys: {"<roleCode>": ["object:AccountObj:read", …]}` (object API names
 * as the CRM's pages show them); a role without a mapping grants no keys, and each import says which
 * roles those are.
 *
 * Sources (the fake in test/fakes/fxiaoke.ts cites the same), read in public copies of Fxiaoke's
 * developer manual (https://developer.fxiaoke.com/openapi_v2/…) and public SDKs and code:
 * - App token, "获取应用级授权" (start/auth/app-info.html; api-evangelist/fxiaoke authentication profile):
 *   POST /oauth2.0/token?thirdTraceId= `{appId, appSecret, permanentCode, grantType: "app_secret"}` →
 *   `{errorCode: 0, accessToken, expiresIn (7200 s), ea, openUserId, appId, traceId}`; refused: a non-zero
 *   errorCode. Every other call sends `authorization: Bearer {accessToken}`, `x-fs-ea: {ea}` and
 *   `x-fs-userid: {the acting employee's id}` ("接口调用说明", start/example/public.html), and a fresh
 *   UUID as `thirdTraceId`.
 * - Errors ("全局返回码", start/guide/codes.html): HTTP is 200 whatever happens; `errorCode` 0 is success;
 *   20016 "corpAccessToken 不存在或者已经过期" (also the Fxiaoke open platform demo's Constants,
 *   com.facishare.open.demo); 30004 秒频次超限 and 14001 接口调用超过限制 (100 calls / 20 s per API,
 *   "频次限制说明", start/guide/rate.html); 30002 当天访问频次超限 (resets at midnight, China time);
 *   30003 no open API quota bought; 15003, 20014, 20020–20023 the app may not do that.
 * - Employees, "获取部门下成员信息(详细)" (common/address/user/list.html; also k8scat/fxiaoke user.go):
 *   POST /cgi/user/list `{departmentId, fetchChild, showDepartmentIdsDetail}` (not wrapped in `data`) →
 *   `{userList: [{openUserId, account, name, nickName, isStop, email, mobile, departmentIds,
 *   mainDepartmentId, createTime (ms)}]}`. `999999` is the whole company (the manual also says 0 elsewhere:
 *   `rootDepartmentId` setting).
 * - Departments, the DepartmentObj object through "查询对象数据" (POST /cgi/crm/v2/data/query `{data:
 *   {dataObjectApiName: "DepartmentObj", search_query_info: {limit, offset, filters, orders,
 *   fieldProjection}}}` → `{data: {dataList: [{_id, name, status}], total}}`); status 0 = enabled, and
 *   employees of a department that is not enabled cannot sign in (old wiki 1079).
 * - Roles, "获取角色列表" (common/address/role/list.html): POST /cgi/crm/v2/special/roleGetRoleList
 *   `{data: {AuthContext: {appId: "CRM"}}}` → `{data: [{roleCode, roleName, groupName, roleType, appId,
 *   description, delFlag}]}`.
 * - Adding roles, "批量添加用户的角色(增量)": POST /cgi/crm/v2/special/batchAddUserRole `{data: {userIds,
 *   roleCodes, updateMajorRole}}` (as public integration code sends it).
 *
 * GUESSED shapes (no public page gives them; all in `FX_SHAPES` below, to correct in one place):
 * - "获取用户对应的角色" POST /cgi/crm/v2/special/getRolesByUsers: request `{data: {userIds, AuthContext}}`;
 *   response `data` read as a map `{userId: [{roleCode, roleName, majorRole}]}` (also accepted: role codes
 *   as strings, or a list of `{userId, roleCodes | roles}`).
 * - "删除指定角色的人员" POST /cgi/crm/v2/special/deleteByUserIds: request `{data: {roleCode, userIds,
 *   AuthContext}}`.
 * - Which host serves the API for every cloud (`apiBase`, default https://open.fxiaoke.com), and whether a
 *   repeated `thirdTraceId` (a retried call) is refused.
 */
import { randomUUID } from 'node:crypto';
import { parsePermissionKey } from '@accesslens/shared';
import { z } from 'zod';
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
  type GrantOperation,
  type GrantOutcome,
  type ReadProgress,
  type RevokeOperation,
  type RevokeOutcome,
  type StoredToken,
  type TestReport,
} from './types.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });
const required = text().trim().min(1, 'is required');

const permissionKey = text().superRefine((key, ctx) => {
  const parsed = parsePermissionKey(key);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
});

export const fxiaokeSettings = z
  .object({
    /** The open API's host (Fxiaoke's other clouds, or a test server on this machine). */
    apiBase: text()
      .trim()
      .url('must be a URL such as https://open.fxiaoke.com')
      .refine((u) => {
        const url = new URL(u);
        return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
      }, 'must be https:// (http:// only for a test server on this machine)')
      .transform((u) => u.replace(/\/+$/, ''))
      .default('https://open.fxiaoke.com'),
    /** The employee id (员工ID) the app acts as (`x-fs-userid`): a CRM administrator. */
    actingUserId: required,
    /** The department whose employees (with every department below it) are read: the whole company. */
    rootDepartmentId: z.number().int().min(0).default(999999),
    /** The `AuthContext.appId` of role calls. */
    roleAppId: required.default('CRM'),
    /** Employees per "roles of users" call. */
    batchSize: z.number().int().min(1).max(500).default(100),
    /** What each role grants, in AccessLens keys, by role code: the open API does not say (see above). */
    roleKeys: z.record(text().min(1, 'must name a role code'), z.array(permissionKey)).default({}),
  })
  .loose();
export type FxiaokeSettings = z.infer<typeof fxiaokeSettings>;

/** A self-built app (企业自建应用) with developer mode on: its appId, appSecret and the company's permanentCode. */
export const fxiaokeCredentials = z.object({ appId: required, appSecret: required, permanentCode: required });
export type FxiaokeCredentials = z.infer<typeof fxiaokeCredentials>;

type Ctx = ConnectorContext<FxiaokeSettings, FxiaokeCredentials>;
type Json = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const codeOf = (body: unknown): number | null => {
  const c = obj(body).errorCode;
  return typeof c === 'number' ? c : typeof c === 'string' && /^-?\d+$/.test(c) ? Number(c) : null;
};

/** errorCode 20016: the token does not exist or expired. */
export const FX_TOKEN_EXPIRED = 20016;
const RATE_LIMITED = new Set([30004, 14001]);
const DAILY_QUOTA = 30002;
const NO_PERMISSION = new Set([15003, 20014, 20020, 20021, 20022, 20023, 30003]);
/** -1 系统繁忙, -2 系统错误, 50009 服务异常 (e.g. a time-out): worth trying again. */
const PASSING = new Set([-1, -2, 50009]);

/**
 * The request and response shapes no public document gives (see the header): one place to correct.
 */
export const FX_SHAPES = {
  rolesOfUsers: (userIds: string[], appId: string) => ({ data: { userIds, AuthContext: { appId } } }),
  /** `{userId: roles}` from getRolesByUsers' `data`; a role is a code or `{roleCode, majorRole}`. */
  parseRolesOfUsers(data: unknown): Map<string, { roleCode: string; major: boolean }[]> {
    const out = new Map<string, { roleCode: string; major: boolean }[]>();
    const roles = (list: unknown) =>
      (Array.isArray(list) ? list : [])
        .map((r) => (typeof r === 'string' ? { roleCode: r, major: false } : { roleCode: str(obj(r).roleCode) ?? '', major: obj(r).majorRole === true }))
        .filter((r) => r.roleCode !== '');
    if (Array.isArray(data)) for (const e of data.map(obj)) out.set(String(str(e.userId) ?? ''), roles(e.roleCodes ?? e.roles));
    else for (const [userId, list] of Object.entries(obj(data))) out.set(userId, roles(list));
    out.delete('');
    return out;
  },
  addRole: (userId: string, roleCode: string) => ({ data: { userIds: [userId], roleCodes: [roleCode], updateMajorRole: false } }),
  removeRole: (userId: string, roleCode: string, appId: string) => ({ data: { roleCode, userIds: [userId], AuthContext: { appId } } }),
};

/** Milliseconds until the next midnight in China (UTC+8), when Fxiaoke's daily quota resets. */
function untilChinaMidnight(now: Date): number {
  const china = now.getTime() + 8 * 3600_000;
  return 86_400_000 - (china % 86_400_000);
}

function failure(body: unknown, what: string, now: Date): CrmError {
  const code = codeOf(body);
  const b = obj(body);
  const detail = `${code ?? '?'}: ${str(b.errorMessage) ?? str(b.errorDescription) ?? describe(body)}`;
  if (code === DAILY_QUOTA)
    return new CrmError('rate-limited', `${what}: Fxiaoke's daily open API quota is used up (${detail}); it resets at midnight China time.`, {
      code: String(code),
      retryAfterMs: untilChinaMidnight(now),
    });
  if (code !== null && NO_PERMISSION.has(code))
    return new CrmError('refused', `${what}: Fxiaoke does not let the app do this (${detail}).`, { code: String(code) });
  if (code !== null && PASSING.has(code)) return new CrmError('unavailable', `${what}: Fxiaoke is busy (${detail}).`, { code: String(code) });
  return new CrmError(code === null ? 'protocol' : 'refused', `${what}: Fxiaoke answered ${detail}.`, code === null ? {} : { code: String(code) });
}

async function authenticate(ctx: Omit<Ctx, 'tokens'>, _previous: StoredToken | null): Promise<StoredToken> {
  const c = ctx.credentials;
  const res = await ctx.http.request(`${ctx.connection.settings.apiBase}/oauth2.0/token?thirdTraceId=${randomUUID()}`, {
    method: 'POST',
    anonymous: true,
    body: { appId: c.appId, appSecret: c.appSecret, permanentCode: c.permanentCode, grantType: 'app_secret' },
  });
  const body = obj(res.body);
  const code = codeOf(body);
  if (res.status === 200 && code === 0 && typeof body.accessToken === 'string' && str(body.ea)) {
    const seconds = Number(body.expiresIn);
    return {
      accessToken: body.accessToken,
      instanceUrl: null,
      expiresAt: new Date(ctx.now().getTime() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 7200) * 1000).toISOString(),
      extra: { ea: str(body.ea)!, ...(str(body.openUserId) ? { openUserId: str(body.openUserId)! } : {}) },
    };
  }
  if (res.status === 200 && code !== null && code !== 0 && !RATE_LIMITED.has(code) && code !== DAILY_QUOTA && !PASSING.has(code))
    throw new CrmError('auth', `Fxiaoke refused the app's credentials (${code}: ${str(body.errorMessage) ?? ''}).`, { status: res.status, code: String(code) });
  throw failure(res.body, 'Token', ctx.now());
}

const isAuthFailureBody = (_status: number, body: unknown) => codeOf(body) === FX_TOKEN_EXPIRED;
const isRateLimitBody = (_status: number, body: unknown) => {
  const code = codeOf(body);
  return code !== null && RATE_LIMITED.has(code);
};

const assignmentId = (userId: string, roleCode: string) => `${userId}:${roleCode}`;

class FxiaokeClient implements CrmClient {
  constructor(private readonly ctx: Ctx) {}

  get #settings() {
    return this.ctx.connection.settings;
  }

  /** One open API call: errorCode 0 or a CrmError. */
  async call(path: string, body: unknown, what: string): Promise<Json> {
    const res = await this.ctx.http.request(`${this.#settings.apiBase}${path}?thirdTraceId=${randomUUID()}`, {
      method: 'POST',
      body,
      // `ea` comes with the token: worked out once the token is there (or after its refresh).
      attemptHeaders: async () => ({ 'x-fs-ea': (await this.ctx.tokens.get())?.extra?.ea ?? '', 'x-fs-userid': this.#settings.actingUserId }),
    });
    if (res.status !== 200)
      throw new CrmError(
        res.status === 403 || res.status === 404 ? 'refused' : 'protocol',
        `${what}: Fxiaoke answered HTTP ${res.status} (${describe(res.body)}).`,
        { status: res.status },
      );
    if (codeOf(res.body) !== 0) throw failure(res.body, what, this.ctx.now());
    return obj(res.body);
  }

  async employees(): Promise<Json[]> {
    const body = await this.call(
      '/cgi/user/list',
      { departmentId: this.#settings.rootDepartmentId, fetchChild: true, showDepartmentIdsDetail: true },
      'List employees',
    );
    if (!Array.isArray(body.userList)) throw new CrmError('protocol', `Fxiaoke listed employees without userList (${describe(body)}).`);
    return body.userList.map(obj);
  }

  /** Departments that are not enabled (status ≠ 0): their employees cannot sign in. */
  async disabledDepartments(): Promise<Set<string>> {
    const disabled = new Set<string>();
    const limit = 100;
    for (let offset = 0; ; offset += limit) {
      const body = await this.call(
        '/cgi/crm/v2/data/query',
        {
          data: {
            dataObjectApiName: 'DepartmentObj',
            search_query_info: { limit, offset, filters: [], orders: [{ fieldName: '_id', isAsc: true }], fieldProjection: ['_id', 'name', 'status'] },
          },
        },
        'Query departments',
      );
      const list = Array.isArray(obj(body.data).dataList) ? (obj(body.data).dataList as unknown[]).map(obj) : [];
      for (const d of list) if (str(d._id) && str(d.status) !== null && str(d.status) !== '0') disabled.add(str(d._id)!);
      if (list.length < limit || offset + limit >= 10_000) return disabled;
    }
  }

  async roles(): Promise<Json[]> {
    const body = await this.call('/cgi/crm/v2/special/roleGetRoleList', { data: { AuthContext: { appId: this.#settings.roleAppId } } }, 'List roles');
    if (!Array.isArray(body.data)) throw new CrmError('protocol', `Fxiaoke listed roles without data (${describe(body)}).`);
    return body.data.map(obj).filter((r) => str(r.roleCode) !== null && r.delFlag !== true && str(r.delFlag) !== '1');
  }

  async rolesOf(userIds: string[]): Promise<Map<string, { roleCode: string; major: boolean }[]>> {
    const out = new Map<string, { roleCode: string; major: boolean }[]>();
    for (let i = 0; i < userIds.length; i += this.#settings.batchSize) {
      const batch = userIds.slice(i, i + this.#settings.batchSize);
      const body = await this.call('/cgi/crm/v2/special/getRolesByUsers', FX_SHAPES.rolesOfUsers(batch, this.#settings.roleAppId), 'Roles of employees');
      for (const [userId, roles] of FX_SHAPES.parseRolesOfUsers(body.data)) out.set(userId, roles);
    }
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
    const readRoles = await attempt('sign-in', 'Signed in to the Fxiaoke open API and listed CRM roles (角色).', async () => {
      await this.roles();
    });
    if (!readRoles) return { identity: null, canRead: false, canProvision: false, checks };
    let username: string | null = null;
    const readUsers = await attempt('read-users', 'Can list employees (通讯录).', async () => {
      const me = (await this.employees()).find((e) => str(e.openUserId) === this.#settings.actingUserId);
      if (!me) throw new Error(`The acting employee ${this.#settings.actingUserId} is not among the employees the app can see.`);
      username = str(me.email) ?? str(me.account) ?? str(me.name);
    });
    const readAssignments = await attempt('read-user-roles', "Can read employees' roles.", async () => {
      await this.rolesOf([this.#settings.actingUserId]);
    });
    await attempt('read-departments', 'Can read departments (DepartmentObj): employees of a disabled department count as inactive.', async () => {
      await this.disabledDepartments();
    });
    const canRead = readUsers && readAssignments;
    // The open API offers no way to check the right to set roles short of setting one.
    checks.push({
      id: 'set-roles',
      ok: true,
      message: "Not checkable without changing a role: the app needs the right to set employees' roles (角色管理); the first grant shows whether it has it.",
    });
    return { identity: { userId: this.#settings.actingUserId, username, tenant: null }, canRead, canProvision: canRead, checks };
  }

  async read(_cursor: unknown, progress: (p: ReadProgress) => void) {
    const counts: ReadProgress = { phase: 'users', users: 0, bundles: 0, assignments: 0 };
    const warnings: string[] = [];
    const employees = await this.employees();
    let disabled = new Set<string>();
    try {
      disabled = await this.disabledDepartments();
    } catch (error) {
      if (error instanceof CrmError && (error.kind === 'auth' || error.kind === 'rate-limited' || error.kind === 'unavailable')) throw error;
      warnings.push(
        `Could not read departments (${error instanceof Error ? error.message : String(error)}); employees of disabled departments were not marked inactive.`,
      );
    }
    const users: CrmUser[] = [];
    for (const e of employees) {
      const id = str(e.openUserId);
      if (!id) continue;
      const main = str(e.mainDepartmentId);
      users.push({
        externalId: id,
        // Names are kept exactly as Fxiaoke has them (Chinese included).
        username: str(e.email) ?? str(e.account) ?? str(e.name) ?? id,
        email: str(e.email),
        active: e.isStop !== true && !(main !== null && disabled.has(main)),
        createdAt: typeof e.createTime === 'number' ? new Date(e.createTime).toISOString() : null,
      });
    }
    counts.users = users.length;
    progress({ ...counts });

    counts.phase = 'bundles';
    const mapped = this.#settings.roleKeys;
    const roles = await this.roles();
    const bundles: CrmBundle[] = roles.map((r) => ({
      externalId: str(r.roleCode)!,
      kind: 'role',
      name: str(r.roleName) ?? str(r.roleCode)!,
      permissions: [...new Set(mapped[str(r.roleCode)!] ?? [])],
      includes: [],
      assignable: true,
    }));
    counts.bundles = bundles.length;
    progress({ ...counts });
    const unknownCodes = Object.keys(mapped).filter((code) => !bundles.some((b) => b.externalId === code));
    if (unknownCodes.length > 0) warnings.push(`settings.roleKeys names roles Fxiaoke does not list: ${unknownCodes.join(', ')}.`);

    counts.phase = 'assignments';
    progress({ ...counts });
    const known = new Set(bundles.map((b) => b.externalId));
    const assignments: CrmAssignment[] = [];
    const held = new Set<string>();
    let unknown = 0;
    const byUser = await this.rolesOf(users.map((u) => u.externalId));
    for (const u of users)
      for (const r of byUser.get(u.externalId) ?? []) {
        if (!known.has(r.roleCode)) {
          unknown++;
          continue;
        }
        held.add(r.roleCode);
        assignments.push({
          externalId: assignmentId(u.externalId, r.roleCode),
          userExternalId: u.externalId,
          bundleExternalId: r.roleCode,
          grantedAt: null,
          expiresAt: null,
        });
      }
    counts.assignments = assignments.length;
    progress({ ...counts });
    if (unknown > 0) warnings.push(`${unknown} role assignments name a role Fxiaoke does not list; skipped.`);
    const blind = bundles.filter((b) => held.has(b.externalId) && b.permissions.length === 0).map((b) => `${b.name} (${b.externalId})`);
    if (blind.length > 0)
      warnings.push(
        `Fxiaoke's open API does not say what a role grants; these roles are held but have no keys mapped in settings.roleKeys: ${blind.join(', ')}.`,
      );
    return {
      users: { complete: true, items: users },
      bundles: { complete: true, items: bundles },
      assignments: { complete: true, items: assignments },
      cursor: null,
      warnings,
    };
  }

  async holdings(userExternalId: string): Promise<CrmHolding[]> {
    const roles = (await this.rolesOf([userExternalId])).get(userExternalId) ?? [];
    return roles.map((r) => ({ externalId: assignmentId(userExternalId, r.roleCode), bundleExternalId: r.roleCode, expiresAt: null }));
  }

  async grant(op: GrantOperation): Promise<GrantOutcome[]> {
    const out: GrantOutcome[] = [];
    // One role per call: each outcome is its own (a refusal of one leaves the others).
    for (const b of op.bundles) {
      if (b.kind !== 'role') {
        out.push({ bundleExternalId: b.externalId, ok: false, error: new CrmError('refused', `Fxiaoke has no ${b.kind} to assign.`) });
        continue;
      }
      try {
        await this.call(
          '/cgi/crm/v2/special/batchAddUserRole',
          FX_SHAPES.addRole(op.userExternalId, b.externalId),
          `Add role ${b.externalId} to ${op.userExternalId}`,
        );
        out.push({ bundleExternalId: b.externalId, ok: true, externalId: assignmentId(op.userExternalId, b.externalId) });
      } catch (error) {
        out.push({ bundleExternalId: b.externalId, ok: false, error: refusalOf(error) });
      }
    }
    return out;
  }

  async revoke(op: RevokeOperation): Promise<RevokeOutcome[]> {
    const out: RevokeOutcome[] = [];
    for (const a of op.assignments) {
      try {
        await this.call(
          '/cgi/crm/v2/special/deleteByUserIds',
          FX_SHAPES.removeRole(op.userExternalId, a.bundleExternalId, this.#settings.roleAppId),
          `Remove role ${a.bundleExternalId} from ${op.userExternalId}`,
        );
        out.push({ externalId: a.externalId, ok: true });
      } catch (error) {
        out.push({ externalId: a.externalId, ok: false, error: refusalOf(error) });
      }
    }
    return out;
  }
}

export const fxiaokeConnector: ConnectorDefinition<FxiaokeSettings, FxiaokeCredentials> = {
  kind: 'fxiaoke',
  settingsSchema: fxiaokeSettings,
  credentialsSchema: fxiaokeCredentials,
  replacesWholeProfile: true,
  canProvision: true,
  supportsExpiration: false,
  isRateLimitBody,
  isAuthFailureBody,
  authenticate,
  open: (ctx) => new FxiaokeClient(ctx),
};
