import { meResponse, type MeResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { requireSession } from '../auth/require-session.ts';
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

export const me = apiRoutes().openapi(meRoute, (c) =>
  c.json({ person: c.var.person, session: { expiresAt: c.var.session.expiresAt.toISOString() } } satisfies MeResponse, 200),
);
