/**
 * Out-of-office delegation: an approver names a delegate for a period (`approver_delegations`). Stages
 * opening during it go to the delegate (routing.ts); when it starts (now, or later through the scheduler's
 * `delegation.start`), requests already waiting on the approver go to the delegate too. Never to the
 * requester or the manager who filed the request, nor to someone who approved an earlier stage: then the
 * approver keeps the request. Every change is audited.
 */
import { randomUUID } from 'node:crypto';
import type { Delegation, DelegationInput, Person } from '@accesslens/shared';
import type { Db, Transaction } from '../db.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { indexStageApprovers, loadRequest } from '../mutations/requests.ts';
import { runWrite } from '../write.ts';
import type { WriteContext } from '../write.ts';
import type { Notifier } from '../notifier.ts';
import { notify } from './outbox.ts';
import { excludedFrom, priorApprovers } from './routing.ts';
import { finishWork, scheduleWork } from './schedule.ts';
import { appendTimeline } from './timeline.ts';
import { scheduleTimer } from './timers.ts';

const COLUMNS = 'id, person_id, delegate_id, starts_at, ends_at, note, created_at, created_by, ended_at, ended_by';

function fromRow(r: Record<string, unknown>, nowIso: string): Delegation {
  const endedAt = r.ended_at === null ? null : String(r.ended_at);
  const startsAt = String(r.starts_at);
  const endsAt = String(r.ends_at);
  return {
    id: String(r.id),
    personId: String(r.person_id),
    delegateId: String(r.delegate_id),
    startsAt,
    endsAt,
    note: String(r.note),
    createdAt: String(r.created_at),
    createdBy: String(r.created_by),
    endedAt,
    endedBy: r.ended_by === null ? null : String(r.ended_by),
    active: endedAt === null && startsAt <= nowIso && endsAt > nowIso,
  };
}

export async function listDelegations(db: Db, personId: string | null, now: Date): Promise<Delegation[]> {
  const r = personId
    ? await db.execute(`SELECT ${COLUMNS} FROM approver_delegations WHERE person_id = ? OR delegate_id = ? ORDER BY starts_at DESC, id`, [personId, personId])
    : await db.execute(`SELECT ${COLUMNS} FROM approver_delegations ORDER BY starts_at DESC, id LIMIT 500`);
  return r.rows.map((row) => fromRow(row, now.toISOString()));
}

