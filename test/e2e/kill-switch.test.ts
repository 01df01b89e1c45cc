/**
 * When a CRM changes its pages and an installed version reads them wrongly, an admin pauses that adapter
 * (or one page kind of it) from the server, without a release: people see "paused until version X",
 * never a silent nothing; the switch lapses by itself for versions at or above X, and can be lifted.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

const RECORD = 'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/view';
const LIST = 'https://acme.lightning.force.com/lightning/o/Account/list?filterName=Recent';

let server: RunningServer;
let crm: CrmFixture;
let ava: ExtensionBrowser;
let cara: ApiClient;

beforeAll(async () => {
  [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
  ava = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
  cara = new ApiClient(server.url);
  await cara.signIn(DEMO.cara.email, DEMO.cara.password);
  await (await signIn(ava, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name)).close();
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava });
});
afterAll(async () => {
  await ava?.close();
  await Promise.allSettled([server?.dispose(), crm?.close()]);
});

/** What the background would do on its next alarm, now. */
async function syncNow() {
  const popup = await ava.open('popup.html');
  await popup.evaluate(() => (globalThis as any).chrome.runtime.sendMessage({ type: 'sync.now' }));
  await popup.close();
}

const badgeText = (page: Page) => page.getByTestId('al-badge').textContent();

describe('kill switch', () => {
  it('pauses Salesforce record pages for this version, says until which version, and is lifted', async () => {
    const created = await cara.call('POST', '/api/admin/kill-switches', {
      crm: 'salesforce',
      pageKind: 'record',
      fixedIn: '99.0.0',
      reason: 'Salesforce changed its record pages',
    });
    expect(created.status).toBe(201);
    await syncNow();

    const page = await ava.context.newPage();
    await page.goto(RECORD);
    await expect.poll(() => badgeText(page), { timeout: 15_000 }).toBe('AccessLens: paused');
    await page.getByTestId('al-badge').click();
    const paused = page.getByTestId('al-paused');
    await expect(paused.textContent()).resolves.toBe('AccessLens is paused on this CRM until version 99.0.0: Salesforce changed its record pages');
    expect(await page.getByTestId('al-permission-row').count()).toBe(0);
    await screenshot(page, 'overlay-paused');

    // Other page kinds of the adapter still work.
    await page.goto(LIST);
    await expect.poll(() => badgeText(page), { timeout: 15_000 }).toContain('Account');

    expect((await cara.call('DELETE', `/api/admin/kill-switches/${created.json.id}`)).status).toBe(204);
    await syncNow();
    await page.goto(RECORD);
    await expect.poll(() => badgeText(page), { timeout: 15_000 }).toContain('Account');
    await page.close();
  });

  it('lapses by itself once the fixed version is installed', async () => {
    const installed = await ava.worker.evaluate(() => (globalThis as any).chrome.runtime.getManifest().version as string);
    const created = await cara.call('POST', '/api/admin/kill-switches', { crm: 'salesforce', pageKind: null, fixedIn: installed, reason: 'fixed already' });
    expect(created.status).toBe(201);
    await syncNow();
    const page = await ava.context.newPage();
    await page.goto(RECORD);
    await expect.poll(() => badgeText(page), { timeout: 15_000 }).toContain('Account');
    await page.close();
  });
});
