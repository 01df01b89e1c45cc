import {
  findingsByAccountsBody,
  findingsByAccountsResponse,
  findingsFilter,
  findingsSummaryQuery,
  findingsSummaryResponse,
  remediateFindingBody,
  remediateFindingResponse,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { CSV_BOM, csvHeaders } from '../console/csv.ts';
import { findingsByAccounts } from '../findings/by-accounts.ts';
import { findingsSummary } from '../findings/summary.ts';
import { remediateFinding } from '../findings/remediate.ts';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { findingsCsv, getFinding, listFindings } from '../findings/query.ts';
import { acceptFindingBody, findingResponse, findingsQuery, findingsResponse, type FindingView } from '../findings/schemas.ts';
import { runWrite } from '../write.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_ACCEPT_DAYS = 365;

const findingParam = z.object({ id: z.string().min(1).max(100) });

/**
 * Over-privilege findings (GET for administrators and auditors); accepting a risk and reopening it
 * (administrators), both audited.
 */
const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['findings'],
  summary: 'Over-privilege findings, most severe first (administrators and auditors)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'read_findings')] as const,
  request: { query: findingsQuery },
  responses: { 200: json(findingsResponse, 'A page of findings.'), ...errors(400, 401, 403) },
});

const summaryRoute = createRoute({
  method: 'get',
  path: '/summary',
  tags: ['findings'],
  summary: 'Open findings by severity, department and kind, and per day (administrators and auditors)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'read_findings')] as const,
  request: { query: findingsSummaryQuery },
  responses: { 200: json(findingsSummaryResponse, 'Counts for the charts.'), ...errors(400, 401, 403) },
});

const exportRoute = createRoute({
  method: 'get',
  path: '/export',
  tags: ['findings'],
  summary: 'Every finding matching the filters as CSV (administrators and auditors)',
  description:
    'Header: `id,kind,severity,status,person,department,title,connection,account,external_user_id,keys,bundles,evidence,first_seen_at,last_seen_at,accepted_reason,accepted_until,temporary_until`.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'export_findings')] as const,
  request: { query: findingsFilter },
  responses: { 200: { description: 'CSV, most severe first.', content: { 'text/csv': { schema: z.string() } } }, ...errors(400, 401, 403) },
});

const byAccountsRoute = createRoute({
  method: 'post',
  path: '/by-accounts',
  tags: ['findings'],
  summary: 'Findings of accounts by their CRM user ids (administrators; the flags on CRM user pages)',
  description:
    'Open, accepted and temporary findings of the accounts with these CRM user ids on the connection. The accounts become watched by the caller: ' +
    "their findings then travel in the caller's sync slice (`findings`), kept current (at most 2,000 accounts per administrator, the oldest dropped).",
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'see_findings_on_user_pages')] as const,
  request: { body: jsonBody(findingsByAccountsBody) },
  responses: { 200: json(findingsByAccountsResponse, 'The accounts known and their findings.'), ...errors(400, 401, 403, 404) },
});

const acceptRoute = createRoute({
  method: 'post',
  path: '/{id}/accept',
  tags: ['findings'],
  summary: 'Accept a risk until a date (administrators)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'accept_risk')] as const,
  request: { params: findingParam, body: jsonBody(acceptFindingBody) },
  responses: { 200: json(findingResponse, 'The finding, accepted.'), ...errors(400, 401, 403, 404, 409) },
});

const reopenRoute = createRoute({
  method: 'post',
  path: '/{id}/reopen',
  tags: ['findings'],
  summary: 'Reopen an accepted finding (administrators)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'reopen_finding')] as const,
  request: { params: findingParam },
  responses: { 200: json(findingResponse, 'The finding, open again.'), ...errors(400, 401, 403, 404, 409) },
});

const remediateRoute = createRoute({
  method: 'post',
  path: '/{id}/remediate',
  tags: ['findings'],
  summary: 'Take out the access behind a finding: revoke jobs or admin tasks (administrators)',
  description:
    "The account's assignments behind the finding are taken out: a request's grant by its revoke job (or task), other access by an admin task " +
    '(dormant accounts and inactive people: everything the account holds). A separation-of-duties conflict names `side` (`left` | `right`). ' +
    '409 when the finding is remediated or its access is already being taken out. Audited `revocation.requested` with origin `finding`.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'remediate_finding')] as const,
  request: { params: findingParam, body: jsonBody(remediateFindingBody) },
  responses: { 200: json(remediateFindingResponse, 'What was started.'), ...errors(400, 401, 403, 404, 409) },
});