export async function createDelegation(db: Db, me: Person, input: DelegationInput, now: Date, notifier?: Notifier): Promise<Delegation> {
  const personId = input.personId ?? me.id;
  if (personId !== me.id && !me.roles.includes('admin')) throw refuse.forbidden('admins_only', { action: 'set_others_delegate' });
  if (input.delegateId === personId) throw ApiFailure.of(400, 'invalid_input', 'delegate_self', {}, { field: 'delegateId' });
  if (input.endsAt <= now.toISOString()) throw ApiFailure.of(400, 'invalid_input', 'ends_in_past', {}, { field: 'endsAt' });
  return runWrite(
    db,
    now,
    async (w) => {
      const people = await w.tx.execute({ sql: 'SELECT id, status FROM people WHERE id IN (?, ?)', args: [personId, input.delegateId] });
      const status = new Map(people.rows.map((p) => [String(p.id), String(p.status)] as const));
      if (!status.has(personId)) throw ApiFailure.of(404, 'not_found', 'person_not_found', { personId }, { field: 'personId' });
      if (!status.has(input.delegateId)) throw ApiFailure.of(404, 'not_found', 'person_not_found', { personId: input.delegateId }, { field: 'delegateId' });
      if (status.get(input.delegateId) !== 'active') throw ApiFailure.of(400, 'invalid_input', 'delegate_inactive', {}, { field: 'delegateId' });
      const overlap = await w.tx.execute({
        sql: 'SELECT id FROM approver_delegations WHERE person_id = ? AND ended_at IS NULL AND starts_at < ? AND ends_at > ? LIMIT 1',
        args: [personId, input.endsAt, input.startsAt],
      });
      if (overlap.rows[0]) throw ApiFailure.of(409, 'conflict', 'delegation_overlap', { delegationId: String(overlap.rows[0].id) }, { field: 'startsAt' });
      const id = `dlg-${randomUUID()}`;
      await w.tx.execute({
        sql: `INSERT INTO approver_delegations (id, person_id, delegate_id, starts_at, ends_at, note, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [id, personId, input.delegateId, input.startsAt, input.endsAt, input.note, w.nowIso, me.id],
      });
      await w.audit({
        actorId: me.id,
        action: 'delegation.created',
        subjectType: 'person',
        subjectId: personId,
        data: { delegationId: id, delegateId: input.delegateId, startsAt: input.startsAt, endsAt: input.endsAt, note: input.note },
      });
      if (input.startsAt <= w.nowIso) await rerouteToDelegate(w, id);
      else await scheduleWork(w, 'delegation.start', id, input.startsAt);
      const row = await w.tx.execute({ sql: `SELECT ${COLUMNS} FROM approver_delegations WHERE id = ?`, args: [id] });
      return fromRow(row.rows[0]!, w.nowIso);
    },
    notifier,
  );
}

export async function endDelegation(db: Db, me: Person, id: string, now: Date, notifier?: Notifier): Promise<Delegation> {
  return runWrite(
    db,
    now,
    async (w) => {
      const r = await w.tx.execute({ sql: `SELECT ${COLUMNS} FROM approver_delegations WHERE id = ?`, args: [id] });
      const row = r.rows[0];
      if (!row) throw refuse.notFound('delegation_not_found');
      if (String(row.person_id) !== me.id && !me.roles.includes('admin')) throw refuse.forbidden('delegation_end_not_yours');
      if (row.ended_at !== null) throw refuse.conflict('delegation_ended');
      const end = w.nowIso < String(row.ends_at) ? w.nowIso : String(row.ends_at);
      await w.tx.execute({ sql: 'UPDATE approver_delegations SET ended_at = ?, ended_by = ? WHERE id = ?', args: [end, me.id, id] });
      await finishWork(w.tx, 'delegation.start', id, w.nowIso);
      await w.audit({ actorId: me.id, action: 'delegation.ended', subjectType: 'person', subjectId: String(row.person_id), data: { delegationId: id } });
      const again = await w.tx.execute({ sql: `SELECT ${COLUMNS} FROM approver_delegations WHERE id = ?`, args: [id] });
      return fromRow(again.rows[0]!, w.nowIso);
    },
    notifier,
  );
}

async function waitingOn(tx: Transaction, personId: string): Promise<string[]> {
  const r = await tx.execute({
    sql: `SELECT DISTINCT q.id FROM request_approvers ra JOIN requests q ON q.id = ra.request_id
          WHERE ra.person_id = ? AND q.status IN ('pending', 'needs-info') ORDER BY q.created_at`,
    args: [personId],
  });
  return r.rows.map((x) => String(x.id));
}

/** A delegation in force now: the open stages waiting on its approver go to the delegate. */
export async function rerouteToDelegate(w: WriteContext, delegationId: string): Promise<number> {
  const d = await w.tx.execute({ sql: `SELECT ${COLUMNS} FROM approver_delegations WHERE id = ?`, args: [delegationId] });
  const row = d.rows[0];
  if (!row || row.ended_at !== null || String(row.starts_at) > w.nowIso || String(row.ends_at) <= w.nowIso) return 0;
  const personId = String(row.person_id);
  const delegateId = String(row.delegate_id);
  let moved = 0;
  for (const requestId of await waitingOn(w.tx, personId)) {
    const request = await loadRequest(w.tx, requestId);
    if (!request) continue;
    const position = request.stages.findIndex((s) => s.decision === null);
    const stage = request.stages[position];
    if (!stage || !stage.approverIds.includes(personId) || stage.approvals.some((a) => a.deciderId === personId)) continue;
    const forbidden = new Set([
      ...excludedFrom(request),
      ...(stage.distinctApprovers === false ? [] : priorApprovers(request.stages, position)),
      ...stage.approvals.map((a) => a.deciderId),
    ]);
    if (forbidden.has(delegateId)) continue;
    const stages = request.stages.map((s) => ({ ...s }));
    const open = stages[position]!;
    open.approverIds = [...new Set(open.approverIds.map((id) => (id === personId ? delegateId : id)))];
    open.required = Math.min(open.required, open.approvals.length + open.approverIds.length);
    open.delegates = [...(open.delegates ?? []), { approverId: personId, delegateId }];
    await w.tx.execute({
      sql: 'UPDATE requests SET stages = ?, updated_at = ?, version = ? WHERE id = ?',
      args: [JSON.stringify(stages), w.nowIso, await w.version(), requestId],
    });
    await indexStageApprovers(w.tx, requestId, position, [delegateId]);
    await appendTimeline(w, requestId, { kind: 'delegated', actorId: personId, personIds: [delegateId], stage: position });
    await w.audit({
      actorId: null,
      action: 'request.delegated',
      subjectType: 'request',
      subjectId: requestId,
      data: { stage: position, delegates: [{ approverId: personId, delegateId }], delegationId },
    });
    if (request.status === 'pending')
      await notify(w, {
        event: 'request.submitted',
        requestId,
        eventKey: `${requestId}:delegated:${position}:${delegateId}`,
        personIds: [delegateId],
        actorId: personId,
        stage: open.label,
      });
    w.affected.add(delegateId);
    w.affected.add(personId);
    w.affected.add(request.requesterId);
    if (request.status === 'pending') await scheduleTimer(w, requestId, stages, position);
    moved++;
  }
  return moved;
}
