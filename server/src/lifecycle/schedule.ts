/**
 * Scheduled work in the database (`scheduled_work`): one row per (kind, subject), found by its due time
 * (so it survives restarts) and claimed in the same write transaction that does the work (so when several
 * server processes share the database exactly one does it: the claim and its effect commit together).
 *
 * Kinds: `request.timer` (reminders, escalation and time-out of a request's open stage), `grant.start` (an
 * access window's start), `delegation.start` (an out-of-office period begins). The handlers live in
 * timers.ts; other modules only schedule.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from '../db.ts';
import type { WriteContext } from '../write.ts';

export const WORK_KINDS = ['request.timer', 'grant.start', 'delegation.start'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];

/** Schedules (or moves) the work of `kind` for `subjectId` to `dueAt`. */
export async function scheduleWork(w: WriteContext, kind: WorkKind, subjectId: string, dueAt: Date | string): Promise<void> {
  const due = typeof dueAt === 'string' ? dueAt : dueAt.toISOString();
  await w.tx.execute({
    sql: `INSERT INTO scheduled_work (id, kind, subject_id, due_at, state, attempts, created_at, updated_at)
          VALUES (?, ?, ?, ?, 'queued', 0, ?, ?)
          ON CONFLICT (kind, subject_id) DO UPDATE SET due_at = excluded.due_at, state = 'queued', attempts = 0, last_error = NULL,
            updated_at = excluded.updated_at`,
    args: [`work-${randomUUID()}`, kind, subjectId, due, w.nowIso, w.nowIso],
  });
}

/** Nothing more to do for it (e.g. the request was decided). */
export async function finishWork(tx: Transaction, kind: WorkKind, subjectId: string, nowIso: string): Promise<void> {
  await tx.execute({
    sql: "UPDATE scheduled_work SET state = 'done', updated_at = ? WHERE kind = ? AND subject_id = ? AND state = 'queued'",
    args: [nowIso, kind, subjectId],
  });
}

export interface ClaimedWork {
  id: string;
  kind: WorkKind;
  subjectId: string;
  dueAt: string;
  attempts: number;
}

/**
 * Inside a write transaction: takes the earliest due row by marking it done. The handler then does the work
 * in the same transaction (and may schedule the row again); a rollback gives the row back.
 */
export async function claimDueWork(tx: Transaction, nowIso: string): Promise<ClaimedWork | null> {
  const r = await tx.execute({
    sql: `UPDATE scheduled_work SET state = 'done', updated_at = ?
          WHERE id = (SELECT id FROM scheduled_work WHERE state = 'queued' AND due_at <= ? ORDER BY due_at, id LIMIT 1)
          RETURNING id, kind, subject_id, due_at, attempts`,
    args: [nowIso, nowIso],
  });
  const row = r.rows[0];
  if (!row) return null;
  return {
    id: String(row.id),
    kind: String(row.kind) as WorkKind,
    subjectId: String(row.subject_id),
    dueAt: String(row.due_at),
    attempts: Number(row.attempts),
  };
}

/** Work whose handler failed: tried again later (30 s doubling, at most an hour), given up after 10 attempts. */
export async function failWork(tx: Transaction, id: string, error: string, now: Date): Promise<void> {
  const r = await tx.execute({ sql: 'SELECT attempts FROM scheduled_work WHERE id = ?', args: [id] });
  const attempts = Number(r.rows[0]?.attempts ?? 0) + 1;
  const next = new Date(now.getTime() + Math.min(3600_000, 30_000 * 2 ** (attempts - 1))).toISOString();
  await tx.execute({
    sql: `UPDATE scheduled_work SET state = ?, attempts = ?, last_error = ?, due_at = ?, updated_at = ? WHERE id = ?`,
    args: [attempts >= 10 ? 'failed' : 'queued', attempts, error.slice(0, 2000), next, now.toISOString(), id],
  });
}
