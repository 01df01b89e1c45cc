/**
 * The same story on every CRM AccessLens names, in Chromium with the built extension, each CRM's pages
 * served under its real hostnames: Ava is refused a record → the overlay opens by itself and she
 * requests access inline → Ben approves in his popup → the connection is read-only, so Cara (an
 * administrator) assigns it in the CRM and marks her task done → Ava's overlay shows it granted, and
 * once she reloads, that the CRM lets her in. Zoho CRM (China) and Fxiaoke in a Chinese browser.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture, type FixtureCrm } from '../support/crm-fixture.ts';
import { captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

interface Case {
  crm: FixtureCrm;
  connectionId: string;
  locale: 'en-US' | 'zh-CN';
  /** A record the fixture refuses Ava, and the page object it is about. */
  url: string;
  pageObject: string;
  /** The permission the request is for (the catalog's name of the object). */
  key: string;
  /** What the overlay says, in the browser's language. */
  says: { title: string; pending: string; adminTask: string; granted: string; works: string };
}

const EN = {
  pending: 'Pending — waiting for Ben Ortiz',
  adminTask: 'an administrator is applying it in the CRM',
  granted: 'Granted until',
  works: 'Access works now',
};
const ZH = { pending: '审批中 — 等待 Ben Ortiz', adminTask: '管理员正在 CRM 中开通', granted: '已授予，有效期至', works: '现在可以访问' };

const CASES: Case[] = [
  {
    crm: 'dynamics',
    connectionId: 'dyn-acme',
    locale: 'en-US',
    url: 'https://acme.crm4.dynamics.com/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entityrecord&etn=opportunity&id=9c3e1d2a-6b5f-ef11-a671-6045bd8c1d2e',
    pageObject: 'opportunity',
    key: 'object:opportunity:read',
    says: { title: 'Your access to Opportunities', ...EN },
  },
  {
    crm: 'hubspot',
    connectionId: 'hs-acme',
    locale: 'en-US',
    url: 'https://app.hubspot.com/contacts/4242424/record/0-3/18273645501',
    pageObject: 'deal',
    key: 'object:deal:read',
    says: { title: 'Your access to Deals', ...EN },
  },
  {
    crm: 'zoho',
    connectionId: 'zoho-acme',
    locale: 'zh-CN',
    url: 'https://crm.zoho.com.cn/crm/org7700001/tab/Potentials/770000100000245007',
    pageObject: 'Potentials',
    // Zoho's URL says Potentials; the module's API name (the catalog's key) is Deals, shown by its label.
    key: 'object:Deals:read',
    says: { title: '您对 商机 的权限', ...ZH },
  },
  {
    crm: 'fxiaoke',
    connectionId: 'fx-acme',
    locale: 'zh-CN',
    url: 'https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/SalesOrderObj/65a1f0c2e4b0a1b2c3d4e6a0',
    pageObject: 'SalesOrderObj',
    key: 'object:SalesOrderObj:read',
    says: { title: '您对 销售订单 的权限', ...ZH },
  },
];

let server: RunningServer;
let crm: CrmFixture;
let avaEn: ExtensionBrowser;
let avaZh: ExtensionBrowser;
let ben: ExtensionBrowser;
let cara: ApiClient;

beforeAll(async () => {
  [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
  [avaEn, avaZh, ben] = await Promise.all([
    launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts }),
    launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts, locale: 'zh-CN' }),
    launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts }),
  ]);
  await Promise.all([
    signIn(avaEn, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name).then((p) => p.close()),
    signIn(ben, server.url, DEMO.ben.email, DEMO.ben.password, DEMO.ben.name).then((p) => p.close()),
  ]);
  // The Chinese browser's settings page is in Chinese: sign in by test ids, then check the name.
  const options = await avaZh.open('options.html');
  await options.getByTestId('al-server-url').fill(server.url);
  await options.getByTestId('al-email').fill(DEMO.ava.email);
  await options.getByTestId('al-password').fill(DEMO.ava.password);
  await options.getByTestId('al-sign-in').click();
  await options.getByTestId('al-signed-in-as').filter({ hasText: DEMO.ava.name }).waitFor({ timeout: 30_000 });
  await options.close();
  cara = new ApiClient(server.url);
  await cara.signIn(DEMO.cara.email, DEMO.cara.password);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { avaEn, avaZh, ben });
});

