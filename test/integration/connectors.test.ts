/**
 * Connectors across real server processes, with the fake Salesforce on loopback:
 * - import → findings, approve → fulfilment job → the fake holds the assignment → fulfilled;
 * - a server killed in the middle of a job: the job resumes in the next process and applies once;
 * - two server processes on one libsql server: each job applied exactly once.
 * (Expiry → removal with a driven clock is in server/src/connectors/salesforce.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '@accesslens/server';
import { startSqld, type RunningSqld } from '@accesslens/server/testing-sqld';
import { demoBundleExternalId, salesforceUserId } from '@accesslens/server/seed/demo';
import { DEMO_CLIENT, demoSalesforceOrg } from '../fakes/salesforce-demo.ts';
import { fakeId, startFakeSalesforce, type FakeSalesforce, type SfRecord } from '../fakes/salesforce.ts';
import { connectDemoSalesforce, waitFor } from '../support/fake-crm.ts';
import { ApiClient, DEMO, startServer } from '../support/server.ts';

const AVA_SF = salesforceUserId(3);
const CONTRACT_MANAGER = demoBundleExternalId('ps-contract-manager');

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

const request = (requestId: string, permissions: string[]) => ({
  id: randomUUID(),
  name: 'request.create',
  args: { requestId, connectionId: 'sf-acme', permissions, page: null, justification: 'Customer renewal this week.', durationDays: 7 },
});
const approve = (requestId: string) => ({
  id: randomUUID(),
  name: 'decision.record',
  args: { requestId, outcome: 'approve', reason: null, durationDays: null },
});

async function signedIn(url: string, who: { email: string; password: string }) {
  const c = new ApiClient(url);
  await c.signIn(who.email, who.password);
  return c;
}

async function statusOf(client: ApiClient, requestId: string): Promise<{ status: string; fulfilment: { state: string } | null } | undefined> {
  return ((await client.sync()).json.requests as { id: string; status: string; fulfilment: { state: string } | null }[]).find((r) => r.id === requestId);
}

describe('connectors across server processes', () => {
  it('import → findings; approve → job → the CRM holds the assignment → fulfilled', async () => {
    const server = await startServer();
    cleanup.push(() => server.dispose());
    const sf = await connectDemoSalesforce(server.url);
    cleanup.push(() => sf.close());

    // Someone grants Ava "Quote Desk" in Salesforce by hand; the next import finds it.
    sf.org.objects.PermissionSetAssignment!.push({
      Id: fakeId('0Pa'),
      AssigneeId: AVA_SF,
      PermissionSetId: demoBundleExternalId('ps-quote-desk'),
      PermissionSetGroupId: null,
      ExpirationDate: null,
      IsActive: true,
      SystemModstamp: '2026-03-02T10:00:00.000+0000',
    });
    const cara = await signedIn(server.url, DEMO.cara);
    const before = await (await signedIn(server.url, DEMO.ava)).sync();
    const queued = await cara.call('POST', '/api/admin/connections/sf-acme/import', {});
    const run = await waitFor('the second import', async () => {
      const r = (await cara.call('GET', `/api/admin/connections/sf-acme/imports/${queued.json.run.id}`)).json.run;
      return r.status === 'succeeded' ? r : null;
    });
    // Every extension learns when AccessLens last read the CRM (the overlay's "last import 2 hours ago"), in the next delta.
    const delta = await (await signedIn(server.url, DEMO.ava)).sync(before.json.cursor);
    expect(delta.json.connections.find((c: { id: string }) => c.id === 'sf-acme')).toMatchObject({ lastImportAt: run.finishedAt });
    expect(Date.parse(run.finishedAt)).toBeGreaterThan(Date.parse(before.json.connections.find((c: { id: string }) => c.id === 'sf-acme').lastImportAt));
    const findings = (await cara.call('GET', '/api/findings?kind=outside-process')).json.findings as { personId: string; bundleIds: string[] }[];
    expect(findings).toMatchObject([{ personId: 'p-ava', bundleIds: ['ps-quote-desk'] }]);

    const ava = await signedIn(server.url, DEMO.ava);
    const ben = await signedIn(server.url, DEMO.ben);
    const id = randomUUID();
    expect((await ava.mutate(request(id, ['object:Contract:read']))).json.results[0].status).toBe('applied');
    expect((await ben.mutate(approve(id))).json.results[0].status).toBe('applied');
    const done = await waitFor('fulfilment', async () => {
      const r = await statusOf(ava, id);
      return r?.status === 'fulfilled' ? r : null;
    });
    expect(done.fulfilment?.state).toBe('active');
    expect(sf.assignmentsOf(AVA_SF).filter((a) => a.PermissionSetId === CONTRACT_MANAGER)).toHaveLength(1);
  });

  it('the server killed in the middle of a job: the next process resumes it and applies it exactly once', async () => {
    const sf = await startFakeSalesforce({ org: demoSalesforceOrg(new Date()), clients: [DEMO_CLIENT] });
    cleanup.push(() => sf.close());
    // Short leases so the restarted process takes over the dead one's job quickly.
    const server = await startServer({ env: { ACCESSLENS_LEASE_SECONDS: '2' } });
    cleanup.push(() => server.dispose());
    await connectDemoSalesforce(server.url, sf);

    // The fake applies the assignment, then never answers: the server dies waiting for the response.
    let created: (record: SfRecord) => void = () => {};
    const createdOnce = new Promise<SfRecord>((resolve) => (created = resolve));
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    sf.afterCreate = async (record) => {
      created(record);
      await held;
    };
    cleanup.push(async () => release());

    const ava = await signedIn(server.url, DEMO.ava);
    const ben = await signedIn(server.url, DEMO.ben);
    const id = randomUUID();
    await ava.mutate(request(id, ['object:Contract:read']));
    await ben.mutate(approve(id));
    await createdOnce;
    await server.kill();
    sf.afterCreate = null;
    release();

    await server.restart();
    const ava2 = await signedIn(server.url, DEMO.ava);
    const done = await waitFor('the resumed job', async () => {
      const r = await statusOf(ava2, id);
      return r?.status === 'fulfilled' ? r : null;
    });
    expect(done.fulfilment?.state).toBe('active');
    // Applied exactly once: one create asked of Salesforce, one assignment held.
    expect(sf.createAttempts.filter((a) => a.assigneeId === AVA_SF)).toHaveLength(1);
    expect(sf.assignmentsOf(AVA_SF).filter((a) => a.PermissionSetId === CONTRACT_MANAGER)).toHaveLength(1);
  });

  it('two server processes on one libsql server apply each job once', async () => {
    const sqld: RunningSqld = await startSqld();
    cleanup.push(() => sqld.stop());
    const sf: FakeSalesforce = await startFakeSalesforce({ org: demoSalesforceOrg(new Date()), clients: [DEMO_CLIENT] });
    cleanup.push(() => sf.close());
    const [a, b] = await Promise.all([startServer({ databaseUrl: sqld.url }), startServer({ databaseUrl: sqld.url })]);
    cleanup.push(
      () => a!.dispose(),
      () => b!.dispose(),
    );
    await connectDemoSalesforce(a!.url, sf);

    // Requests made through both processes, approved through the other one.
    const people = [
      { who: DEMO.ava, keys: [['object:Contract:read'], ['object:Quote:read']], approver: DEMO.ben },
      { who: { email: 'eli@acme.test', password: 'eli-demo-2026' }, keys: [['object:Contract:read']], approver: DEMO.ben },
      {
        who: { email: 'hal@acme.test', password: 'hal-demo-2026' },
        keys: [['object:Contract:read']],
        approver: { email: 'ivy@acme.test', password: 'ivy-demo-2026' },
      },
    ];
    const ids: string[] = [];
    let turn = 0;
    for (const p of people)
      for (const keys of p.keys) {
        const [mine, theirs] = turn++ % 2 === 0 ? [a!, b!] : [b!, a!];
        const requester = await signedIn(mine.url, p.who);
        const approver = await signedIn(theirs.url, p.approver);
        const id = randomUUID();
        expect((await requester.mutate(request(id, keys))).json.results[0].status).toBe('applied');
        expect((await approver.mutate(approve(id))).json.results[0].status).toBe('applied');
        ids.push(id);
      }
    // Case read is approved automatically: a job without any approver.
    const auto = randomUUID();
    expect((await (await signedIn(b!.url, DEMO.ava)).mutate(request(auto, ['object:Case:read']))).json.results[0].status).toBe('applied');
    ids.push(auto);

    await waitFor('every job', async () => (await sqlRequests(sqld.url, ids)).every((r) => r.status === 'fulfilled'), 60_000);
    // One create per job, no duplicate attempts, and one fulfilment audited per request.
    expect(sf.createAttempts).toHaveLength(ids.length);
    expect(sf.createAttempts.every((x) => x.ok)).toBe(true);
    const audit = await sqlAudit(sqld.url, ids);
    expect(audit).toEqual(ids.map(() => 1));
  }, 90_000);
});

async function withDb<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(url);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

function sqlRequests(url: string, ids: string[]): Promise<{ id: string; status: string }[]> {
  return withDb(url, async (db) => {
    const r = await db.execute(`SELECT id, status FROM requests WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
    return r.rows.map((x) => ({ id: String(x.id), status: String(x.status) }));
  });
}

function sqlAudit(url: string, ids: string[]): Promise<number[]> {
  return withDb(url, async (db) => {
    const out: number[] = [];
    for (const id of ids) {
      const r = await db.execute("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'request.fulfilled' AND subject_id = ?", [id]);
      out.push(Number(r.rows[0]!.n));
    }
    return out;
  });
}
