import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_DATABASE_PATH, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has defaults', () => {
    expect(loadConfig({})).toEqual({ port: 8787, databaseUrl: `file:${DEFAULT_DATABASE_PATH}`, seed: 'demo', demoCrmPort: 8788, corsOrigins: [], leaseSeconds: 120 });
    expect(DEFAULT_DATABASE_PATH).toMatch(/server\/data\/accesslens\.db$/);
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '0',
        DATABASE_URL: 'libsql://acme.turso.io',
        DATABASE_AUTH_TOKEN: 'tok',
        ACCESSLENS_SEED: 'none',
        ACCESSLENS_CORS_ORIGINS: 'https://admin.acme.test, http://localhost:5173/',
        ACCESSLENS_LEASE_SECONDS: '15',
      }),
    ).toEqual({
      port: 0,
      databaseUrl: 'libsql://acme.turso.io',
      databaseAuthToken: 'tok',
      seed: 'none',
      // The demo's in-house CRM is served only with the demo org.
      demoCrmPort: null,
      corsOrigins: ['https://admin.acme.test', 'http://localhost:5173'],
      leaseSeconds: 15,
    });
  });

  it('serves the demo in-house CRM on a port, any free one, or not at all', () => {
    expect(loadConfig({ ACCESSLENS_DEMO_CRM_PORT: '0' }).demoCrmPort).toBe(0);
    expect(loadConfig({ ACCESSLENS_DEMO_CRM_PORT: 'off' }).demoCrmPort).toBeNull();
    expect(() => loadConfig({ ACCESSLENS_DEMO_CRM_PORT: 'soon' })).toThrow('ACCESSLENS_DEMO_CRM_PORT: must be a port number (0-65535) or off');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ ACCESSLENS_LEASE_SECONDS: '0' }, 'ACCESSLENS_LEASE_SECONDS'],
    [{ DATABASE_URL: 'postgres://x' }, 'DATABASE_URL'],
    [{ ACCESSLENS_SEED: 'full' }, 'ACCESSLENS_SEED'],
    [{ ACCESSLENS_CORS_ORIGINS: 'https://ok.test,https://bad.test/path' }, 'ACCESSLENS_CORS_ORIGINS'],
  ])('rejects %o naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('reads single sign-on settings; none without any ACCESSLENS_OIDC_* variable', () => {
    expect(loadConfig({}).oidc).toBeUndefined();
    expect(
      loadConfig({
        ACCESSLENS_OIDC_ISSUER: 'https://acme.okta.com',
        ACCESSLENS_OIDC_CLIENT_ID: '0oa1b2c3',
        ACCESSLENS_OIDC_CLIENT_SECRET: 's3cret',
        ACCESSLENS_OIDC_NAME: 'Okta',
        ACCESSLENS_OIDC_EMAIL_DOMAINS: 'Acme.com, @acme.cn',
      }).oidc,
    ).toEqual({
      issuer: 'https://acme.okta.com',
      clientId: '0oa1b2c3',
      clientSecret: 's3cret',
      name: 'Okta',
      emailDomains: ['acme.com', 'acme.cn'],
      requireVerifiedEmail: true,
    });
    // A public client (PKCE only), the default name, and verification relaxed for providers without the claim.
    expect(
      loadConfig({
        ACCESSLENS_OIDC_ISSUER: 'http://127.0.0.1:9000',
        ACCESSLENS_OIDC_CLIENT_ID: 'accesslens',
        ACCESSLENS_OIDC_REQUIRE_VERIFIED_EMAIL: 'false',
      }).oidc,
    ).toEqual({ issuer: 'http://127.0.0.1:9000', clientId: 'accesslens', name: 'SSO', emailDomains: [], requireVerifiedEmail: false });
  });

  it.each([
    [{ ACCESSLENS_OIDC_ISSUER: 'https://acme.okta.com' }, 'ACCESSLENS_OIDC_CLIENT_ID'],
    [{ ACCESSLENS_OIDC_CLIENT_ID: 'x' }, 'ACCESSLENS_OIDC_ISSUER'],
    [{ ACCESSLENS_OIDC_NAME: 'Okta' }, 'ACCESSLENS_OIDC_ISSUER'],
    [{ ACCESSLENS_OIDC_ISSUER: 'http://idp.acme.com', ACCESSLENS_OIDC_CLIENT_ID: 'x' }, 'ACCESSLENS_OIDC_ISSUER'],
    [{ ACCESSLENS_OIDC_ISSUER: 'not a url', ACCESSLENS_OIDC_CLIENT_ID: 'x' }, 'ACCESSLENS_OIDC_ISSUER'],
    [{ ACCESSLENS_OIDC_ISSUER: 'https://idp.acme.com', ACCESSLENS_OIDC_CLIENT_ID: 'x', ACCESSLENS_OIDC_EMAIL_DOMAINS: 'acme' }, 'ACCESSLENS_OIDC_EMAIL_DOMAINS'],
    [{ ACCESSLENS_OIDC_ISSUER: 'https://idp.acme.com', ACCESSLENS_OIDC_CLIENT_ID: 'x', ACCESSLENS_OIDC_REQUIRE_VERIFIED_EMAIL: 'no' }, 'ACCESSLENS_OIDC_REQUIRE_VERIFIED_EMAIL'],
  ])('rejects single sign-on settings %o naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
