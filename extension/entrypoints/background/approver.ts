/** What an approver does from the popup: see the queue and decide. */
import { approverQueue, decisionRecordArgs, myRequests, type DecisionOutcome, type Result, type Slice } from '@accesslens/shared';
import { invalidInput } from '../../utils/validation';
import { t } from '../../utils/i18n';
import type { DecisionAnswer, HistoryItem, PopupStateAnswer } from '../../utils/protocol';
import type { RequesterDeps } from './requester';

export async function popupState(deps: RequesterDeps): Promise<Result<PopupStateAnswer>> {
  const { replica } = deps;
  const [signedIn, view, sync, failures, serverUrl] = await Promise.all([
    replica.signedIn(),
    replica.view(),
    replica.syncStatus(),
    replica.failures(),
    replica.serverUrl(),
  ]);
  if (!signedIn || !view?.me || !serverUrl) return { ok: true, signedIn: false, serverUrl, failures: [] };
  const mine = new Set(view.requests.map((r) => r.id));
  return {
    ok: true,
    signedIn: true,
    serverUrl,
    me: view.me,
    queue: approverQueue(view, view.me.id),
    myRequests: myRequests(view, view.me.id),
    history: myDecisions(view, view.me.id),
    // People a recent preview named (e.g. a group's approvers) until sync brings them.
    people: [...view.people, ...deps.previews.people().filter((p) => !view.people.some((q) => q.id === p.id))],
    connections: view.connections,
    catalog: view.catalog,
    sync,
    failures: failures.filter((f) => f.name !== 'request.create' || !mine.has(f.requestId)),
  };
}

const HISTORY_KINDS = { approved: 'approve', denied: 'deny', 'needs-info': 'needs-info' } as const;
const MAX_HISTORY = 100;

/**
 * "My decisions": what `meId` decided on others' requests, newest first — from the server's timeline, and
 * from the stages for decisions the outbox still holds (not yet on any timeline).
 */
export function myDecisions(view: Slice, meId: string): HistoryItem[] {
  const items: HistoryItem[] = [];
  for (const r of view.requests) {
    if (r.requesterId === meId) continue;
    const seen = new Set<string>();
    for (const e of r.timeline ?? []) {
      if (e.actorId !== meId || !(e.kind in HISTORY_KINDS)) continue;
      const outcome = HISTORY_KINDS[e.kind as keyof typeof HISTORY_KINDS];
      seen.add(`${outcome}:${e.stage ?? ''}`);
      items.push({ requestId: r.id, outcome, at: e.at, text: e.text, request: r });
    }
    r.stages.forEach((stage, index) => {
      for (const d of [...stage.approvals, ...(stage.decision?.outcome === 'deny' ? [stage.decision] : [])])
        if (d.deciderId === meId && !seen.has(`${d.outcome}:${index}`)) {
          seen.add(`${d.outcome}:${index}`);
          items.push({ requestId: r.id, outcome: d.outcome, at: d.decidedAt, text: d.reason, request: r });
        }
    });
    if (r.needsInfo?.askedBy === meId && !seen.has(`needs-info:${r.needsInfo.stage}`))
      items.push({ requestId: r.id, outcome: 'needs-info', at: r.needsInfo.askedAt, text: r.needsInfo.question, request: r });
  }
  return items.sort((a, b) => b.at.localeCompare(a.at)).slice(0, MAX_HISTORY);
}

/** How long a decision made with `hold` waits before it is sent: the popup's "Undo" window. */
export const UNDO_MS = 5_000;

export async function submitDecision(
  deps: RequesterDeps,
  msg: { requestId: string; outcome: DecisionOutcome; reason: string | null; durationDays: number | null; hold?: boolean },
): Promise<Result<DecisionAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const request = approverQueue(view, view.me.id).find((r) => r.id === msg.requestId);
  if (!request) return { ok: false, error: { code: 'not_found', message: t('error.notInQueue') } };
  const reason = msg.reason?.trim() ? msg.reason.trim() : null;
  if (msg.outcome === 'deny' && !reason) return { ok: false, error: { code: 'invalid_input', message: t('popup.denyReasonRequired'), field: 'reason' } };
  if (msg.outcome === 'needs-info' && !reason) return { ok: false, error: { code: 'invalid_input', message: t('popup.questionRequired'), field: 'reason' } };
  let durationDays = msg.outcome === 'approve' ? msg.durationDays : null;
  if (durationDays !== null && durationDays > request.durationDays)
    return {
      ok: false,
      error: { code: 'invalid_input', message: t('error.approveLonger', { n: request.durationDays }), field: 'durationDays' },
    };
  // Approving for exactly what was asked is not a shortening.
  if (durationDays === request.durationDays) durationDays = null;
  const args = decisionRecordArgs.safeParse({ requestId: msg.requestId, outcome: msg.outcome, reason, durationDays });
  if (!args.success) return invalidInput(args.error);
  const now = deps.now();
  const mutationId = deps.uuid();
  await replica.enqueue({
    mutation: { id: mutationId, name: 'decision.record', args: args.data },
    queuedAt: now.toISOString(),
    delivered: false,
    predicted: null,
    ...(msg.hold ? { sendAfter: now.getTime() + UNDO_MS } : {}),
  });
  const updated = (await replica.view())?.requests.find((r) => r.id === msg.requestId) ?? request;
  return { ok: true, request: updated, mutationId };
}

/** "Undo": withdraws held decisions not yet sent. */
export async function undoDecisions(deps: RequesterDeps, mutationIds: string[]): Promise<Result<{ withdrawn: number }>> {
  const withdrawn = await deps.replica.withdraw(mutationIds);
  if (withdrawn === 0) return { ok: false, error: { code: 'already_sent', message: t('popup.undoTooLate') } };
  return { ok: true, withdrawn };
}
