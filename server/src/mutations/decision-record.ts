import type { AccessRequest, ApprovalStage, DecisionRecordArgs, Person, StageDecision } from '@accesslens/shared';
import type { AuditInput } from '../audit.ts';
import { ApiFailure, refuse } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import { startGrant } from '../lifecycle/grants.ts';
import { notify, type NotifyInput } from '../lifecycle/outbox.ts';
import { openStage, priorApprovers } from '../lifecycle/routing.ts';
import { finishWork } from '../lifecycle/schedule.ts';
import { appendTimeline, TIMELINE_APPEND, timelineEntryOf } from '../lifecycle/timeline.ts';
import { grantDaysOf } from '../lifecycle/timers.ts';
import type { WriteContext } from '../write.ts';
import { withField } from './request-create.ts';
import { loadRequest } from './requests.ts';

/** What an approve or deny does to a request, decided before anything is written (shared by one decision and a bulk one). */
export interface DecisionPlan {
  request: AccessRequest;
  position: number;
  stages: ApprovalStage[];
  status: 'pending' | 'approved' | 'denied';
  /** The next stage to open (an approval that concluded a stage that is not the last). */
  next: ApprovalStage | undefined;
  decision: StageDecision;
  reason: string | null;
  days: number | null;
  /** Everyone to poke. */
  affected: string[];
  timeline: ReturnType<typeof timelineEntryOf>;
  audit: AuditInput;
  /** The message the outcome sends (approved or denied), if any. */
  message: NotifyInput | null;
  /** Approved: the grant's days. */
  grantDays: number | null;
}

/** The checks every decision passes: an approver of the open stage who has not decided it, never the requester or filer. */
function checkDecider(request: AccessRequest, me: Person, args: DecisionRecordArgs): { position: number; reached: string[] } {
  if (request.requesterId === me.id) throw refuse.forbidden('own_request');
  if (request.filedBy === me.id) throw refuse.forbidden('filed_by_you');
  // Everyone the request reached so far: the approvers of every stage up to the open one.
  const openAt = request.stages.findIndex((s) => s.decision === null);
  const reached = [...new Set(request.stages.slice(0, openAt < 0 ? request.stages.length : openAt + 1).flatMap((s) => s.approverIds))];
  if (!reached.includes(me.id)) throw refuse.forbidden('not_waiting_for_you');
  if (request.status !== 'pending')
    throw request.status === 'needs-info' ? refuse.conflict('awaiting_answer') : refuse.conflict('request_not_pending', { status: request.status });
  const stage = request.stages[openAt];
  if (!stage || !stage.approverIds.includes(me.id) || stage.approvals.some((a) => a.deciderId === me.id)) throw refuse.forbidden('not_waiting_for_you');
  if (stage.distinctApprovers !== false && args.outcome === 'approve' && priorApprovers(request.stages, openAt).has(me.id))
    throw refuse.forbidden('approved_earlier_stage');
  return { position: openAt, reached };
}

