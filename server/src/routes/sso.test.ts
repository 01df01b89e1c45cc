/**
 * Single sign-on against a real OpenID Connect provider (oidc-provider on loopback, driven through its
 * own login and consent pages over HTTP), with the real app and database.
 */
import { authMethodsResponse, meResponse, signInResponse, ssoStartResponse } from '@accesslens/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit.ts';
import type { OidcSettings } from '../auth/oidc.ts';
import { MAX_OPEN_FLOWS_PER_ADDRESS, SSO_FLOW_TTL_MS } from '../auth/oidc-flows.ts';
import { harness, type Harness } from '../testing.ts';
import { TEST_REDIRECT_URI, startIdentityProvider, type TestIdentityProvider } from '../testing-oidc.ts';

type App = Harness['app'];

let idp: TestIdentityProvider;
let h: Harness | undefined;

const ACCOUNTS = {
  'ava-sub': { email: 'ava@acme.test', email_verified: true, name: 'Ava Chen' },
  'jon-sub': { email: 'jon@acme.test', email_verified: true, name: 'Jon Park' },
  'zed-sub': { email: 'zed@acme.test', email_verified: true, name: 'Zed Nobody' },
};

beforeAll(async () => {
  idp = await startIdentityProvider();
});
afterAll(async () => {
  await idp?.close();
});
beforeEach(() => {
  idp.accounts.clear();
  for (const [sub, account] of Object.entries(ACCOUNTS)) idp.accounts.set(sub, { ...account });
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(overrides: Partial<OidcSettings> = {}, provider = idp): Promise<Harness> {
  h = await harness({ oidc: provider.settings(overrides) });
  return h;
}

const post = (app: App, path: string, body: unknown, env?: unknown) =>
  Promise.resolve(app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }, env as never));

async function start(app: App, redirectUri = TEST_REDIRECT_URI, env?: unknown) {
  const res = await post(app, '/api/auth/sso/start', { redirectUri }, env);
  if (res.status !== 200) throw new Error(`start failed: ${res.status} ${await res.text()}`);
  return ssoStartResponse.parse(await res.json());
}

const finish = (app: App, callbackUrl: string) => post(app, '/api/auth/sso/finish', { callbackUrl });

async function errorOf(res: Response): Promise<{ code: string; message: string; field?: string }> {
  return ((await res.json()) as { error: { code: string; message: string; field?: string } }).error;
}

async function audit(db: Harness['db']) {
  const rows = (await db.execute('SELECT action, actor_id, data FROM audit_events ORDER BY seq')).rows;
  return rows.map((r) => ({ action: String(r.action), actorId: r.actor_id === null ? null : String(r.actor_id), data: JSON.parse(String(r.data)) }));
}

const lastFailure = async (db: Harness['db']) => (await audit(db)).filter((e) => e.action === 'auth.sign_in_failed').at(-1);

describe('GET /api/auth/methods', () => {
  it('offers password only without a provider', async () => {
    h = await harness();
    const res = await h.app.request('/api/auth/methods');
    expect(res.status).toBe(200);
    expect(authMethodsResponse.parse(await res.json())).toEqual({ password: true, sso: null });
    // …and the SSO routes say it is not configured.
    const started = await post(h.app, '/api/auth/sso/start', { redirectUri: TEST_REDIRECT_URI });
    expect(started.status).toBe(404);
    expect((await errorOf(started)).code).toBe('sso_not_configured');
  });

  it('offers the provider by its display name, without a session', async () => {
    await setup({ name: 'Okta' });
    const res = await h!.app.request('/api/auth/methods');
    expect(await res.json()).toEqual({ password: true, sso: { protocol: 'oidc', name: 'Okta' } });
  });
});

