/** How requests read to people, shared by the overlay and the popup. */
import type { AccessRequest, ApprovalStage, FulfilmentReason, TimelineEntry } from '@accesslens/shared';
import { DEFAULT_STAGE_LABELS } from '@accesslens/shared/constants';
import { formatDate, formatRelative, joinNames, t } from './i18n';

export const OPEN_STATUSES: ReadonlySet<AccessRequest['status']> = new Set(['pending', 'needs-info']);

export type NameOf = (id: string) => string | undefined;

export function isOpen(r: AccessRequest): boolean {
  return OPEN_STATUSES.has(r.status);
}

/** The stage a request waits on: the first one not yet concluded (stages run in order). */
export function openStageOf(r: AccessRequest): ApprovalStage | null {
  return r.stages.find((s) => s.decision === null) ?? null;
}

/** Who must still decide an open request: the open stage's approvers who have not approved it yet. */
export function waitingForIds(r: AccessRequest): string[] {
  const stage = openStageOf(r);
  if (!stage) return [];
  return stage.approverIds.filter((id) => !stage.approvals.some((a) => a.deciderId === id));
}

export function namesOf(ids: string[], nameOf: NameOf): string {
  if (ids.length === 0) return t('people.admins');
  return joinNames(ids.map((id) => nameOf(id) ?? t('people.unknown')));
}

/** A stage's name for people: its label, or what kind of stage it is. */
export function stageLabel(stage: Pick<ApprovalStage, 'kind' | 'label'>): string {
  const label = stage.label.trim();
  // The server's labels are English; its default name for a kind of stage has a translation.
  if (!label || label.toLowerCase() === DEFAULT_STAGE_LABELS[stage.kind]) return t(`stage.${stage.kind}`);
  return label;
}

/** Approvals still needed to conclude a stage. */
export function stillNeeded(stage: ApprovalStage): number {
  return Math.max(0, stage.required - stage.approvals.length);
}

/** Everyone who has approved so far, in order, once each. */
export function approvedSoFar(r: AccessRequest): string[] {
  const ids: string[] = [];
  for (const s of r.stages) for (const a of s.approvals) if (a.outcome === 'approve' && !ids.includes(a.deciderId)) ids.push(a.deciderId);
  return ids;
}

/** The decision that closed a request, if any (the deny, or the last approval). */
export function closingDecision(r: AccessRequest) {
  const decided = r.stages.filter((s) => s.decision !== null).map((s) => s.decision!);
  return decided.find((d) => d.outcome === 'deny') ?? decided.at(-1) ?? null;
}

/** Approved without anyone deciding: the policy approved it automatically. */
export function approvedAutomatically(r: AccessRequest): boolean {
  return (r.status === 'approved' || r.status === 'fulfilled') && r.stages.every((s) => s.approvals.length === 0 && s.decision === null);
}

/** "waiting for Dan Wu (Deal Desk)", "waiting for 2 of Dan Wu, Eve Park (Legal)", "escalated to Cara Diaz (Manager)". */
export function waitingText(r: AccessRequest, nameOf: NameOf, fallbackApprovers: string[] = []): string {
  const stage = openStageOf(r);
  const ids = waitingForIds(r);
  const names = namesOf(ids.length ? ids : fallbackApprovers, nameOf);
  if (!stage) return t('status.waitingFor', { names });
  const need = stillNeeded(stage);
  let text: string;
  if (stage.escalated) text = t('status.escalatedTo', { names });
  else if (need > 1 && ids.length > need) text = t('status.waitingForN', { n: need, names });
  else text = t('status.waitingFor', { names });
  const multi = r.stages.length > 1 || stage.required > 1 || stage.escalated || stage.kind !== 'manager';
  return multi ? t('status.withLabel', { names: text, label: stageLabel(stage) }) : text;
}

/**
 * One line for a request's state: "Pending — waiting for Ben Ortiz", "Approved by Ben Ortiz · waiting
 * for Dan Wu (Deal Desk)", "Granted until …", "Approved automatically until …", "Denied by …: …".
 */
