import { appendAudit, appendAuditMany, type AuditInput, type ChainHead } from './audit.ts';
import type { Db, Transaction } from './db.ts';
import type { Notifier } from './notifier.ts';
import { recordPokes } from './sync/feed.ts';

/** What one write transaction needs: the clock, the sync version it writes at, audit, who to poke. */
export class WriteContext {
  #version: number | undefined;
  /** People whose slice this write may change: poked once it commits. */
  readonly affected = new Set<string>();
  readonly #beforeCommit = new Map<string, () => Promise<void>>();
  readonly #afterCommit: (() => void)[] = [];
  readonly #afterRollback: (() => void)[] = [];
  readonly #memo = new Map<string, Promise<unknown>>();
  /** Audit events held back until just before commit (`deferAudit`), written in one go, in order. */
  #pendingAudit: AuditInput[] | null = null;

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

  /** Whether this transaction has taken a sync version (i.e. wrote synced rows). */
  get versioned(): boolean {
    return this.#version !== undefined;
  }

  /** The chain's newest event after this transaction's appends (null: it appended none yet). */
  auditHead: ChainHead | null = null;

  async audit(input: AuditInput): Promise<number> {
    if (this.#pendingAudit) {
      this.#pendingAudit.push(input);
      return 0;
    }
    this.auditHead = await appendAudit(this.tx, this.now, input);
    return this.auditHead.seq;
  }

  /**
   * From now on, audit events are written together just before commit (same order, same chain): a write
   * that applies many mutations reads the chain's head once instead of once per event.
   */
  deferAudit(): void {
    this.#pendingAudit ??= [];
  }

  /**
   * A read this transaction may reuse (the rows behind `key` must not change within it): a connection's
   * facts, its assignable bundles, the organisation's webhooks.
   */
  memo<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.#memo.get(key) as Promise<T> | undefined;
    if (!p) this.#memo.set(key, (p = fn()));
    return p;
  }

  /** Several audit events in order, written in bulk (imports). */
  async auditMany(inputs: readonly AuditInput[]): Promise<void> {
    if (this.#pendingAudit) {
      this.#pendingAudit.push(...inputs);
      return;
    }
    this.auditHead = (await appendAuditMany(this.tx, this.now, inputs)) ?? this.auditHead;
  }

  /**
   * Runs `fn` inside the transaction after the write's own work, just before commit; registering the
   * same `key` twice runs it once. Work that must see the whole write (e.g. recomputing findings) goes here.
   */
  beforeCommit(key: string, fn: () => Promise<void>): void {
    if (!this.#beforeCommit.has(key)) this.#beforeCommit.set(key, fn);
  }

  afterCommit(fn: () => void): void {
    this.#afterCommit.push(fn);
  }

  afterRollback(fn: () => void): void {
    this.#afterRollback.push(fn);
  }

  /**
   * Runs `fn` inside a SAVEPOINT: when it throws, what it wrote (and the sync version, people to poke and
   * hooks it registered) is undone and the error rethrown; the transaction goes on. Lets one transaction
   * apply many mutations (an approver's bulk decision) while each is still all-or-nothing.
   */
  async savepoint<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad savepoint name ${name}`);
    const saved = {
      version: this.#version,
      affected: [...this.affected],
      before: [...this.#beforeCommit.keys()],
      after: this.#afterCommit.length,
      rollback: this.#afterRollback.length,
      audits: this.#pendingAudit?.length ?? 0,
    };
    await this.tx.execute(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await this.tx.execute(`RELEASE ${name}`);
      return result;
    } catch (error) {
      await this.tx.execute(`ROLLBACK TO ${name}`);
      await this.tx.execute(`RELEASE ${name}`);
      this.#version = saved.version;
      this.affected.clear();
      for (const id of saved.affected) this.affected.add(id);
      for (const key of [...this.#beforeCommit.keys()]) if (!saved.before.includes(key)) this.#beforeCommit.delete(key);
      this.#afterCommit.length = saved.after;
      this.#afterRollback.length = saved.rollback;
      if (this.#pendingAudit) this.#pendingAudit.length = saved.audits;
      throw error;
    }
  }

  /** @internal runWrite's. */
  async runBeforeCommit(): Promise<void> {
    const pending = this.#pendingAudit;
    this.#pendingAudit = null;
    if (pending && pending.length > 0) this.auditHead = (await appendAuditMany(this.tx, this.now, pending)) ?? this.auditHead;
    for (const fn of this.#beforeCommit.values()) await fn();
  }

  /** @internal runWrite's. */
  settle(committed: boolean): void {
    for (const fn of committed ? this.#afterCommit : this.#afterRollback) fn();
  }
}

export async function runWrite<T>(db: Db, now: Date, fn: (w: WriteContext) => Promise<T>, notifier?: Notifier): Promise<T> {
  let context: WriteContext | undefined;
  let result: T;
  try {
    result = await db.transaction(async (tx) => {
      const w = (context = new WriteContext(tx, now));
      const r = await fn(w);
      await w.runBeforeCommit();
      // The signed head follows the chain in the same transaction (audit-checkpoint.ts).
      if (w.auditHead && db.auditSigner) await db.auditSigner.signHead(tx, w.auditHead, now);
      // Other server processes poke their own streams from these (sync/feed.ts).
      if (w.affected.size > 0) await recordPokes(tx, db.origin, w.affected, now);
      return r;
    });
  } catch (error) {
    context?.settle(false);
    throw error;
  }
  context?.settle(true);
  if (notifier && context) notifier.poke(context.affected);
  return result;
}
