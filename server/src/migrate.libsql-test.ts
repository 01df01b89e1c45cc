/**
 * Two server processes starting at once on one libsql server, on a busy machine: the one migrating held
 * the write lock past sqld's 5 s while the other waited, sqld took the lock away (TRANSACTION_TIMEOUT) and
 * the first process failed to start (seen in the integration tests under load). A migration is one
 * transaction: taken away, it is run again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { openDatabase, retryTakenLock } from './db.ts';
import { migrate } from './migrate.ts';
import { startSqld, type RunningSqld } from './testing-sqld.ts';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

test('a migration whose write lock sqld takes away for a waiting process is run again, and applied once', async () => {
  const sqld: RunningSqld = await startSqld();
  cleanup.push(() => sqld.stop());
  const dir = mkdtempSync(join(tmpdir(), 'accesslens-migrations-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  // A migration that keeps its transaction open well past 5 s: one statement that counts for seconds.
  writeFileSync(
    join(dir, '0001_slow.sql'),
    `CREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1) SELECT x FROM c;
     INSERT INTO slow SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 40000000) SELECT x FROM c);`,
  );
  const first = await openDatabase(sqld.url);
  const second = await openDatabase(sqld.url);
  cleanup.push(
    () => first.close(),
    () => second.close(),
  );
  const migrating = migrate(first, dir);
  // Another process wants to write while the migration holds the lock.
  await new Promise((r) => setTimeout(r, 300));
  const other = second.transaction(async (tx) => {
    await tx.execute('CREATE TABLE IF NOT EXISTS other (x INTEGER)');
  });
  const [result] = await Promise.all([migrating, other]);
  expect(result.applied).toEqual(['0001_slow.sql']);
  expect((await first.execute('SELECT count(*) AS n FROM schema_migrations')).rows[0]!.n).toBe(1);
  expect((await first.execute('SELECT count(*) AS n FROM slow')).rows[0]!.n).toBe(2);
}, 120_000);

test('any start-up write whose lock sqld takes away is run again by retryTakenLock (the demo seed, the audit head): it checks again and writes once', async () => {
  const sqld: RunningSqld = await startSqld();
  cleanup.push(() => sqld.stop());
  const first = await openDatabase(sqld.url);
  const second = await openDatabase(sqld.url);
  cleanup.push(
    () => first.close(),
    () => second.close(),
  );
  await first.execute('CREATE TABLE seeded (n INTEGER)');
  let attempts = 0;
  // Shaped like seedDemoIfEmpty: look inside the transaction, write only when empty, and take long.
  const seed = () =>
    first.transaction(async (tx) => {
      attempts++;
      if (Number((await tx.execute('SELECT count(*) AS n FROM seeded')).rows[0]!.n) > 0) return false;
      await tx.execute(
        'INSERT INTO seeded SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 40000000) SELECT x FROM c)',
      );
      return true;
    });
  const seeding = retryTakenLock(seed);
  await new Promise((r) => setTimeout(r, 300));
  const other = second.transaction(async (tx) => {
    await tx.execute('CREATE TABLE IF NOT EXISTS other (x INTEGER)');
  });
  const [seeded] = await Promise.all([seeding, other]);
  expect(seeded).toBe(true);
  // The lock was taken away at least once, and the write is there once.
  expect(attempts).toBeGreaterThan(1);
  expect((await first.execute('SELECT count(*) AS n FROM seeded')).rows[0]!.n).toBe(1);
}, 120_000);
