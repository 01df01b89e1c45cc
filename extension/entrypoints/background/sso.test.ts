/**
 * Single sign-on in the background, through the router as the options page asks for it, against the real
 * server (in-process) and a real OpenID Connect provider on loopback (server/src/testing-oidc.ts). The
 * browser is WXT's fakeBrowser; only `identity` (which it does not implement) is played here, at the
 * browser boundary: getRedirectURL as Chromium makes it, launchWebAuthFlow as the provider's window would
 * end — by going through the provider's own login and consent pages.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { setTestLocale as setLocale } from '../../locales/testing';
import { handleMessage } from './router';
import { startIdentityProvider, type TestIdentityProvider } from '../../../server/src/testing-oidc.ts';
import { SELF, ServerTemplate, type TestServer, contentSender, createDeps, popupSender, startTestServer } from './test-server';

const EXTENSION_ID = 'abcdefghijklmnopabcdefghijklmnop';
const SERVER = 'http://localhost:8787';

type Launch = (details: { url: string; interactive?: boolean }) => Promise<string | undefined>;

/** Installs the two identity calls; `launch` decides how the provider's window ends. */
function fakeIdentity(launch: Launch) {
  const getRedirectURL = vi
    .spyOn(fakeBrowser.identity, 'getRedirectURL')
    .mockImplementation((path?: string) => `https://${EXTENSION_ID}.chromiumapp.org/${path ?? ''}`);
  const launchWebAuthFlow = vi.spyOn(fakeBrowser.identity, 'launchWebAuthFlow').mockImplementation(launch as never);
  return { getRedirectURL, launchWebAuthFlow };
}

let idp: TestIdentityProvider;

/** The provider's window: the person signs in at the provider as `sub` and is sent back to the redirect URI. */
const signsInAs =
  (sub: string): Launch =>
  async ({ url }) =>
    idp.signIn(url, sub);

const ssoMessage = { type: 'auth.signInSso' as const, serverUrl: SERVER };

