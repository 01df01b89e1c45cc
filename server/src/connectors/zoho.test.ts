/**
 * The Zoho CRM connector and the framework's whole-profile rules against the fake Zoho CRM (real HTTP on
 * loopback), with the real app, database, worker and clock of the test harness. The demo org's
 * `zoho-acme` connection (zoho.com.cn, org 7700001) is connected as an administrator would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoZohoOrg, startFakeZoho, ZOHO_DEMO_CLIENT, type FakeZoho } from '../../../test/fakes/zoho.ts';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';
import { zohoConnector, zohoTenant } from './zoho.ts';

let h: Harness;
let zoho: FakeZoho;
let cara: string;

const AVA = '770000100000000301';
const DAN = '770000100000000304';
const STANDARD = '770000100000026014';
const SALES_MANAGER = '770000100000026017';

async function connect(extra: Record<string, unknown> = {}) {
  const res = await h.patch(cara, '/api/admin/connections/zoho-acme', {
    mode: 'provision',
    settings: { dataCenter: 'com.cn', accountsUrl: zoho.url },
    credentials: ZOHO_DEMO_CLIENT,
    ...extra,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { connection: Record<string, unknown> }).connection;
}

type Run = { status: string; error: string | null; changes: Record<string, number>; read: Record<string, number>; warnings: string[] };
async function importNow(): Promise<Run> {
  const res = await h.post(cara, '/api/admin/connections/zoho-acme/import', {});
  expect(res.status).toBe(202);
  const { run } = (await res.json()) as { run: { id: string } };
  await h.worker.runDue();
  return ((await (await h.get(cara, `/api/admin/connections/zoho-acme/imports/${run.id}`)).json()) as { run: Run }).run;
}

async function requestStatus(id: string) {
  const r = await h.db.execute('SELECT status, fulfilment, granted_at, expires_at FROM requests WHERE id = ?', [id]);
  const row = r.rows[0]!;
  return {
    status: String(row.status),
    fulfilment:
      row.fulfilment === null
        ? null
        : (JSON.parse(String(row.fulfilment)) as { state: string; mode: string; reason: { code: string; message: string } | null }),
    grantedAt: row.granted_at as string | null,
    expiresAt: row.expires_at as string | null,
  };
}

/** Ava asks for Deals (only the Sales Manager and Administrator profiles grant it); Ben approves. */
async function avaAsksForDeals(days = 7) {
  const ava = await h.signIn('ava@acme.test');
  const ben = await h.signIn('ben@acme.test');
  const m = createMutation({ connectionId: 'zoho-acme', permissions: ['object:Deals:read'], page: null, durationDays: 30 });
  const created = await h.mutate(ava, [m]);
  expect(created.results[0]).toMatchObject({ status: 'applied' });
  await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve', { durationDays: days })]);
  return { requestId: m.args.requestId, ava };
}

/** Ava's assignments in AccessLens on zoho-acme: bundle → [source, external id] (active ones). */
async function avaHolds() {
  const r = await h.db.execute(
    "SELECT bundle_id, source, external_id FROM assignments WHERE account_id = 'acct-zoho-acme-ava' AND revoked_at IS NULL AND target_type = 'bundle' ORDER BY bundle_id",
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
  zoho = await startFakeZoho({ org: demoZohoOrg(), clients: [ZOHO_DEMO_CLIENT] });
  cara = await h.signIn('cara@acme.test');
});

afterEach(async () => {
  await zoho.close();
  await h.close();
});

