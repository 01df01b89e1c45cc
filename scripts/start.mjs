// `pnpm start`: the server on its embedded defaults with the demo org (and Acme Desk, the demo's in-house
// CRM), after the extension is built. Where a display is available and a Chromium or Chrome is found, it
// opens one with the extension loaded, on Acme Desk's sign-in page, as `wxt dev` would; otherwise the
// server's start-up lines say what to click. ACCESSLENS_OPEN_BROWSER=0 never opens a browser.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const extension = join(root, 'extension/.output/chrome-mv3');

const server = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
  cwd: root,
  stdio: ['inherit', 'pipe', 'inherit'],
  env: process.env,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code) => process.exit(code ?? 0));

function browserPath() {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
  ];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
let opened = false;
let log = '';
server.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  log += chunk.toString();
  const desk = /Acme Desk \(the demo's in-house CRM\) on (http:\/\/\S+)/.exec(log);
  if (opened || !/listening on http/.test(log) || !desk) return;
  opened = true;
  const browser = browserPath();
  if (process.env.ACCESSLENS_OPEN_BROWSER === '0' || !hasDisplay || !browser) {
    console.log(
      hasDisplay && !browser
        ? 'No Chromium or Chrome found to open (set CHROMIUM_PATH): load the extension by hand as above.'
        : 'No display here: load the extension by hand as above.',
    );
    return;
  }
  const profile = join(root, 'server/data/chromium-profile');
  mkdirSync(profile, { recursive: true });
  console.log(`Opening ${browser} with the extension loaded (profile ${profile}); click its toolbar icon to open its settings.`);
  spawn(
    browser,
    [
      `--user-data-dir=${profile}`,
      `--load-extension=${extension}`,
      // Chrome (branded) 137+ ignores --load-extension unless this is off; Chromium honours it either way.
      '--disable-features=DisableLoadExtensionCommandLineSwitch',
      '--no-first-run',
      '--no-default-browser-check',
      `${desk[1]}/login`,
    ],
    { stdio: 'ignore', detached: true },
  ).unref();
});
