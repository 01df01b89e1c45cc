import { beforeEach, describe, expect, it } from 'vitest';
import { setTestLocale } from '../../locales/testing';
import { handleMessage } from './router';
import { SELF, type TestServer, createDeps, popupSender, signInAs, useTestServer } from './test-server';

let server: TestServer;
const testServer = useTestServer();
beforeEach(() => void (server = testServer()));

describe('console.api: extension pages call the console routes with the token the background holds', () => {
  it('refuses while signed out, without calling the server', async () => {
    const deps = createDeps(server);
    const answer = await handleMessage(deps, { type: 'console.api', method: 'GET', path: '/api/findings' }, popupSender, SELF);
    expect(answer).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(server.calls.some((c) => c.path.startsWith('/api/findings'))).toBe(false);
  });

  it('relays JSON and CSV with the bearer token, and the server’s refusal as a UI error', async () => {
    const deps = createDeps(server);
    await signInAs(deps, 'cara@acme.test'); // the server decides who may: the background only relays
    const consoleCalls = () => server.calls.filter((c) => c.path.startsWith('/api/findings') || c.path.startsWith('/api/audit'));

    const list = await handleMessage(deps, { type: 'console.api', method: 'GET', path: '/api/findings?q=ortiz&limit=50' }, popupSender, SELF);
    expect(list).toMatchObject({ ok: true, status: 200, json: { findings: expect.any(Array), total: expect.any(Number) }, text: null });
    // The demo org's findings about Ben Ortiz (his unused Sales Ops permission set).
    expect((list as unknown as { json: { findings: { personId: string }[] } }).json.findings.map((f) => f.personId)).toContain('p-ben');
    expect(consoleCalls()[0]).toMatchObject({ path: '/api/findings?q=ortiz&limit=50', auth: `Bearer ${await deps.tokens.get()}` });

    const csv = await handleMessage(deps, { type: 'console.api', method: 'GET', path: '/api/findings/export' }, popupSender, SELF);
    // A body's text loses its byte-order mark (UTF-8 decode); the console's download puts it back for spreadsheets.
    expect(csv).toMatchObject({ ok: true, json: null, text: expect.stringMatching(/^id,/) });

    await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);
    await signInAs(deps, 'ben@acme.test');
    const refused = await handleMessage(deps, { type: 'console.api', method: 'POST', path: '/api/audit/verify', body: {} }, popupSender, SELF);
    expect(refused).toEqual({ ok: false, error: { code: 'forbidden', message: 'Only administrators and auditors can verify the audit log.' } });
    // Said from the reason and params the server sent: in the reader's language, not the server's English.
    setTestLocale('zh-CN');
    const refusedZh = await handleMessage(deps, { type: 'console.api', method: 'POST', path: '/api/audit/verify', body: {} }, popupSender, SELF);
    expect(refusedZh).toEqual({ ok: false, error: { code: 'forbidden', message: '只有管理员和审计员可以校验审计日志。' } });
    expect(consoleCalls().at(-1)).toMatchObject({ method: 'POST', path: '/api/audit/verify', body: {} });
    // And a refusal about what is not there.
    await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);
    await signInAs(deps, 'cara@acme.test');
    const missing = await handleMessage(deps, { type: 'console.api', method: 'POST', path: '/api/findings/f-nope/reopen', body: {} }, popupSender, SELF);
    expect(missing).toEqual({ ok: false, error: { code: 'not_found', message: '没有这个发现。' } });
  });
});
