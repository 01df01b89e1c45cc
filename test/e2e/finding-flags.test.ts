/**
 * Flags on CRM user pages, in Chromium with the built extension, as Cara (an administrator): on the
 * Salesforce Setup user list (the Classic list framed inside Lightning, as the real Setup does) and on
 * Dynamics 365's Users view, each user with open findings has a chip with the highest severity and the
 * count, exactly as the server counts them; users without findings (or unknown to AccessLens) have
 * none. She opens one, sees the evidence in words, accepts the risk with a reason (an empty reason is
 * refused where she types it) → the chip goes, and stays gone after a reload. She remediates another
 * finding: an admin task is opened. HubSpot, Zoho CRM and Fxiaoke's user lists flag a suspended manager.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FrameLocator, Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startCrmFixture, type CrmFixture } from '../support/crm-fixture.ts';
import { captureFailure, launchWithExtension, screenshot, signIn, type ExtensionBrowser } from '../support/browser.ts';

const SETUP_USERS = 'https://acme.lightning.force.com/lightning/setup/ManageUsers/home';
const DYN_USERS = 'https://acme.crm4.dynamics.com/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entitylist&etn=systemuser';

/** The users the fixture lists link to (as their links write the ids). */
const SF_LISTED = [
  '005xx000001SvHa',
  '005Hs0000000002',
  '005xx000001SvHc',
  '005Hs0000000001',
  '005Hs0000000005',
  '005Hs0000000006',
  '005Hs0000000009',
  '005Hs0000000011',
];
const DYN_LISTED = [
  '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c',
  '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2d',
  '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2e',
  '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b30',
  '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b31',
];
const IVY = '005Hs0000000009';
const RANK = ['low', 'medium', 'high', 'critical'];

interface Flag {
  id: string;
  severity: string;
  count: number;
}

let server: RunningServer;
let crm: CrmFixture;
let cara: ExtensionBrowser;
let api: ApiClient;

beforeAll(async () => {
  [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
  cara = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
  await signIn(cara, server.url, DEMO.cara.email, DEMO.cara.password, DEMO.cara.name).then((p) => p.close());
  api = new ApiClient(server.url);
  await api.signIn(DEMO.cara.email, DEMO.cara.password);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { cara });
});

afterAll(async () => {
  await Promise.allSettled([cara?.close()]);
  await Promise.allSettled([server?.dispose(), crm?.close()]);
});

/** What the server says each listed user should show: their open findings, highest severity and count. */
async function expected(connectionId: string, listed: string[], key: (id: string) => string): Promise<Map<string, Flag>> {
  const res = await api.call('GET', `/api/findings?connectionId=${connectionId}&status=open&limit=500`);
  expect(res.status).toBe(200);
  const out = new Map<string, Flag>();
  for (const f of res.json.findings as { externalUserId: string; severity: string }[]) {
    const id = listed.find((l) => key(l) === key(f.externalUserId));
    if (!id) continue;
    const had = out.get(id);
    out.set(id, {
      id,
      severity: had && RANK.indexOf(had.severity) > RANK.indexOf(f.severity) ? had.severity : f.severity,
      count: (had?.count ?? 0) + 1,
    });
  }
  return out;
}

async function flagsIn(where: Page | FrameLocator): Promise<Flag[]> {
  const all = await where.locator('[data-testid="al-finding-flag"]').evaluateAll((els) =>
    els.map((e) => ({
      id: e.getAttribute('data-account-external-id')!,
      severity: e.getAttribute('data-severity')!,
      count: Number(e.getAttribute('data-count')),
    })),
  );
  return all.sort((a, b) => a.id.localeCompare(b.id));
}

const sorted = (m: Map<string, Flag>) => [...m.values()].sort((a, b) => a.id.localeCompare(b.id));
const flagOf = (where: Page | FrameLocator, id: string) => where.locator(`[data-testid="al-finding-flag"][data-account-external-id="${id}"]`);

