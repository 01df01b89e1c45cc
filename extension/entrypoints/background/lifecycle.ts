/**
 * The request lifecycle from the popup and settings: answer an approver's question, request again after a
 * denial, extend a grant, and out-of-office delegation (the server's `/api/delegations`). Mutations go
 * through the outbox like every other (sent exactly once, even offline); delegations are direct calls.
 */
import {
  delegationResponse,
  delegationsResponse,
  durationChoicesFor,
  requestCreateArgs,
  type AccessRequest,
  type Delegation,
  type PersonRef,
  type Result,
} from '@accesslens/shared';
import { t } from '../../utils/i18n';
import type { RequestAnswer } from '../../utils/protocol';
import { ApiFailure } from './api';
import type { RequesterDeps } from './requester';

type Mine = { ok: true; request: AccessRequest; meId: string } | { ok: false; error: { code: string; message: string; field?: string } };

async function mine(deps: RequesterDeps, requestId: string, statuses: AccessRequest['status'][]): Promise<Mine> {
  const view = await deps.replica.view();
  if (!(await deps.replica.signedIn()) || !view?.me) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const meId = view.me.id;
  const request = view.requests.find((r) => r.id === requestId && (r.requesterId === meId || r.filedBy === meId));
  if (!request || !statuses.includes(request.status)) return { ok: false, error: { code: 'not_found', message: t('error.notYours') } };
  return { ok: true, request, meId };
}

function invalid(issues: { message: string; path: PropertyKey[] }[]): { ok: false; error: { code: string; message: string; field?: string } } {
  const issue = issues[0];
  return { ok: false, error: { code: 'invalid_input', message: issue?.message ?? 'invalid', field: issue?.path.map(String).join('.') } };
}

/**
 * A new request linked to `from` ("Request again": `previousRequestId`; "Extend": `extendsRequestId`), for
 * the same keys on the same connection, shown at once as pending (its stages as the earlier request's).
 */
async function linkedRequest(
  deps: RequesterDeps,
  from: AccessRequest,
  link: { previousRequestId: string } | { extendsRequestId: string },
  msg: { justification: string; durationDays: number },
): Promise<Result<RequestAnswer>> {
  const view = await deps.replica.view();
  const choices = durationChoicesFor(from.permissions, view?.catalog ?? [], from.connectionId);
  if (!choices.includes(msg.durationDays))
    return { ok: false, error: { code: 'invalid_input', message: t('error.durationChoice', { choices: choices.join(', ') }), field: 'durationDays' } };
  const args = requestCreateArgs.safeParse({
    requestId: deps.uuid(),
    connectionId: from.connectionId,
    permissions: from.permissions,
    page: from.page,
    justification: msg.justification,
    evidence: from.evidence,
    durationDays: msg.durationDays,
    ...link,
  });
  if (!args.success) return invalid(args.error.issues);
  const at = deps.now().toISOString();
  const predicted: AccessRequest = {
    ...from,
    id: args.data.requestId,
    justification: args.data.justification,
    durationDays: args.data.durationDays,
    status: 'pending',
    stages: from.stages.map((s) => ({ ...s, approvals: [], decision: null })),
    createdAt: at,
    updatedAt: at,
    decidedAt: null,
    grantedAt: null,
    expiresAt: null,
    fulfilment: null,
    needsInfo: null,
    previousRequestId: 'previousRequestId' in link ? link.previousRequestId : null,
    extendsRequestId: 'extendsRequestId' in link ? link.extendsRequestId : null,
    // The server's timeline comes with its copy (notifications wait for it).
    timeline: undefined,
  };
  await deps.replica.enqueue({
    mutation: { id: deps.uuid(), name: 'request.create', args: args.data },
    queuedAt: at,
    delivered: false,
    predicted,
  });
  return { ok: true, request: predicted };
}

export async function requestAgain(
  deps: RequesterDeps,
  msg: { requestId: string; justification: string; durationDays: number },
): Promise<Result<RequestAnswer>> {
  const found = await mine(deps, msg.requestId, ['denied']);
  if (!found.ok) return found;
  return linkedRequest(deps, found.request, { previousRequestId: found.request.id }, msg);
}

export async function extendGrant(
  deps: RequesterDeps,
  msg: { requestId: string; justification: string; durationDays: number },
): Promise<Result<RequestAnswer>> {
  const found = await mine(deps, msg.requestId, ['fulfilled']);
  if (!found.ok) return found;
  return linkedRequest(deps, found.request, { extendsRequestId: found.request.id }, msg);
}

// ---------- delegation ----------

export interface DelegationsAnswer {
  delegations: Delegation[];
  meId: string;
  /** People the caller's slice names (manager, approvers, requesters): whom a delegate can be chosen from. */
  people: PersonRef[];
}

async function direct<T>(run: () => Promise<T | null>): Promise<Result<{ value: T }>> {
  try {
    const value = await run();
    if (value === null) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
    return { ok: true, value };
  } catch (e) {
    if (e instanceof ApiFailure) return { ok: false, error: e.error };
    throw e;
  }
}

export async function listDelegations(deps: RequesterDeps): Promise<Result<DelegationsAnswer>> {
  const r = await direct(() => deps.replica.call('/api/delegations', { schema: delegationsResponse }));
  if (!r.ok) return r;
  const view = await deps.replica.view();
  const meId = view?.me?.id ?? '';
  const people = (view?.people ?? []).filter((p) => p.id !== meId).sort((a, b) => a.name.localeCompare(b.name));
  return { ok: true, delegations: r.value.delegations, meId, people };
}

export async function createDelegation(
  deps: RequesterDeps,
  msg: { delegateId: string; startsAt: string; endsAt: string; note: string },
): Promise<Result<DelegationsAnswer>> {
  const body = { delegateId: msg.delegateId, startsAt: msg.startsAt, endsAt: msg.endsAt, note: msg.note };
  const r = await direct(() => deps.replica.call('/api/delegations', { method: 'POST', body, schema: delegationResponse }));
  if (!r.ok) return r;
  // Requests waiting on me may have moved to the delegate: catch up.
  void deps.replica.syncNow({ force: true });
  return listDelegations(deps);
}

export async function endDelegation(deps: RequesterDeps, id: string): Promise<Result<DelegationsAnswer>> {
  const r = await direct(() => deps.replica.call(`/api/delegations/${encodeURIComponent(id)}/end`, { method: 'POST', body: {}, schema: delegationResponse }));
  if (!r.ok) return r;
  void deps.replica.syncNow({ force: true });
  return listDelegations(deps);
}
