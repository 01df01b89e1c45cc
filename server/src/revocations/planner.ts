/**
 * The revocation planner: turns directory events (migration 0003: a person departed, was suspended, or
 * moved to another department or title) into revocations, as the policy's `revocations` setting says.
 *
 * Claiming: one write transaction sets `processed_at` on a batch of unprocessed events (the
 * `UPDATE … WHERE processed_at IS NULL` is the claim), plans each, and commits the plans with the
 * claim. Write transactions are serialised by the database (SQLite's lock, or the libsql server's), so
 * when several server processes share one database each event is planned by exactly one of them; a
 * process that dies mid-planning commits nothing, and the events are planned by the next one.
 *
 * Per CRM account of the person:
 * - departed / deactivated: everything the account holds (a profile or role goes with the user), and the
 *   CRM user is deactivated;
 * - moved (department or title; a new manager alone changes nothing): every assignment the engine finds
 *   outside the new job's baseline, except what a request in force granted. No baseline for the new job in
 *   a connection means nothing there is known to be outside: nothing is revoked.
 * An event whose person is back by the time it is planned (a departure of someone active again, a move of
 * someone no longer active: their departure's own plan covers it) plans nothing; every event is audited.
 * An automatic revocation (the connector can do it and the mode is not `task`) is a durable job due now
 * or at the end of the person's day; the rest (read-only connection, no credentials or connector, a
 * profile that can only be replaced, users it cannot deactivate, or the policy's `task`) is an admin task.
 */
import { randomUUID } from 'node:crypto';
import {
  endOfDay,
  revocationModeFor,
  revocationTimeZoneFor,
  type CrmKind,
  type FulfilmentReason,
  type OrgEngine,
  type Placement,
  type RevocationCause,
  type RevocationPolicy,
} from '@accesslens/shared';
import { assignableKinds, connectionFacts, whyManual, type ConnectionFacts } from '../connectors/fulfilment.ts';
import { connectorFor } from '../connectors/registry.ts';
import { signalWork } from '../connectors/signal.ts';
import type { Db } from '../db.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Notifier } from '../notifier.ts';
import { runWrite, type WriteContext } from '../write.ts';
import {
  assignmentName,
  baselinesFor,
  createRevocationTask,
  currentRevocationPolicy,
  engineWithin,
  heldAssignments,
  outsideBaseline,
  requestsInForce,
  STANDING_KINDS,
  type PlannedAssignment,
  type RevocationContext,
  type RevocationPlan,
} from './plan.ts';

export interface PlannerDeps {
  db: Db;
  now: () => Date;
  findings?: FindingsService;
  notifier?: Notifier;
  /** Events claimed per transaction. */
  batchSize?: number;
  /** Runs inside the planning transaction just before it commits (tests use it to stop a process there). */
  beforeCommit?: (eventIds: number[]) => Promise<void>;
}

interface DirectoryEvent {
  id: number;
  personId: string;
  kind: RevocationCause;
  before: Placement;
  after: Placement;
  at: string;
}

const placementOf = (json: string): Placement => {
  const p = JSON.parse(json) as Partial<Placement>;
  return { status: p.status ?? 'active', department: p.department ?? '', title: p.title ?? '' };
};

/** Plans one batch of unprocessed directory events; returns how many it claimed (0: none left). */
export async function planDirectoryEvents(deps: PlannerDeps): Promise<number> {
  // A read first: the worker looks every few seconds, and nothing to plan must not take the write lock.
  const waiting = await deps.db.execute('SELECT 1 FROM directory_events WHERE processed_at IS NULL LIMIT 1');
  if (waiting.rows.length === 0) return 0;
  return runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      const claimed = await w.tx.execute({
        sql: `UPDATE directory_events SET processed_at = ?
              WHERE id IN (SELECT id FROM directory_events WHERE processed_at IS NULL ORDER BY id LIMIT ?)
              RETURNING id, person_id, kind, before, after, at`,
        args: [w.nowIso, deps.batchSize ?? 25],
      });
      if (claimed.rows.length === 0) return 0;
      const events: DirectoryEvent[] = claimed.rows
        .map((r) => ({
          id: Number(r.id),
          personId: String(r.person_id),
          kind: String(r.kind) as RevocationCause,
          before: placementOf(String(r.before)),
          after: placementOf(String(r.after)),
          at: String(r.at),
        }))
        .sort((a, b) => a.id - b.id);
      const policy = await currentRevocationPolicy(w.tx);
      let engine: OrgEngine | null = null;
      const planner = new EventPlanner(w, policy, async () => (engine ??= await engineWithin(w, deps.findings)));
      for (const e of events) await planner.plan(e);
      await deps.beforeCommit?.(events.map((e) => e.id));
      return events.length;
    },
    deps.notifier,
  );
}

