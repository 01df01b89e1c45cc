/**
 * What the revocation planner and the revocation jobs share: the stored plan, what an account holds,
 * which of it lies outside the person's job baseline (asked of the engine, which decides that for
 * findings too), and recording a confirmed removal.
 */
import { randomUUID } from 'node:crypto';
import {
  DEFAULT_REVOCATION_POLICY,
  matchesFunction,
  OrgEngine,
  revocationReasonText,
  type BundleKind,
  type FulfilmentReason,
  type OrgPolicy,
  type Placement,
  type RevocationCause,
  type RevocationPolicy,
  type RequestFulfilment,
} from '@accesslens/shared';
import type { Transaction } from '../db.ts';
import type { FindingsService } from '../findings/service.ts';
import { CURRENT_POLICY_SQL, loadOrg, policyFromRows } from '../policy/load.ts';
import type { WriteContext } from '../write.ts';

/** One assignment to take out, as AccessLens and the CRM know it. */
export interface PlannedAssignment {
  id: string;
  externalId: string | null;
  bundleId: string | null;
  bundleExternalId: string | null;
  bundleName: string | null;
  bundleKind: BundleKind | null;
  key: string | null;
  requestId: string | null;
}

/** `revocations.plan`: what to take out of one CRM account. */
export interface RevocationPlan {
  personId: string;
  personName: string;
  accountId: string;
  externalUserId: string;
  username: string;
  assignments: PlannedAssignment[];
  /** Deactivate the CRM user too (departures and suspensions of an active account). */
  deactivate: boolean;
}

/** `revocations.context`: the reason, as planned. */
export interface RevocationContext {
  from: Placement;
  to: Placement;
  baselineIds: string[];
}

/** A revocation row as the jobs and the task completion read it. */
export interface RevocationRow {
  id: string;
  eventId: number;
  personId: string;
  connectionId: string;
  accountId: string;
  cause: RevocationCause;
  context: RevocationContext;
  mode: string;
  handling: 'automatic' | 'manual';
  plan: RevocationPlan;
  state: string;
  dueAt: string;
  attempts: number;
  taskId: string | null;
}

export const REVOCATION_COLUMNS =
  'r.id, r.event_id, r.person_id, r.connection_id, r.account_id, r.cause, r.context, r.mode, r.handling, r.plan, r.state, r.due_at, r.attempts, r.task_id';

export function revocationFromRow(r: Record<string, unknown>): RevocationRow {
  return {
    id: String(r.id),
    eventId: Number(r.event_id),
    personId: String(r.person_id),
    connectionId: String(r.connection_id),
    accountId: String(r.account_id),
    cause: String(r.cause) as RevocationCause,
    context: JSON.parse(String(r.context)) as RevocationContext,
    mode: String(r.mode),
    handling: String(r.handling) as RevocationRow['handling'],
    plan: JSON.parse(String(r.plan)) as RevocationPlan,
    state: String(r.state),
    dueAt: String(r.due_at),
    attempts: Number(r.attempts),
    taskId: r.task_id === null || r.task_id === undefined ? null : String(r.task_id),
  };
}

/** Kinds a user's standing comes with rather than being assigned beside it: only ever replaced, never removed. */
export const STANDING_KINDS: readonly BundleKind[] = ['profile', 'role'];

/** A name for an assignment in messages: its bundle, or its key. */
export const assignmentName = (a: PlannedAssignment) => (a.bundleName ? `${a.bundleName}` : (a.key ?? a.id));

/** Every assignment the account holds (not revoked), with its bundle's CRM id. */
export async function heldAssignments(tx: Transaction, accountId: string): Promise<PlannedAssignment[]> {
  const r = await tx.execute({
    sql: `SELECT a.id, a.external_id, a.bundle_id, a.permission_key, a.request_id, b.external_id AS bundle_external_id, b.name AS bundle_name, b.kind AS bundle_kind
          FROM assignments a LEFT JOIN bundles b ON b.id = a.bundle_id
          WHERE a.account_id = ? AND a.revoked_at IS NULL ORDER BY a.id`,
    args: [accountId],
  });
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return r.rows.map((x) => ({
    id: String(x.id),
    externalId: text(x.external_id),
    bundleId: text(x.bundle_id),
    bundleExternalId: text(x.bundle_external_id),
    bundleName: text(x.bundle_name),
    bundleKind: text(x.bundle_kind) as BundleKind | null,
    key: text(x.permission_key),
    requestId: text(x.request_id),
  }));
}

