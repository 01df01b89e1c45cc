/**
 * /api/admin/license-seats (administrators): per connection and licence, seats bought, assigned and
 * free; seats held by departed, suspended or dormant accounts, reclaimed in one click (a revoke job or
 * an admin task per account); the term's end (reminders 60, 30 and 7 days before it are scheduled).
 */
import { id, licenseSeatsResponse, licensesQuery, reclaimBody, reclaimResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { licenseSeats, reclaimSeats } from '../console/licences.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { runWrite } from '../write.ts';

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['directory'],
  summary: 'Licence seats: bought, assigned, free, reclaimable, and the end of term (administrators)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'see_licence_seats')] as const,
  request: { query: licensesQuery },
  responses: { 200: json(licenseSeatsResponse, 'Licences by connection and name.'), ...errors(400, 401, 403) },
});

const reclaimRoute = createRoute({
  method: 'post',
  path: '/{id}/reclaim',
  tags: ['directory'],
  summary: 'Reclaims seats of a licence from these accounts (administrators)',
  description:
    "Every assignment through which an account holds a permission consuming the licence is taken out: a request's grant by its revoke job " +
    '(or task), other access by an admin task. 409 (field `accountIds.N`) for an account holding no seat of it. Audited `license.reclaimed`.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'reclaim_licence_seats')] as const,
  request: { params: z.object({ id }), body: jsonBody(reclaimBody) },
  responses: { 200: json(reclaimResponse, 'What was started, per account.'), ...errors(400, 401, 403, 404, 409) },
});

export const licenseSeatRoutes = apiRoutes()
  .openapi(listRoute, async (c) => {
    const now = c.var.now();
    const engine = await c.var.findings.ensureCurrent(now);
    return c.json({ licenses: await licenseSeats(c.var.db, engine, now, c.req.valid('query').connectionId) }, 200);
  })
  .openapi(reclaimRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const now = c.var.now();
    const engine = await findings.ensureCurrent(now);
    const { accountIds } = c.req.valid('json');
    const reclaimed = await runWrite(db, now, (w) => reclaimSeats(w, engine, c.req.valid('param').id, [...new Set(accountIds)], person.id), notifier);
    return c.json({ reclaimed }, 200);
  });
