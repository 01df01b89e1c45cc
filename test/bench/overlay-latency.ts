/**
 * How fast the overlay appears, per CRM, in Chromium with the production build against the real
 * server: DOMContentLoaded → badge shown (measured by the content script: performance.mark →
 * data-dcl-to-badge-ms), and a single-page or hash navigation → overlay updated (from the moment the
 * page script navigates to the content script's badge mark). Prints JSON; asserts nothing about speed.
 *
 *   pnpm bench:overlay            (NAVIGATIONS=60 pnpm bench:overlay for more)
 */
import type { Page } from 'playwright-core';
import { detectPage } from '@accesslens/shared';
import { DEMO, startServer } from '../support/server.ts';
import { CRM_FIXTURE_HOSTS, startCrmFixture } from '../support/crm-fixture.ts';
import { launchWithExtension, productionExtensionPath, signIn } from '../support/browser.ts';

const navigations = Number(process.env.NAVIGATIONS ?? 30);

/** Per CRM: pages to load, and same-document navigations (pushState or hash) between object pages. */
const CRMS: Record<string, { loads: string[]; spa: { from: string; to: string[] } }> = {
  salesforce: {
    loads: [
      'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/view',
      'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
      'https://acme.lightning.force.com/lightning/o/Opportunity/home',
    ],
    spa: {
      from: 'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/view',
      to: ['/lightning/r/Contract/800xx000001AbCdAAK/view', '/lightning/o/Account/list', '/lightning/r/Account/001xx000003DGb2AAG/view'],
    },
  },
  dynamics: {
    loads: [
      'https://acme.crm4.dynamics.com/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entityrecord&etn=account&id=5a4f6a2e-1b7c-ef11-a671-6045bd8c1d2e',
      'https://acme.crm4.dynamics.com/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entitylist&etn=account&viewid=00000000-0000-0000-00aa-000010001001',
    ],
    spa: {
      from: 'https://acme.crm4.dynamics.com/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entityrecord&etn=account&id=5a4f6a2e-1b7c-ef11-a671-6045bd8c1d2e',
      to: [
        '/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entitylist&etn=contact',
        '/main.aspx?appid=3a7f2b1c-5d4e-4f60-8a9b-0c1d2e3f4a5b&pagetype=entityrecord&etn=account&id=5a4f6a2e-1b7c-ef11-a671-6045bd8c1d2e',
      ],
    },
  },
  hubspot: {
    loads: ['https://app.hubspot.com/contacts/4242424/record/0-1/51', 'https://app.hubspot.com/contacts/4242424/objects/0-1/views/all/list'],
    spa: { from: 'https://app.hubspot.com/contacts/4242424/record/0-1/51', to: ['/contacts/4242424/record/0-2/9803454501', '/contacts/4242424/record/0-1/51'] },
  },
  zoho: {
    loads: [
      'https://crm.zoho.com.cn/crm/org7700001/tab/Leads/770000100000231001',
      'https://crm.zoho.com.cn/crm/org7700001/tab/Leads/custom-view/770000100000087501/list',
    ],
    spa: {
      from: 'https://crm.zoho.com.cn/crm/org7700001/tab/Leads/770000100000231001',
      to: ['/crm/org7700001/tab/Accounts/770000100000231002', '/crm/org7700001/tab/Leads/770000100000231001'],
    },
  },
  fxiaoke: {
    loads: ['https://www.fxiaoke.com/XV/UI/Home#crm/list/=/AccountObj', 'https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/AccountObj/65a1f0c2e4b0a1b2c3d4e5f6'],
    spa: {
      from: 'https://www.fxiaoke.com/XV/UI/Home#crm/list/=/AccountObj',
      to: ['#crm/list/=/ContactObj', '#crm/detail/=/AccountObj/65a1f0c2e4b0a1b2c3d4e5f6', '#crm/list/=/AccountObj'],
    },
  },
};

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const figures = (xs: number[]) => ({
  samples: xs.length,
  median_ms: Number(quantile(xs, 0.5).toFixed(1)),
  p95_ms: Number(quantile(xs, 0.95).toFixed(1)),
  min_ms: Number(Math.min(...xs).toFixed(1)),
  max_ms: Number(Math.max(...xs).toFixed(1)),
});

/** The badge mark of the navigation started at `since` (the page's own clock), as the content script left it. */
async function badgeAfter(page: Page, since: number): Promise<number> {
  const handle = await page.waitForFunction(
    (t) => {
      const marks = performance.getEntriesByName('accesslens:badge-shown').filter((m) => m.startTime >= t);
      return marks.length > 0 ? marks[0]!.startTime - t : null;
    },
    since,
    { timeout: 15_000, polling: 'raf' },
  );
  return (await handle.jsonValue()) as number;
}

const [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
const browser = await launchWithExtension({ crmPort: crm.port, crmHosts: [...CRM_FIXTURE_HOSTS], extension: productionExtensionPath });
const results: Record<string, unknown> = {};
try {
  await (await signIn(browser, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name)).close();
  const page = await browser.context.newPage();
  for (const [name, crmPages] of Object.entries(CRMS)) {
    const loads: number[] = [];
    for (let i = 0; i < navigations + 1; i++) {
      // A real load each time (a URL differing only in its hash would not reload the document).
      await page.goto('about:blank');
      await page.goto(crmPages.loads[i % crmPages.loads.length]!);
      const host = page.locator('accesslens-overlay[data-dcl-to-badge-ms]');
      await host.waitFor({ state: 'attached', timeout: 15_000 });
      const ms = Number(await host.getAttribute('data-dcl-to-badge-ms'));
      if (i > 0) loads.push(ms); // the first load wakes everything up
    }
    await page.goto('about:blank');
    await page.goto(crmPages.spa.from);
    await page.locator('accesslens-overlay[data-dcl-to-badge-ms]').waitFor({ state: 'attached', timeout: 15_000 });
    // A navigation to a kind of page this document has not shown yet waits for the background's answer;
    // one to another record of an object shown before is answered from the document's own memory first.
    const spa: number[] = [];
    const spaNew: number[] = [];
    const seen = new Set<string>();
    const kindOf = (url: string) => {
      const d = detectPage(url);
      return JSON.stringify([d?.pageKind, d?.object]);
    };
    seen.add(kindOf(crmPages.spa.from));
    for (let i = 0; i < navigations; i++) {
      const to = crmPages.spa.to[i % crmPages.spa.to.length]!;
      const target = new URL(to, crmPages.spa.from).href;
      const fresh = !seen.has(kindOf(target));
      seen.add(kindOf(target));
      // What the CRM's own router does: pushState (or a hash change), in the page's world.
      const since = await page.evaluate((target) => {
        const t = performance.now();
        if (target.startsWith('#')) location.hash = target;
        else history.pushState({}, '', target);
        return t;
      }, to);
      (fresh ? spaNew : spa).push(await badgeAfter(page, since));
    }
    results[name] = {
      'DOMContentLoaded → badge': figures(loads),
      'navigation → overlay updated': figures(spa),
      'navigation to a page kind not yet shown → overlay updated': figures(spaNew),
    };
    console.error(`${name}: done`);
  }
  console.log(JSON.stringify({ build: 'production', navigations, results }, null, 2));
} finally {
  await browser.close();
  await Promise.allSettled([server.dispose(), crm.close()]);
}
