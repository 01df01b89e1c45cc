import { describe, expect, it } from 'vitest';
import { extensionPageMessage, contentMessage, requestCreateArgs } from '@accesslens/shared';
import { setTestLocale } from '../locales/testing';
import { classify } from '../entrypoints/background/router';
import { invalidInput, issueMessage } from './validation';

const self = { id: 'ext', origin: 'chrome-extension://ext/' };
const optionsPage = { id: 'ext', url: 'chrome-extension://ext/options.html' };

function failure(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown) {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected a failure');
  return invalidInput(parsed.error as never).error;
}

describe('the extension’s own input checks, in the person’s language', () => {
  it('says a bad email in English and in Chinese, next to the email field, never in zod’s words', () => {
    const bad = { type: 'auth.signIn', serverUrl: 'http://localhost:8787', email: 'ava', password: 'x' };
    const en = classify(bad, optionsPage, self);
    expect(en).toMatchObject({ ok: false, error: { code: 'invalid_message', field: 'email' } });
    expect(!en.ok && en.error.message).toBe('Email must be an email address, like name@company.com.');
    setTestLocale('zh-CN');
    const zh = classify(bad, optionsPage, self);
    expect(!zh.ok && zh.error.message).toBe('邮箱必须是电子邮件地址，例如 name@company.com。');
    expect(!zh.ok && zh.error.message).not.toMatch(/Invalid|email address$/);
  });

  it('says which link is not http(s), and a missing password, by the form’s labels', () => {
    setTestLocale('zh-CN');
    expect(failure(extensionPageMessage, { type: 'auth.methods', serverUrl: 'ftp://x' })).toEqual({
      code: 'invalid_input',
      field: 'serverUrl',
      message: '服务器地址必须是以 http:// 或 https:// 开头的链接。',
    });
    setTestLocale('en');
    expect(failure(extensionPageMessage, { type: 'auth.signIn', serverUrl: 'https://a.b', email: 'a@b.co', password: '' }).message).toBe(
      'Password is required.',
    );
  });

  it('turns the request form’s limits into sentences with their numbers', () => {
    const page = {
      url: 'https://acme.lightning.force.com/x',
      object: 'Contract',
      recordId: null,
      denialText: null,
      crm: 'salesforce',
      tenant: 'acme',
      pageKind: 'record',
    };
    const submit = { type: 'request.submit', page, permissions: ['object:Contract:read'], justification: 'x'.repeat(2001), evidence: [], durationDays: 7 };
    expect(failure(contentMessage, submit)).toMatchObject({ field: 'justification', message: 'The reason for the request must be at most 2000 characters.' });
    expect(failure(contentMessage, { ...submit, justification: '  ' }).message).toBe('The reason for the request is required.');
    expect(failure(contentMessage, { ...submit, justification: 'ok', evidence: ['javascript:alert(1)'] })).toMatchObject({
      field: 'evidence.0',
      message: 'The evidence link must be a link starting with http:// or https://.',
    });
    setTestLocale('zh-CN');
    expect(failure(contentMessage, { ...submit, justification: 'ok', permissions: [] }).message).toBe('请填写权限。');
    expect(failure(contentMessage, { ...submit, justification: 'ok', durationDays: 2.5 }).message).toBe('期限必须是整数。');
  });

  it('never passes zod’s English through, whatever the issue', () => {
    setTestLocale('zh-CN');
    const parsed = requestCreateArgs.safeParse({
      requestId: 5,
      connectionId: null,
      permissions: 'x',
      page: 1,
      justification: {},
      evidence: [1],
      durationDays: '7',
    });
    expect(parsed.success).toBe(false);
    for (const issue of parsed.error!.issues) expect(issueMessage(issue), JSON.stringify(issue)).toMatch(/[\u4e00-\u9fff]/);
  });
});
