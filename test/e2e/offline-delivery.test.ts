/**
 * A request made while the server is down waits in the extension's persisted outbox and is delivered
 * exactly once when the server comes back. Also: the overlay speaks Chinese to a zh-CN browser.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { connectDemoSalesforce } from '../support/fake-crm.ts';
import type { FakeSalesforce } from '../fakes/salesforce.ts';
import { captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

const ORDER_URL = 'https://acme.lightning.force.com/lightning/r/Order/801xx000000AbCdAAK/view';

let server: RunningServer;
let crm: CrmFixture;
let salesforce: FakeSalesforce;
let ava: ExtensionBrowser;

beforeAll(async () => {
  [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
  salesforce = await connectDemoSalesforce(server.url);
  ava = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts, locale: 'zh-CN' });
  await (await signIn(ava, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name)).close();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava });
});

afterAll(async () => {
  await Promise.allSettled([ava?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close(), salesforce?.close()]);
});

describe('offline request delivery', () => {
  it('queues a request while the server is stopped and delivers it once after restart', async () => {
    await server.stop();

    const page = await ava.context.newPage();
    await page.goto(ORDER_URL);
    const panel = page.getByTestId('al-panel');
    await panel.waitFor({ timeout: 15_000 }); // decided from the local slice: no server needed
    expect(await panel.textContent()).toMatch(/[\u4e00-\u9fff]/); // zh-CN strings
    await screenshot(page, 'overlay-zh-CN', 'docs');
    await page.getByTestId('al-request-button').click();
    await page.getByTestId('al-justification').fill('Order fulfilment check for Initech, ticket OPS-1142.');
    await page.getByTestId('al-submit-request').click();
    await expect
      .poll(() => page.locator('[data-testid="al-permission-row"][data-permission="object:Order:read"]').getAttribute('data-state'))
      .toBe('pending');

    // Let the outbox fail and back off a few times before the server returns.
    await new Promise((r) => setTimeout(r, 4_000));
    await server.restart();

    const ben = new ApiClient(server.url);
    await ben.signIn(DEMO.ben.email, DEMO.ben.password);
    const orderRequests = async () =>
      ((await ben.sync()).json.requests as any[]).filter((r) => r.permissions.includes('object:Order:read'));
    await expect.poll(async () => (await orderRequests()).length, { timeout: 60_000, interval: 1_000 }).toBe(1);
    const [delivered] = await orderRequests();
    expect(delivered.status).toBe('pending');
    expect(delivered.page).toEqual({
      url: ORDER_URL,
      object: 'Order',
      recordId: '801xx000000AbCdAAK',
      denialText: 'Insufficient Privileges',
    });

    // Further syncs and retries never duplicate it.
    await page.reload();
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await orderRequests()).length).toBe(1);
    await page.close();
  });
});
