/**
 * /api/audit (administrators and auditors): the hash-chained audit log — filter, search, export as CSV
 * or JSON, and verify the chain with one call (`verifyAuditChain`, the same check as
 * `pnpm accesslens verify-audit`). A verification is itself audited.
 */
import { auditExportQuery, auditQuery, auditResponse, auditVerifyResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { verifyAuditChain } from '../audit.ts';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { auditCsv, auditJson, listAudit, streamed } from '../console/audit-query.ts';
import { CSV_BOM, csvHeaders } from '../console/csv.ts';
import { apiRoutes, bearer, errors, json } from '../openapi.ts';
import { runWrite } from '../write.ts';

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['audit'],
  summary: 'Audit events, newest first, filtered and searched (administrators and auditors)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'read_audit_log')] as const,
  request: { query: auditQuery },
  responses: { 200: json(auditResponse, 'A page of events; `nextBefore` pages on.'), ...errors(400, 401, 403) },
});

const exportRoute = createRoute({
  method: 'get',
  path: '/export',
  tags: ['audit'],
  summary: 'Every matching event, oldest first, as CSV or JSON (administrators and auditors)',
  description: 'CSV header: `seq,at,actor_id,actor_name,action,subject_type,subject_id,data,prev_hash,hash`. JSON: an array of events with their hashes.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'export_audit_log')] as const,
  request: { query: auditExportQuery },
  responses: {
    200: {
      description: 'The events.',
      content: { 'text/csv': { schema: z.string() }, 'application/json': { schema: z.array(z.record(z.string(), z.unknown())) } },
    },
    ...errors(400, 401, 403),
  },
});

const verifyRoute = createRoute({
  method: 'post',
  path: '/verify',
  tags: ['audit'],
  summary: 'Checks the whole hash chain (administrators and auditors); audited as audit.verified',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'verify_audit_log')] as const,
  responses: { 200: json(auditVerifyResponse, 'Whether every event links to the one before and its hash holds.'), ...errors(401, 403) },
});

export const auditRoutes = apiRoutes()
  .openapi(listRoute, async (c) => c.json(await listAudit(c.var.db, c.req.valid('query')), 200))
  .openapi(exportRoute, async (c) => {
    const { format, ...filter } = c.req.valid('query');
    const day = c.var.now().toISOString().slice(0, 10);
    const body = format === 'csv' ? streamed(auditCsv(c.var.db, filter), CSV_BOM) : streamed(auditJson(c.var.db, filter));
    const headers =
      format === 'csv'
        ? csvHeaders(`audit-${day}.csv`)
        : { 'Content-Type': 'application/json; charset=utf-8', 'Content-Disposition': `attachment; filename="audit-${day}.json"` };
    return new Response(body, { status: 200, headers: { ...headers, 'Cache-Control': 'no-store' } }) as never;
  })
  .openapi(verifyRoute, async (c) => {
    const { db, person } = c.var;
    const now = c.var.now();
    const result = await verifyAuditChain(db);
    const answer = {
      ok: result.ok,
      events: result.events,
      brokenSeq: result.ok ? null : result.brokenSeq,
      reason: result.ok ? null : result.reason,
      checkedAt: now.toISOString(),
    };
    await runWrite(db, now, (w) =>
      w.audit({
        actorId: person.id,
        action: 'audit.verified',
        subjectType: 'audit',
        subjectId: null,
        data: { ok: answer.ok, events: answer.events, brokenSeq: answer.brokenSeq },
      }),
    );
    return c.json(answer, 200);
  });
