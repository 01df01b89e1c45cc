// Makes sure a Firefox ESR for the Firefox end-to-end test is present: FIREFOX_PATH or /usr/bin/firefox-esr.
// On Debian/Ubuntu as root it installs Debian's firefox-esr package (no browser download of its own);
// elsewhere it says what to do.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const path = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
if (existsSync(path)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (!process.env.FIREFOX_PATH && hasApt) {
  const sudo = isRoot ? '' : 'sudo ';
  console.log(`Firefox not found at ${path}; installing Debian's firefox-esr package…`);
  try {
    execSync(`${sudo}apt-get update -qq && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr`, {
      stdio: 'inherit',
    });
  } catch {
    // reported below
  }
  if (existsSync(path)) process.exit(0);
}
console.error(
  `The Firefox end-to-end test needs Firefox (ESR 140 or later) at ${path}. Install it ` +
    '(Debian/Ubuntu: apt-get install firefox-esr) or point FIREFOX_PATH at a Firefox binary.',
);
process.exit(1);
