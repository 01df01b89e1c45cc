/**
 * Issue 10 over real HTTP against the real server (startServer on a random loopback port, a temporary
 * database file): the sign-in race, forwarding headers only from trusted proxies, the bind and the demo
 * seed, event streams per session, and two processes on one database seeing each other's writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_PASSWORDS } from './seed/demo.ts';
import { startServer, type RunningServer } from './server.ts';
import { generateKey } from './secrets.ts';
import { createMutation } from './testing.ts';
import { startSqld } from './testing-sqld.ts';

let dir: string;
const servers: RunningServer[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'accesslens-hardening-'));
});
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const stop of stops.splice(0)) await stop();
  rmSync(dir, { recursive: true, force: true });
});

const databaseUrl = () => `file:${join(dir, 'accesslens.db')}`;
async function start(options: Partial<Parameters<typeof startServer>[0]> = {}): Promise<RunningServer> {
  const s = await startServer({ port: 0, databaseUrl: databaseUrl(), seed: 'demo', ...options });
  servers.push(s);
  return s;
}

function signIn(server: RunningServer, email: string, password: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ email, password }),
  });
}

async function token(server: RunningServer, email: keyof typeof DEMO_PASSWORDS): Promise<string> {
  const res = await signIn(server, email, DEMO_PASSWORDS[email]);
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/** Reads an event stream until `pattern` shows up (or the stream ends); the text read so far. */
async function readUntil(res: Response, pattern: RegExp, timeoutMs: number): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(text) && Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now())))]);
    if (chunk === null || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  void reader.cancel().catch(() => undefined);
  return text;
}

describe('sign-in throttling over real HTTP', () => {
  it('150 concurrent guesses from one client check at most 5 passwords, the real one at position 30 among them; the owner elsewhere gets in', async () => {
    const server = await start({ trustedProxies: ['127.0.0.1'] });
    const attacker = { 'X-Forwarded-For': '203.0.113.7' };
    const statuses = (
      await Promise.all(
        Array.from({ length: 150 }, (_, i) => signIn(server, 'ava@acme.test', i === 30 ? DEMO_PASSWORDS['ava@acme.test'] : `guess-${i}`, attacker)),
      )
    ).map((r) => r.status);
    expect(statuses.filter((s) => s !== 429).length).toBeLessThanOrEqual(5);
    expect(statuses[30]).not.toBe(200);
    const checked = await server.db.execute(
      "SELECT COUNT(*) AS n FROM audit_events WHERE action IN ('auth.sign_in_failed', 'auth.signed_in') AND json_extract(data, '$.reason') IS NOT 'rate_limited'",
    );
    expect(Number(checked.rows[0]!.n)).toBeLessThanOrEqual(5);
    // The owner, from a client that has not failed, is not locked out.
    expect((await signIn(server, 'ava@acme.test', DEMO_PASSWORDS['ava@acme.test'], { 'X-Forwarded-For': '198.51.100.1' })).status).toBe(200);
    expect((await signIn(server, 'ava@acme.test', DEMO_PASSWORDS['ava@acme.test'], attacker)).status).toBe(429);
  });

  it('forwarding headers mean nothing from a peer that is not a trusted proxy', async () => {
    const server = await start();
    for (let i = 0; i < 5; i++)
      expect((await signIn(server, 'ava@acme.test', 'guess', { 'X-Forwarded-For': `203.0.113.${i + 1}`, Forwarded: `for=203.0.113.${i + 1}` })).status).toBe(
        401,
      );
    // A new forwarded address does not make a new client: it is still 127.0.0.1, held back.
    expect((await signIn(server, 'ava@acme.test', DEMO_PASSWORDS['ava@acme.test'], { 'X-Forwarded-For': '198.51.100.9' })).status).toBe(429);
    const failed = await server.db.execute("SELECT DISTINCT json_extract(data, '$.address') AS a FROM audit_events WHERE action = 'auth.sign_in_failed'");
    expect(failed.rows.map((r) => r.a)).toEqual(['127.0.0.1']);
  });
});

