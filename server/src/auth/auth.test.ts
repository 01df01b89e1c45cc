import { meResponse, signInResponse } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, harness, type Harness } from '../testing.ts';
import { openDatabase } from '../db.ts';
import { createApp } from '../app.ts';
import { hashSecret } from './session.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

const signIn = (email: string, password: string, env?: unknown) =>
  h.app.request(
    '/api/auth/sign-in',
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) },
    env as never,
  );

async function auditActions(): Promise<string[]> {
  const r = await h.db.execute('SELECT action FROM audit_events ORDER BY seq');
  return r.rows.map((row) => String(row.action));
}

describe('sign-in', () => {
  it('returns a token, its expiry and the person', async () => {
    const res = await signIn('ava@acme.test', 'ava-demo-2026');
    expect(res.status).toBe(200);
    const body = signInResponse.parse(await res.json());
    expect(body.person).toMatchObject({ id: 'p-ava', name: 'Ava Chen', managerId: 'p-ben', roles: ['requester'] });
    expect(body.expiresAt).toBe(new Date(h.clock.now().getTime() + 30 * DAY_MS).toISOString());
    expect(await auditActions()).toContain('auth.signed_in');
  });

  it('accepts the email in any case', async () => {
    expect((await signIn('Ava@ACME.test', 'ava-demo-2026')).status).toBe(200);
  });

  it('says the same for a wrong password and an unknown email', async () => {
    const wrong = await signIn('ava@acme.test', 'nope');
    const unknown = await signIn('nobody@acme.test', 'nope');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const a = (await wrong.json()) as { error: { code: string; message: string } };
    const b = (await unknown.json()) as { error: { code: string; message: string } };
    // The English sentence for API clients, and the reason a client renders in its own language.
    expect(a.error).toEqual({ code: 'invalid_credentials', message: 'The email or password is incorrect.', reason: 'invalid_credentials' });
    expect(a).toEqual(b);
    expect((await auditActions()).filter((x) => x === 'auth.sign_in_failed')).toHaveLength(2);
  });

  it('refuses a departed person with the right password', async () => {
    expect((await signIn('jon@acme.test', 'jon-demo-2026')).status).toBe(401);
  });

  const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
  const retryAfter = (res: Response) => Number(res.headers.get('Retry-After'));

  it('5 free attempts per account from one client, then a doubling wait, persisted across app instances', async () => {
    for (let i = 0; i < 5; i++) expect((await signIn('ava@acme.test', `wrong-${i}`)).status).toBe(401);
    // A new app over the same database (a restart, or another process) still counts them.
    const other = h.newApp();
    const limited = await other.request('/api/auth/sign-in', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ava@acme.test', password: 'ava-demo-2026' }),
    });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect(retryAfter(limited)).toBe(30);
    // Other accounts from the same client are not affected.
    expect((await signIn('ben@acme.test', 'ben-demo-2026')).status).toBe(200);
    // After the wait one more guess, then twice as long.
    h.clock.advance(30_000);
    expect((await signIn('ava@acme.test', 'wrong-again')).status).toBe(401);
    const longer = await signIn('ava@acme.test', 'ava-demo-2026');
    expect(longer.status).toBe(429);
    expect(retryAfter(longer)).toBe(60);
    h.clock.advance(60_000);
    expect((await signIn('ava@acme.test', 'ava-demo-2026')).status).toBe(200);
  });

  it('Retry-After counts down from the last failure', async () => {
    for (let i = 0; i < 5; i++) await signIn('ava@acme.test', 'wrong');
    h.clock.advance(10_000);
    const res = await signIn('ava@acme.test', 'ava-demo-2026');
    expect(res.status).toBe(429);
    expect(retryAfter(res)).toBe(20);
  });

  it('the owner signs in from a client that has not failed while another client is held back (no lockout)', async () => {
    const attacker = from('203.0.113.7');
    for (let i = 0; i < 5; i++) expect((await signIn('ava@acme.test', `guess-${i}`, attacker)).status).toBe(401);
    expect((await signIn('ava@acme.test', 'guess-5', attacker)).status).toBe(429);
    expect((await signIn('ava@acme.test', 'ava-demo-2026', from('198.51.100.1'))).status).toBe(200);
    // …and the attacker is still held back.
    expect((await signIn('ava@acme.test', 'guess-6', attacker)).status).toBe(429);
  });

  it('20 free attempts from one client across accounts, then a wait for that client only', async () => {
    const env = from('203.0.113.7');
    for (let i = 0; i < 20; i++) expect((await signIn(`user${i}@acme.test`, 'x', env)).status).toBe(401);
    const limited = await signIn('ben@acme.test', 'ben-demo-2026', env);
    expect(limited.status).toBe(429);
    expect(retryAfter(limited)).toBe(30);
    expect((await signIn('ben@acme.test', 'ben-demo-2026', from('198.51.100.1'))).status).toBe(200);
  });

  it('past 20 failures on one account from many clients, a client that failed waits; a clean one does not', async () => {
    for (let i = 0; i < 20; i++) expect((await signIn('ava@acme.test', `guess-${i}`, from(`203.0.113.${i + 1}`))).status).toBe(401);
    // A botnet address that already guessed once must wait before guessing again…
    const again = await signIn('ava@acme.test', 'ava-demo-2026', from('203.0.113.1'));
    expect(again.status).toBe(429);
    expect(retryAfter(again)).toBeGreaterThanOrEqual(30);
    // …the owner's own machine has not failed and gets in.
    expect((await signIn('ava@acme.test', 'ava-demo-2026', from('198.51.100.1'))).status).toBe(200);
  });

  it("a correct password clears that client's failures for the account", async () => {
    for (let i = 0; i < 4; i++) await signIn('ava@acme.test', 'wrong');
    expect((await signIn('ava@acme.test', 'ava-demo-2026')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await signIn('ava@acme.test', 'wrong')).status).toBe(401);
  });

  it('150 concurrent guesses from one client check at most 5 passwords; the real one among them does not get in', async () => {
    const attempts = Array.from({ length: 150 }, (_, i) => signIn('ava@acme.test', i === 30 ? 'ava-demo-2026' : `guess-${i}`));
    const statuses = (await Promise.all(attempts)).map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length + statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(145);
    const checked = await h.db.execute(
      "SELECT COUNT(*) AS n FROM audit_events WHERE action IN ('auth.sign_in_failed', 'auth.signed_in') AND json_extract(data, '$.reason') IS NOT 'rate_limited'",
    );
    expect(Number(checked.rows[0]!.n)).toBeLessThanOrEqual(5);
  });
});

