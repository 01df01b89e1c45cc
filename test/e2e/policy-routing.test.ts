/**
 * Policy at request time, end to end: the request form previews who will be asked before anything is
 * sent, a Quote edit goes to Ava's manager and then to the Deal Desk (two approvers, one after the
 * other, each from their own popup), and a Case read is approved automatically within its cap.
 * Three browser profiles (Ava, Ben, Dan), the real server with its demo seed, the HTTPS CRM fixture.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { connectDemoSalesforce } from '../support/fake-crm.ts';
import type { FakeSalesforce } from '../fakes/salesforce.ts';
import { artifactsDir, captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

const QUOTE_EDIT_URL = 'https://acme.lightning.force.com/lightning/r/Quote/0Q0xx0000004CmnCAE/edit';
const CASE_URL = 'https://acme.lightning.force.com/lightning/r/Case/500xx000003FgHiAAK/view';

const row = (page: Page, key: string) => page.locator(`[data-testid="al-permission-row"][data-permission="${key}"]`);
const optionValues = (page: Page, testId: string) =>
  page
    .getByTestId(testId)
    .locator('option')
    .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));

let server: RunningServer;
let crm: CrmFixture;
let salesforce: FakeSalesforce;
let ava: ExtensionBrowser;
let ben: ExtensionBrowser;
let dan: ExtensionBrowser;

beforeAll(async () => {
  [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
  // Approvals reach a fake Salesforce (connected as an administrator would); grants count once it holds them.
  salesforce = await connectDemoSalesforce(server.url);
  const launch = () => launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
  [ava, ben, dan] = await Promise.all([launch(), launch(), launch()]);
  await Promise.all(
    (
      [
        [ava, DEMO.ava],
        [ben, DEMO.ben],
        [dan, DEMO.dan],
      ] as const
    ).map(([browser, who]) => signIn(browser, server.url, who.email, who.password, who.name).then((p) => p.close())),
  );
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava, ben, dan });
});

afterAll(async () => {
  await Promise.allSettled([ava?.close(), ben?.close(), dan?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close(), salesforce?.close()]);
});

describe('policy routing: preview, ordered stages, automatic approval', () => {
  it('Quote edit: the form says Ben then Dan; Ben approves, then Dan approves, and Ava sees each step', async () => {
    // Approvers' popups open first: an open popup updates live.
    const benPopup = await ben.open('popup.html');
    const danPopup = await dan.open('popup.html');

    const page = await ava.context.newPage();
    await page.goto(QUOTE_EDIT_URL);
    const panel = page.getByTestId('al-panel');
    await panel.waitFor({ timeout: 15_000 });
    await expect.poll(() => row(page, 'object:Quote:edit').getAttribute('data-state')).toBe('missing');

    // Denied on an edit page (the focus is read): she ticks what she needs, edit, and asks for that.
    await row(page, 'object:Quote:edit').getByTestId('al-row-select').check();
    await page.getByTestId('al-request-button').click();
    const picked = page.locator('[data-testid="al-request-key"]:checked');
    await expect.poll(() => picked.evaluateAll((els) => els.map((e) => e.getAttribute('data-permission')))).toEqual(['object:Quote:edit']);
    // Before anything is sent: who will be asked, in order.
    const willNotify = page.getByTestId('al-will-notify');
    await willNotify.filter({ hasText: 'Dan Wu' }).waitFor({ timeout: 10_000 });
    const text = (await willNotify.textContent()) ?? '';
    expect(text).toContain('Ben Ortiz');
    expect(text.indexOf('Ben Ortiz')).toBeLessThan(text.indexOf('Dan Wu'));
    expect(text).toContain('Deal Desk');
    expect(await page.getByTestId('al-problem').count()).toBe(0);
    await expect(page.getByTestId('al-submit-request').isDisabled()).resolves.toBe(false);

    await page.getByTestId('al-justification').fill('Globex renewal quote needs a discount line before Friday.');
    // A bad evidence link is refused, visibly, before anything is sent.
    await page.getByTestId('al-evidence').fill('tickets/DD-2211');
    await page.getByTestId('al-submit-request').click();
    await page.locator('[data-testid="al-error"][data-field="evidence"]').waitFor();
    await page.getByTestId('al-evidence').fill('https://tickets.acme.test/DD-2211');
    await page.getByTestId('al-preview').scrollIntoViewIfNeeded();
    await screenshot(page, 'policy-form-two-stages', 'docs');
    await panel.screenshot({ path: join(artifactsDir, 'policy-form-two-stages-panel.png') });
    await page.getByTestId('al-submit-request').click();

    const status = page.getByTestId('al-request-status');
    await status.filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });
    await expect.poll(() => row(page, 'object:Quote:edit').getAttribute('data-state')).toBe('pending');

    // Stage 1: Ben, from his popup.
    const benItem = benPopup.getByTestId('al-queue-item').filter({ hasText: 'Ava Chen' });
    await benItem.waitFor({ timeout: 20_000 });
    await benItem.getByTestId('al-queue-open').click(); // the compact card opens to its details
    await benItem.getByTestId('al-queue-details').waitFor();
    const benText = (await benItem.textContent()) ?? '';
    expect(benText).toContain('Stage 1 of 2');
    expect(benText).toContain('https://tickets.acme.test/DD-2211');
    expect(await danPopup.getByTestId('al-queue-item').count()).toBe(0); // not Dan's turn yet
    await screenshot(benPopup, 'policy-popup-stage-1');
    await benItem.getByTestId('al-approve').click();
    await expect.poll(() => benPopup.getByTestId('al-queue-item').count(), { timeout: 10_000 }).toBe(0);

    // Ava: Ben approved, now waiting for Dan; the permission is still pending.
    await status.filter({ hasText: 'Dan Wu' }).waitFor({ timeout: 20_000 });
    const middle = (await status.textContent()) ?? '';
    expect(middle).toContain('Approved by Ben Ortiz');
    expect(middle).toContain('waiting for Dan Wu');
    expect(await status.getAttribute('data-status')).toBe('pending');
    expect(await row(page, 'object:Quote:edit').getAttribute('data-state')).toBe('pending');
    await screenshot(page, 'policy-overlay-stage-2');

    // Stage 2: Dan, from his popup, sees the history.
    const danItem = danPopup.getByTestId('al-queue-item').filter({ hasText: 'Ava Chen' });
    await danItem.waitFor({ timeout: 20_000 });
    await danItem.getByTestId('al-queue-open').click();
    await danItem.getByTestId('al-queue-details').waitFor();
    const danText = (await danItem.textContent()) ?? '';
    expect(danText).toContain('Stage 2 of 2');
    expect(danText).toContain('Deal Desk');
    expect(danText).toContain('Ben Ortiz approved');
    await screenshot(danPopup, 'policy-popup-stage-2', 'docs');
    await danItem.getByTestId('al-approve').click();
    await expect.poll(() => danPopup.getByTestId('al-queue-item').count(), { timeout: 10_000 }).toBe(0);

    await status.filter({ hasText: 'Granted until' }).waitFor({ timeout: 20_000 });
    await expect.poll(() => row(page, 'object:Quote:edit').getAttribute('data-state'), { timeout: 10_000 }).toBe('granted');
    await screenshot(page, 'policy-overlay-granted');

    // Her popup shows the stages one by one.
    const avaPopup = await ava.open('popup.html');
    const mine = avaPopup.getByTestId('al-my-request').filter({ hasText: 'Quote' });
    await mine.first().waitFor({ timeout: 10_000 });
    expect(await mine.first().getAttribute('data-status')).toBe('fulfilled');
    const progress = (await mine.first().getByTestId('al-stage-progress').textContent()) ?? '';
    expect(progress).toContain('Ben Ortiz');
    expect(progress).toContain('Dan Wu');
    await screenshot(avaPopup, 'policy-popup-my-requests');
    await avaPopup.close();

    const api = new ApiClient(server.url);
    await api.signIn(DEMO.ava.email, DEMO.ava.password);
    const request = ((await api.sync()).json.requests as any[]).find((r) => r.permissions.includes('object:Quote:edit'));
    expect(request.status).toBe('fulfilled');
    expect(request.fulfilment).toMatchObject({ state: 'active', bundles: [{ id: 'ps-quote-desk' }] });
    expect(request.evidence).toEqual(['https://tickets.acme.test/DD-2211']);
    expect(request.stages.map((s: any) => s.decision?.deciderId)).toEqual(['p-ben', 'p-dan']);

    await Promise.all([page.close(), benPopup.close(), danPopup.close()]);
  });

  it('Case read: approved automatically, capped at 7 days, granted without anyone acting', async () => {
    const page = await ava.context.newPage();
    await page.goto(CASE_URL);
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await expect.poll(() => row(page, 'object:Case:read').getAttribute('data-state')).toBe('missing');
    await page.getByTestId('al-request-button').click();

    const willNotify = page.getByTestId('al-will-notify');
    await willNotify.filter({ hasText: 'Approved automatically' }).waitFor({ timeout: 10_000 });
    expect(await willNotify.textContent()).toContain('7 days');
    await expect.poll(() => optionValues(page, 'al-duration')).toEqual(['1', '7']);
    await page.getByTestId('al-preview').scrollIntoViewIfNeeded();
    await screenshot(page, 'policy-form-auto-approved');
    await page.getByTestId('al-panel').screenshot({ path: join(artifactsDir, 'policy-form-auto-approved-panel.png') });

    await page.getByTestId('al-justification').fill('Customer escalation on case 00001026; I am the account owner.');
    await page.getByTestId('al-submit-request').click();

    await expect.poll(() => row(page, 'object:Case:read').getAttribute('data-state'), { timeout: 20_000 }).toBe('granted');
    const status = page.getByTestId('al-request-status');
    await status.filter({ hasText: 'Approved automatically until' }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'policy-overlay-auto-approved');

    const api = new ApiClient(server.url);
    await api.signIn(DEMO.ava.email, DEMO.ava.password);
    const slice = (await api.sync()).json;
    const caseRequest = slice.requests.find((r: any) => r.permissions.includes('object:Case:read'));
    expect(caseRequest).toMatchObject({ status: 'fulfilled', stages: [] });
    const grant = slice.assignments.find((a: any) => a.requestId === caseRequest.id);
    expect(grant).toMatchObject({ source: 'request', target: { type: 'bundle', bundleId: 'ps-case-viewer' } });
    expect((Date.parse(grant.expiresAt) - Date.parse(grant.grantedAt)) / 86_400_000).toBeLessThanOrEqual(7);
    await page.close();
  });
});
