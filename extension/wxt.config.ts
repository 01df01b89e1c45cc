import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';
import { join } from 'node:path';
import { LOCALES } from '@accesslens/shared/constants';
import { DEVELOPMENT_EXTENSION_KEY } from '@accesslens/shared/extension-id';
import { SALESFORCE_API_HOSTS } from '@accesslens/shared/live-check';
import { chromeMessages, LOCALE_FOLDERS } from './locales';
import { geckoSettings } from './build/firefox';
import { iconPaths, writeIcons } from './build/icons';
import { preactNoHtml } from './build/preact-no-html';

// See https://wxt.dev/api/config.html
export default defineConfig({
  // The end-to-end build (open shadow root) goes beside the production one, never over it.
  // Store packages (`pnpm zip`, ACCESSLENS_STORE=1) are built apart, without the development key, so they never
  // replace the unpacked build people load (which keeps the key and so the id the server allows by default).
  outDir: process.env.ACCESSLENS_E2E === '1' ? '.output-e2e' : process.env.ACCESSLENS_STORE === '1' ? '.output-store' : '.output',
  // Explicit imports everywhere: every name's origin stays visible.
  imports: false,
  // Chrome and Edge take `chrome-mv3`, Firefox `firefox-mv3` (`wxt build -b firefox --mv3`; see build/firefox.ts).
  manifest: ({ browser }) => ({
    name: 'AccessLens',
    description: '__MSG_extDescription__',
    default_locale: 'en',
    icons: iconPaths(),
    // No host permissions up front beyond Salesforce's API hosts (below): the server answers CORS for extension
    // origins, and the built-in CRMs' content scripts are declared with their own match patterns. In-house CRMs' hosts are asked
    // for at run time, one host at a time, when the person allows them in settings (`scripting` then
    // registers the in-house content script for them). `identity`: single sign-on (launchWebAuthFlow).
    // `notifications`: browser notifications of each request's steps (background/notifications.ts).
    // `cookies` + the Salesforce My Domain API hosts (SALESFORCE_API_HOSTS): after a grant, the background asks
    // Salesforce's current-user APIs whether it works, with the org's session cookie (background/live-check.ts).
    // These hosts are already the Salesforce content script's, so installing asks nothing new.
    permissions: ['storage', 'alarms', 'identity', 'scripting', 'notifications', 'cookies'],
    optional_host_permissions: ['https://*/*', 'http://*/*'],
    // The Chromium end-to-end build only: Chromium's prompt for an optional host permission cannot be
    // answered by an automated test, so this build is given loopback in-house CRMs (the tests' Acme Desk) as
    // the person's "Allow" would. Production asks, one host at a time. Firefox's end-to-end build keeps the
    // production path: its test turns the prompt off (extensions.webextOptionalPermissionPrompts) and allows
    // a host from settings as a person does.
    host_permissions: [...SALESFORCE_API_HOSTS, ...(process.env.ACCESSLENS_E2E === '1' && browser !== 'firefox' ? ['http://localhost/*'] : [])],
    action: { default_title: 'AccessLens', default_icon: iconPaths() },
    ...(browser === 'firefox' ? { browser_specific_settings: geckoSettings() } : {}),
    // Pins the extension id of unpacked Chromium builds (DEVELOPMENT_EXTENSION_ID), which the server's CORS
    // allows by default (ACCESSLENS_EXTENSION_IDS). Store packages (`pnpm zip`) leave it out: the store assigns
    // the id. Firefox uses its gecko id instead.
    ...(browser !== 'firefox' && process.env.ACCESSLENS_STORE !== '1' ? { key: DEVELOPMENT_EXTENSION_KEY } : {}),
  }),
  hooks: {
    // Strings ship as the browser's own `_locales`, generated from locales/*.ts (one source of truth);
    // icons are rendered from assets/icon.svg.
    'build:publicAssets': (wxt, files) => {
      for (const locale of LOCALES)
        files.push({
          relativeDest: `_locales/${LOCALE_FOLDERS[locale]}/messages.json`,
          contents: `${JSON.stringify(chromeMessages(locale), null, 2)}\n`,
        });
      files.push(...writeIcons(join(wxt.config.wxtDir, 'icons')));
    },
  },
  zip: {
    name: 'accesslens',
    // Store reviewers (Firefox) rebuild from the sources zip: it holds the workspace root's package.json,
    // lockfile and workspace file, shared/ and extension/ — everything `pnpm build:firefox` reads, and
    // nothing of the server or the tests. README, "Building the store packages", says the command.
    sourcesRoot: join(import.meta.dirname, '..'),
    excludeSources: [
      'server/**',
      'test/**',
      'docs/**',
      'scripts/**',
      'vitest.config.ts',
      '**/*.db',
      '**/*.db-*',
      '**/*.key',
      '**/*.log',
      'extension/.output*/**',
      'extension/.wxt/**',
      '**/*.test.ts',
      '**/*.test.tsx',
      'extension/vitest.*',
      'extension/locales/testing.ts',
      'extension/entrypoints/background/test-server.ts',
      'extension/entrypoints/background/test-server-seed.ts',
    ],
  },
  vite: () => ({
    define: { 'import.meta.env.ACCESSLENS_E2E': JSON.stringify(process.env.ACCESSLENS_E2E === '1') },
    plugins: [preactNoHtml(), preact({ prefreshEnabled: false, devToolsEnabled: false })],
  }),
});
