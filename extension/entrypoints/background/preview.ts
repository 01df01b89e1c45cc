/**
 * The request preview: what submitting a request would do (who is asked, in which order, caps,
 * blockers), asked of the server (`POST /api/requests/preview`) while the form is open. The answer is
 * kept for a few minutes so the optimistic request made on submit can predict the same stages.
 */
import { requestPreviewBody, requestPreviewResponse, type ObservedPage, type PersonRef, type RequestPreviewResponse, type Result } from '@accesslens/shared';
import { t } from '../../utils/i18n';
import { decideObserved } from './page';
import type { PreviewAnswer } from '../../utils/protocol';
import { ApiFailure } from './api';
import { offeredBundles, previewVariant, type RequesterDeps } from './requester';

export const PREVIEW_TIMEOUT_MS = 3_000;
const KEEP_MS = 10 * 60_000;
const MAX_ENTRIES = 50;
/** The variant of a plain request: my own, for keys only (see `previewVariant`). */
const PLAIN = JSON.stringify([null, null, null]);

interface Entry {
  preview: RequestPreviewResponse;
  at: number;
}

/** Recent previews by (person, connection, keys, duration). In memory: a guess, never a fact. */
export class PreviewCache {
  private entries = new Map<string, Entry>();

  /** `variant`: what else the request says (a bundle, for whom, which grant it extends); '' = plain keys. */
  private static key(personId: string, connectionId: string, permissions: string[], durationDays: number | null, variant: string) {
    return JSON.stringify([personId, connectionId, [...new Set(permissions)].sort(), durationDays, variant]);
  }

  put(
    personId: string,
    connectionId: string,
    permissions: string[],
    durationDays: number | null,
    preview: RequestPreviewResponse,
    now: number,
    variant = PLAIN,
  ) {
    const entry = { preview, at: now };
    this.entries.set(PreviewCache.key(personId, connectionId, permissions, durationDays, variant), entry);
    // A preview asked with the rule's default also answers for the duration it settled on.
    if (durationDays === null) this.entries.set(PreviewCache.key(personId, connectionId, permissions, preview.duration.granted, variant), entry);
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  get(personId: string, connectionId: string, permissions: string[], durationDays: number, now: number, variant = PLAIN): RequestPreviewResponse | null {
    const entry = this.entries.get(PreviewCache.key(personId, connectionId, permissions, durationDays, variant));
    if (!entry || now - entry.at > KEEP_MS) return null;
    return entry.preview;
  }

  /** People the previews named, so a predicted request can show their names before the server's copy. */
  people(): PersonRef[] {
    const byId = new Map<string, PersonRef>();
    for (const { preview } of this.entries.values()) {
      for (const s of preview.stages) for (const p of s.approvers) byId.set(p.id, p);
      for (const w of preview.willNotify) byId.set(w.person.id, w.person);
    }
    return [...byId.values()];
  }

  clear() {
    this.entries.clear();
  }
}

export async function previewRequest(
  deps: RequesterDeps,
  host: string,
  msg: {
    page: ObservedPage;
    permissions: string[];
    durationDays: number | null;
    bundleId?: string | null;
    onBehalfOf?: string | null;
    extendsRequestId?: string | null;
  },
): Promise<Result<PreviewAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const me = view.me;
  const verdict = await decideObserved(view, host, msg.page, deps.now());
  if (verdict.state !== 'ready') return { ok: false, error: { code: 'no_account', message: t('error.noAccount') } };
  const decision = verdict.decision;
  const permissions = [...new Set(msg.permissions)];
  // Only what this page is about: a content script cannot probe the policy for anything else.
  const extended = msg.extendsRequestId
    ? view.requests.find((r) => r.id === msg.extendsRequestId && (r.requesterId === me.id || r.filedBy === me.id) && r.connectionId === decision.connectionId)
    : undefined;
  if (msg.extendsRequestId && !extended) return { ok: false, error: { code: 'not_found', message: t('error.notYours'), field: 'extendsRequestId' } };
  const onPage = (key: string) => decision.rows.some((r) => r.key === key) || (extended?.permissions.includes(key) ?? false);
  if (!permissions.every(onPage)) return { ok: false, error: { code: 'invalid_input', message: t('error.notOnPage'), field: 'permissions' } };
  if (msg.bundleId && !offeredBundles(view, decision).some((b) => b.id === msg.bundleId))
    return { ok: false, error: { code: 'invalid_input', message: t('error.notOnPage'), field: 'bundleId' } };
  const onBehalfOf = msg.onBehalfOf && msg.onBehalfOf !== me.id ? msg.onBehalfOf : null;
  // Only what is set: a plain preview reads as it always did.
  const body = requestPreviewBody.parse({
    connectionId: decision.connectionId,
    permissions,
    durationDays: msg.durationDays,
    ...(msg.bundleId ? { bundleId: msg.bundleId } : {}),
    ...(onBehalfOf ? { onBehalfOf } : {}),
    ...(extended ? { extendsRequestId: extended.id } : {}),
  });
  const variant = previewVariant({ bundleId: msg.bundleId ?? null, onBehalfOf, extendsRequestId: extended?.id ?? null });

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PREVIEW_TIMEOUT_MS);
  try {
    const preview = await replica.call('/api/requests/preview', {
      method: 'POST',
      body,
      schema: requestPreviewResponse,
      signal: controller.signal,
    });
    if (preview === null) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
    deps.previews.put(me.id, decision.connectionId, permissions, msg.durationDays, preview, deps.now().getTime(), variant);
    return { ok: true, preview, offline: false, error: null };
  } catch (e) {
    if (e instanceof ApiFailure) {
      if (e.unauthenticated) return { ok: false, error: { code: 'unauthenticated', message: t('error.sessionEnded') } };
      // Unreachable, overloaded, or an answer we cannot read: the form predicts locally.
      if (e.transient || e.error.code === 'bad_response') return { ok: true, preview: null, offline: true, error: null };
      return { ok: true, preview: null, offline: false, error: e.error };
    }
    if (controller.signal.aborted) return { ok: true, preview: null, offline: true, error: null };
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
