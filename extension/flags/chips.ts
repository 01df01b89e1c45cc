/**
 * The chips beside user names on CRM user pages: plain DOM (no framework: hundreds are drawn at once).
 * Each chip is an empty element in the page with a shadow root (closed in production builds) holding
 * the button; what a chip says (severity, count, the user's id) lives only inside that shadow root,
 * so page scripts can neither read it nor press it (their synthetic clicks are not trusted).
 */
import type { Risk } from '@accesslens/shared';
import { t } from '../utils/i18n';
import { trusted } from '../overlay/trusted';

/** The attribute our chip hosts carry in the page (nothing else about them is visible to it). */
export const CHIP_HOST_ATTR = 'data-accesslens-flag';

const SHADOW_MODE: ShadowRootMode = import.meta.env.ACCESSLENS_E2E ? 'open' : 'closed';

const CHIP_CSS = `
:host { all: initial; display: inline-block; vertical-align: middle; margin-inline-start: 6px; }
button {
  font: 600 11px/1 system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', sans-serif;
  display: inline-flex; align-items: center; gap: 4px; border: 0; border-radius: 999px;
  padding: 3px 7px; color: #fff; cursor: pointer; box-shadow: 0 1px 2px rgb(0 0 0 / .25);
}
button::before { content: ''; width: 7px; height: 7px; border-radius: 50%; background: rgb(255 255 255 / .85); }
button:focus-visible { outline: 3px solid #1b5fd1; outline-offset: 2px; }
button[data-severity='critical'] { background: #7a0916; }
button[data-severity='high'] { background: #b42318; }
button[data-severity='medium'] { background: #a15c00; }
button[data-severity='low'] { background: #4a5468; }
`;

let sheet: CSSStyleSheet | null | undefined;
function styleFor(root: ShadowRoot): void {
  if (sheet === undefined) {
    try {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CHIP_CSS);
    } catch {
      sheet = null;
    }
  }
  if (sheet) {
    try {
      root.adoptedStyleSheets = [sheet];
      return;
    } catch {
      // fall through: a <style> element
    }
  }
  const style = document.createElement('style');
  style.textContent = CHIP_CSS;
  root.append(style);
}

export interface Chip {
  host: HTMLElement;
  button: HTMLButtonElement;
  externalUserId: string;
}

/** A new chip for one user; `onOpen` runs on a person's own click or key press only. */
export function createChip(externalUserId: string, onOpen: (chip: Chip) => void): Chip {
  const host = document.createElement('span');
  host.setAttribute(CHIP_HOST_ATTR, '');
  const root = host.attachShadow({ mode: SHADOW_MODE });
  styleFor(root);
  const button = document.createElement('button');
  button.type = 'button';
  button.setAttribute('data-testid', 'al-finding-flag');
  button.setAttribute('data-account-external-id', externalUserId);
  button.setAttribute('aria-haspopup', 'dialog');
  root.append(button);
  const chip: Chip = { host, button, externalUserId };
  button.addEventListener(
    'click',
    trusted((e: MouseEvent) => {
      e.preventDefault();
      e.stopPropagation(); // the row's own click handler (open the user) must not run
      onOpen(chip);
    }),
  );
  return chip;
}

/** Shows the highest severity and the count (only touching what changed). */
export function updateChip(chip: Chip, severity: Risk, count: number): void {
  const b = chip.button;
  if (b.getAttribute('data-severity') === severity && b.getAttribute('data-count') === String(count)) return;
  b.setAttribute('data-severity', severity);
  b.setAttribute('data-count', String(count));
  b.textContent = String(count);
  const label = t('flags.chip', { count, severity: t(`flags.severity.${severity}`) });
  b.setAttribute('aria-label', label);
  b.title = label;
}
