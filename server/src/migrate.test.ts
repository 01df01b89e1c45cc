import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './db.ts';
import { MIGRATIONS_DIR, migrate, readMigrations } from './migrate.ts';

let dir: string;
let db: Db;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accesslens-migrate-'));
  db = await openDatabase(`file:${join(dir, 'db', 'test.db')}`);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrate', () => {
  it('applies every migration once, records it, and is idempotent', async () => {
    const all = readMigrations().map((m) => m.name);
    expect((await migrate(db)).applied).toEqual(all);
    expect((await migrate(db)).applied).toEqual([]);
    const rows = (await db.execute('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
    expect(rows.map((r) => r.name)).toEqual(all);
    const meta = (await db.execute('SELECT instance_id, version FROM meta')).rows[0]!;
    expect(String(meta.instance_id)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('uses WAL and enforces foreign keys on a file database', async () => {
    await migrate(db);
    expect((await db.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('wal');
    await expect(
      db.execute("INSERT INTO sessions (id, person_id, secret_hash, created_at, last_verified_at) VALUES ('s', 'nobody', x'00', 0, 0)"),
    ).rejects.toThrow(/FOREIGN KEY/);
  });

  it('refuses to run when an applied migration file has changed', async () => {
    const custom = join(dir, 'migrations');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(custom);
    copyFileSync(join(MIGRATIONS_DIR, '0001_init.sql'), join(custom, '0001_init.sql'));
    await migrate(db, custom);
    writeFileSync(join(custom, '0001_init.sql'), '-- edited\n', { flag: 'a' });
    await expect(migrate(db, custom)).rejects.toThrow(/0001_init\.sql was changed after it was applied/);
  });

  it('rolls back a failing migration as a whole', async () => {
    const custom = join(dir, 'migrations');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(custom);
    copyFileSync(join(MIGRATIONS_DIR, '0001_init.sql'), join(custom, '0001_init.sql'));
    writeFileSync(join(custom, '0002_broken.sql'), 'CREATE TABLE half_done (id INTEGER);\nTHIS IS NOT SQL;\n');
    await expect(migrate(db, custom)).rejects.toThrow();
    const tables = (await db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'")).rows;
    expect(tables).toEqual([]);
    expect((await db.execute('SELECT COUNT(*) AS n FROM schema_migrations')).rows[0]!.n).toBe(1);
  });
});
