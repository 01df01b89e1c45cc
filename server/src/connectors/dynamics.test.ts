/**
 * The Dynamics 365 connector against the fake Dataverse and its fake Entra ID token endpoint (real HTTP
 * on loopback), with the real app, database, worker and clock of the test harness, on the demo org's
 * `dyn-acme` connection.
 */
import { dynamics as dynamicsAdapter } from '@accesslens/shared/crm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEMO_DYNAMICS_APP,
  DEMO_DYNAMICS_APP_USER,
  DEMO_DYNAMICS_TENANT,
  demoDynamicsOrg,
  demoDynamicsRole,
  demoDynamicsUser,
} from '../../../test/fakes/dynamics-demo.ts';
import { startFakeDynamics, type FakeDynamics } from '../../../test/fakes/dynamics.ts';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';
import { dynamicsTenantOf } from './dynamics.ts';

let h: Harness;
let dv: FakeDynamics;
let cara: string;

const AVA = demoDynamicsUser('p-ava');
const BEN = demoDynamicsUser('p-ben');
const DAN = demoDynamicsUser('p-dan');
const SALESPERSON = demoDynamicsRole('dyn-salesperson');
const SALES_MANAGER = demoDynamicsRole('dyn-sales-manager');
const SYSADMIN = demoDynamicsRole('dyn-sysadmin');

interface Run {
  status: string;
  error: string | null;
  changes: Record<string, number>;
  read: Record<string, number>;
  warnings: string[];
  incremental: boolean;
}

