import { meResponse, reportsResponse, type MeResponse, type ReportsResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { requireSession } from '../auth/require-session.ts';
import { fastJson } from '../cors.ts';
import { PERSON_REF_COLUMNS, personRefFromRow } from '../model.ts';
import { apiRoutes, bearer, errors, json } from '../openapi.ts';

const meRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['auth'],
  summary: 'The signed-in person and their session',
  security: bearer,
  middleware: [requireSession] as const,
  responses: { 200: json(meResponse, 'The caller.'), ...errors(401) },
});

const reportsRoute = createRoute({
  method: 'get',
  path: '/reports',
  tags: ['lifecycle'],
  summary: 'My active direct reports: whom I may file a request for (onBehalfOf)',
  security: bearer,
  middleware: [requireSession] as const,
  responses: { 200: json(reportsResponse, 'The direct reports, by name.'), ...errors(401) },
});

export const me = apiRoutes()
  // c.get, not c.var (which builds an object of every variable), and fastJson: a hot route.
  .openapi(meRoute, (c) => fastJson(c, { person: c.get('person'), session: { expiresAt: c.get('session').expiresAt.toISOString() } } satisfies MeResponse))
  .openapi(reportsRoute, async (c) => {
    const rows = await c.var.db.execute(`SELECT ${PERSON_REF_COLUMNS} FROM people p WHERE p.manager_id = ? AND p.status = 'active' ORDER BY p.name, p.id`, [
      c.var.person.id,
    ]);
    return c.json({ people: rows.rows.map(personRefFromRow) } satisfies ReportsResponse, 200);
  });
