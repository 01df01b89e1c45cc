import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { classify, handleMessage } from './router';
import { FakeServer, SELF, contentSender, contractPage, createDeps, popupSender } from './test-support';

describe('message validation at the trust boundary', () => {
  beforeEach(() => fakeBrowser.reset());

  it('accepts a well-formed content message and takes the host from the sender', () => {
    const r = classify({ type: 'page.decide', page: contractPage }, contentSender, SELF);
    expect(r).toEqual({ ok: true, value: { from: 'content', message: { type: 'page.decide', page: contractPage }, host: 'acme.lightning.force.com' } });
  });

  it('accepts extension-page messages from the extension origin (popup, options tab)', () => {
    expect(classify({ type: 'popup.state' }, popupSender, SELF).ok).toBe(true);
    const optionsTab = { id: SELF.id, url: `${SELF.origin}options.html`, tab: { id: 3, url: `${SELF.origin}options.html` } };
    expect(classify({ type: 'auth.status' }, optionsTab, SELF).ok).toBe(true);
  });

  const dropped = [
    ['a content script asking for a page-only message', { type: 'auth.signOut' }, contentSender],
    ['a content script asking for popup state', { type: 'popup.state' }, contentSender],
    ['a content script deciding a request', { type: 'decision.submit', requestId: 'r1', outcome: 'approve', reason: null, durationDays: null }, contentSender],
    ['an unknown type', { type: 'token.get' }, contentSender],
    ['a malformed page', { type: 'page.decide', page: { url: 'javascript:alert(1)' } }, contentSender],
    ['not an object', 'page.decide', contentSender],
    ['another extension', { type: 'popup.state' }, { ...popupSender, id: 'someone-else' }],
    ['a sender that is neither a tab nor an extension page', { type: 'sync.now' }, { id: SELF.id, url: 'https://acme.lightning.force.com/' }],
    [
      'a page on another host than the sender',
      { type: 'page.decide', page: { ...contractPage, url: 'https://other.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view' } },
      contentSender,
    ],
    ['a content script calling the console API', { type: 'console.api', method: 'GET', path: '/api/findings' }, contentSender],
    ['a console call outside the console routes', { type: 'console.api', method: 'GET', path: '/api/auth/session' }, popupSender],
    ['a console call climbing out of its prefix', { type: 'console.api', method: 'GET', path: '/api/findings/../auth/sign-in' }, popupSender],
    ['a console call to another host', { type: 'console.api', method: 'GET', path: '//evil.example/api/findings' }, popupSender],
    ['a console call with a method it may not use', { type: 'console.api', method: 'DELETE', path: '/api/findings' }, popupSender],
    ['a request without justification', { type: 'request.submit', page: contractPage, permissions: ['object:Contract:read'], justification: '  ', durationDays: 7 }, contentSender],
  ] as const;

  it.each(dropped)('drops %s', async (_name, message, sender) => {
    const deps = createDeps(new FakeServer());
    const answer = await handleMessage(deps, message, sender, SELF);
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(answer.error.code).toBe('invalid_message');
  });

  it('names the offending field for extension pages', async () => {
    const deps = createDeps(new FakeServer());
    const answer = await handleMessage(
      deps,
      { type: 'auth.signIn', serverUrl: 'http://localhost:8787', email: 'not-an-email', password: 'x' },
      popupSender,
      SELF,
    );
    expect(answer).toMatchObject({ ok: false, error: { code: 'invalid_message', field: 'email' } });
  });
});
