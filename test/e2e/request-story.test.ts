/**
 * The walking skeleton's story, end to end, in Chromium with the built extension: Ava is blocked on a
 * Salesforce Contract page, requests access inline, Ben approves (or denies) from his popup, and Ava's
 * overlay shows the outcome. Two browser profiles, the real server on a random port, a real database file.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { connectDemoSalesforce } from '../support/fake-crm.ts';
import type { FakeSalesforce } from '../fakes/salesforce.ts';
import { demoBundleExternalId, salesforceUserId } from '@accesslens/server/seed/demo';
import { alarmOf, badgeText, captureFailure, fireAlarm, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';
const QUOTE_URL = 'https://acme.lightning.force.com/lightning/r/Quote/0Q0xx0000004CmnCAE/view';
const ACCOUNT_URL = 'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/view';
/** The background's periodic sync (extension/entrypoints/background/index.ts). */
const SYNC_ALARM = 'accesslens-sync';

const row = (page: Page, key: string) => page.locator(`[data-testid="al-permission-row"][data-permission="${key}"]`);

let server: RunningServer;
let crm: CrmFixture;
let salesforce: FakeSalesforce;
let ava: ExtensionBrowser;
let ben: ExtensionBrowser;

beforeAll(async () => {
  server = await startServer();
  // The demo org's connection points at a fake Salesforce API, set up as an administrator would: an
  // approval really reaches "Salesforce", and the request is granted once Salesforce holds it.
  salesforce = await connectDemoSalesforce(server.url);
  // Salesforce's pages refuse Ava an object until its API says she holds it (as the real org would).
  crm = await startCrmFixture({
    access: (kind, object) => (kind === 'salesforce' ? salesforce.userCan(salesforceUserId(3), object, 'read') : undefined),
  });
  [ava, ben] = await Promise.all([
    launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts }),
    launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts }),
  ]);
  await Promise.all([
    signIn(ava, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name).then((p) => p.close()),
    signIn(ben, server.url, DEMO.ben.email, DEMO.ben.password, DEMO.ben.name).then((p) => screenshot(p, 'options-signed-in', 'docs').then(() => p.close())),
  ]);
  // Ben's minute-by-minute sync is held back (same period, first run an hour away): the test fires it.
  await ben.worker.evaluate((name) => (globalThis as any).chrome.alarms.create(name, { periodInMinutes: 1, delayInMinutes: 60 }), SYNC_ALARM);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava, ben });
});

afterAll(async () => {
  await Promise.allSettled([ava?.close(), ben?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close(), salesforce?.close()]);
});

