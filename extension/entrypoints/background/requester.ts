/** What a requester does from a CRM page: see the page decided, request access, cancel. */
import {
  DEFAULT_LIFECYCLE,
  durationChoicesFor,
  reportsResponse,
  requestAnswerArgs,
  requestCancelArgs,
  requestCreateArgs,
  requestReportProblemArgs,
  type AccessRequest,
  type ApprovalStage,
  type Bundle,
  type ObservedPage,
  type PageDecision,
  type PageVerdict,
  type PersonRef,
  type RequestPreviewResponse,
  type Result,
  type Slice,
} from '@accesslens/shared';
import { invalidInput } from '../../utils/validation';
import { t } from '../../utils/i18n';
import { decideObserved, pageRules, pausedOn } from './page';
import type { OfferedBundle, PageDecideAnswer, ReportsAnswer, RequestAnswer } from '../../utils/protocol';
import { ApiFailure } from './api';
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

/** Names the overlay may show: the approvers and deciders its verdict refers to. */
function namesFor(view: Slice, verdict: PageVerdict, requests: AccessRequest[], extra: PersonRef[]): Record<string, string> {
  const names: Record<string, string> = {};
  if (verdict.state !== 'ready') return names;
  const ids = new Set<string>();
  for (const p of verdict.decision.approvers) ids.add(p.id);
  for (const request of requests) {
    for (const stage of request.stages) {
      stage.approverIds.forEach((id) => ids.add(id));
      stage.approvals.forEach((a) => ids.add(a.deciderId));
      if (stage.decision) ids.add(stage.decision.deciderId);
    }
    // Who was asked, reminded, escalated to; who asked a question; who filed it.
    for (const entry of request.timeline ?? []) {
      entry.personIds.forEach((id) => ids.add(id));
      if (entry.actorId) ids.add(entry.actorId);
    }
    if (request.needsInfo) ids.add(request.needsInfo.askedBy);
    if (request.filedBy) ids.add(request.filedBy);
  }
  // People a preview named (e.g. a group's approvers) until sync brings them.
  for (const p of extra) if (ids.has(p.id)) names[p.id] = p.name;
  for (const p of view.people) if (ids.has(p.id)) names[p.id] = p.name;
  if (view.me && ids.has(view.me.id)) names[view.me.id] = view.me.name;
  return names;
}

/** My requests about any of these keys on this connection, newest first (every status: history stays). */
function historyOf(view: Slice, connectionId: string, keys: string[]): AccessRequest[] {
  const me = view.me;
  if (!me) return [];
  return view.requests
    .filter((r) => isMine(r, me.id) && r.connectionId === connectionId && r.permissions.some((k) => keys.includes(k)))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Every key a bundle grants, its included bundles' too (the CRM's own nesting, e.g. permission set groups). */
export function bundleKeys(bundles: Bundle[], id: string, seen = new Set<string>()): Set<string> {
  const keys = new Set<string>();
  if (seen.has(id)) return keys;
  seen.add(id);
  const bundle = bundles.find((b) => b.id === id);
  if (!bundle) return keys;
  bundle.permissions.forEach((k) => keys.add(k));
  for (const inc of bundle.includes) bundleKeys(bundles, inc, seen).forEach((k) => keys.add(k));
  return keys;
}

/**
 * Bundles that may be asked for whole from this page: those the engine names as granting a missing row,
 * never a profile (it would replace the user's whole profile), with what they add among this page's rows.
 */