/** Requests among `ids` whose grant is in force: fulfilled and not yet at its end. */
export async function requestsInForce(tx: Transaction, ids: readonly (string | null)[], nowIso: string): Promise<Set<string>> {
  const list = [...new Set(ids.filter((x): x is string => x !== null))];
  if (list.length === 0) return new Set();
  const r = await tx.execute({
    sql: `SELECT id FROM requests WHERE id IN (${list.map(() => '?').join(', ')}) AND status = 'fulfilled' AND (expires_at IS NULL OR expires_at > ?)`,
    args: [...list, nowIso],
  });
  return new Set(r.rows.map((x) => String(x.id)));
}

/**
 * The engine, as this write transaction sees the org: this process's findings engine caught up with
 * it (which also keeps the findings table current), or — without one — an engine built for the call.
 */
export async function engineWithin(w: WriteContext, findings: FindingsService | undefined): Promise<OrgEngine> {
  if (findings) return findings.catchUpWithin(w);
  const { org } = await loadOrg(w.tx, w.now);
  return new OrgEngine(org, w.now);
}

/**
 * What of an account lies outside its person's job-function baseline, as the engine judges it for
 * its beyond-baseline findings: the assignments it names and their bundles. Nothing when no baseline
 * covers the person's job in that connection (nothing is known to be outside) or the person is not active.
 */
export function outsideBaseline(engine: OrgEngine, accountId: string): { assignmentIds: Set<string>; bundleIds: Set<string> } {
  const assignmentIds = new Set<string>();
  const bundleIds = new Set<string>();
  for (const f of engine.findingsOf(accountId)) {
    if (f.evidence.kind !== 'beyond-baseline') continue;
    for (const g of f.evidence.grantedBy) assignmentIds.add(g.assignmentId);
    for (const b of f.bundleIds) bundleIds.add(b);
  }
  return { assignmentIds, bundleIds };
}

/** The policy's baselines for a job function in one connection (what a move keeps). */
export function baselinesFor(policy: Pick<OrgPolicy, 'baselines'>, connectionId: string, job: { department: string; title: string }): string[] {
  return policy.baselines.filter((b) => b.connectionId === connectionId && matchesFunction(b.match, job)).map((b) => b.id);
}

/** The current policy's revocation setting and baselines (parsed once per stored document per process). */
let cachedPolicy: { text: string; revocations: RevocationPolicy; baselines: OrgPolicy['baselines'] } | null = null;
export async function currentRevocationPolicy(tx: Transaction): Promise<{ revocations: RevocationPolicy; baselines: OrgPolicy['baselines'] }> {
  const r = await tx.execute(CURRENT_POLICY_SQL);
  const text = r.rows[0] ? String(r.rows[0].document) : '';
  if (cachedPolicy?.text !== text) {
    const stored = policyFromRows(r.rows);
    cachedPolicy = { text, revocations: stored.document.revocations ?? DEFAULT_REVOCATION_POLICY, baselines: stored.document.baselines };
  }
  return cachedPolicy;
}

/** The reason in English, for admin task texts and the audit log (clients render `revocationReasonText` per language). */
export const reasonInEnglish = (cause: RevocationCause, context: RevocationContext) => revocationReasonText(cause, context.from, context.to, 'en');

/**
 * An admin task for what a person must take out by hand, in the shape the tasks API reads (`plan` as
 * for a fulfilment), with the revocation it completes.
 */
export async function createRevocationTask(
  w: WriteContext,
  row: { id: string; connectionId: string; connectionName: string; cause: RevocationCause; context: RevocationContext; dueAt: string },
  plan: RevocationPlan,
  why: FulfilmentReason,
): Promise<{ taskId: string; message: string }> {
  const taskId = `task-${randomUUID()}`;
  const names = plan.assignments.map(assignmentName);
  const what = [names.length > 0 ? `remove ${names.join(', ')}` : null, plan.deactivate ? 'deactivate the user' : null]
    .filter((x): x is string => x !== null)
    .join(' and ');
  const message = `${reasonInEnglish(row.cause, row.context)}. In ${row.connectionName}, ${what} for ${plan.username} (due ${row.dueAt}). ${why.message}`;
  const details = {
    plan: {
      requestId: null,
      requesterId: plan.personId,
      accountId: plan.accountId,
      personId: plan.personId,
      externalUserId: plan.externalUserId,
      username: plan.username,
      keys: plan.assignments.filter((a) => a.bundleId === null && a.key !== null).map((a) => a.key!),
      bundles: plan.assignments
        .filter((a) => a.bundleId !== null)
        .map((a) => ({ id: a.bundleId!, externalId: a.bundleExternalId, name: a.bundleName ?? a.bundleId!, kind: a.bundleKind ?? 'permissionSet' })),
      days: 0,
      assignments: plan.assignments.map((a) => ({ id: a.id, externalId: a.externalId, bundleId: a.bundleId })),
    },
    revocation: { id: row.id, cause: row.cause, context: row.context, dueAt: row.dueAt, deactivate: plan.deactivate, plan },
  };
  await w.tx.execute({
    sql: `INSERT INTO admin_tasks (id, kind, request_id, connection_id, job_id, reason_code, reason, details, status, created_at, version)
          VALUES (?, 'revoke', NULL, ?, NULL, ?, ?, ?, 'open', ?, ?)`,
    args: [taskId, row.connectionId, why.code, message, JSON.stringify(details), w.nowIso, await w.version()],
  });
  await w.audit({
    actorId: null,
    action: 'task.created',
    subjectType: 'task',
    subjectId: taskId,
    data: { kind: 'revoke', revocationId: row.id, reason: why.code, message },
  });
  return { taskId, message };
}

