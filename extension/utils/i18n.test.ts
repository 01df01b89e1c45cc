import { describe, expect, it } from 'vitest';
import { detectLocale, dictionaries, setLocale, t } from './i18n';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n', () => {
  it('has the same keys in English and Simplified Chinese', () => {
    expect(Object.keys(dictionaries['zh-CN']).sort()).toEqual(Object.keys(dictionaries.en).sort());
  });

  it('uses the same placeholders in both languages', () => {
    for (const key of Object.keys(dictionaries.en) as (keyof typeof dictionaries.en)[]) {
      expect(placeholders(dictionaries['zh-CN'][key]), key).toEqual(placeholders(dictionaries.en[key]));
    }
  });

  it('has no empty strings', () => {
    for (const dict of Object.values(dictionaries))
      for (const [key, value] of Object.entries(dict)) expect(value.trim(), key).not.toBe('');
  });

  it('picks the language from the browser', () => {
    expect(detectLocale('zh-CN')).toBe('zh-CN');
    expect(detectLocale('zh-TW')).toBe('zh-CN');
    expect(detectLocale('en-US')).toBe('en');
    expect(detectLocale('de')).toBe('en');
    expect(detectLocale(undefined)).toBe('en');
  });

  it('fills placeholders', () => {
    setLocale('en');
    expect(t('status.pending', { names: 'Ben Ortiz' })).toBe('Pending — waiting for Ben Ortiz');
    setLocale('zh-CN');
    expect(t('status.pending', { names: 'Ben Ortiz' })).toBe('审批中 — 等待 Ben Ortiz');
    setLocale('en');
  });
});
