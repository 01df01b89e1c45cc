import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { retryTakenLock, type Db } from './db.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const seen = new Set<number>();
  return files.map((name) => {
    const match = /^(\d+)_[\w-]+\.sql$/.exec(name);
    if (!match) throw new Error(`Migration file "${name}" must be named NNNN_description.sql`);
    const version = Number(match[1]);
    if (seen.has(version)) throw new Error(`Two migration files share version ${version}`);
    seen.add(version);
    const sql = readFileSync(join(dir, name), 'utf8');
    return { version, name, sql, checksum: encodeHexLowerCase(sha256(new TextEncoder().encode(sql))) };
  });
}

/**
 * Applies pending migrations in order, each in its own transaction together with its
 * schema_migrations row. Idempotent; refuses to start when an applied file has since changed.
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<{ applied: string[] }> {
  await retryTakenLock(() =>
    db.transaction(async (tx) => {
      await tx.execute(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)`,
      );
    }),
  );
  const applied: string[] = [];
  for (const m of readMigrations(dir)) {
    const ran = await retryTakenLock(() =>
      db.transaction(async (tx) => {
        // Read inside the write transaction: a second process migrating at the same time waits, then skips.
        const existing = await tx.execute({
          sql: 'SELECT name, checksum FROM schema_migrations WHERE version = ?',
          args: [m.version],
        });
        const row = existing.rows[0];
        if (row) {
          if (row.checksum !== m.checksum)
            throw new Error(
              `Migration ${m.name} was changed after it was applied (checksum ${String(row.checksum).slice(0, 12)}… ` +
                `in the database, ${m.checksum.slice(0, 12)}… on disk). Add a new migration instead of editing an applied one.`,
            );
          return false;
        }
        await tx.executeMultiple(m.sql);
        await tx.execute({
          sql: 'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)',
          args: [m.version, m.name, m.checksum, new Date().toISOString()],
        });
        return true;
      }),
    );
    if (ran) applied.push(m.name);
  }
  return { applied };
}
