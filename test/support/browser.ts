/**
 * Launches Debian's Chromium with the built extension loaded (recipe: shared/reference/browser-testing.md),
 * one fresh profile per person, with the real Salesforce hostnames mapped to the local fixture server.
 */
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './server.ts';

/** The end-to-end build (`pnpm build:e2e`): an open shadow root, so Playwright can reach the overlay. */
export const defaultExtensionPath = join(repoRoot, 'extension/.output-e2e/chrome-mv3');
/** The production build (`pnpm build`): what people install; its overlay's shadow root is closed. */
export const productionExtensionPath = join(repoRoot, 'extension/.output/chrome-mv3');
export const artifactsDir = join(repoRoot, 'test/artifacts');
/** README screenshots are refreshed only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean. */
export const screenshotsDir = process.env.UPDATE_SCREENSHOTS ? join(repoRoot, 'docs/screenshots') : join(artifactsDir, 'screenshots');

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`Chromium not found at ${path}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  return path;
}

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  worker: Worker;
  open(path: 'popup.html' | 'options.html'): Promise<Page>;
  close(): Promise<void>;
}

export async function launchWithExtension(options: {
  /** Where the CRM fixture listens; its hosts resolve there. Left out for tests of the popup and settings alone. */
  crmPort?: number;
  crmHosts?: string[];
  locale?: string;
  /** Defaults to the end-to-end build. */
  extension?: string;
}): Promise<ExtensionBrowser> {
  const extension = options.extension ?? defaultExtensionPath;
  if (!existsSync(join(extension, 'manifest.json')))
    throw new Error(`built extension missing at ${extension}: run \`pnpm build:e2e\` (or \`pnpm build\`) first`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'accesslens-profile-'));
  // Each browser loads its own copy of the build, so a test never sees another's files change under it.
  const loaded = join(userDataDir, 'extension');
  cpSync(extension, loaded, { recursive: true });
  const rules = (options.crmHosts ?? []).map((h) => `MAP ${h} 127.0.0.1:${options.crmPort}`).join(', ');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    locale: options.locale ?? 'en-US',
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless=new',
      `--disable-extensions-except=${loaded}`,
      `--load-extension=${loaded}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(rules ? [`--host-resolver-rules=${rules}`] : []),
      '--ignore-certificate-errors',
      `--lang=${options.locale ?? 'en-US'}`,
    ],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
  const extensionId = new URL(worker.url()).host;
  return {
    context,
    extensionId,
    worker,
    async open(path) {
      const page = await context.newPage();
      // The popup is a small window in the browser; keep its screenshots that size.
      if (path === 'popup.html') await page.setViewportSize({ width: 420, height: 640 });
      await page.goto(`chrome-extension://${extensionId}/${path}`);
      return page;
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the options page, as a person would. */
export async function signIn(browser: ExtensionBrowser, serverUrl: string, email: string, password: string, name: string) {
  const options = await browser.open('options.html');
  await options.getByTestId('al-server-url').fill(serverUrl);
  await options.getByTestId('al-email').fill(email);
  await options.getByTestId('al-password').fill(password);
  // The server's sign-in methods first: an SSO button appearing above the form moves the button under the click.
  await options.locator('form[data-methods="shown"]').waitFor({ timeout: 30_000 });
  await options.getByTestId('al-sign-in').click();
  try {
    await options.getByTestId('al-signed-in-as').filter({ hasText: name }).waitFor({ timeout: 30_000 });
  } catch (error) {
    // Say what the settings page showed instead (an error message, usually).
    const shown = await options
      .locator('body')
      .innerText()
      .catch(() => '(unreadable)');
    throw new Error(`signing in as ${email} did not finish; the settings page shows:\n${shown}`, { cause: error });
  }
  return options;
}

export async function screenshot(page: Page, name: string, where: 'artifacts' | 'docs' = 'artifacts') {
  const dir = where === 'docs' ? screenshotsDir : artifactsDir;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) });
}

/** The extension's badge text, read from its service worker. */
export async function badgeText(browser: ExtensionBrowser): Promise<string> {
  return browser.worker.evaluate(() => (globalThis as any).chrome.action.getBadgeText({}));
}

/** An alarm of the extension as Chrome holds it, or null. */
export async function alarmOf(browser: ExtensionBrowser, name: string): Promise<{ periodInMinutes?: number; scheduledTime: number } | null> {
  return browser.worker.evaluate(async (n) => (await (globalThis as any).chrome.alarms.get(n)) ?? null, name);
}

/**
 * Plays an alarm's time passing: runs what the extension does when `name` fires, and waits for it
 * (end-to-end builds expose the handler; tests drive the clock instead of waiting for Chrome's).
 */
export async function fireAlarm(browser: ExtensionBrowser, name: string): Promise<void> {
  await browser.worker.evaluate(async (n) => {
    const fire = (globalThis as any).accesslensFireAlarm as ((name: string) => Promise<void>) | undefined;
    if (!fire) throw new Error('not an end-to-end build: run `pnpm build:e2e`');
    await fire(n);
  }, name);
}

/** A value the extension keeps in storage.local (as WXT names it, without `local:`). */
export async function storedValue<T = unknown>(browser: ExtensionBrowser, key: string): Promise<T | undefined> {
  return browser.worker.evaluate(async (k) => ((await (globalThis as any).chrome.storage.local.get(k)) as Record<string, unknown>)[k], key) as Promise<
    T | undefined
  >;
}

/** Saves a screenshot of every open page of each browser, named after the failed test. */
export async function captureFailure(testName: string, browsers: Record<string, ExtensionBrowser | undefined>) {
  const safe = testName.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80);
  for (const [who, browser] of Object.entries(browsers)) {
    const pages = browser?.context.pages() ?? [];
    for (const [i, page] of pages.entries()) {
      await screenshot(page, `FAILED-${safe}-${who}-${i}`).catch(() => undefined);
    }
  }
}
