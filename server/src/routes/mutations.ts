import { mutationsBody, mutationsResponse, type MutationsResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { requireSession } from '../auth/require-session.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { applyMutations } from '../mutations/index.ts';
import { formatCursor } from '../sync/cursor.ts';

const mutationsRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['sync'],
  summary: 'Apply client mutations, each at most once',
  description:
    'request.create, request.cancel, request.answer, decision.record (approve, deny, needs-info), request.report-problem, usage.report: 1–500 per call. Each result is applied, duplicate or rejected (with the error). `Server-Timing: apply;dur=<ms>` says how long applying took.',
  security: bearer,
  middleware: [requireSession] as const,
  request: { body: jsonBody(mutationsBody) },
  responses: { 200: json(mutationsResponse, 'One result per mutation and the cursor at which their effects are visible.'), ...errors(400, 401, 413) },
});

export const mutations = apiRoutes().openapi(mutationsRoute, async (c) => {
  const { db, person, notifier, findings } = c.var;
  const started = performance.now();
  const results = await applyMutations(db, person, c.req.valid('json').mutations, c.var.now, findings, notifier);
  // How long applying took on the server (what `pnpm bench:bulk-approve` reports).
  c.header('Server-Timing', `apply;dur=${(performance.now() - started).toFixed(1)}`);
  // The position at which every effect of this batch is visible: a pull that returns this cursor
  // (or a later one) has seen them.
  const meta = await db.execute('SELECT instance_id, version FROM meta WHERE id = 1');
  const cursor = formatCursor({ instanceId: String(meta.rows[0]!.instance_id), version: Number(meta.rows[0]!.version) });
  return c.json({ results, cursor } satisfies MutationsResponse, 200);
});
