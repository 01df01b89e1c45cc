/**
 * Which server processes are running on a database: each writes a row at start, touches it every few
 * seconds and removes it when it stops (a crashed one's row goes stale). A restore refuses to replace a
 * database that a process touched recently (`pnpm accesslens restore`).
 */
import { hostname } from 'node:os';
import type { Db } from './db.ts';

export const HEARTBEAT_MS = 5_000;
/** A process not seen for this long is taken for gone (crashed, killed). */
export const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

export interface RunningProcess {
  host: string;
  pid: number;
  url: string;
  seenAt: Date;
}

export class ProcessRegistration {
  readonly id = crypto.randomUUID();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async start(url: string): Promise<void> {
    const t = Date.now();
    await this.db.transaction(
      (tx) =>
        tx.execute({
          sql: 'INSERT INTO server_processes (id, host, pid, url, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)',
          args: [this.id, hostname(), process.pid, url, t, t],
        }),
      { quiet: true },
    );
    this.#timer = setInterval(() => {
      // Wall-clock time on purpose: liveness, not the (test-movable) business clock.
      void this.db
        .transaction((tx) => tx.execute({ sql: 'UPDATE server_processes SET seen_at = ? WHERE id = ?', args: [Date.now(), this.id] }), { quiet: true })
        .catch((error: unknown) => console.error('[accesslens] heartbeat failed:', error));
    }, HEARTBEAT_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.db
      .transaction((tx) => tx.execute({ sql: 'DELETE FROM server_processes WHERE id = ?', args: [this.id] }), { quiet: true })
      .catch(() => undefined);
  }
}

/** Processes seen within STALE_AFTER_MS (none when the database predates the table). */
export async function runningProcesses(db: Db): Promise<RunningProcess[]> {
  const exists = await db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'server_processes'");
  if (exists.rows.length === 0) return [];
  const r = await db.execute('SELECT host, pid, url, seen_at FROM server_processes WHERE seen_at > ? ORDER BY started_at', [Date.now() - STALE_AFTER_MS]);
  return r.rows.map((row) => ({ host: String(row.host), pid: Number(row.pid), url: String(row.url), seenAt: new Date(Number(row.seen_at)) }));
}
