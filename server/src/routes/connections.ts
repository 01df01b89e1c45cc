/**
 * /api/admin/connections: CRM connections for administrators — create, change, disable (never
 * delete), test the credentials, import now, and follow imports. Credentials are write-only: no
 * route returns them, a view says only "set" or "not set". Every change is audited.
 */
import {
  connectionCreateBody,
  connectionListResponse,
  connectionResponse,
  connectionTestResponse,
  connectionUpdateBody,
  id,
  importListResponse,
  importResponse,
  WHOLE_PROFILE_KINDS,
  type ConnectionTestResponse,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import {
  connectionView,
  createConnection,
  ensureState,
  IMPORT_RUN_COLUMNS,
  importRunFromRow,
  listConnections,
  loadConnection,
  loadImportRun,
  markAuthorised,
  openConnector,
  storeCredentials,
  validateForKind,
} from '../connectors/connections.ts';
import { wakeJobs } from '../connectors/fulfilment.ts';
import { signalWork } from '../connectors/signal.ts';
import { requestImport } from '../connectors/import.ts';
import { CrmError } from '../connectors/types.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { runWrite } from '../write.ts';

const idParam = z.object({ id });
const runParam = z.object({ id, runId: id });
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });

const admin = () => requireRole(['admin'], 'manage_connections');
const route = <R extends Parameters<typeof createRoute>[0]>(r: R) =>
  createRoute({ tags: ['connections'], security: bearer, ...r, middleware: [requireSession, admin()] as const });

const listRoute = route({
  method: 'get',
  path: '/',
  summary: 'Every CRM connection, with its state (credentials only as set or not set)',
  responses: { 200: json(connectionListResponse, 'Connections.'), ...errors(401, 403) },
});
const createConnectionRoute = route({
  method: 'post',
  path: '/',
  summary: 'Connect a CRM: kind, name, hosts, tenant, settings, credentials (write-only), schedule, mode',
  request: { body: jsonBody(connectionCreateBody) },
  responses: { 201: json(connectionResponse, 'The connection.'), ...errors(400, 401, 403, 409) },
});
const getRoute = route({
  method: 'get',
  path: '/{id}',
  summary: 'One connection, with its authorisation status and last imports',
  request: { params: idParam },
  responses: { 200: json(connectionResponse, 'The connection.'), ...errors(400, 401, 403, 404) },
});
const patchRoute = route({
  method: 'patch',
  path: '/{id}',
  summary: 'Change a connection (settings merge key by key; credentials replace)',
  request: { params: idParam, body: jsonBody(connectionUpdateBody) },
  responses: { 200: json(connectionResponse, 'The connection.'), ...errors(400, 401, 403, 404) },
});
const deleteRoute = route({
  method: 'delete',
  path: '/{id}',
  summary: 'Disable a connection (never deleted: its history stays)',
  request: { params: idParam },
  responses: { 200: json(connectionResponse, 'The disabled connection.'), ...errors(400, 401, 403, 404) },
});
const testRoute = route({
  method: 'post',
  path: '/{id}/test',
  summary: 'What the stored credentials can do in the CRM',
  request: { params: idParam },
  responses: { 200: json(connectionTestResponse, 'Each check, passed or failed.'), ...errors(400, 401, 403, 404) },
});
const importRoute = route({
  method: 'post',
  path: '/{id}/import',
  summary: 'Import now (202: follow it at /imports/{runId})',
  request: { params: idParam },
  responses: { 202: json(importResponse, 'The queued import.'), ...errors(400, 401, 403, 404, 409) },
});
const importsRoute = route({
  method: 'get',
  path: '/{id}/imports',
  summary: "A connection's recent imports and its last good one",
  request: { params: idParam, query: listQuery },
  responses: { 200: json(importListResponse, 'Imports, newest first.'), ...errors(400, 401, 403, 404) },
});
const importRunRoute = route({
  method: 'get',
  path: '/{id}/imports/{runId}',
  summary: 'One import, with its progress (users, bundles, assignments read; errors)',
  request: { params: runParam },
  responses: { 200: json(importResponse, 'The import.'), ...errors(400, 401, 403, 404) },
});

