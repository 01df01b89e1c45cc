import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_EXTENSION_ID } from '@accesslens/shared';
import { ConfigError, DEFAULT_DATABASE_PATH, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8787,
      host: '127.0.0.1',
      databaseUrl: `file:${DEFAULT_DATABASE_PATH}`,
      seed: 'demo',
      demoCrmPort: 8788,
      extensionIds: [DEVELOPMENT_EXTENSION_ID],
      corsOrigins: [],
      trustedProxies: [],
      leaseSeconds: 120,
    });
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
        HOST: '0.0.0.0',
        ACCESSLENS_EXTENSION_IDS: 'abcdefghijklmnopabcdefghijklmnop, 2b6f0f3e-4b5c-4f0e-9a1e-0c1d2e3f4a5b',
        ACCESSLENS_TRUSTED_PROXIES: '10.0.0.0/8, ::1',
      }),
    ).toEqual({
      port: 0,
      host: '0.0.0.0',
      extensionIds: ['abcdefghijklmnopabcdefghijklmnop', '2b6f0f3e-4b5c-4f0e-9a1e-0c1d2e3f4a5b'],
      trustedProxies: ['10.0.0.0/8', '::1'],
      databaseUrl: 'libsql://acme.turso.io',
      databaseAuthToken: 'tok',
      seed: 'none',
      // The demo's in-house CRM is served only with the demo org.
      demoCrmPort: null,
      corsOrigins: ['https://admin.acme.test', 'http://localhost:5173'],
      leaseSeconds: 15,
    });
  });

  it('binds loopback by default; seeds the demo org elsewhere only when ACCESSLENS_SEED=demo is set', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '::1' }).seed).toBe('demo');
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'accesslens.acme.internal']) {
      expect(loadConfig({ HOST: host })).toMatchObject({ host, seed: 'none', demoCrmPort: null });
      expect(loadConfig({ HOST: host, ACCESSLENS_SEED: 'demo' }).seed).toBe('demo');
    }
  });

  it('schedules backups when ACCESSLENS_BACKUP_DIR is set', () => {
    expect(loadConfig({}).backup).toBeUndefined();
    expect(
      loadConfig({ ACCESSLENS_BACKUP_DIR: '/var/backups/accesslens', ACCESSLENS_BACKUP_INTERVAL_HOURS: '6', ACCESSLENS_BACKUP_KEEP: '28' }).backup,
    ).toEqual({
      dir: '/var/backups/accesslens',
      intervalMs: 6 * 3_600_000,
      keep: 28,
    });
    expect(loadConfig({ ACCESSLENS_BACKUP_DIR: '/b' }).backup).toMatchObject({ intervalMs: 24 * 3_600_000, keep: 7 });
    expect(() => loadConfig({ ACCESSLENS_BACKUP_DIR: '/b', ACCESSLENS_BACKUP_KEEP: '0' })).toThrow('ACCESSLENS_BACKUP_KEEP');
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
    [{ ACCESSLENS_EXTENSION_IDS: 'not-an-id' }, 'ACCESSLENS_EXTENSION_IDS'],
    [{ ACCESSLENS_TRUSTED_PROXIES: '10.0.0.0/40' }, 'ACCESSLENS_TRUSTED_PROXIES'],
    [{ ACCESSLENS_TRUSTED_PROXIES: 'proxy.acme.internal' }, 'ACCESSLENS_TRUSTED_PROXIES'],
    [{ HOST: 'not a host' }, 'HOST'],
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
    [
      { ACCESSLENS_OIDC_ISSUER: 'https://idp.acme.com', ACCESSLENS_OIDC_CLIENT_ID: 'x', ACCESSLENS_OIDC_EMAIL_DOMAINS: 'acme' },
      'ACCESSLENS_OIDC_EMAIL_DOMAINS',
    ],
    [
      { ACCESSLENS_OIDC_ISSUER: 'https://idp.acme.com', ACCESSLENS_OIDC_CLIENT_ID: 'x', ACCESSLENS_OIDC_REQUIRE_VERIFIED_EMAIL: 'no' },
      'ACCESSLENS_OIDC_REQUIRE_VERIFIED_EMAIL',
    ],
  ])('rejects single sign-on settings %o naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
