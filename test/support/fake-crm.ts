/**
 * Connects the demo org's CRM connections (Salesforce, Dynamics 365, HubSpot) to fakes of them, as an
 * administrator would: through the admin API (Cara), then imports and waits for the import to succeed.
 */
import { DEMO_DYNAMICS_APP, DEMO_DYNAMICS_APP_USER, DEMO_DYNAMICS_TENANT, demoDynamicsOrg } from '../fakes/dynamics-demo.ts';
import { startFakeDynamics, type FakeDynamics } from '../fakes/dynamics.ts';
import { DEMO_HUBSPOT_SETTINGS, DEMO_HUBSPOT_TOKEN, demoHubspotAccount } from '../fakes/hubspot-demo.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { DEMO_CLIENT, demoSalesforceOrg } from '../fakes/salesforce-demo.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../fakes/salesforce.ts';
import { ApiClient, DEMO } from './server.ts';

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Points the demo connection at `fake` (a new fake of the demo org when absent), in provision mode, and imports. */
export async function connectDemoSalesforce(serverUrl: string, fake?: FakeSalesforce): Promise<FakeSalesforce> {
  const sf = fake ?? (await startFakeSalesforce({ org: demoSalesforceOrg(new Date()), clients: [DEMO_CLIENT] }));
  await connectDemo(serverUrl, 'sf-acme', { settings: { instanceUrl: sf.url }, credentials: { flow: 'client_credentials', ...DEMO_CLIENT } });
  return sf;
}

/**
 * Connects one of the demo org's connections as Cara would (PATCH with `patch`, in provision mode) and
 * imports it; returns the succeeded import run.
 */
export async function connectDemo(serverUrl: string, connectionId: string, patch: Record<string, unknown>): Promise<ImportRun> {
  const cara = new ApiClient(serverUrl);
  await cara.signIn(DEMO.cara.email, DEMO.cara.password);
  const patched = await cara.call('PATCH', `/api/admin/connections/${connectionId}`, { mode: 'provision', ...patch });
  if (patched.status !== 200) throw new Error(`connecting ${connectionId} failed: ${patched.status} ${JSON.stringify(patched.json)}`);
  const queued = await cara.call('POST', `/api/admin/connections/${connectionId}/import`, {});
  if (queued.status !== 202) throw new Error(`import request failed: ${queued.status} ${JSON.stringify(queued.json)}`);
  const run = await waitFor(`the ${connectionId} import`, async () => {
    const r = (await cara.call('GET', `/api/admin/connections/${connectionId}/imports/${queued.json.run.id}`)).json.run;
    return r.status === 'succeeded' || r.status === 'failed' ? r : null;
  });
  if (run.status !== 'succeeded') throw new Error(`the ${connectionId} import failed: ${run.error}`);
  return run;
}

interface ImportRun {
  status: string;
  error: string | null;
  changes: Record<string, number>;
}

/** Points the demo's Dynamics connection (`dyn-acme`) at `fake` (a new fake of the demo environment when absent) and imports. */
export async function connectDemoDynamics(serverUrl: string, fake?: FakeDynamics): Promise<FakeDynamics> {
  const dv = fake ?? (await startFakeDynamics({ org: demoDynamicsOrg(new Date()), clients: [DEMO_DYNAMICS_APP], appUserId: DEMO_DYNAMICS_APP_USER }));
  await connectDemo(serverUrl, 'dyn-acme', {
    settings: { orgUrl: dv.url, tenantId: DEMO_DYNAMICS_TENANT, tokenUrl: dv.tokenUrl(DEMO_DYNAMICS_TENANT) },
    credentials: { flow: 'client_credentials', ...DEMO_DYNAMICS_APP },
  });
  return dv;
}

/** Points the demo's HubSpot connection (`hs-acme`) at `fake` (a new fake of the demo account when absent) and imports. */
export async function connectDemoHubspot(serverUrl: string, fake?: FakeHubspot): Promise<FakeHubspot> {
  const hs = fake ?? (await startFakeHubspot({ account: demoHubspotAccount(new Date()), privateApps: [{ token: DEMO_HUBSPOT_TOKEN }] }));
  await connectDemo(serverUrl, 'hs-acme', {
    settings: { apiUrl: hs.url, ...DEMO_HUBSPOT_SETTINGS },
    credentials: { flow: 'private_app', accessToken: DEMO_HUBSPOT_TOKEN },
  });
  return hs;
}
