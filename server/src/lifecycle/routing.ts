/**
 * Routing a stage when it opens: never to the requester or the manager who filed the request, never to
 * someone who approved an earlier stage of the same request (unless the stage's rule allows it), and to an
 * out-of-office approver's delegate instead of the approver. What it decided is written on the stage
 * (`approverIds`, `delegates`, `escalated`), on the timeline, in `request_approvers` (sync), in the
 * outbox (the approvers are told) and in the scheduler (reminders, escalation, time-out).
 */
import type { AccessRequest, ApprovalStage } from '@accesslens/shared';
import type { Transaction } from '../db.ts';
import { indexStageApprovers } from '../mutations/requests.ts';
import type { WriteContext } from '../write.ts';
import { notify } from './outbox.ts';
import { appendTimeline } from './timeline.ts';
import { scheduleTimer } from './timers.ts';

/** The people this request may never be routed to: the requester and the manager who filed it. */
export const excludedFrom = (r: Pick<AccessRequest, 'requesterId' | 'filedBy'>): Set<string> => new Set([r.requesterId, ...(r.filedBy ? [r.filedBy] : [])]);

/** Everyone who approved a stage before `position`. */
export function priorApprovers(stages: ApprovalStage[], position: number): Set<string> {
  return new Set(stages.slice(0, position).flatMap((s) => s.approvals.map((a) => a.deciderId)));
}

/** Active delegations at `nowIso`, for these approvers (following a chain up to three steps; never a cycle). */
export async function delegatesOf(tx: Transaction, personIds: readonly string[], nowIso: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (personIds.length === 0) return out;
  const r = await tx.execute({
    sql: `SELECT person_id, delegate_id FROM approver_delegations d JOIN people p ON p.id = d.delegate_id AND p.status = 'active'
          WHERE d.ended_at IS NULL AND d.starts_at <= ? AND d.ends_at > ? ORDER BY d.created_at DESC`,
    args: [nowIso, nowIso],
  });
  const direct = new Map<string, string>();
  for (const row of r.rows) if (!direct.has(String(row.person_id))) direct.set(String(row.person_id), String(row.delegate_id));
  for (const id of personIds) {
    let current = id;
    const seen = new Set([id]);
    for (let step = 0; step < 3; step++) {
      const next = direct.get(current);
      if (!next || seen.has(next)) break;
      seen.add(next);
      current = next;
    }
    if (current !== id) out.set(id, current);
  }
  return out;
}

export interface Routed {
  approverIds: string[];
  delegates: { approverId: string; delegateId: string }[];
}

/**
 * Replaces out-of-office approvers by their delegates, skipping a delegate who may not decide this request
 * (then the approver stays). Returns the new approver list (no duplicates) and who replaced whom.
 */
export async function applyDelegation(tx: Transaction, approverIds: readonly string[], forbidden: Set<string>, nowIso: string): Promise<Routed> {
  const map = await delegatesOf(tx, approverIds, nowIso);
  const delegates: Routed['delegates'] = [];
  const result: string[] = [];
  for (const id of approverIds) {
    const d = map.get(id);
    if (d && !forbidden.has(d)) {
      delegates.push({ approverId: id, delegateId: d });
      if (!result.includes(d)) result.push(d);
    } else if (!result.includes(id)) result.push(id);
  }
  return { approverIds: result, delegates };
}

/**
 * Opens stage `position` of `request` (its `stages` as they will be stored): routes it, and tells its
 * approvers. Mutates `stages[position]`; the caller writes `stages` to the request row afterwards.
 * `entry` is the timeline entry that says it (`submitted` for the first stage of a new request).
 */
export async function openStage(
  w: WriteContext,
  request: Pick<AccessRequest, 'id' | 'requesterId' | 'filedBy'>,
  stages: ApprovalStage[],
  position: number,
  entry: { kind: 'submitted' | 'routed'; actorId: string | null },
): Promise<string[]> {
  const stage = stages[position]!;
  const excluded = excludedFrom(request);
  const prior = stage.distinctApprovers === false ? new Set<string>() : priorApprovers(stages, position);
  const forbidden = new Set([...excluded, ...prior]);
  const needed = Math.max(1, stage.required - stage.approvals.length);
  let ids = stage.approverIds.filter((id) => !forbidden.has(id));
  if (ids.length < needed) {
    const fallback = (stage.fallbackIds ?? []).filter((id) => !forbidden.has(id));
    if (fallback.length > 0) {
      ids = fallback;
      stage.required = stage.approvals.length + 1;
      stage.escalated = true;
    } else if (ids.length === 0) {
      // Nobody else can decide it: the earlier approvers may, rather than nobody (the timeline says who).
      ids = stage.approverIds.filter((id) => !excluded.has(id));
    }
  }
  const routed = await applyDelegation(w.tx, ids, forbidden, w.nowIso);
  stage.approverIds = routed.approverIds;
  stage.delegates = [...(stage.delegates ?? []), ...routed.delegates];
  stage.required = Math.min(stage.required, stage.approvals.length + stage.approverIds.length);
  stage.waitingSince = w.nowIso;
  stage.reminders = stage.reminders ?? 0;
  stage.lastRemindedAt = stage.lastRemindedAt ?? null;
  await indexStageApprovers(w.tx, request.id, position, stage.approverIds);
  for (const id of stage.approverIds) w.affected.add(id);
  await appendTimeline(w, request.id, { kind: entry.kind, actorId: entry.actorId, personIds: stage.approverIds, stage: position });
  for (const d of routed.delegates)
    await appendTimeline(w, request.id, { kind: 'delegated', actorId: d.approverId, personIds: [d.delegateId], stage: position });
  if (routed.delegates.length > 0)
    await w.audit({
      actorId: null,
      action: 'request.delegated',
      subjectType: 'request',
      subjectId: request.id,
      data: { stage: position, delegates: routed.delegates },
    });
  await notify(w, {
    event: 'request.submitted',
    requestId: request.id,
    eventKey: `${request.id}:open:${position}`,
    personIds: stage.approverIds,
    actorId: entry.actorId,
    stage: stage.label,
  });
  await scheduleTimer(w, request.id, stages, position);
  return stage.approverIds;
}