export const findingsRoutes = apiRoutes()
  .openapi(listRoute, async (c) => {
    const now = c.var.now();
    await c.var.findings.ensureCurrent(now);
    return c.json(await listFindings(c.var.db, c.req.valid('query'), now), 200);
  })
  .openapi(summaryRoute, async (c) => {
    const now = c.var.now();
    await c.var.findings.ensureCurrent(now);
    return c.json(await findingsSummary(c.var.db, c.req.valid('query'), now), 200);
  })
  .openapi(exportRoute, async (c) => {
    const now = c.var.now();
    const { db, findings } = c.var;
    await findings.ensureCurrent(now);
    const filter = c.req.valid('query');
    const rows = findingsCsv(db, filter, now);
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(CSV_BOM));
      },
      async pull(controller) {
        const next = await rows.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
    });
    return new Response(body, {
      status: 200,
      headers: { ...csvHeaders(`findings-${now.toISOString().slice(0, 10)}.csv`), 'Cache-Control': 'no-store' },
    }) as never;
  })
  .openapi(byAccountsRoute, async (c) => {
    const { db, person, findings } = c.var;
    const now = c.var.now();
    const { connectionId, externalUserIds } = c.req.valid('json');
    const conn = await db.execute('SELECT id FROM crm_connections WHERE id = ?', [connectionId]);
    if (!conn.rows[0]) throw ApiFailure.of(404, 'not_found', 'connection_not_found', { connectionId }, { field: 'connectionId' });
    await findings.ensureCurrent(now);
    return c.json(await findingsByAccounts(db, person.id, connectionId, externalUserIds, now), 200);
  })
  .openapi(acceptRoute, async (c) => {
    const { db, person, findings } = c.var;
    const now = c.var.now();
    const { id } = c.req.valid('param');
    const { reason, expiresAt } = c.req.valid('json');
    const until = Date.parse(expiresAt);
    if (until <= now.getTime()) throw ApiFailure.of(400, 'invalid_input', 'expiry_in_past', {}, { field: 'expiresAt' });
    if (until > now.getTime() + MAX_ACCEPT_DAYS * DAY_MS)
      throw ApiFailure.of(400, 'invalid_input', 'expiry_too_late', { days: MAX_ACCEPT_DAYS }, { field: 'expiresAt' });
    const expiresIso = new Date(until).toISOString();
    await findings.ensureCurrent(now);
    await runWrite(db, now, async (w) => {
      const row = await w.tx.execute({ sql: 'SELECT id, status, kind, account_id, person_id FROM findings WHERE id = ?', args: [id] });
      const f = row.rows[0];
      if (!f) throw refuse.notFound('finding_not_found');
      if (f.status === 'remediated') throw refuse.conflict('finding_remediated_no_risk');
      const prior = await w.tx.execute({
        sql: 'SELECT reason, expires_at FROM finding_acceptances WHERE finding_id = ? AND revoked_at IS NULL',
        args: [id],
      });
      const version = await w.version();
      await w.tx.execute({
        sql: `INSERT INTO finding_acceptances (finding_id, reason, accepted_by, accepted_at, expires_at, revoked_at, revoked_by, version)
                  VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)
                  ON CONFLICT (finding_id) DO UPDATE SET reason = excluded.reason, accepted_by = excluded.accepted_by,
                    accepted_at = excluded.accepted_at, expires_at = excluded.expires_at, revoked_at = NULL, revoked_by = NULL,
                    version = excluded.version`,
        args: [id, reason, person.id, w.nowIso, expiresIso, version],
      });
      await w.audit({
        actorId: person.id,
        action: 'finding.accepted',
        subjectType: 'finding',
        subjectId: id,
        data: {
          reason,
          expiresAt: expiresIso,
          kind: String(f.kind),
          accountId: String(f.account_id),
          personId: String(f.person_id),
          replaces: prior.rows[0] ? { reason: String(prior.rows[0].reason), expiresAt: String(prior.rows[0].expires_at) } : null,
        },
      });
      const engine = await findings.catchUpWithin(w);
      if (!engine.findingsOf(String(f.account_id)).some((x) => x.id === id)) throw refuse.conflict('finding_gone');
    });
    return c.json({ finding: (await getFinding(db, id, now)) as FindingView }, 200);
  })
  .openapi(reopenRoute, async (c) => {
    const { db, person, findings } = c.var;
    const now = c.var.now();
    const { id } = c.req.valid('param');
    await findings.ensureCurrent(now);
    await runWrite(db, now, async (w) => {
      const row = await w.tx.execute({ sql: 'SELECT status FROM findings WHERE id = ?', args: [id] });
      const f = row.rows[0];
      if (!f) throw refuse.notFound('finding_not_found');
      if (f.status !== 'accepted') throw refuse.conflict('finding_not_accepted', { findingStatus: String(f.status) });
      const acc = await w.tx.execute({
        sql: 'SELECT reason, accepted_by, accepted_at, expires_at FROM finding_acceptances WHERE finding_id = ? AND revoked_at IS NULL',
        args: [id],
      });
      const version = await w.version();
      await w.tx.execute({
        sql: 'UPDATE finding_acceptances SET revoked_at = ?, revoked_by = ?, version = ? WHERE finding_id = ? AND revoked_at IS NULL',
        args: [w.nowIso, person.id, version, id],
      });
      const a = acc.rows[0];
      await w.audit({
        actorId: person.id,
        action: 'finding.reopened',
        subjectType: 'finding',
        subjectId: id,
        data: {
          acceptance: a
            ? { reason: String(a.reason), acceptedBy: String(a.accepted_by), acceptedAt: String(a.accepted_at), expiresAt: String(a.expires_at) }
            : null,
        },
      });
      findings.track(w);
    });
    return c.json({ finding: (await getFinding(db, id, now)) as FindingView }, 200);
  })
  .openapi(remediateRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const now = c.var.now();
    const engine = await findings.ensureCurrent(now);
    const { id } = c.req.valid('param');
    const { side } = c.req.valid('json');
    const remediation = await runWrite(db, now, (w) => remediateFinding(w, engine, id, side, person.id), notifier);
    return c.json({ remediation }, 200);
  });
