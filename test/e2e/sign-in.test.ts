/**
 * Signing in and out as a person meets it: the signed-out overlay and popup point to the settings page,
 * a wrong password is said next to the form (in the browser's language), and once signed in the same page shows
 * the person's access.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { captureFailure, launchWithExtension, type ExtensionBrowser } from '../support/browser.ts';

const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';

let server: RunningServer;
let crm: CrmFixture;
let browser: ExtensionBrowser;

beforeAll(async () => {
  [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
  browser = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { browser });
});

afterAll(async () => {
  await Promise.allSettled([browser?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close()]);
});

describe('signed out, signing in, signing out', () => {
  it('the overlay and the popup say how to sign in, and lead to the settings page', async () => {
    const page = await browser.context.newPage();
    await page.goto(CONTRACT_URL);
    await page.getByTestId('al-badge').filter({ hasText: 'AccessLens: sign in' }).waitFor({ timeout: 15_000 });
    const panel = page.getByTestId('al-panel');
    await panel.waitFor({ timeout: 15_000 }); // opened by the denial
    await expect(panel.textContent()).resolves.toContain('Sign in to AccessLens');
    const [settings] = await Promise.all([
      browser.context.waitForEvent('page', { timeout: 10_000 }),
      page.getByRole('button', { name: 'Open AccessLens settings' }).click(),
    ]);
    await settings.waitForLoadState();
    expect(settings.url()).toContain(`chrome-extension://${browser.extensionId}/options.html`);
    await settings.getByTestId('al-sign-in').waitFor();
    await settings.close();

    const popup = await browser.open('popup.html');
    await popup.getByText('You are not signed in.').waitFor();
    const [fromPopup] = await Promise.all([browser.context.waitForEvent('page', { timeout: 10_000 }), popup.getByRole('button', { name: 'Sign in' }).click()]);
    await fromPopup.waitForLoadState();
    expect(fromPopup.url()).toContain('options.html');
    await Promise.all([fromPopup.close(), popup.close(), page.close()]);
  });

  it('a wrong password is said on the form; the right one signs in; the page then shows her access; sign-out undoes it', async () => {
    const options = await browser.open('options.html');
    await options.getByTestId('al-server-url').fill(server.url);
    await options.getByTestId('al-email').fill(DEMO.ava.email);
    await options.getByTestId('al-password').fill('not-her-password');
    await options.getByTestId('al-sign-in').click();
    const error = options.getByTestId('al-error').first();
    await error.waitFor({ timeout: 10_000 });
    expect(await error.textContent()).toMatch(/incorrect/i);
    expect(await options.getByTestId('al-signed-in-as').count()).toBe(0);

    await options.getByTestId('al-password').fill(DEMO.ava.password);
    await options.getByTestId('al-sign-in').click();
    await options.getByTestId('al-signed-in-as').filter({ hasText: 'Ava Chen' }).waitFor({ timeout: 10_000 });

    const page = await browser.context.newPage();
    await page.goto(CONTRACT_URL);
    await expect
      .poll(() => page.locator('[data-testid="al-permission-row"][data-permission="object:Contract:read"]').getAttribute('data-state'), {
        timeout: 15_000,
      })
      .toBe('missing');

    await options.getByTestId('al-sign-out').click();
    await options.getByTestId('al-sign-in').waitFor({ timeout: 10_000 });
    await page.reload();
    await page.getByTestId('al-badge').filter({ hasText: 'AccessLens: sign in' }).waitFor({ timeout: 15_000 });
    await Promise.all([page.close(), options.close()]);
  });

  it('in a Chinese browser the server’s refusal is said in Chinese, not in the server’s English', async () => {
    const zh = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts, locale: 'zh-CN' });
    try {
      const options = await zh.open('options.html');
      await options.getByTestId('al-server-url').fill(server.url);
      await options.getByTestId('al-email').fill(DEMO.ava.email);
      await options.getByTestId('al-password').fill('not-her-password');
      await options.getByTestId('al-sign-in').click();
      const error = options.getByTestId('al-error').first();
      await error.waitFor({ timeout: 10_000 });
      // The server answered 401 with its English message and the reason invalid_credentials.
      expect(await error.textContent()).toBe('邮箱或密码不正确。');
      expect(await options.getByTestId('al-signed-in-as').count()).toBe(0);
    } catch (e) {
      await captureFailure('sign-in zh-CN', { browser: zh });
      throw e;
    } finally {
      await zh.close();
    }
  });
});
