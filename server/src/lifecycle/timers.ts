/**
 * What the scheduler does when work falls due (schedule.ts claims it; these run in the claiming
 * transaction):
 * - request.timer: the open stage of a pending request waited too long — remind its approvers who have not
 *   decided (after `remindAfterHours`, again every as many, at most `maxReminders`), ask the stage's fallback
 *   too (after `escalateAfterHours`), deny it as timed out (after `denyAfterHours`). One step per run; the
 *   timer is then set for the next step. Hours count from `stage.waitingSince`.
 * - grant.start: an approved request's access window starts: the grant goes to the CRM now.
 * - delegation.start: an out-of-office period starts: requests waiting on the person go to the delegate.
 * Plus, on every run, expiry reminders: a fulfilled grant ending within `expiryReminderDays` tells its
 * requester once per end date.
 * Every step is audited, on the request's timeline (sync) and told through the outbox.
 */
import type { AccessRequest, ApprovalStage, LifecycleSettings } from '@accesslens/shared';
import { queueGrant } from '../connectors/fulfilment.ts';
import type { Transaction } from '../db.ts';
import { indexStageApprovers, loadRequest } from '../mutations/requests.ts';
import { readCurrentPolicy, toOrgPolicy } from '../policy/load.ts';
import type { WriteContext } from '../write.ts';
import { rerouteToDelegate } from './delegations.ts';
import { notify } from './outbox.ts';
import { finishWork, scheduleWork, type ClaimedWork } from './schedule.ts';
import { lifecycleFor, appendTimeline } from './timeline.ts';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

type Step = { action: 'deny' | 'escalate' | 'remind'; at: number };

/** Who escalation would add to the stage now (its fallback, minus who may not decide and who is already asked). */
function escalationTargets(request: Pick<AccessRequest, 'requesterId' | 'filedBy'>, stages: ApprovalStage[], position: number): string[] {
  const stage = stages[position]!;
  const prior = stage.distinctApprovers === false ? new Set<string>() : new Set(stages.slice(0, position).flatMap((s) => s.approvals.map((a) => a.deciderId)));
  const excluded = new Set([request.requesterId, ...(request.filedBy ? [request.filedBy] : []), ...prior, ...stage.approverIds]);
  return (stage.fallbackIds ?? []).filter((id) => !excluded.has(id));
}

/** The steps of the open stage's timer still to come (or due), earliest first. */
function stepsOf(request: Pick<AccessRequest, 'requesterId' | 'filedBy'>, stages: ApprovalStage[], position: number, s: LifecycleSettings): Step[] {
  const stage = stages[position]!;
  if (!stage.waitingSince) return [];
  const since = Date.parse(stage.waitingSince);
  const steps: Step[] = [];
  if (s.denyAfterHours !== null) steps.push({ action: 'deny', at: since + s.denyAfterHours * HOUR_MS });
  if (s.escalateAfterHours !== null && escalationTargets(request, stages, position).length > 0)
    steps.push({ action: 'escalate', at: since + s.escalateAfterHours * HOUR_MS });
  const sent = stage.reminders ?? 0;
  if (sent < s.maxReminders) steps.push({ action: 'remind', at: since + s.remindAfterHours * HOUR_MS * (sent + 1) });
  return steps.sort((a, b) => a.at - b.at || order(a.action) - order(b.action));
}
const order = (a: Step['action']) => (a === 'deny' ? 0 : a === 'escalate' ? 1 : 2);

async function policySettings(tx: Transaction, stage: ApprovalStage): Promise<LifecycleSettings> {
  return lifecycleFor(toOrgPolicy(await readCurrentPolicy(tx)), stage.ruleIds ?? []);
}

/** Sets the request's timer for the open stage's next step (or clears it). Call after the stage's times change. */
export async function scheduleTimer(w: WriteContext, requestId: string, stages: ApprovalStage[], position: number): Promise<void> {
  const request = await w.tx.execute({ sql: 'SELECT requester_id, filed_by FROM requests WHERE id = ?', args: [requestId] });
  const row = request.rows[0];
  const who = { requesterId: String(row?.requester_id ?? ''), filedBy: row?.filed_by === null || row?.filed_by === undefined ? null : String(row.filed_by) };
  const next = stepsOf(who, stages, position, await policySettings(w.tx, stages[position]!))[0];
  if (next) await scheduleWork(w, 'request.timer', requestId, new Date(next.at));
  else await finishWork(w.tx, 'request.timer', requestId, w.nowIso);
}

