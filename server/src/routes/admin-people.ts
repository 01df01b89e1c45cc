/**
 * /api/admin/people (administrators): the directory's people — list, read, create, change — and the
 * CSV import. Every change goes through `writePeople` (versioned, audited, directory events).
 */
import {
  adminPeopleQuery,
  adminPeopleResponse,
  adminPersonResponse,
  id,
  peopleImportApplied,
  peopleImportQuery,
  peopleImportRefused,
  personCreateBody,
  personUpdateBody,
  type AdminPersonDetail,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { importPeopleCsv } from '../directory/import.ts';
import { managerCycle, newPersonId, readPersonRecord, writePeople, type PersonDraft } from '../directory/people.ts';
import { listPeople, readPersonDetail } from '../directory/query.ts';
import type { Transaction } from '../db.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { runWrite } from '../write.ts';

/** The CSV import's own body limit (100,000 people is about 10 MB); every other route has 1 MB. */
export const PEOPLE_IMPORT_MAX_BYTES = 64 * 1024 * 1024;
export const PEOPLE_IMPORT_PATH = '/api/admin/people/import';

const adminOnly = requireRole(['admin'], 'manage_directory');
const personParam = z.object({ id });

/** 409 when another person has this email (or uses it as their identity provider userName). */
async function checkEmailFree(tx: Transaction, email: string, exceptId: string | null): Promise<void> {
  const r = await tx.execute({
    sql: 'SELECT id FROM people WHERE (email = ?1 OR scim_user_name = ?1 COLLATE NOCASE) AND id <> ?2',
    args: [email, exceptId ?? ''],
  });
  if (r.rows[0]) throw ApiFailure.of(409, 'conflict', 'email_taken', { email }, { field: 'email' });
}

async function checkManager(tx: Transaction, personId: string, managerId: string): Promise<void> {
  const manager = await tx.execute({ sql: 'SELECT email FROM people WHERE id = ?', args: [managerId] });
  if (!manager.rows[0]) throw ApiFailure.of(400, 'invalid_input', 'person_not_found', { personId: managerId }, { field: 'managerId' });
  const cycle = await managerCycle(tx, personId, managerId);
  if (cycle) {
    const members = [...new Set(cycle)];
    const emails = await tx.execute({
      sql: `SELECT id, email FROM people WHERE id IN (${members.map(() => '?').join(', ')})`,
      args: members,
    });
    const emailOf = new Map(emails.rows.map((r) => [String(r.id), String(r.email)]));
    throw ApiFailure.of(400, 'invalid_input', 'manager_cycle', { cycle: cycle.map((c) => emailOf.get(c) ?? c).join(' → ') }, { field: 'managerId' });
  }
}

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['directory'],
  summary: 'People, searched and filtered, in email order',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { query: adminPeopleQuery },
  responses: { 200: json(adminPeopleResponse, 'A page of people.'), ...errors(400, 401, 403) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['directory'],
  summary: 'One person in full',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: personParam },
  responses: { 200: json(adminPersonResponse, 'The person.'), ...errors(400, 401, 403, 404) },
});

const createPersonRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['directory'],
  summary: 'Add a person',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { body: jsonBody(personCreateBody) },
  responses: { 201: json(adminPersonResponse, 'The new person.'), ...errors(400, 401, 403, 409) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: ['directory'],
  summary: 'Change a person (only the fields given)',
  description:
    'Status, department, title or manager changes are recorded as directory events (departed, deactivated, moved). ' +
    'A person who is no longer active is signed out everywhere. Nobody changes their own roles or status (so an ' +
    'administrator always remains).',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: personParam, body: jsonBody(personUpdateBody) },
  responses: { 200: json(adminPersonResponse, 'The person as changed.'), ...errors(400, 401, 403, 404, 409) },
});

