// Makes sure a Chromium for the end-to-end tests is present: CHROMIUM_PATH or /usr/bin/chromium.
// On Debian/Ubuntu as root it installs Debian's package (Playwright's own browser download cannot work
// on machines without general internet access); elsewhere it says what to do.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (!process.env.CHROMIUM_PATH && hasApt) {
  const sudo = isRoot ? '' : 'sudo ';
  console.log(`Chromium not found at ${path}; installing Debian's chromium package…`);
  try {
    execSync(`${sudo}apt-get update -qq && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium`, {
      stdio: 'inherit',
    });
  } catch {
    // reported below
  }
  if (existsSync(path)) process.exit(0);
}
console.error(
  `End-to-end tests need Chromium at ${path}. Install it (Debian/Ubuntu: apt-get install chromium) ` + 'or point CHROMIUM_PATH at a Chromium or Chrome binary.',
);
process.exit(1);