async function writeStages(w: WriteContext, requestId: string, stages: ApprovalStage[]): Promise<void> {
  await w.tx.execute({
    sql: 'UPDATE requests SET stages = ?, updated_at = ?, version = ? WHERE id = ?',
    args: [JSON.stringify(stages), w.nowIso, await w.version(), requestId],
  });
}

async function affectAll(w: WriteContext, request: AccessRequest): Promise<void> {
  w.affected.add(request.requesterId);
  if (request.filedBy) w.affected.add(request.filedBy);
  const r = await w.tx.execute({ sql: 'SELECT DISTINCT person_id FROM request_approvers WHERE request_id = ?', args: [request.id] });
  for (const row of r.rows) w.affected.add(String(row.person_id));
}

export async function runRequestTimer(w: WriteContext, requestId: string): Promise<void> {
  const request = await loadRequest(w.tx, requestId);
  if (!request || request.status !== 'pending') return; // decided, cancelled, or waiting for an answer: nothing to do
  const position = request.stages.findIndex((s) => s.decision === null);
  if (position < 0) return;
  const stages = request.stages.map((s) => ({ ...s, approvals: [...s.approvals] }));
  const stage = stages[position]!;
  const settings = await policySettings(w.tx, stage);
  const steps = stepsOf(request, stages, position, settings);
  const due = steps.filter((s) => s.at <= w.now.getTime()).sort((a, b) => order(a.action) - order(b.action))[0];
  if (!due) {
    if (steps[0]) await scheduleWork(w, 'request.timer', requestId, new Date(steps[0].at));
    return;
  }
  const waiting = stage.approverIds.filter((id) => !stage.approvals.some((a) => a.deciderId === id));
  if (due.action === 'deny') {
    const version = await w.version();
    await w.tx.execute({
      sql: "UPDATE requests SET status = 'denied', needs_info = NULL, decided_at = ?, updated_at = ?, version = ? WHERE id = ?",
      args: [w.nowIso, w.nowIso, version, requestId],
    });
    await appendTimeline(w, requestId, { kind: 'timed-out', personIds: waiting, stage: position });
    await w.audit({
      actorId: null,
      action: 'request.timed_out',
      subjectType: 'request',
      subjectId: requestId,
      data: { stage: position, waitedHours: settings.denyAfterHours, waitingFor: waiting },
    });
    await notify(w, {
      event: 'request.timed-out',
      requestId,
      eventKey: `${requestId}:timed-out`,
      personIds: [request.requesterId, ...(request.filedBy ? [request.filedBy] : [])],
      stage: stage.label,
    });
    await affectAll(w, request);
    return;
  }
  if (due.action === 'escalate') {
    const added = escalationTargets(request, stages, position);
    stage.approverIds = [...stage.approverIds, ...added];
    stage.required = stage.approvals.length + 1;
    stage.escalated = true;
    // Reminders overdue by now are covered by the escalation (nobody gets a reminder right after it).
    const passed = Math.floor((w.now.getTime() - Date.parse(stage.waitingSince!)) / (settings.remindAfterHours * HOUR_MS));
    stage.reminders = Math.min(settings.maxReminders, Math.max(stage.reminders ?? 0, passed));
    await indexStageApprovers(w.tx, requestId, position, added);
    await writeStages(w, requestId, stages);
    await appendTimeline(w, requestId, { kind: 'escalated', personIds: added, stage: position });
    await w.audit({
      actorId: null,
      action: 'request.escalated',
      subjectType: 'request',
      subjectId: requestId,
      data: { stage: position, to: added, afterHours: settings.escalateAfterHours },
    });
    await notify(w, { event: 'request.escalated', requestId, eventKey: `${requestId}:escalated:${position}`, personIds: added, stage: stage.label });
    for (const id of added) w.affected.add(id);
  } else {
    // One reminder now for however many thresholds passed (a server that was down does not send a burst).
    const sinceMs = Date.parse(stage.waitingSince!);
    const passed = Math.floor((w.now.getTime() - sinceMs) / (settings.remindAfterHours * HOUR_MS));
    const n = (stage.reminders ?? 0) + 1;
    stage.reminders = Math.min(settings.maxReminders, Math.max(n, passed));
    stage.lastRemindedAt = w.nowIso;
    await writeStages(w, requestId, stages);
    await appendTimeline(w, requestId, { kind: 'reminded', personIds: waiting, stage: position });
    await w.audit({
      actorId: null,
      action: 'request.reminded',
      subjectType: 'request',
      subjectId: requestId,
      data: { stage: position, reminded: waiting, reminder: n, of: settings.maxReminders },
    });
    await notify(w, { event: 'request.reminder', requestId, eventKey: `${requestId}:reminder:${position}:${n}`, personIds: waiting, stage: stage.label });
    for (const id of waiting) w.affected.add(id);
  }
  await affectAll(w, request);
  await scheduleTimer(w, requestId, stages, position);
}