async function connect(settings: Record<string, unknown> = {}, credentials: Record<string, unknown> = DEMO_DYNAMICS_APP) {
  const res = await h.patch(cara, '/api/admin/connections/dyn-acme', {
    mode: 'provision',
    settings: { orgUrl: dv.url, tenantId: DEMO_DYNAMICS_TENANT, tokenUrl: dv.tokenUrl(DEMO_DYNAMICS_TENANT), ...settings },
    credentials,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { connection: Record<string, unknown> }).connection;
}

async function importNow(): Promise<Run> {
  const res = await h.post(cara, '/api/admin/connections/dyn-acme/import', {});
  expect(res.status).toBe(202);
  const { run } = (await res.json()) as { run: { id: string } };
  await h.worker.runDue();
  const r = await h.get(cara, `/api/admin/connections/dyn-acme/imports/${run.id}`);
  return ((await r.json()) as { run: Run }).run;
}

async function requestStatus(id: string) {
  const r = await h.db.execute('SELECT status, fulfilment, granted_at, expires_at FROM requests WHERE id = ?', [id]);
  const row = r.rows[0]!;
  return {
    status: String(row.status),
    fulfilment:
      row.fulfilment === null
        ? null
        : (JSON.parse(String(row.fulfilment)) as { state: string; reason: { code: string; message: string } | null; mode: string }),
    grantedAt: row.granted_at as string | null,
    expiresAt: row.expires_at as string | null,
  };
}

const tokenCalls = () => dv.log.filter((l) => l.path.endsWith('/oauth2/v2.0/token')).length;

beforeEach(async () => {
  h = await harness();
  dv = await startFakeDynamics({ org: demoDynamicsOrg(h.clock.now()), clients: [DEMO_DYNAMICS_APP], appUserId: DEMO_DYNAMICS_APP_USER, now: h.clock.now });
  cara = await h.signIn('cara@acme.test');
});

afterEach(async () => {
  await dv.close();
  await h.close();
});

describe('settings', () => {
  it('the tenant is the org name the Dynamics adapter reads from page URLs', () => {
    expect(dynamicsTenantOf('https://acme.crm4.dynamics.com')).toBe('acme');
    const page = new URL('https://acme.crm4.dynamics.com/main.aspx?pagetype=entityrecord&etn=account&id=5a4f6a2e-1b7c-ef11-a671-6045bd8c1d2e');
    expect(dynamicsTenantOf('https://acme.crm4.dynamics.com')).toBe(dynamicsAdapter.tenantOf(page));
    expect(dynamicsTenantOf('http://127.0.0.1:9')).toBeNull();
  });

  it('names the field that is wrong', async () => {
    const bad = await h.patch(cara, '/api/admin/connections/dyn-acme', { settings: { orgUrl: 'acme.crm4.dynamics.com', tenantId: 't' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('settings.orgUrl');
    const noTenant = await h.patch(cara, '/api/admin/connections/dyn-acme', { settings: { orgUrl: 'https://acme.crm4.dynamics.com' } });
    expect(((await noTenant.json()) as { error: { message: string } }).error.message).toContain('settings.tenantId: is required');
    const noSecret = await h.patch(cara, '/api/admin/connections/dyn-acme', {
      settings: { orgUrl: 'https://acme.crm4.dynamics.com', tenantId: 'acme.onmicrosoft.com' },
      credentials: { clientId: 'x' },
    });
    expect(((await noSecret.json()) as { error: { message: string } }).error.message).toContain('credentials.clientSecret: is required');
  });
});

describe('test', () => {
  it('signs in through Entra ID and says what the application user can do', async () => {
    await connect();
    const res = await h.post(cara, '/api/admin/connections/dyn-acme/test', {});
    const body = (await res.json()) as {
      ok: boolean;
      identity: { userId: string; username: string };
      canRead: boolean;
      canProvision: boolean;
      checks: { id: string; ok: boolean }[];
    };
    expect(body).toMatchObject({
      ok: true,
      canRead: true,
      canProvision: true,
      identity: { userId: DEMO_DYNAMICS_APP_USER, username: 'accesslens-app@acme.onmicrosoft.com' },
    });
    expect(body.checks.map((c) => c.id)).toEqual(['sign-in', 'read-users', 'read-roles', 'read-assignments', 'read-last-logins', 'assign-roles']);
  });
});

describe('import', () => {
  it('the demo environment imports onto the demo seed: every account, role and assignment matched, depths added', async () => {
    const view = await connect();
    expect(JSON.stringify(view)).not.toContain(DEMO_DYNAMICS_APP.clientSecret);
    const run = await importNow();
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    // Four people and the application user; three roles; five user roles (the app user's among them).
    expect(run.read).toEqual({ users: 5, bundles: 3, assignments: 5 });
    expect(run.changes).toMatchObject({
      accountsCreated: 0,
      accountsChanged: 0,
      lastLoginsRefreshed: 0,
      bundlesCreated: 0,
      bundlesRemoved: 0,
      assignmentsFound: 0,
      assignmentsRemoved: 0,
      assignmentsLinked: 4,
      unmatchedUsers: 1,
    });
    expect(run.warnings.join(' ')).toContain('1 CRM users match no person');
    // What Dataverse adds: each privilege's depth, as a scope key; nothing the seed records is removed.
    expect(run.changes.bundlesChanged).toBe(3);
    const changed = await h.db.execute("SELECT data FROM audit_events WHERE action = 'bundle.changed'");
    for (const row of changed.rows) {
      const data = JSON.parse(String(row.data)) as { fields: string[]; rows: unknown[][] };
      const removedAt = data.fields.indexOf('removed');
      for (const r of data.rows) expect(r[removedAt]).toEqual([]);
    }
    const keys = (await h.db.execute("SELECT key FROM bundle_permissions WHERE bundle_id = 'dyn-sales-manager'")).rows.map((r) => String(r.key));
    expect(keys).toEqual(expect.arrayContaining(['object:opportunity:read', 'scope:opportunity:read:businessUnit', 'scope:lead:delete:businessUnit']));
    const admin = (await h.db.execute("SELECT key FROM bundle_permissions WHERE bundle_id = 'dyn-sysadmin'")).rows.map((r) => String(r.key));
    expect(admin).toContain('scope:quote:delete:org');
    const unlinked = await h.db.execute(
      "SELECT COUNT(*) AS n FROM assignments WHERE external_id IS NULL AND revoked_at IS NULL AND account_id IN (SELECT id FROM crm_accounts WHERE connection_id = 'dyn-acme')",
    );
    expect(Number(unlinked.rows[0]!.n)).toBe(0);
    // The tenant stays what pages name ('acme'), not the loopback fake's.
    const c = await h.db.execute("SELECT tenant FROM crm_connections WHERE id = 'dyn-acme'");
    expect(c.rows[0]!.tenant).toBe('acme');
    // The second import changes nothing.
    h.clock.advance(3600_000);
    const again = await importNow();
    expect(again.incremental).toBe(true);
    expect(Object.entries(again.changes).filter(([k, n]) => n !== 0 && k !== 'unmatchedUsers' && k !== 'assignmentsSkipped')).toEqual([]);
  });

  it('imports changes incrementally: new role outside the process is a finding, removals set revoked_at, last logins, disabled users, teams', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    h.clock.advance(3600_000);
    const now = h.clock.now().toISOString();
    // In Dataverse, by hand: Ava gets Sales Manager; Ben loses his; Ava signs in; Dan is disabled;
    // a "Deal Desk" team holding System Administrator gets Ben as a member; a new role is created.
    dv.org.systemuserroles.push({ systemuserroleid: crypto.randomUUID(), systemuserid: AVA, roleid: SALES_MANAGER });
    dv.org.systemuserroles.splice(
      dv.org.systemuserroles.findIndex((l) => l.systemuserid === BEN && l.roleid === SALES_MANAGER),
      1,
    );
    dv.org.audits.push({ auditid: crypto.randomUUID(), action: 64, createdon: now, _objectid_value: AVA, objecttypecode: 'systemuser' });
    Object.assign(dv.org.systemusers.find((u) => u.systemuserid === DAN)!, { isdisabled: true, modifiedon: now });
    const team = crypto.randomUUID();
    dv.org.teams.push({ teamid: team, name: 'Deal Desk', teamtype: 0, _businessunitid_value: dv.org.businessunits[0]!.businessunitid!, isdefault: false });
    dv.org.teamroles.push({ teamroleid: crypto.randomUUID(), teamid: team, roleid: SYSADMIN });
    dv.org.teammemberships.push({ teammembershipid: crypto.randomUUID(), teamid: team, systemuserid: BEN });
    h.clock.advance(60_000);

    const run = await importNow();
    expect(run.status).toBe('succeeded');
    expect(run.incremental).toBe(true);
    // Only Dan (modified) and Ava (signed in) are read again.
    expect(run.read.users).toBe(2);
    expect(run.changes).toMatchObject({
      assignmentsFound: 2,
      outsideProcess: 2,
      assignmentsRemoved: 1,
      bundlesCreated: 1,
      accountsChanged: 1,
      lastLoginsRefreshed: 1,
    });

    const found = await h.db.execute(
      "SELECT outside_process, external_id FROM assignments WHERE account_id = 'acct-dyn-acme-ava' AND bundle_id = 'dyn-sales-manager' AND revoked_at IS NULL",
    );
    expect(found.rows).toHaveLength(1);
    expect(Number(found.rows[0]!.outside_process)).toBe(1);
    expect(found.rows[0]!.external_id).toBe(`${AVA}/${SALES_MANAGER}`);
    const removed = await h.db.execute("SELECT revoked_at FROM assignments WHERE account_id = 'acct-dyn-acme-ben' AND bundle_id = 'dyn-sales-manager'");
    expect(removed.rows[0]!.revoked_at).toBe(h.clock.now().toISOString());
    const ava = await h.db.execute("SELECT last_login_at FROM crm_accounts WHERE id = 'acct-dyn-acme-ava'");
    expect(ava.rows[0]!.last_login_at).toBe(now);
    const dan = await h.db.execute("SELECT active FROM crm_accounts WHERE id = 'acct-dyn-acme-dan'");
    expect(Number(dan.rows[0]!.active)).toBe(0);
    const teamBundle = await h.db.execute(
      'SELECT b.kind, b.name, (SELECT included_id FROM bundle_includes WHERE bundle_id = b.id) AS included FROM bundles b WHERE b.external_id = ?',
      [team],
    );
    expect({ ...teamBundle.rows[0] }).toEqual({ kind: 'team', name: 'Deal Desk', included: 'dyn-sysadmin' });

    const f = await h.get(cara, '/api/findings?kind=outside-process&connectionId=dyn-acme');
    const findings = ((await f.json()) as { findings: { personId: string; bundleIds: string[] }[] }).findings;
    expect(findings.map((x) => [x.personId, x.bundleIds]).sort()).toEqual([
      ['p-ava', ['dyn-sales-manager']],
      ['p-ben', [expect.stringMatching(/^bnd-/)]],
    ]);
  });

  it('pages with @odata.nextLink and Prefer: odata.maxpagesize, waits as Retry-After says, refreshes an expired token once', async () => {
    await connect({ pageSize: 10 });
    const unit = dv.org.businessunits[0]!.businessunitid!;
    for (let i = 0; i < 30; i++)
      dv.org.systemusers.push({
        systemuserid: crypto.randomUUID(),
        domainname: `x${i}@acme.onmicrosoft.com`,
        internalemailaddress: `x${i}@elsewhere.test`,
        fullname: `x${i}`,
        isdisabled: false,
        createdon: '2025-01-01T00:00:00Z',
        modifiedon: '2025-01-01T00:00:00Z',
        _businessunitid_value: unit,
        applicationid: null,
        accessmode: 0,
      });
    dv.fail({
      method: 'GET',
      path: /\/systemusers\?.*\$skiptoken=10/,
      status: 429,
      body: { error: { code: '0x80072322', message: 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.' } },
      headers: { 'Retry-After': '1' },
    });
    const first = await importNow();
    expect(first.status).toBe('succeeded');
    expect(first.read.users).toBe(35);
    expect(first.changes.unmatchedUsers).toBe(31);
    const pages = dv.log.filter((l) => l.method === 'GET' && /\/api\/data\/v9\.2\/systemusers\?/.test(l.path));
    // 35 users in pages of 10 = 4 pages, and the page refused once with 429 asked again.
    expect(pages).toHaveLength(5);
    expect(tokenCalls()).toBe(1);

    dv.expireTokens();
    h.clock.advance(3600_000);
    const run = await importNow();
    expect(run.status).toBe('succeeded');
    expect(tokenCalls()).toBe(2);
  });

  it('a 401 after a fresh token marks the connection as needing re-authorisation; refused credentials too', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    // The environment keeps refusing tokens (the application user was removed): one refresh, then stop.
    dv.fail({ path: /^\/api\/data\//, status: 401, times: 2 });
    h.clock.advance(10 * 60_000);
    const calls = dv.log.length;
    const run = await importNow();
    expect(run.status).toBe('failed');
    expect(run.error).toContain('refused a freshly issued token');
    expect(dv.log.slice(calls).map((l) => (l.path.includes('oauth2') ? 'token' : 'api'))).toEqual(['api', 'token', 'api']);
    let view = (await (await h.get(cara, '/api/admin/connections/dyn-acme')).json()) as { connection: { authStatus: string; nextImportAt: string | null } };
    expect(view.connection).toMatchObject({ authStatus: 'needs-reauthorisation', nextImportAt: null });

    // New credentials clear it; a deleted client secret is refused by Entra ID.
    await connect();
    dv.refuseGrants(true);
    dv.expireTokens();
    const refused = await importNow();
    expect(refused.error).toContain('invalid_client');
    view = (await (await h.get(cara, '/api/admin/connections/dyn-acme')).json()) as { connection: { authStatus: string; nextImportAt: string | null } };
    expect(view.connection.authStatus).toBe('needs-reauthorisation');
  });

  it('without access to audits the import succeeds, says why last logins are unknown and keeps the ones AccessLens has', async () => {
    await dv.close();
    dv = await startFakeDynamics({
      org: demoDynamicsOrg(h.clock.now()),
      clients: [DEMO_DYNAMICS_APP],
      appUserId: DEMO_DYNAMICS_APP_USER,
      now: h.clock.now,
      appPrivileges: ['prvAssignRole'],
      omitPrivilegeNames: true,
    });
    await connect();
    const before = await h.db.execute("SELECT last_login_at FROM crm_accounts WHERE id = 'acct-dyn-acme-ava'");
    const run = await importNow();
    expect(run.status).toBe('succeeded');
    expect(run.warnings.join(' ')).toContain('Last logins are unknown');
    expect(run.warnings.join(' ')).toContain('prvReadAuditSummary');
    const after = await h.db.execute("SELECT last_login_at FROM crm_accounts WHERE id = 'acct-dyn-acme-ava'");
    expect(after.rows[0]!.last_login_at).toBe(before.rows[0]!.last_login_at);
    // Privilege names came from roleprivileges_association instead (RetrieveRolePrivilegesRole without names).
    expect(dv.log.some((l) => l.path.includes('/roleprivileges_association'))).toBe(true);
    const keys = (await h.db.execute("SELECT key FROM bundle_permissions WHERE bundle_id = 'dyn-salesperson'")).rows.map((r) => String(r.key));
    expect(keys).toContain('scope:account:edit:team');
  });

  it('a failed import keeps the last good one and says why', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    dv.fail({ path: /teamrolescollection/, status: 400, body: { error: { code: '0x80060888', message: 'Could not find a property named teamid.' } } });
    h.clock.advance(3600_000);
    const run = await importNow();
    expect(run.status).toBe('failed');
    expect(run.error).toContain('0x80060888');
    const held = await h.db.execute(
      "SELECT COUNT(*) AS n FROM assignments WHERE revoked_at IS NULL AND account_id IN (SELECT id FROM crm_accounts WHERE connection_id = 'dyn-acme')",
    );
    expect(Number(held.rows[0]!.n)).toBe(4);
  });
});

describe('fulfilment', () => {
  it('approve → job → Dataverse holds the role → fulfilled; expiry → disassociated → expired', async () => {
    await connect();
    await importNow();
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ connectionId: 'dyn-acme', permissions: ['object:opportunity:read'], page: null, durationDays: 30 });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve', { durationDays: 7 })]);
    let r = await requestStatus(m.args.requestId);
    expect(r).toMatchObject({ status: 'approved', fulfilment: { state: 'queued', mode: 'automatic' } });

    h.clock.advance(60_000);
    await h.worker.runDue();
    r = await requestStatus(m.args.requestId);
    expect(r.fulfilment?.reason).toBeNull();
    expect(r.status).toBe('fulfilled');
    expect(r.grantedAt).toBe(h.clock.now().toISOString());
    expect(Date.parse(r.expiresAt!) - Date.parse(r.grantedAt!)).toBe(7 * DAY_MS);
    // The smallest role that grants it: Sales Manager, associated once.
    expect(dv.rolesOf(AVA).sort()).toEqual([SALESPERSON, SALES_MANAGER].sort());
    expect(dv.associateAttempts).toEqual([{ userId: AVA, roleId: SALES_MANAGER, ok: true, code: null }]);
    const grant = (await h.pull(ava)).assignments.find((a) => a.requestId === m.args.requestId)!;
    expect(grant).toMatchObject({ source: 'request', target: { type: 'bundle', bundleId: 'dyn-sales-manager' } });

    // An import afterwards sees the same link: nothing changes, nothing is "outside the process".
    const run = await importNow();
    expect(run.changes).toMatchObject({ assignmentsFound: 0, assignmentsRemoved: 0 });

    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(ava);
    expect((await requestStatus(m.args.requestId)).fulfilment?.state).toBe('removing');
    await h.worker.runDue();
    r = await requestStatus(m.args.requestId);
    expect(r.status).toBe('expired');
    expect(r.fulfilment?.state).toBe('removed');
    expect(dv.rolesOf(AVA)).toEqual([SALESPERSON]);
    expect(dv.disassociateAttempts).toEqual([{ userId: AVA, roleId: SALES_MANAGER, ok: true }]);
  });

  it('a user in another business unit gets the role copy of that unit', async () => {
    const unit = crypto.randomUUID();
    dv.org.businessunits.push({ businessunitid: unit, name: 'EMEA', _parentbusinessunitid_value: dv.org.businessunits[0]!.businessunitid! });
    const copy = crypto.randomUUID();
    for (const root of [SALESPERSON, SALES_MANAGER, SYSADMIN])
      dv.org.roles.push({ roleid: root === SALES_MANAGER ? copy : crypto.randomUUID(), name: 'x', _businessunitid_value: unit, _parentrootroleid_value: root });
    const user = dv.org.systemusers.find((u) => u.systemuserid === AVA)!;
    user._businessunitid_value = unit;
    // Ava's Salesperson role is the EMEA copy too.
    const link = dv.org.systemuserroles.find((l) => l.systemuserid === AVA)!;
    link.roleid = String(dv.org.roles.find((r) => r._parentrootroleid_value === SALESPERSON && r._businessunitid_value === unit)!.roleid);
    await connect();
    const run = await importNow();
    expect(run.changes).toMatchObject({ assignmentsLinked: 4, assignmentsFound: 0 });
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ connectionId: 'dyn-acme', permissions: ['object:opportunity:read'], page: null });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    await h.worker.runDue();
    expect((await requestStatus(m.args.requestId)).status).toBe('fulfilled');
    expect(dv.associateAttempts).toEqual([{ userId: AVA, roleId: copy, ok: true, code: null }]);
  });

  it('never applies twice: a role already held is adopted; a duplicate association answer counts as done', async () => {
    await connect();
    await importNow();
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ connectionId: 'dyn-acme', permissions: ['object:opportunity:read'], page: null });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    // A crash after the association but before its record: Dataverse holds it, the job is still queued.
    dv.org.systemuserroles.push({ systemuserroleid: crypto.randomUUID(), systemuserid: AVA, roleid: SALES_MANAGER });
    await h.worker.runDue();
    expect((await requestStatus(m.args.requestId)).status).toBe('fulfilled');
    expect(dv.associateAttempts).toHaveLength(0);
    expect(dv.rolesOf(AVA).filter((r) => r === SALES_MANAGER)).toHaveLength(1);

    // A read that lags behind the write (the check saw nothing, the association exists): Dataverse's
    // duplicate-key answer means the role is held — confirmed by the re-read, not written twice.
    const n = createMutation({ connectionId: 'dyn-acme', permissions: ['object:quote:delete'], page: null, durationDays: 1 });
    await h.mutate(ava, [n]);
    await h.mutate(ben, [decisionMutation(n.args.requestId, 'approve')]);
    dv.org.systemuserroles.push({ systemuserroleid: crypto.randomUUID(), systemuserid: AVA, roleid: SYSADMIN });
    dv.fail({ method: 'GET', path: new RegExp(`systemusers\\(${AVA}\\)/systemuserroles_association\\?`), status: 200, body: { value: [] } });
    await h.worker.runDue();
    expect((await requestStatus(n.args.requestId)).status).toBe('fulfilled');
    expect(dv.associateAttempts).toEqual([{ userId: AVA, roleId: SYSADMIN, ok: false, code: '0x80040237' }]);
    expect(dv.rolesOf(AVA).filter((r) => r === SYSADMIN)).toHaveLength(1);
  });

  it('a partial failure (one of two roles refused): the other stays assigned, an admin finishes it', async () => {
    const b = { prv: (name: string) => ({ privilegeid: crypto.randomUUID(), name }) };
    const caseRead = b.prv('prvReadIncident');
    const invoiceRead = b.prv('prvReadInvoice');
    dv.org.privileges.push(caseRead, invoiceRead);
    const caseViewer = crypto.randomUUID();
    const invoiceViewer = crypto.randomUUID();
    const unit = dv.org.businessunits[0]!.businessunitid!;
    dv.org.roles.push(
      { roleid: caseViewer, name: 'Case Viewer', _businessunitid_value: unit, _parentrootroleid_value: caseViewer },
      { roleid: invoiceViewer, name: 'Invoice Viewer', _businessunitid_value: unit, _parentrootroleid_value: invoiceViewer },
    );
    dv.org.rolePrivileges[caseViewer] = [{ privilegeid: caseRead.privilegeid, depth: 'Local' }];
    dv.org.rolePrivileges[invoiceViewer] = [{ privilegeid: invoiceRead.privilegeid, depth: 'Local' }];
    await connect();
    expect((await importNow()).changes).toMatchObject({ bundlesCreated: 2 });
    dv.refuseRole(invoiceViewer, { code: '0x8004f507', message: 'The user has no licence that includes the Invoice table.' });
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ connectionId: 'dyn-acme', permissions: ['object:incident:read', 'object:invoice:read'], page: null });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    await h.worker.runDue();
    expect(dv.associateAttempts.map((a) => [a.roleId, a.ok]).sort()).toEqual(
      [
        [caseViewer, true],
        [invoiceViewer, false],
      ].sort(),
    );
    const r = await requestStatus(m.args.requestId);
    expect(r).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task', reason: { code: 'crm-refused' } } });
    expect(r.fulfilment?.reason?.message).toContain('0x8004f507');
    expect(dv.rolesOf(AVA)).toContain(caseViewer);
    // The administrator sorts out the licence and assigns Invoice Viewer; marking the task done confirms both.
    dv.org.systemuserroles.push({ systemuserroleid: crypto.randomUUID(), systemuserid: AVA, roleid: invoiceViewer });
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    expect((await requestStatus(m.args.requestId)).status).toBe('fulfilled');
  });

  it('a refusal becomes an admin task quoting Dataverse; a 429 is retried after Retry-After', async () => {
    await connect();
    await importNow();
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    dv.fail({
      method: 'POST',
      path: /systemuserroles_association\/\$ref/,
      status: 429,
      body: { error: { code: '0x80072321', message: 'Combined execution time of incoming requests exceeded limit.' } },
      headers: { 'Retry-After': '120' },
    });
    const m = createMutation({ connectionId: 'dyn-acme', permissions: ['object:opportunity:read'], page: null });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    await h.worker.runDue();
    let r = await requestStatus(m.args.requestId);
    expect(r.fulfilment).toMatchObject({ state: 'retrying', reason: { code: 'rate-limited' } });
    h.clock.advance(121_000);
    await h.worker.runDue();
    expect((await requestStatus(m.args.requestId)).status).toBe('fulfilled');

    // System Administrator: Dataverse refuses (privilege escalation): an admin task with its words.
    dv.refuseRole(SYSADMIN, { code: '0x80040256', message: 'The user does not hold the privileges of the role being assigned.' });
    const q = createMutation({ connectionId: 'dyn-acme', permissions: ['object:quote:delete'], page: null, durationDays: 1 });
    await h.mutate(ava, [q]);
    await h.mutate(ben, [decisionMutation(q.args.requestId, 'approve')]);
    await h.worker.runDue();
    r = await requestStatus(q.args.requestId);
    expect(r).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task', mode: 'task', reason: { code: 'crm-refused' } } });
    expect(r.fulfilment?.reason?.message).toContain('0x80040256');
    expect(dv.associateAttempts.filter((a) => a.roleId === SYSADMIN)).toHaveLength(1);
  });
});
