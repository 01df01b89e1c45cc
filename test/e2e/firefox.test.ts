/**
 * The request story's smoke test in Firefox ESR (Debian's firefox-esr), over WebDriver BiDi, with the
 * Firefox build installed as a temporary add-on (BiDi `webExtension.install`): Ava signs in with her company's
 * SSO (identity.launchWebAuthFlow, Firefox's redirect URL on extensions.allizom.org), opens the denied
 * Contract page on its real hostname, the overlay opens by itself, she requests access and sees it pending;
 * Ben's open popup gets it over the live event stream, and his badge counts what waits for him (the
 * background's sync alarm wakes the event page with no popup open). Ava's stream stays up past Firefox's
 * event-page idle time while her overlay is open (the ports' keepalive): the test profile sets that idle time
 * to 15 s, and a quiet stretch of well over twice that holds at most one sync alarm, so without the keepalive
 * her event page would be suspended and the stream cut.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { startIdentityProvider, type TestIdentityProvider } from '@accesslens/server/testing-oidc';
import { DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { DEVELOPMENT_EXTENSION_ID } from '@accesslens/shared/extension-id';
import {
  EXTENSION_UUID,
  FIREFOX_IDLE_MS,
  firefoxScreenshot,
  launchFirefoxWithExtension,
  signInFirefox,
  watchedServer,
  type FirefoxWithExtension,
  type StreamRecord,
} from '../support/firefox.ts';
import { GECKO_ID } from '../../extension/build/firefox.ts';

const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';
const QUOTE_URL = 'https://acme.lightning.force.com/lightning/r/Quote/0Q0xx0000004CmnCAE/view';

let server: RunningServer;
let crm: CrmFixture;
let avaServer: Awaited<ReturnType<typeof watchedServer>>;
let benServer: Awaited<ReturnType<typeof watchedServer>>;
let idp: TestIdentityProvider;
let ava: FirefoxWithExtension;
let ben: FirefoxWithExtension;

/** Text of an element inside the overlay's (open, end-to-end build) shadow root, or null. */
const overlayText = (page: Page, testId: string) =>
  page.evaluate((id: string) => {
    const root = document.querySelector('accesslens-overlay')?.shadowRoot;
    return root?.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
  }, testId);

const rowState = (page: Page, key: string) =>
  page.evaluate((k: string) => {
    const root = document.querySelector('accesslens-overlay')?.shadowRoot;
    return root?.querySelector(`[data-testid="al-permission-row"][data-permission="${k}"]`)?.getAttribute('data-state') ?? null;
  }, key);

const inOverlay = (testId: string) => `>>> [data-testid="${testId}"]`;

async function requestFromDeniedPage(page: Page, url: string, key: string, justification: string) {
  await page.goto(url);
  // The overlay opens by itself on the CRM's refusal.
  // The panel is always in the DOM (hidden while closed): wait for it to show.
  await page.waitForSelector(inOverlay('al-panel'), { visible: true, timeout: 20_000 });
  await expect.poll(() => rowState(page, key), { timeout: 15_000 }).toBe('missing');
  await (await page.waitForSelector(inOverlay('al-request-button'), { visible: true, timeout: 10_000 }))!.click();
  await page.waitForSelector(inOverlay('al-justification'), { visible: true });
  await page.type(inOverlay('al-justification'), justification);
  await (await page.$(inOverlay('al-submit-request')))!.click();
  await expect.poll(() => overlayText(page, 'al-request-status'), { timeout: 15_000 }).toContain('Ben Ortiz');
  await expect.poll(() => rowState(page, key), { timeout: 10_000 }).toBe('pending');
}

const openStreams = (streams: StreamRecord[]) => streams.filter((s) => s.closedAt === null);

beforeAll(async () => {
  crm = await startCrmFixture();
  // One after the other: two cores, and each Firefox is a handful of processes.
  ava = await launchFirefoxWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
  ben = await launchFirefoxWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
  // The provider knows only this add-on's redirect URI, as an administrator registers it.
  const redirectUri = await ava.control.evaluate(() => (globalThis as any).browser.identity.getRedirectURL('oidc') as string);
  idp = await startIdentityProvider({
    redirectUris: [redirectUri],
    publicClient: true,
    accounts: { 'ava-sub': { email: DEMO.ava.email, email_verified: true, name: DEMO.ava.name } },
  });
  server = await startServer({
    env: {
      ACCESSLENS_OIDC_ISSUER: idp.issuer,
      ACCESSLENS_OIDC_CLIENT_ID: idp.clientId,
      ACCESSLENS_OIDC_NAME: 'Acme SSO',
      // CORS admits only the configured extensions: the development id (Chromium) and this Firefox installation.
      ACCESSLENS_EXTENSION_IDS: `${DEVELOPMENT_EXTENSION_ID},${EXTENSION_UUID}`,
    },
  });
  [avaServer, benServer] = await Promise.all([watchedServer(server.url), watchedServer(server.url)]);
  await (await signInFirefox(ben, benServer.url, DEMO.ben.email, DEMO.ben.password, DEMO.ben.name)).close();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  const safe = ctx.task.name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
  for (const [who, ff] of Object.entries({ ava, ben }))
    for (const [i, page] of ((await ff?.browser.pages().catch(() => [])) ?? []).entries())
      await firefoxScreenshot(page, `FAILED-firefox-${safe}-${who}-${i}`).catch(() => undefined);
});

afterAll(async () => {
  await Promise.allSettled([ava?.close(), ben?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close(), avaServer?.close(), benServer?.close(), idp?.close()]);
});

