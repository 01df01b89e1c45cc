/**
 * "Check on the page that it works" (issue 7), end to end in Chromium with the built extension: after a
 * grant is fulfilled, Ava's overlay asks the CRM's own current-user APIs whether the access works —
 * Salesforce through the background (the org's `sid` session cookie of its My Domain host, used as a Bearer
 * token there only), Dynamics 365 through the page's same-origin Web API. The fakes behind the CRMs' hosts
 * (test/fakes/salesforce.ts, test/fakes/dynamics.ts, served on the real hostnames by the fixture server)
 * answer from what the CRM really holds. Shown: "Access works now" answered by the API; "Still blocked" with
 * "Report a problem" when the API says no (although the page itself lets her in); the line naming where the
 * CRM and AccessLens's record differ, with the last import's age; the page fallback without an API session.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { connectDemoDynamics, connectDemoSalesforce, waitFor } from '../support/fake-crm.ts';
import type { FakeSalesforce } from '../fakes/salesforce.ts';
import type { FakeDynamics } from '../fakes/dynamics.ts';
import { demoDynamicsUser } from '../fakes/dynamics-demo.ts';
import { salesforceUserId } from '@accesslens/server/seed/demo';
import { captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

const CONTRACT_ID = '800xx000001AbCdAAK';
const CONTRACT_URL = `https://acme.lightning.force.com/lightning/r/Contract/${CONTRACT_ID}/view`;
const OPPORTUNITY_ID = '9c3e1d2a-6b5f-ef11-a671-6045bd8c1d2e';
const OPPORTUNITY_URL = `https://acme.crm4.dynamics.com/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entityrecord&etn=opportunity&id=${OPPORTUNITY_ID}`;
const AVA_SF = salesforceUserId(3);
const AVA_DYN = demoDynamicsUser('p-ava');

let server: RunningServer;
let crm: CrmFixture;
let salesforce: FakeSalesforce;
let dynamics: FakeDynamics;
let ava: ExtensionBrowser;
/** The CRM pages' own behaviour, set per test: true = the page lets Ava in whatever the API says. */
let pageLetsIn: boolean | undefined;

async function api(who: { email: string; password: string }) {
  const client = new ApiClient(server.url);
  await client.signIn(who.email, who.password);
  return client;
}

/** Ava asks for `key` on `connectionId`; Ben approves every stage routed to him; the grant is applied in the CRM. */
async function fulfilledGrant(connectionId: string, key: string, page: { url: string; object: string; recordId: string }): Promise<string> {
  const requestId = randomUUID();
  const avaApi = await api(DEMO.ava);
  const created = await avaApi.mutate({
    id: randomUUID(),
    name: 'request.create',
    args: {
      requestId,
      connectionId,
      permissions: [key],
      page: { ...page, denialText: null },
      justification: 'Need it for the renewal this week.',
      evidence: [],
      durationDays: 7,
    },
  });
  expect(created.status).toBe(200);
  expect(created.json.results[0]).toMatchObject({ status: 'applied' });
  const ben = await api(DEMO.ben);
  const read = async () => ((await avaApi.sync()).json.requests as any[]).find((r) => r.id === requestId);
  await waitFor(
    `request ${requestId} fulfilled`,
    async () => {
      const r = await read();
      if (r?.status === 'pending') {
        const res = await ben.mutate({ id: randomUUID(), name: 'decision.record', args: { requestId, outcome: 'approve', reason: null, durationDays: null } });
        expect(res.status).toBe(200);
      }
      return r?.status === 'fulfilled' ? r : null;
    },
    30_000,
  );
  return requestId;
}

const check = (page: Page) => page.getByTestId('al-access-check');

/** Opens `url` and waits for the check's answer, the panel open. `refuses`: the CRM page shows its refusal (it opens the panel itself). */
async function openChecked(url: string, refuses = false): Promise<Page> {
  const page = await ava.context.newPage();
  await page.goto(url);
  await page.getByTestId('al-badge').waitFor({ timeout: 15_000 });
  // An open panel keeps the extension's slice live (it brings the grant); a page that refuses opens it by itself.
  if (refuses) await expect.poll(() => page.locator('accesslens-overlay .al-denial').count(), { timeout: 15_000 }).toBe(1);
  else await page.getByTestId('al-badge').click();
  await page.getByTestId('al-panel').waitFor();
  await expect.poll(() => check(page).getAttribute('data-result'), { timeout: 15_000 }).not.toBe('checking');
  return page;
}

