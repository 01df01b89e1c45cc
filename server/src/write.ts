import { appendAudit, type AuditInput } from './audit.ts';
import type { Db, Transaction } from './db.ts';
import type { Notifier } from './notifier.ts';

/** What one write transaction needs: the clock, the sync version it writes at, audit, who to poke. */
export class WriteContext {
  #version: number | undefined;
  /** People whose slice this write may change: poked once it commits. */
  readonly affected = new Set<string>();

  constructor(
    readonly tx: Transaction,
    readonly now: Date,
  ) {}

  get nowIso(): string {
    return this.now.toISOString();
  }

  /** The sync version of every row this transaction writes (the counter moves once per transaction). */
  async version(): Promise<number> {
    if (this.#version === undefined) {
      const r = await this.tx.execute('UPDATE meta SET version = version + 1 WHERE id = 1 RETURNING version');
      this.#version = Number(r.rows[0]!.version);
    }
    return this.#version;
  }

  audit(input: AuditInput): Promise<number> {
    return appendAudit(this.tx, this.now, input);
  }
}

export async function runWrite<T>(
  db: Db,
  now: Date,
  fn: (w: WriteContext) => Promise<T>,
  notifier?: Notifier,
): Promise<T> {
  let context: WriteContext | undefined;
  const result = await db.transaction((tx) => fn((context = new WriteContext(tx, now))));
  if (notifier && context) notifier.poke(context.affected);
  return result;
}
