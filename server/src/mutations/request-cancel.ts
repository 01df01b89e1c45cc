import type { Person, RequestCancelArgs } from '@accesslens/shared';
import { finishWork } from '../lifecycle/schedule.ts';
import { appendTimeline } from '../lifecycle/timeline.ts';
import { refuse } from '../errors.ts';
import type { WriteContext } from '../write.ts';
import { withField } from './request-create.ts';
import { loadRequest, OPEN_STATUSES, reachedApprovers } from './requests.ts';

/** request.cancel: only the requester (or the manager who filed it), only while the request is still open. */
export async function cancelRequest(w: WriteContext, me: Person, args: RequestCancelArgs, field: (f: string) => string) {
  const request = await loadRequest(w.tx, args.requestId);
  if (!request) throw withField(refuse.notFound('request_not_found'), field('requestId'));
  if (request.requesterId !== me.id && request.filedBy !== me.id) throw refuse.forbidden('cancel_not_yours');
  if (!OPEN_STATUSES.has(request.status)) throw refuse.conflict('request_not_pending', { status: request.status });
  const version = await w.version();
  await w.tx.execute({
    sql: "UPDATE requests SET status = 'cancelled', needs_info = NULL, updated_at = ?, version = ? WHERE id = ?",
    args: [w.nowIso, version, request.id],
  });
  await appendTimeline(w, request.id, { kind: 'cancelled', actorId: me.id });
  await finishWork(w.tx, 'request.timer', request.id, w.nowIso);
  await w.audit({ actorId: me.id, action: 'request.cancelled', subjectType: 'request', subjectId: request.id });
  w.affected.add(request.requesterId);
  if (request.filedBy) w.affected.add(request.filedBy);
  for (const id of await reachedApprovers(w.tx, request.id)) w.affected.add(id);
}