beforeAll(async () => {
  server = await startServer();
  [salesforce, dynamics] = await Promise.all([connectDemoSalesforce(server.url), connectDemoDynamics(server.url)]);
  crm = await startCrmFixture({
    access: (kind, object) => {
      if (pageLetsIn !== undefined) return pageLetsIn;
      if (kind === 'salesforce') return salesforce.userCan(AVA_SF, object, 'read');
      if (kind === 'dynamics') return dynamics.userCan(AVA_DYN, object, 'read');
      return undefined;
    },
    apis: { salesforce: salesforce.url, dynamics: dynamics.url },
  });
  ava = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
  await signIn(ava, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name).then((p) => p.close());
  // Ava is signed in to both CRMs in this browser: Salesforce's My Domain session cookie (what Lightning's
  // API calls use), Dynamics' session cookie on the environment's host. AccessLens never sets or sends these.
  await ava.context.addCookies([
    { name: 'sid', value: salesforce.sessionFor(AVA_SF), url: 'https://acme.my.salesforce.com/', httpOnly: true, secure: true, sameSite: 'None' },
    { name: 'CrmOwinAuth', value: dynamics.sessionFor(AVA_DYN), url: 'https://acme.crm4.dynamics.com/', httpOnly: true, secure: true, sameSite: 'None' },
  ]);
});

afterEach(async (ctx) => {
  pageLetsIn = undefined;
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava });
});

afterAll(async () => {
  await Promise.allSettled([ava?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close(), salesforce?.close(), dynamics?.close()]);
});

