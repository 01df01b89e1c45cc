import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { approverQueue } from '@accesslens/shared';
import { setTestLocale } from '../../locales/testing';
import { badgeCount, wireBadge } from './badge';
import { handleMessage } from './router';
import { SELF, type TestServer, contentSender, contractPage, createDeps, popupSender, useTestServer } from './test-server';

let server: TestServer;
const testServer = useTestServer();
beforeEach(() => void (server = testServer()));

const signInMessage = (email: string, password: string, serverUrl = 'http://localhost:8787') => ({
  type: 'auth.signIn' as const,
  serverUrl,
  email,
  password,
});

describe('auth', () => {
  it('never writes the session token to storage.local', async () => {
    const deps = createDeps(server);
    const answer = await handleMessage(deps, signInMessage('ava@acme.test', 'ava-demo-2026'), popupSender, SELF);
    expect(answer).toMatchObject({ ok: true, person: { name: 'Ava Chen' } });
    const token = await deps.tokens.get();
    // The server's session token: `<id>.<secret>` (server/src/auth/session.ts).
    expect(token).toMatch(/^[a-z0-9]+\.[a-z0-9]+$/);
    const stored = JSON.stringify(await fakeBrowser.storage.local.get(null));
    expect(stored).not.toContain(token!);
    expect(stored).not.toContain(token!.split('.')[1]!);
    // …and it is what authorises requests.
    expect(server.calls.find((c) => c.path.startsWith('/api/sync'))?.auth).toBe(`Bearer ${token}`);
    // Answers to content scripts never carry it either.
    const decided = await handleMessage(deps, { type: 'page.decide', page: contractPage }, contentSender, SELF);
    expect(JSON.stringify(decided)).not.toContain(token!);
  });

  it("returns the server's error for wrong credentials, next to the password, in the browser's language", async () => {
    const deps = createDeps(server);
    const answer = await handleMessage(deps, signInMessage('ava@acme.test', 'nope'), popupSender, SELF);
    expect(answer).toEqual({
      ok: false,
      error: { code: 'invalid_credentials', message: 'The email or password is incorrect.', field: 'password' },
    });
    setTestLocale('zh-CN');
    const zh = await handleMessage(deps, signInMessage('ava@acme.test', 'nope'), popupSender, SELF);
    expect(zh).toEqual({ ok: false, error: { code: 'invalid_credentials', message: '邮箱或密码不正确。', field: 'password' } });
  });

  it('names the server URL when it cannot be reached', async () => {
    server.down = true;
    const deps = createDeps(server);
    const answer = await handleMessage(deps, signInMessage('ava@acme.test', 'ava-demo-2026', 'http://localhost:9999/'), popupSender, SELF);
    expect(answer).toMatchObject({ ok: false, error: { code: 'network', field: 'serverUrl' } });
    if (!answer.ok) expect(answer.error.message).toContain('http://localhost:9999');
  });

  it('signs out: deletes the token and clears slice, cursor and outbox', async () => {
    const deps = createDeps(server);
    await handleMessage(deps, signInMessage('ava@acme.test', 'ava-demo-2026'), popupSender, SELF);
    const out = await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);
    expect(out.ok).toBe(true);
    expect(await deps.tokens.get()).toBeNull();
    expect(server.calls.some((c) => c.path === '/api/auth/sign-out')).toBe(true);
    const stored = await fakeBrowser.storage.local.get(['slice', 'cursor', 'outbox']);
    expect(stored).toMatchObject({ slice: undefined, cursor: undefined, outbox: [] });
    expect(await handleMessage(deps, { type: 'popup.state' }, popupSender, SELF)).toMatchObject({ ok: true, signedIn: false });
  });
});

describe('badge', () => {
  it('counts the decisions routed to the signed-in approver, and clears when there are none', async () => {
    const deps = createDeps(server);
    const refresh = wireBadge(deps.replica);
    await handleMessage(deps, signInMessage('ava@acme.test', 'ava-demo-2026'), popupSender, SELF);
    await handleMessage(
      deps,
      { type: 'request.submit', page: contractPage, permissions: ['object:Contract:read'], justification: 'renewal', durationDays: 7 },
      contentSender,
      SELF,
    );
    await deps.replica.syncNow();
    await refresh();
    // Ava's own request is not in her queue.
    expect(await fakeBrowser.action.getBadgeText({})).toBe('');

    await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);
    await handleMessage(deps, signInMessage('ben@acme.test', 'ben-demo-2026'), popupSender, SELF);
    await refresh();
    expect(await fakeBrowser.action.getBadgeText({})).toBe('1');
    const view = (await deps.replica.view())!;
    expect(badgeCount(view, true)).toBe(approverQueue(view, 'p-ben').length);

    const id = approverQueue(view, 'p-ben')[0]!.id;
    await handleMessage(deps, { type: 'decision.submit', requestId: id, outcome: 'deny', reason: 'no', durationDays: null }, popupSender, SELF);
    await refresh();
    expect(await fakeBrowser.action.getBadgeText({})).toBe('');
  });
});
