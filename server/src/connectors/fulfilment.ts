/**
 * Fulfilment: an approved request reaches the CRM, and leaves it at expiry.
 *
 * Approval writes a durable job (`fulfilment_jobs`, one per request and action: the idempotency key)
 * in the same transaction. A worker in any server process claims a due job atomically with a lease,
 * reads what the user holds in the CRM, writes only what is missing, and reads the CRM again: only a
 * confirmed grant makes the request `fulfilled`, and its expiry counts from then. Passing failures are
 * retried with backoff; a refusal, a read-only connection, a CRM without automatic change, or no bundle
 * granting the keys makes an admin task instead, done when an administrator marks it.
 *
 * At expiry, a revoke job (or task) removes the grant; the request becomes `expired` once the CRM no
 * longer holds it. Every step is on the request's `fulfilment` (shared `requestFulfilment`), so the
 * requester and the approvers follow it through sync.
 */
import { randomUUID } from 'node:crypto';
import type { AccessRequest, BundleKind, CrmKind, FulfilmentReason, PageContext, RequestFulfilment } from '@accesslens/shared';
import type { Db, Transaction } from '../db.ts';
import { refuse } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Notifier } from '../notifier.ts';
import type { SecretBox } from '../secrets.ts';
import { DAY_MS } from '../mutations/requests.ts';
import { runWrite, type WriteContext } from '../write.ts';
import { insertRows } from '../db-bulk.ts';
import { openConnector, type Opened } from './connections.ts';
import { connectorFor } from './registry.ts';
import { signalWork } from './signal.ts';
import { CrmError, type CrmHolding } from './types.ts';
import { grantChanged } from '../lifecycle/grants.ts';
import { completeRevocationTask } from '../revocations/jobs.ts';

/** Automatic attempts before a job becomes an admin task. */
export const MAX_ATTEMPTS = 8;
export const DEFAULT_JOB_LEASE_MS = 2 * 60_000;

/** What a job does, stored with it. */
export interface JobPlan {
  requestId: string;
  requesterId: string;
  accountId: string;
  personId: string;
  externalUserId: string;
  username: string;
  keys: string[];
  /** Grant: the bundles to assign. Revoke: the bundles held for the request. */
  bundles: { id: string; externalId: string | null; name: string; kind: BundleKind }[];
  /** Grant: how long, from confirmation. */
  days: number;
  /** Revoke: the request's assignments (our ids and the CRM's). */
  assignments?: { id: string; externalId: string | null; bundleId: string | null }[];
  /**
   * CRMs where a user holds exactly one bundle of a kind (connector `exclusiveKinds`: a Zoho profile):
   * what the grant replaces — from AccessLens's records at approval, then from the CRM just before the
   * write. The revocation's plan carries it to put back. `id`: AccessLens's assignment of it, if any.
   */
  replaced?: ReplacedBundle[];
}

export interface ReplacedBundle {
  id: string | null;
  bundleId: string;
  externalId: string | null;
  name: string;
  kind: BundleKind;
}

// ---------- the request's visible state ----------

export function initialFulfilment(plan: JobPlan, mode: 'automatic' | 'task', reason: FulfilmentReason | null, nowIso: string): RequestFulfilment {
  return {
    state: mode === 'automatic' ? 'queued' : 'admin-task',
    mode,
    bundles: plan.bundles.map((b) => ({ id: b.id, name: b.name, kind: b.kind })),
    attempts: 0,
    reason,
    nextAttemptAt: null,
    confirmedAt: null,
    removedAt: null,
    doneBy: null,
    problem: null,
    updatedAt: nowIso,
  };
}

async function readFulfilment(
  tx: Transaction,
  requestId: string,
): Promise<{ fulfilment: RequestFulfilment | null; requesterId: string; status: string; expiresAt: string | null } | null> {
  const r = await tx.execute({ sql: 'SELECT fulfilment, requester_id, status, expires_at FROM requests WHERE id = ?', args: [requestId] });
  const row = r.rows[0];
  if (!row) return null;
  return {
    fulfilment: row.fulfilment === null ? null : (JSON.parse(String(row.fulfilment)) as RequestFulfilment),
    requesterId: String(row.requester_id),
    status: String(row.status),
    expiresAt: row.expires_at === null ? null : String(row.expires_at),
  };
}

/** Writes the request's fulfilment (and more columns) at this write's sync version; pokes requester and approvers. */
async function touchRequest(
  w: WriteContext,
  requestId: string,
  change: (f: RequestFulfilment | null) => RequestFulfilment,
  columns: Record<string, string | null> = {},
): Promise<RequestFulfilment> {
  const current = await readFulfilment(w.tx, requestId);
  if (!current) throw refuse.notFound('request_not_found');
  const next = { ...change(current.fulfilment), updatedAt: w.nowIso };
  const sets = Object.keys(columns);
  await w.tx.execute({
    sql: `UPDATE requests SET fulfilment = ?, ${sets.map((c) => `${c} = ?, `).join('')}updated_at = ?, version = ? WHERE id = ?`,
    args: [JSON.stringify(next), ...sets.map((c) => columns[c]!), w.nowIso, await w.version(), requestId],
  });
  w.affected.add(current.requesterId);
  const approvers = await w.tx.execute({ sql: 'SELECT DISTINCT person_id FROM request_approvers WHERE request_id = ?', args: [requestId] });
  for (const a of approvers.rows) w.affected.add(String(a.person_id));
  return next;
}

// ---------- choosing what to assign ----------

interface BundleRow {
  id: string;
  externalId: string | null;
  name: string;
  kind: BundleKind;
  /** Every key it grants, through what it includes too. */
  keys: Set<string>;
}

/**
 * The smallest set of assignable bundles granting every key: one bundle when one suffices (the one
 * granting the fewest keys beyond those asked), else a greedy cover. Null when no cover exists.
 */
export function smallestCover(bundles: BundleRow[], keys: string[]): BundleRow[] | null {
  const wanted = new Set(keys);
  const single = bundles
    .filter((b) => keys.every((k) => b.keys.has(k)))
    .sort((a, b) => a.keys.size - b.keys.size || a.name.localeCompare(b.name) || a.id.localeCompare(b.id))[0];
  if (single) return [single];
  const chosen: BundleRow[] = [];
  const left = new Set(wanted);
  while (left.size > 0) {
    let best: BundleRow | null = null;
    let bestHits = 0;
    for (const b of bundles) {
      let hits = 0;
      for (const k of left) if (b.keys.has(k)) hits++;
      if (hits > bestHits || (hits === bestHits && hits > 0 && best && b.keys.size < best.keys.size)) {
        best = b;
        bestHits = hits;
      }
    }
    if (!best) return null;
    chosen.push(best);
    for (const k of best.keys) left.delete(k);
  }
  return chosen;
}

