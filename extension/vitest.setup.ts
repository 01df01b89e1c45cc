import { beforeEach } from 'vitest';
import { installTestI18n, setTestLocale } from './locales/testing';

// fakeBrowser.reset() (WxtVitest runs it before each test) drops our i18n: put it back each time.
beforeEach(() => {
  installTestI18n();
  setTestLocale('en');
});
