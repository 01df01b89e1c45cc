/**
 * Revocation jobs: the `automatic` rows of `revocations`, run by whichever server process claims them
 * once due (atomic claim with a lease, as fulfilment jobs). A job first checks it is still wanted (a
 * person reactivated, or access now inside their job's baseline, cancels it), reads what the user holds
 * in the CRM, removes only what is there, deactivates the user where planned, and reads the CRM again:
 * only what the re-read confirms is recorded as removed. Passing failures are retried with backoff; a
 * refusal, or attempts given up, leaves what remains to an admin task (state `failed`).
 *
 * `manual` rows, and failed ones, are completed when an administrator marks their admin task done
 * (`completeRevocationTask`), after AccessLens checks the CRM where it can read it.
 */
import type { FulfilmentReason } from '@accesslens/shared';
import { openConnector } from '../connectors/connections.ts';
import { jobBackoffMs, MAX_ATTEMPTS, DEFAULT_JOB_LEASE_MS, connectionFacts, type TaskDeps } from '../connectors/fulfilment.ts';
import { CrmError, type CrmClient, type CrmHolding } from '../connectors/types.ts';
import type { Db } from '../db.ts';
import { refuse } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Notifier } from '../notifier.ts';
import type { SecretBox } from '../secrets.ts';
import { runWrite, type WriteContext } from '../write.ts';
import {
  assignmentName,
  createRevocationTask,
  engineWithin,
  outsideBaseline,
  recordRevoked,
  requestsInForce,
  REVOCATION_COLUMNS,
  revocationFromRow,
  type PlannedAssignment,
  type RevocationPlan,
  type RevocationRow,
} from './plan.ts';

