/**
 * axe-core scans of what a person sees, in Chromium with the end-to-end build: the overlay inside its
 * (open, in this build) shadow root on a denied CRM page, with its panel and request form open; the
 * popup; the options page signed out, with an input error showing, and signed in. No serious or critical
 * violation anywhere. On the CRM page the whole page is scanned — landmarks are a page-wide matter (a
 * second banner beside the CRM's own) — and only what concerns the overlay counts: the fixture page is the
 * CRM's, not ours.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { captureFailure, launchWithExtension, signIn, type ExtensionBrowser } from '../support/browser.ts';

const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: (string | string[])[]; html: string }[];
}

/** Runs axe on the whole document (shadow roots included); violations of the given impacts. */
async function scan(page: Page, options: { onlyWithin?: string } = {}): Promise<Violation[]> {
  // Evaluated, not a <script> tag: extension pages' CSP allows no inline script.
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n: any) => ({ target: n.target, html: n.html })),
    }));
  })) as Violation[];
  const within = options.onlyWithin;
  return violations
    .map((v) => (within ? { ...v, nodes: v.nodes.filter((n) => JSON.stringify(n.target[0]).includes(within)) } : v))
    .filter((v) => v.nodes.length > 0);
}

const serious = (violations: Violation[]) => violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
const describeAll = (violations: Violation[]) =>
  violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.html}`).join('\n  ')}`).join('\n');

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

describe('accessibility (axe-core): no serious or critical violations', () => {
  it('the options page: signed out, with an input error showing, and its inputs reference only what exists', async () => {
    const options = await browser.open('options.html');
    await options.getByTestId('al-sign-in').waitFor();
    expect(describeAll(serious(await scan(options)))).toBe('');
    // No error yet: no input points aria-describedby at an element that is not there.
    const dangling = () =>
      options.evaluate(() =>
        Array.from(document.querySelectorAll('[aria-describedby]')).flatMap((el) =>
          el
            .getAttribute('aria-describedby')!
            .split(/\s+/)
            .filter((id: string) => !document.getElementById(id)),
        ),
      );
    expect(await dangling()).toEqual([]);

    await options.getByTestId('al-email').fill('ava');
    await options.getByTestId('al-password').fill('x');
    await options.getByTestId('al-sign-in').click();
    const error = options.getByTestId('al-error');
    await error.waitFor();
    // The extension's own check, in words of its own: not zod's "Invalid email address".
    await expect(error.textContent()).resolves.toBe('Email must be an email address, like name@company.com.');
    await expect(options.getByTestId('al-email').getAttribute('aria-describedby')).resolves.toBe('email-error');
    await expect(options.getByTestId('al-email').getAttribute('aria-invalid')).resolves.toBe('true');
    expect(await dangling()).toEqual([]);
    expect(describeAll(serious(await scan(options)))).toBe('');
    await options.close();
  });

  it('the overlay on a denied CRM page, panel and request form open, beside the CRM’s own landmarks', async () => {
    await (await signIn(browser, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name)).close();
    const page = await browser.context.newPage();
    await page.goto(CONTRACT_URL);
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await page.getByTestId('al-permission-row').first().waitFor();
    // The CRM page has its banner; the overlay's panel adds none.
    const banners = await page.evaluate(() => {
      const root = document.querySelector('accesslens-overlay')!.shadowRoot!;
      return root.querySelectorAll('header, [role="banner"]').length;
    });
    expect(banners).toBe(0);
    expect(describeAll(serious(await scan(page, { onlyWithin: 'accesslens-overlay' })))).toBe('');

    await page.getByTestId('al-request-button').click();
    await page.getByTestId('al-justification').waitFor();
    await page.getByTestId('al-submit-request').click(); // no justification: the error shows
    await page.getByTestId('al-error').first().waitFor();
    expect(describeAll(serious(await scan(page, { onlyWithin: 'accesslens-overlay' })))).toBe('');
    await page.close();
  });

  it('the popup, signed in', async () => {
    const popup = await browser.open('popup.html');
    await popup.getByText('AccessLens').first().waitFor();
    await popup.getByTestId('al-my-requests').or(popup.getByText('My requests')).first().waitFor({ timeout: 10_000 });
    expect(describeAll(serious(await scan(popup)))).toBe('');
    await popup.close();
  });
});
