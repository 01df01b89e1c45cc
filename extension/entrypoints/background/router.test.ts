import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { z } from 'zod';
import { t } from '../../utils/i18n';
import { ApiFailure, callApi } from './api';
import { classify, handleMessage } from './router';
import { SELF, type TestServer, contentSender, contractPage, createDeps, popupSender, startTestServer } from './test-server';

// Nothing here changes the server: one for the file.
let server: TestServer;
beforeAll(async () => void (server = await startTestServer()));
afterAll(() => server.close());

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
    [
      'a request without justification',
      { type: 'request.submit', page: contractPage, permissions: ['object:Contract:read'], justification: '  ', durationDays: 7 },
      contentSender,
    ],
  ] as const;

  it.each(dropped)('drops %s', async (_name, message, sender) => {
    const deps = createDeps(server);
    const answer = await handleMessage(deps, message, sender, SELF);
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(answer.error.code).toBe('invalid_message');
  });

  it('names the offending field for extension pages', async () => {
    const deps = createDeps(server);
    const answer = await handleMessage(
      deps,
      { type: 'auth.signIn', serverUrl: 'http://localhost:8787', email: 'not-an-email', password: 'x' },
      popupSender,
      SELF,
    );
    expect(answer).toMatchObject({ ok: false, error: { code: 'invalid_message', field: 'email' } });
  });
});

describe('a handler that fails (issue 10, defect 6)', () => {
  beforeEach(() => fakeBrowser.reset());

  it('tells the content script nothing of the exception: the text stays in the background console', async () => {
    const deps = createDeps(server);
    const secret = 'storage key al:token at https://accesslens.internal.acme:8787 failed';
    deps.replica.view = async () => {
      throw new Error(secret);
    };
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const answer = await handleMessage(deps, { type: 'page.rules' }, contentSender, SELF);
      expect(answer).toEqual({ ok: false, error: { code: 'internal', message: t('error.internal') } });
      expect(JSON.stringify(answer)).not.toContain('al:token');
    } finally {
      console.error = original;
    }
    expect(logged.flat().some((a) => a instanceof Error && a.message === secret)).toBe(true);
  });
});

describe('plain http:// servers (issue 10, defect 6)', () => {
  beforeEach(() => fakeBrowser.reset());

  it('an options page cannot sign in to a plain-http server beyond this computer', async () => {
    const deps = createDeps(server);
    const answer = await handleMessage(
      deps,
      { type: 'auth.signIn', serverUrl: 'http://accesslens.acme.com', email: 'ava@acme.test', password: 'ava-demo-2026' },
      popupSender,
      SELF,
    );
    expect(answer).toMatchObject({ ok: false, error: { code: 'invalid_message', field: 'serverUrl' } });
  });

  it('a stored plain-http URL elsewhere is never called, with or without a token', async () => {
    let calls = 0;
    const fetchFn = async () => {
      calls++;
      return new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    const refused = callApi(fetchFn, 'http://accesslens.acme.com/', '/api/me', { token: 'secret-token', schema: null });
    await expect(refused).rejects.toMatchObject({ error: { code: 'insecure_server', field: 'serverUrl', message: t('error.insecureServer') } });
    await expect(refused).rejects.toSatisfy((e: ApiFailure) => !e.transient);
    expect(calls).toBe(0);
    await callApi(fetchFn, 'http://127.0.0.1:8787', '/api/health', { schema: null });
    await callApi(fetchFn, 'https://accesslens.acme.com', '/api/health', { schema: null });
    expect(calls).toBe(2);
  });
  it('a server that takes the connection and never answers, or stops halfway through its answer: the call ends as timed out, naming the URL, and is retried later', async () => {
    // A real socket on loopback: one connection answered with nothing, one with headers and half a body.
    const sockets: Socket[] = [];
    const stuck = createServer((socket) => {
      sockets.push(socket);
      socket.once('data', (chunk) => {
        if (String(chunk).startsWith('GET /half')) socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ok":');
      });
    });
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(stuck.address() as AddressInfo).port}`;
    try {
      for (const path of ['/silent', '/half']) {
        const started = Date.now();
        const call = callApi(fetch, url, path, { schema: z.unknown(), timeoutMs: 300 });
        await expect(call, path).rejects.toMatchObject({ status: 0, error: { code: 'timeout', message: t('error.timeout', { url, seconds: 0 }) } });
        await expect(call).rejects.toSatisfy((e: ApiFailure) => e.transient);
        expect(Date.now() - started, path).toBeGreaterThanOrEqual(250);
      }
      // The caller's own abort stays the caller's (not a timeout).
      const aborted = new AbortController();
      const call = callApi(fetch, url, '/silent', { schema: null, signal: aborted.signal, timeoutMs: 60_000 });
      aborted.abort();
      await expect(call).rejects.toSatisfy((e: unknown) => !(e instanceof ApiFailure));
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => stuck.close(() => resolve()));
    }
  });
});
