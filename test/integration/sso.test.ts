/**
 * Single sign-on across server processes: two real server processes (configured from the environment
 * as in production, confidential client) on one libsql server. A flow started on one is finished on
 * the other, once; the provider is a real oidc-provider on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInResponse, ssoStartResponse } from '@accesslens/shared';
import { startSqld, type RunningSqld } from '@accesslens/server/testing-sqld';
import { TEST_REDIRECT_URI, startIdentityProvider, type TestIdentityProvider } from '@accesslens/server/testing-oidc';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';

let sqld: RunningSqld;
let idp: TestIdentityProvider;
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
  [sqld, idp] = await Promise.all([startSqld(), startIdentityProvider({ accounts: { 'ava-sub': { email: DEMO.ava.email, email_verified: true } } })]);
  const env = {
    ACCESSLENS_OIDC_ISSUER: idp.issuer,
    ACCESSLENS_OIDC_CLIENT_ID: idp.clientId,
    ACCESSLENS_OIDC_CLIENT_SECRET: idp.clientSecret!,
    ACCESSLENS_OIDC_NAME: 'Acme SSO',
    ACCESSLENS_OIDC_EMAIL_DOMAINS: 'acme.test',
  };
  [a, b] = await Promise.all([startServer({ databaseUrl: sqld.url, env }), startServer({ databaseUrl: sqld.url, env })]);
});

afterAll(async () => {
  await Promise.allSettled([a?.dispose(), b?.dispose(), idp?.close()]);
  await sqld?.stop();
});

describe('single sign-on with two server processes on one database', () => {
  it('a flow started on one process finishes on the other, exactly once', async () => {
    const onA = new ApiClient(a.url);
    const onB = new ApiClient(b.url);
    expect((await onA.call('GET', '/api/auth/methods')).json).toEqual({ password: true, sso: { protocol: 'oidc', name: 'Acme SSO' } });

    const started = await onA.call('POST', '/api/auth/sso/start', { redirectUri: TEST_REDIRECT_URI });
    expect(started.status).toBe(200);
    const callbackUrl = await idp.signIn(ssoStartResponse.parse(started.json).authorizationUrl, 'ava-sub');

    // Both processes try to finish it at once: one signs Ava in, the other finds the flow taken.
    const [fromB, fromA] = await Promise.all([
      onB.call('POST', '/api/auth/sso/finish', { callbackUrl }),
      onA.call('POST', '/api/auth/sso/finish', { callbackUrl }),
    ]);
    const results = [fromB, fromA].map((r) => r.status).sort();
    expect(results).toEqual([200, 401]);
    const won = fromB.status === 200 ? fromB : fromA;
    const lost = fromB.status === 200 ? fromA : fromB;
    expect(lost.json.error.code).toBe('sso_flow_unknown');
    const body = signInResponse.parse(won.json);
    expect(body.person.email).toBe(DEMO.ava.email);

    // The session works on both processes.
    onA.token = body.token;
    onB.token = body.token;
    expect((await onA.call('GET', '/api/me')).json.person.id).toBe('p-ava');
    expect((await onB.call('GET', '/api/me')).json.person.id).toBe('p-ava');
  });

  it('a flow started on one process and finished on the other (sequentially) signs in', async () => {
    const started = await new ApiClient(b.url).call('POST', '/api/auth/sso/start', { redirectUri: TEST_REDIRECT_URI });
    const callbackUrl = await idp.signIn(ssoStartResponse.parse(started.json).authorizationUrl, 'ava-sub');
    const finished = await new ApiClient(a.url).call('POST', '/api/auth/sso/finish', { callbackUrl });
    expect(finished.status).toBe(200);
    expect(signInResponse.parse(finished.json).person.id).toBe('p-ava');
  });
});
