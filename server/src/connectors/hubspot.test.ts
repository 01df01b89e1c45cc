/**
 * The HubSpot connector against the fake HubSpot (real HTTP on loopback), with the real app, database,
 * worker and clock of the test harness, on the demo org's `hs-acme` connection (portal 4242424).
 */
import { hubspot as hubspotAdapter } from '@accesslens/shared/crm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEMO_HUBSPOT_SEAT,
  DEMO_HUBSPOT_SETTINGS,
  DEMO_HUBSPOT_TOKEN,
  demoHubspotAccount,
  demoHubspotRole,
  demoHubspotUser,
} from '../../../test/fakes/hubspot-demo.ts';
import { ALL_SCOPES, startFakeHubspot, type FakeHubspot } from '../../../test/fakes/hubspot.ts';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';
import { hubspotTenantOf } from './hubspot.ts';

let h: Harness;
let hs: FakeHubspot;
let cara: string;

const AVA = demoHubspotUser('p-ava');
const BEN = demoHubspotUser('p-ben');
const DAN = demoHubspotUser('p-dan');
const SALES_REP = demoHubspotRole('hs-sales-rep');
const SALES_MANAGER = demoHubspotRole('hs-sales-manager');
const OAUTH = { clientId: 'b5d2c8e1-hubspot-app', clientSecret: 'oauth-secret-2026', refreshTokens: ['eu1-refresh-1234'] };

interface Run {
  status: string;
  error: string | null;
  changes: Record<string, number>;
  read: Record<string, number>;
  warnings: string[];
  incremental: boolean;
}