describe('single sign-on: the happy path', () => {
  it('signs Ava in: PKCE S256, state and nonce in the URL; a session exactly like password sign-in; audited; the flow is gone', async () => {
    const { app, db, clock } = await setup();
    const started = await start(app);
    const url = new URL(started.authorizationUrl);
    expect(url.origin).toBe(idp.issuer);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: 'accesslens',
      response_type: 'code',
      redirect_uri: TEST_REDIRECT_URI,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    });
    for (const p of ['state', 'nonce', 'code_challenge']) expect(url.searchParams.get(p)).toMatch(/^[\w-]{32,}$/);
    expect(started.expiresAt).toBe(new Date(clock.now().getTime() + SSO_FLOW_TTL_MS).toISOString());
    // The verifier never leaves the server.
    const stored = (await db.execute('SELECT code_verifier FROM oidc_flows')).rows;
    expect(stored).toHaveLength(1);
    expect(started.authorizationUrl).not.toContain(String(stored[0]!.code_verifier));

    const callback = await idp.signIn(started.authorizationUrl, 'ava-sub');
    expect(callback.startsWith(`${TEST_REDIRECT_URI}?`)).toBe(true);
    const res = await finish(app, callback);
    expect(res.status).toBe(200);
    const body = signInResponse.parse(await res.json());
    expect(body.person).toMatchObject({ id: 'p-ava', email: 'ava@acme.test', name: 'Ava Chen' });
    expect(body.expiresAt).toBe(new Date(clock.now().getTime() + 30 * 24 * 60 * 60 * 1000).toISOString());
    expect(meResponse.parse(await (await h!.get(body.token, '/api/me')).json()).person.id).toBe('p-ava');

    const events = await audit(db);
    const signedIn = events.find((e) => e.action === 'auth.signed_in')!;
    expect(signedIn).toMatchObject({
      actorId: 'p-ava',
      data: { method: 'oidc', issuer: idp.issuer, subject: 'ava-sub', email: 'ava@acme.test', linkedBy: 'email' },
    });
    expect(events.find((e) => e.action === 'auth.sso_linked')).toMatchObject({ actorId: 'p-ava', data: { subject: 'ava-sub' } });
    expect((await verifyAuditChain(db)).ok).toBe(true);
    expect((await db.execute('SELECT COUNT(*) AS n FROM oidc_flows')).rows[0]!.n).toBe(0);
    expect((await db.execute('SELECT person_id, email FROM oidc_identities WHERE subject = ?', ['ava-sub'])).rows[0]).toMatchObject({
      person_id: 'p-ava',
      email: 'ava@acme.test',
    });
  });

  it('works with a public client (PKCE alone, no secret) and the email in the ID token', async () => {
    const publicIdp = await startIdentityProvider({ publicClient: true, emailInIdToken: true, accounts: { 'ava-sub': ACCOUNTS['ava-sub'] } });
    try {
      expect(publicIdp.clientSecret).toBeUndefined();
      const { app } = await setup({}, publicIdp);
      const started = await start(app);
      const res = await finish(app, await publicIdp.signIn(started.authorizationUrl, 'ava-sub'));
      expect(res.status).toBe(200);
      expect(signInResponse.parse(await res.json()).person.id).toBe('p-ava');
    } finally {
      await publicIdp.close();
    }
  });

  it('a second server process finishes a flow the first one started (the flow is in the shared database)', async () => {
    const { app, newApp } = await setup();
    const other = newApp();
    const started = await start(app);
    const callback = await idp.signIn(started.authorizationUrl, 'ava-sub');
    const res = await finish(other, callback);
    expect(res.status).toBe(200);
    expect(signInResponse.parse(await res.json()).person.id).toBe('p-ava');
    // …and then neither process accepts it again.
    expect((await errorOf(await finish(app, callback))).code).toBe('sso_flow_unknown');
  });

  it('finds the person again by `sub` after the provider changes their email', async () => {
    const { app } = await setup();
    const first = await start(app);
    expect((await finish(app, await idp.signIn(first.authorizationUrl, 'ava-sub'))).status).toBe(200);
    idp.accounts.set('ava-sub', { ...ACCOUNTS['ava-sub'], email: 'ava.chen@acme.test' });
    const second = await start(app);
    const res = await finish(app, await idp.signIn(second.authorizationUrl, 'ava-sub'));
    expect(res.status).toBe(200);
    expect(signInResponse.parse(await res.json()).person.id).toBe('p-ava');
    const events = (await audit(h!.db)).filter((e) => e.action === 'auth.signed_in');
    expect(events.at(-1)!.data).toMatchObject({ linkedBy: 'subject', email: 'ava.chen@acme.test' });
    expect((await h!.db.execute("SELECT email FROM oidc_identities WHERE subject = 'ava-sub'")).rows[0]!.email).toBe('ava.chen@acme.test');
  });
});