afterAll(async () => {
  await Promise.allSettled([avaEn?.close(), avaZh?.close(), ben?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close()]);
});

const row = (page: Page, key: string) => page.locator(`[data-testid="al-permission-row"][data-permission="${key}"]`);

describe.each(CASES.map((c) => [c.crm, c] as const))('%s: blocked on a record → request → approved → granted', (_name, c) => {
  it(`Ava requests ${c.key} inline; Ben approves; Cara assigns it in the CRM; the page lets Ava in`, async () => {
    const ava = c.locale === 'zh-CN' ? avaZh : avaEn;
    const page = await ava.context.newPage();
    await page.goto(c.url);

    // The CRM refuses her: the panel opens by itself, on the catalog's name of the object.
    const panel = page.getByTestId('al-panel');
    await panel.waitFor({ timeout: 15_000 });
    await expect(panel.getAttribute('aria-label')).resolves.toBe(c.says.title);
    await expect.poll(() => row(page, c.key).getAttribute('data-state')).toBe('missing');

    await page.getByTestId('al-request-button').click();
    await page.getByTestId('al-justification').fill(`Q4 review of ${c.pageObject} records for the Globex renewal.`);
    await page.getByTestId('al-submit-request').click();
    const status = page.getByTestId('al-request-status');
    await status.filter({ hasText: c.says.pending }).waitFor({ timeout: 15_000 });
    await screenshot(page, `crm-${c.crm}-pending`);

    // Ben approves from his popup.
    const popup = await ben.open('popup.html');
    // (Earlier cases' requests were decided: hers is the one item.)
    const item = popup.getByTestId('al-queue-item').filter({ hasText: 'Ava Chen' });
    await item.first().waitFor({ timeout: 20_000 });
    await item.first().getByTestId('al-approve').click();
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(0);
    await popup.close();

    // Read-only connection: an administrator applies it in the CRM; Ava sees that.
    await status.filter({ hasText: c.says.adminTask }).waitFor({ timeout: 20_000 });
    await expect.poll(() => row(page, c.key).getAttribute('data-state')).toBe('approved');

    const asAva = new ApiClient(server.url);
    await asAva.signIn(DEMO.ava.email, DEMO.ava.password);
    const requestId = ((await asAva.sync()).json.requests as { id: string; permissions: string[] }[]).find((r) => r.permissions.includes(c.key))!.id;
    const tasks = (await cara.call('GET', `/api/admin/tasks?status=open&connectionId=${c.connectionId}`)).json.tasks as { id: string; requestId: string }[];
    const task = tasks.find((t) => t.requestId === requestId);
    expect(task, 'an admin task for the approved request').toBeDefined();
    crm.allow(c.crm, c.pageObject); // Cara gives Ava the role in the CRM …
    expect((await cara.call('POST', `/api/admin/tasks/${task!.id}/done`, { note: 'Assigned in the CRM' })).status).toBe(200); // … and says so.

    await status.filter({ hasText: c.says.granted }).waitFor({ timeout: 20_000 });
    await expect.poll(() => row(page, c.key).getAttribute('data-state')).toBe('granted');

    // Reloaded, the CRM shows her the record, and the overlay says the access works.
    await page.reload();
    await expect.poll(() => page.getByTestId('al-access-check').getAttribute('data-result'), { timeout: 15_000 }).toBe('works');
    await expect(page.getByTestId('al-access-check').textContent()).resolves.toContain(c.says.works);
    await page.getByTestId('al-badge').click();
    await screenshot(page, `crm-${c.crm}-works`);
    await page.close();
  });
});
