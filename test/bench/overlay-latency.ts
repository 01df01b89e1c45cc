/**
 * Time from a Salesforce page's DOMContentLoaded to the AccessLens badge being shown, measured by the
 * content script itself (performance.mark → data-dcl-to-badge-ms), over many navigations in Chromium
 * with the built extension, against the real server. Prints JSON figures; asserts nothing about speed.
 *
 *   pnpm bench:overlay            (NAVIGATIONS=40 pnpm bench:overlay for more)
 */
import { DEMO, startServer } from '../support/server.ts';
import { startCrmFixture } from '../support/crm-fixture.ts';
import { launchWithExtension, signIn } from '../support/browser.ts';

const navigations = Number(process.env.NAVIGATIONS ?? 30);
const urls = [
  'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/view',
  'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
  'https://acme.lightning.force.com/lightning/o/Opportunity/home',
];

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const [server, crm] = await Promise.all([startServer(), startCrmFixture()]);
const browser = await launchWithExtension({ crmPort: crm.port, crmHosts: crm.hosts });
try {
  await (await signIn(browser, server.url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name)).close();
  const page = await browser.context.newPage();
  const samples: number[] = [];
  for (let i = 0; i < navigations + 1; i++) {
    await page.goto(urls[i % urls.length]!);
    const host = page.locator('accesslens-overlay[data-dcl-to-badge-ms]');
    await host.waitFor({ state: 'attached', timeout: 15_000 });
    const ms = Number(await host.getAttribute('data-dcl-to-badge-ms'));
    if (i > 0) samples.push(ms); // the first navigation wakes everything up; report it separately
    else console.error(`first navigation (cold): ${ms.toFixed(1)} ms`);
  }
  console.log(
    JSON.stringify(
      {
        metric: 'DOMContentLoaded → overlay badge shown (ms)',
        navigations: samples.length,
        median_ms: Number(quantile(samples, 0.5).toFixed(1)),
        p90_ms: Number(quantile(samples, 0.9).toFixed(1)),
        min_ms: Number(Math.min(...samples).toFixed(1)),
        max_ms: Number(Math.max(...samples).toFixed(1)),
      },
      null,
      2,
    ),
  );
} finally {
  await browser.close();
  await Promise.allSettled([server.dispose(), crm.close()]);
}
