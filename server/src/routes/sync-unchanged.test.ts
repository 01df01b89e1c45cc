/**
 * The unchanged pull's own path in front of the app (routes/sync.ts `unchangedPullListener`, issue 10):
 * it answers only what the app would answer, byte for byte, and leaves everything else to the app —
 * a sign-out anywhere included.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEVELOPMENT_EXTENSION_ID, extensionOrigin } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, createApp } from '../app.ts';
import { openDatabase } from '../db.ts';
import { startServer, type RunningServer } from '../server.ts';
import { harness, type Harness } from '../testing.ts';

const EXTENSION = extensionOrigin(DEVELOPMENT_EXTENSION_ID)!;
/** What the listener answers with when it declines: the app is not behind it in these tests. */
const DECLINED = 599;

let h: Harness;
let server: Server | null = null;
let base = '';

beforeEach(async () => {
  h = await harness();
  // A real HTTP server with the listener alone, on the harness's database handle (so its memory of
  // sessions): a declined request gets DECLINED, so each test knows who answered.
  const { unchangedPull } = buildApp({ db: h.db, now: h.clock.now, notifier: h.notifier, findings: h.findings, secrets: h.secrets });
  server = createServer((req, res) => {
    const decline = () => void res.writeHead(DECLINED).end();
    const answered = unchangedPull(req, res);
    if (answered === false) decline();
    else void answered.then((done) => done || decline());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  server = null;
  await h.close();
});

/** Signed in, pulled once (the session is now in memory) and the cursor of that pull. */
async function ready(email: 'ava@acme.test' | 'ben@acme.test' = 'ava@acme.test') {
  const token = await h.signIn(email);
  const { cursor } = await h.pull(token);
  return { token, cursor, auth: { Authorization: `Bearer ${token}` } };
}

const IGNORED = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
/** A response's headers but the ones the transport sets, sorted. */
function comparable(headers: Headers): string[] {
  const out: string[] = [];
  headers.forEach((value, name) => void (IGNORED.has(name) || out.push(`${name}: ${value}`)));
  return out.sort();
}

describe('the unchanged pull before the app', () => {
  it("answers an unchanged pull with the app's own status, headers and body, from an allowed origin, another one and none", async () => {
    const { cursor, auth } = await ready();
    for (const origin of [EXTENSION, 'https://evil.example', null]) {
      const headers = { ...auth, ...(origin ? { Origin: origin } : {}) };
      const fast = await fetch(`${base}/api/sync?cursor=${cursor}`, { headers });
      const app = await h.app.request(`/api/sync?cursor=${cursor}`, { headers });
      expect(fast.status, String(origin)).toBe(200);
      expect(app.status).toBe(200);
      expect(await fast.text()).toBe(await app.text());
      expect(comparable(fast.headers)).toEqual(comparable(app.headers));
      expect(fast.headers.get('access-control-allow-origin')).toBe(origin === EXTENSION ? EXTENSION : null);
      expect(fast.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('leaves to the app whatever it would not answer the same: no or another token, a session not in memory, a change, another query, method or header set', async () => {
    const { token, cursor, auth } = await ready();
    const status = async (path: string, init: RequestInit = {}) => (await fetch(`${base}${path}`, init)).status;
    expect(await status(`/api/sync?cursor=${cursor}`, { headers: auth })).toBe(200);

    expect(await status(`/api/sync?cursor=${cursor}`)).toBe(DECLINED);
    expect(await status(`/api/sync?cursor=${cursor}`, { headers: { Authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}` } })).toBe(
      DECLINED,
    );
    expect(await status(`/api/sync?cursor=${cursor}`, { headers: { Authorization: `Basic ${token}` } })).toBe(DECLINED);
    // Signed in but never used: the session is read (and remembered) by the app, not here.
    const fresh = await h.signIn('ben@acme.test');
    expect(await status(`/api/sync?cursor=${cursor}`, { headers: { Authorization: `Bearer ${fresh}` } })).toBe(DECLINED);

    for (const path of [
      '/api/sync',
      `/api/sync?cursor=${cursor}&cursor=${cursor}`,
      `/api/sync?cursor=${cursor}&x=1`,
      `/api/sync/?cursor=${cursor}`,
      `/api/sync?cursor=${cursor.toUpperCase()}`,
      `/api/sync?cursor=${cursor.replace(/\.\d+$/, '.01')}`,
      '/api/sync?cursor=',
      '/api/me',
    ])
      expect(await status(path, { headers: auth }), path).toBe(DECLINED);
    expect(await status(`/api/sync?cursor=${cursor}`, { method: 'HEAD', headers: auth })).toBe(DECLINED);
    expect(await status(`/api/sync?cursor=${cursor}`, { method: 'POST', headers: auth, body: '{}' })).toBe(DECLINED);

    // Two Authorization headers: Node would keep the first, the app sees both; only the app answers.
    const twice = await new Promise<number>((resolve, reject) => {
      const { port } = server!.address() as AddressInfo;
      import('node:http').then(({ request }) => {
        const req = request({
          host: '127.0.0.1',
          port,
          path: `/api/sync?cursor=${cursor}`,
          // A flat list of raw headers (Host too: Node sends none of its own with one).
          headers: ['Host', `127.0.0.1:${port}`, 'Authorization', `Bearer ${token}`, 'Authorization', 'Bearer x'] as never,
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      }, reject);
    });
    expect(twice).toBe(DECLINED);

    // A change anywhere: the cursor is behind, and the app sends what changed.
    const ben = await h.signIn('ben@acme.test');
    expect((await h.patch(ben, '/api/me/preferences', { language: 'zh-CN' })).status).toBe(200);
    expect(await status(`/api/sync?cursor=${cursor}`, { headers: auth })).toBe(DECLINED);
    const { cursor: next } = await h.pull(token, cursor);
    expect(await status(`/api/sync?cursor=${next}`, { headers: auth })).toBe(200);
  });

  it('leaves a pull to the app when the expiry sweep is due, and answers again once the app swept', async () => {
    const { token, auth } = await ready();
    h.clock.advance(2 * 60_000);
    // The session is in memory; the pull is due to sweep grants past their end: the app's to do.
    const { cursor } = await h.pull(token);
    expect((await fetch(`${base}/api/sync?cursor=${cursor}`, { headers: auth })).status).toBe(200);
    h.clock.advance(2 * 60_000);
    expect((await fetch(`${base}/api/sync?cursor=${cursor}`, { headers: auth })).status).toBe(DECLINED);
    expect((await h.app.request(`/api/sync?cursor=${cursor}`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/api/sync?cursor=${cursor}`, { headers: auth })).status).toBe(200);
  });

  it('a sign-out, a suspension or a deleted session through another process is left to the app at the very next request, which refuses it', async () => {
    const ava = await ready('ava@acme.test');
    const ben = await ready('ben@acme.test');
    const other = await openDatabase(h.url);
    try {
      const otherApp = createApp({ db: other, now: h.clock.now });
      for (const s of [ava, ben]) expect((await fetch(`${base}/api/sync?cursor=${s.cursor}`, { headers: s.auth })).status).toBe(200);

      expect(
        (await otherApp.request('/api/auth/sign-out', { method: 'POST', headers: { ...ava.auth, 'Content-Type': 'application/json' }, body: '{}' })).status,
      ).toBe(204);
      expect((await fetch(`${base}/api/sync?cursor=${ava.cursor}`, { headers: ava.auth })).status).toBe(DECLINED);
      expect((await h.app.request(`/api/sync?cursor=${ava.cursor}`, { headers: ava.auth })).status).toBe(401);
      // Every remembered session is read again after any sign-out (the counter moved); Ben's holds.
      const { cursor: benCursor } = await h.pull(ben.token, ben.cursor);
      expect((await fetch(`${base}/api/sync?cursor=${benCursor}`, { headers: ben.auth })).status).toBe(200);
      // … until another writer deletes its row (a revocation, the CLI).
      await other.transaction((tx) => tx.execute({ sql: 'DELETE FROM sessions WHERE id = ?', args: [ben.token.split('.')[0]!] }));
      expect((await fetch(`${base}/api/sync?cursor=${benCursor}`, { headers: ben.auth })).status).toBe(DECLINED);
      expect((await h.app.request(`/api/sync?cursor=${benCursor}`, { headers: ben.auth })).status).toBe(401);

      const dan = await h.signIn('dan@acme.test');
      const { cursor } = await h.pull(dan);
      const cara = await h.signIn('cara@acme.test');
      expect(
        (
          await otherApp.request('/api/admin/people/p-dan', {
            method: 'PATCH',
            headers: { Authorization: `Bearer ${cara}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ status: 'suspended' }),
          })
        ).status,
      ).toBe(200);
      expect((await fetch(`${base}/api/sync?cursor=${cursor}`, { headers: { Authorization: `Bearer ${dan}` } })).status).toBe(DECLINED);
      expect((await h.app.request(`/api/sync?cursor=${cursor}`, { headers: { Authorization: `Bearer ${dan}` } })).status).toBe(401);
    } finally {
      other.close();
    }
  });

  it('many unchanged pulls at once share the session check and each gets its own answer; a signed-out one among them is left to the app', async () => {
    const sessions = await Promise.all(Array.from({ length: 4 }, () => ready()));
    const out = sessions[2]!;
    expect((await h.post(out.token, '/api/auth/sign-out', {})).status).toBe(204);
    // Any sign-out sends every remembered session back to the app once; the others pull again.
    let cursor = '';
    for (const [i, s] of sessions.entries()) if (i !== 2) cursor = (await h.pull(s.token, s.cursor)).cursor;
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        fetch(`${base}/api/sync?cursor=${cursor}`, { headers: sessions[i % 4]!.auth }).then(async (r) => ({ status: r.status, body: await r.text() })),
      ),
    );
    answers.forEach((a, i) => {
      expect(a.status, `request ${i}`).toBe(i % 4 === 2 ? DECLINED : 200);
      if (a.status === 200) expect(JSON.parse(a.body)).toMatchObject({ cursor, reset: false, requests: [] });
    });
  });
});

describe('the server', () => {
  let running: RunningServer | null = null;
  afterEach(async () => {
    await running?.close();
    running = null;
  });

  it('answers unchanged pulls through its own path and everything else through the app; a sign-out counts at the next pull', async () => {
    // The harness's key: a libsql server needs one, and the seed's audit head is signed with it.
    const env = { ACCESSLENS_SECRET_KEY: h.secrets.currentKeyRing().current.bytes.toString('base64') };
    running = await startServer({ port: 0, hostname: '127.0.0.1', databaseUrl: h.url, seed: 'none', now: h.clock.now, env, mail: null });
    const signIn = await fetch(`${running.url}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ava@acme.test', password: 'ava-demo-2026' }),
    });
    const { token } = (await signIn.json()) as { token: string };
    const auth = { Authorization: `Bearer ${token}` };
    const first = (await (await fetch(`${running.url}/api/sync`, { headers: auth })).json()) as { cursor: string; reset: boolean };
    expect(first.reset).toBe(true);
    const unchanged = await fetch(`${running.url}/api/sync?cursor=${first.cursor}`, { headers: { ...auth, Origin: EXTENSION } });
    expect(unchanged.status).toBe(200);
    expect(unchanged.headers.get('access-control-allow-origin')).toBe(EXTENSION);
    expect(await unchanged.json()).toMatchObject({ cursor: first.cursor, reset: false });
    // What the path leaves to the app, the app answers.
    expect((await fetch(`${running.url}/api/sync?cursor=nope`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${running.url}/api/sync?cursor=${first.cursor}`)).status).toBe(401);

    expect(
      (await fetch(`${running.url}/api/auth/sign-out`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{}' })).status,
    ).toBe(204);
    const after = await fetch(`${running.url}/api/sync?cursor=${first.cursor}`, { headers: auth });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
  });
});
