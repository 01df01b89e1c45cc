/**
 * The lifecycle worker in a running server: a long outbox drain must not hold HTTP responses back. With a
 * `file:` database every query answers synchronously, so a drain that never yields to the event loop ran to
 * its end before any response was written (found by `pnpm bench:bulk-approve`: 500 approvals applied in
 * 0.5 s answered after 6 s, while the 500 "approved" messages were processed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { insertRows } from '../db-bulk.ts';
import { startServer, type RunningServer } from '../server.ts';

let server: RunningServer | null = null;
let dir: string | null = null;
afterEach(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  server = null;
  dir = null;
});

it('answers HTTP requests while it delivers a long outbox', async () => {
  dir = mkdtempSync(join(tmpdir(), 'accesslens-worker-'));
  server = await startServer({ port: 0, hostname: '127.0.0.1', databaseUrl: `file:${join(dir, 'a.db')}`, seed: 'demo', mail: null });
  const { db, lifecycle } = server;
  // Let the start-up drain finish: the messages below are the only ones.
  await lifecycle.runDue();
  const nowIso = new Date().toISOString();
  const rows = Array.from({ length: 400 }, (_, i) => [
    `ntf-test-${i}`,
    `test:${i}`,
    'request.submitted',
    'email',
    'p-ben',
    null,
    '{}',
    'queued',
    0,
    nowIso,
    nowIso,
  ]);
  await db.transaction((tx) =>
    insertRows(
      tx,
      'notification_outbox',
      ['id', 'event_key', 'event', 'channel', 'recipient', 'request_id', 'payload', 'state', 'attempts', 'next_attempt_at', 'created_at'],
      rows,
    ),
  );
  const queued = async () => Number((await db.execute("SELECT COUNT(*) AS n FROM notification_outbox WHERE state IN ('queued', 'sending')")).rows[0]!.n);
  expect(await queued()).toBe(400);

  lifecycle.wake();
  const res = await fetch(`${server.url}/api/health`);
  expect(res.status).toBe(200);
  // Answered while the drain was still going (before the fix: only once all 400 were settled).
  expect(await queued()).toBeGreaterThan(0);
  await lifecycle.runDue();
  expect(await queued()).toBe(0);
  const skipped = await db.execute("SELECT COUNT(*) AS n FROM notification_outbox WHERE id LIKE 'ntf-test-%' AND state = 'skipped'");
  expect(Number(skipped.rows[0]!.n)).toBe(400);
});
