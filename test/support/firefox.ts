/**
 * Launches Debian's Firefox ESR with the built extension, driven over WebDriver BiDi (puppeteer-core; no
 * browser download), and installs the add-on as a temporary add-on with BiDi's `webExtension.install`.
 *
 * Real CRM hostnames on loopback: Firefox has no `--host-resolver-rules`, and `network.dns.localDomains`
 * would still need port 443. Instead Firefox's HTTPS proxy is this file's small CONNECT proxy on loopback,
 * which tunnels the fixture hosts (and only them) to the fixture server's port; everything else is
 * refused, so nothing leaves the machine. The fixture's self-signed certificate is accepted with BiDi's
 * `acceptInsecureCerts` session capability. The extension's own pages (`moz-extension://`) cannot be
 * navigated to over BiDi ("not allowed in this context"), so the launcher opens the settings page as a
 * signed-out person does (the overlay on a denied CRM page → "Open AccessLens settings"), keeps it as its
 * control page, and opens the others from it with `tabs.create`.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { GECKO_ID } from '../../extension/build/firefox.ts';
import { artifactsDir } from './browser.ts';
import { repoRoot } from './server.ts';

/** The end-to-end build for Firefox (`pnpm build:e2e`): an open shadow root, so the test can reach the overlay. */
export const firefoxExtensionPath = join(repoRoot, 'extension/.output-e2e/firefox-mv3');

export function firefoxPath(): string {
  const path = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
  if (!existsSync(path)) throw new Error(`Firefox not found at ${path}: install it (apt-get install firefox-esr) or set FIREFOX_PATH`);
  return path;
}

/** The event-page idle time the test profile sets (Firefox's default is 30 s). */
export const FIREFOX_IDLE_MS = 15_000;

/**
 * A fixed internal UUID (pref `extensions.webextensions.uuids`), so the extension's origin is known: the
 * server under test lists it in ACCESSLENS_EXTENSION_IDS, as a company lists its Firefox installations.
 */
export const EXTENSION_UUID = '6f1c2a3e-0b7d-4c59-9e41-a5d0c3b2e817';

export interface FirefoxWithExtension {
  browser: Browser;
  /** `moz-extension://<uuid>` */
  origin: string;
  /** The add-on id BiDi reported (the manifest's gecko id). */
  addonId: string;
  /** The settings page the add-on opened by itself on install, kept open to reach extension APIs. */
  control: Page;
  open(path: 'popup.html' | 'options.html'): Promise<Page>;
  newPage(): Promise<Page>;
  badgeText(): Promise<string>;
  close(): Promise<void>;
}

/**
 * An HTTPS (CONNECT) proxy on loopback that tunnels the given hostnames to `127.0.0.1:port` and refuses
 * everything else.
 */
export async function hostMappingProxy(hosts: readonly string[], port: number): Promise<{ port: number; close(): Promise<void> }> {
  const allowed = new Set(hosts.map((h) => h.toLowerCase()));
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(403).end('only CONNECT to the CRM fixture hosts'));
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const [host, targetPort] = (req.url ?? '').split(':');
    if (!host || !allowed.has(host.toLowerCase()) || (targetPort ?? '443') !== '443') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface StreamRecord {
  openedAt: number;
  closedAt: number | null;
}

/**
 * A pass-through HTTP proxy in front of the AccessLens server for one browser, recording each
 * `GET /api/sync/events` stream it carries: the test sees that the extension's background holds its
 * live stream open in Firefox, and for how long.
 */