describe('blocked on a Salesforce page → request inline → approver popup → outcome on the page', () => {
  it('Ava requests Contract read from the denied page, Ben approves for fewer days, Ava sees it granted', async () => {
    const page = await ava.context.newPage();
    await page.goto(CONTRACT_URL);

    // The overlay opens by itself on the denial and names what is missing and why.
    const panel = page.getByTestId('al-panel');
    await panel.waitFor({ timeout: 15_000 });
    await expect.poll(() => row(page, 'object:Contract:read').getAttribute('data-state')).toBe('missing');
    await expect(panel.textContent()).resolves.toContain('Contract');
    await expect(panel.textContent()).resolves.toContain('Contract Manager'); // the bundle that would grant it
    await expect(page.locator('accesslens-overlay').evaluate((el) => el.shadowRoot?.mode)).resolves.toBe('open');

    // The request form is pre-filled from the page; a justification is required.
    await page.getByTestId('al-request-button').click();
    const form = await panel.textContent();
    expect(form).toContain('800xx000001AbCdAAK');
    expect(form).toContain('Insufficient Privileges');
    expect(form).toContain('Ben Ortiz'); // who will be asked, before submitting
    await page.getByTestId('al-submit-request').click();
    await page.getByTestId('al-error').first().waitFor();
    const durations = await page
      .getByTestId('al-duration')
      .locator('option')
      .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(durations).toEqual(['1', '7', '30', '90']);
    await page.getByTestId('al-justification').fill('Renewal of the Globex contract is due Friday; I own the account.');
    await page.getByTestId('al-duration').selectOption('30');
    await page.getByTestId('al-submit-request').click();

    const status = page.getByTestId('al-request-status');
    await status.filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });
    await expect.poll(() => row(page, 'object:Contract:read').getAttribute('data-state')).toBe('pending');
    await screenshot(page, 'overlay-request-pending', 'docs');

    // Ben: the badge counts his pending decisions within a minute (the background's sync alarm), no popup
    // open. The alarm is set for every minute; the test plays that minute passing instead of waiting it out.
    expect(await alarmOf(ben, SYNC_ALARM)).toMatchObject({ periodInMinutes: 1 });
    expect(await badgeText(ben)).toBe(''); // nothing has told Ben yet: his alarm was held back (beforeAll)
    await fireAlarm(ben, SYNC_ALARM);
    await expect.poll(() => badgeText(ben), { timeout: 5_000 }).toBe('1');

    const popup = await ben.open('popup.html');
    const item = popup.getByTestId('al-queue-item').filter({ hasText: 'Ava Chen' });
    await item.waitFor({ timeout: 10_000 });
    await item.getByTestId('al-queue-open').click(); // the card opens on the page, the reason and a shorter duration
    await item.getByTestId('al-queue-details').waitFor();
    const text = await item.textContent();
    expect(text).toContain('Contract');
    expect(text).toContain('Renewal of the Globex contract');
    expect(text).toContain('800xx000001AbCdAAK');
    await screenshot(popup, 'popup-approver-queue', 'docs');
    await item.getByTestId('al-approve-duration').selectOption('7');
    await item.getByTestId('al-approve').click();
    await expect.poll(() => popup.getByTestId('al-queue-item').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => badgeText(ben), { timeout: 10_000 }).toBe('');

    // Ava's open overlay shows the outcome promptly, with the shortened grant's end date.
    await status.filter({ hasText: 'Granted until' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => row(page, 'object:Contract:read').getAttribute('data-state')).toBe('granted');
    await screenshot(page, 'overlay-granted', 'docs');

    const api = new ApiClient(server.url);
    await api.signIn(DEMO.ava.email, DEMO.ava.password);
    const slice = (await api.sync()).json;
    const request = slice.requests.find((r: any) => r.permissions.includes('object:Contract:read'));
    expect(request).toMatchObject({ status: 'fulfilled', fulfilment: { state: 'active', mode: 'automatic' } });
    const grant = slice.assignments.find((a: any) => a.requestId === request.id);
    expect(grant).toMatchObject({ source: 'request', target: { type: 'bundle', bundleId: 'ps-contract-manager' } });
    const days = (Date.parse(grant.expiresAt) - Date.parse(grant.grantedAt)) / 86_400_000;
    expect(days).toBe(7);
    // Salesforce holds the assignment: the Contract Manager permission set, for Ava's user.
    expect(salesforce.assignmentsOf(salesforceUserId(3)).map((a) => a.PermissionSetId)).toContain(demoBundleExternalId('ps-contract-manager'));

    // Reloaded, the page now lets her in, and the overlay says so (it watched for Salesforce's refusal).
    await status.getByRole('button', { name: 'Reload the page' }).click();
    await expect.poll(() => page.getByTestId('al-access-check').getAttribute('data-result'), { timeout: 15_000 }).toBe('works');
    await expect(page.getByTestId('al-access-check').textContent()).resolves.toContain('Access works now');

    // "My requests" in her popup says the same.
    const avaPopup = await ava.open('popup.html');
    const mine = avaPopup.getByTestId('al-my-request').filter({ hasText: 'Contract' });
    await mine.first().waitFor({ timeout: 10_000 });
    await expect(mine.first().getAttribute('data-status')).resolves.toBe('fulfilled');
    expect(await avaPopup.getByTestId('al-queue-item').count()).toBe(0); // never her own request to decide
    await avaPopup.close();
    await page.close();
    await popup.close();
  });

  it('deny path: Ben must give a reason, and Ava sees it on the page', async () => {
    const popup = await ben.open('popup.html'); // open first: an open popup updates live
    const page = await ava.context.newPage();
    await page.goto(QUOTE_URL);
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await page.getByTestId('al-request-button').click();
    await page.getByTestId('al-justification').fill('Need to check the quote lines for Initech.');
    await page.getByTestId('al-submit-request').click();
    await page.getByTestId('al-request-status').filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });

    const item = popup.getByTestId('al-queue-item').filter({ hasText: 'Quote' });
    await item.waitFor({ timeout: 15_000 });
    await item.getByTestId('al-queue-open').click();
    await item.getByTestId('al-deny').click();
    await popup.getByTestId('al-error').first().waitFor(); // a reason is required
    expect(await popup.getByTestId('al-queue-item').count()).toBe(1);
    await item.getByTestId('al-deny-reason').fill('Quotes are handled by the Quote Desk; ask them to share it.');
    await item.getByTestId('al-deny').click();
    await expect.poll(() => popup.getByTestId('al-queue-item').count(), { timeout: 10_000 }).toBe(0);

    const status = page.getByTestId('al-request-status');
    await status.filter({ hasText: 'Denied' }).waitFor({ timeout: 15_000 });
    await expect(status.textContent()).resolves.toContain('Quotes are handled by the Quote Desk');
    await expect(status.textContent()).resolves.toContain('Ben Ortiz');
    await expect.poll(() => row(page, 'object:Quote:read').getAttribute('data-state')).toBe('missing');
    await screenshot(page, 'overlay-denied', 'docs');
    await page.close();
    await popup.close();
  });

  it('follows single-page navigation and never sends record contents to the server', async () => {
    const page = await ava.context.newPage();
    const openedAt = Date.now();
    await page.goto(ACCOUNT_URL);
    const badge = page.getByTestId('al-badge');
    await badge.waitFor({ timeout: 15_000 });
    await expect.poll(() => row(page, 'object:Account:read').getAttribute('data-state')).toBe('allowed');
    // The badge was timed from DOMContentLoaded.
    const ms = await page.locator('accesslens-overlay').getAttribute('data-dcl-to-badge-ms');
    expect(ms, 'the overlay records data-dcl-to-badge-ms').toMatch(/^\d+(\.\d+)?$/);
    expect(Number(ms)).toBeLessThanOrEqual(Date.now() - openedAt); // measured within this page's life

    // Salesforce now lets her see the contract (granted above): the overlay follows to the contract's page.
    await page.getByRole('link', { name: 'Contract 00000142' }).click();
    await expect.poll(() => page.getByTestId('al-panel').getAttribute('aria-label'), { timeout: 15_000 }).toBe('Your access to Contracts');
    await expect.poll(() => row(page, 'object:Contract:read').getAttribute('data-state'), { timeout: 10_000 }).toBe('granted');
    await page.close();

    const api = new ApiClient(server.url);
    await api.signIn(DEMO.ben.email, DEMO.ben.password);
    const everything = JSON.stringify((await api.sync()).json);
    expect(everything).not.toContain('SECRET-REVENUE');
    expect(everything).not.toContain('Globex Corporation');
  });
});
