/**
 * The Fxiaoke (纷享销客) connector against the fake Fxiaoke open API (real HTTP on loopback), with the
 * real app, database, worker and clock of the test harness. The demo org's `fx-acme` connection is
 * connected as an administrator would, with the roles' keys mapped in `settings.roleKeys`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoFxiaokeCompany, FX_DEMO_ACTING_USER, FX_DEMO_APP, roleKeysOfDemo, startFakeFxiaoke, type FakeFxiaoke } from '../../../test/fakes/fxiaoke.ts';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';
import { FX_SHAPES, fxiaokeConnector } from './fxiaoke.ts';

let h: Harness;
let fx: FakeFxiaoke;
let cara: string;

const AVA = '1001';
const SALES = '00000000000000000000000000000015';
const SALES_MANAGER = '00000000000000000000000000000016';
const ADMIN = '00000000000000000000000000000006';

async function connect(extra: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
  const res = await h.patch(cara, '/api/admin/connections/fx-acme', {
    mode: 'provision',
    settings: { apiBase: fx.url, actingUserId: FX_DEMO_ACTING_USER, roleKeys: roleKeysOfDemo(), ...settings },
    credentials: FX_DEMO_APP,
    ...extra,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { connection: Record<string, unknown> }).connection;
}

type Run = { status: string; error: string | null; changes: Record<string, number>; read: Record<string, number>; warnings: string[] };
async function importNow(): Promise<Run> {
  const res = await h.post(cara, '/api/admin/connections/fx-acme/import', {});
  expect(res.status).toBe(202);
  const { run } = (await res.json()) as { run: { id: string } };
  await h.worker.runDue();
  return ((await (await h.get(cara, `/api/admin/connections/fx-acme/imports/${run.id}`)).json()) as { run: Run }).run;
}

async function requestStatus(id: string) {
  const r = await h.db.execute('SELECT status, fulfilment, granted_at, expires_at FROM requests WHERE id = ?', [id]);
  const row = r.rows[0]!;
  return {
    status: String(row.status),
    fulfilment:
      row.fulfilment === null
        ? null
        : (JSON.parse(String(row.fulfilment)) as {
            state: string;
            mode: string;
            reason: { code: string; message: string } | null;
            nextAttemptAt: string | null;
          }),
    grantedAt: row.granted_at as string | null,
    expiresAt: row.expires_at as string | null,
  };
}

async function avaAsks(permissions: string[], days = 7) {
  const ava = await h.signIn('ava@acme.test');
  const ben = await h.signIn('ben@acme.test');
  const m = createMutation({ connectionId: 'fx-acme', permissions, page: null, durationDays: 7 });
  expect((await h.mutate(ava, [m])).results[0]).toMatchObject({ status: 'applied' });
  await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve', { durationDays: days })]);
  return { requestId: m.args.requestId, ava };
}

async function avaHolds() {
  const r = await h.db.execute(
    "SELECT bundle_id, source, external_id FROM assignments WHERE account_id = 'acct-fx-acme-ava' AND revoked_at IS NULL AND target_type = 'bundle' ORDER BY bundle_id",
  );
  return Object.fromEntries(r.rows.map((x) => [String(x.bundle_id), [String(x.source), x.external_id === null ? null : String(x.external_id)]]));
}

const NOTHING_CHANGED = {
  accountsCreated: 0,
  accountsChanged: 0,
  accountsDeactivated: 0,
  lastLoginsRefreshed: 0,
  bundlesCreated: 0,
  bundlesChanged: 0,
  bundlesRemoved: 0,
  assignmentsFound: 0,
  assignmentsRemoved: 0,
  assignmentsChanged: 0,
  catalogKeysAdded: 0,
};

beforeEach(async () => {
  h = await harness();
  fx = await startFakeFxiaoke({ company: demoFxiaokeCompany(), apps: [FX_DEMO_APP] });
  cara = await h.signIn('cara@acme.test');
});

afterEach(async () => {
  await fx.close();
  await h.close();
});

describe('Fxiaoke: settings, credentials, connection test', () => {
  it('validates settings (role keys too) and credentials, naming the field', async () => {
    const bad = await h.patch(cara, '/api/admin/connections/fx-acme', { settings: { actingUserId: '1000', roleKeys: { [SALES]: ['object:AccountObj:fly'] } } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(new RegExp(`^settings\\.roleKeys\\.${SALES}\\.0: `));
    const noActor = await h.patch(cara, '/api/admin/connections/fx-acme', { settings: { apiBase: fx.url } });
    expect(((await noActor.json()) as { error: { message: string } }).error.message).toBe('settings.actingUserId: is required');
    const creds = await h.patch(cara, '/api/admin/connections/fx-acme', { settings: { actingUserId: '1000' }, credentials: { appId: 'x', appSecret: 'y' } });
    expect(((await creds.json()) as { error: { message: string } }).error.message).toBe('credentials.permanentCode: is required');
    const view = await connect();
    expect(JSON.stringify(view)).not.toContain(FX_DEMO_APP.appSecret);
    expect(fxiaokeConnector.settingsSchema.parse({ actingUserId: '1000' })).toMatchObject({
      apiBase: 'https://open.fxiaoke.com',
      rootDepartmentId: 999999,
      roleAppId: 'CRM',
    });
  });

  it('the connection test signs in and reads; the tenant stays null (pages do not name the company)', async () => {
    await connect();
    const body = (await (await h.post(cara, '/api/admin/connections/fx-acme/test', {})).json()) as {
      ok: boolean;
      identity: { userId: string; tenant: string | null };
      canRead: boolean;
      checks: { id: string; ok: boolean; message: string }[];
    };
    expect(body).toMatchObject({ ok: true, canRead: true, identity: { userId: FX_DEMO_ACTING_USER, tenant: null } });
    expect(body.checks.map((c) => c.id)).toEqual(['sign-in', 'read-users', 'read-user-roles', 'read-departments', 'set-roles']);
    expect((await h.db.execute("SELECT tenant FROM crm_connections WHERE id = 'fx-acme'")).rows[0]!.tenant).toBeNull();
    // Every call carries the enterprise account from the token, the acting employee and a fresh trace id.
    const calls = fx.log.filter((l) => l.path !== '/oauth2.0/token');
    expect(calls.every((l) => l.ea === '735412' && l.userId === FX_DEMO_ACTING_USER)).toBe(true);
    expect(new Set(fx.log.map((l) => l.traceId)).size).toBe(fx.log.length);
  });

  it('reads the roles of users in the guessed shape, and its variants', () => {
    expect([...FX_SHAPES.parseRolesOfUsers({ '1001': [{ roleCode: 'a', majorRole: true }, 'b'] })]).toEqual([
      [
        '1001',
        [
          { roleCode: 'a', major: true },
          { roleCode: 'b', major: false },
        ],
      ],
    ]);
    expect([
      ...FX_SHAPES.parseRolesOfUsers([
        { userId: '1002', roleCodes: ['c'] },
        { userId: '', roles: ['x'] },
      ]),
    ]).toEqual([['1002', [{ roleCode: 'c', major: false }]]]);
  });
});

describe('Fxiaoke: import', () => {
  it('the demo company imports onto the demo seed without changing anything, with the roles mapped', async () => {
    await connect();
    const run = await importNow();
    expect(run.error).toBeNull();
    expect(run.read).toEqual({ users: 5, bundles: 3, assignments: 5 });
    expect(run.changes).toMatchObject({ ...NOTHING_CHANGED, unmatchedUsers: 1 });
    expect(await avaHolds()).toEqual({ 'fx-sales': ['directory', `${AVA}:${SALES}`] });
    const names = await h.db.execute("SELECT name FROM bundles WHERE connection_id = 'fx-acme' ORDER BY id");
    expect(names.rows.map((r) => r.name)).toEqual(['CRM管理员', '销售人员', '销售经理']);
  });

  it('imports changes: a role added by hand is outside the process, a disabled department makes its people inactive; Chinese names kept exactly; unmapped roles are named', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    fx.company.userRoles[AVA]!.push(SALES_MANAGER);
    fx.company.employees.find((e) => e.id === '1004')!.department = '1002'; // Dan's department is disabled
    fx.company.roles.push({ roleCode: 'a1b2c3d4e5f60718293a4b5c', roleName: '区域经理（华东·上海）', roleType: 2 });
    fx.company.userRoles['1002']!.push('a1b2c3d4e5f60718293a4b5c');
    h.clock.advance(3600_000);
    const run = await importNow();
    expect(run.changes).toMatchObject({ assignmentsFound: 2, outsideProcess: 2, accountsChanged: 1, bundlesCreated: 1 });
    expect(run.warnings.join(' ')).toContain('区域经理（华东·上海） (a1b2c3d4e5f60718293a4b5c)');
    const created = await h.db.execute("SELECT name FROM bundles WHERE external_id = 'a1b2c3d4e5f60718293a4b5c'");
    expect(created.rows[0]!.name).toBe('区域经理（华东·上海）');
    expect(Number((await h.db.execute("SELECT active FROM crm_accounts WHERE id = 'acct-fx-acme-dan'")).rows[0]!.active)).toBe(0);
    // Ava's new role grants keys her job does not: a finding. Ben's grants none yet (unmapped): none.
    const f = (await (await h.get(cara, '/api/findings?kind=outside-process')).json()) as { findings: { personId: string; bundleIds: string[] }[] };
    expect(f.findings.map((x) => [x.personId, x.bundleIds])).toEqual([['p-ava', ['fx-sales-manager']]]);
  });

  it('a rate-limit answer (errorCode 30004 on HTTP 200, or 429 with Retry-After) waits and goes on; an expired token (20016) is refreshed once, then needs re-authorisation', async () => {
    await connect();
    fx.fail({ path: /getRolesByUsers/, body: { errorCode: 30004, errorMessage: '秒频次超限' } });
    fx.fail({ path: /roleGetRoleList/, status: 429, body: { errorCode: 30004 }, headers: { 'Retry-After': '1' } });
    const first = await importNow();
    expect(first.status).toBe('succeeded');
    expect(fx.log.filter((l) => l.path === '/cgi/crm/v2/special/getRolesByUsers')).toHaveLength(2);

    fx.expireTokens();
    h.clock.advance(3600_000);
    expect((await importNow()).status).toBe('succeeded');
    expect(fx.tokensIssued).toBe(2);

    fx.expireTokens();
    fx.refuseGrants(true);
    h.clock.advance(3600_000);
    const third = await importNow();
    expect(third.status).toBe('failed');
    expect(third.error).toContain('20015');
    const view = (await (await h.get(cara, '/api/admin/connections/fx-acme')).json()) as { connection: { authStatus: string } };
    expect(view.connection.authStatus).toBe('needs-reauthorisation');
  });

  it("the daily quota used up (30002) fails the import, and puts a grant off until China's midnight", async () => {
    await connect({ automaticChange: true });
    fx.fail({ path: /\/cgi\/user\/list/, body: { errorCode: 30002, errorMessage: '当天访问频次超限' } });
    const run = await importNow();
    expect(run.status).toBe('failed');
    expect(run.error).toContain('daily open API quota');
    expect((await importNow()).status).toBe('succeeded');
    fx.fail({ path: /batchAddUserRole/, body: { errorCode: 30002, errorMessage: '当天访问频次超限' } });
    const { requestId } = await avaAsks(['object:SalesOrderObj:read']);
    await h.worker.runDue();
    // T0 is 09:00 UTC = 17:00 in China: the quota resets 7 hours later.
    const r = await requestStatus(requestId);
    expect(r.fulfilment).toMatchObject({
      state: 'retrying',
      reason: { code: 'rate-limited' },
      nextAttemptAt: new Date(h.clock.now().getTime() + 7 * 3600_000).toISOString(),
    });
  });
});

describe('Fxiaoke: grants and revocations', () => {
  it('by default an admin task: marking it done checks the CRM; at expiry a removal task, checked too', async () => {
    await connect();
    await importNow();
    const { requestId, ava } = await avaAsks(['object:SalesOrderObj:read']);
    let r = await requestStatus(requestId);
    expect(r.fulfilment).toMatchObject({ state: 'admin-task', reason: { code: 'no-automatic-change' } });
    expect((await h.completeTask(requestId)).status).toBe(409);
    fx.company.userRoles[AVA]!.push(SALES_MANAGER); // the administrator adds the role in Fxiaoke
    expect((await h.completeTask(requestId)).status).toBe(200);
    r = await requestStatus(requestId);
    expect(r.status).toBe('fulfilled');
    expect(await avaHolds()).toEqual({ 'fx-sales': ['directory', `${AVA}:${SALES}`], 'fx-sales-manager': ['request', `${AVA}:${SALES_MANAGER}`] });
    expect(fx.changes).toEqual([]);

    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(ava);
    expect((await h.completeTask(requestId, 'revoke')).status).toBe(409);
    fx.company.userRoles[AVA] = [SALES];
    expect((await h.completeTask(requestId, 'revoke')).status).toBe(200);
    expect((await requestStatus(requestId)).status).toBe('expired');
    expect((await importNow()).changes).toMatchObject({ ...NOTHING_CHANGED, outsideProcess: 0 });
  });

  it('with automatic change on: job → Fxiaoke holds the role → fulfilled → expiry → removed; each change made once', async () => {
    await connect({ automaticChange: true });
    await importNow();
    const { requestId, ava } = await avaAsks(['object:SalesOrderObj:read']);
    await h.worker.runDue();
    let r = await requestStatus(requestId);
    expect(r).toMatchObject({ status: 'fulfilled', fulfilment: { state: 'active', mode: 'automatic' } });
    expect(Date.parse(r.expiresAt!) - Date.parse(r.grantedAt!)).toBe(7 * DAY_MS);
    expect(fx.rolesOf(AVA)).toEqual([SALES, SALES_MANAGER]);
    // Roles add up in Fxiaoke: Ava keeps her own.
    expect(await avaHolds()).toEqual({ 'fx-sales': ['directory', `${AVA}:${SALES}`], 'fx-sales-manager': ['request', `${AVA}:${SALES_MANAGER}`] });
    expect((await importNow()).changes).toMatchObject({ ...NOTHING_CHANGED, outsideProcess: 0 });

    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(ava);
    await h.worker.runDue();
    r = await requestStatus(requestId);
    expect(r).toMatchObject({ status: 'expired', fulfilment: { state: 'removed' } });
    expect(fx.rolesOf(AVA)).toEqual([SALES]);
    h.clock.advance(3600_000);
    await h.worker.runDue();
    expect(fx.changes).toEqual([
      { op: 'add', userId: AVA, roleCode: SALES_MANAGER, ok: true },
      { op: 'remove', userId: AVA, roleCode: SALES_MANAGER, ok: true },
    ]);
    expect((await importNow()).changes).toMatchObject({ ...NOTHING_CHANGED, outsideProcess: 0 });
  });

  it('a busy answer (errorCode -1) is retried with backoff, not made an admin task', async () => {
    await connect({ automaticChange: true });
    await importNow();
    fx.fail({ path: /batchAddUserRole/, body: { errorCode: -1, errorMessage: '系统繁忙' } });
    const { requestId } = await avaAsks(['object:SalesOrderObj:read']);
    await h.worker.runDue();
    expect((await requestStatus(requestId)).fulfilment).toMatchObject({ state: 'retrying', reason: { code: 'crm-unavailable' } });
    h.clock.advance(60_000);
    await h.worker.runDue();
    expect((await requestStatus(requestId)).status).toBe('fulfilled');
    expect(fx.changes.filter((c) => c.op === 'add')).toHaveLength(1);
  });

  it('a partial failure (one of two roles refused): the other stays, an admin finishes it; nothing is added twice', async () => {
    // Two roles an administrator mapped: one grants deleting orders, the other deleting contracts.
    fx.company.roles.push({ roleCode: 'so-delete', roleName: '订单删除', roleType: 2 }, { roleCode: 'ct-delete', roleName: '合同删除', roleType: 2 });
    const keys = roleKeysOfDemo();
    keys[ADMIN] = keys[ADMIN]!.filter((k) => k !== 'object:SalesOrderObj:delete' && k !== 'object:ContractObj:delete');
    await connect(
      { automaticChange: true },
      { roleKeys: { ...keys, 'so-delete': ['object:SalesOrderObj:delete'], 'ct-delete': ['object:ContractObj:delete'] } },
    );
    await importNow();
    fx.refuseRole('ct-delete', { errorCode: 20014, errorMessage: '应用没有获取该员工的数据的权限' });
    const { requestId } = await avaAsks(['object:SalesOrderObj:delete', 'object:ContractObj:delete']);
    await h.worker.runDue();
    let r = await requestStatus(requestId);
    expect(r).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task', reason: { code: 'crm-refused' } } });
    expect(r.fulfilment!.reason!.message).toContain('20014');
    expect(fx.rolesOf(AVA)).toEqual([SALES, 'so-delete']);
    fx.refuseRole('ct-delete', null);
    fx.company.userRoles[AVA]!.push('ct-delete');
    expect((await h.completeTask(requestId)).status).toBe(200);
    r = await requestStatus(requestId);
    expect(r.status).toBe('fulfilled');
    expect(fx.changes.filter((c) => c.op === 'add').map((c) => [c.roleCode, c.ok])).toEqual([
      ['so-delete', true],
      ['ct-delete', false],
    ]);
  });
});
