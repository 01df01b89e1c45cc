/**
 * A fake Fxiaoke (纷享销客) company on loopback (real HTTP): the open API calls the Fxiaoke connector
 * (server/src/connectors/fxiaoke.ts) makes — nothing more. Sources as the connector's header cites them
 * (public copies of https://developer.fxiaoke.com/openapi_v2/…, public SDKs and code); GUESSED shapes
 * are marked so and match the connector's `FX_SHAPES`:
 *
 * - POST /oauth2.0/token?thirdTraceId= `{appId, appSecret, permanentCode, grantType: "app_secret"}`
 *   ("获取应用级授权", start/auth/app-info.html) → `{errorCode: 0, errorMessage: "success", accessToken,
 *   expiresIn: 7200, ea, openUserId, appId, traceId}`; wrong credentials → `{errorCode: 20015 | 10006,
 *   errorMessage}` — always HTTP 200 ("全局返回码", start/guide/codes.html, and probes quoted there).
 * - Every other call: headers `authorization: Bearer {accessToken}`, `x-fs-ea`, `x-fs-userid`
 *   ("接口调用说明", start/example/public.html) and a `thirdTraceId` query parameter; an unknown or expired
 *   token → HTTP 200 `{errorCode: 20016, errorMessage: "the cropId,cropAccessToken or authorization is
 *   error"}` (probe quoted in "全局返回码"; the open platform demo's Constants: 20016 corpAccessToken 不存在或者已经过期).
 * - POST /cgi/user/list `{departmentId, fetchChild, showDepartmentIdsDetail}` ("获取部门下成员信息(详细)")
 *   → `{errorCode: 0, userList: [{openUserId, account, name, nickName, isStop, email, mobile,
 *   departmentIds, mainDepartmentId, createTime}]}`; 999999 = the whole company.
 * - POST /cgi/crm/v2/data/query with `dataObjectApiName: "DepartmentObj"` ("查询对象数据"; old wiki 1079) →
 *   `{errorCode: 0, data: {dataList: [{_id, name, parent_id, status}], total}}` (status "0" enabled).
 * - POST /cgi/crm/v2/special/roleGetRoleList `{data: {AuthContext: {appId}}}` ("获取角色列表") →
 *   `{errorCode: 0, data: [{roleCode, roleName, groupName, roleType, appId, description, delFlag}]}`.
 * - POST /cgi/crm/v2/special/getRolesByUsers — GUESSED: `{data: {userIds, AuthContext}}` →
 *   `{errorCode: 0, data: {"<userId>": [{roleCode, roleName, majorRole}]}}`.
 * - POST /cgi/crm/v2/special/batchAddUserRole `{data: {userIds, roleCodes, updateMajorRole}}` (public
 *   integration code) → `{errorCode: 0}`; an unknown role or employee → `{errorCode: 32000}` (参数错误).
 * - POST /cgi/crm/v2/special/deleteByUserIds — GUESSED: `{data: {roleCode, userIds, AuthContext}}` →
 *   `{errorCode: 0}`.
 * - Limits ("频次限制说明", start/guide/rate.html): `{errorCode: 30004}` 秒频次超限 (HTTP 200) when a test
 *   injects it; the fake can also answer HTTP 429 with Retry-After.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_CRMS, keysOf } from '@accesslens/server/seed/demo-crms';

export interface FxEmployee {
  id: string;
  name: string;
  email: string | null;
  account: string;
  isStop: boolean;
  department: string;
  createTime: number;
}

export interface FxCompany {
  ea: string;
  departments: { id: string; name: string; status: '0' | '1' | '2' }[];
  employees: FxEmployee[];
  roles: { roleCode: string; roleName: string; roleType: number }[];
  /** Employee id → role codes (the first is the major role). */
  userRoles: Record<string, string[]>;
}

export interface Fault {
  path: RegExp;
  /** HTTP status (default 200, as Fxiaoke answers errors). */
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
  times?: number;
}

export interface FakeFxiaoke {
  url: string;
  company: FxCompany;
  log: { path: string; traceId: string | null; ea: string | null; userId: string | null }[];
  /** Every role change asked (accepted or not). */
  changes: { op: 'add' | 'remove'; userId: string; roleCode: string; ok: boolean }[];
  tokensIssued: number;
  fail(fault: Fault): void;
  /** Every token issued so far stops working (errorCode 20016). */
  expireTokens(): void;
  /** The token endpoint refuses the app (errorCode 20015). */
  refuseGrants(refuse: boolean): void;
  /** Adding this role fails with this errorCode. */
  refuseRole(roleCode: string, error: { errorCode: number; errorMessage: string } | null): void;
  rolesOf(userId: string): string[];
  close(): Promise<void>;
}

