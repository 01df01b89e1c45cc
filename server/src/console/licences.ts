/**
 * Licence seats: per connection and licence, seats bought, assigned (as the policy engine counts them —
 * the same count a request's preview checks), free; seats held by departed, suspended or dormant accounts
 * with a one-click reclaim (console/revoke.ts: a revoke job or an admin task); and reminders to every
 * administrator 60, 30 and 7 days before a term ends, planned in the database (console/schedule.ts).
 */
import { LICENSE_REMINDER_DAYS, type LicenseSeatsView, type OrgEngine, type ReclaimableSeat } from '@accesslens/shared';
import type { Db } from '../db.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { readCurrentPolicy } from '../policy/load.ts';
import type { WriteContext } from '../write.ts';
import { adminIds, notify } from './notices.ts';
import { revokeAssignments } from './revoke.ts';
import { scheduleOnce } from './schedule.ts';

const DAY_MS = 86_400_000;
const termEndInstant = (day: string) => Date.parse(`${day}T00:00:00.000Z`);

export async function licenseSeats(db: Db, engine: OrgEngine, now: Date, connectionId?: string): Promise<LicenseSeatsView[]> {
  const policy = await readCurrentPolicy(db);
  const dormantDays = policy.document.thresholds.dormantDays;
  const licenses = await db.execute(
    `SELECT l.id, l.connection_id, c.name AS connection_name, l.name, l.license_type, l.seats, l.term_end_date
     FROM licenses l JOIN crm_connections c ON c.id = l.connection_id
     WHERE l.deleted_at IS NULL ${connectionId ? 'AND l.connection_id = ?' : ''} ORDER BY c.name, l.name, l.id`,
    connectionId ? [connectionId] : [],
  );
  const out: LicenseSeatsView[] = [];
  for (const l of licenses.rows) {
    const id = String(l.id);
    const { used, holders } = engine.licenseSeatsUsed(String(l.connection_id), id);
    const reclaimable: ReclaimableSeat[] = [];
    const ids = [...holders];
    for (let i = 0; i < ids.length; i += 400) {
      const chunk = ids.slice(i, i + 400);
      const rows = await db.execute(
        `SELECT ac.id, ac.username, ac.external_user_id, ac.last_login_at, ac.created_at, p.id AS person_id, p.name, p.department, p.status,
           (SELECT json_object('taskId', cr.task_id, 'requestIds', json(cr.request_ids), 'at', cr.created_at) FROM console_revocations cr
              WHERE cr.origin_kind = 'licence' AND cr.origin_id = ? AND cr.account_id = ac.id ORDER BY cr.created_at DESC LIMIT 1) AS reclaim
         FROM crm_accounts ac JOIN people p ON p.id = ac.person_id WHERE ac.id IN (${chunk.map(() => '?').join(', ')}) ORDER BY p.name, ac.id`,
        [id, ...chunk],
      );
      for (const r of rows.rows) {
        const login = r.last_login_at === null ? null : String(r.last_login_at);
        const since = login ?? (r.created_at === null ? null : String(r.created_at));
        const days = since === null ? null : Math.floor((now.getTime() - Date.parse(since)) / DAY_MS);
        const status = String(r.status);
        const state = status === 'departed' ? 'departed' : status === 'suspended' ? 'suspended' : days !== null && days >= dormantDays ? 'dormant' : null;
        if (!state) continue;
        const reclaim = r.reclaim === null ? null : (JSON.parse(String(r.reclaim)) as { taskId: string | null; requestIds: string[]; at: string });
        reclaimable.push({
          account: { id: String(r.id), username: String(r.username), externalUserId: String(r.external_user_id), lastLoginAt: login },
          person: { id: String(r.person_id), name: String(r.name), department: String(r.department), status: status as 'active' },
          state,
          daysSinceLogin: login === null ? null : days,
          reclaim: reclaim && { taskIds: reclaim.taskId ? [reclaim.taskId] : [], requestIds: reclaim.requestIds, at: reclaim.at },
        });
      }
    }
    const term = l.term_end_date === null ? null : String(l.term_end_date);
    out.push({
      id,
      connectionId: String(l.connection_id),
      connectionName: String(l.connection_name),
      name: String(l.name),
      type: String(l.license_type) as LicenseSeatsView['type'],
      seats: Number(l.seats),
      assigned: used,
      free: Number(l.seats) - used,
      termEndDate: term,
      daysToTermEnd: term === null ? null : Math.ceil((termEndInstant(term) - now.getTime()) / DAY_MS),
      reclaimable,
    });
  }
  return out;
}