export async function watchedServer(target: string): Promise<{ url: string; streams: StreamRecord[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const streams: StreamRecord[] = [];
  const server = createServer((req, res) => {
    const record: StreamRecord | null = req.method === 'GET' && req.url?.startsWith('/api/sync/events') ? { openedAt: Date.now(), closedAt: null } : null;
    if (record) streams.push(record);
    const forward = httpRequest(
      { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
    res.on('close', () => {
      if (record) record.closedAt = Date.now();
      forward.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function launchFirefoxWithExtension(options: { crmPort: number; crmHosts: string[]; extension?: string }): Promise<FirefoxWithExtension> {
  const extension = options.extension ?? firefoxExtensionPath;
  if (!existsSync(join(extension, 'manifest.json'))) throw new Error(`built extension missing at ${extension}: run \`pnpm build:e2e\` first`);
  const proxy = await hostMappingProxy(options.crmHosts, options.crmPort);
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath(),
    headless: true,
    acceptInsecureCerts: true,
    defaultViewport: { width: 1280, height: 800 },
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [GECKO_ID]: EXTENSION_UUID }),
      // HTTPS through the host-mapping proxy; plain HTTP (the AccessLens server on 127.0.0.1) goes direct.
      'network.proxy.type': 1,
      'network.proxy.ssl': '127.0.0.1',
      'network.proxy.ssl_port': proxy.port,
      'network.proxy.no_proxies_on': 'localhost, 127.0.0.1',
      'network.proxy.allow_hijacking_localhost': false,
      // Firefox suspends an idle event page after 30 s; half that here, so a test can show within a bounded
      // wait that the UI's keepalive (10 s, protocol.ts) holds the background while a UI is open.
      'extensions.background.idle.timeout': FIREFOX_IDLE_MS,
      // permissions.request() grants without Firefox's doorhanger (browser chrome BiDi cannot click).
      'extensions.webextOptionalPermissionPrompts': false,
      'intl.locale.requested': 'en-US',
      'intl.accept_languages': 'en-US, en',
    },
  });
  const origin = `moz-extension://${EXTENSION_UUID}`;
  try {
    const addonId = await browser.installExtension(extension);
    const control = await settingsFromOverlay(browser, `${origin}/options.html`);
    return {
      browser,
      origin,
      addonId,
      control,
      async open(path) {
        const url = `${origin}/${path}`;
        const before = new Set(await browser.pages());
        await control.evaluate((u: string) => (globalThis as any).browser.tabs.create({ url: u }).then(() => undefined), url);
        const page = await pageShowing(browser, url, before, 15_000);
        if (path === 'popup.html') await page.setViewport({ width: 420, height: 640 });
        return page;
      },
      newPage: () => browser.newPage(),
      badgeText: () => control.evaluate(() => (globalThis as any).browser.action.getBadgeText({}) as Promise<string>),
      async close() {
        await browser.close().catch(() => undefined);
        await proxy.close();
      },
    };
  } catch (error) {
    await browser.close().catch(() => undefined);
    await proxy.close();
    throw error;
  }
}

/** The CRM fixture's denied Contract page: signed out, its overlay opens by itself and offers the settings. */
const SIGNED_OUT_DENIED_PAGE = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';

/** Opens the add-on's settings page as a signed-out person does, from the overlay's own button. */
async function settingsFromOverlay(browser: Browser, optionsUrl: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(SIGNED_OUT_DENIED_PAGE);
  const button = await page.waitForSelector('>>> [data-testid="al-panel"] .al-section .al-button--primary', { visible: true, timeout: 30_000 });
  await button!.click();
  // BiDi reports no navigation to a moz-extension URL: ask each tab where it is (any tab: Firefox's
  // openOptionsPage focuses a settings tab that is already open rather than opening another).
  const control = await pageShowing(browser, optionsUrl, new Set(), 30_000);
  await page.close();
  return control;
}

/** The tab (not in `except`) whose document is at `url`, once it is there and loaded. */
async function pageShowing(browser: Browser, url: string, except: Set<Page>, timeout: number): Promise<Page> {
  for (const deadline = Date.now() + timeout; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    for (const page of await browser.pages()) {
      if (except.has(page)) continue;
      const at = await page.evaluate(() => (document.readyState === 'complete' ? location.href : null)).catch(() => null);
      if (at === url) return page;
    }
  }
  throw new Error(`no tab showed ${url} within ${timeout} ms`);
}

/** Signs in through the options page, as a person would. */
export async function signInFirefox(ff: FirefoxWithExtension, serverUrl: string, email: string, password: string, name: string): Promise<Page> {
  const options = await ff.open('options.html');
  await options.locator('[data-testid="al-server-url"]').fill(serverUrl);
  await options.locator('[data-testid="al-email"]').fill(email);
  await options.locator('[data-testid="al-password"]').fill(password);
  // The server's sign-in methods first: an SSO button appearing above the form moves the button under the click.
  await options.waitForSelector('form[data-methods="shown"]', { timeout: 30_000 });
  await options.locator('[data-testid="al-sign-in"]').click();
  try {
    await options.waitForFunction(
      (n: string) => document.querySelector('[data-testid="al-signed-in-as"]')?.textContent?.includes(n) ?? false,
      { timeout: 30_000 },
      name,
    );
  } catch (error) {
    // What the page shows, and what text does not: the fields' values and whether the form is still waiting
    // on the background (its button stays disabled while the sign-in is under way).
    const shown = await options
      .evaluate(() => {
        const value = (id: string) => (document.querySelector(`[data-testid="${id}"]`) as HTMLInputElement | null)?.value ?? '(none)';
        const button = document.querySelector('[data-testid="al-sign-in"]') as HTMLButtonElement | null;
        return `${document.body.innerText}\n[server URL "${value('al-server-url')}", email "${value('al-email')}", sign-in button ${button?.disabled ? 'disabled (waiting on the background)' : 'enabled'}]`;
      })
      .catch(() => '(unreadable)');
    throw new Error(`signing in as ${email} in Firefox did not finish; the settings page shows:\n${shown}`, { cause: error });
  }
  return options;
}

export async function firefoxScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: join(artifactsDir, `${name}.png`) as `${string}.png` });
}