/** The grant days an approved request was given: the shortest any approver gave, never more than asked. */
export const grantDaysOf = (r: Pick<AccessRequest, 'durationDays' | 'stages'>) =>
  Math.min(r.durationDays, ...r.stages.flatMap((s) => s.approvals.map((a) => a.durationDays ?? r.durationDays)));

export async function runGrantStart(w: WriteContext, requestId: string): Promise<void> {
  const request = await loadRequest(w.tx, requestId);
  if (!request || request.status !== 'approved' || request.fulfilment) return;
  await appendTimeline(w, requestId, { kind: 'started' });
  await w.audit({ actorId: null, action: 'request.window_started', subjectType: 'request', subjectId: requestId, data: { startsAt: request.startsAt } });
  await queueGrant(w, request, grantDaysOf(request));
  await affectAll(w, request);
}

/** Runs one claimed unit of work in its transaction. */
export async function runWork(w: WriteContext, work: ClaimedWork): Promise<void> {
  switch (work.kind) {
    case 'request.timer':
      return runRequestTimer(w, work.subjectId);
    case 'grant.start':
      return runGrantStart(w, work.subjectId);
    case 'delegation.start':
      await rerouteToDelegate(w, work.subjectId);
      return;
  }
}

/**
 * Expiry reminders due now: fulfilled grants ending within their `expiryReminderDays`, not yet reminded for
 * this end date. Claimed per request by `expiry_reminded_for` (the end date reminded about), in this write.
 */
export async function remindExpiring(w: WriteContext, limit = 100): Promise<number> {
  const policy = toOrgPolicy(await readCurrentPolicy(w.tx));
  const maxDays = Math.max(policy.lifecycle?.expiryReminderDays ?? 0, ...policy.requestRules.map((r) => r.lifecycle?.expiryReminderDays ?? 0));
  if (maxDays <= 0) return 0;
  const horizon = new Date(w.now.getTime() + maxDays * DAY_MS).toISOString();
  const rows = await w.tx.execute({
    sql: `SELECT id, requester_id, filed_by, expires_at, rule_ids FROM requests
          WHERE status = 'fulfilled' AND expires_at > ? AND expires_at <= ? AND (expiry_reminded_for IS NULL OR expiry_reminded_for <> expires_at)
          ORDER BY expires_at LIMIT ?`,
    args: [w.nowIso, horizon, limit],
  });
  let sent = 0;
  for (const r of rows.rows) {
    const id = String(r.id);
    const expiresAt = String(r.expires_at);
    const days = lifecycleFor(policy, JSON.parse(String(r.rule_ids)) as string[]).expiryReminderDays;
    if (days <= 0 || Date.parse(expiresAt) - w.now.getTime() > days * DAY_MS) continue;
    const claimed = await w.tx.execute({
      sql: 'UPDATE requests SET expiry_reminded_for = expires_at WHERE id = ? AND expires_at = ? AND (expiry_reminded_for IS NULL OR expiry_reminded_for <> expires_at)',
      args: [id, expiresAt],
    });
    if (claimed.rowsAffected === 0) continue;
    const requesterId = String(r.requester_id);
    const people = [requesterId, ...(r.filed_by === null ? [] : [String(r.filed_by)])];
    await appendTimeline(w, id, { kind: 'expiring', personIds: people, expiresAt });
    await w.audit({ actorId: null, action: 'grant.expiry_reminded', subjectType: 'request', subjectId: id, data: { expiresAt, daysBefore: days } });
    await notify(w, { event: 'grant.expiring', requestId: id, eventKey: `${id}:expiring:${expiresAt}`, personIds: people, expiresAt });
    for (const p of people) w.affected.add(p);
    sent++;
  }
  return sent;
}
