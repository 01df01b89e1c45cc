/**
 * Unit tests run without a browser: this gives WXT's fakeBrowser an `i18n` that answers from the same
 * generated messages the build ships, with Chrome's substitution rules (see messages.ts).
 */
import type { Locale } from '@accesslens/shared/constants';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { chromeMessages } from './index';
import { renderChromeMessage } from './messages';

let uiLanguage: Locale = 'en';
const cache = new Map<Locale, ReturnType<typeof chromeMessages>>();

export function setTestLocale(locale: Locale): void {
  uiLanguage = locale;
}

export function installTestI18n(): void {
  const messages = (l: Locale) => {
    let m = cache.get(l);
    if (!m) cache.set(l, (m = chromeMessages(l)));
    return m;
  };
  const i18n = fakeBrowser.i18n as unknown as Record<string, unknown>;
  i18n.getUILanguage = () => uiLanguage;
  i18n.getMessage = (name: string, substitutions?: string | string[]) =>
    renderChromeMessage(messages(uiLanguage)[name], substitutions === undefined ? [] : ([] as string[]).concat(substitutions));
}