export interface RevocationJobDeps {
  db: Db;
  box: SecretBox;
  now: () => Date;
  ownerId: string;
  leaseMs?: number;
  findings?: FindingsService;
  notifier?: Notifier;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** Whether a holding is one of the planned assignments: the same CRM assignment, or the same bundle. */
const holds = (h: CrmHolding, a: PlannedAssignment) =>
  (a.externalId !== null && h.externalId === a.externalId) || (a.bundleExternalId !== null && h.bundleExternalId === a.bundleExternalId);
const stillHeld = (holdings: CrmHolding[], plan: RevocationPlan) => plan.assignments.filter((a) => holdings.some((h) => holds(h, a)));

async function cancel(w: WriteContext, row: RevocationRow, code: string, message: string): Promise<void> {
  await w.tx.execute({
    sql: `UPDATE revocations SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, reason_code = ?, reason = ?, finished_at = ?, updated_at = ? WHERE id = ?`,
    args: [code, message, w.nowIso, w.nowIso, row.id],
  });
  await w.audit({ actorId: null, action: 'revocation.cancelled', subjectType: 'revocation', subjectId: row.id, data: { reason: code, message } });
}

/**
 * Takes one due job (queued and due, or running with an expired lease), atomically, and checks it is
 * still wanted. Returns the job to run, `cancelled` when the check cancelled it, or null when none is due.
 */
export async function claimRevocation(deps: RevocationJobDeps): Promise<RevocationRow | 'cancelled' | null> {
  const now = deps.now();
  const nowIso = now.toISOString();
  const leaseUntil = new Date(now.getTime() + (deps.leaseMs ?? DEFAULT_JOB_LEASE_MS)).toISOString();
  // A read first: the worker looks every few seconds, and nothing due must not take the write lock.
  const due = await deps.db.execute(
    "SELECT 1 FROM revocations WHERE (state = 'queued' AND due_at <= ?1) OR (state = 'running' AND lease_until <= ?1) LIMIT 1",
    [nowIso],
  );
  if (due.rows.length === 0) return null;
  return runWrite(
    deps.db,
    now,
    async (w) => {
      const r = await w.tx.execute({
        sql: `UPDATE revocations SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
              WHERE id = (SELECT id FROM revocations
                          WHERE handling = 'automatic' AND ((state = 'queued' AND due_at <= ?) OR (state = 'running' AND lease_until <= ?))
                          ORDER BY due_at, id LIMIT 1)
              RETURNING ${REVOCATION_COLUMNS.replaceAll('r.', '')}`,
        args: [deps.ownerId, leaseUntil, nowIso, nowIso, nowIso],
      });
      const raw = r.rows[0];
      if (!raw) return null;
      const row = revocationFromRow(raw);
      const p = await w.tx.execute({ sql: 'SELECT name, status FROM people WHERE id = ?', args: [row.personId] });
      const status = String(p.rows[0]?.status ?? 'departed');
      if (row.cause !== 'moved') {
        if (status === 'active') {
          await cancel(w, row, 'reactivated', `${String(p.rows[0]!.name)} is active again: nothing is removed.`);
          return 'cancelled' as const;
        }
      } else if (status === 'active') {
        // Still outside the baseline of the job the person has now, and not granted by a request in force?
        const outside = outsideBaseline(await engineWithin(w, deps.findings), row.accountId);
        const inForce = await requestsInForce(
          w.tx,
          row.plan.assignments.map((a) => a.requestId),
          w.nowIso,
        );
        const keep = row.plan.assignments.filter(
          (a) =>
            (outside.assignmentIds.has(a.id) || (a.bundleId !== null && outside.bundleIds.has(a.bundleId))) &&
            (a.requestId === null || !inForce.has(a.requestId)),
        );
        if (keep.length === 0) {
          await cancel(
            w,
            row,
            'inside-baseline',
            'Everything planned is inside the baseline of the job the person has now, or granted by a request in force: nothing is removed.',
          );
          return 'cancelled' as const;
        }
        if (keep.length < row.plan.assignments.length) {
          const dropped = row.plan.assignments.filter((a) => !keep.includes(a)).map((a) => a.id);
          row.plan = { ...row.plan, assignments: keep };
          await w.tx.execute({ sql: 'UPDATE revocations SET plan = ? WHERE id = ?', args: [JSON.stringify(row.plan), row.id] });
          await w.audit({ actorId: null, action: 'revocation.narrowed', subjectType: 'revocation', subjectId: row.id, data: { dropped } });
        }
      }
      return row;
    },
    deps.notifier,
  );
}

/** Ends a job this process still holds; false when its lease passed to another process meanwhile (nothing is written). */
async function settle(
  w: WriteContext,
  row: RevocationRow,
  ownerId: string,
  state: 'done' | 'failed' | 'queued' | 'task',
  fields: { dueAt?: string; error?: string | null; reason?: FulfilmentReason | null; result?: unknown; taskId?: string } = {},
): Promise<boolean> {
  const finished = state === 'done' ? w.nowIso : null;
  const r = await w.tx.execute({
    sql: `UPDATE revocations SET state = ?, lease_owner = NULL, lease_until = NULL, due_at = COALESCE(?, due_at), last_error = ?,
            reason_code = ?, reason = ?, result = COALESCE(?, result), task_id = COALESCE(?, task_id), finished_at = ?, updated_at = ?
          WHERE id = ? AND lease_owner = ? AND state = 'running'`,
    args: [
      state,
      fields.dueAt ?? null,
      fields.error ?? null,
      fields.reason?.code ?? null,
      fields.reason?.message ?? null,
      fields.result === undefined ? null : JSON.stringify(fields.result),
      fields.taskId ?? null,
      finished,
      w.nowIso,
      row.id,
      ownerId,
    ],
  });
  return r.rowsAffected > 0;
}

class LeaseLost extends Error {}

async function connectionName(w: WriteContext, connectionId: string): Promise<string> {
  return (await connectionFacts(w.tx, connectionId)).name;
}

/**
 * What the CRM confirmed is recorded; what remains goes to an admin task (`failed`, or `task` when the
 * connection cannot be used at all).
 */
async function toTask(
  deps: RevocationJobDeps,
  row: RevocationRow,
  reason: FulfilmentReason,
  confirmed: { removed: PlannedAssignment[]; deactivated: boolean } = { removed: [], deactivated: false },
  state: 'failed' | 'task' = 'failed',
): Promise<'failed' | 'task' | 'lost'> {
  return runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      const remainder: RevocationPlan = {
        ...row.plan,
        assignments: row.plan.assignments.filter((a) => !confirmed.removed.includes(a)),
        deactivate: row.plan.deactivate && !confirmed.deactivated,
      };
      const { taskId } = await createRevocationTask(
        w,
        {
          id: row.id,
          connectionId: row.connectionId,
          connectionName: await connectionName(w, row.connectionId),
          cause: row.cause,
          context: row.context,
          dueAt: row.dueAt,
        },
        remainder,
        reason,
      );
      if (
        !(await settle(w, row, deps.ownerId, state, {
          error: reason.message,
          reason,
          taskId,
          result: { removed: confirmed.removed.map((a) => a.id), deactivated: confirmed.deactivated },
        }))
      )
        throw new LeaseLost();
      if (confirmed.removed.length > 0 || confirmed.deactivated) await recordRevoked(w, row, confirmed.removed, confirmed.deactivated, null, deps.findings);
      await w.audit({
        actorId: null,
        action: `revocation.${state}`,
        subjectType: 'revocation',
        subjectId: row.id,
        data: { taskId, reason: reason.code, message: reason.message },
      });
      return state;
    },
    deps.notifier,
  ).catch((e) => (e instanceof LeaseLost ? ('lost' as const) : Promise.reject(e)));
}