describe('Firefox ESR: the request story with the Firefox build', () => {
  it('Ava signs in with her company SSO in Firefox’s own sign-in window (identity.launchWebAuthFlow)', async () => {
    const redirectUri = await ava.control.evaluate(() => (globalThis as any).browser.identity.getRedirectURL('oidc') as string);
    expect(redirectUri).toMatch(/^https:\/\/[0-9a-f]{40}\.extensions\.allizom\.org\/oidc$/);
    const options = await ava.open('options.html');
    await options.locator('[data-testid="al-server-url"]').fill(avaServer.url);
    const button = await options.waitForSelector('[data-testid="al-sso-sign-in"]', { timeout: 15_000 });
    expect(await button!.evaluate((el) => el.textContent)).toBe('Sign in with Acme SSO');
    await button!.click();
    // The provider's pages, in the window Firefox opened for the flow.
    const target = await ava.browser.waitForTarget((t) => t.url().startsWith(idp.issuer), { timeout: 15_000 });
    const window = (await target.page())!;
    await window.locator('input[name="login"]').fill('ava-sub');
    await window.locator('input[name="password"]').fill('correct horse battery staple');
    await window.locator('button::-p-text(Sign-in)').click();
    await window.locator('button::-p-text(Continue)').click();
    await options.waitForFunction(() => document.querySelector('[data-testid="al-signed-in-as"]')?.textContent?.includes('Ava Chen') ?? false, {
      timeout: 20_000,
    });
    await options.close();
  });

  it('runs as the Manifest V3 add-on with its gecko id', async () => {
    expect(ava.addonId).toBe(GECKO_ID);
    const manifest = await ava.control.evaluate(() => (globalThis as any).browser.runtime.getManifest());
    expect(manifest.manifest_version).toBe(3);
    expect(manifest.browser_specific_settings.gecko.data_collection_permissions.required.length).toBeGreaterThan(0);
    // The token store is the extension origin's IndexedDB, and the background's storage works without
    // Chrome's storage.local.setAccessLevel (which Firefox does not have).
    const stored = await ava.control.evaluate(async () => Object.keys(await (globalThis as any).browser.storage.local.get(null)));
    expect(stored).toContain('serverUrl');
  });

  it('in-house CRM hosts: allowed one at a time from settings (permissions.request), the script registered for them', async () => {
    const options = await ava.open('options.html');
    const host = await options.waitForSelector('[data-testid="al-in-house-host"][data-allowed="false"]', { timeout: 15_000 });
    const name = await host!.evaluate((el) => el.getAttribute('data-host'));
    await (await host!.$('[data-testid="al-allow-host"]'))!.click();
    await options.waitForSelector(`[data-testid="al-in-house-host"][data-host="${name}"][data-allowed="true"]`, { timeout: 15_000 });
    // permissions.onAdded reached the event page, which registered the in-house content script for the host.
    const registered = async () =>
      ava.control.evaluate(async () =>
        ((await (globalThis as any).browser.scripting.getRegisteredContentScripts()) as { id: string; matches: string[] }[]).map((s) => [s.id, s.matches]),
      );
    await expect.poll(registered, { timeout: 10_000 }).toEqual([['accesslens-in-house', [`http://${name!.replace(/:\d+$/, '')}/*`]]]);
    await options.close();
  });

  it('Ava requests Contract read from the denied page; Ben gets it live and his badge counts it', async () => {
    // Ben looks at his popup: its port opens the live event stream in his background.
    const popup = await ben.open('popup.html');
    await expect.poll(() => openStreams(benServer.streams).length, { timeout: 15_000 }).toBe(1);

    const page = await ava.newPage();
    await requestFromDeniedPage(page, CONTRACT_URL, 'object:Contract:read', 'Renewal of the Globex contract is due Friday; I own the account.');
    await firefoxScreenshot(page, 'firefox-overlay-request-pending');

    // The request reaches Ben's open popup over the stream (a poke, then a pull).
    await popup.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('[data-testid="al-queue-item"]')).some(
          (el) => el.textContent?.includes('Ava Chen') && el.textContent.includes('Contract'),
        ),
      { timeout: 20_000 },
    );
    await firefoxScreenshot(popup, 'firefox-popup-approver-queue');
    await expect.poll(() => ben.badgeText(), { timeout: 10_000 }).toBe('1');
    await popup.close();

    // Ben's popup is closed: the next request reaches his badge through the sync alarm, which wakes his
    // (by then suspended) event page.
    await requestFromDeniedPage(page, QUOTE_URL, 'object:Quote:read', 'Need to check the quote lines for Initech.');
    const quietFrom = Date.now();
    await expect.poll(() => openStreams(avaServer.streams).length, { timeout: 10_000 }).toBe(1);
    const avaStream = openStreams(avaServer.streams)[0]!;
    await expect.poll(() => ben.badgeText(), { timeout: 80_000, interval: 1_000 }).toBe('2');

    // Meanwhile Ava only looked at her overlay. Time itself is the condition here: the stretch must outlast
    // the idle time more than twice (one sync alarm in it still leaves a gap longer than the idle time).
    const quietFor = 2 * FIREFOX_IDLE_MS + 5_000;
    const left = quietFrom + quietFor - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    expect(avaStream.closedAt, 'Ava’s live stream was cut while her overlay was open').toBeNull();
    expect(
      avaServer.streams.filter((s) => s.openedAt > avaStream.openedAt),
      JSON.stringify(avaServer.streams),
    ).toEqual([]);
    await page.close();
  });
});
