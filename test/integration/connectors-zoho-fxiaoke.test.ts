/**
 * The Zoho CRM and Fxiaoke connectors through a real server process (demo seed), each against its fake
 * on loopback: an administrator connects the demo connection through the admin API with automatic
 * change on, imports, and an approved request arrives in the CRM.
 * (Admin tasks, expiry and the put-back of a replaced profile, with a driven clock, are in
 * server/src/connectors/zoho.test.ts and fxiaoke.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { demoFxiaokeCompany, FX_DEMO_ACTING_USER, FX_DEMO_APP, roleKeysOfDemo, startFakeFxiaoke } from '../fakes/fxiaoke.ts';
import { demoZohoOrg, startFakeZoho, ZOHO_DEMO_CLIENT } from '../fakes/zoho.ts';
import { connectDemo, waitFor } from '../support/fake-crm.ts';
import { ApiClient, DEMO, startServer } from '../support/server.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function signedIn(url: string, who: { email: string; password: string }) {
  const c = new ApiClient(url);
  await c.signIn(who.email, who.password);
  return c;
}

/** Connects `connectionId` with automatic change on, imports it, and returns the finished run. */
const connectAndImport = (url: string, connectionId: string, body: Record<string, unknown>) =>
  connectDemo(url, connectionId, { automaticChange: true, ...body });

/** Ava asks, Ben approves; resolves when the request is fulfilled. */
async function approvedAndFulfilled(url: string, connectionId: string, permissions: string[]) {
  const ava = await signedIn(url, DEMO.ava);
  const ben = await signedIn(url, DEMO.ben);
  const requestId = randomUUID();
  const created = await ava.mutate({
    id: randomUUID(),
    name: 'request.create',
    args: { requestId, connectionId, permissions, page: null, justification: 'Quarter-end orders for 华东 customers.', durationDays: 7 },
  });
  expect(created.json.results[0].status).toBe('applied');
  const approved = await ben.mutate({ id: randomUUID(), name: 'decision.record', args: { requestId, outcome: 'approve', reason: null, durationDays: null } });
  expect(approved.json.results[0].status).toBe('applied');
  return waitFor(`the fulfilment on ${connectionId}`, async () => {
    const r = ((await ava.sync()).json.requests as { id: string; status: string; fulfilment: { state: string; mode: string } | null }[]).find(
      (x) => x.id === requestId,
    );
    return r?.status === 'fulfilled' ? r : null;
  });
}

describe('Zoho CRM and Fxiaoke through a server process', () => {
  it('Zoho CRM: import onto the seed changes nothing; approve → job → Zoho holds the new profile → fulfilled', async () => {
    const zoho = await startFakeZoho({ org: demoZohoOrg(), clients: [ZOHO_DEMO_CLIENT] });
    cleanup.push(() => zoho.close());
    const server = await startServer();
    cleanup.push(() => server.dispose());

    const run = await connectAndImport(server.url, 'zoho-acme', { settings: { dataCenter: 'com.cn', accountsUrl: zoho.url }, credentials: ZOHO_DEMO_CLIENT });
    expect(run.error).toBeNull();
    expect(run.changes).toMatchObject({
      accountsCreated: 0,
      bundlesCreated: 0,
      bundlesChanged: 0,
      assignmentsFound: 0,
      assignmentsRemoved: 0,
      lastLoginsRefreshed: 0,
    });

    const done = await approvedAndFulfilled(server.url, 'zoho-acme', ['object:Deals:read']);
    expect(done.fulfilment).toMatchObject({ state: 'active', mode: 'automatic' });
    expect(zoho.userById('770000100000000301')!.profile).toBe('770000100000026017'); // Sales Manager
    expect(zoho.changes).toEqual([{ userId: '770000100000000301', field: 'profile', to: '770000100000026017', ok: true }]);
    // Roles (职位) come through with their Chinese names exactly.
    const bundles = (await (await signedIn(server.url, DEMO.ava)).sync()).json.bundles as { connectionId: string; name: string }[];
    expect(bundles.filter((b) => b.connectionId === 'zoho-acme').map((b) => b.name)).toEqual(expect.arrayContaining(['销售代表', '销售经理', '首席执行官']));
  });

  it('Fxiaoke: import onto the seed changes nothing; approve → job → Fxiaoke holds the role → fulfilled', async () => {
    const fx = await startFakeFxiaoke({ company: demoFxiaokeCompany(), apps: [FX_DEMO_APP] });
    cleanup.push(() => fx.close());
    const server = await startServer();
    cleanup.push(() => server.dispose());

    const run = await connectAndImport(server.url, 'fx-acme', {
      settings: { apiBase: fx.url, actingUserId: FX_DEMO_ACTING_USER, roleKeys: roleKeysOfDemo() },
      credentials: FX_DEMO_APP,
    });
    expect(run.error).toBeNull();
    expect(run.changes).toMatchObject({
      accountsCreated: 0,
      bundlesCreated: 0,
      bundlesChanged: 0,
      assignmentsFound: 0,
      assignmentsRemoved: 0,
      lastLoginsRefreshed: 0,
    });

    const done = await approvedAndFulfilled(server.url, 'fx-acme', ['object:SalesOrderObj:read']);
    expect(done.fulfilment).toMatchObject({ state: 'active', mode: 'automatic' });
    expect(fx.rolesOf('1001')).toEqual(['00000000000000000000000000000015', '00000000000000000000000000000016']);
    expect(fx.changes).toEqual([{ op: 'add', userId: '1001', roleCode: '00000000000000000000000000000016', ok: true }]);
  });
});