/**
 * Takes the licence's seat back from these accounts: every assignment through which the account holds
 * a permission that consumes the licence is revoked (a request's revoke job, or an admin task).
 */
export async function reclaimSeats(
  w: WriteContext,
  engine: OrgEngine,
  licenseId: string,
  accountIds: string[],
  actorId: string,
): Promise<{ accountId: string; taskIds: string[]; requestIds: string[] }[]> {
  const l = (await w.tx.execute({ sql: 'SELECT id, connection_id, name FROM licenses WHERE id = ? AND deleted_at IS NULL', args: [licenseId] })).rows[0];
  if (!l) throw refuse.notFound('licence_not_found');
  const connectionId = String(l.connection_id);
  const keys = (
    await w.tx.execute({ sql: 'SELECT key FROM permission_catalog WHERE connection_id = ? AND license_id = ?', args: [connectionId, licenseId] })
  ).rows.map((r) => String(r.key));
  const { holders } = engine.licenseSeatsUsed(connectionId, licenseId);
  const out: { accountId: string; taskIds: string[]; requestIds: string[] }[] = [];
  for (const [n, accountId] of accountIds.entries()) {
    if (!holders.has(accountId)) throw ApiFailure.of(409, 'conflict', 'no_seat', { licence: String(l.name) }, { field: `accountIds.${n}` });
    const assignments = new Set<string>();
    for (const k of keys) {
      const why = engine.explain(accountId, k);
      if (why.allowed) for (const p of why.paths) assignments.add(p.assignmentId);
    }
    const result = await revokeAssignments(w, accountId, [...assignments], {
      kind: 'licence',
      id: licenseId,
      actorId,
      why: `An administrator reclaims this ${String(l.name)} seat (held by a departed, suspended or dormant account).`,
    });
    out.push({ accountId, ...result });
  }
  await w.audit({ actorId, action: 'license.reclaimed', subjectType: 'license', subjectId: licenseId, data: { accounts: out } });
  return out;
}

/**
 * Plans the term-end reminders of every licence with a term end: each of 60, 30 and 7 days before it that
 * is still ahead, and — for a term entered late — the most recent one already past, once.
 */
export async function planLicenseReminders(w: WriteContext): Promise<void> {
  const now = w.now.getTime();
  const rows = await w.tx.execute('SELECT id, term_end_date FROM licenses WHERE deleted_at IS NULL AND term_end_date IS NOT NULL');
  for (const r of rows.rows) {
    const term = String(r.term_end_date);
    const end = termEndInstant(term);
    if (!(end > now)) continue;
    const due = LICENSE_REMINDER_DAYS.map((d) => ({ d, at: end - d * DAY_MS }));
    const past = due.filter((x) => x.at <= now).sort((a, b) => b.at - a.at)[0];
    for (const x of due.filter((x) => x.at > now || x === past))
      await scheduleOnce(w.tx, 'license.remind', `${String(r.id)}:${term}:${x.d}`, new Date(x.at).toISOString(), w.nowIso);
  }
}

/** A term-end reminder (scheduled): every administrator is told, if the licence still ends then. */
export async function remindLicense(w: WriteContext, subject: string, engine: OrgEngine | null): Promise<void> {
  const [licenseId, term, days] = subject.split(':') as [string, string, string];
  const l = (
    await w.tx.execute({
      sql: `SELECT l.id, l.name, l.seats, l.connection_id, l.term_end_date, c.name AS connection_name FROM licenses l JOIN crm_connections c ON c.id = l.connection_id
            WHERE l.id = ? AND l.deleted_at IS NULL`,
      args: [licenseId],
    })
  ).rows[0];
  if (!l || String(l.term_end_date) !== term) return; // deleted, or its term moved: that term's reminders lapse
  const used = engine ? engine.licenseSeatsUsed(String(l.connection_id), licenseId).used : null;
  const data = {
    licenseId,
    name: String(l.name),
    connectionId: String(l.connection_id),
    connectionName: String(l.connection_name),
    termEndDate: term,
    daysBefore: Number(days),
    seats: Number(l.seats),
    assigned: used,
  };
  const admins = await adminIds(w);
  for (const a of admins) await notify(w, a, 'license.term-ending', data);
  await w.audit({ actorId: null, action: 'license.reminded', subjectType: 'license', subjectId: licenseId, data: { ...data, admins } });
}