export function offeredBundles(view: Slice, decision: PageDecision): OfferedBundle[] {
  const byId = new Map<string, OfferedBundle>();
  const held = new Set(decision.rows.filter((r) => r.state === 'allowed' || r.state === 'granted').map((r) => r.key));
  const pageKeys = new Set(decision.rows.map((r) => r.key));
  const bundles = view.bundles.filter((b) => b.connectionId === decision.connectionId);
  for (const row of decision.rows) {
    if (row.explanation.allowed) continue;
    for (const step of row.explanation.grantableBy) {
      if (step.kind === 'profile' || byId.has(step.bundleId)) continue;
      const keys = bundleKeys(bundles, step.bundleId);
      byId.set(step.bundleId, {
        id: step.bundleId,
        name: step.name,
        kind: step.kind,
        adds: [...keys].filter((k) => pageKeys.has(k) && !held.has(k)),
        total: keys.size,
      });
    }
  }
  return [...byId.values()].sort((a, b) => b.adds.length - a.adds.length || a.total - b.total || a.name.localeCompare(b.name));
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
  const [signedIn, view, sync, failures] = await Promise.all([replica.signedIn(), replica.view(), replica.syncStatus(), replica.failures()]);
  const rules = pageRules(view, host);
  const paused = pausedOn(view, page, deps.version);
  if (!signedIn || !view) return { ok: true, signedIn: false, verdict: null, me: null, sync, names: {}, failures: [], keys: {}, rules, paused };
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
  const history =
    verdict.state === 'ready'
      ? historyOf(
          view,
          verdict.decision.connectionId,
          verdict.decision.rows.map((r) => r.key),
        )
      : [];
  return {
    ok: true,
    signedIn: true,
    verdict,
    me: view.me ? { name: view.me.name } : null,
    sync,
    names: namesFor(view, verdict, history, deps.previews.people()),
    bundles: verdict.state === 'ready' ? offeredBundles(view, verdict.decision) : [],
    history,
    expiryReminderDays: DEFAULT_LIFECYCLE.expiryReminderDays,
    lastImportAt: verdict.state === 'ready' ? (view.connections.find((c) => c.id === verdict.decision.connectionId)?.lastImportAt ?? null) : null,
    keys,
    rules,
    paused,
    // Rejected creates never reach the slice; show them on the page they were made from.
    failures:
      verdict.state === 'ready'
        ? failures.filter(
            (f) => f.name === 'request.create' && !mine.has(f.requestId) && f.permissions.some((k) => verdict.decision.rows.some((r) => r.key === k)),
          )
        : [],
  };
}

/** What the overlay asks to file: keys of the page, a whole bundle, for a report, again, an extension. */
export interface SubmitMessage {
  page: ObservedPage;
  permissions: string[];
  justification: string;
  evidence: string[];
  durationDays: number;
  bundleId?: string | null;
  startsAt?: string | null;
  onBehalfOf?: string | null;
  previousRequestId?: string | null;
  extendsRequestId?: string | null;
}

const fail = (code: string, message: string, field?: string): { ok: false; error: { code: string; message: string; field?: string } } => ({
  ok: false,
  error: { code, message, ...(field ? { field } : {}) },
});

/** Mine: I asked for it, or I filed it for a direct report. */
const isMine = (r: AccessRequest, meId: string) => r.requesterId === meId || r.filedBy === meId;

