import type { ApprovalStage, DecisionRecordArgs, Person, StageDecision } from '@accesslens/shared';
import { ApiFailure, refuse } from '../errors.ts';
import type { WriteContext } from '../write.ts';
import { withField } from './request-create.ts';
import { queueGrant } from '../connectors/fulfilment.ts';
import { indexStageApprovers, loadRequest, reachedApprovers } from './requests.ts';

/**
 * decision.record, by an approver of the open stage who has not approved it yet.
 * - approve: recorded in the stage's `approvals`; once the stage has `required` approvals its
 *   `decision` is set and the next stage opens (its approvers get the request and a poke); after the
 *   last stage the request is approved and each key granted for the shortest duration any approver
 *   gave (never longer than asked).
 * - deny (with a reason): ends the request; the open stage's `decision` is the denial.
 */
export async function recordDecision(
  w: WriteContext,
  me: Person,
  args: DecisionRecordArgs,
  field: (f: string) => string,
) {
  const request = await loadRequest(w.tx, args.requestId);
  if (!request) throw withField(refuse.notFound('request_not_found'), field('requestId'));
  if (request.requesterId === me.id) throw refuse.forbidden('own_request');
  const reached = await reachedApprovers(w.tx, request.id);
  if (!reached.includes(me.id)) throw refuse.forbidden('not_waiting_for_you');
  if (request.status !== 'pending') throw refuse.conflict('request_not_pending', { status: request.status });
  const position = request.stages.findIndex((s) => s.decision === null);
  const stage = request.stages[position];
  if (!stage || !stage.approverIds.includes(me.id) || stage.approvals.some((a) => a.deciderId === me.id))
    throw refuse.forbidden('not_waiting_for_you');

  let days: number | null = null;
  if (args.outcome === 'approve') {
    days = args.durationDays ?? request.durationDays;
    if (days > request.durationDays)
      throw ApiFailure.of(400, 'invalid_input', 'approve_longer', { days: request.durationDays }, { field: field('durationDays') });
  }
  const reason = args.reason && args.reason.length > 0 ? args.reason : null;
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

  for (const id of reached) w.affected.add(id);
  w.affected.add(request.requesterId);

  if (status === 'denied') {
    await w.tx.execute({
      sql: "UPDATE requests SET status = 'denied', stages = ?, decided_at = ?, updated_at = ?, version = ? WHERE id = ?",
      args: [JSON.stringify(stages), decidedAt, decidedAt, version, request.id],
    });
  } else if (status === 'pending') {
    await w.tx.execute({
      sql: 'UPDATE requests SET stages = ?, updated_at = ?, version = ? WHERE id = ?',
      args: [JSON.stringify(stages), decidedAt, version, request.id],
    });
    if (next) {
      // The next stage opens: its approvers get the request in their slice, and a poke.
      const approverIds = next.approverIds.filter((id) => id !== request.requesterId);
      await indexStageApprovers(w.tx, request.id, position + 1, approverIds);
      for (const id of approverIds) w.affected.add(id);
    }
  } else {
    // Approved: the shortest duration any approver gave, never longer than asked. The grant goes to
    // the CRM through a fulfilment job (or an admin task); the request is fulfilled once the CRM
    // confirms, and its expiry counts from then.
    const given = stages.flatMap((s) => s.approvals.map((a) => a.durationDays ?? request.durationDays));
    const grantDays = Math.min(request.durationDays, ...given);
    await w.tx.execute({
      sql: `UPDATE requests SET status = 'approved', stages = ?, decided_at = ?, updated_at = ?, version = ? WHERE id = ?`,
      args: [JSON.stringify(stages), decidedAt, decidedAt, version, request.id],
    });
    await queueGrant(w, request, grantDays);
  }
}