async function assignableBundles(tx: Transaction, connectionId: string, kinds: readonly BundleKind[]): Promise<BundleRow[]> {
  const rows = await tx.execute({
    sql: `SELECT b.id, b.external_id, b.name, b.kind, b.removed_at,
            (SELECT json_group_array(key) FROM bundle_permissions WHERE bundle_id = b.id) AS permissions,
            (SELECT json_group_array(included_id) FROM bundle_includes WHERE bundle_id = b.id) AS includes
          FROM bundles b WHERE b.connection_id = ?`,
    args: [connectionId],
  });
  const all = new Map(
    rows.rows.map((r) => [
      String(r.id),
      {
        id: String(r.id),
        externalId: r.external_id === null ? null : String(r.external_id),
        name: String(r.name),
        kind: String(r.kind) as BundleKind,
        removed: r.removed_at !== null,
        permissions: JSON.parse(String(r.permissions)) as string[],
        includes: JSON.parse(String(r.includes)) as string[],
      },
    ]),
  );
  const closure = (id: string, seen = new Set<string>()): Set<string> => {
    const out = new Set<string>();
    if (seen.has(id)) return out;
    seen.add(id);
    const b = all.get(id);
    if (!b) return out;
    for (const k of b.permissions) out.add(k);
    for (const inc of b.includes) for (const k of closure(inc, seen)) out.add(k);
    return out;
  };
  return [...all.values()]
    .filter((b) => !b.removed && kinds.includes(b.kind))
    .map((b) => ({ id: b.id, externalId: b.externalId, name: b.name, kind: b.kind, keys: closure(b.id) }));
}

/** Kinds a fulfilment may assign, when the kind has no connector to say. */
const DEFAULT_ASSIGNABLE: readonly BundleKind[] = ['permissionSet', 'permissionSetGroup', 'securityRole', 'team', 'role'];

export function assignableKinds(kind: string): readonly BundleKind[] {
  const def = connectorFor(kind as CrmKind);
  if (!def) return DEFAULT_ASSIGNABLE;
  if (def.assignableKinds) return def.assignableKinds;
  return def.replacesWholeProfile ? ['profile', 'role'] : ['permissionSet', 'permissionSetGroup', 'securityRole', 'team'];
}

// ---------- deciding how ----------

export interface ConnectionFacts {
  id: string;
  name: string;
  kind: string;
  mode: string;
  enabled: boolean;
  automaticChange: boolean;
  hasCredentials: boolean;
}

export async function connectionFacts(tx: Transaction, connectionId: string): Promise<ConnectionFacts> {
  const r = await tx.execute({
    sql: `SELECT c.id, c.name, c.kind, c.mode, c.enabled, c.automatic_change,
            EXISTS (SELECT 1 FROM connection_secrets s WHERE s.connection_id = c.id AND s.purpose = 'credentials') AS has_credentials
          FROM crm_connections c WHERE c.id = ?`,
    args: [connectionId],
  });
  const row = r.rows[0]!;
  return {
    id: String(row.id),
    name: String(row.name),
    kind: String(row.kind),
    mode: String(row.mode),
    enabled: Number(row.enabled) === 1,
    automaticChange: Number(row.automatic_change) === 1,
    hasCredentials: Number(row.has_credentials) === 1,
  };
}

/** Why this change needs a person, or null when the connector can make it (`plan` is read for grants only). */
export function whyManual(c: ConnectionFacts, plan: JobPlan | null, action: 'grant' | 'revoke'): FulfilmentReason | null {
  if (!c.enabled) return { code: 'disabled', message: `The connection ${c.name} is disabled.` };
  const def = connectorFor(c.kind as CrmKind);
  if (!def || !def.canProvision) return { code: 'no-connector', message: `AccessLens cannot change ${c.kind} access automatically yet.` };
  if (c.mode === 'read-only') return { code: 'read-only', message: `The connection ${c.name} is read-only: an administrator makes changes by hand.` };
  if (def.replacesWholeProfile && !c.automaticChange)
    return {
      code: 'no-automatic-change',
      message: `${c.name} grants only by replacing the user's whole profile or role, and automatic change is off for this connection.`,
    };
  if (!c.hasCredentials) return { code: 'no-credentials', message: `The connection ${c.name} has no credentials.` };
  if (action === 'grant' && plan) {
    if (plan.bundles.length === 0)
      return { code: 'no-bundle', message: `No assignable bundle in ${c.name} grants ${plan.keys.join(', ')}: an administrator grants it by hand.` };
    const unlinked = plan.bundles.filter((b) => b.externalId === null);
    if (unlinked.length > 0)
      return { code: 'no-bundle', message: `${unlinked.map((b) => b.name).join(', ')} is not linked to ${c.name} yet (import the connection first).` };
  }
  return null;
}

async function createTask(
  w: WriteContext,
  kind: 'grant' | 'revoke' | 'problem',
  plan: JobPlan,
  connectionId: string,
  jobId: string | null,
  reason: FulfilmentReason,
  details: Record<string, unknown> = {},
): Promise<string> {
  const id = `task-${randomUUID()}`;
  await w.tx.execute({
    sql: `INSERT INTO admin_tasks (id, kind, request_id, connection_id, job_id, reason_code, reason, details, status, created_at, version)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)`,
    args: [id, kind, plan.requestId, connectionId, jobId, reason.code, reason.message, JSON.stringify({ plan, ...details }), w.nowIso, await w.version()],
  });
  await w.audit({
    actorId: null,
    action: 'task.created',
    subjectType: 'task',
    subjectId: id,
    data: { kind, requestId: plan.requestId, reason: reason.code, message: reason.message },
  });
  return id;
}

async function buildPlan(w: WriteContext, request: GrantRequest, days: number, kind: string): Promise<JobPlan> {
  const { tx } = w;
  const acct = await tx.execute({ sql: 'SELECT person_id, external_user_id, username FROM crm_accounts WHERE id = ?', args: [request.accountId] });
  const assignable = await w.memo(`assignable:${request.connectionId}:${kind}`, () => assignableBundles(tx, request.connectionId, assignableKinds(kind)));
  return planFor(tx, request, days, kind, acct.rows[0]!, assignable);
}

/**
 * The grant plan of a request: its account, the bundles to assign (the one asked for, else the smallest
 * cover) and — on CRMs where a user holds one bundle of a kind — what granting them replaces. `covers` keeps
 * the covers already chosen for the same bundle list (many requests of one bulk decision ask for the same keys).
 */
async function planFor(
  tx: Transaction,
  request: GrantRequest,
  days: number,
  kind: string,
  a: Record<string, unknown>,
  assignable: BundleRow[],
  covers?: Map<string, BundleRow[]>,
): Promise<JobPlan> {
  // A request for a whole bundle assigns that bundle (when it can be assigned), else the smallest cover.
  const asked = request.bundleId ? assignable.find((b) => b.id === request.bundleId) : undefined;
  let cover = asked ? [asked] : undefined;
  if (!cover) {
    const key = JSON.stringify([...request.permissions].sort());
    cover = covers?.get(key);
    if (!cover) {
      cover = smallestCover(assignable, request.permissions) ?? [];
      covers?.set(key, cover);
    }
  }
  const bundles = cover.map((b) => ({ id: b.id, externalId: b.externalId, name: b.name, kind: b.kind }));
  const exclusive = connectorFor(kind as CrmKind)?.exclusiveKinds;
  return {
    requestId: request.id,
    requesterId: request.requesterId,
    accountId: request.accountId,
    personId: String(a.person_id),
    externalUserId: String(a.external_user_id),
    username: String(a.username),
    keys: request.permissions,
    bundles,
    days,
    ...(exclusive ? { replaced: await replacedOnRecord(tx, request.accountId, bundles, exclusive) } : {}),
  };
}

/** Why a grant needs an administrator (null: automatic), saying what it replaces on whole-profile CRMs. */
function grantManual(facts: ConnectionFacts, plan: JobPlan): FulfilmentReason | null {
  const manual = whyManual(facts, plan, 'grant');
  const replaced = plan.replaced ?? [];
  if (manual && replaced.length > 0)
    return {
      ...manual,
      message: `${manual.message} Granting it replaces what ${plan.username} holds now: ${replaced.map((r) => `${r.name} (${r.kind})`).join(', ')}.`,
    };
  return manual;
}

