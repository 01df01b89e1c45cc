import { describe, expect, it } from 'vitest';
import { decisionRecordArgs, extensionRedirectProblem, issuesOf, mutationsBody, requestCreateArgs, ssoFinishBody } from './schemas.ts';
import { contentMessage, extensionPageMessage } from './messages.ts';

const create = {
  requestId: '7d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
  connectionId: 'sf-acme',
  permissions: ['object:Contract:read'],
  page: {
    url: 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
    object: 'Contract',
    recordId: '800xx000001AbCdAAK',
    denialText: 'Insufficient Privileges',
  },
  justification: 'Renewal for Globex due Friday',
  durationDays: 30,
};

describe('request and decision schemas', () => {
  it('accepts a well-formed request', () => {
    expect(requestCreateArgs.safeParse(create).success).toBe(true);
  });

  it('names the field and the reason for bad input', () => {
    const result = mutationsBody.safeParse({
      mutations: [{ id: '0b8e1c1e-1a2b-4c3d-8e4f-5a6b7c8d9e0f', name: 'request.create', args: { ...create, justification: '  ', durationDays: 14 } }],
    });
    expect(result.success).toBe(false);
    if (!result.success) {
      const issues = issuesOf(result.error);
      // The English message for API clients, and the kind and bound for clients that say it in their own words.
      expect(issues).toContainEqual({
        field: 'mutations.0.args.justification',
        message: 'is required',
        detail: { code: 'too_small', origin: 'string', minimum: 1 },
      });
      expect(issues).toContainEqual({ field: 'mutations.0.args.durationDays', message: 'must be one of 1, 7, 30, 90 days', detail: { code: 'invalid_value' } });
    }
  });

  it('rejects malformed permission keys with the grammar error', () => {
    const result = requestCreateArgs.safeParse({ ...create, permissions: ['object:Contract:view'] });
    expect(result.success).toBe(false);
    if (!result.success) expect(issuesOf(result.error)[0]!.message).toContain('action must be one of');
  });

  it('requires a reason to deny, and forbids a duration on a denial', () => {
    const base = { requestId: create.requestId };
    expect(decisionRecordArgs.safeParse({ ...base, outcome: 'approve' }).success).toBe(true);
    const noReason = decisionRecordArgs.safeParse({ ...base, outcome: 'deny', reason: ' ' });
    expect(noReason.success).toBe(false);
    if (!noReason.success)
      expect(issuesOf(noReason.error)).toEqual([{ field: 'reason', message: 'is required when denying', detail: { code: 'custom', missing: true } }]);
    expect(decisionRecordArgs.safeParse({ ...base, outcome: 'deny', reason: 'no', durationDays: 3 }).success).toBe(false);
  });

  it('keeps page context to identifiers: only http(s) URLs, bounded denial text', () => {
    const page = { ...create.page, crm: 'salesforce', tenant: 'acme', pageKind: 'record' };
    expect(contentMessage.safeParse({ type: 'page.decide', page }).success).toBe(true);
    expect(contentMessage.safeParse({ type: 'page.decide', page: { ...page, url: 'javascript:alert(1)' } }).success).toBe(false);
    expect(contentMessage.safeParse({ type: 'page.decide', page: { ...page, denialText: 'x'.repeat(501) } }).success).toBe(false);
    expect(contentMessage.safeParse({ type: 'page.decide', page: { ...page, pageKind: 'detail' } }).success).toBe(false);
    expect(contentMessage.safeParse({ type: 'page.decide', page: { ...page, crm: 'sap' } }).success).toBe(false);
    expect(contentMessage.safeParse({ type: 'auth.signIn', email: 'a@b.c', password: 'x' }).success).toBe(false);
  });
});

describe('extension redirect URLs (single sign-on)', () => {
  const chromium = 'https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/oidc';
  const firefox = 'https://0123456789abcdef0123456789abcdef01234567.extensions.allizom.org/';

  it('accepts what identity.getRedirectURL() returns in Chromium and Firefox', () => {
    expect(extensionRedirectProblem(chromium, { query: false })).toBeNull();
    expect(extensionRedirectProblem(firefox, { query: false })).toBeNull();
    expect(extensionRedirectProblem('https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/', { query: false })).toBeNull();
  });

  it.each([
    'https://evil.example/oidc',
    'http://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/oidc',
    'https://abcdefghijklmnopabcdefghijklmno.chromiumapp.org/oidc',
    'https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org.evil.example/oidc',
    'https://evil.example/abcdefghijklmnopabcdefghijklmnop.chromiumapp.org',
    'https://user@abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/oidc',
    'https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/oidc#x',
    'https://0123456789ABCDEF0123456789abcdef01234567.extensions.allizom.org.evil/',
    'chrome-extension://abcdefghijklmnopabcdefghijklmnop/options.html',
    'not a url',
  ])('refuses %s', (url) => {
    expect(extensionRedirectProblem(url, { query: true })).not.toBeNull();
  });

  it('allows a query only on callbacks', () => {
    expect(extensionRedirectProblem(`${chromium}?code=a&state=b`, { query: false })).toMatch(/query/);
    expect(ssoFinishBody.safeParse({ callbackUrl: `${chromium}?code=a&state=b` }).success).toBe(true);
  });

  it('SSO messages from extension pages carry a server URL', () => {
    expect(extensionPageMessage.safeParse({ type: 'auth.signInSso', serverUrl: 'https://accesslens.acme.com' }).success).toBe(true);
    expect(extensionPageMessage.safeParse({ type: 'auth.methods', serverUrl: 'ftp://x' }).success).toBe(false);
    expect(contentMessage.safeParse({ type: 'auth.signInSso', serverUrl: 'https://accesslens.acme.com' }).success).toBe(false);
  });
});
