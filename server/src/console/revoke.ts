/**
 * Taking access out for the console (a reviewer's "revoke", a licence seat reclaimed), through the
 * connectors' fulfilment:
 * - a grant an AccessLens request made goes through that request's revoke job (or admin task), as at
 *   expiry (`queueRevoke`): the connector removes it and confirms by reading the CRM;
 * - access no request granted (a profile, a permission set assigned in the CRM) becomes an admin task
 *   of kind `revoke` (reason `outside-request`, or why the connection cannot be changed at all); once an
 *   administrator marks the task done, the assignments are recorded as revoked (`settleRevocations`,
 *   run by the console schedule's worker in whichever process claims it).
 */
import { randomUUID } from 'node:crypto';
import type { BundleKind, CrmKind, FulfilmentReason } from '@accesslens/shared';
import { queueRevoke, type JobPlan } from '../connectors/fulfilment.ts';
import { connectorFor } from '../connectors/registry.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Transaction } from '../db.ts';
import type { WriteContext } from '../write.ts';

export interface RevokeOrigin {
  kind: 'review' | 'licence' | 'finding';
  /** The review item, the licence, or the finding. */
  id: string;
  actorId: string | null;
  /** Shown on the admin task: why it is taken out. */
  why: string;
}

export interface RevokeResult {
  taskIds: string[];
  requestIds: string[];
}

/** Why AccessLens cannot take this out by itself on this connection. */
async function manualReason(tx: Transaction, connectionId: string): Promise<FulfilmentReason> {
  const r = await tx.execute({
    sql: `SELECT c.name, c.kind, c.mode, c.enabled,
            EXISTS (SELECT 1 FROM connection_secrets s WHERE s.connection_id = c.id AND s.purpose = 'credentials') AS has_credentials
          FROM crm_connections c WHERE c.id = ?`,
    args: [connectionId],
  });
  const c = r.rows[0]!;
  const name = String(c.name);
  if (Number(c.enabled) !== 1) return { code: 'disabled', message: `The connection ${name} is disabled.` };
  const def = connectorFor(String(c.kind) as CrmKind);
  if (!def || !def.canProvision) return { code: 'no-connector', message: `AccessLens cannot change ${String(c.kind)} access automatically yet.` };
  if (String(c.mode) === 'read-only') return { code: 'read-only', message: `The connection ${name} is read-only: an administrator makes changes by hand.` };
  if (Number(c.has_credentials) !== 1) return { code: 'no-credentials', message: `The connection ${name} has no credentials.` };
  return { code: 'outside-request', message: `This access was not granted through an AccessLens request: an administrator removes it in ${name}.` };
}

