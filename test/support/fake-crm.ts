/**
 * Connects the demo org's Salesforce connection to a fake Salesforce, as an administrator would:
 * through the admin API (Cara), then imports it and waits for the import to succeed.
 */
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
  const cara = new ApiClient(serverUrl);
  await cara.signIn(DEMO.cara.email, DEMO.cara.password);
  const patched = await cara.call('PATCH', '/api/admin/connections/sf-acme', {
    mode: 'provision',
    settings: { instanceUrl: sf.url },
    credentials: { flow: 'client_credentials', ...DEMO_CLIENT },
  });
  if (patched.status !== 200) throw new Error(`connecting the demo org failed: ${patched.status} ${JSON.stringify(patched.json)}`);
  const queued = await cara.call('POST', '/api/admin/connections/sf-acme/import', {});
  if (queued.status !== 202) throw new Error(`import request failed: ${queued.status} ${JSON.stringify(queued.json)}`);
  const run = await waitFor('the demo import', async () => {
    const r = (await cara.call('GET', `/api/admin/connections/sf-acme/imports/${queued.json.run.id}`)).json.run;
    return r.status === 'succeeded' || r.status === 'failed' ? r : null;
  });
  if (run.status !== 'succeeded') throw new Error(`the demo import failed: ${run.error}`);
  return sf;
}
