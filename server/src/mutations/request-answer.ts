import type { Person, RequestAnswerArgs } from '@accesslens/shared';
import { refuse } from '../errors.ts';
import { notify } from '../lifecycle/outbox.ts';
import { appendTimeline } from '../lifecycle/timeline.ts';
import { scheduleTimer } from '../lifecycle/timers.ts';
import type { WriteContext } from '../write.ts';
import { withField } from './request-create.ts';
import { loadRequest, reachedApprovers } from './requests.ts';

/**
 * request.answer: the requester (or the manager who filed it) answers an approver's question. The request
 * is `pending` again at the same stage; the stage's reminders count from now; the asker is told.
 */
export async function answerRequest(w: WriteContext, me: Person, args: RequestAnswerArgs, field: (f: string) => string) {
  const request = await loadRequest(w.tx, args.requestId);
  if (!request) throw withField(refuse.notFound('request_not_found'), field('requestId'));
  if (request.requesterId !== me.id && request.filedBy !== me.id) throw refuse.forbidden('answer_not_requester');
  if (request.status !== 'needs-info' || !request.needsInfo) throw refuse.conflict('not_awaiting_answer', { status: request.status });
  const position = request.stages.findIndex((s) => s.decision === null);
  const stages = request.stages.map((s) => ({ ...s }));
  if (stages[position]) stages[position] = { ...stages[position]!, waitingSince: w.nowIso };
  await w.tx.execute({
    sql: "UPDATE requests SET status = 'pending', needs_info = NULL, stages = ?, updated_at = ?, version = ? WHERE id = ?",
    args: [JSON.stringify(stages), w.nowIso, await w.version(), request.id],
  });
  const askedBy = request.needsInfo.askedBy;
  await appendTimeline(w, request.id, { kind: 'answered', actorId: me.id, personIds: [askedBy], stage: request.needsInfo.stage, text: args.answer });
  await w.audit({
    actorId: me.id,
    action: 'request.answered',
    subjectType: 'request',
    subjectId: request.id,
    data: { stage: request.needsInfo.stage, askedBy, answer: args.answer },
  });
  const answered = request.timeline?.filter((e) => e.kind === 'answered').length ?? 0;
  await notify(w, {
    event: 'request.answered',
    requestId: request.id,
    eventKey: `${request.id}:answered:${answered + 1}`,
    personIds: [askedBy],
    actorId: me.id,
    text: args.answer,
    stage: stages[position]?.label ?? null,
  });
  if (position >= 0) await scheduleTimer(w, request.id, stages, position);
  w.affected.add(request.requesterId);
  if (request.filedBy) w.affected.add(request.filedBy);
  for (const id of await reachedApprovers(w.tx, request.id)) w.affected.add(id);
}
