/**
 * Backups and restores of the whole database, while servers run.
 *
 * A backup is always an SQLite database file, whatever the source:
 * - an embedded file: `VACUUM INTO` copies it inside one read transaction — a consistent snapshot;
 *   writers carry on meanwhile (WAL);
 * - a libsql server: every table is read inside one read transaction (one snapshot) and written into a
 *   new local file with the same schema.
 * A restore puts such a file in place of the configured database — refused while a server process
 * uses it (`processes.ts`) — gives the database a new instance id (every extension starts its slice
 * over: a cursor from the lost timeline must not look current), and checks the audit log.
 *
 * The secret key is not in a backup, by design: keep it (the key file beside an embedded database, or
 * ACCESSLENS_SECRET_KEY) where you keep the backups' key material, not beside the backups.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createClient, type Client, type InStatement } from '@libsql/client';
import { filePathOf, type Db } from './db.ts';

export interface BackupResult {
  file: string;
  bytes: number;
  tables: number;
  /** Rows copied (libsql server backups; an embedded file is copied whole). */
  rows: number | null;
}

interface SchemaObject {
  type: 'table' | 'index' | 'trigger' | 'view';
  name: string;
  tableName: string;
  sql: string;
}

/** What a database holds beyond SQLite's own bookkeeping: our tables, indexes, triggers and views. */
async function schemaOf(read: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>): Promise<SchemaObject[]> {
  const r = await read(
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'libsql_%' AND name NOT LIKE '_litestream%' ORDER BY rowid",
  );
  return r.rows.map((row) => ({ type: row.type as SchemaObject['type'], name: String(row.name), tableName: String(row.tbl_name), sql: String(row.sql) }));
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const PAGE = 2000;

/** Copies every row of `tables` from `source` (inside its read transaction) into `target`. */
async function copyRows(
  source: { execute(stmt: { sql: string; args: (string | number)[] }): Promise<{ columns: string[]; rows: ArrayLike<unknown>[] }> },
  insert: (statements: InStatement[]) => Promise<unknown>,
  tables: SchemaObject[],
): Promise<number> {
  let total = 0;
  for (const table of tables) {
    const withoutRowid = /\bWITHOUT\s+ROWID\b/i.test(table.sql);
    let after: number | null = null;
    for (;;) {
      const page: { columns: string[]; rows: ArrayLike<unknown>[] } = withoutRowid
        ? await source.execute({ sql: `SELECT * FROM ${quote(table.name)}`, args: [] })
        : await source.execute({
            sql: `SELECT rowid AS "__backup_rowid", * FROM ${quote(table.name)} WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`,
            args: [after ?? Number.MIN_SAFE_INTEGER],
          });
      const columns = withoutRowid ? page.columns : page.columns.slice(1);
      if (page.rows.length > 0) {
        const placeholders = `(${columns.map(() => '?').join(', ')})`;
        const statements: InStatement[] = [];
        for (const row of page.rows) {
          const values = Array.from(row as ArrayLike<unknown>).slice(withoutRowid ? 0 : 1) as (string | number | null | ArrayBuffer | bigint)[];
          statements.push({ sql: `INSERT INTO ${quote(table.name)} (${columns.map(quote).join(', ')}) VALUES ${placeholders}`, args: values as never });
        }
        await insert(statements);
        total += page.rows.length;
      }
      if (withoutRowid || page.rows.length < PAGE) break;
      after = Number((page.rows[page.rows.length - 1] as ArrayLike<unknown>)[0]);
    }
  }
  return total;
}

/** Recreates `schema` in an empty database: tables, then the rows (copy), then indexes, triggers and views. */
async function recreate(
  target: { execute(sql: string): Promise<unknown> },
  schema: SchemaObject[],
  fill: (tables: SchemaObject[]) => Promise<number>,
): Promise<number> {
  const tables = schema.filter((o) => o.type === 'table');
  for (const t of tables) await target.execute(t.sql);
  const rows = await fill(tables);
  for (const o of schema.filter((x) => x.type !== 'table')) await target.execute(o.sql);
  return rows;
}

/**
 * A new local database file to copy into: one connection (the pragma holds for it), without foreign
 * key checks while rows arrive in whatever order.
 */
async function localCopyTarget(path: string): Promise<Client> {
  const client = createClient({ url: `file:${path}`, concurrency: 1 });
  await client.execute('PRAGMA foreign_keys = OFF');
  return client;
}

/**
 * A consistent copy of the database in `file` (an SQLite database file). Written beside it first and
 * renamed into place, so `file` is either the old content or a whole backup.
 */
export async function backupDatabase(db: Db, file: string): Promise<BackupResult> {
  mkdirSync(dirname(file), { recursive: true });
  const partial = join(dirname(file), `.${basename(file)}.${process.pid}.partial`);
  rmSync(partial, { force: true });
  let rows: number | null = null;
  let tables: number;
  try {
    if (db.isFile) {
      // One read transaction: the snapshot as of its start, whatever is written meanwhile.
      await db.client.execute({ sql: 'VACUUM INTO ?', args: [partial] });
      const target = createClient({ url: `file:${partial}` });
      try {
        tables = (await schemaOf((sql) => target.execute(sql))).filter((o) => o.type === 'table').length;
      } finally {
        target.close();
      }
    } else {
      const tx = await db.client.transaction('read');
      const target = await localCopyTarget(partial);
      try {
        const schema = await schemaOf((sql) => tx.execute(sql));
        tables = schema.filter((o) => o.type === 'table').length;
        rows = await recreate(target, schema, async (list) => {
          const n = await copyRows(tx as never, (statements) => target.batch(statements, 'write'), list);
          // AUTOINCREMENT counters, so ids are not reused after a restore.
          const seq = await tx.execute('SELECT name, seq FROM sqlite_sequence').catch(() => ({ rows: [] as Record<string, unknown>[] }));
          for (const r of seq.rows)
            await target.execute({ sql: 'INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', args: [String(r.name), Number(r.seq)] });
          return n;
        });
        const check = await target.execute('PRAGMA integrity_check');
        if (String(check.rows[0]?.[0]) !== 'ok') throw new Error(`the copy failed its integrity check: ${String(check.rows[0]?.[0])}`);
      } finally {
        tx.close();
        target.close();
      }
    }
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  return { file, bytes: statSync(file).size, tables, rows };
}

/**
 * Puts the backup `file` in place of the database at `databaseUrl` (which no server may be using:
 * the caller checks). An embedded database file is replaced whole (renamed into place, its WAL files
 * removed); a libsql server's tables are dropped and recreated from the backup.
 */
export async function restoreDatabase(file: string, databaseUrl: string, authToken?: string): Promise<{ rows: number | null }> {
  if (!existsSync(file)) throw new Error(`no backup file at ${file}`);
  const source = createClient({ url: `file:${file}` });
  try {
    const check = await source.execute('PRAGMA integrity_check');
    if (String(check.rows[0]?.[0]) !== 'ok') throw new Error(`${file} is not a sound database file (integrity check: ${String(check.rows[0]?.[0])})`);
    const schema = await schemaOf((sql) => source.execute(sql));
    if (!schema.some((o) => o.name === 'audit_events')) throw new Error(`${file} is not an AccessLens backup (no audit_events table)`);
  } catch (error) {
    source.close();
    throw new Error(`cannot restore from ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const path = filePathOf(databaseUrl);
  if (path) {
    source.close();
    mkdirSync(dirname(path), { recursive: true });
    const partial = `${path}.restore.${process.pid}.partial`;
    // A consistent single-file copy of the backup (a backup is never in WAL mode with pending frames, but be sure).
    const copy = createClient({ url: `file:${file}` });
    try {
      await copy.execute({ sql: 'VACUUM INTO ?', args: [partial] });
    } finally {
      copy.close();
    }
    for (const suffix of ['-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    renameSync(partial, path);
    return { rows: null };
  }
  const target = createClient({ url: databaseUrl, ...(authToken ? { authToken } : {}) });
  try {
    // One transaction, foreign keys checked at its end (rows arrive table by table): all of it or none.
    const tx = await target.transaction('write');
    try {
      await tx.execute('PRAGMA defer_foreign_keys = ON');
      // Whatever is there goes: triggers, views and indexes with their tables (no DELETE statement
      // runs, so the audit triggers have nothing to refuse).
      const existing = await schemaOf((sql) => tx.execute(sql));
      for (const o of existing.filter((x) => x.type === 'view' || x.type === 'trigger'))
        await tx.execute(`DROP ${o.type.toUpperCase()} IF EXISTS ${quote(o.name)}`);
      for (const o of existing.filter((x) => x.type === 'table').reverse()) await tx.execute(`DROP TABLE IF EXISTS ${quote(o.name)}`);
      const schema = await schemaOf((sql) => source.execute(sql));
      const rows = await recreate(tx, schema, async (tables) => {
        const n = await copyRows(source as never, (statements) => tx.batch(statements), tables);
        const seq = await source.execute('SELECT name, seq FROM sqlite_sequence').catch(() => ({ rows: [] as Record<string, unknown>[] }));
        for (const r of seq.rows) {
          await tx.execute({ sql: 'DELETE FROM sqlite_sequence WHERE name = ?', args: [String(r.name)] });
          await tx.execute({ sql: 'INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', args: [String(r.name), Number(r.seq)] });
        }
        return n;
      });
      await tx.commit();
      return { rows };
    } finally {
      tx.close();
    }
  } finally {
    target.close();
    source.close();
  }
}

// ---------- scheduled backups ----------

export const BACKUP_FILE = /^accesslens-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)\.db$/;

export function backupFileName(at: Date): string {
  return `accesslens-${at.toISOString().replaceAll(':', '-').replace('.', '-')}.db`;
}

/** Keeps the newest `keep` scheduled backups in `dir` (files named by `backupFileName`), removes the rest. */
export function pruneBackups(dir: string, keep: number): string[] {
  const files = readdirSync(dir)
    .filter((f) => BACKUP_FILE.test(f))
    .sort()
    .reverse();
  const removed = files.slice(keep);
  for (const f of removed) rmSync(join(dir, f), { force: true });
  return removed;
}

export interface BackupSchedule {
  dir: string;
  intervalMs: number;
  keep: number;
}

/**
 * Makes the scheduled backup if it is due, once across every process on the database: the first to
 * move `next_at` forward (one conditional UPDATE) makes it. Returns the file written, or null.
 */
export async function runScheduledBackup(db: Db, schedule: BackupSchedule, now: Date): Promise<BackupResult | null> {
  const t = now.getTime();
  const claimed = await db.transaction(async (tx) => {
    await tx.execute({ sql: 'INSERT INTO backup_schedule (id, next_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING', args: [t] });
    const r = await tx.execute({
      sql: 'UPDATE backup_schedule SET next_at = ? WHERE id = 1 AND next_at <= ? RETURNING id',
      args: [t + schedule.intervalMs, t],
    });
    return r.rows.length > 0;
  });
  if (!claimed) return null;
  try {
    const result = await backupDatabase(db, join(schedule.dir, backupFileName(now)));
    pruneBackups(schedule.dir, schedule.keep);
    await db.transaction((tx) =>
      tx.execute({ sql: 'UPDATE backup_schedule SET last_file = ?, last_at = ?, last_error = NULL WHERE id = 1', args: [result.file, t] }),
    );
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await db.transaction((tx) => tx.execute({ sql: 'UPDATE backup_schedule SET last_error = ? WHERE id = 1', args: [message.slice(0, 1000)] }));
    throw error;
  }
}
