import type { ApprovalStage, DecisionRecordArgs, Person } from '@accesslens/shared';
import { ApiFailure, conflict, forbidden, notFound } from '../errors.ts';
import type { WriteContext } from '../write.ts';
import { withField } from './request-create.ts';
import { loadRequest, OPEN_STATUSES, peopleConcerned } from './requests.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * decision.record: an approver of the open stage approves (granting each key for the approved
 * number of days, which may be shorter but never longer than asked) or denies with a reason.
 */
export async function recordDecision(w: WriteContext, me: Person, args: DecisionRecordArgs, field: (f: string) => string) {
  const request = await loadRequest(w.tx, args.requestId);
  if (!request) throw withField(notFound('There is no such request.'), field('requestId'));
  if (request.requesterId === me.id) throw forbidden('You cannot decide your own request.');
  const concerned = peopleConcerned(request);
  if (!concerned.includes(me.id)) throw forbidden('This request is not routed to you.');
  if (!OPEN_STATUSES.has(request.status)) throw conflict(`This request is no longer pending (it is ${request.status}).`);
  const position = request.stages.findIndex((s) => s.decision === null);
  const stage = request.stages[position];
  if (!stage || !stage.approverIds.includes(me.id))
    throw forbidden('You are not an approver of the open stage of this request.');

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
  const reason = args.reason && args.reason.length > 0 ? args.reason : null;
  const decidedAt = w.nowIso;
  const stages: ApprovalStage[] = request.stages.map((s, i) =>
    i === position ? { ...s, decision: { deciderId: me.id, outcome: args.outcome, reason, durationDays: days, decidedAt } } : s,
  );
  const version = await w.version();
  await w.tx.execute({
    sql: `INSERT INTO decisions (request_id, position, decider_id, outcome, reason, duration_days, decided_at)
          VALUES (?, ?, ?, ?, ?, ?, ?)`,
    args: [request.id, position, me.id, args.outcome, reason, days, decidedAt],
  });
  await w.audit({
    actorId: me.id,
    action: 'decision.recorded',
    subjectType: 'request',
    subjectId: request.id,
    data: { outcome: args.outcome, reason, durationDays: days, stage: position },
  });

  // One stage today: its decision settles the request.
  if (args.outcome === 'deny') {
    await w.tx.execute({
      sql: "UPDATE requests SET status = 'denied', stages = ?, decided_at = ?, updated_at = ?, version = ? WHERE id = ?",
      args: [JSON.stringify(stages), decidedAt, decidedAt, version, request.id],
    });
  } else {
    const grantedAt = w.nowIso;
    const expiresAt = new Date(w.now.getTime() + days! * DAY_MS).toISOString();
    await w.tx.execute({
      sql: `UPDATE requests SET status = 'approved', stages = ?, decided_at = ?, granted_at = ?, expires_at = ?,
              updated_at = ?, version = ? WHERE id = ?`,
      args: [JSON.stringify(stages), decidedAt, grantedAt, expiresAt, decidedAt, version, request.id],
    });
    for (const key of request.permissions) {
      const assignmentId = `asg-${crypto.randomUUID()}`;
      await w.tx.execute({
        sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id,
                granted_at, expires_at, revoked_at, version)
              VALUES (?, ?, 'permission', NULL, ?, 'request', ?, ?, ?, NULL, ?)`,
        args: [assignmentId, request.accountId, key, request.id, grantedAt, expiresAt, version],
      });
      await w.audit({
        actorId: me.id,
        action: 'grant.created',
        subjectType: 'assignment',
        subjectId: assignmentId,
        data: { accountId: request.accountId, key, requestId: request.id, grantedAt, expiresAt },
      });
    }
  }
  for (const id of concerned) w.affected.add(id);
}