describe('after a grant, the CRM itself says whether it works', () => {
  it('Salesforce: "Access works now", answered by its current-user APIs through the background', async () => {
    await fulfilledGrant('sf-acme', 'object:Contract:read', { url: CONTRACT_URL, object: 'Contract', recordId: CONTRACT_ID });
    expect(salesforce.userCan(AVA_SF, 'Contract', 'read')).toBe(true);
    const before = salesforce.log.length;
    const page = await openChecked(CONTRACT_URL);
    await expect(check(page).getAttribute('data-result')).resolves.toBe('works');
    await expect(check(page).getAttribute('data-method')).resolves.toBe('api');
    await expect(check(page).textContent()).resolves.toContain('Answered by Salesforce');
    expect(await page.getByTestId('al-check-mismatch').count()).toBe(0);
    expect(await page.getByTestId('al-report-problem').count()).toBe(0);
    // The calls went to the org's My Domain host with the session, for Ava's user and this record only.
    const calls = salesforce.log.slice(before).map((l) => decodeURIComponent(l.path));
    expect(calls).toContain('/services/data/v62.0/');
    expect(calls.some((c) => c.includes('FROM UserEntityAccess') && c.includes(`UserId = '${AVA_SF}'`) && c.includes("QualifiedApiName = 'Contract'"))).toBe(
      true,
    );
    expect(calls.some((c) => c.includes('FROM UserRecordAccess') && c.includes(`RecordId = '${CONTRACT_ID}'`))).toBe(true);
    await screenshot(page, 'overlay-check-works-api');
    await page.close();
  });

  it('Salesforce: the API says no → "Still blocked", report, and the difference from AccessLens with the last import', async () => {
    // An administrator took the permission set away in Salesforce; AccessLens has not imported since.
    const grant = salesforce
      .assignmentsOf(AVA_SF)
      .find((a) => salesforce.org.objects.ObjectPermissions!.some((o) => o.ParentId === a.PermissionSetId && o.SobjectType === 'Contract'));
    expect(grant).toBeDefined();
    salesforce.org.objects.PermissionSetAssignment = salesforce.org.objects.PermissionSetAssignment!.filter((a) => a !== grant);
    expect(salesforce.userCan(AVA_SF, 'Contract', 'read')).toBe(false);
    pageLetsIn = true; // the page itself shows no refusal: only the API can tell
    const page = await openChecked(CONTRACT_URL);
    await expect(check(page).getAttribute('data-result')).resolves.toBe('blocked');
    await expect(check(page).getAttribute('data-method')).resolves.toBe('api');
    await expect(check(page).textContent()).resolves.toContain("Still blocked: the CRM's API says you do not have this access");
    const mismatch = page.locator('[data-testid="al-check-mismatch"][data-permission="object:Contract:read"]');
    await expect(mismatch.textContent()).resolves.toMatch(/^The CRM says you cannot read; AccessLens expected you can — last import .+\.$/);
    await expect(mismatch.getAttribute('data-crm')).resolves.toBe('false');
    await screenshot(page, 'overlay-check-blocked-api');

    await page.getByTestId('al-report-problem').click();
    await page.getByTestId('al-problem-reported').waitFor({ timeout: 10_000 });
    // The report reached the server with what the API said (identifiers and booleans, no record contents).
    const avaApi = await api(DEMO.ava);
    const reported = await waitFor('the problem report', async () =>
      ((await avaApi.sync()).json.requests as any[]).find((r) => r.permissions.includes('object:Contract:read') && r.fulfilment?.problem),
    );
    expect(reported.fulfilment.problem).toMatchObject({ url: CONTRACT_URL, recordId: CONTRACT_ID });
    expect(reported.fulfilment.problem.denialText).toMatch(/^salesforce-api: \{"object":\{"read":false/);
    await page.close();
  });

  it('Salesforce without an API session: the page answers, and the panel says which method did', async () => {
    await ava.context.clearCookies({ name: 'sid' });
    pageLetsIn = true;
    const page = await openChecked(CONTRACT_URL);
    await expect(check(page).getAttribute('data-method')).resolves.toBe('page');
    await expect(check(page).getAttribute('data-result')).resolves.toBe('works');
    await expect(check(page).textContent()).resolves.toContain("Checked on the page: Salesforce's API gave no answer (no API session in this browser).");
    await page.close();
  });

  it('Dynamics 365: "Access works now" from the same-origin Web API (WhoAmI, RetrieveUserPrivileges, RetrievePrincipalAccess)', async () => {
    await fulfilledGrant('dyn-acme', 'object:opportunity:read', { url: OPPORTUNITY_URL, object: 'opportunity', recordId: OPPORTUNITY_ID });
    expect(dynamics.userCan(AVA_DYN, 'opportunity', 'read')).toBe(true);
    const before = dynamics.log.length;
    const page = await openChecked(OPPORTUNITY_URL);
    await expect(check(page).getAttribute('data-result')).resolves.toBe('works');
    await expect(check(page).getAttribute('data-method')).resolves.toBe('api');
    await expect(check(page).textContent()).resolves.toContain('Answered by Dynamics 365');
    const calls = dynamics.log.slice(before).map((l) => l.path);
    expect(calls).toContain('/api/data/v9.2/WhoAmI');
    expect(calls.some((c) => c.includes(`systemusers(${AVA_DYN})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()`))).toBe(true);
    expect(calls.some((c) => c.includes('RetrievePrincipalAccess(Target=@tid)') && c.includes(`opportunities(${OPPORTUNITY_ID})`))).toBe(true);
    await page.close();
  });

  it('Dynamics 365: the role taken away in Dataverse → "Still blocked" and the difference, from the API', async () => {
    const roles = dynamics.rolesOf(AVA_DYN);
    for (const role of roles) if (dynamics.org.rolePrivileges[role]?.length) dynamics.removeRole(AVA_DYN, role);
    expect(dynamics.userCan(AVA_DYN, 'opportunity', 'read')).toBe(false);
    // The page refuses too (it follows Dataverse here): the API's answer is still the one named.
    const page = await openChecked(OPPORTUNITY_URL, true);
    await expect(check(page).getAttribute('data-result')).resolves.toBe('blocked');
    await expect.poll(() => check(page).getAttribute('data-method'), { timeout: 10_000 }).toBe('api');
    const mismatch = page.locator('[data-testid="al-check-mismatch"][data-permission="object:opportunity:read"]');
    await expect(mismatch.textContent()).resolves.toMatch(/^The CRM says you cannot read; AccessLens expected you can — last import .+\.$/);
    await page.getByTestId('al-report-problem').waitFor();
    await page.close();
  });
});