async function connect(
  settings: Record<string, unknown> = {},
  credentials: Record<string, unknown> = { flow: 'private_app', accessToken: DEMO_HUBSPOT_TOKEN },
) {
  const res = await h.patch(cara, '/api/admin/connections/hs-acme', {
    mode: 'provision',
    settings: { apiUrl: hs.url, ...DEMO_HUBSPOT_SETTINGS, ...settings },
    credentials,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { connection: Record<string, unknown> }).connection;
}

async function importNow(): Promise<Run> {
  const res = await h.post(cara, '/api/admin/connections/hs-acme/import', {});
  expect(res.status).toBe(202);
  const { run } = (await res.json()) as { run: { id: string } };
  await h.worker.runDue();
  const r = await h.get(cara, `/api/admin/connections/hs-acme/imports/${run.id}`);
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

async function approvedRequest(permissions: string[], durationDays = 7) {
  const ava = await h.signIn('ava@acme.test');
  const ben = await h.signIn('ben@acme.test');
  const m = createMutation({ connectionId: 'hs-acme', permissions, page: null, durationDays: 30 });
  await h.mutate(ava, [m]);
  await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve', { durationDays })]);
  return { id: m.args.requestId, ava };
}

const seatsLeft = () => hs.account.seats.find((s) => s.name === DEMO_HUBSPOT_SEAT)!.remainingSeats;
const activeAssignments = async () =>
  (
    await h.db.execute(
      "SELECT a.account_id, a.bundle_id, a.source FROM assignments a JOIN crm_accounts ac ON ac.id = a.account_id WHERE ac.connection_id = 'hs-acme' AND a.revoked_at IS NULL ORDER BY a.account_id, a.bundle_id",
    )
  ).rows.map((r) => `${String(r.account_id)}:${String(r.bundle_id)}:${String(r.source)}`);

beforeEach(async () => {
  h = await harness();
  hs = await startFakeHubspot({
    account: demoHubspotAccount(h.clock.now()),
    privateApps: [{ token: DEMO_HUBSPOT_TOKEN }],
    oauthApps: [OAUTH],
    now: h.clock.now,
  });
  cara = await h.signIn('cara@acme.test');
});

afterEach(async () => {
  await hs.close();
  await h.close();
});

describe('settings and test', () => {
  it('the tenant is the portal id the HubSpot adapter reads from page URLs', () => {
    expect(hubspotTenantOf(4242424)).toBe('4242424');
    expect(hubspotTenantOf(4242424)).toBe(hubspotAdapter.tenantOf(new URL('https://app-eu1.hubspot.com/contacts/4242424/record/0-3/18273645501')));
    expect(hubspotTenantOf('x')).toBeNull();
  });

  it('names what is wrong; a private app token signs in and its scopes are checked', async () => {
    const bad = await h.patch(cara, '/api/admin/connections/hs-acme', { settings: {}, credentials: { flow: 'private_app' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('credentials.accessToken: is required');
    const flow = await h.patch(cara, '/api/admin/connections/hs-acme', { settings: {}, credentials: { flow: 'api_key', key: 'x' } });
    expect(((await flow.json()) as { error: { message: string } }).error.message).toContain('credentials.flow');

    const view = await connect();
    expect(JSON.stringify(view)).not.toContain(DEMO_HUBSPOT_TOKEN);
    const res = await h.post(cara, '/api/admin/connections/hs-acme/test', {});
    const body = (await res.json()) as {
      ok: boolean;
      identity: { tenant: string };
      canRead: boolean;
      canProvision: boolean;
      checks: { id: string; ok: boolean }[];
    };
    expect(body).toMatchObject({ ok: true, canRead: true, canProvision: true, identity: { tenant: '4242424' } });
    expect(body.checks.map((c) => c.id)).toEqual(['sign-in', 'read-users', 'read-teams', 'read-seats', 'read-last-logins', 'change-permission-sets']);
  });

  it('a token without billing-write cannot change paid permission sets: the test says so', async () => {
    await hs.close();
    hs = await startFakeHubspot({
      account: demoHubspotAccount(h.clock.now()),
      privateApps: [{ token: DEMO_HUBSPOT_TOKEN, scopes: ALL_SCOPES.filter((s) => s !== 'billing-write' && s !== 'account-info.security.read') }],
      now: h.clock.now,
    });
    await connect();
    const body = (await (await h.post(cara, '/api/admin/connections/hs-acme/test', {})).json()) as {
      ok: boolean;
      checks: { id: string; ok: boolean; message: string }[];
    };
    expect(body.ok).toBe(false);
    expect(body.checks.find((c) => c.id === 'change-permission-sets')!.message).toContain('billing-write');
    expect(body.checks.find((c) => c.id === 'read-last-logins')!.message).toContain('account-info.security.read');
  });
});

describe('import', () => {
  it('the demo account imports onto the demo seed without changing what it holds; seats go into the licences', async () => {
    await connect();
    const run = await importNow();
    expect(run.error).toBeNull();
    // Four users; Sales Rep, Sales Manager and Super Admin; four holdings.
    expect(run.read).toEqual({ users: 4, bundles: 3, assignments: 4 });
    expect(run.changes).toMatchObject({
      accountsCreated: 0,
      accountsChanged: 0,
      lastLoginsRefreshed: 0,
      bundlesCreated: 0,
      bundlesChanged: 0,
      bundlesRemoved: 0,
      catalogKeysAdded: 0,
      assignmentsFound: 0,
      assignmentsRemoved: 0,
      assignmentsLinked: 4,
      unmatchedUsers: 0,
      licencesAdded: 1,
    });
    // HubSpot does not publish what a permission set grants: the seed's keys stay.
    const keys = (await h.db.execute("SELECT key FROM bundle_permissions WHERE bundle_id = 'hs-sales-manager' ORDER BY key")).rows.map((r) => String(r.key));
    expect(keys).toContain('object:deal:read');
    // Two Sales Manager seats taken (Ben, Dan) and one left; Core is not tied to a permission set.
    const lic = await h.db.execute("SELECT name, license_type, seats FROM licenses WHERE connection_id = 'hs-acme'");
    expect(lic.rows.map((r) => ({ ...r }))).toEqual([{ name: DEMO_HUBSPOT_SEAT, license_type: 'seat', seats: 3 }]);
    expect(run.warnings.join(' ')).toContain('Seats not counted (Core)');
    const c = await h.db.execute("SELECT tenant FROM crm_connections WHERE id = 'hs-acme'");
    expect(c.rows[0]!.tenant).toBe('4242424');

    h.clock.advance(3600_000);
    const again = await importNow();
    expect(Object.entries(again.changes).filter(([, n]) => n !== 0)).toEqual([]);
  });

  it('imports changes: a permission set changed by hand is a finding, removals set revoked_at, deleted users, teams, last logins', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    h.clock.advance(3600_000);
    const now = h.clock.now().toISOString();
    // In HubSpot, by hand: Ava becomes Sales Manager; Dan is removed; Ben joins a new team and signs in.
    hs.userById(AVA)!.roleId = SALES_MANAGER;
    hs.account.users.splice(
      hs.account.users.findIndex((u) => u.id === DAN),
      1,
    );
    hs.account.teams.push({ id: '9001', name: 'EMEA Sales' });
    hs.userById(BEN)!.primaryTeamId = '9001';
    hs.account.logins.push({ id: '1', loginAt: now, userId: Number(BEN), email: 'ben@acme.test', loginSucceeded: true });
    hs.account.logins.push({
      id: '2',
      loginAt: new Date(Date.parse(now) + 1000).toISOString(),
      userId: Number(BEN),
      email: 'ben@acme.test',
      loginSucceeded: false,
    });

    const run = await importNow();
    expect(run.status).toBe('succeeded');
    expect(run.changes).toMatchObject({
      assignmentsFound: 2,
      outsideProcess: 2,
      assignmentsRemoved: 2,
      accountsDeactivated: 1,
      bundlesCreated: 1,
      lastLoginsRefreshed: 1,
    });
    const ava = await h.db.execute("SELECT bundle_id, revoked_at, outside_process FROM assignments WHERE account_id = 'acct-hs-acme-ava' ORDER BY bundle_id");
    expect(ava.rows.map((r) => [r.bundle_id, r.revoked_at === null, Number(r.outside_process)])).toEqual([
      ['hs-sales-manager', true, 1],
      ['hs-sales-rep', false, 0],
    ]);
    const dan = await h.db.execute("SELECT active FROM crm_accounts WHERE id = 'acct-hs-acme-dan'");
    expect(Number(dan.rows[0]!.active)).toBe(0);
    const ben = await h.db.execute("SELECT last_login_at FROM crm_accounts WHERE id = 'acct-hs-acme-ben'");
    expect(ben.rows[0]!.last_login_at).toBe(now); // the failed attempt after it does not count
    const f = await h.get(cara, '/api/findings?kind=outside-process&connectionId=hs-acme');
    const findings = ((await f.json()) as { findings: { personId: string; bundleIds: string[] }[] }).findings;
    // Ben's new team is recorded as outside the process too, but a team grants no permission by itself: no finding.
    expect(findings.map((x) => [x.personId, x.bundleIds])).toEqual([['p-ava', ['hs-sales-manager']]]);
    const team = await h.db.execute(
      "SELECT a.outside_process FROM assignments a JOIN bundles b ON b.id = a.bundle_id WHERE b.external_id = '9001' AND a.account_id = 'acct-hs-acme-ben'",
    );
    expect(Number(team.rows[0]!.outside_process)).toBe(1);
  });

  it('pages with after, waits as Retry-After says, refreshes an expired OAuth token once', async () => {
    await connect({ pageSize: 1 }, { flow: 'oauth', clientId: OAUTH.clientId, clientSecret: OAUTH.clientSecret, refreshToken: OAUTH.refreshTokens[0] });
    hs.fail({
      method: 'GET',
      path: /^\/settings\/v3\/users\?limit=1&after=/,
      status: 429,
      body: { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: 'c1', policyName: 'SECONDLY' },
      headers: { 'Retry-After': '1' },
    });
    const first = await importNow();
    expect(first.status).toBe('succeeded');
    expect(first.read.users).toBe(4);
    // Four pages of one user, one of them asked twice (429), none after the last.
    expect(hs.log.filter((l) => l.method === 'GET' && l.path.startsWith('/settings/v3/users?'))).toHaveLength(5);
    const tokens = () => hs.log.filter((l) => l.path === '/oauth/v1/token').length;
    expect(tokens()).toBe(1);
    hs.expireTokens();
    h.clock.advance(10 * 60_000);
    expect((await importNow()).status).toBe('succeeded');
    expect(tokens()).toBe(2);
  });

  it('a revoked private app token: one more try, then "needs re-authorisation" for admins', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    hs.revokePrivateApp(DEMO_HUBSPOT_TOKEN);
    const calls = hs.log.length;
    h.clock.advance(3600_000);
    const run = await importNow();
    expect(run.status).toBe('failed');
    expect(run.error).toContain('refused a freshly issued token');
    expect(hs.log.slice(calls).map((l) => l.path)).toEqual(['/account-info/v3/details', '/account-info/v3/details']);
    const view = (await (await h.get(cara, '/api/admin/connections/hs-acme')).json()) as { connection: { authStatus: string } };
    expect(view.connection.authStatus).toBe('needs-reauthorisation');
  });

  it('without the login history scope the import succeeds and keeps the last logins AccessLens has', async () => {
    await hs.close();
    hs = await startFakeHubspot({
      account: demoHubspotAccount(h.clock.now()),
      privateApps: [{ token: DEMO_HUBSPOT_TOKEN, scopes: ALL_SCOPES.filter((s) => s !== 'account-info.security.read') }],
      now: h.clock.now,
    });
    await connect();
    const before = await h.db.execute("SELECT id, last_login_at FROM crm_accounts WHERE connection_id = 'hs-acme' ORDER BY id");
    const run = await importNow();
    expect(run.status).toBe('succeeded');
    expect(run.warnings.join(' ')).toContain('account-info.security.read');
    const after = await h.db.execute("SELECT id, last_login_at FROM crm_accounts WHERE connection_id = 'hs-acme' ORDER BY id");
    expect(after.rows.map((r) => ({ ...r }))).toEqual(before.rows.map((r) => ({ ...r })));
  });
});

describe('fulfilment', () => {
  it('approve → a seat is free → the permission set is changed → fulfilled; expiry → the previous set is back → expired', async () => {
    await connect();
    await importNow();
    const { id, ava } = await approvedRequest(['object:deal:read']);
    expect((await requestStatus(id)).fulfilment).toMatchObject({ state: 'queued', mode: 'automatic' });
    h.clock.advance(60_000);
    await h.worker.runDue();
    let r = await requestStatus(id);
    expect(r.fulfilment?.reason).toBeNull();
    expect(r.status).toBe('fulfilled');
    expect(Date.parse(r.expiresAt!) - Date.parse(r.grantedAt!)).toBe(7 * DAY_MS);
    expect(hs.userById(AVA)!.roleId).toBe(SALES_MANAGER);
    expect(hs.updateAttempts).toEqual([{ userId: AVA, roleId: SALES_MANAGER, ok: true, category: null }]);
    expect(seatsLeft()).toBe(0);
    // The set it replaced is kept in the job's plan, and Ava no longer holds Sales Rep in AccessLens either.
    const job = await h.db.execute("SELECT plan FROM fulfilment_jobs WHERE request_id = ? AND action = 'grant'", [id]);
    expect((JSON.parse(String(job.rows[0]!.plan)) as { replaced: { externalId: string }[] }).replaced.map((p) => p.externalId)).toEqual([SALES_REP]);
    expect(await activeAssignments()).toContain('acct-hs-acme-ava:hs-sales-manager:request');
    expect(await activeAssignments()).not.toContain('acct-hs-acme-ava:hs-sales-rep:directory');
    const grant = (await h.pull(ava)).assignments.find((a) => a.requestId === id)!;
    expect(grant).toMatchObject({ source: 'request', target: { type: 'bundle', bundleId: 'hs-sales-manager' } });

    // An import now changes nothing: the new set is the request's, the old one already ended.
    const run = await importNow();
    expect(Object.entries(run.changes).filter(([, n]) => n !== 0)).toEqual([]);

    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(ava);
    await h.worker.runDue();
    r = await requestStatus(id);
    expect(r.status).toBe('expired');
    expect(r.fulfilment?.state).toBe('removed');
    expect(hs.userById(AVA)!.roleId).toBe(SALES_REP);
    expect(hs.updateAttempts.map((a) => a.roleId)).toEqual([SALES_MANAGER, SALES_REP]);
    expect(seatsLeft()).toBe(1);
    expect(await activeAssignments()).toContain('acct-hs-acme-ava:hs-sales-rep:directory');
    // And the import after that finds everything explained.
    const after = await importNow();
    expect(Object.entries(after.changes).filter(([, n]) => n !== 0)).toEqual([]);
    const audit = (await h.db.execute("SELECT action FROM audit_events WHERE action IN ('assignment.replaced', 'assignment.restored') ORDER BY seq")).rows.map(
      (x) => x.action,
    );
    expect(audit).toEqual(['assignment.replaced', 'assignment.restored']);
  });

  it('no seat free: nothing is written, an admin task says why', async () => {
    await connect();
    await importNow();
    hs.account.seats.find((s) => s.name === DEMO_HUBSPOT_SEAT)!.remainingSeats = 0;
    const { id } = await approvedRequest(['object:deal:read']);
    await h.worker.runDue();
    const r = await requestStatus(id);
    expect(r).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task', mode: 'task', reason: { code: 'crm-refused' } } });
    expect(r.fulfilment?.reason?.message).toContain(`No "${DEMO_HUBSPOT_SEAT}" seat is free`);
    expect(hs.updateAttempts).toEqual([]);
    expect(hs.userById(AVA)!.roleId).toBe(SALES_REP);
  });

  it('a permission set with paid seats and no seat named for it is not granted blindly', async () => {
    await connect({ roleSeats: {} });
    await importNow();
    const { id } = await approvedRequest(['object:deal:read']);
    await h.worker.runDue();
    const r = await requestStatus(id);
    expect(r.fulfilment?.reason?.message).toContain('settings.roleSeats');
    expect(hs.updateAttempts).toEqual([]);
  });

  it('never applies twice: the change went through but its confirmation failed; the retry adopts it and still knows the previous set', async () => {
    await connect();
    await importNow();
    hs.afterUpdate = async () => {
      // Every read of Ava after the change fails for a while (HubSpot asks to wait).
      hs.fail({
        method: 'GET',
        path: new RegExp(`^/settings/v3/users/${AVA}$`),
        status: 429,
        body: { status: 'error', message: 'slow down', errorType: 'RATE_LIMIT' },
        headers: { 'Retry-After': '0' },
        times: 5,
      });
    };
    const { id } = await approvedRequest(['object:deal:read'], 1);
    await h.worker.runDue();
    expect((await requestStatus(id)).fulfilment).toMatchObject({ state: 'retrying', reason: { code: 'rate-limited' } });
    hs.afterUpdate = null;
    h.clock.advance(3600_000);
    await h.worker.runDue();
    const r = await requestStatus(id);
    expect(r.status).toBe('fulfilled');
    expect(hs.updateAttempts).toHaveLength(1);
    // At expiry, Sales Rep (known from the first attempt) comes back.
    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(await h.signIn('ava@acme.test'));
    await h.worker.runDue();
    expect((await requestStatus(id)).status).toBe('expired');
    expect(hs.userById(AVA)!.roleId).toBe(SALES_REP);
  });
});
