/**
 * An in-house CRM, through page rules an administrator adds: Acme Desk (the demo's in-house CRM,
 * served by the server on its own port) gets a new host; Cara adds it to the connection and writes
 * the page rules for it over the admin API; Ava's extension learns them by sync and, the host being
 * allowed, registers its in-house content script there. Then the whole story: Desk refuses an invoice,
 * the overlay explains and Ava requests it, Ben approves, Cara's task is done, Desk lets Ava in.
 *
 * (The end-to-end build is given http://localhost/* up front — see wxt.config.ts — because a test cannot
 * answer the browser's own permission prompt; the settings page shows the host as allowed.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

let server: RunningServer;
let ava: ExtensionBrowser;
let ben: ExtensionBrowser;
let cara: ApiClient;
let desk: string;
let host: string;

beforeAll(async () => {
  server = await startServer();
  host = `localhost:${server.deskPort}`;
  desk = `http://${host}`;
  [ava, ben] = await Promise.all([launchWithExtension({ crmPort: 1, crmHosts: [] }), launchWithExtension({ crmPort: 1, crmHosts: [] })]);
  await Promise.all([
    signIn(ava, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name).then((p) => p.close()),
    signIn(ben, server.url, DEMO.ben.email, DEMO.ben.password, DEMO.ben.name).then((p) => p.close()),
  ]);
  cara = new ApiClient(server.url);
  await cara.signIn(DEMO.cara.email, DEMO.cara.password);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava, ben });
});

afterAll(async () => {
  await Promise.allSettled([ava?.close(), ben?.close()]);
  await server?.dispose();
});

const row = (page: Page, key: string) => page.locator(`[data-testid="al-permission-row"][data-permission="${key}"]`);

async function syncNow(browser: ExtensionBrowser) {
  const popup = await browser.open('popup.html');
  await popup.evaluate(() => (globalThis as any).chrome.runtime.sendMessage({ type: 'sync.now' }));
  await popup.close();
}

describe('an in-house CRM read through page rules', () => {
  it('the admin adds the host and its rules; the overlay works there; request → approve → task done → Desk lets Ava in', async () => {
    // Before the rules: Desk's pages are nothing to AccessLens.
    await ava.context.newPage().then(async (page) => {
      await page.goto(`${desk}/login?as=ava`);
      await page.goto(`${desk}/records/Invoice/INV-3001`);
      await page.getByText('You are not allowed to open this record').waitFor();
      expect(await page.locator('accesslens-overlay').count()).toBe(0);
      await page.close();
    });

    // Cara: the new host on the in-house connection, and how its pages read.
    const patched = await cara.call('PATCH', '/api/admin/connections/desk-acme', { hosts: ['localhost:8788', host] });
    expect(patched.status).toBe(200);
    const rule = (over: Record<string, unknown>) => ({
      connectionId: 'desk-acme',
      host,
      protocol: 'http',
      object: { group: 'object' },
      recordId: { group: 'recordId' },
      denialPhrases: ['You are not allowed to open this record'],
      ...over,
    });
    for (const r of [
      rule({ path: '/records/:object/new', pageKind: 'new', recordId: null, priority: 10 }),
      rule({ path: '/records/:object/:recordId', pageKind: 'record', priority: 20 }),
      rule({ path: '/records/:object', pageKind: 'list', recordId: null, priority: 30 }),
    ])
      expect((await cara.call('POST', '/api/admin/page-rules', r)).status).toBe(201);
    await syncNow(ava);

    // Ava's settings list the in-house host as allowed on this browser.
    const options = await ava.open('options.html');
    const listed = options.locator(`[data-testid="al-in-house-host"][data-host="${host}"]`);
    await expect.poll(() => listed.getAttribute('data-allowed'), { timeout: 15_000 }).toBe('true');
    await options.close();

    // Desk refuses the invoice; the overlay opens by itself, by the rules.
    const page = await ava.context.newPage();
    await page.goto(`${desk}/records/Invoice/INV-3001`);
    const panel = page.getByTestId('al-panel');
    await panel.waitFor({ timeout: 15_000 });
    await expect(panel.textContent()).resolves.toContain('You are not allowed to open this record');
    await expect.poll(() => row(page, 'object:Invoice:read').getAttribute('data-state')).toBe('missing');
    await expect.poll(() => row(page, 'object:Invoice:read').textContent()).toContain('Desk Finance');

    await page.getByTestId('al-request-button').click();
    await expect(panel.textContent()).resolves.toContain('INV-3001');
    await page.getByTestId('al-justification').fill('I chase the overdue Globex invoice this week.');
    await page.getByTestId('al-submit-request').click();
    const status = page.getByTestId('al-request-status');
    await status.filter({ hasText: 'Pending — waiting for Ben Ortiz' }).waitFor({ timeout: 15_000 });
    await screenshot(page, 'in-house-pending', 'docs');

    const popup = await ben.open('popup.html');
    const item = popup.getByTestId('al-queue-item').filter({ hasText: 'Ava Chen' });
    await item.waitFor({ timeout: 20_000 });
    await item.getByTestId('al-approve').click();
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(0);
    await popup.close();

    await status.filter({ hasText: 'an administrator is applying it in the CRM' }).waitFor({ timeout: 20_000 });
    const tasks = (await cara.call('GET', '/api/admin/tasks?status=open&connectionId=desk-acme')).json.tasks as { id: string }[];
    expect(tasks).toHaveLength(1);
    expect((await cara.call('POST', `/api/admin/tasks/${tasks[0]!.id}/done`, {})).status).toBe(200);

    await status.filter({ hasText: 'Granted until' }).waitFor({ timeout: 20_000 });
    await page.reload();
    await page.getByText('Invoice INV-3001').first().waitFor();
    await expect.poll(() => page.getByTestId('al-access-check').getAttribute('data-result'), { timeout: 15_000 }).toBe('works');
    await page.close();
  });
});
