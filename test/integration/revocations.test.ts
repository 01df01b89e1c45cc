/**
 * Revocations across real server processes on one libsql server (sqld), with the fake Salesforce on
 * loopback: departures made through either process are planned once (whichever process claims the
 * directory event), and each assignment is removed from Salesforce once, each user deactivated once.
 * (Timing, task mode, moves and a planner killed mid-transaction: server/src/revocations/revocations.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '@accesslens/server';
import { startSqld, type RunningSqld } from '@accesslens/server/testing-sqld';
import { salesforceUserId } from '@accesslens/server/seed/demo';
import { DEMO_CLIENT, demoSalesforceOrg } from '../fakes/salesforce-demo.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../fakes/salesforce.ts';
import { connectDemoSalesforce, waitFor } from '../support/fake-crm.ts';
import { ApiClient, DEMO, startServer } from '../support/server.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

describe('revocations across server processes', () => {
  it('two processes on one libsql server: each departure planned once, each assignment removed once', async () => {
    const sqld: RunningSqld = await startSqld();
    cleanup.push(() => sqld.stop());
    const sf: FakeSalesforce = await startFakeSalesforce({
      org: demoSalesforceOrg(new Date()),
      clients: [DEMO_CLIENT],
      integrationUser: {
        id: '005Fk0000000INTAAA',
        username: 'accesslens@acme.test.sf',
        permissions: { AssignPermissionSets: true, ViewSetup: true, ManageUsers: true },
      },
    });
    cleanup.push(() => sf.close());
    const [a, b] = await Promise.all([startServer({ databaseUrl: sqld.url }), startServer({ databaseUrl: sqld.url })]);
    cleanup.push(
      () => a!.dispose(),
      () => b!.dispose(),
    );
    await connectDemoSalesforce(a!.url, sf);

    // Dan (Revenue Ops group, Report Builder), Ben (Sales Ops, Report Builder) and Fay (Contract Manager)
    // leave, recorded through both processes.
    const leavers = [
      { id: 'p-dan', sf: salesforceUserId(1), server: a! },
      { id: 'p-ben', sf: salesforceUserId(2), server: b! },
      { id: 'p-fay', sf: salesforceUserId(8), server: a! },
    ];
    const held = new Map(leavers.map((l) => [l.id, sf.assignmentsOf(l.sf).length]));
    for (const l of leavers) {
      const cara = new ApiClient(l.server.url);
      await cara.signIn(DEMO.cara.email, DEMO.cara.password);
      const res = await cara.call('PATCH', `/api/admin/people/${l.id}`, { status: 'departed' });
      expect(res.status).toBe(200);
    }

    const cara = new ApiClient(b!.url);
    await cara.signIn(DEMO.cara.email, DEMO.cara.password);
    const done = await waitFor(
      'every Salesforce revocation',
      async () => {
        const list = (await cara.call('GET', '/api/admin/revocations?connectionId=sf-acme')).json.revocations as { person: { id: string }; status: string }[];
        return list.length === leavers.length && list.every((r) => r.status === 'done') ? list : null;
      },
      60_000,
    );
    expect(done.map((r) => r.person.id).sort()).toEqual(leavers.map((l) => l.id).sort());

    // Salesforce: only each profile's own assignment is left, each user deactivated once, each assignment deleted once.
    for (const l of leavers) {
      expect(sf.assignmentsOf(l.sf)).toHaveLength(1);
      expect(sf.org.objects.User!.find((u) => u.Id === l.sf)!.IsActive).toBe(false);
    }
    expect(sf.userUpdates.map((u) => u.userId).sort()).toEqual(leavers.map((l) => l.sf).sort());
    const deleted = sf.log.filter((l) => l.method === 'DELETE').flatMap((l) => new URL(l.path, sf.url).searchParams.get('ids')?.split(',') ?? []);
    expect(deleted).toHaveLength([...held.values()].reduce((n, x) => n + x - 1, 0));
    expect(new Set(deleted).size).toBe(deleted.length);

    // Each directory event planned by exactly one process; no revocation doubled.
    const db = await openDatabase(sqld.url);
    try {
      const planned = await db.execute(
        "SELECT json_extract(data, '$.eventId') AS event, COUNT(*) AS n FROM audit_events WHERE action = 'directory_event.planned' GROUP BY event",
      );
      expect(planned.rows.map((r) => Number(r.n))).toEqual([1, 1, 1]);
      const twice = await db.execute('SELECT event_id, account_id, handling FROM revocations GROUP BY event_id, account_id, handling HAVING COUNT(*) > 1');
      expect(twice.rows).toEqual([]);
      const doneAudits = await db.execute(
        "SELECT subject_id, COUNT(*) AS n FROM audit_events WHERE action = 'revocation.done' GROUP BY subject_id HAVING n > 1",
      );
      expect(doneAudits.rows).toEqual([]);
    } finally {
      db.close();
    }
  }, 120_000);
});
