/** What an approver does from the popup: see the queue and decide. */
import {
  approverQueue,
  decisionRecordArgs,
  myRequests,
  type DecisionOutcome,
  type Result,
} from '@accesslens/shared';
import { invalidInput } from '../../utils/validation';
import { t } from '../../utils/i18n';
import type { DecisionAnswer, PopupStateAnswer } from '../../utils/protocol';
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
    // People a recent preview named (e.g. a group's approvers) until sync brings them.
    people: [...view.people, ...deps.previews.people().filter((p) => !view.people.some((q) => q.id === p.id))],
    connections: view.connections,
    catalog: view.catalog,
    sync,
    failures: failures.filter((f) => f.name !== 'request.create' || !mine.has(f.requestId)),
  };
}

/** How long a decision made with `hold` waits before it is sent: the popup's "Undo" window. */
export const UNDO_MS = 5_000;

export async function submitDecision(
  deps: RequesterDeps,
  msg: { requestId: string; outcome: DecisionOutcome; reason: string | null; durationDays: number | null; hold?: boolean },
): Promise<Result<DecisionAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me)
    return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const request = approverQueue(view, view.me.id).find((r) => r.id === msg.requestId);
  if (!request) return { ok: false, error: { code: 'not_found', message: t('error.notInQueue') } };
  const reason = msg.reason?.trim() ? msg.reason.trim() : null;
  if (msg.outcome === 'deny' && !reason)
    return { ok: false, error: { code: 'invalid_input', message: t('popup.denyReasonRequired'), field: 'reason' } };
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
