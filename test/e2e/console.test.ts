/**
 * The admin console and the popup's access reviews, end to end, in real browsers with the built
 * extension and the real server (demo seed): Cara filters findings and exports them; a four-eyes policy
 * change (Cara proposes, Cara cannot approve, Dan as a second administrator approves, it applies); the
 * audit log filtered, verified and exported; a review campaign Ben works through in his popup by
 * keyboard and mouse; "admins only" for others; axe-core finds no serious or critical problem.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let server: RunningServer;
let cara: ExtensionBrowser;
let dan: ExtensionBrowser;
let ben: ExtensionBrowser;
let api: ApiClient;

beforeAll(async () => {
  server = await startServer();
  api = new ApiClient(server.url);
  await api.signIn(DEMO.cara.email, DEMO.cara.password);
  // Dan becomes the second administrator (Cara cannot change her own roles, but can his).
  const made = await api.call('PATCH', '/api/admin/people/p-dan', { roles: ['requester', 'approver', 'admin'] });
  expect(made.status).toBe(200);
  const launch = () => launchWithExtension({ crmPort: 9, crmHosts: [] });
  [cara, dan, ben] = await Promise.all([launch(), launch(), launch()]);
  await Promise.all(
    (
      [
        [cara, DEMO.cara],
        [dan, DEMO.dan],
        [ben, DEMO.ben],
      ] as const
    ).map(([b, who]) => signIn(b, server.url, who.email, who.password, who.name).then((p) => p.close())),
  );
}, 120_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { cara, dan, ben });
});

afterAll(async () => {
  await Promise.allSettled([cara?.close(), dan?.close(), ben?.close()]);
  await server?.dispose();
});

async function openConsole(b: ExtensionBrowser, tab = 'findings'): Promise<Page> {
  const page = await b.context.newPage();
  await page.goto(`chrome-extension://${b.extensionId}/console.html#${tab}`);
  return page;
}

/** What a download saved, as text. */
async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), click()]);
  const path = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

async function axe(page: Page): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const r = await (globalThis as any).axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n: any) => n.target.join(' ')) }));
  });
}

const rows = (page: Page) => page.getByTestId('al-finding-row');
const attrs = (page: Page, name: string) => rows(page).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);