export const connectionRoutes = apiRoutes()
  .openapi(listRoute, async (c) => {
    const { db } = c.var;
    const all = await listConnections(db);
    return c.json({ connections: await Promise.all(all.map((x) => connectionView(db, x))) }, 200);
  })
  .openapi(createConnectionRoute, async (c) => {
    const { db, person, notifier, connectors } = c.var;
    const connectionId = await createConnection(db, connectors.box, c.req.valid('json'), { actorId: person.id, now: c.var.now(), notifier });
    return c.json({ connection: await connectionView(db, (await loadConnection(db, connectionId))!) }, 201);
  })
  .openapi(getRoute, async (c) => {
    const connection = await loadConnection(c.var.db, c.req.valid('param').id);
    if (!connection) throw refuse.notFound('no_such_connection');
    return c.json({ connection: await connectionView(c.var.db, connection) }, 200);
  })
  .openapi(patchRoute, async (c) => {
    const { db, person, notifier, connectors } = c.var;
    const { id: connectionId } = c.req.valid('param');
    const body = c.req.valid('json');
    const current = await loadConnection(db, connectionId);
    if (!current) throw refuse.notFound('no_such_connection');
    if (body.automaticChange && !WHOLE_PROFILE_KINDS.includes(current.kind))
      throw ApiFailure.of(400, 'invalid_input', 'automatic_change_unsupported', {}, { field: 'automaticChange' });
    // Settings merge key by key (null removes a key); credentials replace (null removes them).
    const mergedSettings = body.settings
      ? Object.fromEntries(Object.entries({ ...current.settings, ...body.settings }).filter(([, v]) => v !== null))
      : current.settings;
    const { settings, credentials } = validateForKind(current.kind, mergedSettings, body.credentials ?? null);
    const changed = Object.keys(body).filter((k) => k !== 'credentials');
    await runWrite(
      db,
      c.var.now(),
      async (w) => {
        await ensureState(w.tx, connectionId);
        const wire = body.name !== undefined || body.hosts !== undefined || body.tenant !== undefined;
        const sets: [string, string | number | null][] = [];
        if (body.name !== undefined) sets.push(['name', body.name]);
        if (body.hosts !== undefined) sets.push(['hosts', JSON.stringify(body.hosts)]);
        if (body.tenant !== undefined) sets.push(['tenant', body.tenant]);
        if (body.mode !== undefined) sets.push(['mode', body.mode]);
        if (body.automaticChange !== undefined) sets.push(['automatic_change', body.automaticChange ? 1 : 0]);
        if (body.scheduleMinutes !== undefined) sets.push(['schedule_minutes', body.scheduleMinutes]);
        if (body.settings !== undefined) sets.push(['settings', JSON.stringify(settings)]);
        if (body.enabled) sets.push(['enabled', 1]);
        sets.push(['updated_at', w.nowIso]);
        // Only what clients see (name, hosts, tenant) moves the sync version.
        if (wire) sets.push(['version', await w.version()]);
        await w.tx.execute({
          sql: `UPDATE crm_connections SET ${sets.map(([k]) => `${k} = ?`).join(', ')} WHERE id = ?`,
          args: [...sets.map(([, v]) => v), connectionId],
        });
        const schedule = body.scheduleMinutes ?? current.scheduleMinutes;
        if (body.credentials !== undefined) {
          await storeCredentials(w.tx, connectors.box, connectionId, credentials, w.nowIso);
          await markAuthorised(w.tx, connectionId, w.nowIso);
          await wakeJobs(w.tx, connectionId, w.nowIso);
        }
        if (body.credentials !== undefined || body.enabled || (body.scheduleMinutes !== undefined && body.scheduleMinutes !== current.scheduleMinutes)) {
          const hasCredentials = body.credentials !== undefined ? credentials !== null : current.credentialsUpdatedAt !== null;
          await w.tx.execute({
            sql: 'UPDATE connection_state SET next_import_at = ? WHERE connection_id = ?',
            args: [hasCredentials && schedule > 0 ? w.nowIso : null, connectionId],
          });
          if (body.enabled) await wakeJobs(w.tx, connectionId, w.nowIso);
        }
        await w.audit({
          actorId: person.id,
          action: 'connection.updated',
          subjectType: 'connection',
          subjectId: connectionId,
          data: {
            changed: [...changed, ...(body.credentials !== undefined ? ['credentials'] : [])],
            ...Object.fromEntries(changed.map((k) => [k, k === 'settings' ? settings : (body as Record<string, unknown>)[k]])),
            ...(body.credentials !== undefined ? { credentials: credentials ? 'replaced' : 'removed' } : {}),
          },
        });
      },
      notifier,
    );
    signalWork();
    return c.json({ connection: await connectionView(db, (await loadConnection(db, connectionId))!) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { db, person, notifier } = c.var;
    const { id: connectionId } = c.req.valid('param');
    const current = await loadConnection(db, connectionId);
    if (!current) throw refuse.notFound('no_such_connection');
    if (current.enabled)
      await runWrite(
        db,
        c.var.now(),
        async (w) => {
          await ensureState(w.tx, connectionId);
          await w.tx.execute({ sql: 'UPDATE crm_connections SET enabled = 0, updated_at = ? WHERE id = ?', args: [w.nowIso, connectionId] });
          await w.tx.execute({ sql: 'UPDATE connection_state SET next_import_at = NULL WHERE connection_id = ?', args: [connectionId] });
          // Work waiting on it becomes admin tasks when the worker next looks at it.
          await wakeJobs(w.tx, connectionId, w.nowIso);
          await w.audit({
            actorId: person.id,
            action: 'connection.disabled',
            subjectType: 'connection',
            subjectId: connectionId,
            data: { name: current.name },
          });
        },
        notifier,
      );
    signalWork();
    return c.json({ connection: await connectionView(db, (await loadConnection(db, connectionId))!) }, 200);
  })
  .openapi(testRoute, async (c) => {
    const { db, person, connectors } = c.var;
    const { id: connectionId } = c.req.valid('param');
    const result = await testConnection(db, connectors, connectionId, c.var.now);
    await runWrite(db, c.var.now(), async (w) => {
      if (result.ok) await markAuthorised(w.tx, connectionId, w.nowIso);
      const tenant = result.identity?.tenant;
      if (tenant) {
        const cur = await w.tx.execute({ sql: 'SELECT tenant FROM crm_connections WHERE id = ?', args: [connectionId] });
        if (cur.rows[0] && cur.rows[0].tenant === null)
          await w.tx.execute({ sql: 'UPDATE crm_connections SET tenant = ?, version = ? WHERE id = ?', args: [tenant, await w.version(), connectionId] });
      }
      await w.audit({
        actorId: person.id,
        action: 'connection.tested',
        subjectType: 'connection',
        subjectId: connectionId,
        data: { ok: result.ok, checks: result.checks.map((x) => ({ id: x.id, ok: x.ok })) },
      });
    });
    return c.json(result, 200);
  })
  .openapi(importRoute, async (c) => {
    const { db, person } = c.var;
    const { id: connectionId } = c.req.valid('param');
    const connection = await loadConnection(db, connectionId);
    if (!connection) throw refuse.notFound('no_such_connection');
    if (!connection.enabled) throw refuse.conflict('connection_disabled', { connection: connection.name });
    if (!connection.credentialsUpdatedAt) throw refuse.conflict('connection_no_credentials', { connection: connection.name });
    const run = await requestImport(db, connectionId, 'admin', person.id, c.var.now());
    signalWork();
    return c.json({ run }, 202);
  })
  .openapi(importsRoute, async (c) => {
    const { db } = c.var;
    const { id: connectionId } = c.req.valid('param');
    const connection = await loadConnection(db, connectionId);
    if (!connection) throw refuse.notFound('no_such_connection');
    const runs = await db.execute(`SELECT ${IMPORT_RUN_COLUMNS} FROM import_runs r WHERE r.connection_id = ? ORDER BY r.created_at DESC, r.id LIMIT ?`, [
      connectionId,
      c.req.valid('query').limit,
    ]);
    const lastGood = connection.lastGoodRunId ? await loadImportRun(db, connection.lastGoodRunId) : null;
    return c.json({ runs: runs.rows.map(importRunFromRow), lastGood }, 200);
  })
  .openapi(importRunRoute, async (c) => {
    const { id: connectionId, runId } = c.req.valid('param');
    const run = await loadImportRun(c.var.db, runId);
    if (!run || run.connectionId !== connectionId) throw refuse.notFound('import_not_found');
    return c.json({ run }, 200);
  });

/** What the stored credentials can do in the CRM (never throws for a CRM's refusal: it is a failed check). */
export async function testConnection(
  db: Parameters<typeof openConnector>[0],
  connectors: { box: Parameters<typeof openConnector>[1]; fetch?: typeof fetch },
  connectionId: string,
  now: () => Date,
): Promise<ConnectionTestResponse> {
  const controller = new AbortController();
  const opened = await openConnector(db, connectors.box, connectionId, {
    signal: controller.signal,
    now,
    maxWaitMs: 5000,
    ...(connectors.fetch ? { fetch: connectors.fetch } : {}),
  });
  if (!opened.ok) {
    if (!opened.connection) throw refuse.notFound('no_such_connection');
    return { ok: false, identity: null, canRead: false, canProvision: false, checks: [{ id: 'configuration', ok: false, message: opened.reason.message }] };
  }
  try {
    const report = await opened.client.test();
    return { ok: report.checks.every((x) => x.ok) || (report.canRead && opened.connection.mode === 'read-only'), ...report };
  } catch (error) {
    const message = error instanceof CrmError || error instanceof Error ? error.message : String(error);
    return { ok: false, identity: null, canRead: false, canProvision: false, checks: [{ id: 'sign-in', ok: false, message }] };
  }
}
