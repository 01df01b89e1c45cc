/**
 * /api/admin/trainings (administrators): what trainings exist, and who completed each and when.
 * Completions are part of the person (people.trainings, which request prerequisites read), so recording
 * one goes through `writePeople` like any change of a person.
 */
import {
  id,
  trainingCompletionBody,
  trainingCompletionsResponse,
  trainingCreateBody,
  trainingId,
  trainingResponse,
  trainingsResponse,
  trainingUpdateBody,
  type TrainingView,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import type { Transaction } from '../db.ts';
import { draftOf, readPersonRecord, writePeople } from '../directory/people.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { readBatch, readCurrentPolicy, type Source } from '../policy/load.ts';
import { runWrite } from '../write.ts';

const adminOnly = requireRole(['admin'], 'manage_trainings');
const trainingParam = z.object({ id: trainingId });
const completionParam = z.object({ id: trainingId, personId: id });

async function trainingViews(source: Source, only?: string): Promise<TrainingView[]> {
  const [rows] = await readBatch(source, [
    {
      sql: `SELECT t.id, t.title, (SELECT COUNT(*) FROM training_completions c WHERE c.training_id = t.id) AS n
            FROM trainings t ${only === undefined ? '' : 'WHERE t.id = ?'} ORDER BY t.id`,
      args: only === undefined ? [] : [only],
    },
  ]);
  return rows!.rows.map((r) => ({ id: String(r.id), title: String(r.title), completedCount: Number(r.n) }));
}

async function requireTraining(tx: Transaction, trainingIdValue: string): Promise<void> {
  const r = await tx.execute({ sql: 'SELECT 1 FROM trainings WHERE id = ?', args: [trainingIdValue] });
  if (!r.rows[0]) throw refuse.notFound('training_not_found');
}

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['directory'],
  summary: 'Trainings, with how many people completed each',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  responses: { 200: json(trainingsResponse, 'Every training, by id.'), ...errors(401, 403) },
});

const createTrainingRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['directory'],
  summary: 'Add a training',
  description: '`id` is the name request rules (prerequisites) and CSV files use. 409 when it exists.',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { body: jsonBody(trainingCreateBody) },
  responses: { 201: json(trainingResponse, 'The new training.'), ...errors(400, 401, 403, 409) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: ['directory'],
  summary: "Change a training's title",
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: trainingParam, body: jsonBody(trainingUpdateBody) },
  responses: { 200: json(trainingResponse, 'The training.'), ...errors(400, 401, 403, 404) },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['directory'],
  summary: 'Delete a training nobody completed and nothing requires (409 otherwise)',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: trainingParam },
  responses: { 204: { description: 'Deleted.' }, ...errors(400, 401, 403, 404, 409) },
});

const completionsRoute = createRoute({
  method: 'get',
  path: '/{id}/completions',
  tags: ['directory'],
  summary: 'Who completed a training, and when',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: trainingParam },
  responses: { 200: json(trainingCompletionsResponse, 'Completions, by name.'), ...errors(400, 401, 403, 404) },
});

const recordRoute = createRoute({
  method: 'put',
  path: '/{id}/completions/{personId}',
  tags: ['directory'],
  summary: 'Record (or re-date) that a person completed a training',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: completionParam, body: jsonBody(trainingCompletionBody) },
  responses: { 200: json(trainingCompletionsResponse, "The training's completions."), ...errors(400, 401, 403, 404) },
});

const removeRoute = createRoute({
  method: 'delete',
  path: '/{id}/completions/{personId}',
  tags: ['directory'],
  summary: "Remove a person's completion of a training",
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: completionParam },
  responses: { 204: { description: 'Removed (or there was none).' }, ...errors(400, 401, 403, 404) },
});

async function completions(source: Source, trainingIdValue: string) {
  const [rows] = await readBatch(source, [
    {
      sql: `SELECT c.person_id, p.name, p.email, c.completed_on FROM training_completions c JOIN people p ON p.id = c.person_id
            WHERE c.training_id = ? ORDER BY p.name, p.id`,
      args: [trainingIdValue],
    },
  ]);
  return rows!.rows.map((r) => ({ personId: String(r.person_id), name: String(r.name), email: String(r.email), completedOn: String(r.completed_on) }));
}