export async function submitRequest(deps: RequesterDeps, host: string, msg: SubmitMessage): Promise<Result<RequestAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me) return fail('unauthenticated', t('error.notSignedIn'));
  const me = view.me;
  const now = deps.now();
  const verdict = await decideObserved(view, host, msg.page, now);
  if (verdict.state !== 'ready') return fail('no_account', t('error.noAccount'));
  const decision = verdict.decision;
  const bundles = view.bundles.filter((b) => b.connectionId === decision.connectionId);
  let permissions = [...new Set(msg.permissions)];
  let onBehalfOf = msg.onBehalfOf && msg.onBehalfOf !== me.id ? msg.onBehalfOf : null;

  // An extension: a grant of mine on this connection, still in force; its keys are held (that is the point).
  let extended: AccessRequest | null = null;
  if (msg.extendsRequestId) {
    extended = view.requests.find((r) => r.id === msg.extendsRequestId && isMine(r, me.id) && r.connectionId === decision.connectionId) ?? null;
    if (!extended || extended.status !== 'fulfilled') return fail('not_found', t('error.notYours'), 'extendsRequestId');
    if (permissions.length === 0) permissions = [...extended.permissions];
    // A grant I filed for a report is extended for them.
    if (extended.requesterId !== me.id) onBehalfOf = extended.requesterId;
  }
  // Request again: follows a denied request of mine (or of a report, filed by me: again for them).
  if (msg.previousRequestId) {
    const previous = view.requests.find((r) => r.id === msg.previousRequestId && isMine(r, me.id));
    if (!previous || previous.status !== 'denied') return fail('not_found', t('error.notYours'), 'previousRequestId');
    if (previous.requesterId !== me.id) onBehalfOf = previous.requesterId;
  }
  let bundle: Bundle | null = null;
  if (msg.bundleId) {
    bundle = bundles.find((b) => b.id === msg.bundleId) ?? null;
    if (!bundle) return fail('not_found', t('error.notOnPage'), 'bundleId');
    if (bundle.kind === 'profile') return fail('invalid_input', t('request.errorProfileBundle'), 'bundleId');
  }
  for (const key of extended ? [] : permissions) {
    const row = decision.rows.find((r) => r.key === key);
    if (!row) return fail('invalid_input', t('error.notOnPage'), 'permissions');
    // For a report, the server knows what they hold; for me, the page says.
    if (!onBehalfOf) {
      if (row.state === 'allowed' || row.state === 'granted') return fail('already_held', t('error.alreadyHeld'), 'permissions');
      if (row.state === 'pending') return fail('duplicate_request', t('error.duplicate'), 'permissions');
    }
    const entry = view.catalog.find((c) => c.connectionId === decision.connectionId && c.key === key);
    if (!entry?.requestable) return fail('not_requestable', t('error.notRequestable'), 'permissions');
  }
  const choices = durationChoicesFor(permissions, view.catalog, decision.connectionId);
  if (!choices.includes(msg.durationDays)) return fail('invalid_input', t('error.durationChoice', { choices: choices.join(', ') }), 'durationDays');

  const page = { url: msg.page.url, object: msg.page.object, recordId: msg.page.recordId, denialText: msg.page.denialText };
  const args = requestCreateArgs.safeParse({
    requestId: deps.uuid(),
    connectionId: decision.connectionId,
    permissions,
    page,
    justification: msg.justification,
    evidence: msg.evidence,
    durationDays: msg.durationDays,
    bundleId: bundle?.id ?? null,
    startsAt: msg.startsAt ?? null,
    onBehalfOf,
    previousRequestId: msg.previousRequestId ?? null,
    extendsRequestId: extended?.id ?? null,
  });
  if (!args.success) return invalidInput(args.error);
  if (args.data.startsAt && Date.parse(args.data.startsAt) <= now.getTime()) return fail('invalid_input', t('request.errorStartInPast'), 'startsAt');
  const at = now.toISOString();
  const variant = previewVariant({ bundleId: bundle?.id ?? null, onBehalfOf, extendsRequestId: extended?.id ?? null });
  const preview = deps.previews.get(me.id, decision.connectionId, permissions, args.data.durationDays, now.getTime(), variant);
  // A bundle asks for what it adds: the server's preview says which; offline, what the page can tell.
  const asked =
    permissions.length > 0
      ? permissions
      : (preview?.bundle?.adds ?? (bundle ? offeredBundles(view, decision).find((b) => b.id === bundle.id)?.adds : undefined) ?? []);
  const predictedKeys = asked.length > 0 ? asked : bundle ? [...bundleKeys(bundles, bundle.id)] : permissions;
  const auto = preview?.autoApproved === true && preview.problems.length === 0 && !args.data.startsAt;
  const predicted: AccessRequest = {
    id: args.data.requestId,
    requesterId: onBehalfOf ?? me.id,
    connectionId: decision.connectionId,
    accountId: decision.accountId,
    permissions: predictedKeys,
    page,
    justification: args.data.justification,
    evidence: args.data.evidence,
    durationDays: args.data.durationDays,
    status: auto ? 'approved' : 'pending',
    stages: predictStages(
      preview,
      decision.approvers.map((p) => p.id),
    ),
    createdAt: at,
    updatedAt: at,
    decidedAt: auto ? at : null,
    // Approved automatically is not yet held: the server sets these when the CRM confirms (docs/api.md).
    grantedAt: null,
    expiresAt: null,
    bundleId: bundle?.id ?? null,
    startsAt: args.data.startsAt ?? null,
    filedBy: onBehalfOf ? me.id : null,
    previousRequestId: args.data.previousRequestId ?? null,
    extendsRequestId: extended?.id ?? null,
    needsInfo: null,
    timeline: [],
  };
  await replica.enqueue({
    mutation: { id: deps.uuid(), name: 'request.create', args: args.data },
    queuedAt: at,
    delivered: false,
    // A report's request is theirs (their account): the server's copy comes with the next pull.
    predicted: onBehalfOf ? null : predicted,
  });
  return { ok: true, request: predicted };
}

