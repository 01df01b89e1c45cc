/**
 * /api/admin/revocations (administrators): what departures, suspensions and moves take out of the CRMs
 * — planned, due, in progress, waiting on an admin task, failed, done or cancelled — with the reason,
 * filtered by person, connection and status, in due order. The admin console lists it.
 */
import { adminRevocationsQuery, adminRevocationsResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { apiRoutes, bearer, errors, json } from '../openapi.ts';
import { listRevocations } from '../revocations/query.ts';

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['revocations'],
  summary: 'Revocations after departures, suspensions and moves, soonest due first',
  description:
    'One per CRM account and handling (automatic: a job the connector runs; manual: an admin task). `status` is planned (waiting ' +
    'for the end of the day), due, in-progress, task, failed (an admin task is open for what remains), done or cancelled. ' +
    '`reason` says why (departed, suspended, moved from one job to another: outside the new baseline) in English and Chinese. ' +
    'Paged with `limit` and `nextCursor`.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'see_revocations')] as const,
  request: { query: adminRevocationsQuery },
  responses: { 200: json(adminRevocationsResponse, 'A page of revocations.'), ...errors(400, 401, 403) },
});

export const adminRevocations = apiRoutes().openapi(listRoute, async (c) => c.json(await listRevocations(c.var.db, c.req.valid('query'), c.var.now()), 200));
