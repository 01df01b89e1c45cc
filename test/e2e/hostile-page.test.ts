/// <reference lib="dom" />
/**
 * A CRM page's own scripts must not be able to read the panel or file a request as the user. In the
 * production build the overlay lives in a closed shadow root; in every build only trusted input (the
 * person's own click or key) files a request — a page script's click() or requestSubmit() does nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { captureFailure, launchWithExtension, productionExtensionPath, signIn, type ExtensionBrowser } from '../support/browser.ts';

const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';

let server: RunningServer;
let crm: CrmFixture;
let e2eBuild: ExtensionBrowser;
let production: ExtensionBrowser;

beforeAll(async () => {
  [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
  [e2eBuild, production] = await Promise.all([
    launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts }),
    launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts, extension: productionExtensionPath }),
  ]);
  await Promise.all([e2eBuild, production].map((b) => signIn(b, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name).then((p) => p.close())));
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { e2eBuild, production });
});

afterAll(async () => {
  await Promise.allSettled([e2eBuild?.close(), production?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close()]);
});

async function avaRequests() {
  const api = new ApiClient(server.url);
  await api.signIn(DEMO.ava.email, DEMO.ava.password);
  return ((await api.sync()).json.requests as { permissions: string[]; justification: string }[]).filter((r) => r.permissions.includes('object:Contract:read'));
}

describe('a hostile CRM page', () => {
  it('cannot see into the production overlay: its shadow root is closed', async () => {
    const page = await production.context.newPage();
    await page.goto(CONTRACT_URL);
    const host = page.locator('accesslens-overlay');
    // The overlay is there and working (it timed its badge) …
    await expect.poll(() => host.getAttribute('data-dcl-to-badge-ms'), { timeout: 15_000 }).not.toBeNull();
    // … but the page can reach nothing inside it.
    expect(await host.evaluate((el) => el.shadowRoot)).toBeNull();
    expect(await page.evaluate(() => document.querySelectorAll('[data-testid]').length)).toBe(0);
    await page.close();
  });

  it("cannot file a request with a script's click() or requestSubmit(); the person's own click does", async () => {
    const page = await e2eBuild.context.newPage();
    await page.goto(CONTRACT_URL);
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await page.getByTestId('al-request-button').click();
    // What a page script could do with an open root: type a reason, click Send, submit the form.
    await page.evaluate(async () => {
      const root = document.querySelector('accesslens-overlay')!.shadowRoot!;
      const reason = root.querySelector('[data-testid="al-justification"]') as HTMLTextAreaElement;
      reason.value = 'Filed by a page script';
      reason.dispatchEvent(new Event('input', { bubbles: true }));
      // Let the form take the typed reason in, as a patient script would.
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const send = root.querySelector('[data-testid="al-submit-request"]') as HTMLButtonElement;
      send.click();
      root.querySelector('form')!.requestSubmit();
      send.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    });
    expect(await page.getByTestId('al-request-status').count()).toBe(0);

    // The person's own click. Requests leave in order, so had a scripted one been queued it would have
    // reached the server first (and this one would be refused as a duplicate).
    await page.getByTestId('al-justification').fill('Typed by the person');
    await page.getByTestId('al-submit-request').click();
    await page.getByTestId('al-request-status').waitFor({ timeout: 10_000 });
    await expect.poll(async () => (await avaRequests()).map((r) => r.justification), { timeout: 15_000 }).toEqual(['Typed by the person']);
    await page.close();
  });
});
