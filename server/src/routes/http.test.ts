import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEVELOPMENT_EXTENSION_ID } from '@accesslens/shared';
import { createMutation, harness, type Harness } from '../testing.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await h.close();
});

describe('HTTP surface', () => {
  it('GET /api/health needs no session', async () => {
    const res = await h.get(null, '/api/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('unknown routes are 404 JSON', async () => {
    for (const path of ['/api/nothing', '/', '/api/sync/nope']) {
      const res = await h.get(null, path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('malformed JSON is 400 invalid_json', async () => {
    const res = await h.post(null, '/api/auth/sign-in', '{"email": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; field: string } }).error).toMatchObject({ code: 'invalid_json', field: '(body)' });
  });

  it('a bad sign-in body is 400 invalid_input with every issue', async () => {
    const res = await h.post(null, '/api/auth/sign-in', { email: 'not-an-email', password: '' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; field: string; issues: { field: string; message: string }[] } };
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.field).toBe('email');
    expect(body.error.issues.map((i) => i.field)).toEqual(['email', 'password']);
    // Each issue's kind and bounds travel with it, so a client can say it in the person's language.
    expect(body.error.issues.map((i) => (i as { detail?: unknown }).detail)).toEqual([
      { code: 'invalid_format', origin: 'string', format: 'email' },
      { code: 'too_small', origin: 'string', minimum: 1 },
    ]);
  });

  it('an unexpected failure is 500 internal, without a stack trace', async () => {
    const token = await h.signIn('ava@acme.test');
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    await h.db.execute('DROP TABLE applied_mutations');
    const res = await h.post(token, '/api/mutations', { mutations: [createMutation()] });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'Something went wrong on the server.', reason: 'internal' } });
    expect(text).not.toMatch(/at .*\.ts|applied_mutations|SQLITE/);
    expect(log).toHaveBeenCalled();
  });

  it('a body over 1 MB is refused', async () => {
    const res = await h.post(null, '/api/auth/sign-in', { email: 'a@b.co', password: 'x'.repeat(1100 * 1024) });
    expect(res.status).toBe(413);
  });

  it('API responses are not cached', async () => {
    expect((await h.get(null, '/api/health')).headers.get('Cache-Control')).toBe('no-store');
  });

  it('every response carries nosniff and the secure-headers defaults; authenticated ones are never stored (issue 10, defect 5)', async () => {
    const token = await h.signIn('ava@acme.test');
    const cara = await h.signIn('cara@acme.test');
    const responses = [
      await h.get(null, '/api/health'),
      await h.get(null, '/api/nothing'),
      await h.get(token, '/api/me'),
      await h.get(token, '/api/sync'),
      await h.post(token, '/api/mutations', { mutations: [] }),
      await h.get(cara, '/api/findings'),
      await h.get(null, '/api/openapi.json'),
    ];
    for (const res of responses) {
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
      expect(res.headers.get('X-Frame-Options')).toBe('SAMEORIGIN');
      expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
      expect(res.headers.get('Strict-Transport-Security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('same-origin');
      expect(res.headers.get('X-Powered-By')).toBeNull();
    }
    for (const res of responses.slice(2, 6)) expect(res.headers.get('Cache-Control')).toBe('no-store');
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    h.app.request('/api/sync', {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });

  it("allows the configured extension (by default this repository's build) with Authorization and Content-Type", async () => {
    const origin = `chrome-extension://${DEVELOPMENT_EXTENSION_ID}`;
    const res = await preflight(origin);
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(origin);
    expect(res.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('authorization');
    expect(res.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('content-type');
    expect(res.headers.get('Access-Control-Allow-Methods')).toContain('POST');
  });

  it('does not allow any other extension (issue 10: any chrome-extension:// or moz-extension:// origin was allowed)', async () => {
    for (const origin of ['chrome-extension://abcdefghijklmnopabcdefghijklmnop', 'moz-extension://2b6f0f3e-4b5c-4f0e-9a1e-0c1d2e3f4a5b']) {
      const res = await preflight(origin);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
      const get = await h.app.request('/api/health', { headers: { Origin: origin } });
      expect(get.headers.get('Access-Control-Allow-Origin')).toBeNull();
    }
  });

  it('allows the store ids and Firefox installations configured instead', async () => {
    const { createApp } = await import('../app.ts');
    const store = 'abcdefghijklmnopabcdefghijklmnop';
    const firefox = '2b6f0f3e-4b5c-4f0e-9a1e-0c1d2e3f4a5b';
    const app = createApp({ db: h.db, extensionIds: [store, firefox] });
    for (const origin of [`chrome-extension://${store}`, `moz-extension://${firefox}`])
      expect((await app.request('/api/health', { headers: { Origin: origin } })).headers.get('Access-Control-Allow-Origin')).toBe(origin);
    const dev = await app.request('/api/health', { headers: { Origin: `chrome-extension://${DEVELOPMENT_EXTENSION_ID}` } });
    expect(dev.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('does not allow other web origins', async () => {
    const res = await preflight('https://evil.example');
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('allows configured origins', async () => {
    const { createApp } = await import('../app.ts');
    const app = createApp({ db: h.db, corsOrigins: ['https://admin.acme.test'] });
    const res = await app.request('/api/health', { headers: { Origin: 'https://admin.acme.test' } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('https://admin.acme.test');
  });
});