/** Kinds of `bundles` a user holds only one of: granting one of those replaces what the user holds of it. */
const replacingKinds = (bundles: { kind: BundleKind }[], exclusive: readonly BundleKind[]) =>
  [...new Set(bundles.map((b) => b.kind))].filter((k) => exclusive.includes(k));

/** What the account holds, by AccessLens's records, that granting `bundles` would replace. */
async function replacedOnRecord(
  tx: Transaction,
  accountId: string,
  bundles: { id: string; kind: BundleKind }[],
  exclusive: readonly BundleKind[],
): Promise<ReplacedBundle[]> {
  const kinds = replacingKinds(bundles, exclusive);
  if (kinds.length === 0) return [];
  const r = await tx.execute({
    sql: `SELECT a.id, a.bundle_id, b.external_id, b.name, b.kind FROM assignments a JOIN bundles b ON b.id = a.bundle_id
          WHERE a.account_id = ? AND a.revoked_at IS NULL AND a.target_type = 'bundle'
            AND b.kind IN (SELECT value FROM json_each(?)) AND a.bundle_id NOT IN (SELECT value FROM json_each(?))
          ORDER BY a.granted_at, a.id`,
    args: [accountId, JSON.stringify(kinds), JSON.stringify(bundles.map((b) => b.id))],
  });
  return r.rows.map((x) => ({
    id: String(x.id),
    bundleId: String(x.bundle_id),
    externalId: x.external_id === null ? null : String(x.external_id),
    name: String(x.name),
    kind: String(x.kind) as BundleKind,
  }));
}

/** What the CRM shows the user holding, just before the write, that the grant will replace. */
async function replacedInCrm(db: Db, job: ClaimedJob, holdings: CrmHolding[], exclusive: readonly BundleKind[]): Promise<ReplacedBundle[]> {
  const kinds = replacingKinds(job.plan.bundles, exclusive);
  const granted = new Set(job.plan.bundles.map((b) => b.externalId));
  const others = holdings.filter((h) => !granted.has(h.bundleExternalId));
  if (kinds.length === 0 || others.length === 0) return [];
  const r = await db.execute(
    `SELECT b.id, b.external_id, b.name, b.kind,
       (SELECT a.id FROM assignments a WHERE a.account_id = ? AND a.bundle_id = b.id AND a.revoked_at IS NULL ORDER BY a.id LIMIT 1) AS assignment_id
     FROM bundles b WHERE b.connection_id = ? AND b.external_id IN (SELECT value FROM json_each(?)) AND b.kind IN (SELECT value FROM json_each(?))`,
    [job.plan.accountId, job.connectionId, JSON.stringify(others.map((h) => h.bundleExternalId)), JSON.stringify(kinds)],
  );
  return r.rows.map((x) => ({
    id: x.assignment_id === null ? null : String(x.assignment_id),
    bundleId: String(x.id),
    externalId: String(x.external_id),
    name: String(x.name),
    kind: String(x.kind) as BundleKind,
  }));
}

/** For an admin task removing a grant that replaced something: what to put back. */
function restoreNote(plan: JobPlan): string {
  const replaced = plan.replaced ?? [];
  return replaced.length === 0 ? '' : ` Put back what the grant replaced: ${replaced.map((r) => `${r.name} (${r.kind})`).join(', ')}.`;
}

/**
 * In the approving transaction: the durable grant job (automatic) or an admin task, and the request's
 * fulfilment. The request stays `approved` until the CRM confirms.
 */
/** What a grant needs of its request; `bundleId` for a request of a whole bundle. */
export type GrantRequest = Pick<AccessRequest, 'id' | 'requesterId' | 'accountId' | 'permissions' | 'connectionId'> & { bundleId?: string | null };

export async function queueGrant(w: WriteContext, request: GrantRequest, days: number): Promise<RequestFulfilment> {
  const facts = await w.memo(`facts:${request.connectionId}`, () => connectionFacts(w.tx, request.connectionId));
  const plan = await buildPlan(w, request, days, facts.kind);
  const manual = grantManual(facts, plan);
  const jobId = `job-${randomUUID()}`;
  await w.tx.execute({
    sql: `INSERT INTO fulfilment_jobs (id, idempotency_key, request_id, connection_id, action, plan, state, attempts, next_run_at, created_at, updated_at)
          VALUES (?, ?, ?, ?, 'grant', ?, ?, 0, ?, ?, ?)`,
    args: [jobId, `${request.id}:grant`, request.id, request.connectionId, JSON.stringify(plan), manual ? 'task' : 'queued', w.nowIso, w.nowIso, w.nowIso],
  });
  if (manual) await createTask(w, 'grant', plan, request.connectionId, jobId, manual);
  else w.afterCommit(signalWork);
  const fulfilment = initialFulfilment(plan, manual ? 'task' : 'automatic', manual, w.nowIso);
  await touchRequest(w, request.id, () => fulfilment);
  await w.audit({
    actorId: null,
    action: manual ? 'fulfilment.task' : 'fulfilment.queued',
    subjectType: 'request',
    subjectId: request.id,
    data: { jobId, bundles: plan.bundles.map((b) => b.id), days, reason: manual?.code ?? null },
  });
  return fulfilment;
}

/**
 * `queueGrant` for many approved requests at once (an approver's bulk decision): the same jobs, admin tasks
 * and audit events, written with multi-row inserts. Returns each request's fulfilment; the caller writes it
 * on the request (and pokes its people).
 */
export async function queueGrants(w: WriteContext, list: readonly { request: GrantRequest; days: number }[]): Promise<Map<string, RequestFulfilment>> {
  const out = new Map<string, RequestFulfilment>();
  if (list.length === 0) return out;
  const accountIds = [...new Set(list.map((l) => l.request.accountId))];
  const accounts = await w.tx.execute({
    sql: 'SELECT id, person_id, external_user_id, username FROM crm_accounts WHERE id IN (SELECT value FROM json_each(?))',
    args: [JSON.stringify(accountIds)],
  });
  const accountOf = new Map(accounts.rows.map((r) => [String(r.id), r] as const));
  const version = await w.version();
  const jobs: (string | number | null)[][] = [];
  const tasks: (string | number | null)[][] = [];
  let automatic = false;
  const coversOf = new Map<BundleRow[], Map<string, BundleRow[]>>();
  for (const { request, days } of list) {
    const facts = await w.memo(`facts:${request.connectionId}`, () => connectionFacts(w.tx, request.connectionId));
    const assignable = await w.memo(`assignable:${request.connectionId}:${facts.kind}`, () =>
      assignableBundles(w.tx, request.connectionId, assignableKinds(facts.kind)),
    );
    const covers = coversOf.get(assignable) ?? new Map<string, BundleRow[]>();
    coversOf.set(assignable, covers);
    const plan = await planFor(w.tx, request, days, facts.kind, accountOf.get(request.accountId)!, assignable, covers);
    const manual = grantManual(facts, plan);
    const jobId = `job-${randomUUID()}`;
    jobs.push([
      jobId,
      `${request.id}:grant`,
      request.id,
      request.connectionId,
      'grant',
      JSON.stringify(plan),
      manual ? 'task' : 'queued',
      0,
      w.nowIso,
      w.nowIso,
      w.nowIso,
    ]);
    if (manual) {
      const taskId = `task-${randomUUID()}`;
      tasks.push([taskId, 'grant', request.id, request.connectionId, jobId, manual.code, manual.message, JSON.stringify({ plan }), 'open', w.nowIso, version]);
      await w.audit({
        actorId: null,
        action: 'task.created',
        subjectType: 'task',
        subjectId: taskId,
        data: { kind: 'grant', requestId: request.id, reason: manual.code, message: manual.message },
      });
    } else automatic = true;
    out.set(request.id, initialFulfilment(plan, manual ? 'task' : 'automatic', manual, w.nowIso));
    await w.audit({
      actorId: null,
      action: manual ? 'fulfilment.task' : 'fulfilment.queued',
      subjectType: 'request',
      subjectId: request.id,
      data: { jobId, bundles: plan.bundles.map((b) => b.id), days, reason: manual?.code ?? null },
    });
  }
  await insertRows(
    w.tx,
    'fulfilment_jobs',
    ['id', 'idempotency_key', 'request_id', 'connection_id', 'action', 'plan', 'state', 'attempts', 'next_run_at', 'created_at', 'updated_at'],
    jobs,
  );
  await insertRows(
    w.tx,
    'admin_tasks',
    ['id', 'kind', 'request_id', 'connection_id', 'job_id', 'reason_code', 'reason', 'details', 'status', 'created_at', 'version'],
    tasks,
  );
  if (automatic) w.afterCommit(signalWork);
  return out;
}