describe('where it listens', () => {
  it('binds loopback by default and says so', async () => {
    const server = await start({ seed: undefined });
    expect(server.address).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    // The demo org is seeded on a loopback bind.
    expect(Number((await server.db.execute('SELECT COUNT(*) AS n FROM people')).rows[0]!.n)).toBeGreaterThan(0);
  });

  it('on every interface it does not seed the demo org (published passwords) unless told to', async () => {
    const server = await start({ hostname: '0.0.0.0', seed: undefined });
    expect(server.url).toBe(`http://0.0.0.0:${server.port}`);
    expect(Number((await server.db.execute('SELECT COUNT(*) AS n FROM people')).rows[0]!.n)).toBe(0);
  });
});

describe('event streams', () => {
  it('one session holds at most 3 streams: a fourth ends the oldest', async () => {
    const server = await start();
    const ben = await token(server, 'ben@acme.test');
    const open = () => fetch(`${server.url}/api/sync/events`, { headers: { Authorization: `Bearer ${ben}` } });
    const first = await open();
    const firstText = readUntil(first, /(?!)/, 10_000); // until the server ends it
    const rest = [await open(), await open()];
    await expect.poll(() => server.notifier.listenerCount('p-ben'), { timeout: 3_000 }).toBe(3);
    const fourth = await open();
    expect(fourth.status).toBe(200);
    // The first stream ends by itself; three stay open.
    expect(await firstText).toContain(': connected');
    await expect.poll(() => server.notifier.listenerCount('p-ben')).toBe(3);
    for (const r of [...rest, fourth]) void r.body?.cancel().catch(() => undefined);
  });
});

describe('two server processes on one database', () => {
  it('a write on one pokes streams on the other within a second, and a sign-out on one is refused by the other at once', async () => {
    // Two processes on one embedded file would block each other's event loop (db.ts): one libsql server, as deployed.
    const sqld = await startSqld();
    stops.push(() => sqld.stop());
    const env = { ACCESSLENS_SECRET_KEY: generateKey().bytes.toString('base64') };
    const a = await start({ databaseUrl: sqld.url, env });
    const b = await start({ databaseUrl: sqld.url, env, seed: 'none' });
    const ava = await token(a, 'ava@acme.test');
    const ben = await token(b, 'ben@acme.test');
    // Ben's session is validated (and remembered) by B.
    expect((await fetch(`${b.url}/api/me`, { headers: { Authorization: `Bearer ${ben}` } })).status).toBe(200);
    const stream = await fetch(`${b.url}/api/sync/events`, { headers: { Authorization: `Bearer ${ben}` } });
    const poked = readUntil(stream, /event: poke/, 5_000);
    await expect.poll(() => b.notifier.listenerCount('p-ben')).toBe(1);

    const before = (await (await fetch(`${b.url}/api/sync`, { headers: { Authorization: `Bearer ${ben}` } })).json()) as { cursor: string };
    const started = Date.now();
    const mutation = createMutation();
    const res = await fetch(`${a.url}/api/mutations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ava}` },
      body: JSON.stringify({ mutations: [mutation] }),
    });
    expect(res.status).toBe(200);
    // The very next pull on B sees the write made through A (not "unchanged" until B's feed looks).
    const pulled = (await (
      await fetch(`${b.url}/api/sync?cursor=${encodeURIComponent(before.cursor)}`, { headers: { Authorization: `Bearer ${ben}` } })
    ).json()) as { requests: { id: string }[] };
    expect(pulled.requests.map((r) => r.id)).toContain(mutation.args.requestId);
    expect(await poked).toMatch(/event: poke/);
    expect(Date.now() - started).toBeLessThan(1_000);

    // Ben signs out through A: B, which remembered the session, refuses it at once — its very next
    // request, before B's change feed has looked (auth/session.ts checks the revocation counter).
    expect((await fetch(`${b.url}/api/me`, { headers: { Authorization: `Bearer ${ben}` } })).status).toBe(200);
    expect((await fetch(`${a.url}/api/auth/sign-out`, { method: 'POST', headers: { Authorization: `Bearer ${ben}` } })).status).toBe(204);
    expect((await fetch(`${b.url}/api/me`, { headers: { Authorization: `Bearer ${ben}` } })).status).toBe(401);
    expect((await fetch(`${b.url}/api/sync`, { headers: { Authorization: `Bearer ${ben}` } })).status).toBe(401);
  });
});
