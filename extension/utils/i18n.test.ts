import { describe, expect, it } from 'vitest';
import { dictionaries, chromeMessages } from '../locales';
import { setTestLocale } from '../locales/testing';
import { messageName, placeholderNames, renderChromeMessage, toChromeMessages } from '../locales/messages';
import { detectLocale, t } from './i18n';

describe('dictionaries', () => {
  it('have the same keys in English and Simplified Chinese', () => {
    expect(Object.keys(dictionaries['zh-CN']).sort()).toEqual(Object.keys(dictionaries.en).sort());
  });

  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(dictionaries.en) as (keyof typeof dictionaries.en)[])
      expect(placeholderNames(dictionaries['zh-CN'][key]), key).toEqual(placeholderNames(dictionaries.en[key]));
  });

  it('have no empty strings', () => {
    for (const dict of Object.values(dictionaries)) for (const [key, value] of Object.entries(dict)) expect(value.trim(), key).not.toBe('');
  });
});

describe("Chrome's messages.json", () => {
  it('names every message with the characters Chrome allows, once each', () => {
    for (const locale of ['en', 'zh-CN'] as const) {
      const messages = chromeMessages(locale);
      expect(Object.keys(messages)).toHaveLength(Object.keys(dictionaries[locale]).length);
      for (const name of Object.keys(messages)) expect(name).toMatch(/^[A-Za-z0-9_@]+$/);
    }
  });

  it('numbers placeholders by name, so t() can pass substitutions sorted by name', () => {
    const m = toChromeMessages({ 'x.y': 'Hi {who}, {count} items cost $5 {who}' })['x_y']!;
    expect(m).toEqual({
      message: 'Hi $WHO$, $COUNT$ items cost $$5 $WHO$',
      placeholders: { count: { content: '$1' }, who: { content: '$2' } },
    });
    expect(renderChromeMessage(m, ['3', 'Ava'])).toBe('Hi Ava, 3 items cost $5 Ava');
    expect(messageName('badge.summary')).toBe('badge_summary');
  });

  it('refuses a message Chrome could not substitute', () => {
    expect(() => toChromeMessages({ a: '{a}{b}{c}{d}{e}{f}{g}{h}{i}{j}' })).toThrow('at most 9');
    expect(() => toChromeMessages({ 'a.b': 'x', a_b: 'y' })).toThrow('used twice');
  });
});

describe('t', () => {
  it('picks the language from the browser', () => {
    expect(detectLocale('zh-CN')).toBe('zh-CN');
    expect(detectLocale('zh-TW')).toBe('zh-CN');
    expect(detectLocale('en-US')).toBe('en');
    expect(detectLocale('de')).toBe('en');
    expect(detectLocale(undefined)).toBe('en');
  });

  it('fills placeholders in the browser language', () => {
    expect(t('status.pending', { names: 'Ben Ortiz' })).toBe('Pending — waiting for Ben Ortiz');
    expect(t('badge.summary', { object: 'Contract', allowed: 1, total: 4 })).toBe('Contract · 1/4 allowed');
    setTestLocale('zh-CN');
    expect(t('status.pending', { names: 'Ben Ortiz' })).toBe('审批中 — 等待 Ben Ortiz');
    expect(t('badge.summary', { object: 'Contract', allowed: 1, total: 4 })).toBe('Contract · 允许 1/4');
  });
});