describe('single sign-on: refusals, each audited', () => {
  it('wrong state: refused, and the real flow can still finish', async () => {
    const { app, db } = await setup();
    const started = await start(app);
    const callback = new URL(await idp.signIn(started.authorizationUrl, 'ava-sub'));
    const forged = new URL(callback);
    forged.searchParams.set('state', 'not-the-state-we-issued');
    const res = await finish(app, forged.href);
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toMatchObject({ code: 'sso_flow_unknown', message: expect.stringContaining('Start the sign-in again') });
    expect(await lastFailure(db)).toMatchObject({ actorId: null, data: { method: 'oidc', reason: 'state_unknown_or_used' } });
    expect((await finish(app, callback.href)).status).toBe(200);
  });

  it('a callback without state is refused', async () => {
    const { app, db } = await setup();
    const res = await finish(app, `${TEST_REDIRECT_URI}?code=abc`);
    expect(res.status).toBe(401);
    expect((await lastFailure(db))!.data.reason).toBe('state_missing');
  });

  it('replayed state: the second use of a callback is refused', async () => {
    const { app, db } = await setup();
    const started = await start(app);
    const callback = await idp.signIn(started.authorizationUrl, 'ava-sub');
    expect((await finish(app, callback)).status).toBe(200);
    const again = await finish(app, callback);
    expect(again.status).toBe(401);
    expect((await errorOf(again)).code).toBe('sso_flow_unknown');
    expect((await lastFailure(db))!.data.reason).toBe('state_unknown_or_used');
    expect((await audit(db)).filter((e) => e.action === 'auth.signed_in')).toHaveLength(1);
  });

  it('expired flow: refused after 10 minutes, and gone', async () => {
    const { app, db, clock } = await setup();
    const started = await start(app);
    const callback = await idp.signIn(started.authorizationUrl, 'ava-sub');
    clock.advance(SSO_FLOW_TTL_MS);
    const res = await finish(app, callback);
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toMatchObject({ code: 'sso_flow_expired', message: expect.stringContaining('took too long') });
    expect((await lastFailure(db))!.data.reason).toBe('flow_expired');
    expect((await db.execute('SELECT COUNT(*) AS n FROM oidc_flows')).rows[0]!.n).toBe(0);
  });

  it('a flow one millisecond before its expiry still finishes', async () => {
    const { app, clock } = await setup();
    const started = await start(app);
    const callback = await idp.signIn(started.authorizationUrl, 'ava-sub');
    clock.advance(SSO_FLOW_TTL_MS - 1);
    expect((await finish(app, callback)).status).toBe(200);
  });

  it('nonce mismatch: a code obtained for another nonce is refused after the exchange', async () => {
    const { app, db } = await setup();
    const started = await start(app);
    // An attacker's authorization request: our state and PKCE challenge, but their own nonce.
    const tampered = new URL(started.authorizationUrl);
    tampered.searchParams.set('nonce', 'attacker-chosen-nonce-0123456789abcdef');
    const res = await finish(app, await idp.signIn(tampered.href, 'ava-sub'));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('sso_invalid_response');
    const failure = await lastFailure(db);
    expect(failure!.data.reason).toMatch(/ID Token "nonce" claim/);
    expect((await audit(db)).some((e) => e.action === 'auth.signed_in')).toBe(false);
  });

  it('unknown email: refused with a clear message; nobody is created', async () => {
    const { app, db } = await setup();
    const people = Number((await db.execute('SELECT COUNT(*) AS n FROM people')).rows[0]!.n);
    const started = await start(app);
    const res = await finish(app, await idp.signIn(started.authorizationUrl, 'zed-sub'));
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({
      code: 'sso_unknown_person',
      message: 'Nobody with the email zed@acme.test is in the AccessLens directory. Ask an administrator to add you.',
    });
    expect(await lastFailure(db)).toMatchObject({ actorId: null, data: { reason: 'unknown_email', email: 'zed@acme.test', subject: 'zed-sub' } });
    expect(Number((await db.execute('SELECT COUNT(*) AS n FROM people')).rows[0]!.n)).toBe(people);
    expect((await db.execute('SELECT COUNT(*) AS n FROM oidc_identities')).rows[0]!.n).toBe(0);
  });

  it('departed person: refused, saying so', async () => {
    const { app, db } = await setup();
    const started = await start(app);
    const res = await finish(app, await idp.signIn(started.authorizationUrl, 'jon-sub'));
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({ code: 'sso_person_inactive', message: expect.stringContaining('departed') });
    expect(await lastFailure(db)).toMatchObject({ actorId: 'p-jon', data: { reason: 'person_departed' } });
  });

  it('suspended person, even when already linked by sub: refused', async () => {
    const { app, db } = await setup();
    const first = await start(app);
    expect((await finish(app, await idp.signIn(first.authorizationUrl, 'ava-sub'))).status).toBe(200);
    await db.transaction((tx) => tx.execute("UPDATE people SET status = 'suspended' WHERE id = 'p-ava'"));
    const second = await start(app);
    const res = await finish(app, await idp.signIn(second.authorizationUrl, 'ava-sub'));
    expect(res.status).toBe(403);
    expect((await lastFailure(db))!.data.reason).toBe('person_suspended');
  });

  it('email domain not allowed: refused even for an active person', async () => {
    const { app, db } = await setup({ emailDomains: ['example.com'] });
    const started = await start(app);
    const res = await finish(app, await idp.signIn(started.authorizationUrl, 'ava-sub'));
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({ code: 'sso_domain_not_allowed', message: expect.stringContaining('example.com') });
    expect((await lastFailure(db))!.data.reason).toBe('domain_not_allowed');
  });

  it('an allowed domain signs in', async () => {
    const { app } = await setup({ emailDomains: ['example.com', 'acme.test'] });
    const started = await start(app);
    expect((await finish(app, await idp.signIn(started.authorizationUrl, 'ava-sub'))).status).toBe(200);
  });

  it('an email the provider has not verified is refused; without the claim only when verification is not required', async () => {
    const { app, db } = await setup();
    idp.accounts.set('ava-sub', { email: 'ava@acme.test', email_verified: false });
    let started = await start(app);
    let res = await finish(app, await idp.signIn(started.authorizationUrl, 'ava-sub'));
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('sso_email_unverified');
    expect((await lastFailure(db))!.data.reason).toBe('email_unverified');

    idp.accounts.set('ava-sub', { email: 'ava@acme.test' });
    started = await start(app);
    res = await finish(app, await idp.signIn(started.authorizationUrl, 'ava-sub'));
    expect(res.status).toBe(403);
    expect((await lastFailure(db))!.data.reason).toBe('email_verified_missing');

    await h!.close();
    const relaxed = await setup({ requireVerifiedEmail: false });
    started = await start(relaxed.app);
    expect((await finish(relaxed.app, await idp.signIn(started.authorizationUrl, 'ava-sub'))).status).toBe(200);
  });

  it('a provider account without an email is refused', async () => {
    const { app } = await setup();
    idp.accounts.set('ava-sub', {});
    const started = await start(app);
    const res = await finish(app, await idp.signIn(started.authorizationUrl, 'ava-sub'));
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('sso_email_missing');
  });

  it('another provider account claiming an email already linked to someone else is refused', async () => {
    const { app, db } = await setup();
    const first = await start(app);
    expect((await finish(app, await idp.signIn(first.authorizationUrl, 'ava-sub'))).status).toBe(200);
    idp.accounts.set('impostor-sub', { email: 'ava@acme.test', email_verified: true });
    const second = await start(app);
    const res = await finish(app, await idp.signIn(second.authorizationUrl, 'impostor-sub'));
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('sso_identity_mismatch');
    expect(await lastFailure(db)).toMatchObject({ actorId: 'p-ava', data: { reason: 'linked_to_other_subject', subject: 'impostor-sub' } });
    expect((await db.execute('SELECT COUNT(*) AS n FROM sessions')).rows[0]!.n).toBe(1);
  });

  it('the person cancelling at the provider comes back as an error and is refused', async () => {
    const { app, db } = await setup();
    const started = await start(app);
    const callback = await idp.signIn(started.authorizationUrl, 'ava-sub', { abort: true });
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    const res = await finish(app, callback);
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toMatchObject({ code: 'sso_denied', message: expect.stringContaining('Acme SSO did not sign you in') });
    expect((await lastFailure(db))!.data.reason).toBe('provider_error: access_denied');
  });

  it('a callback to another redirect path than the flow was started for is refused', async () => {
    const { app, db } = await setup();
    const started = await start(app);
    const callback = new URL(await idp.signIn(started.authorizationUrl, 'ava-sub'));
    const elsewhere = new URL(`${TEST_REDIRECT_URI}/other${callback.search}`);
    const res = await finish(app, elsewhere.href);
    expect(res.status).toBe(401);
    expect((await lastFailure(db))!.data.reason).toBe('redirect_uri_mismatch');
  });
});

