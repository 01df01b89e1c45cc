/**
 * The Dynamics 365 and HubSpot connectors through a real server process, with the fake Dataverse (and its
 * Entra ID token endpoint) and the fake HubSpot on loopback:
 * - Dynamics: import → a role given by hand is a finding; approve → fulfilment job → Dataverse holds the
 *   role → fulfilled.
 * - HubSpot: import; approve → the permission set changes after a seat check → fulfilled; the server killed
 *   right after the change: the next process resumes the job, writes nothing again, and still knows the
 *   permission set to put back (kept in the job's plan before the change).
 * (Expiry → removal, with a driven clock, is in server/src/connectors/{dynamics,hubspot}.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '@accesslens/server';
import { demoDynamicsOrg, demoDynamicsRole, demoDynamicsUser, DEMO_DYNAMICS_APP, DEMO_DYNAMICS_APP_USER } from '../fakes/dynamics-demo.ts';
import { startFakeDynamics } from '../fakes/dynamics.ts';
import { demoHubspotAccount, demoHubspotRole, demoHubspotUser, DEMO_HUBSPOT_TOKEN } from '../fakes/hubspot-demo.ts';
import { startFakeHubspot, type HsUserRow } from '../fakes/hubspot.ts';
import { connectDemoDynamics, connectDemoHubspot, waitFor } from '../support/fake-crm.ts';
import { ApiClient, DEMO, startServer } from '../support/server.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

const request = (connectionId: string, requestId: string, permissions: string[]) => ({
  id: randomUUID(),
  name: 'request.create',
  args: { requestId, connectionId, permissions, page: null, justification: 'Pipeline review this week.', durationDays: 7 },
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

describe('Dynamics 365 and HubSpot connectors in a server process', () => {
  it('Dynamics: import → a role given by hand is a finding; approve → job → Dataverse holds the role → fulfilled', async () => {
    const server = await startServer();
    cleanup.push(() => server.dispose());
    const dv = await startFakeDynamics({ org: demoDynamicsOrg(new Date()), clients: [DEMO_DYNAMICS_APP], appUserId: DEMO_DYNAMICS_APP_USER });
    cleanup.push(() => dv.close());
    await connectDemoDynamics(server.url, dv);

    // Someone gives Ben System Administrator in Dataverse by hand; the next import finds it.
    const BEN = demoDynamicsUser('p-ben');
    dv.org.systemuserroles.push({ systemuserroleid: randomUUID(), systemuserid: BEN, roleid: demoDynamicsRole('dyn-sysadmin') });
    const cara = await signedIn(server.url, DEMO.cara);
    const queued = await cara.call('POST', '/api/admin/connections/dyn-acme/import', {});
    await waitFor(
      'the second import',
      async () => (await cara.call('GET', `/api/admin/connections/dyn-acme/imports/${queued.json.run.id}`)).json.run.status === 'succeeded',
    );
    const findings = (await cara.call('GET', '/api/findings?kind=outside-process&connectionId=dyn-acme')).json.findings as {
      personId: string;
      bundleIds: string[];
    }[];
    expect(findings).toMatchObject([{ personId: 'p-ben', bundleIds: ['dyn-sysadmin'] }]);

    const ava = await signedIn(server.url, DEMO.ava);
    const ben = await signedIn(server.url, DEMO.ben);
    const id = randomUUID();
    expect((await ava.mutate(request('dyn-acme', id, ['object:opportunity:read']))).json.results[0].status).toBe('applied');
    expect((await ben.mutate(approve(id))).json.results[0].status).toBe('applied');
    const done = await waitFor('fulfilment', async () => {
      const r = await statusOf(ava, id);
      return r?.status === 'fulfilled' ? r : null;
    });
    expect(done.fulfilment?.state).toBe('active');
    expect(dv.rolesOf(demoDynamicsUser('p-ava'))).toContain(demoDynamicsRole('dyn-sales-manager'));
    expect(dv.associateAttempts).toHaveLength(1);
  });

  it('HubSpot: approve → seat checked → permission set changed → fulfilled; killed right after the change, the next process applies nothing twice and keeps the set to put back', async () => {
    const hs = await startFakeHubspot({ account: demoHubspotAccount(new Date()), privateApps: [{ token: DEMO_HUBSPOT_TOKEN }] });
    cleanup.push(() => hs.close());
    const server = await startServer({ env: { ACCESSLENS_LEASE_SECONDS: '2' } });
    cleanup.push(() => server.dispose());
    await connectDemoHubspot(server.url, hs);

    // HubSpot changes the permission set, then never answers: the server dies waiting.
    let changed: (user: HsUserRow) => void = () => {};
    const changedOnce = new Promise<HsUserRow>((resolve) => (changed = resolve));
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    hs.afterUpdate = async (user) => {
      changed(user);
      await held;
    };
    cleanup.push(async () => release());

    const ava = await signedIn(server.url, DEMO.ava);
    const ben = await signedIn(server.url, DEMO.ben);
    const id = randomUUID();
    expect((await ava.mutate(request('hs-acme', id, ['object:deal:read']))).json.results[0].status).toBe('applied');
    expect((await ben.mutate(approve(id))).json.results[0].status).toBe('applied');
    await changedOnce;
    await server.kill();
    hs.afterUpdate = null;
    release();

    await server.restart();
    const ava2 = await signedIn(server.url, DEMO.ava);
    const done = await waitFor('the resumed job', async () => {
      const r = await statusOf(ava2, id);
      return r?.status === 'fulfilled' ? r : null;
    });
    expect(done.fulfilment?.state).toBe('active');
    const AVA = demoHubspotUser('p-ava');
    expect(hs.userById(AVA)!.roleId).toBe(demoHubspotRole('hs-sales-manager'));
    expect(hs.updateAttempts).toEqual([{ userId: AVA, roleId: demoHubspotRole('hs-sales-manager'), ok: true, category: null }]);
    // What to put back at expiry was kept before the change: Sales Rep.
    const db = await openDatabase(server.databaseUrl);
    try {
      const job = await db.execute("SELECT plan FROM fulfilment_jobs WHERE request_id = ? AND action = 'grant'", [id]);
      const plan = JSON.parse(String(job.rows[0]!.plan)) as { replaced: { externalId: string }[] };
      expect(plan.replaced.map((p) => p.externalId)).toEqual([demoHubspotRole('hs-sales-rep')]);
    } finally {
      db.close();
    }
  });
});