const importRoute = createRoute({
  method: 'post',
  path: '/import',
  tags: ['directory'],
  summary: 'Import people from a CSV file (all or nothing)',
  description:
    'Header exactly `email,name,department,title,manager_email,hire_date,status,trainings` (trainings separated by `;`), ' +
    'UTF-8 with or without BOM, RFC 4180 quoting. Upserts by email; managers resolve within the file, then the directory. ' +
    'Any problem refuses the whole file (400 `invalid_csv` with every problem, line and column); `dryRun=true` checks and ' +
    'counts without applying. Body limit 64 MB.',
  security: bearer,
  middleware: [
    requireSession,
    adminOnly,
    bodyLimit({
      maxSize: PEOPLE_IMPORT_MAX_BYTES,
      onError: (c) => c.json(ApiFailure.of(413, 'payload_too_large', 'csv_too_large').body, 413),
    }),
  ] as const,
  request: { query: peopleImportQuery, body: { required: true, content: { 'text/csv': { schema: z.string() } } } },
  responses: {
    200: json(peopleImportApplied, 'Applied (or, with dryRun, what would be): the counts.'),
    400: json(peopleImportRefused, 'The file was refused, nothing applied: every problem with its line and column.'),
    ...errors(401, 403, 413),
  },
});

async function detail(tx: Transaction, personId: string): Promise<AdminPersonDetail> {
  return (await readPersonDetail(tx, personId))!;
}

export const adminPeople = apiRoutes()
  .openapi(listRoute, async (c) => c.json(await listPeople(c.var.db, c.req.valid('query')), 200))
  .openapi(getRoute, async (c) => {
    const person = await readPersonDetail(c.var.db, c.req.valid('param').id);
    if (!person) throw refuse.notFound('no_such_person');
    return c.json({ person }, 200);
  })
  .openapi(createPersonRoute, async (c) => {
    const { db, person: actor, findings, notifier } = c.var;
    const body = c.req.valid('json');
    const person = await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const personId = newPersonId();
        await checkEmailFree(w.tx, body.email, null);
        if (body.managerId) await checkManager(w.tx, personId, body.managerId);
        const draft: PersonDraft = { id: personId, ...body, scimUserName: null, externalId: null };
        await writePeople(w, [{ before: null, after: draft }], { via: 'api', actorId: actor.id });
        findings.track(w);
        return detail(w.tx, personId);
      },
      notifier,
    );
    return c.json({ person }, 201);
  })
  .openapi(updateRoute, async (c) => {
    const { db, person: actor, findings, notifier } = c.var;
    const personId = c.req.valid('param').id;
    const body = c.req.valid('json');
    const person = await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const before = await readPersonRecord(w.tx, personId);
        if (!before) throw refuse.notFound('no_such_person');
        const after: PersonDraft = {
          id: before.id,
          email: body.email ?? before.email,
          name: body.name ?? before.name,
          department: body.department ?? before.department,
          title: body.title ?? before.title,
          managerId: body.managerId === undefined ? before.managerId : body.managerId,
          hireDate: body.hireDate === undefined ? before.hireDate : body.hireDate,
          status: body.status ?? before.status,
          roles: body.roles ?? before.roles,
          trainings: body.trainings ?? before.trainings,
          scimUserName: before.scimUserName,
          externalId: before.externalId,
        };
        if (after.email !== before.email) await checkEmailFree(w.tx, after.email, before.id);
        if (after.managerId && after.managerId !== before.managerId) await checkManager(w.tx, before.id, after.managerId);
        const rolesChange = after.roles.length !== before.roles.length || after.roles.some((r) => !before.roles.includes(r));
        if (before.id === actor.id && rolesChange) throw refuse.forbidden('own_roles');
        if (before.id === actor.id && after.status !== before.status) throw refuse.forbidden('own_status');
        const summary = await writePeople(w, [{ before, after }], { via: 'api', actorId: actor.id });
        if (summary.changedIds.length > 0) findings.track(w);
        return detail(w.tx, before.id);
      },
      notifier,
    );
    return c.json({ person }, 200);
  })
  .openapi(importRoute, async (c) => {
    const { db, person: actor, findings, notifier } = c.var;
    const { dryRun } = c.req.valid('query');
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const result = await importPeopleCsv(db, bytes, { dryRun, source: { via: 'csv', actorId: actor.id }, now: c.var.now(), findings, notifier });
    if (result.ok) return c.json(result, 200);
    const first = result.problems[0]!;
    return c.json(
      {
        error: { code: 'invalid_csv', message: `line ${first.line}, ${first.field}: ${first.message}`, field: first.field },
        ...result,
      },
      400,
    );
  });
