/**
 * What approval does: the grant goes to the CRM now (a fulfilment job or admin task), at the access
 * window's start (scheduled `grant.start`), or — for an extension of a grant still in force — the grant's
 * end moves instead (nothing changes in the CRM: the access is held already).
 */
import type { AccessRequest } from '@accesslens/shared';
import { queueGrant } from '../connectors/fulfilment.ts';
import type { FindingsService } from '../findings/service.ts';
import { DAY_MS, loadRequest } from '../mutations/requests.ts';
import type { WriteContext } from '../write.ts';
import { notify } from './outbox.ts';
import { scheduleWork } from './schedule.ts';
import { appendTimeline } from './timeline.ts';

export type ApprovedRequest = Pick<AccessRequest, 'id' | 'requesterId' | 'accountId' | 'permissions' | 'connectionId'> &
  Pick<AccessRequest, 'bundleId' | 'startsAt' | 'extendsRequestId' | 'filedBy'>;

export async function startGrant(w: WriteContext, request: ApprovedRequest, days: number, findings?: FindingsService): Promise<void> {
  if (request.extendsRequestId && (await extendGrant(w, request, days, findings))) return;
  if (request.startsAt && request.startsAt > w.nowIso) {
    await scheduleWork(w, 'grant.start', request.id, request.startsAt);
    await w.audit({
      actorId: null,
      action: 'request.window_scheduled',
      subjectType: 'request',
      subjectId: request.id,
      data: { startsAt: request.startsAt, days },
    });
    return;
  }
  await queueGrant(w, request, days);
}

/**
 * An approved extension: when the grant it extends is still in force, its end (and its assignments' ends)
 * moves `days` later, and the extension request is fulfilled with the same end. False when that grant has
 * ended meanwhile (the extension then grants anew).
 */
async function extendGrant(w: WriteContext, request: ApprovedRequest, days: number, findings?: FindingsService): Promise<boolean> {
  const grant = await loadRequest(w.tx, request.extendsRequestId!);
  if (!grant || grant.status !== 'fulfilled' || !grant.expiresAt || grant.expiresAt <= w.nowIso) return false;
  if (grant.fulfilment && grant.fulfilment.state !== 'active' && grant.fulfilment.state !== 'problem-reported') return false;
  const newEnd = new Date(Date.parse(grant.expiresAt) + days * DAY_MS).toISOString();
  const version = await w.version();
  await w.tx.execute({
    sql: 'UPDATE assignments SET expires_at = ?, version = ? WHERE request_id = ? AND revoked_at IS NULL',
    args: [newEnd, version, grant.id],
  });
  await w.tx.execute({ sql: 'UPDATE requests SET expires_at = ?, updated_at = ?, version = ? WHERE id = ?', args: [newEnd, w.nowIso, version, grant.id] });
  await appendTimeline(w, grant.id, { kind: 'extended', actorId: null, requestId: request.id, expiresAt: newEnd });
  await w.tx.execute({
    // The grant's own request reminds before the end (once per end date): not this one too.
    sql: "UPDATE requests SET status = 'fulfilled', granted_at = ?, expires_at = ?, expiry_reminded_for = ?, updated_at = ?, version = ? WHERE id = ?",
    args: [w.nowIso, newEnd, newEnd, w.nowIso, version, request.id],
  });
  await appendTimeline(w, request.id, { kind: 'extended', actorId: null, requestId: grant.id, expiresAt: newEnd });
  await w.audit({
    actorId: null,
    action: 'grant.extended',
    subjectType: 'request',
    subjectId: grant.id,
    data: { extensionRequestId: request.id, from: grant.expiresAt, to: newEnd, days },
  });
  w.affected.add(grant.requesterId);
  findings?.track(w);
  return true;
}

/**
 * The CRM holds the grant now, or no longer (called by fulfilment): on the request's timeline, and the
 * requester (and the manager who filed it) are told.
 */
export async function grantChanged(w: WriteContext, requestId: string, what: 'fulfilled' | 'expired' | 'revoked', expiresAt: string | null): Promise<void> {
  const r = await w.tx.execute({ sql: 'SELECT requester_id, filed_by FROM requests WHERE id = ?', args: [requestId] });
  const row = r.rows[0];
  if (!row) return;
  const people = [String(row.requester_id), ...(row.filed_by === null ? [] : [String(row.filed_by)])];
  await appendTimeline(w, requestId, { kind: what, personIds: people, ...(expiresAt ? { expiresAt } : {}) });
  await notify(w, {
    event: what === 'fulfilled' ? 'grant.active' : 'grant.expired',
    requestId,
    eventKey: `${requestId}:${what}`,
    personIds: people,
    expiresAt,
  });
}
