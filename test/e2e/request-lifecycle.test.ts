/**
 * The requester's side of the request lifecycle, end to end in Chromium with the built extension: Ava
 * works from the overlay on Salesforce pages; Ben decides through the API (as his popup would). The
 * needs-info loop, several rows in one request (a pending request for one key does not block another),
 * request again after a denial, a whole bundle (what it adds), and one-click "Extend" of a grant ending
 * soon. The overlay is scanned with axe-core: no serious or critical violations. Keyboard: the panel
 * that opens by itself takes focus, Escape closes it and focus goes back, the badge and the controls
 * are reachable with the keyboard.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { connectDemoSalesforce, waitFor } from '../support/fake-crm.ts';
import type { FakeSalesforce } from '../fakes/salesforce.ts';
import { salesforceUserId } from '@accesslens/server/seed/demo';
import { captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

const ORDER_URL = 'https://acme.lightning.force.com/lightning/r/Order/801xx000000AbCdAAK/view';
const QUOTE_URL = 'https://acme.lightning.force.com/lightning/r/Quote/0Q0xx0000004CmnCAE/view';
const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const row = (page: Page, key: string) => page.locator(`[data-testid="al-permission-row"][data-permission="${key}"]`);
/** The element focused inside the overlay's (open, end-to-end build) shadow root. */
const focusedInOverlay = (page: Page) =>
  page.locator('accesslens-overlay').evaluate((el) => {
    const active = el.shadowRoot?.activeElement as HTMLElement | null | undefined;
    return active ? (active.getAttribute('data-testid') ?? active.tagName.toLowerCase()) : null;
  });

/** axe-core on the overlay (its shadow tree included): the serious and critical violations. */
async function axeViolations(page: Page): Promise<{ id: string; impact: string; help: string; targets: string[] }[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ path: axePath });
  const { violations, shadowNodesChecked } = await page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const result = await axe.run({ include: [['accesslens-overlay']] }, {});
    // Nodes inside a shadow root have a target path of several selectors (host, then inside).
    const inShadow = (n: any) => Array.isArray(n.target[0]) && n.target[0].length > 1;
    return {
      shadowNodesChecked: [...result.passes, ...result.violations].flatMap((r: any) => r.nodes).filter(inShadow).length,
      violations: result.violations
        .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
        .map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n: any) => JSON.stringify(n.target)) })),
    };
  });
  // The scan reached into the overlay's shadow root (else it would pass by seeing nothing).
  expect(shadowNodesChecked).toBeGreaterThan(20);
  return violations;
}

let server: RunningServer;
let crm: CrmFixture;
let salesforce: FakeSalesforce;
let ava: ExtensionBrowser;
const avaApi = () => api(DEMO.ava);
const benApi = () => api(DEMO.ben);

async function api(who: { email: string; password: string }) {
  const client = new ApiClient(server.url);
  await client.signIn(who.email, who.password);
  return client;
}

/** Ava's requests as the server has them. */
async function requestsOfAva(): Promise<any[]> {
  const client = await avaApi();
  return (await client.sync()).json.requests.filter((r: any) => r.requesterId === 'p-ava');
}

async function requestFor(pred: (r: any) => boolean, what: string): Promise<any> {
  return waitFor(what, async () => (await requestsOfAva()).find(pred) ?? null, 20_000);
}

async function decide(requestId: string, outcome: 'approve' | 'deny' | 'needs-info', reason: string | null, durationDays: number | null = null) {
  const ben = await benApi();
  const res = await ben.mutate({ id: randomUUID(), name: 'decision.record', args: { requestId, outcome, reason, durationDays } });
  expect(res.status).toBe(200);
  expect(res.json.results[0]).toMatchObject({ status: 'applied' });
}

beforeAll(async () => {
  server = await startServer();
  salesforce = await connectDemoSalesforce(server.url);
  crm = await startCrmFixture({
    access: (kind, object) => (kind === 'salesforce' ? salesforce.userCan(salesforceUserId(3), object, 'read') : undefined),
  });
  ava = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
  await signIn(ava, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name).then((p) => p.close());
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava });
});

afterAll(async () => {
  await Promise.allSettled([ava?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close(), salesforce?.close()]);
});

