import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client, type InArgs, type InStatement, type ResultSet, type Transaction } from '@libsql/client';
import Database from 'libsql';
import type { AuditSigner } from './audit-checkpoint.ts';

export type { Transaction, ResultSet, InArgs, InStatement };

const BUSY_TIMEOUT_MS = 5000;
const READ = /^\s*(SELECT|WITH|PRAGMA\s+\w+\s*$)/i;

/**
 * The database handle every module uses. All writes go through `transaction()`: one writer at a time
 * per process. For a `file:` database that matters beyond tidiness — the libsql driver is synchronous,
 * so a second writer waiting on SQLite's busy lock would block the event loop that the first writer
 * needs to finish.
 */
export class Db {
  #writeQueue: Promise<unknown> = Promise.resolve();
  #generation = 0;
  /** Signs the audit chain's head in every write that appends events; set by whoever holds the key. */
  auditSigner: AuditSigner | null = null;
  /** This handle's name in `sync_pokes.origin`: a process skips the pokes it delivered itself. */
  readonly origin = crypto.randomUUID();
  /** `pointRead`'s own connection to a file database, and its prepared statements. */
  #hot: { db: Database.Database; statements: Map<string, Database.Statement<unknown[]>> } | null = null;

  constructor(
    readonly client: Client,
    readonly url: string,
  ) {}

  /**
   * Moves whenever this handle committed a write, or was told of another process's (`noteChange`):
   * what a process keeps in memory from the database is good while it stays put. (Validated sessions
   * do not rely on it: they are checked against `meta.auth_epoch` on every request, auth/session.ts.)
   */
  get generation(): number {
    return this.#generation;
  }

  noteChange(): void {
    this.#generation++;
  }

  get isFile(): boolean {
    return this.url.startsWith('file:');
  }

  execute(sql: string, args: InArgs = []): Promise<ResultSet> {
    const result = this.client.execute({ sql, args });
    // A statement outside a transaction that is not a read (tests, tools) changes the database too.
    if (!READ.test(sql)) void result.finally(() => this.#generation++).catch(() => undefined);
    return result;
  }

  /**
   * The first row of a small read that runs on every request (the session check), as an array of
   * values. On a file database: a statement prepared once, on a connection of its own, run
   * synchronously — @libsql/client prepares every statement anew and builds a row object with column
   * names, which cost more than the rest of an unchanged sync (issue 10). It reads the latest commit
   * of any connection (WAL). On a libsql server: an ordinary execute.
   */
  async pointRead(sql: string, args: unknown[]): Promise<unknown[] | undefined> {
    const path = filePathOf(this.url);
    if (path === null) {
      const r = await this.client.execute({ sql, args: args as InArgs });
      const row = r.rows[0];
      return row ? r.columns.map((_, i) => row[i]) : undefined;
    }
    if (!this.#hot) {
      const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
      this.#hot = { db, statements: new Map() };
    }
    let statement = this.#hot.statements.get(sql);
    if (!statement) this.#hot.statements.set(sql, (statement = this.#hot.db.prepare(sql).raw(true)));
    return statement.get(...args) as unknown[] | undefined;
  }

  /** Several reads in one read transaction: one consistent snapshot, one round trip. */
  readBatch(statements: InStatement[]): Promise<ResultSet[]> {
    return this.client.batch(statements, 'read');
  }

  /**
   * Runs `fn` in a write transaction; commits when it resolves, rolls back when it throws. `quiet`: the
   * write touches nothing anyone remembers (heartbeats, pruning), so `generation` stays.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, { quiet = false }: { quiet?: boolean } = {}): Promise<T> {
    const run = async () => {
      const tx = await this.client.transaction('write');
      try {
        const result = await fn(tx);
        await tx.commit();
        if (!quiet) this.#generation++;
        return result;
      } catch (error) {
        if (!tx.closed) await tx.rollback().catch(() => {});
        throw error;
      } finally {
        tx.close();
      }
    };
    const result = this.#writeQueue.then(run, run);
    this.#writeQueue = result.catch(() => {});
    return result;
  }

  close(): void {
    this.#hot?.db.close();
    this.#hot = null;
    this.client.close();
  }
}

/** The filesystem path of a `file:` URL (null for `:memory:`). */
/**
 * Runs `run` again when a libsql server took its write lock away: sqld ends a transaction that has held
 * the lock for 5 s while another connection waits (TRANSACTION_TIMEOUT) and rolls it back. On a busy
 * machine that is a long start-up write — a migration, the demo seed — of one process beside another.
 * Only for work that is one transaction and safe to run again (it re-reads what it depends on).
 */
export async function retryTakenLock<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'TRANSACTION_TIMEOUT' || attempt >= attempts) throw error;
    }
  }
}

export function filePathOf(url: string): string | null {
  if (!url.startsWith('file:')) return null;
  const rest = url.slice('file:'.length).split('?')[0]!;
  if (rest === ':memory:' || rest === '') return null;
  if (rest.startsWith('//')) return fileURLToPath(url.split('?')[0]!);
  return resolve(decodeURIComponent(rest));
}

export async function openDatabase(url: string, authToken?: string): Promise<Db> {
  if (!/^(file:|https?:\/\/|libsql:\/\/|wss?:\/\/)/.test(url))
    throw new Error(`DATABASE_URL must be a file:, http(s)://, libsql:// or ws(s):// URL, got "${url}"`);
  const path = filePathOf(url);
  if (url.startsWith('file:') && path === null) throw new Error('An in-memory database is not supported: it allows a single connection. Use a file.');
  if (path) mkdirSync(dirname(path), { recursive: true });
  const client = createClient({ url, authToken, timeout: BUSY_TIMEOUT_MS });
  if (path) {
    // WAL lets readers proceed while one writer commits; it persists in the file. busy_timeout and
    // foreign_keys are per connection: the `timeout` option and libsql's default set them on every
    // pooled connection, these statements only make the intent explicit and verify it.
    await client.execute('PRAGMA journal_mode=WAL');
    await client.execute(`PRAGMA busy_timeout=${BUSY_TIMEOUT_MS}`);
    await client.execute('PRAGMA foreign_keys=ON');
    const fk = await client.execute('PRAGMA foreign_keys');
    if (Number(fk.rows[0]?.[0]) !== 1) throw new Error('SQLite foreign key enforcement could not be enabled');
  }
  return new Db(client, url);
}