/** Plans an approve or deny of `request` by `me` at `w.nowIso` (throws the API failure when it may not apply). */
export function planDecision(
  w: Pick<WriteContext, 'nowIso'>,
  request: AccessRequest,
  me: Person,
  args: DecisionRecordArgs & { outcome: 'approve' | 'deny' },
  field: (f: string) => string,
): DecisionPlan {
  const { position, reached } = checkDecider(request, me, args);
  const reason = args.reason && args.reason.length > 0 ? args.reason : null;
  let days: number | null = null;
  if (args.outcome === 'approve') {
    days = args.durationDays ?? request.durationDays;
    if (days > request.durationDays)
      throw ApiFailure.of(400, 'invalid_input', 'approve_longer', { days: request.durationDays }, { field: field('durationDays') });
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
  const requesterSide = [request.requesterId, ...(request.filedBy ? [request.filedBy] : [])];
  return {
    request,
    position,
    stages,
    status,
    next,
    decision,
    reason,
    days,
    affected: [...reached, ...requesterSide],
    timeline: timelineEntryOf(w, { kind: args.outcome === 'deny' ? 'denied' : 'approved', actorId: me.id, stage: position, text: reason }),
    audit: {
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
    },
    message:
      status === 'denied'
        ? {
            event: 'request.denied',
            requestId: request.id,
            eventKey: `${request.id}:denied`,
            personIds: requesterSide,
            actorId: me.id,
            text: reason,
            stage: open.label,
          }
        : status === 'approved'
          ? { event: 'request.approved', requestId: request.id, eventKey: `${request.id}:approved`, personIds: requesterSide, actorId: me.id }
          : null,
    grantDays: status === 'approved' ? grantDaysOf({ durationDays: request.durationDays, stages }) : null,
  };
}

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
 * Its reminder timer finds a decided request decided and stops.
 */
export async function recordDecision(w: WriteContext, me: Person, args: DecisionRecordArgs, field: (f: string) => string, findings?: FindingsService) {
  const request = await loadRequest(w.tx, args.requestId);
  if (!request) throw withField(refuse.notFound('request_not_found'), field('requestId'));
  if (args.outcome === 'needs-info') return askRequester(w, request, me, args);
  const plan = planDecision(w, request, me, { ...args, outcome: args.outcome }, field);
  await writeDecision(w, plan, findings);
}

async function askRequester(w: WriteContext, request: AccessRequest, me: Person, args: DecisionRecordArgs): Promise<void> {
  const { position, reached } = checkDecider(request, me, args);
  const stage = request.stages[position]!;
  const question = args.reason!;
  const requesterSide = [request.requesterId, ...(request.filedBy ? [request.filedBy] : [])];
  for (const id of [...reached, ...requesterSide]) w.affected.add(id);
  const needsInfo = { askedBy: me.id, askedAt: w.nowIso, question, stage: position };
  await w.tx.execute({
    sql: "UPDATE requests SET status = 'needs-info', needs_info = ?, updated_at = ?, version = ? WHERE id = ?",
    args: [JSON.stringify(needsInfo), w.nowIso, await w.version(), request.id],
  });
  await appendTimeline(w, request.id, { kind: 'needs-info', actorId: me.id, personIds: requesterSide, stage: position, text: question });
  await w.audit({
    actorId: me.id,
    action: 'request.needs_info',
    subjectType: 'request',
    subjectId: request.id,
    data: { stage: position, stageLabel: stage.label, question },
  });
  // Reminders pause while the requester answers.
  await finishWork(w.tx, 'request.timer', request.id, w.nowIso);
  const asked = request.timeline?.filter((e) => e.kind === 'needs-info').length ?? 0;
  await notify(w, {
    event: 'request.needs-info',
    requestId: request.id,
    eventKey: `${request.id}:needs-info:${asked + 1}`,
    personIds: requesterSide,
    actorId: me.id,
    text: question,
    stage: stage.label,
  });
}

/** Writes one planned decision. */
async function writeDecision(w: WriteContext, plan: DecisionPlan, findings?: FindingsService): Promise<void> {
  const { request, stages, decision } = plan;
  for (const id of plan.affected) w.affected.add(id);
  const version = await w.version();
  await w.tx.execute({
    sql: `INSERT INTO request_decisions (request_id, stage, decider_id, outcome, reason, duration_days, decided_at)
          VALUES (?, ?, ?, ?, ?, ?, ?)`,
    args: [request.id, plan.position, decision.deciderId, decision.outcome, plan.reason, plan.days, decision.decidedAt],
  });
  await w.audit(plan.audit);
  const entry = JSON.stringify(plan.timeline);
  if (plan.status === 'pending') {
    await w.tx.execute({
      sql: `UPDATE requests SET timeline = ${TIMELINE_APPEND}, updated_at = ?, version = ? WHERE id = ?`,
      args: [entry, w.nowIso, version, request.id],
    });
    // The next stage opens (its approvers get the request, a poke and a message; its timer starts).
    if (plan.next) await openStage(w, request, stages, plan.position + 1, { kind: 'routed', actorId: decision.deciderId });
    await w.tx.execute({
      sql: 'UPDATE requests SET stages = ?, updated_at = ?, version = ? WHERE id = ?',
      args: [JSON.stringify(stages), w.nowIso, version, request.id],
    });
    return;
  }
  await w.tx.execute({
    sql: `UPDATE requests SET status = ?, stages = ?, timeline = ${TIMELINE_APPEND}, decided_at = ?, updated_at = ?, version = ? WHERE id = ?`,
    args: [plan.status, JSON.stringify(stages), entry, w.nowIso, w.nowIso, version, request.id],
  });
  if (plan.message) await notify(w, plan.message);
  // Approved: the grant goes to the CRM through a fulfilment job (or an admin task) — at the access window's
  // start when there is one — and counts from the CRM's confirmation; an extension moves its grant's end instead.
  if (plan.status === 'approved') await startGrant(w, request, plan.grantDays!, findings);
}
