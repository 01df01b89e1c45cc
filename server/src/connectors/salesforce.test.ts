/**
 * The Salesforce connector and the connector framework against the fake Salesforce (real HTTP on
 * loopback), with the real app, database, worker and clock of the test harness.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT, demoSalesforceOrg } from '../../../test/fakes/salesforce-demo.ts';
import { fakeId, startFakeSalesforce, type FakeSalesforce } from '../../../test/fakes/salesforce.ts';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';
import { demoBundleExternalId, salesforceUserId } from '../seed/demo.ts';

let h: Harness;
let sf: FakeSalesforce;
let cara: string;

const AVA_SF = salesforceUserId(3); // DEMO_PEOPLE order: Dan, Ben, Ava, …
const CONTRACT_MANAGER = demoBundleExternalId('ps-contract-manager');

async function connect(extra: Record<string, unknown> = {}) {
  const res = await h.patch(cara, '/api/admin/connections/sf-acme', {
    mode: 'provision',
    settings: { instanceUrl: sf.url },
    credentials: { flow: 'client_credentials', ...DEMO_CLIENT },
    ...extra,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { connection: Record<string, unknown> }).connection;
}

async function importNow() {
  const res = await h.post(cara, '/api/admin/connections/sf-acme/import', {});
  expect(res.status).toBe(202);
  const { run } = (await res.json()) as { run: { id: string } };
  await h.worker.runDue();
  const r = await h.get(cara, `/api/admin/connections/sf-acme/imports/${run.id}`);
  return (
    (await r.json()) as {
      run: { status: string; error: string | null; changes: Record<string, number>; read: Record<string, number>; warnings: string[]; incremental: boolean };
    }
  ).run;
}

async function requestStatus(id: string) {
  const r = await h.db.execute('SELECT status, fulfilment, granted_at, expires_at FROM requests WHERE id = ?', [id]);
  const row = r.rows[0]!;
  return {
    status: String(row.status),
    fulfilment:
      row.fulfilment === null
        ? null
        : (JSON.parse(String(row.fulfilment)) as { state: string; reason: { code: string } | null; attempts: number; mode: string }),
    grantedAt: row.granted_at as string | null,
    expiresAt: row.expires_at as string | null,
  };
}

beforeEach(async () => {
  h = await harness();
  sf = await startFakeSalesforce({ org: demoSalesforceOrg(h.clock.now()), clients: [DEMO_CLIENT], now: h.clock.now });
  cara = await h.signIn('cara@acme.test');
});

afterEach(async () => {
  await sf.close();
  await h.close();
});

describe('import', () => {
  it('the demo org imports onto the demo seed without changing anything it holds', async () => {
    const view = await connect();
    expect(view).toMatchObject({ credentials: 'set', mode: 'provision', authStatus: 'ok' });
    expect(JSON.stringify(view)).not.toContain(DEMO_CLIENT.clientSecret);
    const run = await importNow();
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    // 11 users' profile assignments and 9 permission set (group) assignments.
    expect(run.read).toEqual({ users: 11, bundles: 10, assignments: 20 });
    expect(run.changes).toMatchObject({
      accountsCreated: 0,
      accountsChanged: 0,
      bundlesCreated: 0,
      bundlesChanged: 0,
      bundlesRemoved: 0,
      assignmentsFound: 0,
      assignmentsRemoved: 0,
      assignmentsChanged: 0,
      catalogKeysAdded: 0,
    });
    // Every seeded assignment is now tied to the CRM's record.
    const unlinked = await h.db.execute(
      "SELECT COUNT(*) AS n FROM assignments WHERE external_id IS NULL AND revoked_at IS NULL AND target_type = 'bundle' AND account_id IN (SELECT id FROM crm_accounts WHERE connection_id = 'sf-acme')",
    );
    expect(Number(unlinked.rows[0]!.n)).toBe(0);
  });

  it('imports changes, audited; access granted outside the request process becomes a finding', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    // In Salesforce: someone gives Ava "Quote Desk" by hand, removes Ben's "Sales Ops", Ava logs in.
    const quoteDesk = demoBundleExternalId('ps-quote-desk');
    sf.org.objects.PermissionSetAssignment!.push({
      Id: fakeId('0Pa'),
      AssigneeId: AVA_SF,
      PermissionSetId: quoteDesk,
      PermissionSetGroupId: null,
      ExpirationDate: null,
      IsActive: true,
      SystemModstamp: '2026-03-02T10:00:00.000+0000',
    });
    const rows = sf.org.objects.PermissionSetAssignment!;
    rows.splice(
      rows.findIndex((a) => a.AssigneeId === salesforceUserId(2) && a.PermissionSetId === demoBundleExternalId('ps-sales-ops')),
      1,
    );
    h.clock.advance(3600_000);
    const run = await importNow();
    expect(run.changes).toMatchObject({ assignmentsFound: 1, outsideProcess: 1, assignmentsRemoved: 1 });

    const found = await h.db.execute(
      "SELECT id, outside_process, source FROM assignments WHERE account_id = 'acct-ava' AND bundle_id = 'ps-quote-desk' AND revoked_at IS NULL",
    );
    expect(found.rows).toHaveLength(1);
    expect(Number(found.rows[0]!.outside_process)).toBe(1);
    const removed = await h.db.execute("SELECT revoked_at FROM assignments WHERE account_id = 'acct-ben' AND bundle_id = 'ps-sales-ops'");
    expect(removed.rows[0]!.revoked_at).not.toBeNull(); // history kept, marked revoked

    const audit = await h.db.execute("SELECT action FROM audit_events WHERE action IN ('assignment.found', 'assignment.removed', 'import.completed')");
    expect(audit.rows.map((r) => r.action).sort()).toEqual(['assignment.found', 'assignment.removed', 'import.completed', 'import.completed']);

    const f = await h.get(cara, '/api/findings?kind=outside-process');
    const body = (await f.json()) as { findings: { personId: string; keys: string[]; severity: string; evidence: { assignmentId: string } }[] };
    expect(body.findings).toHaveLength(1);
    expect(body.findings[0]).toMatchObject({ personId: 'p-ava', severity: 'medium' });
    expect(body.findings[0]!.keys).toEqual(['object:Quote:create', 'object:Quote:edit', 'object:Quote:read']);
  });

  it('two processes due to import the same connection: one takes the lease and runs it, the other sees it busy', async () => {
    await connect();
    const { runImport } = await import('./import.ts');
    const deps = (ownerId: string) => ({ db: h.db, box: h.secrets, now: h.clock.now, ownerId });
    const [a, b] = await Promise.all([runImport(deps('process-a'), 'sf-acme'), runImport(deps('process-b'), 'sf-acme')]);
    expect([a.busy, b.busy].sort()).toEqual([false, true]);
    const ran = a.busy ? b : a;
    expect(ran.run.status).toBe('succeeded');
    const runs = await h.db.execute("SELECT status, process_id FROM import_runs WHERE connection_id = 'sf-acme'");
    expect(runs.rows.map((r) => r.status)).toEqual(['succeeded']);
    // The lease is free again; the next import is due in an hour.
    const state = await h.db.execute("SELECT lease_owner, next_import_at FROM connection_state WHERE connection_id = 'sf-acme'");
    expect({ ...state.rows[0] }).toEqual({ lease_owner: null, next_import_at: new Date(h.clock.now().getTime() + 3600_000).toISOString() });
  });

  it('a failed import keeps the last good one and says why', async () => {
    await connect();
    expect((await importNow()).status).toBe('succeeded');
    sf.fail({ path: /PermissionSetAssignment/, status: 400, body: [{ message: 'sObject type is not supported.', errorCode: 'INVALID_TYPE' }], times: 5 });
    h.clock.advance(3600_000);
    const run = await importNow();
    expect(run.status).toBe('failed');
    expect(run.error).toContain('INVALID_TYPE');
    const held = await h.db.execute(
      "SELECT COUNT(*) AS n FROM assignments WHERE revoked_at IS NULL AND account_id IN (SELECT id FROM crm_accounts WHERE connection_id = 'sf-acme')",
    );
    expect(Number(held.rows[0]!.n)).toBe(20);
    const view = (await (await h.get(cara, '/api/admin/connections/sf-acme')).json()) as {
      connection: { lastImport: { status: string }; lastGoodImport: { status: string } };
    };
    expect(view.connection.lastImport.status).toBe('failed');
    expect(view.connection.lastGoodImport.status).toBe('succeeded');
  });

  it('pages with nextRecordsUrl, waits as Retry-After says, and refreshes an expired session once', async () => {
    await connect({ settings: { instanceUrl: sf.url, pageSize: 200 } });
    // More users than one page.
    for (let i = 0; i < 450; i++)
      sf.org.objects.User!.push({
        Id: fakeId('005'),
        Username: `x${i}@acme.test.sf`,
        Email: `x${i}@elsewhere.test`,
        IsActive: true,
        UserType: 'Standard',
        LastLoginDate: null,
        CreatedDate: '2025-01-01T00:00:00.000+0000',
        SystemModstamp: '2025-01-01T00:00:00.000+0000',
      });
    sf.fail({
      method: 'GET',
      path: /\/query\/01g/,
      status: 429,
      body: [{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
      headers: { 'Retry-After': '1' },
    });
    const first = await importNow();
    expect(first.status).toBe('succeeded');
    expect(first.read.users).toBe(461);
    expect(first.changes.unmatchedUsers).toBe(450);
    expect(first.warnings.join(' ')).toContain('450 CRM users match no person');
    expect(sf.log.filter((l) => /\/query\/01g/.test(l.path)).length).toBeGreaterThanOrEqual(3);
    // The session expires: one refresh, then the import goes on (incrementally: only changed users).
    sf.expireTokens();
    h.clock.advance(3600_000);
    const run = await importNow();
    expect(run.status).toBe('succeeded');
    expect(run.incremental).toBe(true);
    expect(run.read.users).toBe(0);
    expect(sf.log.filter((l) => l.path === '/services/oauth2/token').length).toBe(2);
  });

  it('an instance URL that is not a URL is a 400 naming the field (it was a 500)', async () => {
    const res = await h.patch(cara, '/api/admin/connections/sf-acme', { settings: { instanceUrl: 'acme.my.salesforce.com' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('settings.instanceUrl: must be a URL');
  });

  it('credentials the CRM refuses mark the connection as needing re-authorisation, for admins to see', async () => {
    await connect();
    sf.refuseGrants(true);
    const run = await importNow();
    expect(run.status).toBe('failed');
    expect(run.error).toContain('invalid_grant');
    const view = (await (await h.get(cara, '/api/admin/connections/sf-acme')).json()) as { connection: { authStatus: string; authError: string } };
    expect(view.connection.authStatus).toBe('needs-reauthorisation');
    // Not retried on a schedule with credentials the CRM refuses.
    expect((await (await h.get(cara, '/api/admin/connections/sf-acme')).json()) as unknown).toMatchObject({ connection: { nextImportAt: null } });
    // New credentials clear it.
    sf.refuseGrants(false);
    const again = await connect();
    expect(again.authStatus).toBe('ok');
  });
});

describe('fulfilment', () => {
  it('approve → job → the CRM holds the assignment → fulfilled; expiry → removed → expired', async () => {
    await connect();
    await importNow();
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ permissions: ['object:Contract:read'], durationDays: 30 });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve', { durationDays: 7 })]);
    let r = await requestStatus(m.args.requestId);
    expect(r).toMatchObject({ status: 'approved', grantedAt: null, expiresAt: null, fulfilment: { state: 'queued', mode: 'automatic' } });

    h.clock.advance(60_000);
    await h.worker.runDue();
    r = await requestStatus(m.args.requestId);
    expect(r.status).toBe('fulfilled');
    expect(r.fulfilment?.state).toBe('active');
    expect(r.grantedAt).toBe(h.clock.now().toISOString());
    expect(Date.parse(r.expiresAt!) - Date.parse(r.grantedAt!)).toBe(7 * DAY_MS);
    const held = sf.assignmentsOf(AVA_SF).filter((a) => a.PermissionSetId === demoBundleExternalId('ps-contract-manager'));
    expect(held).toHaveLength(1);
    expect(held[0]!.ExpirationDate).not.toBeNull();
    const slice = await h.pull(ava);
    const grant = slice.assignments.find((a) => a.requestId === m.args.requestId)!;
    expect(grant).toMatchObject({ source: 'request', target: { type: 'bundle', bundleId: 'ps-contract-manager' }, expiresAt: r.expiresAt });
    expect(slice.requests.find((x) => x.id === m.args.requestId)?.fulfilment?.state).toBe('active');

    // An import afterwards sees the same assignment: nothing changes, nothing is "outside the process".
    const run = await importNow();
    expect(run.changes).toMatchObject({ assignmentsFound: 0, assignmentsRemoved: 0 });

    // At expiry: the revoke job removes it from the CRM, and the request is expired.
    h.clock.set(new Date(Date.parse(r.expiresAt!) + 1000));
    await h.pull(ava); // the pull sweeps expired grants
    expect((await requestStatus(m.args.requestId)).fulfilment?.state).toBe('removing');
    await h.worker.runDue();
    r = await requestStatus(m.args.requestId);
    expect(r.status).toBe('expired');
    expect(r.fulfilment?.state).toBe('removed');
    expect(sf.assignmentsOf(AVA_SF).some((a) => a.PermissionSetId === demoBundleExternalId('ps-contract-manager'))).toBe(false);
    const actions = (await h.db.execute('SELECT action FROM audit_events WHERE subject_id = ? ORDER BY seq', [m.args.requestId])).rows.map((x) => x.action);
    expect(actions).toEqual(expect.arrayContaining(['fulfilment.queued', 'request.fulfilled', 'revocation.queued', 'request.expired']));
  });

  it('never applies twice: a grant already in the CRM is adopted, not written again', async () => {
    await connect();
    await importNow();
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ permissions: ['object:Contract:read'] });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    // A crash after the write but before its record: the CRM holds it, the job is still queued.
    sf.org.objects.PermissionSetAssignment!.push({
      Id: fakeId('0Pa'),
      AssigneeId: AVA_SF,
      PermissionSetId: demoBundleExternalId('ps-contract-manager'),
      PermissionSetGroupId: null,
      ExpirationDate: null,
      IsActive: true,
      SystemModstamp: '2026-03-02T09:00:00.000+0000',
    });
    await h.worker.runDue();
    expect((await requestStatus(m.args.requestId)).status).toBe('fulfilled');
    expect(sf.log.filter((l) => l.method === 'POST' && l.path.includes('/composite/sobjects'))).toHaveLength(0);
    expect(sf.assignmentsOf(AVA_SF).filter((a) => a.PermissionSetId === demoBundleExternalId('ps-contract-manager'))).toHaveLength(1);
  });

  it('a partial failure (one of two permission sets refused in one collection call): the rest stays, an admin finishes it', async () => {
    await connect();
    await importNow();
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const caseViewer = demoBundleExternalId('ps-case-viewer');
    sf.refuseAssignment(caseViewer, { errorCode: 'LICENSE_LIMIT_EXCEEDED', message: 'License Limit Exceeded' });
    // No one bundle grants both: Contract Manager and Case Viewer, in one sObject Collections request.
    const m = createMutation({ permissions: ['object:Contract:read', 'object:Case:read'], justification: 'Renewal and its open cases.' });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    await h.worker.runDue();
    const posts = sf.log.filter((l) => l.method === 'POST' && l.path.includes('/composite/sobjects'));
    expect(posts).toHaveLength(1);
    expect(
      sf.createAttempts
        .filter((a) => a.assigneeId === AVA_SF)
        .map((a) => [a.permissionSetId, a.ok])
        .sort(),
    ).toEqual(
      [
        [CONTRACT_MANAGER, true],
        [caseViewer, false],
      ].sort(),
    );
    // What was assigned stays assigned: the next attempt (or the admin) does not write it again.
    expect(sf.assignmentsOf(AVA_SF).map((a) => a.PermissionSetId)).toContain(CONTRACT_MANAGER);
    const r = await requestStatus(m.args.requestId);
    expect(r).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task', reason: { code: 'crm-refused' } } });
    // The administrator frees a licence and assigns Case Viewer; marking the task done confirms both.
    sf.refuseAssignment(caseViewer, null);
    sf.org.objects.PermissionSetAssignment!.push({
      Id: fakeId('0Pa'),
      AssigneeId: AVA_SF,
      PermissionSetId: caseViewer,
      PermissionSetGroupId: null,
      ExpirationDate: null,
      IsActive: true,
      SystemModstamp: '2026-03-02T09:00:00.000+0000',
    });
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const grants = (await h.pull(ava)).assignments.filter((a) => a.requestId === m.args.requestId).map((a) => a.target);
    expect(grants).toEqual(
      expect.arrayContaining([
        { type: 'bundle', bundleId: 'ps-contract-manager' },
        { type: 'bundle', bundleId: 'ps-case-viewer' },
      ]),
    );
  });

  it('a server stopping mid-job hands the job back; the next attempt finds the write and adopts it', async () => {
    await connect();
    await importNow();
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let created: () => void = () => {};
    const createdOnce = new Promise<void>((r) => (created = r));
    sf.afterCreate = async () => {
      created();
      await held;
    };
    const m = createMutation({ permissions: ['object:Contract:read'] });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    const { ConnectorWorker } = await import('./worker.ts');
    const stopping = new ConnectorWorker({ db: h.db, box: h.secrets, now: h.clock.now, findings: h.findings, pollMs: 60_000 });
    stopping.start();
    await createdOnce;
    await stopping.stop();
    sf.afterCreate = null;
    release();
    const job = await h.db.execute("SELECT state, lease_owner FROM fulfilment_jobs WHERE request_id = ? AND action = 'grant'", [m.args.requestId]);
    expect({ ...job.rows[0] }).toEqual({ state: 'queued', lease_owner: null });
    await h.worker.runDue();
    expect((await requestStatus(m.args.requestId)).status).toBe('fulfilled');
    expect(sf.createAttempts.filter((a) => a.assigneeId === AVA_SF)).toHaveLength(1);
  });

  it('a refusal becomes an admin task with the reason; a passing failure is retried with backoff', async () => {
    await connect();
    await importNow();
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    sf.fail({
      method: 'POST',
      path: /composite\/sobjects/,
      status: 503,
      body: [{ message: 'Server busy', errorCode: 'SERVER_UNAVAILABLE' }],
      headers: { 'Retry-After': '120' },
    });
    const m = createMutation({ permissions: ['object:Contract:read'] });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    await h.worker.runDue();
    let r = await requestStatus(m.args.requestId);
    expect(r.fulfilment).toMatchObject({ state: 'retrying', reason: { code: 'rate-limited' }, attempts: 1 });
    h.clock.advance(121_000);
    await h.worker.runDue();
    r = await requestStatus(m.args.requestId);
    expect(r.status).toBe('fulfilled');

    // Quote Desk cannot be assigned (no licence left): the connector says why, an admin task is made.
    sf.refuseAssignment(demoBundleExternalId('ps-quote-desk'), { errorCode: 'LICENSE_LIMIT_EXCEEDED', message: 'License Limit Exceeded' });
    const q = createMutation({ permissions: ['object:Quote:read'] });
    await h.mutate(ava, [q]);
    await h.mutate(ben, [decisionMutation(q.args.requestId, 'approve')]);
    await h.worker.runDue();
    r = await requestStatus(q.args.requestId);
    expect(r.status).toBe('approved');
    expect(r.fulfilment).toMatchObject({ state: 'admin-task', mode: 'task', reason: { code: 'crm-refused' } });
    const tasks = (await (await h.get(cara, '/api/admin/tasks?status=open')).json()) as {
      tasks: { id: string; requestId: string; reason: { message: string } }[];
    };
    const task = tasks.tasks.find((t) => t.requestId === q.args.requestId)!;
    expect(task.reason.message).toContain('LICENSE_LIMIT_EXCEEDED');
    // Marking it done before the CRM holds it is refused; after an admin assigns it there, it is confirmed.
    expect((await h.post(cara, `/api/admin/tasks/${task.id}/done`, {})).status).toBe(409);
    sf.refuseAssignment(demoBundleExternalId('ps-quote-desk'), null);
    sf.org.objects.PermissionSetAssignment!.push({
      Id: fakeId('0Pa'),
      AssigneeId: AVA_SF,
      PermissionSetId: demoBundleExternalId('ps-quote-desk'),
      PermissionSetGroupId: null,
      ExpirationDate: null,
      IsActive: true,
      SystemModstamp: '2026-03-02T09:00:00.000+0000',
    });
    const done = await h.post(cara, `/api/admin/tasks/${task.id}/done`, { note: 'Freed a licence.' });
    expect(done.status).toBe(200);
    expect(((await done.json()) as { task: { status: string; doneBy: string } }).task).toMatchObject({ status: 'done', doneBy: 'p-cara' });
    expect((await requestStatus(q.args.requestId)).status).toBe('fulfilled');
  });
});
