import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_PASSWORDS } from './seed/demo.ts';
import { startServer, type RunningServer } from './server.ts';

let dir: string;
let server: RunningServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'accesslens-server-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const databaseUrl = () => `file:${join(dir, 'accesslens.db')}`;

describe('startServer', () => {
  it('serves on a random port over real HTTP; SSE disconnects are cleaned up; close() ends open streams', async () => {
    server = await startServer({ port: 0, databaseUrl: databaseUrl(), seed: 'demo' });
    expect(server.port).toBeGreaterThan(0);
    // Loopback by default, and the URL says the address really bound (issue 10: it bound every interface and said "localhost").
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.address).toBe('127.0.0.1');
    expect(await (await fetch(`${server.url}/api/health`)).json()).toEqual({ ok: true });

    const signIn = await fetch(`${server.url}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ben@acme.test', password: DEMO_PASSWORDS['ben@acme.test'] }),
    });
    const { token } = (await signIn.json()) as { token: string };

    const abort = new AbortController();
    const events = await fetch(`${server.url}/api/sync/events`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const reader = events.body!.getReader();
    await reader.read();
    expect(server.notifier.listenerCount('p-ben')).toBe(1);
    abort.abort();
    for (let i = 0; i < 100 && server.notifier.listenerCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.notifier.listenerCount()).toBe(0);

    // A stream still open at shutdown does not hold close() up.
    const open = await fetch(`${server.url}/api/sync/events`, { headers: { Authorization: `Bearer ${token}` } });
    await open.body!.getReader().read();
    const started = Date.now();
    await server.close();
    server = undefined;
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps data across restarts and does not seed twice', async () => {
    server = await startServer({ port: 0, databaseUrl: databaseUrl(), seed: 'demo' });
    await server.close();
    server = await startServer({ port: 0, databaseUrl: databaseUrl(), seed: 'demo' });
    const n = await server.db.execute("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'org.seeded'");
    expect(Number(n.rows[0]!.n)).toBe(1);
  });

  it('recomputes the findings table in the background at start-up', async () => {
    server = await startServer({ port: 0, databaseUrl: databaseUrl(), seed: 'demo' });
    // Listening already; the first build fills the table shortly after.
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    let n = 0;
    for (let i = 0; i < 200 && n === 0; i++) {
      n = Number((await server.db.execute("SELECT COUNT(*) AS n FROM findings WHERE status = 'open'")).rows[0]!.n);
      if (n === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(n).toBeGreaterThan(0);
    expect(server.findings.built).toBe(true);
  });

  it('seed none starts empty', async () => {
    server = await startServer({ port: 0, databaseUrl: databaseUrl(), seed: 'none' });
    const n = await server.db.execute('SELECT COUNT(*) AS n FROM people');
    expect(Number(n.rows[0]!.n)).toBe(0);
  });
});