describe('single sign-on: input and limits', () => {
  it.each([
    ['a web page', 'https://evil.example/callback'],
    ['plain http', 'http://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/oidc'],
    ['a host that only ends like an extension host', 'https://xabcdefghijklmnopabcdefghijklmnop.chromiumapp.org.evil.example/'],
    ['an extension id with letters outside a-p', 'https://zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.chromiumapp.org/oidc'],
    ['a query', `${TEST_REDIRECT_URI}?next=x`],
    ['a port', 'https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org:8443/oidc'],
  ])('start refuses %s as redirect URI with a 400 naming redirectUri', async (_name, redirectUri) => {
    const { app, db } = await setup();
    const res = await post(app, '/api/auth/sso/start', { redirectUri });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: 'invalid_input', field: 'redirectUri' });
    expect((await db.execute('SELECT COUNT(*) AS n FROM oidc_flows')).rows[0]!.n).toBe(0);
  });

  it('start accepts a Firefox redirect URI', async () => {
    const { app } = await setup();
    const firefox = `https://${'0123456789abcdef0123456789abcdef01234567'}.extensions.allizom.org/oidc`;
    const started = await start(app, firefox);
    expect(new URL(started.authorizationUrl).searchParams.get('redirect_uri')).toBe(firefox);
  });

  it('finish names callbackUrl when it is missing or not an extension redirect', async () => {
    const { app } = await setup();
    for (const body of [{}, { callbackUrl: 'https://evil.example/cb?code=x&state=y' }, { callbackUrl: 42 }]) {
      const res = await post(app, '/api/auth/sso/finish', body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).field).toBe('callbackUrl');
    }
  });

  it(`caps open flows at ${MAX_OPEN_FLOWS_PER_ADDRESS} per client address, with Retry-After`, async () => {
    const { app, clock } = await setup();
    const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
    for (let i = 0; i < MAX_OPEN_FLOWS_PER_ADDRESS; i++) await start(app, TEST_REDIRECT_URI, from('203.0.113.9'));
    const limited = await post(app, '/api/auth/sso/start', { redirectUri: TEST_REDIRECT_URI }, from('203.0.113.9'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('Retry-After'))).toBe(SSO_FLOW_TTL_MS / 1000);
    expect(((await limited.json()) as { error: unknown }).error).toMatchObject({
      code: 'rate_limited',
      reason: 'sso_rate_limited',
      params: { seconds: SSO_FLOW_TTL_MS / 1000 },
    });
    // Another address is not affected; once the flows expire the first may start again.
    await start(app, TEST_REDIRECT_URI, from('198.51.100.2'));
    clock.advance(SSO_FLOW_TTL_MS);
    await start(app, TEST_REDIRECT_URI, from('203.0.113.9'));
  });

  it('an unreachable provider: 502 at start, and nothing stored', async () => {
    const closed = await startIdentityProvider();
    const settings = closed.settings();
    await closed.close();
    h = await harness({ oidc: settings });
    const res = await post(h.app, '/api/auth/sso/start', { redirectUri: TEST_REDIRECT_URI });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe('sso_provider_unreachable');
    expect((await h.db.execute('SELECT COUNT(*) AS n FROM oidc_flows')).rows[0]!.n).toBe(0);
  });
});
