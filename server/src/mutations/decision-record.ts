import type { ApprovalStage, DecisionRecordArgs, Person, StageDecision } from '@accesslens/shared';
import { ApiFailure, conflict, forbidden, notFound } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import { startGrant } from '../lifecycle/grants.ts';
import { notify } from '../lifecycle/outbox.ts';
import { openStage, priorApprovers } from '../lifecycle/routing.ts';
import { finishWork } from '../lifecycle/schedule.ts';
import { appendTimeline, TIMELINE_APPEND, timelineEntryOf } from '../lifecycle/timeline.ts';
import { grantDaysOf } from '../lifecycle/timers.ts';
import type { WriteContext } from '../write.ts';
import { withField } from './request-create.ts';
import { loadRequest } from './requests.ts';

const NOT_WAITING = 'This request is not waiting for you.';

/**
 * decision.record, by an approver of the open stage who has not approved it yet (never the requester, nor
 * the manager who filed it for them).
 * - approve: recorded in the stage's `approvals`; once the stage has `required` approvals its `decision`
 *   is set and the next stage opens (routing.ts: never to someone who approved an earlier stage unless the
 *   rule allows it; out-of-office approvers' delegates instead); after the last stage the request is
 *   approved and granted for the shortest duration any approver gave (never longer than asked) — now, at the
 *   access window's start, or by moving the end of the grant it extends.
 * - deny (with a reason): ends the request; the open stage's `decision` is the denial.
 * - needs-info (the question in `reason`): the request waits for the requester (status `needs-info`);
 *   `request.answer` returns it to `pending` at the same stage.
 */
