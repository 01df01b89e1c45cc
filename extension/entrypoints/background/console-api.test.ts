import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { handleMessage } from './router';
import { FakeServer, SELF, createDeps, popupSender, signInAs } from './test-support';

/** The console's routes answered here (docs/api.md "Admin console routes"); everything else goes to the fake server. */
function withConsoleRoutes(server: FakeServer, seen: { path: string; auth: string | null; body: unknown }[]) {
  return async (input: string, init: RequestInit = {}) => {
    const url = new URL(input);
    if (!url.pathname.startsWith('/api/findings') && !url.pathname.startsWith('/api/audit')) return server.fetch(input, init);
    const auth = (init.headers as Record<string, string>).Authorization ?? null;
    seen.push({ path: url.pathname + url.search, auth, body: init.body ? JSON.parse(String(init.body)) : undefined });
    if (url.pathname === '/api/findings/export') return new Response('\uFEFFid,kind\r\n', { headers: { 'content-type': 'text/csv; charset=utf-8' } });
    if (url.pathname === '/api/audit/verify')
      return new Response(JSON.stringify({ error: { code: 'forbidden', message: 'Only administrators and auditors can verify the audit log.' } }), {
        status: 403,
        headers: { 'content-type': 'application/json' },
      });
    return new Response(JSON.stringify({ findings: [], nextCursor: null, total: 0 }), { headers: { 'content-type': 'application/json' } });
  };
}

describe('console.api: extension pages call the console routes with the token the background holds', () => {
  beforeEach(() => fakeBrowser.reset());

  it('refuses while signed out, without calling the server', async () => {
    const server = new FakeServer();
    const deps = createDeps(server);
    const answer = await handleMessage(deps, { type: 'console.api', method: 'GET', path: '/api/findings' }, popupSender, SELF);
    expect(answer).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(server.calls.some((c) => c.path.startsWith('/api/findings'))).toBe(false);
  });

  it('relays JSON and CSV with the bearer token, and the server’s refusal as a UI error', async () => {
    const server = new FakeServer();
    const deps = createDeps(server);
    await signInAs(deps, 'ben@acme.test'); // the server decides who may: the background only relays
    const seen: { path: string; auth: string | null; body: unknown }[] = [];
    deps.fetch = withConsoleRoutes(server, seen);

    const list = await handleMessage(deps, { type: 'console.api', method: 'GET', path: '/api/findings?q=ortiz&limit=50' }, popupSender, SELF);
    expect(list).toMatchObject({ ok: true, status: 200, json: { findings: [], total: 0 }, text: null });
    expect(seen[0]).toMatchObject({ path: '/api/findings?q=ortiz&limit=50', auth: expect.stringMatching(/^Bearer sess-/) });

    const csv = await handleMessage(deps, { type: 'console.api', method: 'GET', path: '/api/findings/export' }, popupSender, SELF);
    // A body's text loses its byte-order mark (UTF-8 decode); the console's download puts it back for spreadsheets.
    expect(csv).toMatchObject({ ok: true, json: null, text: 'id,kind\r\n' });

    const refused = await handleMessage(deps, { type: 'console.api', method: 'POST', path: '/api/audit/verify', body: {} }, popupSender, SELF);
    expect(refused).toEqual({ ok: false, error: { code: 'forbidden', message: 'Only administrators and auditors can verify the audit log.' } });
    expect(seen[2]!.body).toEqual({});
  });
});
