/**
 * A request made while the server is down waits in the extension's persisted outbox and is delivered
 * exactly once when the server comes back — also when the server applied it but its answer was lost,
 * so the extension sends it again. Also: the overlay speaks Chinese to a zh-CN browser.
 *
 * No fixed waits: the test presses the popup's "Sync now" (a forced push) to make each retry happen
 * when it wants, and waits on what the outbox and a proxy in front of the server report.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { connectDemoSalesforce } from '../support/fake-crm.ts';
import { startLossyProxy, type LossyProxy } from '../support/lossy-proxy.ts';
import type { FakeSalesforce } from '../fakes/salesforce.ts';
import { captureFailure, launchWithExtension, screenshot, signIn, storedValue, type ExtensionBrowser } from '../support/browser.ts';

const ORDER_URL = 'https://acme.lightning.force.com/lightning/r/Order/801xx000000AbCdAAK/view';

let server: RunningServer;
let proxy: LossyProxy;
let crm: CrmFixture;
let salesforce: FakeSalesforce;
let ava: ExtensionBrowser;

beforeAll(async () => {
  [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
  salesforce = await connectDemoSalesforce(server.url);
  // The extension talks to the server through a proxy that can lose an answer on the way back.
  proxy = await startLossyProxy(server.url);
  ava = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts, locale: 'zh-CN' });
  await (await signIn(ava, proxy.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name)).close();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava });
});

afterAll(async () => {
  await Promise.allSettled([ava?.close()]);
  await Promise.allSettled([server?.dispose(), proxy?.close(), crm?.close(), salesforce?.close()]);
});

interface OutboxEntry {
  mutation: { id: string; name: string };
  delivered?: boolean;
}

/** The popup's "Sync now": pushes the outbox whatever its back-off says, then pulls; resolves when done. */
const syncNow = (popup: Page) => popup.evaluate(() => (globalThis as any).chrome.runtime.sendMessage({ type: 'sync.now' }));
const outbox = async () => ((await storedValue<OutboxEntry[]>(ava, 'outbox')) ?? []).filter((e) => !e.delivered);
const retryAttempts = async () => (await storedValue<{ attempts: number } | null>(ava, 'outboxRetry'))?.attempts ?? 0;

describe('offline request delivery', () => {
  it('queues a request while the server is stopped and delivers it once after restart, even when an answer is lost', async () => {
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
    const orderRow = page.locator('[data-testid="al-permission-row"][data-permission="object:Order:read"]');
    await expect.poll(() => orderRow.getAttribute('data-state')).toBe('pending');

    // The outbox holds the request, and fails and backs off at least twice while the server is down.
    const popup = await ava.open('popup.html');
    await expect.poll(async () => (await outbox()).filter((e) => e.mutation.name === 'request.create').length, { timeout: 15_000 }).toBe(1);
    const [queued] = (await outbox()).filter((e) => e.mutation.name === 'request.create');
    const id = queued!.mutation.id;
    await expect
      .poll(
        async () => {
          await syncNow(popup);
          return retryAttempts();
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBeGreaterThanOrEqual(2);
    // Each try reached the proxy (as a CORS preflight or the POST itself) and found no server.
    expect(proxy.mutationCalls.length).toBeGreaterThanOrEqual(2);
    expect(proxy.mutationCalls.every((c) => c.status === null)).toBe(true);
    expect(await outbox()).toHaveLength(1);
    const tries = () => proxy.deliveries.filter((d) => d.ids.includes(id));

    // The server comes back; the first delivery is applied there but its answer never reaches the extension.
    proxy.loseNextMutationAnswer();
    await server.restart();
    await expect
      .poll(
        async () => {
          await syncNow(popup);
          return tries().some((d) => d.lost);
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(true);
    const ben = new ApiClient(server.url);
    await ben.signIn(DEMO.ben.email, DEMO.ben.password);
    const orderRequests = async () => ((await ben.sync()).json.requests as any[]).filter((r) => r.permissions.includes('object:Order:read'));
    expect(await orderRequests()).toHaveLength(1);
    // The extension never saw that answer, so the same mutation goes again (from its outbox, or from the
    // browser's own retry of a request whose connection dropped) until an answer arrives.
    await expect
      .poll(
        async () => {
          await syncNow(popup);
          return (await outbox()).some((e) => e.mutation.id === id);
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(false);
    const reachedServer = tries().filter((d) => d.status === 200);
    expect(reachedServer.length).toBeGreaterThanOrEqual(2);
    expect(reachedServer.at(-1)).toMatchObject({ lost: false });

    // Delivered twice, applied once.
    const delivered = await orderRequests();
    expect(delivered).toHaveLength(1);
    expect(delivered[0].status).toBe('pending');
    expect(delivered[0].page).toEqual({
      url: ORDER_URL,
      object: 'Order',
      recordId: '801xx000000AbCdAAK',
      denialText: 'Insufficient Privileges',
    });
    await expect.poll(() => orderRow.getAttribute('data-state')).toBe('pending');
    await popup.close();
    await page.close();
  });
});
