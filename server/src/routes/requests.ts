import {
  durationChoicesWithin,
  evaluateRequest,
  requestPreviewBody,
  requestPreviewResponse,
  type RequestPreviewResponse,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { requireSession } from '../auth/require-session.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { refuse } from '../errors.ts';
import { withField } from '../mutations/request-create.ts';
import { readRequestContext } from '../mutations/requests.ts';

/**
 * POST /api/requests/preview: what submitting a request for the caller's own account would do under
 * the current policy — who is asked, stage by stage; an automatic approval; the duration after caps
 * and the choices within them; missing prerequisites, SoD conflicts, license seats; and every problem
 * that would make request.create reject it.
 */
const previewRoute = createRoute({
  method: 'post',
  path: '/preview',
  tags: ['requests'],
  summary: 'What submitting a request would do under the current policy',
  security: bearer,
  middleware: [requireSession] as const,
  request: { body: jsonBody(requestPreviewBody) },
  responses: { 200: json(requestPreviewResponse, 'Stages, approvers, duration, prerequisites, conflicts and problems.'), ...errors(400, 401, 403, 404) },
});

export const requestRoutes = apiRoutes().openapi(previewRoute, async (c) => {
  const { db, person, findings } = c.var;
  const now = c.var.now();
  const body = c.req.valid('json');
  const keys = [...new Set(body.permissions)];
  const context = await readRequestContext(db, person.id, body.connectionId, keys);
  const { connectionName, accountId } = context;
  if (connectionName === null) throw withField(refuse.notFound('connection_not_found', { connectionId: body.connectionId }), 'connectionId');
  if (accountId === null) throw withField(refuse.forbidden('no_account', { connection: connectionName }), 'connectionId');

  const engine = await findings.ensureCurrent(now);
  const e = evaluateRequest(engine, person.id, accountId, keys, body.durationDays, now);
  const problems = [...e.problems];
  // The organisation's catalog is what can be requested (the engine also knows built-in entries).
  const keyViews = e.keys.map((k) => {
    if (context.catalog.has(k.key)) return { key: k.key, requestable: k.requestable, reason: k.reason, alreadyHeld: k.alreadyHeld };
    const reason = `not in the permission catalog of ${connectionName}`;
    if (k.requestable) problems.push(`${k.key}: ${reason}`);
    return { key: k.key, requestable: false, reason: k.requestable ? reason : k.reason, alreadyHeld: k.alreadyHeld };
  });
  for (const r of context.overlapping) problems.push(`you already have a pending request (${r.id}) for ${r.keys.join(', ')}`);
  const requestable = keyViews.some((k) => k.requestable);

  const response: RequestPreviewResponse = {
    ok: problems.length === 0,
    autoApproved: e.autoApproved,
    stages: e.stages.map((s) => ({
      index: s.index,
      kind: s.kind,
      label: s.label,
      keys: s.keys,
      required: s.required,
      approvers: s.approvers,
      escalated: s.escalated,
      escalationReason: s.escalationReason,
    })),
    willNotify: e.willNotify,
    keys: keyViews,
    missingPrerequisites: e.missingPrerequisites.map((m) => ({
      kind: m.kind,
      keys: m.keys,
      ...(m.training !== undefined ? { training: m.training } : {}),
      ...(m.requiredDays !== undefined ? { requiredDays: m.requiredDays } : {}),
      ...(m.actualDays !== undefined ? { actualDays: m.actualDays } : {}),
      message: m.message,
    })),
    sodConflicts: e.sodConflicts.map((s) => ({ ruleId: s.ruleId, name: s.name, severity: s.severity })),
    licenses: e.licenses.map((l) => ({ licenseId: l.licenseId, name: l.name, seats: l.seats, used: l.used, left: l.left, needsSeat: l.needsSeat })),
    duration: { requested: e.duration.requested, granted: e.duration.granted, cappedBy: e.duration.cappedBy },
    durationChoices: requestable ? durationChoicesWithin(e.duration.max) : [],
    justificationRequired: e.justificationRequired,
    evidenceRequired: e.evidenceRequired,
    problems,
    warnings: e.warnings,
  };
  return c.json(response, 200);
});