describe('Zoho CRM: settings and credentials', () => {
  it('validates settings and credentials, naming the field; never returns the credentials', async () => {
    const bad = await h.patch(cara, '/api/admin/connections/zoho-acme', { settings: { dataCenter: 'moon' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(
      /^settings\.dataCenter: must be one of com, eu, in, com\.au, com\.cn, jp, sa, ca/,
    );
    const missing = await h.patch(cara, '/api/admin/connections/zoho-acme', { credentials: { clientId: 'x', clientSecret: 'y' } });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe('credentials.refreshToken: is required');
    const view = await connect();
    expect(view).toMatchObject({ credentials: 'set', mode: 'provision', canProvision: true, automaticChange: false });
    expect(JSON.stringify(view)).not.toContain(ZOHO_DEMO_CLIENT.refreshToken);
    expect(zohoConnector.settingsSchema.parse({})).toMatchObject({ dataCenter: 'com', apiVersion: 'v8', pageSize: 200 });
  });

  it('the connection test signs in with the Zoho-oauthtoken scheme and reports the org id as pages name it', async () => {
    await connect();
    const res = await h.post(cara, '/api/admin/connections/zoho-acme/test', {});
    const body = (await res.json()) as {
      ok: boolean;
      identity: { tenant: string; username: string };
      canRead: boolean;
      canProvision: boolean;
      checks: { id: string; ok: boolean }[];
    };
    expect(body).toMatchObject({ ok: true, canRead: true, canProvision: true, identity: { tenant: '7700001', username: 'crm-integration@acme.test' } });
    expect(body.checks.map((c) => c.id)).toEqual(['sign-in', 'read-org', 'read-users', 'read-profiles', 'read-roles', 'change-profiles']);
    // The accounts server of the data centre (here the fake's) issued the token; the API domain came with it.
    expect(zoho.log[0]).toMatchObject({ method: 'POST', path: '/oauth/v2/token' });
    expect(zohoTenant({ domain_name: 'org926864613', zgid: '1' })).toBe('926864613');
    expect(zohoTenant({ zgid: '7700001' })).toBe('7700001');
  });
});

describe('Zoho CRM: import', () => {
  it('the demo org imports onto the demo seed without changing anything it holds; pages with more_records', async () => {
    await connect({ settings: { dataCenter: 'com.cn', accountsUrl: zoho.url, pageSize: 2 } });
    const run = await importNow();
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    // Four people and the integration user; three profiles and four roles; a profile and a role each.
    expect(run.read).toEqual({ users: 5, bundles: 7, assignments: 10 });
    expect(run.changes).toMatchObject({ ...NOTHING_CHANGED, unmatchedUsers: 1 });
    expect(run.warnings.join(' ')).toContain('1 CRM users match no person');
    expect(zoho.log.filter((l) => l.path.startsWith('/crm/v8/users?type=AllUsers')).map((l) => new URL(l.path, 'http://x').searchParams.get('page'))).toEqual([
      '1',
      '2',
      '3',
    ]);
    const unlinked = await h.db.execute(
      "SELECT COUNT(*) AS n FROM assignments WHERE external_id IS NULL AND revoked_at IS NULL AND account_id IN (SELECT id FROM crm_accounts WHERE connection_id = 'zoho-acme')",
    );
    expect(Number(unlinked.rows[0]!.n)).toBe(0);
    expect(await avaHolds()).toEqual({
      'zoho-role-sales-rep': ['directory', `${AVA}:770000100000026023`],
      'zoho-standard': ['directory', `${AVA}:${STANDARD}`],
    });
    // Zoho's Users API says nothing of sign-ins: the last login AccessLens knew stays.
    const login = await h.db.execute("SELECT last_login_at FROM crm_accounts WHERE id = 'acct-zoho-acme-ava'");
    expect(login.rows[0]!.last_login_at).not.toBeNull();
    // The tenant stays what pages name: org7700001.
    expect((await h.db.execute("SELECT tenant FROM crm_connections WHERE id = 'zoho-acme'")).rows[0]!.tenant).toBe('7700001');
  });

  it('imports changes audited: a profile changed by hand is found outside the request process, the old one revoked; Chinese names kept exactly', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    zoho.userById(AVA)!.profile = SALES_MANAGER; // an administrator changes Ava's profile in Zoho
    zoho.userById(DAN)!.status = 'disabled';
    zoho.org.profiles.push({ id: '770000100000026030', name: '销售助理（华东）', modules: { Leads: ['View'], Potentials: ['View', 'Edit'] } });
    zoho.org.roles.push({ id: '770000100000026031', name: '区域经理·华东', reportingTo: '770000100000026021' });
    h.clock.advance(3600_000);
    const run = await importNow();
    expect(run.changes).toMatchObject({ assignmentsFound: 1, outsideProcess: 1, assignmentsRemoved: 1, accountsChanged: 1, bundlesCreated: 2 });

    expect(await avaHolds()).toEqual({
      'zoho-role-sales-rep': ['directory', `${AVA}:770000100000026023`],
      'zoho-sales-manager': ['directory', `${AVA}:${SALES_MANAGER}`],
    });
    const old = await h.db.execute("SELECT revoked_at FROM assignments WHERE account_id = 'acct-zoho-acme-ava' AND bundle_id = 'zoho-standard'");
    expect(old.rows[0]!.revoked_at).not.toBeNull(); // history kept
    const dan = await h.db.execute("SELECT active FROM crm_accounts WHERE id = 'acct-zoho-acme-dan'");
    expect(Number(dan.rows[0]!.active)).toBe(0);
    const created = await h.db.execute(
      "SELECT name, kind FROM bundles WHERE connection_id = 'zoho-acme' AND external_id IN ('770000100000026030', '770000100000026031') ORDER BY kind",
    );
    expect(created.rows.map((r) => [r.kind, r.name])).toEqual([
      ['profile', '销售助理（华东）'],
      ['role', '区域经理·华东'],
    ]);
    // The Potentials module's permissions are keyed by its API name, Deals.
    const keys = await h.db.execute(
      "SELECT key FROM bundle_permissions WHERE bundle_id = (SELECT id FROM bundles WHERE external_id = '770000100000026030') ORDER BY key",
    );
    expect(keys.rows.map((r) => r.key)).toEqual(['object:Deals:edit', 'object:Deals:read', 'object:Leads:read']);

    const f = await h.get(cara, '/api/findings?kind=outside-process');
    const findings = ((await f.json()) as { findings: { personId: string; bundleIds: string[] }[] }).findings;
    expect(findings).toMatchObject([{ personId: 'p-ava', bundleIds: ['zoho-sales-manager'] }]);
  });

  it('waits as a 429 answer says, and an expired token is refreshed once; a refused refresh needs re-authorisation', async () => {
    await connect();
    zoho.fail({
      method: 'GET',
      path: /\/settings\/profiles$/,
      status: 429,
      body: { code: 'TOO_MANY_REQUESTS', details: {}, message: 'concurrency limit exceeded', status: 'error' },
      headers: { 'Retry-After': '1' },
    });
    const first = await importNow();
    expect(first.status).toBe('succeeded');
    expect(zoho.log.filter((l) => l.path === '/crm/v8/settings/profiles')).toHaveLength(2);

    zoho.expireTokens();
    h.clock.advance(3600_000);
    const second = await importNow();
    expect(second.status).toBe('succeeded');
    expect(zoho.tokensIssued).toBe(2);

    zoho.expireTokens();
    zoho.refuseGrants(true);
    h.clock.advance(3600_000);
    const third = await importNow();
    expect(third.status).toBe('failed');
    expect(third.error).toContain('invalid_code');
    const view = (await (await h.get(cara, '/api/admin/connections/zoho-acme')).json()) as { connection: { authStatus: string; nextImportAt: string | null } };
    expect(view.connection).toMatchObject({ authStatus: 'needs-reauthorisation', nextImportAt: null });
    // The last good import stays in force.
    expect((await avaHolds())['zoho-standard']).toBeDefined();
  });
});

describe('Zoho CRM: grants replace the whole profile', () => {
  it('by default an approval is an admin task; marking it done checks the CRM; at expiry a task says what to put back', async () => {
    await connect();
    await importNow();
    const { requestId } = await avaAsksForDeals();
    let r = await requestStatus(requestId);
    expect(r).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task', mode: 'task', reason: { code: 'no-automatic-change' } } });
    expect(r.fulfilment!.reason!.message).toContain('Granting it replaces what ava@acme.test holds now: Standard (profile)');
    const bundles = (
      (await (await h.get(cara, '/api/admin/tasks?status=open')).json()) as { tasks: { requestId: string; bundles: { id: string }[] }[] }
    ).tasks.find((t) => t.requestId === requestId)!.bundles;
    expect(bundles.map((b) => b.id)).toEqual(['zoho-sales-manager']);

    // Not done in Zoho yet: marking it done is refused, the task stays open.
    const early = await h.completeTask(requestId);
    expect(early.status).toBe(409);
    // Said as what it is (not a generic "changed meanwhile"): the reason and what the CRM does not show yet.
    expect(((await early.json()) as { error: unknown }).error).toEqual({
      code: 'conflict',
      message: 'The CRM does not show ava@acme.test holding object:Deals:read yet: grant it there first, then mark the task done.',
      reason: 'crm_not_granted_yet',
      params: { username: 'ava@acme.test', permissions: 'object:Deals:read' },
    });
    zoho.userById(AVA)!.profile = SALES_MANAGER; // the administrator changes the profile in Zoho
    expect((await h.completeTask(requestId)).status).toBe(200);
    r = await requestStatus(requestId);
    expect(r.status).toBe('fulfilled');
    expect(Date.parse(r.expiresAt!) - Date.parse(r.grantedAt!)).toBe(7 * DAY_MS);
    // The new profile is the grant; the one it replaced is no longer held.
    const held = await avaHolds();
    expect(held['zoho-sales-manager']).toEqual(['request', `${AVA}:${SALES_MANAGER}`]);
    expect(held['zoho-standard']).toBeUndefined();
    expect(zoho.changes).toEqual([]); // AccessLens changed nothing in Zoho itself

    // An import now sees what AccessLens holds: nothing is "outside the process".
    expect((await importNow()).changes).toMatchObject({ assignmentsFound: 0, assignmentsRemoved: 0, outsideProcess: 0 });

    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(await h.signIn('ava@acme.test'));
    const tasks = (
      (await (await h.get(cara, '/api/admin/tasks?status=open')).json()) as { tasks: { requestId: string; kind: string; reason: { message: string } }[] }
    ).tasks;
    const revoke = tasks.find((t) => t.requestId === requestId && t.kind === 'revoke')!;
    expect(revoke.reason.message).toContain('Put back what the grant replaced: Standard (profile).');
    const stillHeld = await h.completeTask(requestId, 'revoke');
    expect(stillHeld.status).toBe(409); // Zoho still shows Sales Manager
    expect(((await stillHeld.json()) as { error: unknown }).error).toEqual({
      code: 'conflict',
      message: 'The CRM still shows the grant to ava@acme.test: remove it there first, then mark the task done.',
      reason: 'crm_still_shows_grant',
      params: { username: 'ava@acme.test' },
    });
    zoho.userById(AVA)!.profile = STANDARD;
    // An import before the task is marked done: the profile put back is explained by the removal, not a finding.
    h.clock.advance(60_000);
    expect((await importNow()).changes).toMatchObject({ assignmentsFound: 1, outsideProcess: 0, assignmentsRemoved: 1 });
    expect((await h.completeTask(requestId, 'revoke')).status).toBe(200);
    expect((await requestStatus(requestId)).status).toBe('expired');
    expect((await avaHolds())['zoho-standard']).toEqual(['directory', `${AVA}:${STANDARD}`]);
    expect((await importNow()).changes).toMatchObject({ ...NOTHING_CHANGED, outsideProcess: 0 });
  });

  it('with automatic change on: job → Zoho holds the new profile → fulfilled → expiry → the old profile is put back; nothing written twice', async () => {
    await connect({ automaticChange: true });
    await importNow();
    const { requestId, ava } = await avaAsksForDeals();
    expect((await requestStatus(requestId)).fulfilment).toMatchObject({ state: 'queued', mode: 'automatic' });
    await h.worker.runDue();
    let r = await requestStatus(requestId);
    expect(r).toMatchObject({ status: 'fulfilled', fulfilment: { state: 'active' } });
    expect(zoho.userById(AVA)!.profile).toBe(SALES_MANAGER);
    expect(zoho.changes).toEqual([{ userId: AVA, field: 'profile', to: SALES_MANAGER, ok: true }]);
    expect(await avaHolds()).toEqual({
      'zoho-role-sales-rep': ['directory', `${AVA}:770000100000026023`],
      'zoho-sales-manager': ['request', `${AVA}:${SALES_MANAGER}`],
    });
    const replaced = await h.db.execute("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'assignment.replaced'");
    expect(Number(replaced.rows[0]!.n)).toBe(1);
    expect((await importNow()).changes).toMatchObject({ ...NOTHING_CHANGED, outsideProcess: 0 });

    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(ava);
    await h.worker.runDue();
    r = await requestStatus(requestId);
    expect(r).toMatchObject({ status: 'expired', fulfilment: { state: 'removed' } });
    expect(zoho.userById(AVA)!.profile).toBe(STANDARD);
    expect(zoho.changes).toEqual([
      { userId: AVA, field: 'profile', to: SALES_MANAGER, ok: true },
      { userId: AVA, field: 'profile', to: STANDARD, ok: true },
    ]);
    expect((await avaHolds())['zoho-standard']).toEqual(['directory', `${AVA}:${STANDARD}`]);
    // Nothing left to do, nothing written again, and the next import agrees with AccessLens.
    h.clock.advance(3600_000);
    await h.worker.runDue();
    expect(zoho.changes).toHaveLength(2);
    expect((await importNow()).changes).toMatchObject({ ...NOTHING_CHANGED, outsideProcess: 0 });
  });

  it('a write already in Zoho (a crash before its record) is adopted, not repeated; its revocation still puts the old profile back', async () => {
    await connect({ automaticChange: true });
    await importNow();
    const { requestId, ava } = await avaAsksForDeals();
    zoho.userById(AVA)!.profile = SALES_MANAGER;
    await h.worker.runDue();
    const r = await requestStatus(requestId);
    expect(r.status).toBe('fulfilled');
    expect(zoho.changes).toEqual([]);
    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(ava);
    await h.worker.runDue();
    expect((await requestStatus(requestId)).status).toBe('expired');
    expect(zoho.userById(AVA)!.profile).toBe(STANDARD);
  });

  it('Zoho refusing the change becomes an admin task with its reason; a long Retry-After reschedules the job', async () => {
    await connect({ automaticChange: true });
    await importNow();
    zoho.fail({
      method: 'PUT',
      path: /\/crm\/v8\/users\//,
      status: 429,
      body: { code: 'TOO_MANY_REQUESTS', details: {}, message: 'too many requests', status: 'error' },
      headers: { 'Retry-After': '120' },
    });
    const { requestId } = await avaAsksForDeals();
    await h.worker.runDue();
    expect((await requestStatus(requestId)).fulfilment).toMatchObject({ state: 'retrying', reason: { code: 'rate-limited' } });
    zoho.refuseChange(SALES_MANAGER, { code: 'LICENSE_LIMIT_EXCEEDED', message: 'No licence left for this profile' });
    h.clock.advance(121_000);
    await h.worker.runDue();
    const r = await requestStatus(requestId);
    expect(r).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task', reason: { code: 'crm-refused' } } });
    expect(r.fulfilment!.reason!.message).toContain('LICENSE_LIMIT_EXCEEDED');
    expect(r.fulfilment!.reason!.message).toContain('角色 on zoho.com.cn');
    expect(zoho.userById(AVA)!.profile).toBe(STANDARD);
  });
});