/** The preview cache's variant for a request that is not plain keys of my own. */
export function previewVariant(o: { bundleId?: string | null; onBehalfOf?: string | null; extendsRequestId?: string | null }): string {
  return JSON.stringify([o.bundleId ?? null, o.onBehalfOf ?? null, o.extendsRequestId ?? null]);
}

/** needs-info: the requester (or the manager who filed it) answers the approver's question. */
export async function answerRequest(deps: RequesterDeps, msg: { requestId: string; answer: string }): Promise<Result<RequestAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me) return fail('unauthenticated', t('error.notSignedIn'));
  const meId = view.me.id;
  const request = view.requests.find((r) => r.id === msg.requestId && isMine(r, meId));
  if (!request) return fail('not_found', t('error.notYours'));
  if (request.status !== 'needs-info') return fail('conflict', t('request.errorNotWaiting'));
  const args = requestAnswerArgs.safeParse({ requestId: request.id, answer: msg.answer });
  if (!args.success) return fail('invalid_input', t('request.answerRequired'), 'answer');
  await replica.enqueue({
    mutation: { id: deps.uuid(), name: 'request.answer', args: args.data },
    queuedAt: deps.now().toISOString(),
    delivered: false,
    predicted: null,
  });
  const updated = (await replica.view())?.requests.find((r) => r.id === request.id) ?? request;
  return { ok: true, request: updated };
}

/** A manager's direct reports, from the server (empty for anyone who manages nobody, or offline). */
export async function directReports(deps: RequesterDeps): Promise<Result<ReportsAnswer>> {
  const { replica } = deps;
  if (!(await replica.signedIn())) return fail('unauthenticated', t('error.notSignedIn'));
  try {
    const answer = await replica.call('/api/me/reports', { schema: reportsResponse });
    return { ok: true, people: answer?.people ?? [] };
  } catch (e) {
    if (e instanceof ApiFailure) return { ok: true, people: [] };
    throw e;
  }
}

export async function cancelRequest(deps: RequesterDeps, requestId: string): Promise<Result<RequestAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const meId = view.me.id;
  const request = view.requests.find((r) => r.id === requestId && isMine(r, meId));
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
export async function reportProblem(deps: RequesterDeps, host: string, msg: { requestId: string; page: ObservedPage }): Promise<Result<RequestAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const meId = view.me.id;
  const request = view.requests.find((r) => r.id === msg.requestId && r.requesterId === meId);
  // Only a grant of the connection this page belongs to.
  const verdict = await decideObserved(view, host, msg.page, deps.now());
  if (
    !request ||
    (request.status !== 'fulfilled' && request.status !== 'approved') ||
    verdict.state !== 'ready' ||
    verdict.decision.connectionId !== request.connectionId
  )
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