export function statusLine(r: AccessRequest, nameOf: NameOf, fallbackApprovers: string[] = []): string {
  switch (r.status) {
    case 'needs-info':
    case 'pending': {
      // An older server's copy without the question reads as pending.
      if (r.status === 'needs-info' && r.needsInfo)
        return t('request.status.needsInfo', { name: nameOf(r.needsInfo.askedBy) ?? t('people.unknown'), question: r.needsInfo.question });
      const approved = approvedSoFar(r);
      const waiting = waitingText(r, nameOf, fallbackApprovers);
      if (approved.length === 0) {
        // The single-stage wording people know: "Pending — waiting for Ben Ortiz".
        if (r.stages.length <= 1 && !openStageOf(r)?.escalated && (openStageOf(r)?.required ?? 1) <= 1)
          return t('status.pending', { names: namesOf(waitingForIds(r).length ? waitingForIds(r) : fallbackApprovers, nameOf) });
        return t('status.pendingProgress', { progress: waiting });
      }
      return `${t('status.approvedBy', { names: namesOf(approved, nameOf) })} · ${waiting}`;
    }
    case 'approved': {
      // Approved, but the CRM does not hold it yet: say what is happening to it.
      const f = r.fulfilment;
      const who = approvedAutomatically(r) ? t('status.approvedAutomatically') : t('status.approvedBy', { names: namesOf(approvedSoFar(r), nameOf) });
      if (f?.state === 'admin-task') return `${who} · ${t('fulfilment.adminTask')}`;
      if (f?.state === 'retrying' && f.reason) return `${who} · ${t('fulfilment.retrying', { reason: fulfilmentReasonText(f.reason.code) })}`;
      if (f?.state === 'problem-reported') return t('fulfilment.problemReported');
      if (f || !r.expiresAt) return `${who} · ${t('fulfilment.applying')}`;
      // Before fulfilment existed an approval was a grant at once.
      return approvedAutomatically(r)
        ? t('status.autoApproved', { date: formatDate(r.expiresAt) })
        : t('status.grantedUntil', { date: formatDate(r.expiresAt) });
    }
    case 'fulfilled':
      if (r.fulfilment?.state === 'problem-reported') return t('fulfilment.problemReported');
      if (r.fulfilment?.state === 'removing') return t('fulfilment.removing');
      if (approvedAutomatically(r)) return r.expiresAt ? t('status.autoApproved', { date: formatDate(r.expiresAt) }) : t('status.autoApprovedOpenEnded');
      return r.expiresAt ? t('status.grantedUntil', { date: formatDate(r.expiresAt) }) : t('status.grantedOpenEnded');
    case 'denied': {
      const d = closingDecision(r);
      return t('status.denied', {
        name: (d && nameOf(d.deciderId)) ?? t('people.unknown'),
        reason: d?.reason ?? '',
      });
    }
    case 'cancelled':
      return t('status.cancelled');
    case 'expired':
      return t('status.expired');
    case 'revoked':
      return t('status.revoked');
  }
}

export type StageState = 'approved' | 'denied' | 'open' | 'later';

/** Each stage of a request in order, with where it stands: for the popup's per-stage progress. */
export function stageProgress(r: AccessRequest): { stage: ApprovalStage; index: number; state: StageState }[] {
  const open = r.stages.findIndex((s) => s.decision === null);
  return r.stages.map((stage, index) => ({
    stage,
    index,
    state: stage.decision?.outcome === 'deny' ? 'denied' : stage.decision ? 'approved' : index === open && isOpen(r) ? 'open' : 'later',
  }));
}

/** Why a grant waits on an administrator, or why applying it failed, in the person's language. */
export function fulfilmentReasonText(code: FulfilmentReason['code']): string {
  return t(`fulfilment.reason.${code}`);
}

/**
 * One line per step of a request's timeline, as the server recorded it: "Ben Ortiz was reminded 2 hours
 * ago", "Escalated to Cara Diaz yesterday", "Ben Ortiz asked 5 minutes ago: “Which account?”".
 */
export function timelineLine(e: TimelineEntry, nameOf: NameOf, now: Date = new Date(), requesterId: string | null = null): string {
  const when = formatRelative(e.at, now);
  const actor = e.actorId ? (nameOf(e.actorId) ?? t('people.unknown')) : t('people.admins');
  const names = namesOf(e.personIds, nameOf);
  const text = e.text ?? '';
  const date = e.expiresAt ? formatDate(e.expiresAt) : '';
  switch (e.kind) {
    case 'submitted':
      // Filed by a manager for their report: say who.
      return e.actorId && requesterId && e.actorId !== requesterId
        ? t('request.timeline.submittedBy', { actor, when })
        : t('request.timeline.submitted', { when });
    case 'auto-approved':
    case 'timed-out':
    case 'cancelled':
    case 'started':
    case 'fulfilled':
    case 'expired':
    case 'revoked':
      return t(`request.timeline.${e.kind}`, { when });
    case 'approved':
      return t('request.timeline.approved', { actor, when });
    case 'routed':
    case 'escalated':
      return t(`request.timeline.${e.kind}`, { names, when });
    case 'denied':
    case 'needs-info':
    case 'answered':
      return t(`request.timeline.${e.kind}`, { actor, when, text });
    case 'reminded':
      return e.personIds.length > 1 ? t('request.timeline.remindedMany', { names, when }) : t('request.timeline.reminded', { names, when });
    case 'delegated':
      return t('request.timeline.delegated', { actor, names, when });
    case 'expiring':
    case 'extended':
      return t(`request.timeline.${e.kind}`, { when, date });
  }
}

/** The timeline lines of a request, newest first (at most `limit`). */
export function timelineLines(
  r: AccessRequest,
  nameOf: NameOf,
  limit = Infinity,
  now: Date = new Date(),
): { at: string; kind: TimelineEntry['kind']; text: string }[] {
  return [...(r.timeline ?? [])]
    .reverse()
    .slice(0, limit)
    .map((e) => ({ at: e.at, kind: e.kind, text: timelineLine(e, nameOf, now, r.requesterId) }));
}