/**
 * The CRM no longer holds `removed` (and the user is deactivated, if `deactivated`): the assignments are
 * revoked (history kept), the account inactive, and a request whose whole grant is gone `revoked`.
 */
export async function recordRevoked(
  w: WriteContext,
  row: Pick<RevocationRow, 'id' | 'cause' | 'personId' | 'accountId'>,
  removed: readonly PlannedAssignment[],
  deactivated: boolean,
  actorId: string | null,
  findings: FindingsService | undefined,
): Promise<void> {
  const version = await w.version();
  for (const a of removed) {
    const r = await w.tx.execute({
      sql: 'UPDATE assignments SET revoked_at = ?, version = ? WHERE id = ? AND revoked_at IS NULL',
      args: [w.nowIso, version, a.id],
    });
    if (r.rowsAffected > 0)
      await w.audit({
        actorId,
        action: 'assignment.revoked',
        subjectType: 'assignment',
        subjectId: a.id,
        data: { revocationId: row.id, cause: row.cause, accountId: row.accountId, bundleId: a.bundleId, key: a.key, requestId: a.requestId },
      });
  }
  if (deactivated) {
    const r = await w.tx.execute({ sql: 'UPDATE crm_accounts SET active = 0, version = ? WHERE id = ? AND active = 1', args: [version, row.accountId] });
    if (r.rowsAffected > 0)
      await w.audit({
        actorId,
        action: 'account.deactivated',
        subjectType: 'account',
        subjectId: row.accountId,
        data: { revocationId: row.id, cause: row.cause },
      });
  }
  for (const requestId of new Set(removed.map((a) => a.requestId).filter((x): x is string => x !== null))) await endRequestGrant(w, requestId, row, actorId);
  w.affected.add(row.personId);
  // Removed as of now: the engine's clock moves to now too (it may lag by up to a minute), so the findings close at once.
  findings?.track(w, { advance: true });
}

/** A request none of whose assignments is left: `revoked`, its fulfilment `removed`; its expiry job is no longer needed. */
async function endRequestGrant(w: WriteContext, requestId: string, row: Pick<RevocationRow, 'id' | 'cause'>, actorId: string | null): Promise<void> {
  const left = await w.tx.execute({ sql: 'SELECT COUNT(*) AS n FROM assignments WHERE request_id = ? AND revoked_at IS NULL', args: [requestId] });
  if (Number(left.rows[0]!.n) > 0) return;
  const r = await w.tx.execute({ sql: 'SELECT status, fulfilment, requester_id FROM requests WHERE id = ?', args: [requestId] });
  const req = r.rows[0];
  if (!req || String(req.status) !== 'fulfilled') return;
  const prior = req.fulfilment === null ? null : (JSON.parse(String(req.fulfilment)) as RequestFulfilment);
  const fulfilment: RequestFulfilment | null = prior && {
    ...prior,
    state: 'removed',
    reason: null,
    nextAttemptAt: null,
    removedAt: w.nowIso,
    updatedAt: w.nowIso,
  };
  await w.tx.execute({
    sql: "UPDATE requests SET status = 'revoked', fulfilment = COALESCE(?, fulfilment), updated_at = ?, version = ? WHERE id = ?",
    args: [fulfilment ? JSON.stringify(fulfilment) : null, w.nowIso, await w.version(), requestId],
  });
  await w.tx.execute({
    sql: "UPDATE fulfilment_jobs SET state = 'cancelled', updated_at = ? WHERE request_id = ? AND action = 'revoke' AND state = 'queued'",
    args: [w.nowIso, requestId],
  });
  w.affected.add(String(req.requester_id));
  const approvers = await w.tx.execute({ sql: 'SELECT DISTINCT person_id FROM request_approvers WHERE request_id = ?', args: [requestId] });
  for (const a of approvers.rows) w.affected.add(String(a.person_id));
  await w.audit({
    actorId,
    action: 'request.revoked',
    subjectType: 'request',
    subjectId: requestId,
    data: { removedAt: w.nowIso, revocationId: row.id, cause: row.cause },
  });
}
