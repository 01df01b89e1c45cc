/**
 * Departures, suspensions and moves take access out of the CRMs as the policy says: the planner claims
 * directory events, revoke jobs remove what the fake Salesforce holds (confirmed by reading it again),
 * admin tasks cover what a person must do. Real app, database, worker and a clock the test moves; the
 * fake Salesforce on loopback (test/fakes/salesforce.ts). Runs on a database file and on sqld.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { AdminRevocationsResponse, PolicyResponse, RevocationView } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT, demoSalesforceOrg } from '../../../test/fakes/salesforce-demo.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../../../test/fakes/salesforce.ts';
import { openDatabase, type Db } from '../db.ts';
import { FindingsService } from '../findings/service.ts';
import { demoBundleExternalId, salesforceUserId } from '../seed/demo.ts';
import { createMutation, decisionMutation, harness, T0, type Harness } from '../testing.ts';
import { claimRevocation } from './jobs.ts';
import { planDirectoryEvents } from './planner.ts';

let h: Harness;
let sf: FakeSalesforce;
let cara: string;

const BEN_SF = salesforceUserId(2); // DEMO_PEOPLE order: Dan, Ben, Ava, …
const SALES_OPS = demoBundleExternalId('ps-sales-ops');
const REPORT_BUILDER = demoBundleExternalId('ps-report-builder');
const CONTRACT_MANAGER = demoBundleExternalId('ps-contract-manager');
const STANDARD_SALES = demoBundleExternalId('profile-standard-sales');

async function connect(extra: Record<string, unknown> = {}) {
  const res = await h.patch(cara, '/api/admin/connections/sf-acme', {
    mode: 'provision',
    settings: { instanceUrl: sf.url },
    credentials: { flow: 'client_credentials', ...DEMO_CLIENT },
    ...extra,
  });
  expect(res.status).toBe(200);
  const queued = await h.post(cara, '/api/admin/connections/sf-acme/import', {});
  expect(queued.status).toBe(202);
  await h.worker.runDue();
}

async function changePerson(id: string, body: Record<string, unknown>) {
  const res = await h.patch(cara, `/api/admin/people/${id}`, body);
  expect(res.status, await res.clone().text()).toBe(200);
}

async function setRevocationPolicy(revocations: Record<string, unknown>) {
  const current = (await (await h.get(cara, '/api/policy')).json()) as PolicyResponse;
  // Four eyes: Cara proposes, a second administrator approves (the harness's changePolicy).
  const res = await h.changePolicy({ baseVersion: current.version, document: { ...current.document, revocations }, note: 'revocation timing' });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function revocations(query = ''): Promise<AdminRevocationsResponse> {
  const res = await h.get(cara, `/api/admin/revocations${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as AdminRevocationsResponse;
}

const onSalesforce = (list: RevocationView[]) => list.filter((r) => r.connection.id === 'sf-acme');
const heldSets = (userId: string) => sf.assignmentsOf(userId).map((a) => String(a.PermissionSetGroupId ?? a.PermissionSetId));
const sfUser = (userId: string) => sf.org.objects.User!.find((u) => u.Id === userId)!;
const profileSetOf = (profileId: string) => String(sf.org.objects.PermissionSet!.find((p) => p.ProfileId === profileId && p.IsOwnedByProfile === true)!.Id);

async function findingsOf(personId: string, status: 'open' | 'remediated' | 'temporary', kind = 'inactive-person', connectionId?: string) {
  const res = await h.get(cara, `/api/findings?personId=${personId}&kind=${kind}&status=${status}${connectionId ? `&connectionId=${connectionId}` : ''}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { findings: { accountId: string; severity: string; status: string }[] }).findings;
}

beforeEach(async () => {
  h = await harness();
  sf = await startFakeSalesforce({
    org: demoSalesforceOrg(h.clock.now()),
    clients: [DEMO_CLIENT],
    now: h.clock.now,
    // Deactivating users needs "Manage Internal Users".
    integrationUser: {
      id: '005Fk0000000INTAAA',
      username: 'accesslens@acme.test.sf',
      permissions: { AssignPermissionSets: true, ViewSetup: true, ManageUsers: true },
    },
  });
  cara = await h.signIn('cara@acme.test');
});

afterEach(async () => {
  await sf.close();
  await h.close();
});

describe('the policy setting', () => {
  it('has a default (departures and suspensions at once, moves at the end of the day in UTC) and says which field is wrong', async () => {
    const policy = (await (await h.get(cara, '/api/policy')).json()) as PolicyResponse;
    expect(policy.document.revocations).toEqual({
      departed: 'immediately',
      deactivated: 'immediately',
      moved: 'end-of-day',
      timeZone: 'UTC',
      departmentTimeZones: [],
      connections: [],
    });
    const put = (revocations: unknown) => h.put(cara, '/api/policy', { baseVersion: policy.version, document: { ...policy.document, revocations } });
    const cases: [unknown, string][] = [
      [{ departed: 'tomorrow' }, 'document.revocations.departed'],
      [{ timeZone: 'Mars/Olympus' }, 'document.revocations.timeZone'],
      [
        {
          connections: [
            { connectionId: 'sf-acme', moved: 'task' },
            { connectionId: 'sf-acme', moved: 'immediately' },
          ],
        },
        'document.revocations.connections.1.connectionId',
      ],
      [{ connections: [{ connectionId: 'nowhere', moved: 'task' }] }, 'document.revocations.connections.0.connectionId'],
      [{ departmentTimeZones: [{ department: 'Sales', timeZone: 'Asia/Nowhere' }] }, 'document.revocations.departmentTimeZones.0.timeZone'],
    ];
    for (const [revocations, field] of cases) {
      const res = await put(revocations);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
    }
  });
});

describe('departures', () => {
  it('revoke jobs for every account: the fake Salesforce no longer holds them, the user is deactivated, the critical finding closes', async () => {
    await connect();
    expect(heldSets(BEN_SF).sort()).toEqual([SALES_OPS, REPORT_BUILDER, profileSetOf(STANDARD_SALES)].sort());
    await changePerson('p-ben', { status: 'departed' });

    // Until removed, each of Ben's still-active accounts is a critical finding.
    const open = await findingsOf('p-ben', 'open');
    expect(open.map((f) => f.accountId)).toContain('acct-ben');
    expect(open.every((f) => f.severity === 'critical')).toBe(true);

    await h.worker.runDue();
    const { revocations: list, total } = await revocations('?personId=p-ben');
    expect(total).toBe(list.length);
    // Every CRM account of Ben's has a revocation: Salesforce automatically, the others (demo connections without credentials, or read-only) as admin tasks.
    const accounts = (await h.db.execute("SELECT id FROM crm_accounts WHERE person_id = 'p-ben'")).rows.map((r) => String(r.id));
    expect([...new Set(list.map((r) => r.account.id))].sort()).toEqual(accounts.sort());
    const [auto, ...more] = onSalesforce(list);
    expect(more).toEqual([]);
    expect(auto).toMatchObject({
      status: 'done',
      handling: 'automatic',
      mode: 'immediately',
      deactivateAccount: true,
      reason: { cause: 'departed', from: { status: 'active' }, to: { status: 'departed' }, text: { en: 'Departed: everything the account holds is removed' } },
    });
    expect(auto!.reason.text['zh-CN']).toContain('离职');
    expect(auto!.assignments.map((a) => a.bundleId).sort()).toEqual(['ps-report-builder', 'ps-sales-ops']);
    for (const r of list.filter((x) => x.connection.id !== 'sf-acme'))
      expect(r).toMatchObject({ status: 'task', handling: 'manual', problem: { code: expect.stringMatching(/^(no-connector|no-credentials|read-only)$/) } });

    // The fake Salesforce no longer holds them (the profile stays with the deactivated user, as Salesforce keeps it).
    expect(heldSets(BEN_SF)).toEqual([profileSetOf(STANDARD_SALES)]);
    expect(sfUser(BEN_SF).IsActive).toBe(false);
    expect(sf.userUpdates).toEqual([{ userId: BEN_SF, isActive: false }]);
    const records = await h.db.execute("SELECT bundle_id, revoked_at FROM assignments WHERE account_id = 'acct-ben' ORDER BY bundle_id");
    expect(records.rows.map((r) => [r.bundle_id, r.revoked_at !== null])).toEqual([
      ['profile-standard-sales', false],
      ['ps-report-builder', true],
      ['ps-sales-ops', true],
    ]);
    expect(Number((await h.db.execute("SELECT active FROM crm_accounts WHERE id = 'acct-ben'")).rows[0]!.active)).toBe(0);

    // The inactive-person finding of the Salesforce account is remediated; the others stay open until removed.
    expect((await findingsOf('p-ben', 'remediated')).map((f) => f.accountId)).toEqual(['acct-ben']);
    expect((await findingsOf('p-ben', 'open')).map((f) => f.accountId)).not.toContain('acct-ben');
    // An import afterwards agrees: nothing to change.
    const queued = await h.post(cara, '/api/admin/connections/sf-acme/import', {});
    await h.worker.runDue();
    const run = (
      (await (await h.get(cara, `/api/admin/connections/sf-acme/imports/${((await queued.json()) as { run: { id: string } }).run.id}`)).json()) as {
        run: { status: string; changes: Record<string, number> };
      }
    ).run;
    expect(run.status).toBe('succeeded');
    expect(run.changes).toMatchObject({ accountsChanged: 0, assignmentsRemoved: 0, assignmentsFound: 0 });

    // Every step is audited: the event planned, each revocation planned, what was removed, the deactivation, done.
    const actions = (
      await h.db.execute(
        "SELECT action FROM audit_events WHERE action LIKE 'revocation.%' OR action IN ('directory_event.planned', 'assignment.revoked', 'account.deactivated') ORDER BY seq",
      )
    ).rows.map((r) => String(r.action));
    expect(actions.filter((a) => a === 'directory_event.planned')).toHaveLength(1);
    expect(actions.filter((a) => a === 'revocation.planned')).toHaveLength(list.length);
    expect(actions).toEqual(expect.arrayContaining(['assignment.revoked', 'account.deactivated', 'revocation.done']));
    const event = await h.db.execute("SELECT processed_at FROM directory_events WHERE person_id = 'p-ben'");
    expect(event.rows.map((r) => r.processed_at)).toEqual([T0.toISOString()]);
  });

  it('an administrator completes a task where AccessLens has no connector: the account is inactive and its finding closes', async () => {
    await changePerson('p-ben', { status: 'departed' });
    await h.worker.runDue();
    const desk = (await revocations('?personId=p-ben&connectionId=desk-acme')).revocations;
    expect(desk).toHaveLength(1);
    expect(desk[0]).toMatchObject({ status: 'task', deactivateAccount: true });
    const taskId = desk[0]!.taskId!;
    const task = (await (await h.get(cara, `/api/admin/tasks/${taskId}`)).json()) as {
      task: { kind: string; requestId: null; reason: { message: string }; account: { personId: string } };
    };
    expect(task.task).toMatchObject({ kind: 'revoke', requestId: null, account: { personId: 'p-ben' } });
    expect(task.task.reason.message).toContain('deactivate the user');
    const done = await h.post(cara, `/api/admin/tasks/${taskId}/done`, { note: 'Removed in Acme Desk.' });
    expect(done.status).toBe(200);
    expect((await revocations('?personId=p-ben&connectionId=desk-acme')).revocations[0]).toMatchObject({ status: 'done' });
    expect(Number((await h.db.execute('SELECT active FROM crm_accounts WHERE id = ?', [desk[0]!.account.id])).rows[0]!.active)).toBe(0);
    expect((await findingsOf('p-ben', 'remediated')).map((f) => f.accountId)).toContain(desk[0]!.account.id);
    expect((await h.post(cara, `/api/admin/tasks/${taskId}/done`, {})).status).toBe(409);
  });

  it('a suspension whose deactivation Salesforce refuses: what was removed stays removed, an admin task for the rest', async () => {
    await sf.close();
    sf = await startFakeSalesforce({ org: demoSalesforceOrg(h.clock.now()), clients: [DEMO_CLIENT], now: h.clock.now }); // no Manage Internal Users
    await connect();
    await changePerson('p-ben', { status: 'suspended' });
    await h.worker.runDue();
    const [r] = onSalesforce((await revocations('?personId=p-ben')).revocations);
    expect(r).toMatchObject({ status: 'failed', reason: { cause: 'deactivated' }, problem: { code: 'crm-refused' } });
    expect(r!.problem!.message).toContain('INSUFFICIENT_ACCESS_OR_READONLY');
    expect(heldSets(BEN_SF)).toEqual([profileSetOf(STANDARD_SALES)]);
    expect((await h.db.execute("SELECT COUNT(*) AS n FROM assignments WHERE account_id = 'acct-ben' AND revoked_at IS NOT NULL")).rows[0]!.n).toBe(2);
    // The task asks for what remains: the deactivation. Marking it done while the user is active is refused.
    const task = (await (await h.get(cara, `/api/admin/tasks/${r!.taskId}`)).json()) as { task: { bundles: unknown[]; reason: { code: string } } };
    expect(task.task).toMatchObject({ bundles: [], reason: { code: 'crm-refused' } });
    expect((await h.post(cara, `/api/admin/tasks/${r!.taskId}/done`, {})).status).toBe(409);
    sfUser(BEN_SF).IsActive = false; // the administrator deactivates Ben in Salesforce
    expect((await h.post(cara, `/api/admin/tasks/${r!.taskId}/done`, {})).status).toBe(200);
    expect(onSalesforce((await revocations('?personId=p-ben')).revocations)[0]).toMatchObject({ status: 'done' });
    expect((await findingsOf('p-ben', 'remediated')).map((f) => f.accountId)).toContain('acct-ben');
  });
});

describe('moves', () => {
  it('only what lies outside the new job’s baseline goes, at the end of the day; a grant in force stays', async () => {
    await connect();
    // Ben holds Contract Manager through an approved request in force.
    const ben = await h.signIn('ben@acme.test');
    const dan = await h.signIn('dan@acme.test');
    const m = createMutation({ permissions: ['object:Contract:read'], durationDays: 30 });
    await h.mutate(ben, [m]);
    await h.mutate(dan, [decisionMutation(m.args.requestId, 'approve')]);
    await h.worker.runDue();
    expect(heldSets(BEN_SF)).toContain(CONTRACT_MANAGER);

    // Sales Manager → Account Executive (baseline: the Standard Sales User profile only).
    await changePerson('p-ben', { title: 'Account Executive' });
    await h.worker.runDue();
    const [auto, ...none] = onSalesforce((await revocations('?personId=p-ben')).revocations);
    expect(none).toEqual([]);
    expect(auto).toMatchObject({
      status: 'planned',
      mode: 'end-of-day',
      handling: 'automatic',
      deactivateAccount: false,
      dueAt: '2026-03-03T00:00:00.000Z',
      timeZone: 'UTC',
      reason: {
        cause: 'moved',
        from: { department: 'Sales', title: 'Sales Manager' },
        to: { department: 'Sales', title: 'Account Executive' },
        baselineIds: ['bl-sales-ae'],
        text: { en: "Moved from Sales / Sales Manager to Sales / Account Executive: outside the new job's baseline" },
      },
    });
    expect(auto!.assignments.map((a) => a.bundleId).sort()).toEqual(['ps-report-builder', 'ps-sales-ops']);
    // Nothing leaves before the end of the day.
    h.clock.set(new Date('2026-03-02T23:59:59.000Z'));
    await h.worker.runDue();
    expect(heldSets(BEN_SF)).toEqual(expect.arrayContaining([SALES_OPS, REPORT_BUILDER]));
    expect((await revocations('?status=planned&connectionId=sf-acme')).revocations.map((r) => r.id)).toEqual([auto!.id]);

    h.clock.set(new Date('2026-03-03T00:00:00.000Z'));
    expect((await revocations('?status=due&connectionId=sf-acme')).revocations.map((r) => r.id)).toEqual([auto!.id]);
    await h.worker.runDue();
    expect(heldSets(BEN_SF).sort()).toEqual([CONTRACT_MANAGER, profileSetOf(STANDARD_SALES)].sort());
    expect(sfUser(BEN_SF).IsActive).toBe(true);
    expect((await revocations('?status=done&connectionId=sf-acme')).revocations.map((r) => r.id)).toEqual([auto!.id]);
    // The request's grant is untouched; the account stays active.
    expect(String((await h.db.execute('SELECT status FROM requests WHERE id = ?', [m.args.requestId])).rows[0]!.status)).toBe('fulfilled');
    expect(Number((await h.db.execute("SELECT active FROM crm_accounts WHERE id = 'acct-ben'")).rows[0]!.active)).toBe(1);
    // The request's grant is beyond his new baseline, but approved for a limited time and inside its window:
    // temporary, not an open finding, until it ends (issue 9).
    expect(await findingsOf('p-ben', 'open', 'beyond-baseline', 'sf-acme')).toEqual([]);
    expect(await findingsOf('p-ben', 'temporary', 'beyond-baseline', 'sf-acme')).toMatchObject([{ bundleIds: ['ps-contract-manager'] }]);
  });

  it('a profile outside the new baseline can only be replaced: an admin task; a manager change alone revokes nothing', async () => {
    await connect();
    await changePerson('p-ava', { managerId: 'p-dan' });
    await changePerson('p-ava', { department: 'Finance', title: 'Financial Analyst' });
    // Eli is suspended by mistake and back before anything was planned: nothing is.
    await changePerson('p-eli', { status: 'suspended' });
    await changePerson('p-eli', { status: 'active' });
    await h.worker.runDue();
    const planned = await h.db.execute(
      "SELECT json_extract(data, '$.note') AS note FROM audit_events WHERE action = 'directory_event.planned' AND subject_id = 'p-ava' ORDER BY seq",
    );
    expect(planned.rows.map((r) => r.note)).toEqual(['manager-only', null]);
    const eli = await h.db.execute(
      "SELECT json_extract(data, '$.note') AS note FROM audit_events WHERE action = 'directory_event.planned' AND subject_id = 'p-eli'",
    );
    expect(eli.rows.map((r) => r.note)).toEqual(['reactivated']);
    expect((await revocations('?personId=p-eli')).total).toBe(0);
    const [r] = onSalesforce((await revocations('?personId=p-ava')).revocations);
    expect(r).toMatchObject({ handling: 'manual', status: 'task', problem: { code: 'cannot-remove' }, reason: { baselineIds: ['bl-finance-analyst'] } });
    expect(r!.assignments.map((a) => a.bundleId)).toEqual(['profile-standard-sales']);
  });

  it('checked again when due: cancelled if the person is back in a job whose baseline covers it, or reactivated; narrowed to what is still outside', async () => {
    await connect();
    const GIL_SF = salesforceUserId(7);
    await changePerson('p-gil', { title: 'Financial Analyst' }); // Report Builder is outside the analysts' baseline
    await changePerson('p-ben', { title: 'Account Executive' }); // Sales Ops and Report Builder are outside
    await setRevocationPolicy({ departed: 'end-of-day' });
    await changePerson('p-eli', { status: 'departed' });
    await h.worker.runDue();
    // Before the day ends: Gil and Ben are back in their jobs, Eli is back at work.
    await changePerson('p-gil', { title: 'Finance Director' });
    await changePerson('p-ben', { title: 'Sales Manager' });
    await changePerson('p-eli', { status: 'active' });
    h.clock.set(new Date('2026-03-03T00:00:01.000Z'));
    await h.worker.runDue();
    const cancelled = onSalesforce((await revocations('?status=cancelled')).revocations);
    expect(cancelled.map((r) => [r.person.id, r.problem?.code]).sort()).toEqual([
      ['p-eli', 'reactivated'],
      ['p-gil', 'inside-baseline'],
    ]);
    expect(heldSets(GIL_SF)).toContain(REPORT_BUILDER);
    expect(sfUser(salesforceUserId(4)).IsActive).toBe(true);
    // A Sales Manager's baseline has Report Builder, not Sales Ops: only Sales Ops went.
    const [ben] = onSalesforce((await revocations('?personId=p-ben&status=done')).revocations);
    expect(ben!.assignments.map((a) => a.bundleId)).toEqual(['ps-sales-ops']);
    expect(heldSets(BEN_SF)).toContain(REPORT_BUILDER);
    expect(heldSets(BEN_SF)).not.toContain(SALES_OPS);
    expect((await h.db.execute("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'revocation.narrowed'")).rows[0]!.n).toBe(1);
  });
});

describe('end of day', () => {
  it('is the midnight of the department’s time zone, held in the database; the test’s clock brings it due', async () => {
    await connect();
    await setRevocationPolicy({ departed: 'end-of-day', departmentTimeZones: [{ department: 'Sales', timeZone: 'Asia/Shanghai' }] });
    // 09:00 UTC is 17:00 in Shanghai: Ben's day there ends at 16:00 UTC.
    await changePerson('p-ben', { status: 'departed' });
    await h.worker.runDue();
    const [r] = onSalesforce((await revocations('?personId=p-ben')).revocations);
    expect(r).toMatchObject({ status: 'planned', mode: 'end-of-day', dueAt: '2026-03-02T16:00:00.000Z', timeZone: 'Asia/Shanghai' });
    const stored = await h.db.execute('SELECT state, due_at FROM revocations WHERE id = ?', [r!.id]);
    expect({ ...stored.rows[0] }).toEqual({ state: 'queued', due_at: '2026-03-02T16:00:00.000Z' });

    h.clock.set(new Date('2026-03-02T15:59:59.999Z'));
    await h.worker.runDue();
    expect(heldSets(BEN_SF)).toContain(SALES_OPS);
    expect(sfUser(BEN_SF).IsActive).toBe(true);

    h.clock.set(new Date('2026-03-02T16:00:00.000Z'));
    await h.worker.runDue();
    expect(onSalesforce((await revocations('?personId=p-ben')).revocations)[0]).toMatchObject({ status: 'done', finishedAt: '2026-03-02T16:00:00.000Z' });
    expect(heldSets(BEN_SF)).toEqual([profileSetOf(STANDARD_SALES)]);
    expect(sfUser(BEN_SF).IsActive).toBe(false);
  });
});

describe('task mode', () => {
  it('per connection: an admin task instead of a job; done only once the CRM no longer holds it', async () => {
    await connect();
    await setRevocationPolicy({ connections: [{ connectionId: 'sf-acme', departed: 'task' }] });
    await changePerson('p-ben', { status: 'departed' });
    await h.worker.runDue();
    const [r] = onSalesforce((await revocations('?personId=p-ben')).revocations);
    expect(r).toMatchObject({ status: 'task', mode: 'task', handling: 'manual', deactivateAccount: true, problem: { code: 'policy-task' } });
    // Nothing was changed in Salesforce by AccessLens.
    expect(heldSets(BEN_SF)).toEqual(expect.arrayContaining([SALES_OPS, REPORT_BUILDER]));
    expect(sf.log.filter((l) => l.method !== 'GET' && l.path !== '/services/oauth2/token')).toEqual([]);

    const tasks = (await (await h.get(cara, '/api/admin/tasks?status=open&connectionId=sf-acme')).json()) as {
      tasks: { id: string; kind: string; bundles: { id: string }[] }[];
    };
    const task = tasks.tasks.find((t) => t.id === r!.taskId)!;
    expect(task.kind).toBe('revoke');
    expect(task.bundles.map((b) => b.id).sort()).toEqual(['ps-report-builder', 'ps-sales-ops']);
    const early = await h.post(cara, `/api/admin/tasks/${task.id}/done`, {});
    expect(early.status).toBe(409);
    const refusal = ((await early.json()) as { error: { message: string } }).error;
    expect(refusal.message).toContain('still shows');
    expect(refusal).toEqual({
      code: 'conflict',
      message: 'The CRM still shows Sales Ops, Report Builder for ben@acme.test.sf: remove it there first, then mark the task done.',
      reason: 'crm_still_holds',
      params: { assignments: 'Sales Ops, Report Builder', username: 'ben@acme.test.sf' },
    });

    // The administrator removes both permission sets and deactivates Ben in Salesforce.
    const psa = sf.org.objects.PermissionSetAssignment!;
    for (const id of [SALES_OPS, REPORT_BUILDER])
      psa.splice(
        psa.findIndex((a) => a.AssigneeId === BEN_SF && a.PermissionSetId === id),
        1,
      );
    expect((await h.post(cara, `/api/admin/tasks/${task.id}/done`, {})).status).toBe(409); // still active
    sfUser(BEN_SF).IsActive = false;
    const done = await h.post(cara, `/api/admin/tasks/${task.id}/done`, { note: 'Done in Setup.' });
    expect(done.status).toBe(200);
    expect(((await done.json()) as { task: { status: string; doneBy: string } }).task).toMatchObject({ status: 'done', doneBy: 'p-cara' });
    expect(onSalesforce((await revocations('?personId=p-ben')).revocations)[0]).toMatchObject({ status: 'done' });
    expect((await findingsOf('p-ben', 'remediated')).map((f) => f.accountId)).toContain('acct-ben');
    const audit = await h.db.execute(
      "SELECT actor_id, json_extract(data, '$.confirmedBy') AS by FROM audit_events WHERE action = 'revocation.done' AND subject_id = ?",
      [r!.id],
    );
    expect({ ...audit.rows[0] }).toEqual({ actor_id: 'p-cara', by: 'crm' });
  });

  it('a read-only connection makes an admin task whatever the mode', async () => {
    await connect({ mode: 'read-only' });
    await changePerson('p-ben', { status: 'departed' });
    await h.worker.runDue();
    expect(onSalesforce((await revocations('?personId=p-ben')).revocations)[0]).toMatchObject({
      mode: 'immediately',
      status: 'task',
      problem: { code: 'read-only' },
    });
    expect(heldSets(BEN_SF)).toContain(SALES_OPS);
  });
});

describe('claims across processes', () => {
  it('two processes planning at once plan each event exactly once', async () => {
    for (const [id, body] of [
      ['p-ben', { status: 'departed' }],
      ['p-eli', { status: 'suspended' }],
      ['p-ava', { title: 'Sales Manager' }],
      ['p-gil', { title: 'Financial Analyst' }],
      ['p-fay', { status: 'departed' }],
      ['p-hal', { department: 'Sales', title: 'Account Executive' }],
    ] as const)
      await changePerson(id, body);
    // Another process: its own database connection (on sqld, a real second client) and findings engine.
    const other: Db = h.db.isFile ? h.db : await openDatabase(h.url);
    try {
      const drain = async (db: Db, findings: FindingsService) => {
        let n = 0;
        for (;;) {
          const planned = await planDirectoryEvents({ db, now: h.clock.now, findings, batchSize: 1 });
          if (planned === 0) return n;
          n += planned;
        }
      };
      const [a, b] = await Promise.all([drain(h.db, h.findings), drain(other, new FindingsService(other))]);
      expect(a + b).toBe(6);
    } finally {
      if (other !== h.db) other.close();
    }
    const planned = await h.db.execute(
      "SELECT json_extract(data, '$.eventId') AS event, COUNT(*) AS n FROM audit_events WHERE action = 'directory_event.planned' GROUP BY event",
    );
    expect(planned.rows.map((r) => Number(r.n))).toEqual([1, 1, 1, 1, 1, 1]);
    const events = await h.db.execute('SELECT COUNT(*) AS n FROM directory_events WHERE processed_at IS NULL');
    expect(Number(events.rows[0]!.n)).toBe(0);
    const rows = await h.db.execute(
      'SELECT event_id, account_id, handling, COUNT(*) AS n FROM revocations GROUP BY event_id, account_id, handling HAVING n > 1',
    );
    expect(rows.rows).toEqual([]);
    expect(Number((await h.db.execute('SELECT COUNT(*) AS n FROM revocations')).rows[0]!.n)).toBeGreaterThan(6);
  });

  it('a process killed in the middle of planning loses and doubles nothing', async () => {
    await changePerson('p-ben', { status: 'departed' });
    await changePerson('p-gil', { title: 'Financial Analyst' });
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'testing-planner-child.ts'), h.url, h.clock.now().toISOString()], {
      cwd: join(import.meta.dirname, '..', '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // It claims both events and plans them, then stops just before committing: killed there.
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('planning 1,2')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the planner child exited (${code}) before planning:\n${out}`)));
    });
    child.kill('SIGKILL');
    await exited;

    const unclaimed = await h.db.execute('SELECT COUNT(*) AS n FROM directory_events WHERE processed_at IS NULL');
    expect(Number(unclaimed.rows[0]!.n)).toBe(2);
    expect(Number((await h.db.execute('SELECT COUNT(*) AS n FROM revocations')).rows[0]!.n)).toBe(0);

    await h.worker.runDue();
    const planned = await h.db.execute(
      "SELECT json_extract(data, '$.eventId') AS event, COUNT(*) AS n FROM audit_events WHERE action = 'directory_event.planned' GROUP BY event ORDER BY event",
    );
    expect(planned.rows.map((r) => [Number(r.event), Number(r.n)])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    const byEvent = await h.db.execute('SELECT event_id, COUNT(*) AS n FROM revocations GROUP BY event_id ORDER BY event_id');
    expect(byEvent.rows.map((r) => Number(r.event_id))).toEqual([1, 2]);
  }, 60_000);
});

describe('revoke jobs', () => {
  it('a process that died holding a job: another takes it over when the lease ends, and removes nothing twice', async () => {
    await connect();
    await changePerson('p-ben', { status: 'departed' });
    // A process plans it and claims the job, writes to Salesforce, and dies before recording anything.
    await planDirectoryEvents({ db: h.db, now: h.clock.now, findings: h.findings });
    const claimed = await claimRevocation({ db: h.db, box: h.secrets, now: h.clock.now, ownerId: 'process-that-died', leaseMs: 60_000 });
    expect(claimed).toMatchObject({ connectionId: 'sf-acme', state: 'running' });
    const psa = sf.org.objects.PermissionSetAssignment!;
    for (const id of [SALES_OPS, REPORT_BUILDER])
      psa.splice(
        psa.findIndex((a) => a.AssigneeId === BEN_SF && a.PermissionSetId === id),
        1,
      );
    expect(onSalesforce((await revocations('?personId=p-ben')).revocations)[0]).toMatchObject({ status: 'in-progress', attempts: 1 });
    expect((await revocations('?status=in-progress')).revocations.map((r) => r.id)).toEqual([claimed !== 'cancelled' && claimed ? claimed.id : null]);

    // Within the lease nobody else touches it.
    await h.worker.runDue();
    expect(onSalesforce((await revocations('?personId=p-ben')).revocations)[0]).toMatchObject({ status: 'in-progress' });
    h.clock.advance(60_000);
    await h.worker.runDue();
    expect(onSalesforce((await revocations('?personId=p-ben')).revocations)[0]).toMatchObject({ status: 'done', attempts: 2 });
    // What the dead process removed is confirmed, not removed again; the user is deactivated once.
    expect(sf.log.filter((l) => l.method === 'DELETE')).toEqual([]);
    expect(sf.userUpdates).toHaveLength(1);
    expect((await h.db.execute("SELECT COUNT(*) AS n FROM assignments WHERE account_id = 'acct-ben' AND revoked_at IS NOT NULL")).rows[0]!.n).toBe(2);
  });

  it('a passing failure is retried with backoff; the API shows the attempts and the error', async () => {
    await connect();
    sf.fail({
      method: 'DELETE',
      path: /composite\/sobjects/,
      status: 503,
      body: [{ message: 'Server busy', errorCode: 'SERVER_UNAVAILABLE' }],
      headers: { 'Retry-After': '120' },
    });
    await changePerson('p-ben', { status: 'departed' });
    await h.worker.runDue();
    const [r] = onSalesforce((await revocations('?personId=p-ben')).revocations);
    expect(r).toMatchObject({ status: 'planned', attempts: 1, problem: { code: 'rate-limited' } });
    expect(Date.parse(r!.dueAt) - h.clock.now().getTime()).toBe(120_000);
    h.clock.advance(120_000);
    expect(onSalesforce((await revocations('?status=due')).revocations).map((x) => x.id)).toEqual([r!.id]);
    await h.worker.runDue();
    expect(onSalesforce((await revocations('?personId=p-ben')).revocations)[0]).toMatchObject({ status: 'done', attempts: 2 });
    expect(heldSets(BEN_SF)).toEqual([profileSetOf(STANDARD_SALES)]);
  });
});

describe('GET /api/admin/revocations', () => {
  it('is for administrators; a bad filter is a 400 naming the field; it pages', async () => {
    await changePerson('p-ben', { status: 'departed' });
    await changePerson('p-dan', { status: 'departed' });
    await h.worker.runDue();
    expect((await h.get(null, '/api/admin/revocations')).status).toBe(401);
    const ben = await h.signIn('ben@acme.test').catch(() => null);
    expect(ben).toBeNull(); // departed people are signed out and cannot sign in
    const ava = await h.signIn('ava@acme.test');
    const forbidden = await h.get(ava, '/api/admin/revocations');
    expect(forbidden.status).toBe(403);
    for (const [query, field] of [
      ['?status=soon', 'status'],
      ['?limit=0', 'limit'],
      ['?limit=many', 'limit'],
      ['?personId=a%20b', 'personId'],
      ['?cursor=nonsense', 'cursor'],
    ]) {
      const res = await h.get(cara, `/api/admin/revocations${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { code: string; field: string } }).error, query).toMatchObject({ code: 'invalid_input', field });
    }
    const all = await revocations();
    expect(all.total).toBe(all.revocations.length);
    expect(all.total).toBeGreaterThan(3);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: AdminRevocationsResponse = await revocations(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.revocations.length).toBeLessThanOrEqual(2);
      expect(page.total).toBe(all.total);
      seen.push(...page.revocations.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.revocations.map((r) => r.id));
    expect(new Set(seen).size).toBe(all.total);
    expect((await revocations('?personId=p-dan&connectionId=sf-acme')).revocations.map((r) => r.person.id)).toEqual(['p-dan']);
  });
});
