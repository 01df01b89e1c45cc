import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { apiRoutes, json } from '../openapi.ts';

const healthRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['health'],
  summary: 'Liveness: the server answers',
  responses: { 200: json(z.object({ ok: z.literal(true) }), 'The server is up.') },
});

export const health = apiRoutes().openapi(healthRoute, (c) => c.json({ ok: true as const }, 200));
