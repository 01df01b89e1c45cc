import {
  durationChoicesWithin,
  evaluateRequest,
  requestPreviewBody,
  type AccessRequest,
  type RequestPreviewResponse,
} from '@accesslens/shared';
import { Hono } from 'hono';
import { requireSession } from '../auth/require-session.ts';
import { validate, type Env } from '../env.ts';
import { forbidden, notFound } from '../errors.ts';
import { withField } from '../mutations/request-create.ts';
import { OPEN_STATUSES } from '../mutations/requests.ts';

/**
 * POST /api/requests/preview: what submitting a request for the caller's own account would do under
 * the current policy — who is asked, stage by stage; an automatic approval; the duration after caps
 * and the choices within them; missing prerequisites, SoD conflicts, license seats; and every problem
 * that would make request.create reject it.
 */
export const requestRoutes = new Hono<Env>().post('/preview', requireSession, validate('json', requestPreviewBody), async (c) => {
  const { db, person, findings } = c.var;
  const now = c.var.now();
  const body = c.req.valid('json');
  const keys = [...new Set(body.permissions)];
  const [conn, acc, cat, open] = await db.readBatch([
    { sql: 'SELECT name FROM crm_connections WHERE id = ?', args: [body.connectionId] },
    {
      sql: 'SELECT id FROM crm_accounts WHERE person_id = ? AND connection_id = ? AND active = 1 ORDER BY id LIMIT 1',
      args: [person.id, body.connectionId],
    },
    {
      sql: `SELECT key FROM permission_catalog WHERE connection_id = ? AND key IN (${keys.map(() => '?').join(', ')})`,
      args: [body.connectionId, ...keys],
    },
    {
      sql: "SELECT id, permissions, status FROM requests WHERE requester_id = ? AND connection_id = ? AND status IN ('pending', 'needs-info') ORDER BY created_at",
      args: [person.id, body.connectionId],
    },
  ]);
  const connection = conn!.rows[0];
  if (!connection) throw withField(notFound(`There is no CRM connection "${body.connectionId}".`), 'connectionId');
  const account = acc!.rows[0];
  if (!account) throw withField(forbidden(`You have no active account on ${String(connection.name)}.`), 'connectionId');
  const accountId = String(account.id);

  const engine = await findings.ensureCurrent(now);
  const e = evaluateRequest(engine, person.id, accountId, keys, body.durationDays, now);
  const problems = [...e.problems];
  // The organisation's catalog is what can be requested (the engine also knows built-in entries).
  const inCatalog = new Set(cat!.rows.map((r) => String(r.key)));
  const keyViews = e.keys.map((k) => {
    if (inCatalog.has(k.key)) return { key: k.key, requestable: k.requestable, reason: k.reason, alreadyHeld: k.alreadyHeld };
    const reason = `not in the permission catalog of ${String(connection.name)}`;
    if (k.requestable) problems.push(`${k.key}: ${reason}`);
    return { key: k.key, requestable: false, reason: k.requestable ? reason : k.reason, alreadyHeld: k.alreadyHeld };
  });
  for (const r of open!.rows) {
    if (!OPEN_STATUSES.has(String(r.status) as AccessRequest['status'])) continue;
    const overlap = (JSON.parse(String(r.permissions)) as string[]).filter((k) => keys.includes(k));
    if (overlap.length > 0) problems.push(`you already have a pending request (${String(r.id)}) for ${overlap.join(', ')}`);
  }
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