describe('flags on CRM user pages', () => {
  it('Salesforce Setup › Users: the right rows flagged; a risk accepted with a reason takes its flag away, also after a reload', async () => {
    const want = await expected('sf-acme', SF_LISTED, (id) => id.slice(0, 15));
    // The demo org's findings on this list: Ben, Dan, Kai, Cara, Ivy (dormant) and Jon (departed).
    expect([...want.keys()].sort()).toEqual(['005Hs0000000001', '005Hs0000000002', '005Hs0000000005', '005Hs0000000006', '005Hs0000000009', '005Hs0000000011']);
    expect(want.get('005Hs0000000011')).toMatchObject({ severity: 'critical', count: 1 });
    expect(want.get(IVY)).toMatchObject({ severity: 'medium', count: 1 });

    const page = await cara.context.newPage();
    await page.goto(SETUP_USERS);
    const frame = page.frameLocator('force-aloha-page iframe');
    await expect.poll(() => flagsIn(frame), { timeout: 30_000 }).toEqual(sorted(want));
    // Beside the name: right after the link that names the user.
    const ben = frame.locator('a[href^="/005Hs0000000002?"]');
    expect(await ben.evaluate((a) => a.nextElementSibling?.hasAttribute('data-accesslens-flag'))).toBe(true);
    // Nothing in the Lightning page around the frame, and no chip for Ava or for someone AccessLens does not know.
    expect(await flagsIn(page)).toEqual([]);
    expect(await flagOf(frame, '005xx000001SvHa').count()).toBe(0);

    // Ben's findings, in words.
    await flagOf(frame, '005Hs0000000002').click();
    const detail = frame.getByTestId('al-finding-detail');
    await detail.waitFor();
    await expect(detail.textContent()).resolves.toContain('Ben Ortiz');
    const benText = (await detail.textContent()) ?? '';
    expect(benText).toMatch(/not used for \d+ days/);
    expect(benText).toContain('granted by Report Builder');
    expect(await detail.getByTestId('al-finding').count()).toBe(want.get('005Hs0000000002')!.count);
    await screenshot(page, 'finding-flags', 'docs');
    await detail.getByRole('button', { name: 'Close' }).click();
    await detail.waitFor({ state: 'detached' });

    // Dan's separation-of-duties conflict names both sides.
    await flagOf(frame, '005Hs0000000001').click();
    await expect
      .poll(async () => (await frame.getByTestId('al-finding-detail').textContent()) ?? '')
      .toContain('separation of duties: Quote Desk + Contract Manager');
    await frame.getByRole('button', { name: 'Close' }).click();

    // Ivy: accept the dormant-account risk. Without a reason the form says so where she types.
    await flagOf(frame, IVY).click();
    const ivy = frame.locator(`[data-testid="al-finding-detail"][data-account-external-id="${IVY}"]`);
    await ivy.waitFor();
    await expect(ivy.textContent()).resolves.toMatch(/no sign-in for \d+ days \(the limit is 30\)/);
    await ivy.getByTestId('al-accept-risk').click();
    await ivy.getByTestId('al-accept-submit').click();
    await expect(ivy.getByTestId('al-accept-reason-error').textContent()).resolves.toBe('Give a reason.');
    await ivy.getByTestId('al-accept-reason').fill('Ivy is on parental leave until March; her access stays.');
    await ivy.getByTestId('al-accept-submit').click();
    await ivy.getByTestId('al-flags-empty').waitFor({ timeout: 15_000 });
    await expect.poll(() => flagOf(frame, IVY).count(), { timeout: 15_000 }).toBe(0);
    const accepted = (await api.call('GET', '/api/findings?connectionId=sf-acme&status=accepted')).json.findings as {
      externalUserId: string;
      acceptance: { reason: string };
    }[];
    expect(accepted.find((f) => f.externalUserId.startsWith(IVY))?.acceptance.reason).toBe('Ivy is on parental leave until March; her access stays.');

    // Reopened, the page flags the same users but Ivy.
    want.delete(IVY);
    await page.reload();
    const again = page.frameLocator('force-aloha-page iframe');
    await expect.poll(() => flagsIn(again), { timeout: 30_000 }).toEqual(sorted(want));

    // Ben's own Setup page (his 18-character id in the address): a chip beside the page's heading.
    await page.goto('https://acme.lightning.force.com/lightning/setup/ManageUsers/page?address=%2F005Hs0000000002AAA%3Fnoredirect%3D1');
    await expect.poll(() => flagsIn(page), { timeout: 30_000 }).toEqual([{ ...want.get('005Hs0000000002')!, id: '005Hs0000000002AAA' }]);
    expect(await page.locator('h1 [data-accesslens-flag]').count()).toBe(1);
    await page.close();
  });

  it('Dynamics 365 › Users: flags follow the server, a finding remediated opens an admin task', async () => {
    // Dan is suspended: his accounts are now findings everywhere (Dynamics included).
    expect((await api.call('PATCH', '/api/admin/people/p-dan', { status: 'suspended' })).status).toBe(200);
    const want = await expected('dyn-acme', DYN_LISTED, (id) => id.toLowerCase());
    expect(want.has('7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b30')).toBe(true);

    const page = await cara.context.newPage();
    await page.goto(DYN_USERS);
    await expect.poll(() => flagsIn(page), { timeout: 30_000 }).toEqual(sorted(want));
    expect(await flagOf(page, '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c').count()).toBe(0); // Ava

    await flagOf(page, '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b30').click();
    const detail = page.getByTestId('al-finding-detail');
    await expect.poll(async () => (await detail.textContent()) ?? '').toContain('the person is suspended; the account is still active');
    const inactive = detail.locator('[data-testid="al-finding"][data-kind="inactive-person"]');
    await inactive.getByTestId('al-remediate').click();
    await inactive.getByTestId('al-remediate-confirm').click();
    await expect
      .poll(
        async () =>
          (await detail
            .getByTestId('al-flags-notice')
            .textContent()
            .catch(() => '')) ?? '',
        { timeout: 15_000 },
      )
      .toMatch(/Remediation started: 0 revoke jobs, 1 admin tasks\./);
    const tasks = (await api.call('GET', '/api/admin/tasks?status=open&connectionId=dyn-acme')).json.tasks as { kind: string }[];
    expect(tasks.some((t) => t.kind === 'revoke')).toBe(true);

    // Dan's user form: the chip beside his name in the form's header.
    const dan = want.get('7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b30')!;
    await page.goto(`${DYN_USERS.replace('pagetype=entitylist', 'pagetype=entityrecord')}&id=7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b30`);
    await expect.poll(() => flagsIn(page), { timeout: 30_000 }).toEqual([dan]);
    expect(await page.locator('[data-id="header_title"] [data-accesslens-flag]').count()).toBe(1);
    await page.close();
  });

  it.each([
    ['hubspot', 'hs-acme', 'https://app.hubspot.com/settings/4242424/users', ['61002', '61003', '61004'], '61003'],
    [
      'zoho',
      'zoho-acme',
      'https://crm.zoho.com.cn/crm/org7700001/settings/users',
      ['770000100000000301', '770000100000000302', '770000100000000303'],
      '770000100000000302',
    ],
    ['fxiaoke', 'fx-acme', 'https://www.fxiaoke.com/XV/UI/Home#crm/list/=/PersonnelObj', ['1001', '1002', '1003'], '1002'],
  ])('%s users: the suspended manager is flagged, as the server counts', async (_crm, connectionId, url, listed, ben) => {
    if ((await api.call('GET', '/api/admin/people/p-ben')).json.person.status !== 'suspended')
      expect((await api.call('PATCH', '/api/admin/people/p-ben', { status: 'suspended' })).status).toBe(200);
    const want = await expected(connectionId, listed, (id) => id);
    expect(want.has(ben)).toBe(true);
    const page = await cara.context.newPage();
    await page.goto(url);
    await expect.poll(() => flagsIn(page), { timeout: 30_000 }).toEqual(sorted(want));
    await page.close();
  });
});