async function retry(deps: RevocationJobDeps, row: RevocationRow, reason: FulfilmentReason, afterMs?: number): Promise<'retry' | 'failed' | 'task' | 'lost'> {
  if (row.attempts >= MAX_ATTEMPTS) return toTask(deps, row, { code: 'gave-up', message: `Gave up after ${row.attempts} attempts: ${reason.message}` });
  const wait = Math.max(afterMs ?? 0, jobBackoffMs(row.attempts));
  return runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      const next = new Date(w.now.getTime() + wait).toISOString();
      if (!(await settle(w, row, deps.ownerId, 'queued', { dueAt: next, error: reason.message, reason }))) return 'lost' as const;
      await w.audit({
        actorId: null,
        action: 'revocation.retry',
        subjectType: 'revocation',
        subjectId: row.id,
        data: { attempts: row.attempts, reason: reason.code, message: reason.message, nextRunAt: next },
      });
      return 'retry' as const;
    },
    deps.notifier,
  );
}

/** Runs one claimed job to its next state. */
export async function runRevocation(deps: RevocationJobDeps, row: RevocationRow): Promise<'done' | 'failed' | 'task' | 'retry' | 'lost'> {
  const signal = deps.signal ?? new AbortController().signal;
  const opened = await openConnector(deps.db, deps.box, row.connectionId, { signal, now: deps.now, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  try {
    if (!opened.ok) return await toTask(deps, row, opened.reason, undefined, 'task');
    const client: CrmClient = opened.client;
    const user = row.plan.externalUserId;
    const refusals: string[] = [];

    const before = await client.holdings(user);
    const targets = before.filter((h) => row.plan.assignments.some((a) => holds(h, a)));
    if (targets.length > 0) {
      const outcomes = await client.revoke({
        userExternalId: user,
        assignments: targets.map((h) => ({ externalId: h.externalId, bundleExternalId: h.bundleExternalId })),
      });
      for (const o of outcomes) if (!o.ok) refusals.push(o.error.message);
    }
    const canDeactivate = typeof client.deactivateUser === 'function' && typeof client.userActive === 'function';
    if (row.plan.deactivate && canDeactivate && (await client.userActive!(user)) === true) {
      try {
        await client.deactivateUser!(user);
      } catch (error) {
        if (!(error instanceof CrmError) || error.kind !== 'refused') throw error;
        refusals.push(error.message);
      }
    }

    // Confirm by reading the CRM again: only what it shows counts (a user the CRM no longer has cannot sign in either).
    const remaining = stillHeld(await client.holdings(user), row.plan);
    const removed = row.plan.assignments.filter((a) => !remaining.includes(a));
    const deactivated = row.plan.deactivate && canDeactivate && (await client.userActive!(user)) !== true;
    if (remaining.length === 0 && (!row.plan.deactivate || deactivated)) {
      const ok = await runWrite(
        deps.db,
        deps.now(),
        async (w) => {
          if (!(await settle(w, row, deps.ownerId, 'done', { result: { removed: removed.map((a) => a.id), deactivated: row.plan.deactivate } })))
            throw new LeaseLost();
          await recordRevoked(w, row, removed, row.plan.deactivate, null, deps.findings);
          await w.audit({
            actorId: null,
            action: 'revocation.done',
            subjectType: 'revocation',
            subjectId: row.id,
            data: { removed: removed.map((a) => a.id), deactivated: row.plan.deactivate, confirmedBy: 'crm' },
          });
          return true;
        },
        deps.notifier,
      ).catch((e) => (e instanceof LeaseLost ? false : Promise.reject(e)));
      return ok ? 'done' : 'lost';
    }
    if (refusals.length > 0) return await toTask(deps, row, { code: 'crm-refused', message: refusals.join(' ') }, { removed, deactivated });
    if (row.plan.deactivate && !canDeactivate)
      return await toTask(
        deps,
        row,
        { code: 'cannot-deactivate', message: 'AccessLens cannot deactivate users in this CRM: an administrator does.' },
        { removed, deactivated: false },
      );
    return await retry(deps, row, {
      code: 'not-confirmed',
      message:
        remaining.length > 0
          ? `The CRM still shows ${remaining.map(assignmentName).join(', ')} for ${row.plan.username}.`
          : `The CRM still shows ${row.plan.username} as active.`,
    });
  } catch (error) {
    if (error instanceof CrmError) {
      if (error.kind === 'refused') return toTask(deps, row, { code: 'crm-refused', message: error.message });
      const code = error.kind === 'auth' ? 'needs-reauthorisation' : error.kind === 'rate-limited' ? 'rate-limited' : 'crm-unavailable';
      return retry(deps, row, { code, message: error.message }, error.retryAfterMs);
    }
    if (signal.aborted) throw error;
    return retry(deps, row, { code: 'crm-unavailable', message: error instanceof Error ? error.message : String(error) });
  }
}

/** A process stopping cleanly hands back the revocations it was running (the next attempt re-reads the CRM first). */
export async function releaseRevocations(db: Db, ownerId: string, now: Date): Promise<number> {
  return db.transaction(async (tx) => {
    const r = await tx.execute({
      sql: "UPDATE revocations SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE state = 'running' AND lease_owner = ?",
      args: [now.toISOString(), ownerId],
    });
    return r.rowsAffected;
  });
}

/**
 * An administrator marks a revocation's task done. Where the connector can read the CRM, AccessLens
 * checks first: what was to be removed must be gone, and a user to deactivate inactive (409
 * otherwise; the task stays open). Without a connector, the administrator's word is the confirmation.
 */
export async function completeRevocationTask(deps: TaskDeps, taskId: string, adminId: string, note: string | null): Promise<void> {
  const t = await deps.db.execute('SELECT status, details FROM admin_tasks WHERE id = ?', [taskId]);
  const task = t.rows[0];
  if (!task) throw refuse.notFound('task_not_found');
  if (String(task.status) !== 'open') throw refuse.conflict('task_not_open', { taskStatus: String(task.status) });
  const r = await deps.db.execute(`SELECT ${REVOCATION_COLUMNS} FROM revocations r WHERE r.task_id = ?`, [taskId]);
  if (!r.rows[0]) throw refuse.notFound('revocation_not_found');
  const row = revocationFromRow(r.rows[0]);
  // The task's plan: everything for a manual revocation, what remained for a failed one.
  const plan = (JSON.parse(String(task.details)) as { revocation: { plan: RevocationPlan } }).revocation.plan;

  let checked = false;
  const controller = new AbortController();
  const opened = await openConnector(deps.db, deps.box, row.connectionId, {
    signal: controller.signal,
    now: deps.now,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  if (opened.ok) {
    try {
      const still = stillHeld(await opened.client.holdings(plan.externalUserId), plan);
      if (still.length > 0) throw refuse.conflict('crm_still_holds', { assignments: still.map(assignmentName).join(', '), username: plan.username });
      if (plan.deactivate && opened.client.userActive && (await opened.client.userActive(plan.externalUserId)) === true)
        throw refuse.conflict('crm_user_still_active', { username: plan.username });
      checked = true;
    } catch (error) {
      if (!(error instanceof CrmError)) throw error;
      throw refuse.conflict('crm_unreadable', { message: error.message });
    }
  }

  await runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      const again = await w.tx.execute({ sql: 'SELECT status FROM admin_tasks WHERE id = ?', args: [taskId] });
      if (String(again.rows[0]?.status) !== 'open') throw refuse.conflict('task_completed_meanwhile');
      await recordRevoked(w, row, plan.assignments, plan.deactivate, adminId, deps.findings);
      await w.tx.execute({
        sql: "UPDATE revocations SET state = 'done', lease_owner = NULL, lease_until = NULL, finished_at = ?, updated_at = ? WHERE id = ? AND state IN ('task', 'failed')",
        args: [w.nowIso, w.nowIso, row.id],
      });
      await w.tx.execute({
        sql: "UPDATE admin_tasks SET status = 'done', done_at = ?, done_by = ?, note = ?, version = ? WHERE id = ?",
        args: [w.nowIso, adminId, note, await w.version(), taskId],
      });
      await w.audit({
        actorId: adminId,
        action: 'task.done',
        subjectType: 'task',
        subjectId: taskId,
        data: { kind: 'revoke', revocationId: row.id, note, checkedInCrm: checked },
      });
      await w.audit({
        actorId: adminId,
        action: 'revocation.done',
        subjectType: 'revocation',
        subjectId: row.id,
        data: { removed: plan.assignments.map((a) => a.id), deactivated: plan.deactivate, confirmedBy: checked ? 'crm' : 'administrator', taskId },
      });
    },
    deps.notifier,
  );
}
