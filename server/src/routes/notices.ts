/**
 * /api/notices: the caller's reminders (a licence term ending, reviews due, a policy change waiting
 * for approval), newest first, and marking them read. Any signed-in person, for their own notices.
 */
import { noticesReadBody, noticesResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { requireSession } from '../auth/require-session.ts';
import { listNotices } from '../console/notices.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['notices'],
  summary: "The caller's notices, newest first (at most 200), and how many are unread",
  security: bearer,
  middleware: [requireSession] as const,
  responses: { 200: json(noticesResponse, 'Notices.'), ...errors(401) },
});

const readRoute = createRoute({
  method: 'post',
  path: '/read',
  tags: ['notices'],
  summary: 'Marks notices read: those named, or all of them',
  security: bearer,
  middleware: [requireSession] as const,
  request: { body: jsonBody(noticesReadBody) },
  responses: { 200: json(noticesResponse, 'Notices after marking.'), ...errors(400, 401) },
});

export const noticeRoutes = apiRoutes()
  .openapi(listRoute, async (c) => c.json(await listNotices(c.var.db, c.var.person.id), 200))
  .openapi(readRoute, async (c) => {
    const { db, person } = c.var;
    const { ids } = c.req.valid('json');
    const nowIso = c.var.now().toISOString();
    await db.transaction(async (tx) => {
      if (ids === undefined) await tx.execute({ sql: 'UPDATE notices SET read_at = ? WHERE person_id = ? AND read_at IS NULL', args: [nowIso, person.id] });
      else if (ids.length > 0)
        await tx.execute({
          sql: `UPDATE notices SET read_at = ? WHERE person_id = ? AND read_at IS NULL AND id IN (${ids.map(() => '?').join(', ')})`,
          args: [nowIso, person.id, ...ids],
        });
    });
    return c.json(await listNotices(db, person.id), 200);
  });
