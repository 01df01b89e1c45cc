/**
 * Notices: reminders for administrators and reviewers (a licence term ending, reviews due, a policy
 * change waiting for approval). Written in the transaction of what caused them; the console (and the
 * popup's reviews) show them. Not synced rows: a notice pokes its person, who reads them by route.
 */
import { randomUUID } from 'node:crypto';
import type { NoticeView, NOTICE_KINDS } from '@accesslens/shared';
import type { Db } from '../db.ts';
import type { WriteContext } from '../write.ts';

export type NoticeKind = (typeof NOTICE_KINDS)[number];

export async function notify(w: WriteContext, personId: string, kind: NoticeKind, data: Record<string, unknown>): Promise<void> {
  await w.tx.execute({
    sql: 'INSERT INTO notices (id, person_id, kind, data, created_at, read_at) VALUES (?, ?, ?, ?, ?, NULL)',
    args: [`notice-${randomUUID()}`, personId, kind, JSON.stringify(data), w.nowIso],
  });
  w.affected.add(personId);
}

/** Active administrators' ids. */
export async function adminIds(w: WriteContext): Promise<string[]> {
  const r = await w.tx.execute(
    `SELECT id FROM people p WHERE p.status = 'active' AND EXISTS (SELECT 1 FROM json_each(p.roles) WHERE value = 'admin') ORDER BY id`,
  );
  return r.rows.map((x) => String(x.id));
}

export async function listNotices(db: Db, personId: string): Promise<{ notices: NoticeView[]; unread: number }> {
  const [rows, unread] = await db.readBatch([
    { sql: 'SELECT id, kind, data, created_at, read_at FROM notices WHERE person_id = ? ORDER BY created_at DESC, id LIMIT 200', args: [personId] },
    { sql: 'SELECT COUNT(*) AS n FROM notices WHERE person_id = ? AND read_at IS NULL', args: [personId] },
  ]);
  return {
    notices: rows!.rows.map((r) => ({
      id: String(r.id),
      kind: String(r.kind) as NoticeView['kind'],
      data: JSON.parse(String(r.data)) as Record<string, unknown>,
      createdAt: String(r.created_at),
      readAt: r.read_at === null ? null : String(r.read_at),
    })),
    unread: Number(unread!.rows[0]!.n),
  };
}
