import type { Db } from './db.ts';
import type { FindingsService } from './findings/service.ts';
import type { Notifier } from './notifier.ts';
import { queueRevoke } from './connectors/fulfilment.ts';
import { runWrite } from './write.ts';

/**
 * Ends grants whose time is up.
 * - A fulfilled request past its `expiresAt` gets its revoke job (or admin task): it is `expired` once
 *   the CRM no longer holds the grant (connectors/fulfilment.ts). The grant itself stops counting at
 *   `expiresAt` on its own (isAssignmentActive); while the CRM still holds it, it is an expired-grant
 *   finding.
 * - An approved request granted before fulfilment existed (schema v1–v4: `expiresAt` set at approval,
 *   no fulfilment) is marked `expired` as before.
 * With `findings`, the findings engine moves its clock in the same transaction. Returns how many
 * requests it touched.
 */
export async function sweepExpiredGrants(db: Db, now: Date, notifier?: Notifier, findings?: FindingsService): Promise<number> {
  const nowIso = now.toISOString();
  const due = await db.execute(
    `SELECT 1 FROM requests WHERE status IN ('approved', 'fulfilled') AND expires_at <= ?
       AND (fulfilment IS NULL OR json_extract(fulfilment, '$.state') IN ('active', 'problem-reported')) LIMIT 1`,
    [nowIso],
  );
  if (due.rows.length === 0) return 0;
  return runWrite(
    db,
    now,
    async (w) => {
      const rows = await w.tx.execute({
        sql: `SELECT id, requester_id, stages, status, fulfilment FROM requests WHERE status IN ('approved', 'fulfilled') AND expires_at <= ?
                AND (fulfilment IS NULL OR json_extract(fulfilment, '$.state') IN ('active', 'problem-reported'))`,
        args: [nowIso],
      });
      if (rows.rows.length === 0) return 0;
      const version = await w.version();
      findings?.track(w, { advance: true });
      for (const r of rows.rows) {
        if (String(r.status) === 'fulfilled' && r.fulfilment !== null) {
          await queueRevoke(w, String(r.id));
          continue;
        }
        await w.tx.execute({
          sql: "UPDATE requests SET status = 'expired', updated_at = ?, version = ? WHERE id = ?",
          args: [nowIso, version, String(r.id)],
        });
        await w.audit({ actorId: null, action: 'request.expired', subjectType: 'request', subjectId: String(r.id) });
        w.affected.add(String(r.requester_id));
        for (const stage of JSON.parse(String(r.stages)) as { approverIds: string[] }[]) for (const id of stage.approverIds) w.affected.add(id);
      }
      return rows.rows.length;
    },
    notifier,
  );
}

const SWEEP_INTERVAL_MS = 60_000;
const lastSweep = new WeakMap<Db, number>();

/** Whether `sweepIfDue` would sweep now. */
export function isSweepDue(db: Db, now: Date): boolean {
  const last = lastSweep.get(db);
  return last === undefined || Math.abs(now.getTime() - last) >= SWEEP_INTERVAL_MS;
}

/** At most one sweep a minute per database handle, so pulls stay cheap. */
export async function sweepIfDue(db: Db, now: Date, notifier?: Notifier, findings?: FindingsService): Promise<number> {
  if (!isSweepDue(db, now)) return 0;
  lastSweep.set(db, now.getTime());
  return sweepExpiredGrants(db, now, notifier, findings);
}