export const adminTrainings = apiRoutes()
  .openapi(listRoute, async (c) => c.json({ trainings: await trainingViews(c.var.db) }, 200))
  .openapi(createTrainingRoute, async (c) => {
    const { db, person } = c.var;
    const body = c.req.valid('json');
    const training = await runWrite(db, c.var.now(), async (w) => {
      const exists = await w.tx.execute({ sql: 'SELECT 1 FROM trainings WHERE id = ?', args: [body.id] });
      if (exists.rows[0]) throw ApiFailure.of(409, 'conflict', 'training_exists', { trainingId: body.id }, { field: 'id' });
      await w.tx.execute({ sql: 'INSERT INTO trainings (id, title, created_at) VALUES (?, ?, ?)', args: [body.id, body.title, w.nowIso] });
      await w.audit({ actorId: person.id, action: 'training.created', subjectType: 'training', subjectId: body.id, data: { title: body.title } });
      return (await trainingViews(w.tx, body.id))[0]!;
    });
    return c.json({ training }, 201);
  })
  .openapi(updateRoute, async (c) => {
    const { db, person } = c.var;
    const trainingIdValue = c.req.valid('param').id;
    const { title } = c.req.valid('json');
    const training = await runWrite(db, c.var.now(), async (w) => {
      const before = await w.tx.execute({ sql: 'SELECT title FROM trainings WHERE id = ?', args: [trainingIdValue] });
      if (!before.rows[0]) throw refuse.notFound('training_not_found');
      if (String(before.rows[0].title) !== title) {
        await w.tx.execute({ sql: 'UPDATE trainings SET title = ? WHERE id = ?', args: [title, trainingIdValue] });
        await w.audit({
          actorId: person.id,
          action: 'training.updated',
          subjectType: 'training',
          subjectId: trainingIdValue,
          data: { title: { from: String(before.rows[0].title), to: title } },
        });
      }
      return (await trainingViews(w.tx, trainingIdValue))[0]!;
    });
    return c.json({ training }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { db, person } = c.var;
    const trainingIdValue = c.req.valid('param').id;
    await runWrite(db, c.var.now(), async (w) => {
      const [view] = await trainingViews(w.tx, trainingIdValue);
      if (!view) throw refuse.notFound('training_not_found');
      if (view.completedCount > 0)
        throw view.completedCount === 1
          ? refuse.conflict('training_completed_one', { trainingId: trainingIdValue })
          : refuse.conflict('training_completed_many', { count: view.completedCount, trainingId: trainingIdValue });
      const policy = await readCurrentPolicy(w.tx);
      const rules = policy.document.requestRules.filter((r) => r.prerequisites.trainings?.includes(trainingIdValue));
      if (rules.length > 0) throw refuse.conflict('training_required_by_rules', { trainingId: trainingIdValue, rules: rules.map((r) => r.name).join(', ') });
      const catalog = await w.tx.execute({
        sql: 'SELECT COUNT(*) AS n FROM permission_catalog k WHERE EXISTS (SELECT 1 FROM json_each(k.required_trainings) WHERE value = ?)',
        args: [trainingIdValue],
      });
      const entries = Number(catalog.rows[0]!.n);
      if (entries === 1) throw refuse.conflict('training_required_by_entry', { trainingId: trainingIdValue });
      if (entries > 1) throw refuse.conflict('training_required_by_entries', { count: entries, trainingId: trainingIdValue });
      await w.tx.execute({ sql: 'DELETE FROM trainings WHERE id = ?', args: [trainingIdValue] });
      await w.audit({ actorId: person.id, action: 'training.deleted', subjectType: 'training', subjectId: trainingIdValue, data: { title: view.title } });
    });
    return c.body(null, 204);
  })
  .openapi(completionsRoute, async (c) => {
    const trainingIdValue = c.req.valid('param').id;
    if ((await trainingViews(c.var.db, trainingIdValue)).length === 0) throw refuse.notFound('training_not_found');
    return c.json({ completions: await completions(c.var.db, trainingIdValue) }, 200);
  })
  .openapi(recordRoute, async (c) => {
    const { db, person: actor, findings, notifier } = c.var;
    const { id: trainingIdValue, personId } = c.req.valid('param');
    const { completedOn } = c.req.valid('json');
    const list = await runWrite(
      db,
      c.var.now(),
      async (w) => {
        await requireTraining(w.tx, trainingIdValue);
        const before = await readPersonRecord(w.tx, personId);
        if (!before) throw refuse.notFound('no_such_person');
        const after = draftOf(before);
        if (!after.trainings.includes(trainingIdValue)) after.trainings.push(trainingIdValue);
        const summary = await writePeople(w, [{ before, after, completedOn: { [trainingIdValue]: completedOn } }], { via: 'api', actorId: actor.id });
        if (summary.changedIds.length > 0) findings.track(w);
        return completions(w.tx, trainingIdValue);
      },
      notifier,
    );
    return c.json({ completions: list }, 200);
  })
  .openapi(removeRoute, async (c) => {
    const { db, person: actor, findings, notifier } = c.var;
    const { id: trainingIdValue, personId } = c.req.valid('param');
    await runWrite(
      db,
      c.var.now(),
      async (w) => {
        await requireTraining(w.tx, trainingIdValue);
        const before = await readPersonRecord(w.tx, personId);
        if (!before) throw refuse.notFound('no_such_person');
        const after = draftOf(before);
        after.trainings = after.trainings.filter((t) => t !== trainingIdValue);
        const summary = await writePeople(w, [{ before, after }], { via: 'api', actorId: actor.id });
        if (summary.changedIds.length > 0) findings.track(w);
      },
      notifier,
    );
    return c.body(null, 204);
  });
