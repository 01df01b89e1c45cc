/** What a requester does from a CRM page: see the page decided, request access, cancel. */
import {
  durationChoicesFor,
  requestCancelArgs,
  requestCreateArgs,
  requestReportProblemArgs,
  type AccessRequest,
  type ApprovalStage,
  type ObservedPage,
  type PageVerdict,
  type PersonRef,
  type RequestPreviewResponse,
  type Result,
  type Slice,
} from '@accesslens/shared';
import { invalidInput } from '../../utils/validation';
import { t } from '../../utils/i18n';
import { decideObserved, pageRules, pausedOn } from './page';
import type { PageDecideAnswer, RequestAnswer } from '../../utils/protocol';
import type { PreviewCache } from './preview';
import type { Replica } from './sync';

export interface RequesterDeps {
  replica: Replica;
  /** The installed extension's version (kill switches apply below a fixed version). */
  version: string;
  now: () => Date;
  uuid: () => string;
  /** Recent server previews, to predict a new request's stages. */
  previews: PreviewCache;
}

const DAY_MS = 86_400_000;

/** Names the overlay may show: the approvers and deciders its verdict refers to. */
function namesFor(view: Slice, verdict: PageVerdict, extra: PersonRef[]): Record<string, string> {
  const names: Record<string, string> = {};
  if (verdict.state !== 'ready') return names;
  const ids = new Set<string>();
  for (const p of verdict.decision.approvers) ids.add(p.id);
  for (const row of verdict.decision.rows)
    for (const stage of row.request?.stages ?? []) {
      stage.approverIds.forEach((id) => ids.add(id));
      stage.approvals.forEach((a) => ids.add(a.deciderId));
      if (stage.decision) ids.add(stage.decision.deciderId);
    }
  // People a preview named (e.g. a group's approvers) until sync brings them.
  for (const p of extra) if (ids.has(p.id)) names[p.id] = p.name;
  for (const p of view.people) if (ids.has(p.id)) names[p.id] = p.name;
  if (view.me && ids.has(view.me.id)) names[view.me.id] = view.me.name;
  return names;
}

/** The stages the server is expected to create: from its preview, else one manager stage. */
export function predictStages(preview: RequestPreviewResponse | null, managerIds: string[]): ApprovalStage[] {
  if (preview?.autoApproved && preview.problems.length === 0) return [];
  if (preview && preview.stages.length > 0)
    return [...preview.stages]
      .sort((a, b) => a.index - b.index)
      .map((s) => ({
        kind: s.kind,
        label: s.label,
        keys: s.keys,
        approverIds: s.approvers.map((p) => p.id),
        required: Math.max(1, s.required),
        approvals: [],
        decision: null,
        escalated: s.escalated,
      }));
  // The server routes to the manager (or, without one, to the connection's admins).
  return [
    {
      kind: 'manager',
      label: t('stage.manager'),
      keys: [],
      approverIds: managerIds,
      required: 1,
      approvals: [],
      decision: null,
      escalated: false,
    },
  ];
}

/** Decides from the local slice only: this is on the page's critical path, no network. */
export async function pageDecide(deps: RequesterDeps, host: string, page: ObservedPage): Promise<Result<PageDecideAnswer>> {
  const { replica } = deps;
  const [signedIn, view, sync, failures] = await Promise.all([
    replica.signedIn(),
    replica.view(),
    replica.syncStatus(),
    replica.failures(),
  ]);
  const rules = pageRules(view, host);
  const paused = pausedOn(view, page, deps.version);
  if (!signedIn || !view)
    return { ok: true, signedIn: false, verdict: null, me: null, sync, names: {}, failures: [], keys: {}, rules, paused };
  const verdict = await decideObserved(view, host, page, deps.now());
  const keys: PageDecideAnswer['keys'] = {};
  if (verdict.state === 'ready') {
    const { connectionId } = verdict.decision;
    for (const row of verdict.decision.rows)
      keys[row.key] = {
        requestable: view.catalog.find((c) => c.connectionId === connectionId && c.key === row.key)?.requestable ?? false,
        durationChoices: durationChoicesFor([row.key], view.catalog, connectionId),
      };
  }
  const mine = new Set(view.requests.filter((r) => r.requesterId === view.me?.id).map((r) => r.id));
  return {
    ok: true,
    signedIn: true,
    verdict,
    me: view.me ? { name: view.me.name } : null,
    sync,
    names: namesFor(view, verdict, deps.previews.people()),
    keys,
    rules,
    paused,
    // Rejected creates never reach the slice; show them on the page they were made from.
    failures:
      verdict.state === 'ready'
        ? failures.filter(
            (f) =>
              f.name === 'request.create' &&
              !mine.has(f.requestId) &&
              f.permissions.some((k) => verdict.decision.rows.some((r) => r.key === k)),
          )
        : [],
  };
}