describe('admin console', () => {
  it('Cara filters findings by severity, department and search, reads the charts and exports CSV', async () => {
    const page = await openConsole(cara);
    await page.getByTestId('al-findings-charts').waitFor({ timeout: 20_000 });
    await expect.poll(() => page.getByTestId('al-findings-total').getAttribute('data-total')).toBe('14');
    expect(await page.getByTestId('al-chart-severity').locator('svg').getAttribute('aria-label')).toContain('11');
    expect(await page.getByTestId('al-chart-department').locator('svg').getAttribute('aria-label')).toContain('Sales: 8');
    await screenshot(page, 'console-findings', 'docs');

    await page.getByTestId('al-findings-severity').selectOption('high');
    await expect.poll(() => page.getByTestId('al-findings-total').getAttribute('data-total')).toBe('11');
    expect(new Set(await attrs(page, 'data-severity'))).toEqual(new Set(['high']));
    await page.getByTestId('al-findings-department').selectOption('Sales');
    await expect.poll(async () => new Set(await attrs(page, 'data-department'))).toEqual(new Set(['Sales']));
    const salesHigh = Number(await page.getByTestId('al-findings-total').getAttribute('data-total'));
    expect(salesHigh).toBeGreaterThan(0);
    expect(salesHigh).toBeLessThan(11);
    await page.getByTestId('al-findings-search').fill('ortiz');
    await expect.poll(async () => (await page.getByTestId('al-finding-row').allInnerTexts()).every((t) => t.includes('Ben Ortiz'))).toBe(true);

    // The export carries exactly what the filters select.
    const csv = await downloaded(page, () => page.getByTestId('al-findings-export').click());
    expect(csv.name).toMatch(/^findings-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(csv.text.startsWith('\uFEFF')).toBe(true); // spreadsheets read it as UTF-8
    const lines = csv.text
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toMatch(/^id,kind,severity,status,person,department/);
    expect(lines.length - 1).toBe(await rows(page).count());
    expect(lines.slice(1).every((l) => l.includes('Ben Ortiz') && l.includes(',high,'))).toBe(true);

    // Paging: a sort and the next page, with no repeats.
    await page.getByTestId('al-findings-search').fill('');
    await page.getByTestId('al-findings-severity').selectOption('');
    await page.getByTestId('al-findings-department').selectOption('');
    await expect.poll(() => page.getByTestId('al-findings-total').getAttribute('data-total')).toBe('14');

    // Accept a risk from the console (reason and end date), then reopen it.
    await page.getByTestId('al-findings-search').fill('Lund');
    const ivy = page.locator('[data-testid="al-finding-row"][data-kind="dormant"]');
    await expect.poll(() => rows(page).count()).toBe(1);
    await ivy.getByTestId('al-console-accept').click();
    await ivy.getByTestId('al-console-accept-reason').fill('On parental leave until June');
    await ivy.getByTestId('al-console-accept-save').click();
    await expect.poll(() => ivy.getAttribute('data-status')).toBe('accepted');
    expect(await ivy.innerText()).toContain('risk accepted until');
    const accepted = await api.call('GET', '/api/audit?action=finding.accepted');
    expect(accepted.json.events[0]).toMatchObject({ actorId: 'p-cara', data: expect.objectContaining({ reason: 'On parental leave until June' }) });
    await ivy.getByTestId('al-console-reopen').click();
    await expect.poll(() => ivy.getAttribute('data-status')).toBe('open');
    await page.close();
  });

  it('four eyes: Cara proposes a policy change, cannot approve it herself; Dan approves and it applies; all audited', async () => {
    const page = await openConsole(cara, 'policy');
    const version = page.getByTestId('al-policy-version');
    await version.waitFor({ timeout: 20_000 });
    const before = Number(await version.getAttribute('data-version'));
    await page.getByTestId('al-policy-dormantDays').fill('45');
    await page.getByTestId('al-policy-note').fill('Fewer dormant findings for seasonal staff');
    await page.getByTestId('al-policy-propose').click();
    await page.getByTestId('al-policy-saved').waitFor();
    const proposal = page.locator('[data-testid="al-policy-proposal"][data-status="pending"]');
    await proposal.waitFor();
    const diff = (await proposal.getByTestId('al-policy-diff').innerText()).replace(/\s+/g, ' ');
    expect(diff).toContain('thresholds');
    expect(diff).toContain('dormantDays');
    expect(diff).toContain('45');
    // Her own proposal: she is told so and offered no approval; the server refuses her too.
    await proposal.getByTestId('al-policy-own').waitFor();
    expect(await proposal.getByTestId('al-policy-approve').count()).toBe(0);
    const id = (await proposal.getAttribute('data-proposal-id'))!;
    const selfApprove = await api.call('POST', `/api/policy/proposals/${id}/approve`, { note: '' });
    expect(selfApprove.status).toBe(403);
    expect(Number(await version.getAttribute('data-version'))).toBe(before);
    await screenshot(page, 'console-policy-proposed', 'docs');

    // Dan, the second administrator, sees the same diff and approves.
    const danPage = await openConsole(dan, 'policy');
    const danProposal = danPage.locator(`[data-testid="al-policy-proposal"][data-proposal-id="${id}"]`);
    await danProposal.waitFor({ timeout: 20_000 });
    expect((await danProposal.getByTestId('al-policy-diff').innerText()).replace(/\s+/g, ' ')).toContain('dormantDays');
    await danProposal.getByTestId('al-policy-approve').click();
    await expect.poll(() => danPage.getByTestId('al-policy-version').getAttribute('data-version')).toBe(String(before + 1));
    await danPage.locator(`[data-testid="al-policy-proposal"][data-proposal-id="${id}"][data-status="applied"]`).waitFor();

    await page.reload();
    await expect.poll(() => page.getByTestId('al-policy-version').getAttribute('data-version')).toBe(String(before + 1));
    const policy = await api.call('GET', '/api/policy');
    expect(policy.json.document.thresholds.dormantDays).toBe(45);
    await page.close();
    await danPage.close();
  });

  it('audit log: filter, search, verify the chain in one click, export CSV and JSON', async () => {
    const page = await openConsole(cara, 'audit');
    await page.getByTestId('al-audit-table').waitFor({ timeout: 20_000 });
    await page.getByTestId('al-audit-action').fill('policy.');
    await page.getByTestId('al-audit-apply').click();
    await expect
      .poll(
        async () =>
          new Set((await page.getByTestId('al-audit-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))).map((a) => a!.split('.')[0])),
      )
      .toEqual(new Set(['policy']));
    const actions = await page.getByTestId('al-audit-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
    expect(actions.length).toBeGreaterThanOrEqual(2); // proposed, then applied

    await page.getByTestId('al-audit-verify').click();
    await expect.poll(() => page.getByTestId('al-audit-verified').getAttribute('data-ok')).toBe('true');
    await screenshot(page, 'console-audit', 'docs');

    const csv = await downloaded(page, () => page.getByTestId('al-audit-export-csv').click());
    expect(csv.name).toMatch(/^audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = csv.text
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe('seq,at,actor_id,actor_name,action,subject_type,subject_id,data,prev_hash,hash');
    expect(lines.slice(1).every((l) => /^\d+,[^,]+,[^,]*,[^,]*,policy\./.test(l))).toBe(true);
    expect(lines.length - 1).toBe(actions.length);
    const json = await downloaded(page, () => page.getByTestId('al-audit-export-json').click());
    const events = JSON.parse(json.text) as { action: string; hash: string }[];
    expect(events.map((e) => e.action).sort()).toEqual([...actions].sort());
    expect(events.every((e) => /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
    await page.close();
  });

  it('a review campaign: Cara starts it in the console; Ben keeps and revokes his reports’ items in his popup, by keyboard and mouse', async () => {
    const page = await openConsole(cara, 'reviews');
    await page.getByText('Start a review campaign').click();
    await page.getByTestId('al-review-name').fill('Q2 Sales access review');
    await page.getByTestId('al-review-department').fill('Sales');
    await page.getByTestId('al-review-start').click();
    const campaign = page.getByTestId('al-review-campaign').filter({ hasText: 'Q2 Sales access review' });
    await campaign.waitFor({ timeout: 20_000 });
    const campaignId = (await campaign.getAttribute('data-campaign-id'))!;

    const popup = await ben.open('popup.html');
    const items = popup.getByTestId('al-review-item');
    await items.first().waitFor({ timeout: 20_000 });
    const people = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-person-id')));
    expect(new Set(people)).toEqual(new Set(['p-ava', 'p-eli', 'p-jon']));
    await screenshot(popup, 'popup-access-reviews', 'docs');
    expect(await axe(popup)).toEqual([]);

    // Keyboard: select the first two items that are not Jon's and keep them with "y".
    const keepIds: string[] = [];
    await items.first().focus();
    for (let i = 0; i < people.length; i++) {
      if (people[i] !== 'p-jon' && keepIds.length < 2) {
        await popup.keyboard.press('Space');
        keepIds.push((await items.nth(i).getAttribute('data-item-id'))!);
      }
      await popup.keyboard.press('ArrowDown');
    }
    expect(await popup.getByTestId('al-review-select').evaluateAll((els) => els.filter((e) => (e as HTMLInputElement).checked).length)).toBe(keepIds.length);
    await popup.keyboard.press('y');
    await expect.poll(() => items.count()).toBe(people.length - keepIds.length);

    // Revoking needs a comment: without one, the popup says so and nothing is sent.
    const jonItems = popup.locator('[data-testid="al-review-item"][data-person-id="p-jon"]');
    const jonBefore = await jonItems.count();
    expect(jonBefore).toBeGreaterThan(0);
    const revokeId = (await jonItems.first().getAttribute('data-item-id'))!;
    await jonItems.first().getByTestId('al-review-revoke').click();
    await popup.getByTestId('al-review-error').filter({ hasText: 'why' }).waitFor();
    expect(await jonItems.count()).toBe(jonBefore);
    await popup.getByTestId('al-review-comment').fill('Left the company in March');
    await jonItems.first().getByTestId('al-review-revoke').click();
    await expect.poll(() => jonItems.count()).toBe(jonBefore - 1);
    // The rest, kept one by one with the mouse.
    for (let left = await items.count(); left > 0; left--) {
      await items.first().getByTestId('al-review-keep').click();
      await expect.poll(() => items.count()).toBe(left - 1);
    }
    await expect.poll(() => popup.getByTestId('al-reviews').count()).toBe(0);

    const report = await api.call('GET', `/api/reviews/campaigns/${campaignId}/report`);
    const mine = report.json.items.filter((i: any) => i.reviewers.some((r: any) => r.id === 'p-ben'));
    const byId = Object.fromEntries(mine.map((i: any) => [i.id, i]));
    for (const id of keepIds) expect(byId[id]).toMatchObject({ decision: 'keep', decidedBy: { id: 'p-ben' } });
    expect(byId[revokeId]).toMatchObject({ decision: 'revoke', comment: 'Left the company in March', outcome: 'revoked', decidedBy: { id: 'p-ben' } });
    expect(byId[revokeId].revocation.taskIds.length + byId[revokeId].revocation.requestIds.length).toBeGreaterThan(0);
    expect(mine.every((i: any) => i.decision !== null)).toBe(true);
    await popup.close();
    await page.close();
  });

  it('people and licences: who holds what and why, seats, reclaim; others see "admins only"', async () => {
    const page = await openConsole(cara, 'people');
    await page.getByTestId('al-people-search').fill('Dan');
    await page.locator('[data-testid="al-people-person"][data-person-id="p-dan"]').click();
    const quote = page.locator('[data-testid="al-people-permission"][data-key="object:Quote:edit"]');
    await quote.waitFor({ timeout: 20_000 });
    expect(await quote.innerText()).toContain('Revenue Ops › Quote Desk');
    await page.locator('[data-testid="al-people-permission"][data-key="object:Opportunity:read"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-people', 'docs');

    // Who holds a permission, with the paths.
    await page.getByText('Who holds a permission?').click();
    await page.getByTestId('al-holders-connection').selectOption({ label: 'Acme Salesforce' });
    await page.getByTestId('al-holders-key').fill('system:ExportReport');
    await page.getByRole('button', { name: 'Find holders' }).click();
    const holders = page.getByTestId('al-holders');
    await holders.waitFor({ timeout: 20_000 });
    for (const name of ['Ben Ortiz', 'Dan Wu', 'Gil Novak', 'Cara Diaz']) expect(await holders.innerText()).toContain(name);

    await page.getByTestId('al-console-tab-licences').click();
    const licence = page.locator('[data-testid="al-licence"][data-licence-id="lic-sf-platform"]');
    await licence.waitFor({ timeout: 20_000 });
    expect(await licence.innerText()).toContain('Jon Park');
    await screenshot(page, 'console-licences', 'docs');
    // Jon left: his seat is reclaimed in one click (a revoke job or an admin task), and says so.
    await licence.locator('li').filter({ hasText: 'Jon Park' }).getByTestId('al-licence-holder').check();
    await licence.getByTestId('al-licence-reclaim').click();
    await licence.getByRole('status').filter({ hasText: 'Reclaim started' }).waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await licence.locator('li').filter({ hasText: 'Jon Park' }).innerText()).includes('reclaim started')).toBe(true);

    const benConsole = await openConsole(ben);
    await benConsole.getByTestId('al-console-admins-only').waitFor({ timeout: 20_000 });
    await benConsole.close();
    await page.close();
  });

  it('axe-core: no serious or critical problem on any tab of the console; the tabs move with the arrow keys', async () => {
    const page = await openConsole(cara);
    await page.getByTestId('al-findings-table').waitFor({ timeout: 20_000 });
    const found: Record<string, unknown> = {};
    for (const tab of ['findings', 'people', 'policy', 'reviews', 'audit', 'licences', 'tasks']) {
      await page.getByTestId(`al-console-tab-${tab}`).click();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      await expect.poll(() => page.locator('[role="tabpanel"] .muted, [role="tabpanel"] table, [role="tabpanel"] section').count()).toBeGreaterThan(0);
      const v = await axe(page);
      if (v.length) found[tab] = v;
    }
    expect(found).toEqual({});
    // Keyboard: the tabs move with the arrow keys.
    await page.getByTestId('al-console-tab-tasks').focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('al-console-tab-findings');
    await page.close();
  });
});
