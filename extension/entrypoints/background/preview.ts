/**
 * The request preview: what submitting a request would do (who is asked, in which order, caps,
 * blockers), asked of the server (`POST /api/requests/preview`) while the form is open. The answer is
 * kept for a few minutes so the optimistic request made on submit can predict the same stages.
 */
import {
  requestPreviewBody,
  requestPreviewResponse,
  type ObservedPage,
  type PersonRef,
  type RequestPreviewResponse,
  type Result,
} from '@accesslens/shared';
import { t } from '../../utils/i18n';
import { decideObserved } from './page';
import type { PreviewAnswer } from '../../utils/protocol';
import { ApiFailure } from './api';
import type { RequesterDeps } from './requester';

export const PREVIEW_TIMEOUT_MS = 3_000;
const KEEP_MS = 10 * 60_000;
const MAX_ENTRIES = 50;

interface Entry {
  preview: RequestPreviewResponse;
  at: number;
}

/** Recent previews by (person, connection, keys, duration). In memory: a guess, never a fact. */
export class PreviewCache {
  private entries = new Map<string, Entry>();

  private static key(personId: string, connectionId: string, permissions: string[], durationDays: number | null) {
    return JSON.stringify([personId, connectionId, [...new Set(permissions)].sort(), durationDays]);
  }

  put(personId: string, connectionId: string, permissions: string[], durationDays: number | null, preview: RequestPreviewResponse, now: number) {
    const entry = { preview, at: now };
    this.entries.set(PreviewCache.key(personId, connectionId, permissions, durationDays), entry);
    // A preview asked with the rule's default also answers for the duration it settled on.
    if (durationDays === null)
      this.entries.set(PreviewCache.key(personId, connectionId, permissions, preview.duration.granted), entry);
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  get(personId: string, connectionId: string, permissions: string[], durationDays: number, now: number): RequestPreviewResponse | null {
    const entry = this.entries.get(PreviewCache.key(personId, connectionId, permissions, durationDays));
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
  msg: { page: ObservedPage; permissions: string[]; durationDays: number | null },
): Promise<Result<PreviewAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!(await replica.signedIn()) || !view?.me)
    return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const me = view.me;
  const verdict = await decideObserved(view, host, msg.page, deps.now());
  if (verdict.state !== 'ready') return { ok: false, error: { code: 'no_account', message: t('error.noAccount') } };
  const decision = verdict.decision;
  const permissions = [...new Set(msg.permissions)];
  // Only what this page is about: a content script cannot probe the policy for anything else.
  if (!permissions.every((key) => decision.rows.some((r) => r.key === key)))
    return { ok: false, error: { code: 'invalid_input', message: t('error.notOnPage'), field: 'permissions' } };
  const body = requestPreviewBody.parse({ connectionId: decision.connectionId, permissions, durationDays: msg.durationDays });

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
    deps.previews.put(me.id, decision.connectionId, permissions, msg.durationDays, preview, deps.now().getTime());
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