class EventPlanner {
  readonly #facts = new Map<string, ConnectionFacts>();

  constructor(
    private readonly w: WriteContext,
    private readonly policy: { revocations: RevocationPolicy; baselines: Parameters<typeof baselinesFor>[0]['baselines'] },
    private readonly engine: () => Promise<OrgEngine>,
  ) {}

  async #connection(id: string): Promise<ConnectionFacts> {
    let f = this.#facts.get(id);
    if (!f) this.#facts.set(id, (f = await connectionFacts(this.w.tx, id)));
    return f;
  }

  async plan(e: DirectoryEvent): Promise<void> {
    const { tx } = this.w;
    const p = await tx.execute({ sql: 'SELECT name, status, department, title FROM people WHERE id = ?', args: [e.personId] });
    const person = p.rows[0];
    const planned: string[] = [];
    let note: string | null = null;
    if (!person) note = 'no-person';
    else if (e.kind === 'moved' && e.before.department === e.after.department && e.before.title === e.after.title) note = 'manager-only';
    else if (e.kind === 'moved' && String(person.status) !== 'active') note = 'not-active';
    else if (e.kind !== 'moved' && String(person.status) === 'active') note = 'reactivated';
    else {
      const current = { department: String(person.department), title: String(person.title) };
      const accounts = await tx.execute({
        sql: 'SELECT id, connection_id, external_user_id, username, active FROM crm_accounts WHERE person_id = ? ORDER BY connection_id, id',
        args: [e.personId],
      });
      for (const a of accounts.rows)
        planned.push(
          ...(await this.#planAccount(e, String(person.name), current, {
            id: String(a.id),
            connectionId: String(a.connection_id),
            externalUserId: String(a.external_user_id),
            username: String(a.username),
            active: Number(a.active) === 1,
          })),
        );
      if (accounts.rows.length === 0) note = 'no-accounts';
      else if (planned.length === 0) note = 'nothing-to-revoke';
    }
    await this.w.audit({
      actorId: null,
      action: 'directory_event.planned',
      subjectType: 'person',
      subjectId: e.personId,
      data: { eventId: e.id, kind: e.kind, before: e.before, after: e.after, revocations: planned, note },
    });
  }

  async #planAccount(
    e: DirectoryEvent,
    personName: string,
    job: { department: string; title: string },
    account: { id: string; connectionId: string; externalUserId: string; username: string; active: boolean },
  ): Promise<string[]> {
    const { tx, nowIso } = this.w;
    const facts = await this.#connection(account.connectionId);
    const mode = revocationModeFor(this.policy.revocations, e.kind, account.connectionId);
    const zone = mode === 'end-of-day' ? revocationTimeZoneFor(this.policy.revocations, e.before.department) : null;
    const dueAt = zone ? endOfDay(new Date(e.at), zone).toISOString() : nowIso;

    let candidates: PlannedAssignment[];
    let deactivate = false;
    let baselineIds: string[] = [];
    const held = await heldAssignments(tx, account.id);
    if (e.kind === 'moved') {
      baselineIds = baselinesFor(this.policy, account.connectionId, job);
      const outside = outsideBaseline(await this.engine(), account.id);
      candidates = held.filter((a) => outside.assignmentIds.has(a.id) || (a.bundleId !== null && outside.bundleIds.has(a.bundleId)));
      const inForce = await requestsInForce(
        tx,
        candidates.map((a) => a.requestId),
        nowIso,
      );
      candidates = candidates.filter((a) => a.requestId === null || !inForce.has(a.requestId));
    } else {
      // Everything; the user's profile or role goes with the user (deactivated, or already inactive).
      candidates = held.filter((a) => a.bundleKind === null || !STANDING_KINDS.includes(a.bundleKind));
      deactivate = account.active;
    }

    // What an earlier plan already takes out by then is not planned twice.
    const earlier = await tx.execute({
      sql: `SELECT r.plan FROM revocations r WHERE r.account_id = ? AND r.state IN ('queued', 'running', 'task', 'failed') AND r.due_at <= ?`,
      args: [account.id, dueAt],
    });
    const covered = new Set<string>();
    for (const r of earlier.rows) {
      const plan = JSON.parse(String(r.plan)) as RevocationPlan;
      for (const a of plan.assignments) covered.add(a.id);
      if (plan.deactivate) deactivate = false;
    }
    candidates = candidates.filter((a) => !covered.has(a.id));
    if (candidates.length === 0 && !deactivate) return [];

    // Who does what.
    const def = connectorFor(facts.kind as CrmKind);
    const manualAll: FulfilmentReason | null =
      mode === 'task'
        ? { code: 'policy-task', message: 'The policy says an administrator removes access after this change.' }
        : whyManual(facts, null, 'revoke');
    const auto: PlannedAssignment[] = [];
    const manual: PlannedAssignment[] = [];
    let autoDeactivate = false;
    let manualDeactivate = false;
    let why: FulfilmentReason | null = manualAll;
    if (manualAll) {
      manual.push(...candidates);
      manualDeactivate = deactivate;
    } else {
      const removable = def?.replacesWholeProfile ? [] : assignableKinds(facts.kind);
      for (const a of candidates)
        (a.bundleId !== null && a.bundleExternalId !== null && a.bundleKind !== null && removable.includes(a.bundleKind) ? auto : manual).push(a);
      if (deactivate) {
        if (def?.canDeactivateUsers) autoDeactivate = true;
        else manualDeactivate = true;
      }
      if (manual.length > 0)
        why = {
          code: 'cannot-remove',
          message: [
            `AccessLens cannot remove ${manual.map(assignmentName).join(', ')} by itself${e.kind === 'moved' ? ' (change it to one in the new job’s baseline)' : ''}.`,
            manualDeactivate ? `It cannot deactivate ${facts.kind} users either.` : null,
          ]
            .filter((x): x is string => x !== null)
            .join(' '),
        };
      else if (manualDeactivate) why = { code: 'cannot-deactivate', message: `AccessLens cannot deactivate ${facts.kind} users: an administrator does.` };
    }

    const context: RevocationContext = {
      from: e.before,
      to: e.after,
      baselineIds,
    };
    const base = {
      personId: e.personId,
      personName,
      accountId: account.id,
      externalUserId: account.externalUserId,
      username: account.username,
    };
    const ids: string[] = [];
    if (auto.length > 0 || autoDeactivate)
      ids.push(
        ...(await this.#insert(e, account, facts, mode, zone, dueAt, context, 'automatic', { ...base, assignments: auto, deactivate: autoDeactivate }, null)),
      );
    if (manual.length > 0 || manualDeactivate)
      ids.push(
        ...(await this.#insert(e, account, facts, mode, zone, dueAt, context, 'manual', { ...base, assignments: manual, deactivate: manualDeactivate }, why)),
      );
    return ids;
  }

  async #insert(
    e: DirectoryEvent,
    account: { id: string; connectionId: string },
    facts: ConnectionFacts,
    mode: string,
    zone: string | null,
    dueAt: string,
    context: RevocationContext,
    handling: 'automatic' | 'manual',
    plan: RevocationPlan,
    why: FulfilmentReason | null,
  ): Promise<string[]> {
    const w = this.w;
    const id = `rev-${randomUUID()}`;
    const inserted = await w.tx.execute({
      sql: `INSERT OR IGNORE INTO revocations (id, event_id, person_id, connection_id, account_id, cause, context, mode, handling, plan, state,
              due_at, time_zone, attempts, reason_code, reason, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
      args: [
        id,
        e.id,
        e.personId,
        account.connectionId,
        account.id,
        e.kind,
        JSON.stringify(context),
        mode,
        handling,
        JSON.stringify(plan),
        handling === 'manual' ? 'task' : 'queued',
        dueAt,
        zone,
        why?.code ?? null,
        why?.message ?? null,
        w.nowIso,
        w.nowIso,
      ],
    });
    if (inserted.rowsAffected === 0) return []; // planned already (the unique event/account/handling)
    if (handling === 'manual') {
      const { taskId } = await createRevocationTask(
        w,
        { id, connectionId: account.connectionId, connectionName: facts.name, cause: e.kind, context, dueAt },
        plan,
        why!,
      );
      await w.tx.execute({ sql: 'UPDATE revocations SET task_id = ? WHERE id = ?', args: [taskId, id] });
    } else if (dueAt <= w.nowIso) w.afterCommit(signalWork);
    await w.audit({
      actorId: null,
      action: 'revocation.planned',
      subjectType: 'revocation',
      subjectId: id,
      data: {
        eventId: e.id,
        personId: e.personId,
        accountId: account.id,
        connectionId: account.connectionId,
        cause: e.kind,
        mode,
        handling,
        dueAt,
        timeZone: zone,
        assignments: plan.assignments.map((a) => a.id),
        deactivate: plan.deactivate,
        reason: why?.code ?? null,
      },
    });
    return [id];
  }
}
