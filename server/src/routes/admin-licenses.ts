/**
 * /api/admin/licenses (administrators): CRM licences bought per connection — name, type, seats bought,
 * end of term — and how many seats are in use as the policy engine counts them (the same count a
 * request's preview checks). Versioned like the catalog: a change rebuilds the findings engine.
 */
import {
  id,
  licenseCreateBody,
  licenseResponse,
  licensesQuery,
  licensesResponse,
  licenseUpdateBody,
  type LicenseView,
  type OrgEngine,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import type { Row } from '@libsql/client';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { readBatch, type Source } from '../policy/load.ts';
import { runWrite } from '../write.ts';

const adminOnly = requireRole(['admin'], 'manage_licences');
const licenseParam = z.object({ id });

const COLUMNS = 'l.id, l.connection_id, l.name, l.license_type, l.seats, l.term_end_date';

interface StoredLicense extends Omit<LicenseView, 'used'> {}

function licenseFromRow(r: Row): StoredLicense {
  return {
    id: String(r.id),
    connectionId: String(r.connection_id),
    name: String(r.name),
    type: String(r.license_type) as LicenseView['type'],
    seats: Number(r.seats),
    termEndDate: r.term_end_date === null ? null : String(r.term_end_date),
  };
}

async function readLicenses(source: Source, where: { id?: string; connectionId?: string }): Promise<StoredLicense[]> {
  const clauses = ['l.deleted_at IS NULL'];
  const args: string[] = [];
  if (where.id !== undefined) {
    clauses.push('l.id = ?');
    args.push(where.id);
  }
  if (where.connectionId !== undefined) {
    clauses.push('l.connection_id = ?');
    args.push(where.connectionId);
  }
  const [rows] = await readBatch(source, [
    { sql: `SELECT ${COLUMNS} FROM licenses l WHERE ${clauses.join(' AND ')} ORDER BY l.connection_id, l.name, l.id`, args },
  ]);
  return rows!.rows.map(licenseFromRow);
}

const withUse = (engine: OrgEngine, l: StoredLicense): LicenseView => ({ ...l, used: engine.licenseSeatsUsed(l.connectionId, l.id).used });

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['directory'],
  summary: 'Licences bought, per connection, with seats in use',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { query: licensesQuery },
  responses: { 200: json(licensesResponse, 'Licences by connection and name.'), ...errors(400, 401, 403) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['directory'],
  summary: 'One licence',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: licenseParam },
  responses: { 200: json(licenseResponse, 'The licence.'), ...errors(400, 401, 403, 404) },
});

const createLicenseRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['directory'],
  summary: 'Record a licence bought for a connection',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { body: jsonBody(licenseCreateBody) },
  responses: { 201: json(licenseResponse, 'The new licence.'), ...errors(400, 401, 403) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: ['directory'],
  summary: 'Change a licence: name, type, seats bought, end of term',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: licenseParam, body: jsonBody(licenseUpdateBody) },
  responses: { 200: json(licenseResponse, 'The licence as changed.'), ...errors(400, 401, 403, 404) },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['directory'],
  summary: 'Delete a licence no catalog entry consumes (409 otherwise)',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: licenseParam },
  responses: { 204: { description: 'Deleted.' }, ...errors(400, 401, 403, 404, 409) },
});

const noLicense = () => refuse.notFound('licence_not_found');

export const adminLicenses = apiRoutes()
  .openapi(listRoute, async (c) => {
    const engine = await c.var.findings.ensureCurrent(c.var.now());
    const { connectionId } = c.req.valid('query');
    const licenses = await readLicenses(c.var.db, connectionId === undefined ? {} : { connectionId });
    return c.json({ licenses: licenses.map((l) => withUse(engine, l)) }, 200);
  })
  .openapi(getRoute, async (c) => {
    const engine = await c.var.findings.ensureCurrent(c.var.now());
    const [license] = await readLicenses(c.var.db, { id: c.req.valid('param').id });
    if (!license) throw noLicense();
    return c.json({ license: withUse(engine, license) }, 200);
  })
  .openapi(createLicenseRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const body = c.req.valid('json');
    const licenseId = `lic-${crypto.randomUUID()}`;
    await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const conn = await w.tx.execute({ sql: 'SELECT 1 FROM crm_connections WHERE id = ?', args: [body.connectionId] });
        if (!conn.rows[0]) throw ApiFailure.of(400, 'invalid_input', 'connection_not_found', { connectionId: body.connectionId }, { field: 'connectionId' });
        const version = await w.version();
        await w.tx.execute({
          sql: `INSERT INTO licenses (id, connection_id, name, license_type, seats, term_end_date, version) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          args: [licenseId, body.connectionId, body.name, body.type, body.seats, body.termEndDate, version],
        });
        await w.audit({ actorId: person.id, action: 'license.created', subjectType: 'license', subjectId: licenseId, data: { ...body } });
        findings.track(w);
      },
      notifier,
    );
    const engine = await findings.ensureCurrent(c.var.now());
    return c.json({ license: withUse(engine, (await readLicenses(db, { id: licenseId }))[0]!) }, 201);
  })
  .openapi(updateRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const licenseId = c.req.valid('param').id;
    const body = c.req.valid('json');
    await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const [before] = await readLicenses(w.tx, { id: licenseId });
        if (!before) throw noLicense();
        const after = { ...before, ...body };
        const changes = Object.fromEntries(
          (['name', 'type', 'seats', 'termEndDate'] as const).filter((k) => before[k] !== after[k]).map((k) => [k, { from: before[k], to: after[k] }]),
        );
        if (Object.keys(changes).length === 0) return;
        const version = await w.version();
        await w.tx.execute({
          sql: 'UPDATE licenses SET name = ?, license_type = ?, seats = ?, term_end_date = ?, version = ? WHERE id = ?',
          args: [after.name, after.type, after.seats, after.termEndDate, version, licenseId],
        });
        await w.audit({ actorId: person.id, action: 'license.updated', subjectType: 'license', subjectId: licenseId, data: { changes } });
        findings.track(w);
      },
      notifier,
    );
    const engine = await findings.ensureCurrent(c.var.now());
    return c.json({ license: withUse(engine, (await readLicenses(db, { id: licenseId }))[0]!) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const licenseId = c.req.valid('param').id;
    await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const [before] = await readLicenses(w.tx, { id: licenseId });
        if (!before) throw noLicense();
        const used = await w.tx.execute({ sql: 'SELECT COUNT(*) AS n FROM permission_catalog WHERE license_id = ?', args: [licenseId] });
        const n = Number(used.rows[0]!.n);
        if (n === 1) throw refuse.conflict('licence_consumed_one', { licence: before.name });
        if (n > 1) throw refuse.conflict('licence_consumed_many', { count: n, licence: before.name });
        const version = await w.version();
        await w.tx.execute({ sql: 'UPDATE licenses SET deleted_at = ?, version = ? WHERE id = ?', args: [w.nowIso, version, licenseId] });
        await w.audit({ actorId: person.id, action: 'license.deleted', subjectType: 'license', subjectId: licenseId, data: { ...before } });
        findings.track(w);
      },
      notifier,
    );
    return c.body(null, 204);
  });