describe('sessions', () => {
  it('token is <id>.<secret>; only SHA-256 of the secret is stored', async () => {
    const token = await h.signIn('ava@acme.test');
    const [id, secret, ...rest] = token.split('.');
    expect(rest).toHaveLength(0);
    expect(id).toMatch(/^[a-z2-7]{32}$/);
    expect(secret).toMatch(/^[a-z2-7]{52}$/); // 32 random bytes
    const row = (await h.db.execute('SELECT * FROM sessions WHERE id = ?', [id!])).rows[0]!;
    const stored = new Uint8Array(row.secret_hash as ArrayBuffer);
    expect(Buffer.from(stored).equals(Buffer.from(hashSecret(secret!)))).toBe(true);
    const everything = JSON.stringify(Object.values(row).map((v) => (v instanceof ArrayBuffer ? Buffer.from(v).toString('hex') : v)));
    expect(everything).not.toContain(secret);
  });

  it('GET /api/me returns the person and session expiry', async () => {
    const token = await h.signIn('ben@acme.test');
    const res = await h.get(token, '/api/me');
    expect(res.status).toBe(200);
    const body = meResponse.parse(await res.json());
    expect(body.person.id).toBe('p-ben');
    expect(body.session.expiresAt).toBe(new Date(h.clock.now().getTime() + 30 * DAY_MS).toISOString());
  });

  it('rejects missing, malformed, wrong-secret and unknown tokens with 401', async () => {
    const token = await h.signIn('ava@acme.test');
    const [id] = token.split('.');
    for (const bad of [null, 'garbage', `${id}.${'a'.repeat(52)}`, `${'b'.repeat(32)}.${'a'.repeat(52)}`]) {
      const res = await h.get(bad, '/api/me');
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    }
  });

  it('expires after 30 idle days; use within them slides the expiry (refreshed at most hourly)', async () => {
    const token = await h.signIn('ava@acme.test');
    const [id] = token.split('.');
    const lastVerified = async () => Number((await h.db.execute('SELECT last_verified_at FROM sessions WHERE id = ?', [id!])).rows[0]!.last_verified_at);
    const t0 = h.clock.now().getTime();

    h.clock.advance(30 * 60 * 1000); // 30 minutes: no refresh yet
    expect((await h.get(token, '/api/me')).status).toBe(200);
    expect(await lastVerified()).toBe(t0);

    h.clock.advance(31 * 60 * 1000); // past an hour: refreshed
    const me = (await (await h.get(token, '/api/me')).json()) as { session: { expiresAt: string } };
    expect(await lastVerified()).toBe(h.clock.now().getTime());
    expect(me.session.expiresAt).toBe(new Date(h.clock.now().getTime() + 30 * DAY_MS).toISOString());

    h.clock.advance(30 * DAY_MS - 1);
    expect((await h.get(token, '/api/me')).status).toBe(200);
    h.clock.advance(30 * DAY_MS);
    expect((await h.get(token, '/api/me')).status).toBe(401);
    expect((await h.db.execute('SELECT COUNT(*) AS n FROM sessions WHERE id = ?', [id!])).rows[0]!.n).toBe(0);
  });

  it('an idle session exactly 30 days old is expired', async () => {
    const token = await h.signIn('ava@acme.test');
    h.clock.advance(30 * DAY_MS);
    expect((await h.get(token, '/api/me')).status).toBe(401);
  });

  it('sign-out deletes the session and is audited', async () => {
    const token = await h.signIn('ava@acme.test');
    const other = await h.signIn('ava@acme.test');
    const res = await h.post(token, '/api/auth/sign-out', {});
    expect(res.status).toBe(204);
    expect((await h.get(token, '/api/me')).status).toBe(401);
    expect((await h.get(other, '/api/me')).status).toBe(200);
    expect(await auditActions()).toContain('auth.signed_out');
    expect((await h.post(token, '/api/auth/sign-out', {})).status).toBe(401);
  });

  describe('with validated sessions kept in memory (issue 10: the cache never outlives a sign-out)', () => {
    /** Another server process: its own database handle (so its own memory of sessions) on the same database. */
    async function otherProcess() {
      const db = await openDatabase(h.url);
      const app = createApp({ db, now: h.clock.now });
      const me = async (token: string) => {
        const res = await app.request('/api/me', { headers: { Authorization: `Bearer ${token}` } });
        return { status: res.status, body: res.status === 200 ? meResponse.parse(await res.json()) : null };
      };
      return { db, me };
    }

    it('a signed-out session is refused by the very next request, in this process and in another one that remembered it', async () => {
      const token = await h.signIn('ava@acme.test');
      const kept = await h.signIn('ava@acme.test');
      const b = await otherProcess();
      try {
        // Both "processes" validated (and remembered) both sessions.
        for (let i = 0; i < 2; i++) {
          expect((await h.get(token, '/api/me')).status).toBe(200);
          expect((await b.me(token)).status).toBe(200);
          expect((await b.me(kept)).status).toBe(200);
        }
        expect((await h.post(token, '/api/auth/sign-out', {})).status).toBe(204);
        // No waiting for a change feed or a TTL: refused at once, here and there.
        expect((await b.me(token)).status).toBe(401);
        expect((await h.get(token, '/api/me')).status).toBe(401);
        expect((await h.get(token, '/api/sync')).status).toBe(401);
        // The other session of the same person is not affected.
        expect((await b.me(kept)).status).toBe(200);
      } finally {
        b.db.close();
      }
    });

    it('many requests at once through the other process (on a libsql server: one batched check): only the signed-out session is refused', async () => {
      const emails = ['ava@acme.test', 'ben@acme.test', 'cara@acme.test', 'dan@acme.test'] as const;
      const tokens = await Promise.all(emails.map((e) => h.signIn(e)));
      const b = await otherProcess();
      try {
        for (const t of tokens) expect((await b.me(t)).status).toBe(200);
        expect((await h.post(tokens[1]!, '/api/auth/sign-out', {})).status).toBe(204);
        const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => b.me(tokens[i % tokens.length]!)));
        answers.forEach((a, i) => {
          expect(a.status, `request ${i}`).toBe(i % tokens.length === 1 ? 401 : 200);
          if (a.body) expect(a.body.person.email).toBe(emails[i % tokens.length]);
        });
      } finally {
        b.db.close();
      }
    });

    it('a session deleted in the database by another writer (revocation, the CLI) is refused at once', async () => {
      const token = await h.signIn('ben@acme.test');
      expect((await h.get(token, '/api/me')).status).toBe(200);
      expect((await h.get(token, '/api/me')).status).toBe(200);
      const other = await openDatabase(h.url);
      try {
        await other.transaction((tx) => tx.execute({ sql: 'DELETE FROM sessions WHERE id = ?', args: [token.split('.')[0]!] }));
      } finally {
        other.close();
      }
      expect((await h.get(token, '/api/me')).status).toBe(401);
    });

    it("a suspension and a change of roles made through one process hold at once in the other; so does a change to the person's row", async () => {
      const cara = await h.signIn('cara@acme.test');
      const ava = await h.signIn('ava@acme.test');
      const dan = await h.signIn('dan@acme.test');
      const b = await otherProcess();
      try {
        expect((await b.me(ava)).body?.person.roles).toEqual(['requester']);
        expect((await b.me(ava)).body?.person.roles).toEqual(['requester']);
        expect((await h.patch(cara, '/api/admin/people/p-ava', { roles: ['requester', 'approver'] })).status).toBe(200);
        expect((await b.me(ava)).body?.person.roles).toEqual(['requester', 'approver']);

        // A change of the person's own row (no session or role change): the next answer carries it.
        expect((await b.me(ava)).body?.person.language ?? null).toBeNull();
        expect((await h.patch(ava, '/api/me/preferences', { language: 'zh-CN' })).status).toBe(200);
        expect((await b.me(ava)).body?.person.language).toBe('zh-CN');

        expect((await b.me(dan)).status).toBe(200);
        expect((await b.me(dan)).status).toBe(200);
        expect((await h.patch(cara, '/api/admin/people/p-dan', { status: 'suspended' })).status).toBe(200);
        expect((await b.me(dan)).status).toBe(401);
      } finally {
        b.db.close();
      }
    });
  });
});
