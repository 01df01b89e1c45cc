/**
 * What other writers did to the database, seen by this process. Several server processes share one
 * libsql server (and the CLI writes to the same database as a running server), but each process only
 * reaches its own event streams:
 *
 * - every write records whose slice it changed in `sync_pokes` (same transaction, `recordPokes`);
 * - each server process looks at the database a few times a second (`ChangeFeed`): one small read of
 *   the sync version, the auth epoch and the newest poke. When they moved, it pokes its own streams for
 *   the other writers' pokes and moves `Db.generation` (`Db.noteChange`).
 *
 * A poke therefore reaches a stream on another process within about one poll interval. (Validated
 * sessions kept in memory do not wait for this: every request checks the auth epoch itself,
 * auth/session.ts.)
 */
import type { Db, Transaction } from '../db.ts';
import type { Notifier } from '../notifier.ts';

/** Past this many people one write pokes everyone (`*`) instead of writing a row per person. */
export const POKE_EVERYONE_ABOVE = 200;
/** Pokes older than this are deleted by the periodic sweep; a process that fell further behind re-reads. */
export const POKE_RETENTION_MS = 10 * 60 * 1000;
/** One small indexed read per interval per process: prompt cross-process pokes without load on the database. */
export const FEED_POLL_MS = 100;

export async function recordPokes(tx: Transaction, origin: string, personIds: ReadonlySet<string>, now: Date): Promise<void> {
  const ids = personIds.size > POKE_EVERYONE_ABOVE ? ['*'] : [...personIds];
  const at = now.getTime();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    await tx.execute({
      sql: `INSERT INTO sync_pokes (person_id, origin, at) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
      args: chunk.flatMap((id) => [id, origin, at]),
    });
  }
}

export async function prunePokes(db: Db, now: Date): Promise<void> {
  await db.transaction((tx) => tx.execute({ sql: 'DELETE FROM sync_pokes WHERE at < ?', args: [now.getTime() - POKE_RETENTION_MS] }), { quiet: true });
}

interface FeedPosition {
  version: number;
  authEpoch: number;
  poke: number;
}

export class ChangeFeed {
  #timer: ReturnType<typeof setInterval> | null = null;
  #position: FeedPosition | null = null;
  #running: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly pollMs = FEED_POLL_MS,
  ) {}

  async start(): Promise<void> {
    this.#position = await this.#read();
    this.#timer = setInterval(() => {
      // One poll at a time: a slow database must not stack them up.
      this.#running ??= this.poll()
        .catch((error: unknown) => console.error('[accesslens] change feed poll failed:', error))
        .finally(() => (this.#running = null));
    }, this.pollMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  async #read(): Promise<FeedPosition> {
    const r = await this.db.execute('SELECT m.version, m.auth_epoch, (SELECT COALESCE(MAX(id), 0) FROM sync_pokes) AS poke FROM meta m WHERE m.id = 1');
    const row = r.rows[0]!;
    return { version: Number(row.version), authEpoch: Number(row.auth_epoch), poke: Number(row.poke) };
  }

  /** One look at the database (the timer calls it; tests may too). */
  async poll(): Promise<void> {
    const before = this.#position ?? (await this.#read());
    const now = await this.#read();
    this.#position = now;
    if (now.version === before.version && now.authEpoch === before.authEpoch && now.poke === before.poke) return;
    // Something changed, possibly by another writer: what this process remembers may be stale.
    this.db.noteChange();
    if (now.poke <= before.poke) return;
    const rows = await this.db.execute('SELECT person_id FROM sync_pokes WHERE id > ? AND id <= ? AND origin != ?', [before.poke, now.poke, this.db.origin]);
    const ids = new Set(rows.rows.map((r) => String(r.person_id)));
    if (ids.has('*')) this.notifier.pokeEveryone();
    else if (ids.size > 0) this.notifier.poke(ids);
  }
}