/** At expiry (or an early revocation): the revoke job or task; the request shows "removing". */
export async function queueRevoke(w: WriteContext, requestId: string): Promise<void> {
  const r = await w.tx.execute({ sql: 'SELECT id, requester_id, account_id, connection_id, permissions FROM requests WHERE id = ?', args: [requestId] });
  const row = r.rows[0];
  if (!row) return;
  const facts = await connectionFacts(w.tx, String(row.connection_id));
  const held = await w.tx.execute({
    sql: `SELECT a.id, a.external_id, a.bundle_id, b.name, b.kind, b.external_id AS bundle_external_id FROM assignments a
          LEFT JOIN bundles b ON b.id = a.bundle_id WHERE a.request_id = ? AND a.revoked_at IS NULL`,
    args: [requestId],
  });
  const acct = await w.tx.execute({ sql: 'SELECT person_id, external_user_id, username FROM crm_accounts WHERE id = ?', args: [String(row.account_id)] });
  const a = acct.rows[0]!;
  const plan: JobPlan = {
    requestId,
    requesterId: String(row.requester_id),
    accountId: String(row.account_id),
    personId: String(a.person_id),
    externalUserId: String(a.external_user_id),
    username: String(a.username),
    keys: JSON.parse(String(row.permissions)) as string[],
    bundles: held.rows
      .filter((h) => h.bundle_id !== null)
      .map((h) => ({
        id: String(h.bundle_id),
        externalId: h.bundle_external_id === null ? null : String(h.bundle_external_id),
        name: String(h.name),
        kind: String(h.kind) as BundleKind,
      })),
    days: 0,
    assignments: held.rows.map((h) => ({
      id: String(h.id),
      externalId: h.external_id === null ? null : String(h.external_id),
      bundleId: h.bundle_id === null ? null : String(h.bundle_id),
    })),
  };
  // Whole-profile CRMs: what the grant replaced goes back at removal (kept on the grant's job).
  const grantJob = await w.tx.execute({ sql: 'SELECT plan FROM fulfilment_jobs WHERE idempotency_key = ?', args: [`${requestId}:grant`] });
  const replaced = grantJob.rows[0] ? (JSON.parse(String(grantJob.rows[0].plan)) as JobPlan).replaced : undefined;
  if (replaced && replaced.length > 0) plan.replaced = replaced;
  let manual = whyManual(facts, plan, 'revoke');
  if (!manual && plan.assignments!.some((x) => x.bundleId === null))
    manual = { code: 'no-bundle', message: 'The grant was recorded by permission, not by a CRM bundle: an administrator removes it by hand.' };
  const exclusive = connectorFor(facts.kind as CrmKind)?.exclusiveKinds ?? [];
  if (!manual && replacingKinds(plan.bundles, exclusive).length > 0 && (plan.replaced ?? []).every((r) => r.externalId === null))
    manual = {
      code: 'no-bundle',
      message: `AccessLens does not know what ${plan.username} held before this grant replaced it: an administrator chooses what to put back.`,
    };
  if (manual) manual = { ...manual, message: manual.message + restoreNote(plan) };
  const jobId = `job-${randomUUID()}`;
  const inserted = await w.tx.execute({
    sql: `INSERT OR IGNORE INTO fulfilment_jobs (id, idempotency_key, request_id, connection_id, action, plan, state, attempts, next_run_at, created_at, updated_at)
          VALUES (?, ?, ?, ?, 'revoke', ?, ?, 0, ?, ?, ?)`,
    args: [jobId, `${requestId}:revoke`, requestId, facts.id, JSON.stringify(plan), manual ? 'task' : 'queued', w.nowIso, w.nowIso, w.nowIso],
  });
  if (inserted.rowsAffected === 0) return; // already queued
  if (manual) await createTask(w, 'revoke', plan, facts.id, jobId, manual);
  else w.afterCommit(signalWork);
  await touchRequest(w, requestId, (f) => ({
    ...(f ?? initialFulfilment(plan, manual ? 'task' : 'automatic', null, w.nowIso)),
    state: 'removing',
    mode: manual ? 'task' : 'automatic',
    reason: manual,
    attempts: 0,
    nextAttemptAt: null,
  }));
  await w.audit({
    actorId: null,
    action: manual ? 'revocation.task' : 'revocation.queued',
    subjectType: 'request',
    subjectId: requestId,
    data: { jobId, reason: manual?.code ?? null },
  });
}

// ---------- recording outcomes ----------

/**
 * The CRM holds the grant: the request's assignments (one per bundle, with the CRM's id when known),
 * `fulfilled`, and its expiry counted from now.
 */