describe('the requester in the overlay', () => {
  it('keyboard: the panel that opens by itself has focus, Escape gives it back, the badge and the form work from the keyboard', async () => {
    const page = await ava.context.newPage();
    await page.goto(ORDER_URL);
    const panel = page.getByTestId('al-panel');
    await panel.waitFor({ timeout: 15_000 });
    await expect.poll(() => focusedInOverlay(page), { timeout: 10_000 }).toBe('al-panel');

    await page.keyboard.press('Escape');
    await expect.poll(() => panel.isHidden()).toBe(true);
    await expect.poll(() => focusedInOverlay(page)).toBe('al-badge');

    // Enter on the badge opens it again, focus inside; Tab reaches the request button; Enter opens the form.
    await page.keyboard.press('Enter');
    await expect.poll(() => panel.isVisible()).toBe(true);
    await expect.poll(() => focusedInOverlay(page)).toBe('al-panel');
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await focusedInOverlay(page)) === 'al-request-button';
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => focusedInOverlay(page)).toBe('al-justification');
    // Escape from inside the form closes the panel and returns focus to the badge.
    await page.keyboard.press('Escape');
    await expect.poll(() => panel.isHidden()).toBe(true);
    await expect.poll(() => focusedInOverlay(page)).toBe('al-badge');
    await page.close();
  });

  it('needs-info: Ben asks a question, Ava answers in the overlay, and the request is pending again', async () => {
    const page = await ava.context.newPage();
    await page.goto(ORDER_URL);
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await expect.poll(() => row(page, 'object:Order:read').getAttribute('data-state'), { timeout: 10_000 }).toBe('missing');
    await page.getByTestId('al-request-button').click();
    await page.getByTestId('al-justification').fill('Reconciling the Initech order before month end.');
    await page.getByTestId('al-submit-request').click();
    await page.getByTestId('al-request-status').filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });

    const request = await requestFor((r) => r.permissions.includes('object:Order:read') && r.status === 'pending', 'the Order read request');
    await decide(request.id, 'needs-info', 'Which Initech order, and for how long do you need it?');

    // The question reaches the open overlay, with an answer field.
    const card = page.getByTestId('al-needs-info');
    await card.waitFor({ timeout: 20_000 });
    await expect(card.textContent()).resolves.toContain('Which Initech order');
    await expect(card.textContent()).resolves.toContain('Ben Ortiz');
    await expect.poll(() => page.getByTestId('al-request-status').getAttribute('data-status')).toBe('needs-info');
    await screenshot(page, 'overlay-needs-info', 'docs');

    // axe-core on the overlay as it is now: rows, the question and its form.
    const violations = await axeViolations(page);
    expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);

    // An empty answer is refused visibly; then she answers.
    await card.getByTestId('al-answer-send').click();
    await card.getByTestId('al-error').waitFor();
    await card.getByTestId('al-answer').fill('Order 00000101 for Initech; two weeks is enough.');
    await card.getByTestId('al-answer-send').click();
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(0);

    const answered = await requestFor((r) => r.id === request.id && r.status === 'pending', 'the answered request back to pending');
    expect(answered.needsInfo ?? null).toBeNull();
    const kinds = answered.timeline.map((e: any) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['submitted', 'needs-info', 'answered']));
    expect(answered.timeline.find((e: any) => e.kind === 'answered').text).toBe('Order 00000101 for Initech; two weeks is enough.');

    // The overlay shows the server's timeline lines.
    const status = page.getByTestId('al-request-status');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('pending');
    await expect
      .poll(() => status.getByTestId('al-timeline-line').allTextContents(), { timeout: 15_000 })
      .toEqual(expect.arrayContaining([expect.stringContaining('answered'), expect.stringContaining('Ben Ortiz asked')]));
    await page.close();
  });

  it('several rows in one request; a pending request for one key does not block the others', async () => {
    const page = await ava.context.newPage();
    await page.goto(ORDER_URL);
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await expect.poll(() => row(page, 'object:Order:read').getAttribute('data-state'), { timeout: 10_000 }).toBe('pending');
    // Read is pending: create and edit may still be asked for, together.
    await expect(row(page, 'object:Order:read').getByTestId('al-row-select').count()).resolves.toBe(0);
    await row(page, 'object:Order:create').getByTestId('al-row-select').check();
    await row(page, 'object:Order:edit').getByTestId('al-row-select').check();
    const button = page.getByTestId('al-request-button');
    await expect(button.textContent()).resolves.toContain('Request 2 selected');
    await button.click();
    const checked = page.locator('[data-testid="al-request-key"]:checked');
    await expect
      .poll(() => checked.evaluateAll((els) => els.map((e) => e.getAttribute('data-permission'))))
      .toEqual(['object:Order:create', 'object:Order:edit']);
    await page.getByTestId('al-will-notify').filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });
    await page.getByTestId('al-justification').fill('Entering the Initech replacement order.');
    await page.getByTestId('al-submit-request').click();
    await expect.poll(() => row(page, 'object:Order:create').getAttribute('data-state'), { timeout: 10_000 }).toBe('pending');
    await expect.poll(() => row(page, 'object:Order:edit').getAttribute('data-state')).toBe('pending');

    const request = await requestFor((r) => r.permissions.includes('object:Order:create'), 'one request for Order create and edit');
    expect([...request.permissions].sort()).toEqual(['object:Order:create', 'object:Order:edit']);
    expect(request.status).toBe('pending');
    // The first request is untouched.
    expect((await requestsOfAva()).filter((r) => r.permissions.includes('object:Order:read') && r.status === 'pending')).toHaveLength(1);
    await page.close();
  });

  it('request again after a denial: prefilled from the denied request, linked to it, the reason in view', async () => {
    const page = await ava.context.newPage();
    await page.goto(QUOTE_URL);
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await page.getByTestId('al-request-button').click();
    await page.getByTestId('al-justification').fill('Need to check the quote lines for Initech.');
    await page.getByTestId('al-evidence').fill('https://tickets.acme.test/Q-77');
    await page.getByTestId('al-submit-request').click();
    const status = page.getByTestId('al-request-status');
    await status.filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });
    const denied = await requestFor((r) => r.permissions.includes('object:Quote:read') && r.status === 'pending', 'the Quote read request');
    await decide(denied.id, 'deny', 'Say which quote and why the Quote Desk cannot help.');

    await status.filter({ hasText: 'Denied' }).waitFor({ timeout: 20_000 });
    await page.getByTestId('al-request-again').click();
    const form = page.getByTestId('al-request-form');
    await expect(form.getByTestId('al-previous-reason').textContent()).resolves.toContain('Say which quote');
    await expect(form.getByTestId('al-justification').inputValue()).resolves.toBe('Need to check the quote lines for Initech.');
    await expect(form.getByTestId('al-evidence').inputValue()).resolves.toBe('https://tickets.acme.test/Q-77');
    await form.getByTestId('al-justification').fill('Quote Q-00042 for Initech: the Quote Desk is out until Monday and the customer signs Friday.');
    await form.getByTestId('al-submit-request').click();
    await status.filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });

    const again = await requestFor((r) => r.previousRequestId === denied.id, 'the request made again');
    expect(again).toMatchObject({ status: 'pending', permissions: ['object:Quote:read'], evidence: ['https://tickets.acme.test/Q-77'] });
    expect(again.justification).toContain('Quote Q-00042');

    // History keeps both, the denial with its reason.
    await page.getByTestId('al-history').locator('summary').click();
    const items = page.getByTestId('al-history-item');
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(2);
    await expect(items.filter({ hasText: 'Say which quote' }).getAttribute('data-status')).resolves.toBe('denied');
    await page.close();
  });

  it('a whole bundle, then one-click Extend of the grant ending soon', async () => {
    const page = await ava.context.newPage();
    await page.goto(CONTRACT_URL);
    await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
    await page.getByTestId('al-request-bundle').click();
    const form = page.getByTestId('al-request-form');
    await expect(form.getAttribute('data-mode')).resolves.toBe('bundle');
    await expect(form.getByTestId('al-bundle').inputValue()).resolves.toBe('ps-contract-manager');
    // What it adds beyond what she holds, as the server's preview says.
    const adds = form.getByTestId('al-bundle-adds');
    await expect.poll(() => adds.textContent(), { timeout: 10_000 }).toMatch(/Read Contracts|Contract/);
    await form.getByTestId('al-will-notify').filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });
    await form.getByTestId('al-justification').fill('I take over the Globex contracts while Gil is away.');
    await form.getByTestId('al-submit-request').click();
    await expect.poll(() => row(page, 'object:Contract:read').getAttribute('data-state'), { timeout: 10_000 }).toBe('pending');

    const bundleRequest = await requestFor((r) => r.bundleId === 'ps-contract-manager', 'the bundle request');
    expect([...bundleRequest.permissions].sort()).toEqual(['object:Contract:create', 'object:Contract:edit', 'object:Contract:read']);

    // Ben approves for one day: Salesforce gets the permission set; the grant ends within the reminder days.
    await decide(bundleRequest.id, 'approve', null, 1);
    await requestFor((r) => r.id === bundleRequest.id && r.status === 'fulfilled', 'the bundle granted');
    const reminder = page.getByTestId('al-expiring');
    await reminder.waitFor({ timeout: 20_000 });
    await expect(reminder.textContent()).resolves.toContain('ends');
    await screenshot(page, 'overlay-expiring', 'docs');

    await reminder.getByTestId('al-extend').click();
    await reminder.getByTestId('al-extension-status').filter({ hasText: 'Ben Ortiz' }).waitFor({ timeout: 10_000 });
    const extension = await requestFor((r) => r.extendsRequestId === bundleRequest.id, 'the extension request');
    expect(extension.status).toBe('pending');
    expect([...extension.permissions].sort()).toEqual([...bundleRequest.permissions].sort());

    const before = (await requestFor((r) => r.id === bundleRequest.id, 'the grant')).expiresAt;
    await decide(extension.id, 'approve', null, 7);
    const extended = await requestFor((r) => r.id === bundleRequest.id && r.expiresAt !== before, 'the grant extended');
    expect(Date.parse(extended.expiresAt) - Date.parse(before)).toBe(7 * 86_400_000);
    expect(extended.timeline.map((e: any) => e.kind)).toContain('extended');
    // No longer ending soon: the reminder goes; the history keeps both requests.
    await expect.poll(() => reminder.count(), { timeout: 20_000 }).toBe(0);
    await page.getByTestId('al-history').locator('summary').click();
    await expect.poll(() => page.getByTestId('al-history-item').count()).toBeGreaterThanOrEqual(2);

    const violations = await axeViolations(page);
    expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    await page.close();
  });

  it('in a Chinese browser: policy problems rendered from their codes, in Chinese', async () => {
    // Quote read is pending (asked again above): the Quote Desk bundle would ask for it again, which the
    // server's preview reports as the code pending-request with its params.
    const zh = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts, locale: 'zh-CN' });
    try {
      await signIn(zh, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name).then((p) => p.close());
      const page = await zh.context.newPage();
      await page.goto(QUOTE_URL);
      await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
      await page.getByTestId('al-request-bundle').click();
      const form = page.getByTestId('al-request-form');
      await expect(form.getByTestId('al-bundle').inputValue()).resolves.toBe('ps-quote-desk');
      const problem = form.getByTestId('al-problem').filter({ hasText: '您已有一个待审批的申请包含' });
      await problem.waitFor({ timeout: 15_000 });
      await expect(form.getByTestId('al-submit-request').isDisabled()).resolves.toBe(true);
      await expect(form.getByTestId('al-bundle-adds').textContent()).resolves.toContain('在您已有权限之外新增');
      // Nothing English from the server's sentences.
      await expect(form.textContent()).resolves.not.toContain('you already have a pending request');
      await screenshot(page, 'overlay-bundle-zh', 'docs');
      const violations = await axeViolations(page);
      expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
      await page.close();
    } catch (e) {
      await captureFailure('zh', { zh });
      throw e;
    } finally {
      await zh.close();
    }
  });

  it('a manager files a request for a direct report: he picks her in the form; she is the requester of record', async () => {
    const ben = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
    try {
      await signIn(ben, server.url, DEMO.ben.email, DEMO.ben.password, DEMO.ben.name).then((p) => p.close());
      const page = await ben.context.newPage();
      await page.goto(ORDER_URL);
      await page.getByTestId('al-panel').waitFor({ timeout: 15_000 });
      await row(page, 'object:Order:delete').getByTestId('al-row-select').check();
      await page.getByTestId('al-request-button').click();
      const form = page.getByTestId('al-request-form');
      const forWhom = form.getByTestId('al-on-behalf');
      await forWhom.waitFor({ timeout: 10_000 });
      // His active direct reports only (Jon has left).
      const options = await forWhom.locator('option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
      expect(options).toEqual(['', 'p-ava', 'p-eli']);
      await forWhom.selectOption('p-ava');
      await form.getByTestId('al-justification').fill('Ava cleans up the duplicate Initech orders this week.');
      await form.getByTestId('al-submit-request').click();
      await page.getByTestId('al-sent-for').filter({ hasText: 'Ava Chen' }).waitFor({ timeout: 10_000 });
      const filed = await requestFor((r) => r.filedBy === 'p-ben', 'the request Ben filed for Ava');
      expect(filed).toMatchObject({ requesterId: 'p-ava', permissions: ['object:Order:delete'] });
      // Ben's own row is unchanged: the request is Ava's.
      await expect(row(page, 'object:Order:delete').getAttribute('data-state')).resolves.toBe('missing');
      await page.close();
    } catch (e) {
      await captureFailure('on-behalf', { ben });
      throw e;
    } finally {
      await ben.close();
    }
  });
});
