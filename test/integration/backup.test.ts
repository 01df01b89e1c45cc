/**
 * Backup and restore (issue 10): `pnpm accesslens backup` while the real server takes a write load,
 * `pnpm accesslens restore` (refused while the server runs), then every write acknowledged before the
 * backup started is there and the audit chain verifies — on an embedded file and on a libsql server.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '@accesslens/server/cli/run';
import { testIo } from '@accesslens/server/cli/testing';
import { openDatabase } from '@accesslens/server/db';
import { startSqld, type RunningSqld } from '@accesslens/server/testing-sqld';
import { ApiClient, DEMO, startServer, testSecretKey, type RunningServer } from '../support/server.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Acknowledged {
  requestId: string;
  /** What the server acknowledged last for it. */
  status: 'pending' | 'cancelled';
  at: number;
}

/**
 * Writers that each create a request and cancel it, over and over, until stopped; every write the
 * server acknowledged is recorded with the moment its answer arrived.
 */
function writeLoad(server: RunningServer, email: string, password: string, keys: string[]) {
  const acknowledged = new Map<string, Acknowledged>();
  const errors: string[] = [];
  let stop = false;
  const loops = keys.map(async (key) => {
    const client = new ApiClient(server.url);
    await client.signIn(email, password);
    while (!stop) {
      const requestId = randomUUID();
      const created = await client.mutate({
        id: randomUUID(),
        name: 'request.create',
        args: { requestId, connectionId: 'sf-acme', permissions: [key], page: null, justification: 'Backup under load', durationDays: 7 },
      });
      if (created.status !== 200 || created.json.results[0].status !== 'applied') {
        errors.push(`create: ${created.status} ${JSON.stringify(created.json)}`);
        continue;
      }
      acknowledged.set(requestId, { requestId, status: 'pending', at: Date.now() });
      const cancelled = await client.mutate({ id: randomUUID(), name: 'request.cancel', args: { requestId } });
      if (cancelled.status === 200 && cancelled.json.results[0].status === 'applied')
        acknowledged.set(requestId, { requestId, status: 'cancelled', at: Date.now() });
      else errors.push(`cancel: ${cancelled.status} ${JSON.stringify(cancelled.json)}`);
    }
  });
  return {
    acknowledged,
    get errors() {
      return errors;
    },
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

async function backupRestoreStory(databaseUrl: string, env: Record<string, string>) {
  const server = await startServer({ databaseUrl, env });
  cleanups.push(() => server.dispose());
  const dir = mkdtempSync(join(tmpdir(), 'accesslens-backups-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...argv: string[]) => {
    const t = testIo({ DATABASE_URL: databaseUrl, ...env });
    return runCli(argv, t.io).then((code) => ({ code, out: t.out.join('\n'), err: t.err.join('\n') }));
  };

  // Ava holds none of these: three writers, each asking for one and cancelling it again.
  const load = writeLoad(server, DEMO.ava.email, DEMO.ava.password, ['object:Quote:read', 'object:Contract:read', 'object:Order:read']);
  cleanups.push(() => load.stop());
  // Let the load run, then back up in the middle of it.
  await expect.poll(() => load.acknowledged.size, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(20);
  const backupStarted = Date.now();
  const acknowledgedBefore = [...load.acknowledged.values()].filter((a) => a.at < backupStarted).map((a) => ({ ...a }));
  const file = join(dir, 'accesslens-backup.db');
  const made = await cli('backup', file);
  expect(made.err).toBe('');
  expect(made.code).toBe(0);
  expect(made.out).toMatch(/^ok: backed up to .*accesslens-backup\.db \(\d+ bytes, \d+ tables/);
  expect(made.out).toMatch(/the backup: \d+ audit events, chain intact, signed head at seq \d+/);
  // The load carries on after the backup: those writes are not expected back.
  const countAtBackup = load.acknowledged.size;
  await expect.poll(() => load.acknowledged.size, { timeout: 30_000, interval: 50 }).toBeGreaterThan(countAtBackup + 5);
  await load.stop();
  expect(load.errors).toEqual([]);
  expect(acknowledgedBefore.length).toBeGreaterThanOrEqual(20);

  // Not while the server runs.
  const refused = await cli('restore', file);
  expect(refused.code).toBe(1);
  expect(refused.err).toContain('refused: a server is running on this database');

  await server.stop();
  const restored = await cli('restore', file);
  expect(restored.err).toBe('');
  expect(restored.code).toBe(0);
  expect(restored.out).toMatch(/the restored database: \d+ audit events, chain intact/);
  expect((await cli('verify-audit')).code).toBe(0);

  // Every write acknowledged before the backup started is there, as acknowledged or later.
  const db = await openDatabase(databaseUrl, undefined);
  try {
    const rows = await db.execute(
      `SELECT id, status FROM requests WHERE id IN (${acknowledgedBefore.map(() => '?').join(', ')})`,
      acknowledgedBefore.map((a) => a.requestId),
    );
    const status = new Map(rows.rows.map((r) => [String(r.id), String(r.status)]));
    for (const a of acknowledgedBefore) {
      expect(status.has(a.requestId), `request ${a.requestId} acknowledged before the backup`).toBe(true);
      if (a.status === 'cancelled') expect(status.get(a.requestId)).toBe('cancelled');
    }
    // Writes made after the backup are gone, and the database has a new identity: every extension starts over.
    const total = Number((await db.execute("SELECT COUNT(*) AS n FROM requests WHERE justification = 'Backup under load'")).rows[0]!.n);
    expect(total).toBeLessThan(load.acknowledged.size);
    expect(Number((await db.execute('SELECT COUNT(*) AS n FROM sessions')).rows[0]!.n)).toBe(0);
  } finally {
    db.close();
  }

  // The server starts on the restored database and serves it.
  await server.restart();
  const ava = new ApiClient(server.url);
  await ava.signIn(DEMO.ava.email, DEMO.ava.password);
  const slice = (await ava.sync()).json;
  expect(slice.requests.length).toBeGreaterThan(0);
}

describe('backup during a write load, restore, nothing acknowledged is lost', () => {
  it('on an embedded database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'accesslens-backup-file-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await backupRestoreStory(`file:${join(dir, 'accesslens.db')}`, {});
  }, 180_000);

  it('on a libsql server', async () => {
    const sqld: RunningSqld = await startSqld();
    cleanups.push(() => sqld.stop());
    await backupRestoreStory(sqld.url, { ACCESSLENS_SECRET_KEY: testSecretKey(sqld.url) });
  }, 180_000);
});