async function recordGranted(
  w: WriteContext,
  plan: JobPlan,
  held: { bundleId: string | null; externalId: string | null }[],
  actorId: string | null,
  findings: FindingsService | undefined,
  /** Bundles (external ids) the CRM shows the user holding now; null when it could not be read. */
  crmHolds: Set<string> | null = null,
): Promise<void> {
  const version = await w.version();
  // Whole-profile CRMs: what the grant replaced is no longer held (unless the CRM still shows it).
  for (const r of plan.replaced ?? []) {
    if (r.id === null || (crmHolds && r.externalId !== null && crmHolds.has(r.externalId))) continue;
    const gone = await w.tx.execute({
      sql: 'UPDATE assignments SET revoked_at = ?, version = ? WHERE id = ? AND revoked_at IS NULL',
      args: [w.nowIso, version, r.id],
    });
    if (gone.rowsAffected > 0)
      await w.audit({
        actorId,
        action: 'assignment.replaced',
        subjectType: 'assignment',
        subjectId: r.id,
        data: { requestId: plan.requestId, accountId: plan.accountId, bundleId: r.bundleId, by: plan.bundles.map((b) => b.id) },
      });
  }
  const grantedAt = w.nowIso;
  const expiresAt = new Date(w.now.getTime() + plan.days * DAY_MS).toISOString();
  const targets = held.length > 0 ? held : plan.keys.map(() => ({ bundleId: null, externalId: null }));
  for (const [i, h] of targets.entries()) {
    // The CRM's assignment may already be on record (found by an import): it becomes this request's.
    const existing = h.externalId
      ? await w.tx.execute({ sql: 'SELECT id FROM assignments WHERE external_id = ? AND revoked_at IS NULL LIMIT 1', args: [h.externalId] })
      : null;
    const adopt = existing?.rows[0] ? String(existing.rows[0].id) : null;
    const assignmentId = adopt ?? `asg-${randomUUID()}`;
    if (adopt)
      await w.tx.execute({
        sql: "UPDATE assignments SET source = 'request', request_id = ?, granted_at = ?, expires_at = ?, outside_process = 0, version = ? WHERE id = ?",
        args: [plan.requestId, grantedAt, expiresAt, version, adopt],
      });
    else if (h.bundleId)
      await w.tx.execute({
        sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version, external_id)
              VALUES (?, ?, 'bundle', ?, NULL, 'request', ?, ?, ?, NULL, ?, ?)`,
        args: [assignmentId, plan.accountId, h.bundleId, plan.requestId, grantedAt, expiresAt, version, h.externalId],
      });
    else
      await w.tx.execute({
        sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version)
              VALUES (?, ?, 'permission', NULL, ?, 'request', ?, ?, ?, NULL, ?)`,
        args: [assignmentId, plan.accountId, plan.keys[i]!, plan.requestId, grantedAt, expiresAt, version],
      });
    await w.audit({
      actorId,
      action: 'grant.created',
      subjectType: 'assignment',
      subjectId: assignmentId,
      data: {
        accountId: plan.accountId,
        requestId: plan.requestId,
        bundleId: h.bundleId,
        key: h.bundleId ? null : plan.keys[i],
        externalId: h.externalId,
        grantedAt,
        expiresAt,
        adopted: adopt !== null,
      },
    });
  }
  await touchRequest(
    w,
    plan.requestId,
    (f) => ({ ...(f ?? initialFulfilment(plan, 'automatic', null, w.nowIso)), state: 'active', reason: null, nextAttemptAt: null, confirmedAt: grantedAt }),
    { status: 'fulfilled', granted_at: grantedAt, expires_at: expiresAt },
  );
  await w.audit({
    actorId,
    action: 'request.fulfilled',
    subjectType: 'request',
    subjectId: plan.requestId,
    data: { grantedAt, expiresAt, bundles: held.map((h) => h.bundleId) },
  });
  await grantChanged(w, plan.requestId, 'fulfilled', expiresAt);
  findings?.track(w);
}