describe('single sign-on in the background', () => {
  let template: ServerTemplate;
  let server: TestServer;
  beforeAll(async () => {
    idp = await startIdentityProvider({
      accounts: {
        'ava-sub': { email: 'ava@acme.test', email_verified: true, name: 'Ava Chen' },
        'zed-sub': { email: 'zed@acme.test', email_verified: true, name: 'Zed Nobody' },
      },
    });
    template = await ServerTemplate.create(async () => undefined, { oidc: idp.settings({ name: 'Acme SSO' }) });
  });
  afterAll(async () => {
    template.dispose();
    await idp.close();
  });
  beforeEach(async () => {
    fakeBrowser.reset();
    server = await template.start();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    setLocale('en');
    await server.close();
  });

  /** The same organisation on a server without single sign-on. */
  async function withoutSso<T>(run: (plain: TestServer) => Promise<T>): Promise<T> {
    const plain = await startTestServer();
    try {
      return await run(plain);
    } finally {
      await plain.close();
    }
  }

  it('asks the server how to sign in', async () => {
    const deps = createDeps(server);
    expect(await handleMessage(deps, { type: 'auth.methods', serverUrl: SERVER }, popupSender, SELF)).toEqual({
      ok: true,
      methods: { password: true, sso: { protocol: 'oidc', name: 'Acme SSO' } },
    });
    await withoutSso(async (plain) =>
      expect(await handleMessage(createDeps(plain), { type: 'auth.methods', serverUrl: `${SERVER}/` }, popupSender, SELF)).toEqual({
        ok: true,
        methods: { password: true, sso: null },
      }),
    );
    server.down = true;
    expect(await handleMessage(deps, { type: 'auth.methods', serverUrl: SERVER }, popupSender, SELF)).toMatchObject({
      ok: false,
      error: { code: 'network', field: 'serverUrl' },
    });
  });

  it("runs the flow: the server's URL for our redirect URI, the provider's window, the callback to the server; the token goes to the token store only", async () => {
    const identity = fakeIdentity(signsInAs('ava-sub'));
    const deps = createDeps(server);
    const answer = await handleMessage(deps, ssoMessage, popupSender, SELF);
    expect(answer).toMatchObject({ ok: true, person: { id: 'p-ava', name: 'Ava Chen' } });

    expect(identity.getRedirectURL).toHaveBeenCalledWith('oidc');
    const start = server.calls.find((c) => c.path === '/api/auth/sso/start')!;
    expect(start).toMatchObject({ method: 'POST', body: { redirectUri: `https://${EXTENSION_ID}.chromiumapp.org/oidc` }, auth: null });
    expect(identity.launchWebAuthFlow).toHaveBeenCalledTimes(1);
    const launched = identity.launchWebAuthFlow.mock.calls[0]![0] as { url: string; interactive: boolean };
    expect(launched.interactive).toBe(true);
    expect(new URL(launched.url).searchParams.get('redirect_uri')).toBe(`https://${EXTENSION_ID}.chromiumapp.org/oidc`);
    const finish = server.calls.find((c) => c.path === '/api/auth/sso/finish')!;
    expect((finish.body as { callbackUrl: string }).callbackUrl).toMatch(/^https:\/\/abcdefghijklmnopabcdefghijklmnop\.chromiumapp\.org\/oidc\?code=/);

    const token = await deps.tokens.get();
    // The server's session for Ava: what /api/me answers with it.
    const me = await server.h.get(token, '/api/me');
    expect(((await me.json()) as { person: { id: string } }).person.id).toBe('p-ava');
    expect(JSON.stringify(await fakeBrowser.storage.local.get(null))).not.toContain(token!);
    // Signed in like a password sign-in: the first pull carries the token, and the status says who.
    expect(server.calls.find((c) => c.path.startsWith('/api/sync'))?.auth).toBe(`Bearer ${token}`);
    expect(await handleMessage(deps, { type: 'auth.status' }, popupSender, SELF)).toMatchObject({
      ok: true,
      signedIn: true,
      serverUrl: SERVER,
      me: { id: 'p-ava' },
    });
  });

  it('the person closing the window: cancelled, nothing sent to finish, still signed out', async () => {
    fakeIdentity(async () => {
      throw new Error('The user did not approve access.');
    });
    const deps = createDeps(server);
    const answer = await handleMessage(deps, ssoMessage, popupSender, SELF);
    expect(answer).toEqual({ ok: false, error: { code: 'sso_cancelled', message: 'Sign-in was cancelled before it finished.' } });
    expect(server.calls.some((c) => c.path === '/api/auth/sso/finish')).toBe(false);
    expect(await deps.tokens.get()).toBeNull();
  });

  it('a provider page that cannot be loaded is said as such', async () => {
    fakeIdentity(async () => {
      throw new Error('Authorization page could not be loaded.');
    });
    const answer = await handleMessage(createDeps(server), ssoMessage, popupSender, SELF);
    expect(answer).toMatchObject({ ok: false, error: { code: 'sso_page_failed' } });
  });

  it("the server's refusal is said in the user's language, and nobody is signed in", async () => {
    fakeIdentity(signsInAs('zed-sub'));
    const deps = createDeps(server);
    expect(await handleMessage(deps, ssoMessage, popupSender, SELF)).toEqual({
      ok: false,
      error: { code: 'sso_unknown_person', message: 'You are not in the AccessLens directory. Ask an administrator to add you.' },
    });
    expect(await deps.tokens.get()).toBeNull();
    setLocale('zh-CN');
    expect(await handleMessage(deps, ssoMessage, popupSender, SELF)).toEqual({
      ok: false,
      error: { code: 'sso_unknown_person', message: 'AccessLens 目录中没有您。请联系管理员添加。' },
    });
  });

  it('a server without single sign-on, and an unreachable server (named next to the server URL)', async () => {
    const identity = fakeIdentity(signsInAs('ava-sub'));
    await withoutSso(async (plain) =>
      expect(await handleMessage(createDeps(plain), ssoMessage, popupSender, SELF)).toMatchObject({
        ok: false,
        error: { code: 'sso_not_configured', message: expect.stringContaining('email and password') },
      }),
    );
    server.down = true;
    const answer = await handleMessage(createDeps(server), ssoMessage, popupSender, SELF);
    expect(answer).toMatchObject({ ok: false, error: { code: 'network', field: 'serverUrl' } });
    expect(identity.launchWebAuthFlow).not.toHaveBeenCalled();
  });

  it('an answer from the window that is not for our redirect URI is refused by the server', async () => {
    fakeIdentity(async () => `https://${EXTENSION_ID}.chromiumapp.org/oidc?code=code-for-ava@acme.test&state=forged`);
    const deps = createDeps(server);
    expect(await handleMessage(deps, ssoMessage, popupSender, SELF)).toMatchObject({ ok: false, error: { code: 'sso_flow_unknown' } });
    expect(await deps.tokens.get()).toBeNull();
  });

  it('only extension pages may start it, with a server URL', async () => {
    fakeIdentity(signsInAs('ava-sub'));
    const deps = createDeps(server);
    expect(await handleMessage(deps, ssoMessage, contentSender, SELF)).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    expect(await handleMessage(deps, { type: 'auth.signInSso', serverUrl: 'javascript:alert(1)' }, popupSender, SELF)).toMatchObject({
      ok: false,
      error: { code: 'invalid_message', field: 'serverUrl' },
    });
    expect(server.calls).toHaveLength(0);
  });
});
