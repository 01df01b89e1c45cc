import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_DATABASE_PATH, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has defaults', () => {
    expect(loadConfig({})).toEqual({ port: 8787, databaseUrl: `file:${DEFAULT_DATABASE_PATH}`, seed: 'demo', corsOrigins: [], leaseSeconds: 120 });
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
      corsOrigins: ['https://admin.acme.test', 'http://localhost:5173'],
      leaseSeconds: 15,
    });
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
});