export async function recordDecision(
  w: WriteContext,
  me: Person,
  args: DecisionRecordArgs,
  field: (f: string) => string,
  findings?: FindingsService,
) {
  const request = await loadRequest(w.tx, args.requestId);
  if (!request) throw withField(notFound('There is no such request.'), field('requestId'));
  if (request.requesterId === me.id) throw forbidden('You cannot decide your own request.');
  if (request.filedBy === me.id) throw forbidden('You cannot decide a request you filed.');
  // Everyone the request reached so far: the approvers of every stage up to the open one.
  const openAt = request.stages.findIndex((s) => s.decision === null);
  const reached = [...new Set(request.stages.slice(0, openAt < 0 ? request.stages.length : openAt + 1).flatMap((s) => s.approverIds))];
  if (!reached.includes(me.id)) throw forbidden(NOT_WAITING);
  if (request.status !== 'pending')
    throw conflict(
      request.status === 'needs-info'
        ? 'This request is waiting for the requester to answer a question.'
        : `This request is no longer pending (it is ${request.status}).`,
    );
  const position = request.stages.findIndex((s) => s.decision === null);
  const stage = request.stages[position];
  if (!stage || !stage.approverIds.includes(me.id) || stage.approvals.some((a) => a.deciderId === me.id))
    throw forbidden(NOT_WAITING);
  if (stage.distinctApprovers !== false && args.outcome === 'approve' && priorApprovers(request.stages, position).has(me.id))
    throw forbidden('You approved an earlier stage of this request: another approver must decide this one.');
  for (const id of reached) w.affected.add(id);
  w.affected.add(request.requesterId);
  if (request.filedBy) w.affected.add(request.filedBy);
  const reason = args.reason && args.reason.length > 0 ? args.reason : null;
  const requesterSide = [request.requesterId, ...(request.filedBy ? [request.filedBy] : [])];

  if (args.outcome === 'needs-info') {
    const needsInfo = { askedBy: me.id, askedAt: w.nowIso, question: reason!, stage: position };
    await w.tx.execute({
      sql: "UPDATE requests SET status = 'needs-info', needs_info = ?, updated_at = ?, version = ? WHERE id = ?",
      args: [JSON.stringify(needsInfo), w.nowIso, await w.version(), request.id],
    });
    await appendTimeline(w, request.id, { kind: 'needs-info', actorId: me.id, personIds: requesterSide, stage: position, text: reason });
    await w.audit({ actorId: me.id, action: 'request.needs_info', subjectType: 'request', subjectId: request.id, data: { stage: position, stageLabel: stage.label, question: reason } });
    // Reminders pause while the requester answers.
    await finishWork(w.tx, 'request.timer', request.id, w.nowIso);
    const asked = request.timeline?.filter((e) => e.kind === 'needs-info').length ?? 0;
    await notify(w, { event: 'request.needs-info', requestId: request.id, eventKey: `${request.id}:needs-info:${asked + 1}`, personIds: requesterSide, actorId: me.id, text: reason, stage: stage.label });
    return;
  }

  let days: number | null = null;
  if (args.outcome === 'approve') {
    days = args.durationDays ?? request.durationDays;
    if (days > request.durationDays)
      throw new ApiFailure(
        400,
        'invalid_input',
        `You can shorten the grant but not lengthen it: at most ${request.durationDays} days.`,
        field('durationDays'),
      );
  }
  const decidedAt = w.nowIso;
  const decision: StageDecision = { deciderId: me.id, outcome: args.outcome, reason, durationDays: days, decidedAt };
  const stages: ApprovalStage[] = request.stages.map((s) => ({ ...s, approvals: [...s.approvals] }));
  const open = stages[position]!;
  let concluded = false;
  if (args.outcome === 'deny') {
    open.decision = decision;
    concluded = true;
  } else {
    open.approvals.push(decision);
    if (open.approvals.length >= open.required) {
      open.decision = decision;
      concluded = true;
    }
  }
  const next = concluded && args.outcome === 'approve' ? stages[position + 1] : undefined;
  const status = args.outcome === 'deny' ? 'denied' : concluded && !next ? 'approved' : 'pending';
  const version = await w.version();
  await w.tx.execute({
    sql: `INSERT INTO request_decisions (request_id, stage, decider_id, outcome, reason, duration_days, decided_at)
          VALUES (?, ?, ?, ?, ?, ?, ?)`,
    args: [request.id, position, me.id, args.outcome, reason, days, decidedAt],
  });
  await w.audit({
    actorId: me.id,
    action: 'decision.recorded',
    subjectType: 'request',
    subjectId: request.id,
    data: {
      outcome: args.outcome,
      reason,
      durationDays: days,
      stage: position,
      stageLabel: open.label,
      approvals: open.approvals.length,
      required: open.required,
      stageConcluded: concluded,
      status,
    },
  });
  // The step goes on the timeline in the same UPDATE as the request (a bulk decision writes each request once).
  const entry = JSON.stringify(timelineEntryOf(w, { kind: args.outcome === 'deny' ? 'denied' : 'approved', actorId: me.id, stage: position, text: reason }));
  if (status === 'denied') {
    // (Its reminder timer finds it decided and stops.)
    await w.tx.execute({
      sql: `UPDATE requests SET status = 'denied', stages = ?, timeline = ${TIMELINE_APPEND}, decided_at = ?, updated_at = ?, version = ? WHERE id = ?`,
      args: [JSON.stringify(stages), entry, decidedAt, decidedAt, version, request.id],
    });
    await notify(w, { event: 'request.denied', requestId: request.id, eventKey: `${request.id}:denied`, personIds: requesterSide, actorId: me.id, text: reason, stage: open.label });
  } else if (status === 'pending') {
    await w.tx.execute({
      sql: `UPDATE requests SET timeline = ${TIMELINE_APPEND}, updated_at = ?, version = ? WHERE id = ?`,
      args: [entry, decidedAt, version, request.id],
    });
    // The next stage opens (its approvers get the request, a poke and a message; its timer starts).
    if (next) await openStage(w, request, stages, position + 1, { kind: 'routed', actorId: me.id });
    await w.tx.execute({
      sql: 'UPDATE requests SET stages = ?, updated_at = ?, version = ? WHERE id = ?',
      args: [JSON.stringify(stages), decidedAt, version, request.id],
    });
  } else {
    // Approved: the shortest duration any approver gave, never longer than asked. The grant goes to the
    // CRM through a fulfilment job (or an admin task) — at the access window's start when there is one —
    // and counts from the CRM's confirmation; an extension moves its grant's end instead.
    await w.tx.execute({
      sql: `UPDATE requests SET status = 'approved', stages = ?, timeline = ${TIMELINE_APPEND}, decided_at = ?, updated_at = ?, version = ? WHERE id = ?`,
      args: [JSON.stringify(stages), entry, decidedAt, decidedAt, version, request.id],
    });
    await notify(w, { event: 'request.approved', requestId: request.id, eventKey: `${request.id}:approved`, personIds: requesterSide, actorId: me.id });
    await startGrant(w, request, grantDaysOf({ durationDays: request.durationDays, stages }), findings);
  }
}