/** The CRM no longer holds the grant: its assignments are revoked and the request is `expired` (or `revoked` before its end). */
async function recordRemoved(
  w: WriteContext,
  plan: JobPlan,
  actorId: string | null,
  findings: FindingsService | undefined,
  /** What the CRM shows the user holding now; null when it could not be read (the administrator's word). */
  holdings: CrmHolding[] | null = null,
): Promise<void> {
  const version = await w.version();
  const req = await readFulfilment(w.tx, plan.requestId);
  const ids = (plan.assignments ?? []).map((a) => a.id);
  for (const id of ids) {
    const r = await w.tx.execute({
      sql: 'UPDATE assignments SET revoked_at = ?, version = ? WHERE id = ? AND revoked_at IS NULL',
      args: [w.nowIso, version, id],
    });
    if (r.rowsAffected > 0) await w.audit({ actorId, action: 'grant.removed', subjectType: 'assignment', subjectId: id, data: { requestId: plan.requestId } });
  }
  // Whole-profile CRMs: what the grant had replaced is held again (the next import then finds it on record).
  for (const r of plan.replaced ?? []) {
    const holding = holdings ? holdings.find((h) => h.bundleExternalId === r.externalId) : null;
    if (holdings && !holding) continue;
    const open = await w.tx.execute({
      sql: 'SELECT 1 FROM assignments WHERE account_id = ? AND bundle_id = ? AND revoked_at IS NULL LIMIT 1',
      args: [plan.accountId, r.bundleId],
    });
    if (open.rows[0]) continue;
    const id = `asg-${randomUUID()}`;
    await w.tx.execute({
      sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version, external_id)
            VALUES (?, ?, 'bundle', ?, NULL, 'directory', NULL, ?, NULL, NULL, ?, ?)`,
      args: [id, plan.accountId, r.bundleId, w.nowIso, version, holding?.externalId ?? null],
    });
    await w.audit({
      actorId,
      action: 'assignment.restored',
      subjectType: 'assignment',
      subjectId: id,
      data: { requestId: plan.requestId, accountId: plan.accountId, bundleId: r.bundleId, externalId: holding?.externalId ?? null },
    });
  }
  const status = req?.expiresAt && req.expiresAt <= w.nowIso ? 'expired' : 'revoked';
  await touchRequest(
    w,
    plan.requestId,
    (f) => ({ ...(f ?? initialFulfilment(plan, 'automatic', null, w.nowIso)), state: 'removed', reason: null, nextAttemptAt: null, removedAt: w.nowIso }),
    {
      status,
    },
  );
  await w.audit({ actorId, action: `request.${status}`, subjectType: 'request', subjectId: plan.requestId, data: { removedAt: w.nowIso } });
  await grantChanged(w, plan.requestId, status, req?.expiresAt ?? null);
  findings?.track(w);
}

// ---------- the worker's side ----------

export interface JobDeps {
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

interface ClaimedJob {
  id: string;
  requestId: string;
  connectionId: string;
  action: 'grant' | 'revoke' | 'verify';
  plan: JobPlan;
  attempts: number;
}

/** Takes one due job (queued and due, or running with an expired lease), atomically. */
export async function claimJob(deps: JobDeps): Promise<ClaimedJob | null> {
  const now = deps.now();
  const nowIso = now.toISOString();
  const leaseUntil = new Date(now.getTime() + (deps.leaseMs ?? DEFAULT_JOB_LEASE_MS)).toISOString();
  return runWrite(
    deps.db,
    now,
    async (w) => {
      const r = await w.tx.execute({
        sql: `UPDATE fulfilment_jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
              WHERE id = (SELECT id FROM fulfilment_jobs
                          WHERE (state = 'queued' AND next_run_at <= ?) OR (state = 'running' AND lease_until <= ?)
                          ORDER BY next_run_at, id LIMIT 1)
              RETURNING id, request_id, connection_id, action, plan, attempts`,
        args: [deps.ownerId, leaseUntil, nowIso, nowIso, nowIso],
      });
      const row = r.rows[0];
      if (!row) return null;
      const job: ClaimedJob = {
        id: String(row.id),
        requestId: String(row.request_id),
        connectionId: String(row.connection_id),
        action: String(row.action) as ClaimedJob['action'],
        plan: JSON.parse(String(row.plan)) as JobPlan,
        attempts: Number(row.attempts),
      };
      if (job.action === 'grant')
        await touchRequest(w, job.requestId, (f) => ({
          ...(f ?? initialFulfilment(job.plan, 'automatic', null, w.nowIso)),
          state: 'applying',
          attempts: job.attempts,
          nextAttemptAt: null,
        }));
      else if (job.action === 'revoke')
        await touchRequest(w, job.requestId, (f) => ({
          ...(f ?? initialFulfilment(job.plan, 'automatic', null, w.nowIso)),
          attempts: job.attempts,
          nextAttemptAt: null,
        }));
      return job;
    },
    deps.notifier,
  );
}

/** Ends a job this process still holds; false when its lease passed to another process meanwhile (nothing is written). */
async function settle(
  w: WriteContext,
  job: ClaimedJob,
  ownerId: string,
  state: 'done' | 'task' | 'queued',
  fields: { nextRunAt?: string; error?: string | null; result?: unknown } = {},
): Promise<boolean> {
  const r = await w.tx.execute({
    sql: `UPDATE fulfilment_jobs SET state = ?, lease_owner = NULL, lease_until = NULL, next_run_at = COALESCE(?, next_run_at), last_error = ?,
            result = COALESCE(?, result), updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`,
    args: [
      state,
      fields.nextRunAt ?? null,
      fields.error ?? null,
      fields.result === undefined ? null : JSON.stringify(fields.result),
      w.nowIso,
      job.id,
      ownerId,
    ],
  });
  return r.rowsAffected > 0;
}

class LeaseLost extends Error {}

/** Backoff between automatic attempts: 30 s, 1 min, 2 min … at most an hour. */
export const jobBackoffMs = (attempts: number) => Math.min(3600_000, 30_000 * 2 ** Math.max(0, attempts - 1));

/**
 * Runs one claimed job to its next state. Never writes to the CRM what it already holds; records the
 * outcome only while still holding the job's lease.
 */
export async function runJob(deps: JobDeps, job: ClaimedJob): Promise<'done' | 'task' | 'retry' | 'lost'> {
  const signal = deps.signal ?? new AbortController().signal;
  const opened: Opened = await openConnector(deps.db, deps.box, job.connectionId, { signal, now: deps.now, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  try {
    if (!opened.ok) return await toTask(deps, job, opened.reason);
    const { client } = opened;
    if (job.action === 'verify') return await verify(deps, job, await client.holdings(job.plan.externalUserId));

    if (job.action === 'grant') {
      const before = await client.holdings(job.plan.externalUserId);
      const missing = job.plan.bundles.filter((b) => !before.some((h) => h.bundleExternalId === b.externalId));
      const refusals: string[] = [];
      if (missing.length > 0 && opened.definition.exclusiveKinds) {
        // Keep what the write is about to replace (the CRM's word now), before writing: a crash after
        // the write leaves it on the job for the next attempt and for the revocation.
        job.plan.replaced = await replacedInCrm(deps.db, job, before, opened.definition.exclusiveKinds);
        const kept = await deps.db.execute("UPDATE fulfilment_jobs SET plan = ?, updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'running'", [
          JSON.stringify(job.plan),
          deps.now().toISOString(),
          job.id,
          deps.ownerId,
        ]);
        if (kept.rowsAffected === 0) return 'lost';
      }
      if (missing.length > 0) {
        const expiresAt = new Date(deps.now().getTime() + job.plan.days * DAY_MS).toISOString();
        const outcomes = await client.grant({
          userExternalId: job.plan.externalUserId,
          bundles: missing.map((b) => ({ externalId: b.externalId!, kind: b.kind })),
          expiresAt: opened.definition.supportsExpiration ? expiresAt : null,
        });
        for (const o of outcomes) if (!o.ok && o.error.details.code !== 'DUPLICATE_VALUE') refusals.push(o.error.message);
      }
      // Confirm by reading the CRM again: only what it shows counts.
      const after = await client.holdings(job.plan.externalUserId);
      const held = job.plan.bundles.map((b) => ({ bundle: b, holding: after.find((h) => h.bundleExternalId === b.externalId) }));
      if (held.every((h) => h.holding)) {
        const ok = await runWrite(
          deps.db,
          deps.now(),
          async (w) => {
            if (!(await settle(w, job, deps.ownerId, 'done', { result: { held: held.map((h) => h.holding) } }))) throw new LeaseLost();
            await recordGranted(
              w,
              job.plan,
              held.map((h) => ({ bundleId: h.bundle.id, externalId: h.holding!.externalId })),
              null,
              deps.findings,
              new Set(after.map((h) => h.bundleExternalId)),
            );
            return true;
          },
          deps.notifier,
        ).catch((e) => (e instanceof LeaseLost ? false : Promise.reject(e)));
        return ok ? 'done' : 'lost';
      }
      if (refusals.length > 0) return await toTask(deps, job, { code: 'crm-refused', message: refusals.join(' ') });
      return await retry(deps, job, { code: 'not-confirmed', message: 'The CRM accepted the change but does not show it yet.' });
    }

    // revoke
    const before = await client.holdings(job.plan.externalUserId);
    const ours = job.plan.assignments ?? [];
    const bundleExt = new Map(job.plan.bundles.map((b) => [b.id, b.externalId] as const));
    const present = (hs: CrmHolding[]) =>
      hs.filter((h) =>
        ours.some((a) => (a.externalId ? a.externalId === h.externalId : a.bundleId !== null && bundleExt.get(a.bundleId) === h.bundleExternalId)),
      );
    const targets = present(before);
    const refusals: string[] = [];
    if (targets.length > 0) {
      const outcomes = await client.revoke({
        userExternalId: job.plan.externalUserId,
        assignments: targets.map((t) => ({ externalId: t.externalId, bundleExternalId: t.bundleExternalId })),
        restore: (job.plan.replaced ?? []).filter((r) => r.externalId !== null).map((r) => ({ bundleExternalId: r.externalId!, kind: r.kind })),
      });
      for (const o of outcomes) if (!o.ok) refusals.push(o.error.message);
    }
    const afterRevoke = await client.holdings(job.plan.externalUserId);
    const remaining = present(afterRevoke);
    if (remaining.length === 0) {
      const ok = await runWrite(
        deps.db,
        deps.now(),
        async (w) => {
          if (!(await settle(w, job, deps.ownerId, 'done'))) throw new LeaseLost();
          await recordRemoved(w, job.plan, null, deps.findings, afterRevoke);
          return true;
        },
        deps.notifier,
      ).catch((e) => (e instanceof LeaseLost ? false : Promise.reject(e)));
      return ok ? 'done' : 'lost';
    }
    if (refusals.length > 0) return await toTask(deps, job, { code: 'crm-refused', message: refusals.join(' ') });
    return await retry(deps, job, { code: 'not-confirmed', message: 'The CRM accepted the removal but still shows the grant.' });
  } catch (error) {
    if (error instanceof CrmError) {
      if (error.kind === 'refused') return toTask(deps, job, { code: 'crm-refused', message: error.message });
      const code = error.kind === 'auth' ? 'needs-reauthorisation' : error.kind === 'rate-limited' ? 'rate-limited' : 'crm-unavailable';
      return retry(deps, job, { code, message: error.message }, error.retryAfterMs);
    }
    if (signal.aborted) throw error;
    return retry(deps, job, { code: 'crm-unavailable', message: error instanceof Error ? error.message : String(error) });
  }
}

async function retry(deps: JobDeps, job: ClaimedJob, reason: FulfilmentReason, afterMs?: number): Promise<'retry' | 'task' | 'lost'> {
  if (job.attempts >= MAX_ATTEMPTS) return toTask(deps, job, { code: 'gave-up', message: `Gave up after ${job.attempts} attempts: ${reason.message}` });
  const wait = Math.max(afterMs ?? 0, jobBackoffMs(job.attempts));
  return runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      const next = new Date(w.now.getTime() + wait).toISOString();
      if (!(await settle(w, job, deps.ownerId, 'queued', { nextRunAt: next, error: reason.message }))) return 'lost' as const;
      if (job.action !== 'verify')
        await touchRequest(w, job.requestId, (f) => ({
          ...(f ?? initialFulfilment(job.plan, 'automatic', null, w.nowIso)),
          state: job.action === 'grant' ? 'retrying' : 'removing',
          reason,
          attempts: job.attempts,
          nextAttemptAt: next,
        }));
      await w.audit({
        actorId: null,
        action: 'fulfilment.retry',
        subjectType: 'request',
        subjectId: job.requestId,
        data: { jobId: job.id, attempts: job.attempts, reason: reason.code, message: reason.message, nextRunAt: next },
      });
      return 'retry' as const;
    },
    deps.notifier,
  );
}

async function toTask(deps: JobDeps, job: ClaimedJob, reason: FulfilmentReason): Promise<'task' | 'lost'> {
  return runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      if (!(await settle(w, job, deps.ownerId, job.action === 'verify' ? 'done' : 'task', { error: reason.message }))) return 'lost' as const;
      if (job.action === 'verify') {
        await w.tx.execute({
          sql: "UPDATE admin_tasks SET details = json_set(details, '$.check', ?), version = ? WHERE job_id = ? AND status = 'open'",
          args: [`AccessLens could not read the CRM to check: ${reason.message}`, await w.version(), job.id],
        });
        return 'task' as const;
      }
      await createTask(w, job.action, job.plan, job.connectionId, job.id, reason);
      await touchRequest(w, job.requestId, (f) => ({
        ...(f ?? initialFulfilment(job.plan, 'task', reason, w.nowIso)),
        state: job.action === 'grant' ? 'admin-task' : 'removing',
        mode: 'task',
        reason,
        attempts: job.attempts,
        nextAttemptAt: null,
      }));
      return 'task' as const;
    },
    deps.notifier,
  );
}

/** A problem report's check: does the CRM hold what the request granted? The answer goes on the admin task. */
async function verify(deps: JobDeps, job: ClaimedJob, holdings: CrmHolding[]): Promise<'done' | 'lost'> {
  const missing = job.plan.bundles.filter((b) => !holdings.some((h) => h.bundleExternalId === b.externalId));
  const check =
    job.plan.bundles.length === 0
      ? 'The grant was recorded by permission, not by a CRM bundle: check it in the CRM.'
      : missing.length === 0
        ? `The CRM shows ${job.plan.bundles.map((b) => b.name).join(', ')} assigned to ${job.plan.username}: the grant is in place; check record sharing and the page.`
        : `The CRM does not show ${missing.map((b) => b.name).join(', ')} assigned to ${job.plan.username}: the grant is missing.`;
  return runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      if (!(await settle(w, job, deps.ownerId, 'done', { result: { check } }))) return 'lost' as const;
      await w.tx.execute({
        sql: "UPDATE admin_tasks SET details = json_set(details, '$.check', ?), version = ? WHERE job_id = ? AND status = 'open'",
        args: [check, await w.version(), job.id],
      });
      await w.audit({ actorId: null, action: 'grant.checked', subjectType: 'request', subjectId: job.requestId, data: { jobId: job.id, check } });
      return 'done' as const;
    },
    deps.notifier,
  );
}

// ---------- problem reports ----------

/**
 * "Report a problem with this grant": only the requester, only while the grant is active. The admins
 * get a task with what the page showed; where the connector can read, AccessLens checks the CRM too.
 */
export async function reportProblem(w: WriteContext, personId: string, requestId: string, page: PageContext): Promise<void> {
  const r = await w.tx.execute({
    sql: 'SELECT requester_id, status, connection_id, account_id, permissions, fulfilment FROM requests WHERE id = ?',
    args: [requestId],
  });
  const row = r.rows[0];
  if (!row) throw refuse.notFound('request_not_found');
  if (String(row.requester_id) !== personId) throw refuse.forbidden('report_not_requester');
  if (String(row.status) !== 'fulfilled') throw refuse.conflict('report_not_in_force', { status: String(row.status) });
  const prior = row.fulfilment === null ? null : (JSON.parse(String(row.fulfilment)) as RequestFulfilment);
  const open = await w.tx.execute({ sql: "SELECT id FROM admin_tasks WHERE request_id = ? AND kind = 'problem' AND status = 'open'", args: [requestId] });
  if (open.rows[0]) throw refuse.conflict('problem_already_reported');
  const held = await w.tx.execute({
    sql: `SELECT a.id, a.external_id, a.bundle_id, b.name, b.kind, b.external_id AS bundle_external_id FROM assignments a
          LEFT JOIN bundles b ON b.id = a.bundle_id WHERE a.request_id = ? AND a.revoked_at IS NULL`,
    args: [requestId],
  });
  const acct = await w.tx.execute({ sql: 'SELECT person_id, external_user_id, username FROM crm_accounts WHERE id = ?', args: [String(row.account_id)] });
  const a = acct.rows[0]!;
  const plan: JobPlan = {
    requestId,
    requesterId: personId,
    accountId: String(row.account_id),
    personId: String(a.person_id),
    externalUserId: String(a.external_user_id),
    username: String(a.username),
    keys: JSON.parse(String(row.permissions)) as string[],
    bundles: held.rows
      .filter((h) => h.bundle_id !== null)
      .map((h) => ({
        id: String(h.bundle_id),
        externalId: h.bundle_external_id === null ? null : String(h.bundle_external_id),
        name: String(h.name),
        kind: String(h.kind) as BundleKind,
      })),
    days: 0,
  };
  const connectionId = String(row.connection_id);
  const facts = await connectionFacts(w.tx, connectionId);
  const canCheck = facts.enabled && facts.hasCredentials && connectorFor(facts.kind as CrmKind) !== null;
  let jobId: string | null = null;
  if (canCheck) {
    jobId = `job-${randomUUID()}`;
    await w.tx.execute({
      sql: `INSERT INTO fulfilment_jobs (id, idempotency_key, request_id, connection_id, action, plan, state, attempts, next_run_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, 'verify', ?, 'queued', 0, ?, ?, ?)`,
      args: [jobId, `${requestId}:verify:${w.nowIso}`, requestId, connectionId, JSON.stringify(plan), w.nowIso, w.nowIso, w.nowIso],
    });
    w.afterCommit(signalWork);
  }
  const reason: FulfilmentReason = {
    code: 'problem-reported',
    message: `The requester reports the grant does not work on ${page.url}${page.denialText ? ` ("${page.denialText}")` : ''}.`,
  };
  await createTask(w, 'problem', plan, connectionId, jobId, reason, { page, check: canCheck ? null : 'AccessLens cannot read this CRM to check.' });
  await touchRequest(w, requestId, (f) => ({
    ...(f ?? prior ?? initialFulfilment(plan, 'automatic', null, w.nowIso)),
    state: 'problem-reported',
    problem: { reportedAt: w.nowIso, url: page.url, object: page.object, recordId: page.recordId, denialText: page.denialText },
  }));
  await w.audit({ actorId: personId, action: 'grant.problem_reported', subjectType: 'request', subjectId: requestId, data: { page } });
}

// ---------- admin tasks ----------

export interface TaskDeps {
  db: Db;
  box: SecretBox;
  now: () => Date;
  findings?: FindingsService;
  notifier?: Notifier;
  fetch?: typeof fetch;
}

/**
 * An administrator marks a task done. Where the connector can read the CRM, AccessLens checks first:
 * a grant must be there (409 otherwise, the task stays open), a revocation must be gone. Without a
 * connector, the administrator's word is the confirmation.
 */
export async function completeTask(deps: TaskDeps, taskId: string, adminId: string, note: string | null): Promise<void> {
  const t = await deps.db.execute('SELECT id, kind, status, request_id, connection_id, details FROM admin_tasks WHERE id = ?', [taskId]);
  const task = t.rows[0];
  if (!task) throw refuse.notFound('task_not_found');
  if (String(task.status) !== 'open') throw refuse.conflict('task_not_open', { taskStatus: String(task.status) });
  const kind = String(task.kind) as 'grant' | 'revoke' | 'problem';
  const details = JSON.parse(String(task.details)) as { plan: JobPlan; revocation?: unknown };
  // A revocation after a departure or a move (revocations/jobs.ts) has its own record to complete.
  if (details.revocation) return completeRevocationTask(deps, taskId, adminId, note);
  const plan = details.plan;
  const crm = await deps.db.execute('SELECT kind FROM crm_connections WHERE id = ?', [String(task.connection_id)]);
  const exclusive = connectorFor(String(crm.rows[0]?.kind) as CrmKind)?.exclusiveKinds ?? [];

  // What the CRM shows now, when it can be read.
  let holdings: CrmHolding[] | null = null;
  let heldBundles: { id: string; externalId: string | null; kind: BundleKind }[] = [];
  if (kind !== 'problem') {
    const controller = new AbortController();
    const opened = await openConnector(deps.db, deps.box, String(task.connection_id), {
      signal: controller.signal,
      now: deps.now,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    if (opened.ok) {
      try {
        holdings = await opened.client.holdings(plan.externalUserId);
      } catch (error) {
        if (!(error instanceof CrmError) || error.kind === 'refused') throw error;
        throw refuse.conflict('crm_unreadable', { message: error.message });
      }
      const known = await deps.db.execute(
        `SELECT id, external_id, kind FROM bundles WHERE connection_id = ? AND external_id IN (${holdings.map(() => '?').join(', ') || "''"})`,
        [String(task.connection_id), ...holdings.map((h) => h.bundleExternalId)],
      );
      heldBundles = known.rows.map((r) => ({ id: String(r.id), externalId: String(r.external_id), kind: String(r.kind) as BundleKind }));
    }
  }

  const requestId = task.request_id === null ? null : String(task.request_id);
  await runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      const again = await w.tx.execute({ sql: 'SELECT status FROM admin_tasks WHERE id = ?', args: [taskId] });
      if (String(again.rows[0]?.status) !== 'open') throw refuse.conflict('task_completed_meanwhile');
      if (kind === 'grant' && requestId) {
        let held: { bundleId: string | null; externalId: string | null }[];
        if (holdings) {
          const grantsOf = await bundleKeyClosure(w.tx, String(task.connection_id));
          const covered = new Set(heldBundles.flatMap((b) => plan.keys.filter((k) => grantsOf.get(b.id)?.has(k))));
          const missing = plan.keys.filter((k) => !covered.has(k));
          if (missing.length > 0) throw refuse.conflict('crm_not_granted_yet', { username: plan.username, permissions: missing.join(', ') });
          // The plan's bundles where held, else whichever held bundles grant the keys — never the user's
          // profile (it is not this grant's to remove at expiry; then the grant is recorded by key), except
          // where a grant is a profile replacing the user's one (Zoho): then the new profile is the grant.
          const assignable = heldBundles.filter((b) => b.kind !== 'profile' || exclusive.includes('profile'));
          const coversAll = (list: typeof heldBundles) => list.length > 0 && plan.keys.every((k) => list.some((b) => grantsOf.get(b.id)?.has(k)));
          const chosen = assignable.filter((b) => plan.bundles.some((p) => p.id === b.id));
          const granting = assignable.filter((b) => plan.keys.some((k) => grantsOf.get(b.id)?.has(k)));
          const use = coversAll(chosen) ? chosen : coversAll(granting) ? granting : [];
          held = use.map((b) => ({ bundleId: b.id, externalId: holdings!.find((h) => h.bundleExternalId === b.externalId)?.externalId ?? null }));
        } else held = plan.bundles.map((b) => ({ bundleId: b.id, externalId: null }));
        await recordGranted(w, plan, held, adminId, deps.findings, holdings ? new Set(holdings.map((h) => h.bundleExternalId)) : null);
      } else if (kind === 'revoke' && requestId) {
        if (holdings) {
          const ours = plan.assignments ?? [];
          const bundleExt = new Map(plan.bundles.map((b) => [b.id, b.externalId] as const));
          const still = holdings.filter((h) =>
            ours.some((a) => (a.externalId ? a.externalId === h.externalId : a.bundleId !== null && bundleExt.get(a.bundleId) === h.bundleExternalId)),
          );
          if (still.length > 0) throw refuse.conflict('crm_still_shows_grant', { username: plan.username });
        }
        await recordRemoved(w, plan, adminId, deps.findings, holdings);
      } else if (kind === 'problem' && requestId) {
        const req = await readFulfilment(w.tx, requestId);
        if (req?.status === 'fulfilled')
          await touchRequest(w, requestId, (f) => ({ ...(f ?? initialFulfilment(plan, 'automatic', null, w.nowIso)), state: 'active', problem: null }));
      }
      await w.tx.execute({
        sql: "UPDATE admin_tasks SET status = 'done', done_at = ?, done_by = ?, note = ?, version = ? WHERE id = ?",
        args: [w.nowIso, adminId, note, await w.version(), taskId],
      });
      await w.tx.execute({
        sql: "UPDATE fulfilment_jobs SET state = 'done', updated_at = ? WHERE id = (SELECT job_id FROM admin_tasks WHERE id = ?) AND state = 'task'",
        args: [w.nowIso, taskId],
      });
      if (requestId && kind !== 'problem')
        await touchRequest(w, requestId, (f) => ({ ...(f ?? initialFulfilment(plan, 'task', null, w.nowIso)), doneBy: adminId }));
      await w.audit({
        actorId: adminId,
        action: 'task.done',
        subjectType: 'task',
        subjectId: taskId,
        data: { kind, requestId, note, checkedInCrm: holdings !== null },
      });
    },
    deps.notifier,
  );
}

/** Every bundle of the connection → the keys it grants (through what it includes). */
async function bundleKeyClosure(tx: Transaction, connectionId: string): Promise<Map<string, Set<string>>> {
  const rows = await assignableBundles(tx, connectionId, ['profile', 'role', 'permissionSet', 'permissionSetGroup', 'securityRole', 'team']);
  return new Map(rows.map((b) => [b.id, b.keys] as const));
}

/**
 * A process stopping cleanly hands back the jobs it was running: another process (or itself after a
 * restart) takes them at once instead of after the lease. What was already written to the CRM is found
 * by the next attempt's check before writing.
 */
export async function releaseJobs(db: Db, ownerId: string, now: Date): Promise<number> {
  return db.transaction(async (tx) => {
    const r = await tx.execute({
      sql: "UPDATE fulfilment_jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, next_run_at = ?, updated_at = ? WHERE state = 'running' AND lease_owner = ?",
      args: [now.toISOString(), now.toISOString(), ownerId],
    });
    return r.rowsAffected;
  });
}

/** After new credentials (or re-enabling): jobs waiting on the connection run now. */
export async function wakeJobs(tx: Transaction, connectionId: string, nowIso: string): Promise<void> {
  await tx.execute({ sql: "UPDATE fulfilment_jobs SET next_run_at = ? WHERE connection_id = ? AND state = 'queued'", args: [nowIso, connectionId] });
}
