/**
 * Strings for people, from the browser's own i18n (each `_locales/{lang}/messages.json`, written at build time
 * from `locales/en.ts` and `locales/zh-CN.ts`): each page loads only the browser's language. Named
 * placeholders travel as substitutions sorted by name (see locales/messages.ts).
 */
import { browser } from 'wxt/browser';
import type { Locale } from '@accesslens/shared/constants';
import type { en, MessageKey } from '../locales/en';
import { messageName } from '../locales/messages';

export type { MessageKey, Locale };

/** The placeholder names of a message, read from its English template at compile time. */
type NamesIn<S extends string> = S extends `${string}{${infer N}}${infer Rest}` ? N | NamesIn<Rest> : never;
export type ParamsOf<K extends MessageKey> = [NamesIn<(typeof en)[K]>] extends [never] ? [] : [params: Record<NamesIn<(typeof en)[K]>, string | number>];

/** The language the browser shows its own UI in, as AccessLens names it. */
export function detectLocale(language: string | undefined): Locale {
  return language?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function locale(): Locale {
  return detectLocale(browser.i18n.getUILanguage());
}

/** A message in the browser's language; the compiler checks that exactly its placeholders are given. */
export function t<K extends MessageKey>(key: K, ...[params]: ParamsOf<K>): string {
  const given: Record<string, string | number> = params ?? {};
  const names = Object.keys(given).sort();
  return (
    browser.i18n.getMessage(
      messageName(key) as never,
      names.map((n) => String(given[n])),
    ) || key
  );
}

export function labelOf(labels: { en: string; 'zh-CN': string } | null | undefined, fallback: string): string {
  if (!labels) return fallback;
  return labels[locale()] || labels.en || fallback;
}

export function durationText(days: number): string {
  return days === 1 ? t('duration.day') : t('duration.days', { n: days });
}

export function formatDate(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', day: 'numeric' }).format(new Date(iso));
}

export function formatDateTime(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** "5 minutes ago", "yesterday", "刚刚"… */
export function formatRelative(iso: string, now: Date = new Date()): string {
  const seconds = Math.round((Date.parse(iso) - now.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 45) return rtf.format(0, 'second');
  if (abs < 45 * 60) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}

export function joinNames(names: string[]): string {
  return names.join(t('people.separator'));
}
