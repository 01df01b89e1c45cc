/**
 * The console's durable schedule (`console_schedule`): work due at a time — a review campaign's due
 * date and reminders, a licence's term-end reminders, the day's findings counts. Rows live in the
 * database (never in-memory timers alone); (kind, subject) is unique so planning twice never doubles
 * work. A process claims a due row atomically (one UPDATE … RETURNING, with a lease), does the work and
 * marks the row done in one transaction: with several processes on one database each row runs once, and
 * a process that dies mid-way leaves the row to be taken over when its lease ends.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Transaction } from '../db.ts';
import type { Notifier } from '../notifier.ts';
import { runWrite, type WriteContext } from '../write.ts';

export const SCHEDULE_KINDS = ['review.close', 'review.escalation', 'review.remind', 'license.remind', 'findings.daily'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export interface ScheduledRow {
  id: string;
  kind: ScheduleKind;
  subject: string;
  dueAt: string;
  attempts: number;
}

/** Plans work (or moves a pending row's time); a row already done or running is left as it is. */
export async function schedule(tx: Transaction, kind: ScheduleKind, subject: string, dueAt: string, nowIso: string): Promise<void> {
  await tx.execute({
    sql: `INSERT INTO console_schedule (id, kind, subject, due_at, state, attempts, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)
          ON CONFLICT (kind, subject) DO UPDATE SET due_at = excluded.due_at WHERE console_schedule.state = 'pending'`,
    args: [`sched-${randomUUID()}`, kind, subject, dueAt, nowIso],
  });
}

/** Plans work only if it was never planned (what was done stays done). */
export async function scheduleOnce(tx: Transaction, kind: ScheduleKind, subject: string, dueAt: string, nowIso: string): Promise<void> {
  await tx.execute({
    sql: `INSERT INTO console_schedule (id, kind, subject, due_at, state, attempts, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)
          ON CONFLICT (kind, subject) DO NOTHING`,
    args: [`sched-${randomUUID()}`, kind, subject, dueAt, nowIso],
  });
}

/** Cancels pending rows of a kind whose subject starts with `prefix` (a campaign cancelled). */
export async function cancelScheduled(tx: Transaction, kind: ScheduleKind, prefix: string, nowIso: string): Promise<void> {
  await tx.execute({
    sql: `UPDATE console_schedule SET state = 'cancelled', done_at = ? WHERE kind = ? AND state = 'pending' AND substr(subject, 1, ?) = ?`,
    args: [nowIso, kind, prefix.length, prefix],
  });
}

/** Takes the most overdue row (pending and due, or running with an expired lease) for `owner`, atomically. */
export async function claimDue(db: Db, owner: string, now: Date, leaseMs: number): Promise<ScheduledRow | null> {
  const nowIso = now.toISOString();
  return db.transaction(async (tx) => {
    const r = await tx.execute({
      sql: `UPDATE console_schedule SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1
            WHERE id = (SELECT id FROM console_schedule
                        WHERE (state = 'pending' AND due_at <= ?) OR (state = 'running' AND lease_until <= ?)
                        ORDER BY due_at, id LIMIT 1)
            RETURNING id, kind, subject, due_at, attempts`,
      args: [owner, new Date(now.getTime() + leaseMs).toISOString(), nowIso, nowIso],
    });
    const row = r.rows[0];
    return row
      ? { id: String(row.id), kind: String(row.kind) as ScheduleKind, subject: String(row.subject), dueAt: String(row.due_at), attempts: Number(row.attempts) }
      : null;
  });
}

/** Retries after a failure: 1 minute doubling, at most 6 hours; given up (cancelled, with the error) after 10 attempts. */
const backoffMs = (attempts: number) => Math.min(6 * 3_600_000, 60_000 * 2 ** Math.max(0, attempts - 1));
export const MAX_ATTEMPTS = 10;

/**
 * Runs one claimed row: `work` and marking it done share a transaction, guarded by the lease (a row
 * taken over by another process meanwhile rolls this work back). A failure is recorded and retried.
 */
export async function runClaimed(
  db: Db,
  owner: string,
  row: ScheduledRow,
  now: Date,
  work: (w: WriteContext) => Promise<void>,
  log: (line: string) => void,
  notifier?: Notifier,
): Promise<'done' | 'lost' | 'failed'> {
  try {
    await runWrite(
      db,
      now,
      async (w) => {
        await work(w);
        const done = await w.tx.execute({
          sql: "UPDATE console_schedule SET state = 'done', done_at = ?, lease_owner = NULL, lease_until = NULL, last_error = NULL WHERE id = ? AND state = 'running' AND lease_owner = ?",
          args: [w.nowIso, row.id, owner],
        });
        if (done.rowsAffected === 0) throw new LeaseLost();
      },
      notifier,
    );
    return 'done';
  } catch (error) {
    if (error instanceof LeaseLost) return 'lost';
    const message = error instanceof Error ? error.message : String(error);
    log(`console schedule ${row.kind} ${row.subject} failed (attempt ${row.attempts}): ${message}`);
    await db.transaction(async (tx) => {
      await tx.execute({
        sql: `UPDATE console_schedule SET state = ?, due_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL, done_at = ?
              WHERE id = ? AND lease_owner = ?`,
        args: [
          row.attempts >= MAX_ATTEMPTS ? 'cancelled' : 'pending',
          new Date(now.getTime() + backoffMs(row.attempts)).toISOString(),
          message.slice(0, 1000),
          row.attempts >= MAX_ATTEMPTS ? now.toISOString() : null,
          row.id,
          owner,
        ],
      });
    });
    return 'failed';
  }
}

class LeaseLost extends Error {
  constructor() {
    super('another process took this scheduled work over');
  }
}
