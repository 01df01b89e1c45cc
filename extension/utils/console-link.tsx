/** "Open admin console" (popup and settings), for administrators and auditors; the server still decides what they see. */
import { browser } from 'wxt/browser';
import type { Person } from '@accesslens/shared';
import { t } from './i18n';

export function ConsoleLink({ me }: { me: Person }) {
  if (!me.roles.includes('admin') && !me.roles.includes('auditor')) return null;
  return (
    <button type="button" class="link" data-testid="al-open-console" onClick={() => void browser.tabs.create({ url: browser.runtime.getURL('/console.html') })}>
      {t('console.openConsole')}
    </button>
  );
}
