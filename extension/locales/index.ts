/** Both dictionaries, for the build (which writes `_locales`) and for tests — never for run-time code. */
import type { Locale } from '@accesslens/shared/constants';
import { en, type MessageKey } from './en';
import { toChromeMessages, type ChromeMessage } from './messages';
import { zhCN } from './zh-CN';

export const dictionaries: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

/** Chrome's folder name for each locale. */
export const LOCALE_FOLDERS: Record<Locale, string> = { en: 'en', 'zh-CN': 'zh_CN' };

export function chromeMessages(locale: Locale): Record<string, ChromeMessage> {
  return toChromeMessages(dictionaries[locale]);
}