export async function submitRequest(
  deps: RequesterDeps,
  host: string,
  msg: { page: ObservedPage; permissions: string[]; justification: string; evidence: string[]; durationDays: number },
): Promise<Result<RequestAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me)
    return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const me = view.me;
  const now = deps.now();
  const verdict = await decideObserved(view, host, msg.page, now);
  if (verdict.state !== 'ready') return { ok: false, error: { code: 'no_account', message: t('error.noAccount') } };
  const decision = verdict.decision;
  const permissions = [...new Set(msg.permissions)];
  for (const key of permissions) {
    const row = decision.rows.find((r) => r.key === key);
    if (!row) return { ok: false, error: { code: 'invalid_input', message: t('error.notOnPage'), field: 'permissions' } };
    if (row.state === 'allowed' || row.state === 'granted')
      return { ok: false, error: { code: 'already_held', message: t('error.alreadyHeld'), field: 'permissions' } };
    if (row.state === 'pending')
      return { ok: false, error: { code: 'duplicate_request', message: t('error.duplicate'), field: 'permissions' } };
    const entry = view.catalog.find((c) => c.connectionId === decision.connectionId && c.key === key);
    if (!entry?.requestable)
      return { ok: false, error: { code: 'not_requestable', message: t('error.notRequestable'), field: 'permissions' } };
  }
  const choices = durationChoicesFor(permissions, view.catalog, decision.connectionId);
  if (!choices.includes(msg.durationDays))
    return {
      ok: false,
      error: { code: 'invalid_input', message: t('error.durationChoice', { choices: choices.join(', ') }), field: 'durationDays' },
    };

  const page = { url: msg.page.url, object: msg.page.object, recordId: msg.page.recordId, denialText: msg.page.denialText };
  const args = requestCreateArgs.safeParse({
    requestId: deps.uuid(),
    connectionId: decision.connectionId,
    permissions,
    page,
    justification: msg.justification,
    evidence: msg.evidence,
    durationDays: msg.durationDays,
  });
  if (!args.success) return invalidInput(args.error);
  const at = now.toISOString();
  const preview = deps.previews.get(me.id, decision.connectionId, permissions, args.data.durationDays, now.getTime());
  const auto = preview?.autoApproved === true && preview.problems.length === 0;
  const predicted: AccessRequest = {
    id: args.data.requestId,
    requesterId: me.id,
    connectionId: decision.connectionId,
    accountId: decision.accountId,
    permissions,
    page,
    justification: args.data.justification,
    evidence: args.data.evidence,
    durationDays: args.data.durationDays,
    status: auto ? 'approved' : 'pending',
    stages: predictStages(preview, decision.approvers.map((p) => p.id)),
    createdAt: at,
    updatedAt: at,
    decidedAt: auto ? at : null,
    grantedAt: auto ? at : null,
    expiresAt: auto ? new Date(now.getTime() + args.data.durationDays * DAY_MS).toISOString() : null,
  };
  await replica.enqueue({
    mutation: { id: deps.uuid(), name: 'request.create', args: args.data },
    queuedAt: at,
    delivered: false,
    predicted,
  });
  return { ok: true, request: predicted };
}

export async function cancelRequest(deps: RequesterDeps, requestId: string): Promise<Result<RequestAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me)
    return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const meId = view.me.id;
  const request = view.requests.find((r) => r.id === requestId && r.requesterId === meId);
  if (!request || (request.status !== 'pending' && request.status !== 'needs-info'))
    return { ok: false, error: { code: 'not_found', message: t('error.notYours') } };
  const args = requestCancelArgs.safeParse({ requestId });
  if (!args.success) return { ok: false, error: { code: 'invalid_input', message: t('error.notYours') } };
  await replica.enqueue({
    mutation: { id: deps.uuid(), name: 'request.cancel', args: args.data },
    queuedAt: deps.now().toISOString(),
    delivered: false,
    predicted: null,
  });
  const updated = (await replica.view())?.requests.find((r) => r.id === requestId) ?? request;
  return { ok: true, request: updated };
}

/**
 * "Report a problem with this grant": the requester's page still refuses what the CRM should now allow.
 * Sent with what the page showed — its URL (no query), object, record id and the CRM's own refusal.
 */
export async function reportProblem(
  deps: RequesterDeps,
  host: string,
  msg: { requestId: string; page: ObservedPage },
): Promise<Result<RequestAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me)
    return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const meId = view.me.id;
  const request = view.requests.find((r) => r.id === msg.requestId && r.requesterId === meId);
  // Only a grant of the connection this page belongs to.
  const verdict = await decideObserved(view, host, msg.page, deps.now());
  if (!request || (request.status !== 'fulfilled' && request.status !== 'approved') || verdict.state !== 'ready' || verdict.decision.connectionId !== request.connectionId)
    return { ok: false, error: { code: 'not_found', message: t('error.notYours') } };
  const page = { url: msg.page.url, object: msg.page.object, recordId: msg.page.recordId, denialText: msg.page.denialText };
  const args = requestReportProblemArgs.safeParse({ requestId: request.id, page });
  if (!args.success) return { ok: false, error: { code: 'invalid_input', message: t('error.invalidMessage') } };
  await replica.enqueue({
    mutation: { id: deps.uuid(), name: 'request.report-problem', args: args.data },
    queuedAt: deps.now().toISOString(),
    delivered: false,
    predicted: null,
  });
  return { ok: true, request };
}