/** Takes out these assignments of one account. Assignments already revoked, or already being revoked, are skipped. */
export async function revokeAssignments(w: WriteContext, accountId: string, assignmentIds: string[], origin: RevokeOrigin): Promise<RevokeResult> {
  const result: RevokeResult = { taskIds: [], requestIds: [] };
  if (assignmentIds.length === 0) return result;
  const rows = await w.tx.execute({
    sql: `SELECT a.id, a.account_id, a.bundle_id, a.permission_key, a.request_id, a.external_id, r.status AS request_status,
            b.name AS bundle_name, b.kind AS bundle_kind, b.external_id AS bundle_external_id
          FROM assignments a LEFT JOIN requests r ON r.id = a.request_id LEFT JOIN bundles b ON b.id = a.bundle_id
          WHERE a.account_id = ? AND a.revoked_at IS NULL AND a.id IN (${assignmentIds.map(() => '?').join(', ')})
            AND NOT EXISTS (SELECT 1 FROM console_revocations cr, json_each(cr.assignment_ids) j
                            WHERE cr.settled_at IS NULL AND cr.task_id IS NOT NULL AND j.value = a.id)`,
    args: [accountId, ...assignmentIds],
  });
  if (rows.rows.length === 0) {
    // Everything asked for is already being taken out (e.g. a reviewer revoked it, then a seat is reclaimed):
    // this origin points at the task under way, so it says "started" too, and nothing is done twice.
    const underway = await w.tx.execute({
      sql: `SELECT DISTINCT cr.task_id FROM console_revocations cr, json_each(cr.assignment_ids) j
            WHERE cr.settled_at IS NULL AND cr.task_id IS NOT NULL AND j.value IN (${assignmentIds.map(() => '?').join(', ')}) ORDER BY cr.task_id`,
      args: assignmentIds,
    });
    if (underway.rows.length === 0) return result;
    result.taskIds.push(...underway.rows.map((r) => String(r.task_id)));
    await w.tx.execute({
      sql: `INSERT INTO console_revocations (id, origin_kind, origin_id, account_id, assignment_ids, task_id, request_ids, created_by, created_at, settled_at)
            VALUES (?, ?, ?, ?, '[]', ?, '[]', ?, ?, NULL)`,
      args: [`crev-${randomUUID()}`, origin.kind, origin.id, accountId, result.taskIds[0]!, origin.actorId, w.nowIso],
    });
    await w.audit({
      actorId: origin.actorId,
      action: 'revocation.requested',
      subjectType: 'account',
      subjectId: accountId,
      data: { origin: { kind: origin.kind, id: origin.id }, assignments: [], taskIds: result.taskIds, requestIds: [], alreadyUnderway: true },
    });
    return result;
  }
  const acct = (await w.tx.execute({ sql: 'SELECT person_id, connection_id, external_user_id, username FROM crm_accounts WHERE id = ?', args: [accountId] }))
    .rows[0]!;
  const connectionId = String(acct.connection_id);

  // Grants made by a request in force: that request's own revoke job or task.
  const byRequest = rows.rows.filter((r) => r.request_id !== null && String(r.request_status) === 'fulfilled');
  for (const requestId of new Set(byRequest.map((r) => String(r.request_id)))) {
    await queueRevoke(w, requestId);
    result.requestIds.push(requestId);
  }
  const others = rows.rows.filter((r) => !byRequest.includes(r));
  if (others.length > 0) {
    const reason = await manualReason(w.tx, connectionId);
    const plan: JobPlan = {
      requestId: '',
      requesterId: String(acct.person_id),
      accountId,
      personId: String(acct.person_id),
      externalUserId: String(acct.external_user_id),
      username: String(acct.username),
      keys: others.filter((r) => r.permission_key !== null).map((r) => String(r.permission_key)),
      bundles: others
        .filter((r) => r.bundle_id !== null)
        .map((r) => ({
          id: String(r.bundle_id),
          externalId: r.bundle_external_id === null ? null : String(r.bundle_external_id),
          name: String(r.bundle_name),
          kind: String(r.bundle_kind) as BundleKind,
        })),
      days: 0,
      assignments: others.map((r) => ({
        id: String(r.id),
        externalId: r.external_id === null ? null : String(r.external_id),
        bundleId: r.bundle_id === null ? null : String(r.bundle_id),
      })),
    };
    const taskId = `task-${randomUUID()}`;
    const message = `${origin.why} ${reason.message}`;
    await w.tx.execute({
      sql: `INSERT INTO admin_tasks (id, kind, request_id, connection_id, job_id, reason_code, reason, details, status, created_at, version)
            VALUES (?, 'revoke', NULL, ?, NULL, ?, ?, ?, 'open', ?, ?)`,
      args: [taskId, connectionId, reason.code, message, JSON.stringify({ plan, origin: { kind: origin.kind, id: origin.id } }), w.nowIso, await w.version()],
    });
    await w.audit({
      actorId: null,
      action: 'task.created',
      subjectType: 'task',
      subjectId: taskId,
      data: { kind: 'revoke', requestId: null, reason: reason.code, message, origin: { kind: origin.kind, id: origin.id } },
    });
    result.taskIds.push(taskId);
  }
  await w.tx.execute({
    sql: `INSERT INTO console_revocations (id, origin_kind, origin_id, account_id, assignment_ids, task_id, request_ids, created_by, created_at, settled_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [
      `crev-${randomUUID()}`,
      origin.kind,
      origin.id,
      accountId,
      JSON.stringify(others.map((r) => String(r.id))),
      result.taskIds[0] ?? null,
      JSON.stringify(result.requestIds),
      origin.actorId,
      w.nowIso,
      // Nothing left to settle when only requests' revoke jobs were queued: they record their own removal.
      result.taskIds.length === 0 ? w.nowIso : null,
    ],
  });
  await w.audit({
    actorId: origin.actorId,
    action: 'revocation.requested',
    subjectType: 'account',
    subjectId: accountId,
    data: {
      origin: { kind: origin.kind, id: origin.id },
      assignments: rows.rows.map((r) => String(r.id)),
      taskIds: result.taskIds,
      requestIds: result.requestIds,
    },
  });
  return result;
}

/**
 * Admin tasks done for access no request granted: the assignments are recorded as revoked (audited
 * `grant.removed`; findings follow). A cancelled task settles without revoking. Each row is claimed by
 * one process (the `settled_at IS NULL` update in the same transaction).
 */
export async function settleRevocations(w: WriteContext, findings: FindingsService | undefined): Promise<number> {
  const due = await w.tx.execute(
    `SELECT cr.id, cr.assignment_ids, cr.task_id, t.status, t.done_by FROM console_revocations cr JOIN admin_tasks t ON t.id = cr.task_id
     WHERE cr.settled_at IS NULL AND t.status IN ('done', 'cancelled') ORDER BY cr.created_at LIMIT 200`,
  );
  let settled = 0;
  for (const r of due.rows) {
    const claimed = await w.tx.execute({
      sql: 'UPDATE console_revocations SET settled_at = ? WHERE id = ? AND settled_at IS NULL',
      args: [w.nowIso, String(r.id)],
    });
    if (claimed.rowsAffected === 0) continue;
    settled++;
    if (String(r.status) !== 'done') continue;
    const version = await w.version();
    for (const id of JSON.parse(String(r.assignment_ids)) as string[]) {
      const u = await w.tx.execute({
        sql: 'UPDATE assignments SET revoked_at = ?, version = ? WHERE id = ? AND revoked_at IS NULL',
        args: [w.nowIso, version, id],
      });
      if (u.rowsAffected > 0)
        await w.audit({
          actorId: r.done_by === null ? null : String(r.done_by),
          action: 'grant.removed',
          subjectType: 'assignment',
          subjectId: id,
          data: { taskId: String(r.task_id) },
        });
    }
    findings?.track(w);
  }
  return settled;
}
