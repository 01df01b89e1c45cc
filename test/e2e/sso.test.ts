/**
 * Signing in with the company's SSO as a person meets it, in Chromium with the built extension: the
 * options page offers "Sign in with Acme SSO"; the browser's own sign-in window
 * (identity.launchWebAuthFlow) shows a real OpenID Connect provider (oidc-provider on loopback, with
 * this extension's redirect URI registered); the real server process checks the answer and the
 * directory. Closing the window, a departed person and a successful sign-in, in that order.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startIdentityProvider, type TestIdentityProvider } from '@accesslens/server/testing-oidc';
import { DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { captureFailure, launchWithExtension, screenshot, type ExtensionBrowser } from '../support/browser.ts';

const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';

let server: RunningServer;
let crm: CrmFixture;
let idp: TestIdentityProvider;
let browser: ExtensionBrowser;

beforeAll(async () => {
  crm = await startCrmFixture();
  browser = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
  // The provider only knows this extension's redirect URI (identity.getRedirectURL('oidc')).
  idp = await startIdentityProvider({
    redirectUris: [`https://${browser.extensionId}.chromiumapp.org/oidc`],
    publicClient: true,
    accounts: {
      'ava-sub': { email: DEMO.ava.email, email_verified: true, name: DEMO.ava.name },
      'jon-sub': { email: 'jon@acme.test', email_verified: true, name: 'Jon Park' },
    },
  });
  server = await startServer({
    env: { ACCESSLENS_OIDC_ISSUER: idp.issuer, ACCESSLENS_OIDC_CLIENT_ID: idp.clientId, ACCESSLENS_OIDC_NAME: 'Acme SSO' },
  });
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { browser });
});

afterAll(async () => {
  await Promise.allSettled([browser?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close(), idp?.close()]);
});

/** Opens the options page on our server and waits for the SSO button the server's methods bring. */
async function optionsWithSso(): Promise<Page> {
  const options = await browser.open('options.html');
  await options.getByTestId('al-server-url').fill(server.url);
  await options.getByTestId('al-sso-sign-in').filter({ hasText: 'Sign in with Acme SSO' }).waitFor({ timeout: 10_000 });
  return options;
}

/** Clicks the SSO button; returns the browser's sign-in window showing the provider's page. */
async function startSso(options: Page): Promise<Page> {
  const [window] = await Promise.all([
    browser.context.waitForEvent('page', { predicate: (p) => p.url().startsWith(idp.issuer), timeout: 15_000 }),
    options.getByTestId('al-sso-sign-in').click(),
  ]);
  await options.getByTestId('al-sso-progress').filter({ hasText: 'Finish signing in with Acme SSO in the window that opened' }).waitFor();
  return window;
}

/** The provider's own login and consent pages, as the person fills them in. */
async function signInAtProvider(window: Page, login: string) {
  await window.locator('input[name="login"]').fill(login);
  await window.locator('input[name="password"]').fill('correct horse battery staple');
  await window.getByRole('button', { name: 'Sign-in' }).click();
  await window.getByRole('button', { name: 'Continue' }).click();
}

describe('single sign-on in the browser', () => {
  it('closing the sign-in window cancels, and says so', async () => {
    const options = await optionsWithSso();
    const window = await startSso(options);
    await window.close();
    await options.getByTestId('al-error').filter({ hasText: 'Sign-in was cancelled before it finished.' }).waitFor({ timeout: 10_000 });
    expect(await options.getByTestId('al-signed-in-as').count()).toBe(0);
    await options.close();
  });

  it('a departed person is refused with a clear message on the options page', async () => {
    const options = await optionsWithSso();
    const window = await startSso(options);
    await signInAtProvider(window, 'jon-sub');
    await options.getByTestId('al-error').filter({ hasText: 'marked as departed' }).waitFor({ timeout: 15_000 });
    expect(await options.getByTestId('al-error').getAttribute('data-code')).toBe('sso_person_inactive');
    await screenshot(options, 'options-sso-refused');
    expect(await options.getByTestId('al-signed-in-as').count()).toBe(0);
    await options.close();
    // A fresh provider session for the next person.
    await browser.context.clearCookies();
  });

  it('Ava signs in with SSO; her CRM page then shows her access', async () => {
    const options = await optionsWithSso();
    await screenshot(options, 'options-sso');
    const window = await startSso(options);
    await signInAtProvider(window, 'ava-sub');
    await options.getByTestId('al-signed-in-as').filter({ hasText: 'Ava Chen' }).waitFor({ timeout: 15_000 });
    expect(window.isClosed()).toBe(true);

    const page = await browser.context.newPage();
    await page.goto(CONTRACT_URL);
    await expect
      .poll(() => page.locator('[data-testid="al-permission-row"][data-permission="object:Contract:read"]').getAttribute('data-state'), {
        timeout: 15_000,
      })
      .toBe('missing');
    await Promise.all([page.close(), options.close()]);
  });
});
