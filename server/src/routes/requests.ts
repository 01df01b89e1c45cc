import {
  durationChoicesWithin,
  evaluateRequest,
  policyProblem,
  requestPreviewBody,
  requestPreviewResponse,
  type AccessRequest,
  type PolicyProblem,
  type RequestPreviewResponse,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { requireSession } from '../auth/require-session.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { REQUEST_COLUMNS, requestFromRow } from '../model.ts';
import { heldKeys, readBundle, resolveRequester, withField } from '../mutations/request-create.ts';
import { readRequestContext } from '../mutations/requests.ts';

/**
 * POST /api/requests/preview: what submitting a request for the caller's own account (or, for a manager,
 * a direct report's: `onBehalfOf`) would do under the current policy — for keys, a whole bundle (what it
 * adds beyond what the account holds), or an extension of a grant — who is asked, stage by stage; an automatic approval; the duration after caps
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
  const { subject, filedBy } = await resolveRequester(db, person, body.onBehalfOf ?? null, (f) => f);
  let extending: AccessRequest | null = null;
  if (body.extendsRequestId) {
    const [r] = await db.readBatch([{ sql: `SELECT ${REQUEST_COLUMNS} FROM requests r WHERE r.id = ?`, args: [body.extendsRequestId] }]);
    const row = r!.rows[0];
    if (!row) throw withField(refuse.notFound('extend_request_not_found'), 'extendsRequestId');
    extending = requestFromRow(row);
    if (extending.requesterId !== subject.id) throw withField(refuse.forbidden('extend_not_holder'), 'extendsRequestId');
  }
  const asked = body.permissions.length > 0 || !extending ? body.permissions : extending.permissions;
  let keys = [...new Set(asked)];
  let context = await readRequestContext(db, subject.id, body.connectionId, keys);
  const { connectionName, accountId } = context;
  if (connectionName === null) throw withField(refuse.notFound('connection_not_found', { connectionId: body.connectionId }), 'connectionId');
  if (accountId === null)
    throw withField(
      filedBy
        ? refuse.forbidden('subject_no_account', { name: subject.name, connection: connectionName })
        : refuse.forbidden('no_account', { connection: connectionName }),
      'connectionId',
    );
  const extra: PolicyProblem[] = [];
  let bundleView: RequestPreviewResponse['bundle'] = null;
  if (body.bundleId) {
    const b = await readBundle(db, body.connectionId, body.bundleId);
    if (!b || b.removed) throw withField(refuse.notFound('bundle_not_found', { bundleId: body.bundleId, connection: connectionName }), 'bundleId');
    if (b.kind === 'profile') throw ApiFailure.of(400, 'invalid_input', 'bundle_is_profile', { bundle: b.name }, { field: 'bundleId' });
    const held = await heldKeys(db, body.connectionId, accountId, b.keys, now);
    bundleView = { id: b.id, name: b.name, kind: b.kind, adds: b.keys.filter((k) => !held.has(k)), alreadyHeld: b.keys.filter((k) => held.has(k)) };
    if (bundleView.adds.length === 0) extra.push(policyProblem('bundle-adds-nothing', { bundle: b.name }));
    keys = [...new Set([...keys, ...bundleView.adds])];
    context = await readRequestContext(db, subject.id, body.connectionId, keys);
  }

  const engine = await findings.ensureCurrent(now);
  const e =
    keys.length > 0
      ? evaluateRequest(engine, subject.id, accountId, keys, body.durationDays, now, {
          excludeApprovers: filedBy ? [filedBy] : [],
          allowHeld: extending !== null,
        })
      : null;
  const problems: PolicyProblem[] = [...extra, ...(e?.problems ?? [])];
  // The organisation's catalog is what can be requested (the engine also knows built-in entries).
  const keyViews = (e?.keys ?? []).map((k) => {
    if (context.catalog.has(k.key)) return { key: k.key, requestable: k.requestable, reason: k.reason, alreadyHeld: k.alreadyHeld };
    const problem = policyProblem('not-in-catalog', { key: k.key, connection: connectionName });
    if (k.requestable) problems.push(problem);
    return { key: k.key, requestable: false, reason: k.requestable ? problem.message.slice(`${k.key}: `.length) : k.reason, alreadyHeld: k.alreadyHeld };
  });
  for (const r of context.overlapping) problems.push(policyProblem('pending-request', { requestId: r.id, keys: r.keys }));
  const requestable = keyViews.some((k) => k.requestable);
  const warnings = e?.warnings ?? [];

  const response: RequestPreviewResponse = {
    ok: problems.length === 0,
    autoApproved: e?.autoApproved ?? false,
    stages: (e?.stages ?? []).map((s) => ({
      index: s.index,
      kind: s.kind,
      label: s.label,
      keys: s.keys,
      required: s.required,
      approvers: s.approvers,
      escalated: s.escalated,
      escalationReason: s.escalationReason,
    })),
    willNotify: e?.willNotify ?? [],
    keys: keyViews,
    missingPrerequisites: (e?.missingPrerequisites ?? []).map((m) => ({
      kind: m.kind,
      keys: m.keys,
      ...(m.training !== undefined ? { training: m.training } : {}),
      ...(m.requiredDays !== undefined ? { requiredDays: m.requiredDays } : {}),
      ...(m.actualDays !== undefined ? { actualDays: m.actualDays } : {}),
      message: m.message,
    })),
    sodConflicts: (e?.sodConflicts ?? []).map((s) => ({ ruleId: s.ruleId, name: s.name, severity: s.severity })),
    licenses: (e?.licenses ?? []).map((l) => ({ licenseId: l.licenseId, name: l.name, seats: l.seats, used: l.used, left: l.left, needsSeat: l.needsSeat })),
    duration: e
      ? { requested: e.duration.requested, granted: e.duration.granted, cappedBy: e.duration.cappedBy }
      : { requested: body.durationDays ?? 0, granted: 0, cappedBy: [] },
    durationChoices: requestable && e ? durationChoicesWithin(e.duration.max) : [],
    justificationRequired: e?.justificationRequired ?? false,
    evidenceRequired: e?.evidenceRequired ?? false,
    problems: problems.map((p) => p.message),
    warnings: warnings.map((p) => p.message),
    problemDetails: problems,
    warningDetails: warnings,
    bundle: bundleView,
    requesterId: subject.id,
  };
  return c.json(response, 200);
});
