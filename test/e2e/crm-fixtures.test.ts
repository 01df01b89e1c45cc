/**
 * The CRM fixture pages behave like the CRMs in a real browser, under the real hostnames: each page
 * renders as the kind it claims, denials appear a moment after load inside the regions the CRM's
 * adapter watches (and nowhere else), single-page and hash navigation re-render the page, and
 * Salesforce Setup frames its Classic user list. No extension here: this checks the fixtures that
 * the extension's end-to-end tests stand on.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterFor, detectDenial, detectPage } from '@accesslens/shared';
import { chromiumPath } from '../support/browser.ts';
import { FIXTURE_PAGES, startCrmFixture, type CrmFixture, type FixtureCrm } from '../support/crm-fixture.ts';

let crm: CrmFixture;
let browser: Browser;

beforeAll(async () => {
  crm = await startCrmFixture();
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      `--host-resolver-rules=${crm.hosts.map((h) => `MAP ${h} 127.0.0.1:${crm.port}`).join(', ')}`,
      '--ignore-certificate-errors',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await crm?.close();
});

/** The text of the regions where the CRM's adapter looks for denials (never the whole body). */
async function regionText(page: Page, crmKind: FixtureCrm): Promise<string> {
  return (await page.locator(adapterFor(crmKind)!.denialRegions.join(', ')).allInnerTexts()).join('\n');
}

describe('CRM fixtures in Chromium', () => {
  it('every fixture page renders as the page it claims; denials show inside the regions the adapter watches, and only on denied pages', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    try {
      for (const fixture of FIXTURE_PAGES) {
        await page.goto(fixture.url);
        await page.locator(`[data-fixture-main][data-fixture-page="${fixture.kind}"]`).waitFor({ timeout: 10_000 });
        expect(detectPage(page.url())?.pageKind, fixture.url).toBe(fixture.kind);
        if (fixture.denied) {
          await expect
            .poll(async () => detectDenial(fixture.crm, await regionText(page, fixture.crm)), { timeout: 5_000, message: fixture.url })
            .not.toBeNull();
        } else {
          expect(detectDenial(fixture.crm, await regionText(page, fixture.crm)), fixture.url).toBeNull();
        }
      }
    } finally {
      await context.close();
    }
  });

  it('Lightning: a nav link changes the URL with pushState and the denial arrives a moment later', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto('https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/view');
    await page.getByText('SECRET-REVENUE-4,200,000').waitFor();
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await page.getByRole('link', { name: 'Contract 00000142' }).click();
    await page.waitForURL('**/lightning/r/Contract/800xx000001AbCdAAK/view');
    await page.locator('.slds-illustration').getByText('Insufficient Privileges').waitFor();
    expect(await page.getByText('SECRET-REVENUE-4,200,000').count()).toBe(0);
    expect(navigations.filter((u) => u.includes('/lightning/r/Contract/'))).toHaveLength(1); // one history entry, no reload
    await page.goBack();
    await page.getByText('SECRET-REVENUE-4,200,000').waitFor();
    await context.close();
  });

  it('Fxiaoke: the hash decides the page and a hashchange re-renders it', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto('https://www.fxiaoke.com/XV/UI/Home#crm/list/=/AccountObj');
    const main = page.locator('[data-fixture-main]');
    await page.locator('tr[data-id="65a1f0c2e4b0a1b2c3d4e5f6"] td.td-name a').click();
    await expect.poll(() => main.getAttribute('data-fixture-page')).toBe('record');
    expect(detectPage(page.url())).toMatchObject({ crm: 'fxiaoke', pageKind: 'record', object: 'AccountObj', recordId: '65a1f0c2e4b0a1b2c3d4e5f6' });
    await page.getByRole('link', { name: '陈艾娃' }).first().click();
    await expect.poll(() => main.getAttribute('data-fixture-page')).toBe('user-record');
    expect(page.url()).toBe('https://www.fxiaoke.com/XV/UI/Home#profile/=/empid-1001');
    await page.evaluate(() => {
      (globalThis as unknown as { location: { hash: string } }).location.hash = 'crm/detail/=/SalesOrderObj/65a1f0c2e4b0a1b2c3d4e6a0';
    });
    await page.locator('.el-message-box').getByText('您没有访问该数据的权限').waitFor();
    await context.close();
  });

  it("Salesforce Setup frames the Classic user list from the My Domain host; rows carry each user's id", async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto('https://acme.lightning.force.com/lightning/setup/ManageUsers/home');
    const frame = page.frameLocator('force-aloha-page iframe');
    const ava = frame.getByRole('link', { name: 'Chen, Ava' });
    await ava.waitFor();
    expect(await ava.getAttribute('href')).toBe('/005xx000001SvHa?noredirect=1&isUserEntityOverride=1');
    const framed = page.frames().find((f) => f.url().startsWith('https://acme.my.salesforce.com/005?'))!;
    expect(detectPage(framed.url())).toMatchObject({ crm: 'salesforce', pageKind: 'user-list', object: 'User' });
    await context.close();
  });
});
