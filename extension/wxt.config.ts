import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';
import { LOCALES } from '@accesslens/shared/constants';
import { DEVELOPMENT_EXTENSION_KEY } from '@accesslens/shared/extension-id';
import { chromeMessages, LOCALE_FOLDERS } from './locales';

// See https://wxt.dev/api/config.html
export default defineConfig({
  // The end-to-end build (open shadow root) goes beside the production one, never over it.
  outDir: process.env.ACCESSLENS_E2E === '1' ? '.output-e2e' : '.output',
  // Explicit imports everywhere: every name's origin stays visible.
  imports: false,
  manifest: {
    name: 'AccessLens',
    description: '__MSG_extDescription__',
    default_locale: 'en',
    // No host permissions up front: the server answers CORS for extension origins, and the built-in
    // CRMs' content scripts are declared with their own match patterns. In-house CRMs' hosts are asked
    // for at run time, one host at a time, when the person allows them in settings (`scripting` then
    // registers the in-house content script for them). `identity`: single sign-on (launchWebAuthFlow).
    // `notifications`: browser notifications of each request's steps (background/notifications.ts).
    permissions: ['storage', 'alarms', 'identity', 'scripting', 'notifications'],
    optional_host_permissions: ['https://*/*', 'http://*/*'],
    // The end-to-end build only: the browser's own prompt for an optional host permission cannot be
    // answered by an automated test, so this build is given loopback in-house CRMs (the tests' Acme
    // Desk) as the person's "Allow" would. Production asks, one host at a time.
    ...(process.env.ACCESSLENS_E2E === '1' ? { host_permissions: ['http://localhost/*'] } : {}),
    action: { default_title: 'AccessLens' },
    // Pins the extension id of unpacked builds (DEVELOPMENT_EXTENSION_ID), which the server's CORS
    // allows by default (ACCESSLENS_EXTENSION_IDS). A store package leaves it out: the store assigns the id.
    key: DEVELOPMENT_EXTENSION_KEY,
  },
  hooks: {
    // Strings ship as the browser's own `_locales`, generated from locales/*.ts (one source of truth).
    'build:publicAssets': (_wxt, files) => {
      for (const locale of LOCALES)
        files.push({
          relativeDest: `_locales/${LOCALE_FOLDERS[locale]}/messages.json`,
          contents: `${JSON.stringify(chromeMessages(locale), null, 2)}\n`,
        });
    },
  },
  vite: () => ({
    define: { 'import.meta.env.ACCESSLENS_E2E': JSON.stringify(process.env.ACCESSLENS_E2E === '1') },
    plugins: [preact({ prefreshEnabled: false, devToolsEnabled: false })],
  }),
});