export async function startFakeFxiaoke(options: {
  company: FxCompany;
  apps: { appId: string; appSecret: string; permanentCode: string }[];
}): Promise<FakeFxiaoke> {
  const company = options.company;
  const tokens = new Set<string>();
  const faults: (Fault & { left: number })[] = [];
  const refusedRoles = new Map<string, { errorCode: number; errorMessage: string }>();
  let refuseGrants = false;
  let baseUrl = '';
  const log: FakeFxiaoke['log'] = [];
  const changes: FakeFxiaoke['changes'] = [];

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const ok = (res: ServerResponse, extra: Record<string, unknown> = {}) =>
    send(res, 200, { errorCode: 0, errorMessage: 'success', errorDescription: '成功', traceId: `E-O.${randomBytes(4).toString('hex')}`, ...extra });
  const fail = (res: ServerResponse, errorCode: number, errorMessage: string) =>
    send(res, 200, { errorCode, errorMessage, traceId: `E-O.${randomBytes(4).toString('hex')}` });
  const readJson = (req: IncomingMessage) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, any>);
        } catch (e) {
          reject(e);
        }
      });
      req.on('error', reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', baseUrl);
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : null);
    log.push({ path: url.pathname, traceId: url.searchParams.get('thirdTraceId'), ea: header('x-fs-ea'), userId: header('x-fs-userid') });
    if (req.method !== 'POST') return send(res, 404, 'not found');
    const fault = faults.find((f) => f.left > 0 && f.path.test(url.pathname));
    if (fault) {
      fault.left--;
      return send(res, fault.status ?? 200, fault.body, fault.headers);
    }
    if (!url.searchParams.get('thirdTraceId')) return fail(res, 32000, 'thirdTraceId is required');
    const body = await readJson(req);

    if (url.pathname === '/oauth2.0/token') {
      const app = options.apps.find((a) => a.appId === body.appId);
      if (!app || app.appSecret !== body.appSecret) return fail(res, 10006, 'the parameter appSecret is missing or illegal');
      if (refuseGrants || app.permanentCode !== body.permanentCode || body.grantType !== 'app_secret') return fail(res, 20015, '永久授权码错误');
      const t = randomBytes(16).toString('hex').toUpperCase();
      tokens.add(t);
      fake.tokensIssued++;
      return ok(res, { accessToken: t, expiresIn: 7200, ea: company.ea, openUserId: `FSCID_${company.ea}`, appId: app.appId });
    }

    const m = /^Bearer (.+)$/i.exec(header('authorization') ?? '');
    if (!m || !tokens.has(m[1]!) || header('x-fs-ea') !== company.ea) return fail(res, 20016, 'the cropId,cropAccessToken or authorization is error');
    const actor = header('x-fs-userid');
    if (!actor || !company.employees.some((e) => e.id === actor)) return fail(res, 20012, 'openUserId 未找到');

    switch (url.pathname) {
      case '/cgi/user/list': {
        const dept = Number(body.departmentId);
        const inScope = (e: FxEmployee) => dept === 999999 || e.department === String(dept);
        return ok(res, {
          userList: company.employees.filter(inScope).map((e) => ({
            openUserId: e.id,
            account: e.account,
            name: e.name,
            nickName: e.name,
            isStop: e.isStop,
            email: e.email ?? '',
            mobile: '',
            departmentIds: [Number(e.department)],
            ...(body.showDepartmentIdsDetail ? { mainDepartmentId: Number(e.department), attachingDepartmentIds: [] } : {}),
            createTime: e.createTime,
          })),
        });
      }
      case '/cgi/crm/v2/data/query': {
        const q = body.data ?? {};
        if (q.dataObjectApiName !== 'DepartmentObj') return fail(res, 32000, '参数错误');
        const info = q.search_query_info ?? {};
        const limit = Math.min(100, Number(info.limit ?? 20));
        const offset = Number(info.offset ?? 0);
        if (offset > 10000) return fail(res, 10013, 'offset不能超过10000');
        const list = company.departments.slice(offset, offset + limit).map((d) => ({ _id: d.id, name: d.name, parent_id: ['999999'], status: d.status }));
        return ok(res, { data: { dataList: list, total: company.departments.length } });
      }
      case '/cgi/crm/v2/special/roleGetRoleList':
        if (body.data?.AuthContext?.appId !== 'CRM') return fail(res, 32000, '参数错误');
        return ok(res, {
          data: company.roles.map((r) => ({
            roleCode: r.roleCode,
            roleName: r.roleName,
            groupName: 'CRM',
            roleType: r.roleType,
            appId: 'CRM',
            description: '',
            delFlag: false,
          })),
        });
      case '/cgi/crm/v2/special/getRolesByUsers': {
        // GUESSED shape (see the header).
        const ids = body.data?.userIds;
        if (!Array.isArray(ids) || ids.length === 0) return fail(res, 32000, '参数错误');
        const data: Record<string, unknown> = {};
        for (const id of ids as string[]) {
          const codes = company.userRoles[id] ?? [];
          data[id] = codes.map((c, i) => ({ roleCode: c, roleName: company.roles.find((r) => r.roleCode === c)?.roleName ?? c, majorRole: i === 0 }));
        }
        return ok(res, { data });
      }
      case '/cgi/crm/v2/special/batchAddUserRole': {
        const d = body.data ?? {};
        const userIds = d.userIds as string[] | undefined;
        const roleCodes = d.roleCodes as string[] | undefined;
        if (!Array.isArray(userIds) || !Array.isArray(roleCodes)) return fail(res, 32000, '参数错误');
        for (const userId of userIds)
          for (const code of roleCodes) {
            const refused = refusedRoles.get(code);
            const known = company.roles.some((r) => r.roleCode === code) && company.employees.some((e) => e.id === userId);
            changes.push({ op: 'add', userId, roleCode: code, ok: known && !refused });
            if (refused) return fail(res, refused.errorCode, refused.errorMessage);
            if (!known) return fail(res, 32000, '参数错误');
            const held = (company.userRoles[userId] ??= []);
            if (!held.includes(code)) held.push(code);
          }
        return ok(res);
      }
      case '/cgi/crm/v2/special/deleteByUserIds': {
        // GUESSED shape (see the header).
        const d = body.data ?? {};
        if (typeof d.roleCode !== 'string' || !Array.isArray(d.userIds)) return fail(res, 32000, '参数错误');
        for (const userId of d.userIds as string[]) {
          changes.push({ op: 'remove', userId, roleCode: d.roleCode, ok: true });
          company.userRoles[userId] = (company.userRoles[userId] ?? []).filter((c) => c !== d.roleCode);
        }
        return ok(res);
      }
      default:
        return fail(res, 10006, 'uri not exists');
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 200, { errorCode: -2, errorMessage: e instanceof Error ? e.message : String(e) });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeFxiaoke = {
    url: baseUrl,
    company,
    log,
    changes,
    tokensIssued: 0,
    fail: (f) => faults.push({ ...f, left: f.times ?? 1 }),
    expireTokens: () => tokens.clear(),
    refuseGrants: (refuse) => void (refuseGrants = refuse),
    refuseRole: (code, e) => (e ? refusedRoles.set(code, e) : refusedRoles.delete(code)),
    rolesOf: (userId) => [...(company.userRoles[userId] ?? [])],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

// ---------- the demo company ----------

export const FX_DEMO_APP = { appId: 'FSAID_131a8f0', appSecret: 'fx-demo-app-secret-2026', permanentCode: 'FX-DEMO-PERMANENT-2026' } as const;
/** The CRM administrator the app acts as (x-fs-userid). */
export const FX_DEMO_ACTING_USER = '1000';

/** Chinese names of the demo's employees (陈艾娃 as the fixture pages show her). */
const NAMES: Record<string, string> = { 'p-ava': '陈艾娃', 'p-ben': '欧本', 'p-dan': '吴丹', 'p-cara': '狄卡拉' };

/**
 * The demo seed's Fxiaoke company (server/src/seed/demo-crms.ts, `fx-acme`): the same employees (ids,
 * emails), roles (codes, Chinese names) and who holds which, plus the CRM administrator the app acts as
 * (no email: matches no one). An import of it onto the seed, with `roleKeysOfDemo()` in the connection's
 * settings, changes nothing.
 */
export function demoFxiaokeCompany(): FxCompany {
  const crm = DEMO_CRMS.find((c) => c.connection.id === 'fx-acme')!;
  const employees: FxEmployee[] = Object.entries(crm.users).map(([personId, u]) => ({
    id: u.externalUserId,
    name: NAMES[personId] ?? personId,
    email: u.username,
    account: `1380000${u.externalUserId}`,
    isStop: false,
    department: '1001',
    createTime: Date.parse('2025-09-01T01:00:00Z'),
  }));
  employees.push({
    id: FX_DEMO_ACTING_USER,
    name: 'CRM管理员（集成）',
    email: null,
    account: '13800001000',
    isStop: false,
    department: '1000',
    createTime: Date.parse('2025-09-01T01:00:00Z'),
  });
  const roles = crm.bundles.map((b, i) => ({ roleCode: b.externalId!, roleName: b.name, roleType: i === crm.bundles.length - 1 ? 1 : 2 }));
  const code = (bundleId: string) => crm.bundles.find((b) => b.id === bundleId)!.externalId!;
  const userRoles: Record<string, string[]> = { [FX_DEMO_ACTING_USER]: [code('fx-admin')] };
  for (const u of Object.values(crm.users)) userRoles[u.externalUserId] = u.bundles.map(code);
  return {
    ea: '735412',
    departments: [
      { id: '1000', name: '总经办', status: '0' },
      { id: '1001', name: '销售部', status: '0' },
      { id: '1002', name: '已撤销部门', status: '1' },
    ],
    employees,
    roles,
    userRoles,
  };
}

/** What each demo role grants, as an administrator maps it in the connection's `settings.roleKeys`. */
export function roleKeysOfDemo(): Record<string, string[]> {
  const crm = DEMO_CRMS.find((c) => c.connection.id === 'fx-acme')!;
  return Object.fromEntries(crm.bundles.map((b) => [b.externalId!, keysOf(b.grants)]));
}
