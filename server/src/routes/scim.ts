/**
 * /scim/v2: SCIM 2.0 (RFC 7643, RFC 7644) for identity providers that push people and groups (Okta,
 * Microsoft Entra ID). Users are the directory's people, Groups its approver groups. Every change goes
 * through the same write paths as the admin API (versioned, audited with the provider's token name,
 * directory events for departures and moves, findings recomputed). Bearer token per provider; the
 * discovery endpoints are public. Errors are SCIM error bodies (RFC 7644 §3.12).
 */
import { ILL_FORMED_TEXT_MESSAGE, illFormedTextAt } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { deleteGroup, newGroupId, writeGroup } from '../directory/groups.ts';
import { draftOf, newPersonId, writePeople, type ChangeSource, type PersonRecord } from '../directory/people.ts';
import { factory, type Env } from '../env.ts';
import { ApiFailure } from '../errors.ts';
import { apiRoutes } from '../openapi.ts';
import { filterToSql, parseFilter, type Sql } from '../scim/filter.ts';
import {
  checkGroupNameFree,
  checkScimMembers,
  GROUP_FILTER,
  GROUP_PATCH_TARGET,
  GROUP_VALUE_PATHS,
  readGroupResource,
  readScimGroup,
  toScimGroup,
} from '../scim/groups.ts';
import { applyPatch, patchBody } from '../scim/patch.ts';
import {
  ENTERPRISE_SCHEMA,
  GROUP_SCHEMA,
  listQuery,
  listResponse,
  paging,
  projectAttributes,
  resourceQuery,
  resourceTypes,
  schemas,
  SCIM_CONTENT_TYPE,
  ScimError,
  scimErrorBody,
  serviceProviderConfig,
  toListResponse,
  USER_SCHEMA,
} from '../scim/protocol.ts';
import { authenticateScimToken } from '../scim/tokens.ts';
import {
  checkUnique,
  draftFromInput,
  readScimPerson,
  readUserResource,
  resolveManager,
  SCIM_PERSON_COLUMNS,
  scimPersonFromRow,
  toScimUser,
  USER_FILTER,
  USER_PATCH_TARGET,
  USER_VALUE_PATHS,
  VISIBLE,
  type ScimPerson,
} from '../scim/users.ts';
import { runWrite, type WriteContext } from '../write.ts';

export const SCIM_BASE_PATH = '/scim/v2';

const base = (c: Context) => `${new URL(c.req.url).origin}${SCIM_BASE_PATH}`;

/**
 * A SCIM body with the SCIM media type. Typed as `never` so it fits every declared response: SCIM's
 * clients are identity providers, not our typed client, and the document carries the shapes.
 */
function scimJson(c: Context, body: unknown, status: 200 | 201 | 400 | 401 | 404 | 409 | 413 | 500 = 200): never {
  return c.json(body as never, status, { 'Content-Type': SCIM_CONTENT_TYPE }) as never;
}

/** Bad input, in SCIM's words: 400 invalidValue naming the attribute. */
function scimHook(result: { success: true; data?: unknown } | { success: false; error: unknown }, c: Context): Response | undefined {
  if (result.success) {
    // As every route (invalidInputHook): text that is not text (an unpaired surrogate) can be neither stored nor sent on.
    const field = illFormedTextAt(result.data);
    return field === null ? undefined : scimJson(c, new ScimError(400, `${field}: ${ILL_FORMED_TEXT_MESSAGE}`, 'invalidValue').body, 400);
  }
  const issue = (result.error as z.ZodError).issues[0];
  const field = issue?.path.map(String).join('.') || '(body)';
  return scimJson(c, new ScimError(400, `${field}: ${issue?.message ?? 'is invalid'}`, 'invalidValue').body, 400);
}

const scimAuth = factory.createMiddleware(async (c, next) => {
  const caller = await authenticateScimToken(c.var.db, c.req.header('Authorization'), c.var.now());
  if (!caller) {
    c.header('WWW-Authenticate', 'Bearer realm="AccessLens SCIM"');
    throw new ScimError(401, 'A valid SCIM bearer token is required.');
  }
  c.set('scim', caller);
  await next();
});

const source = (c: Context<Env>): ChangeSource => ({ via: 'scim', actorId: null, provider: c.var.scim.provider });

// ---------- schemas for the document ----------

const scimResource = z.looseObject({ schemas: z.array(z.string()).optional(), id: z.string().optional() });
const userResource = scimResource.extend({
  userName: z.string().min(1, 'is required'),
  externalId: z.string().optional(),
  name: z.looseObject({ formatted: z.string().optional(), givenName: z.string().optional(), familyName: z.string().optional() }).optional(),
  displayName: z.string().optional(),
  title: z.string().optional(),
  active: z.union([z.boolean(), z.string()]).optional(),
  emails: z.array(z.looseObject({ value: z.string(), type: z.string().optional(), primary: z.union([z.boolean(), z.string()]).optional() })).optional(),
  [ENTERPRISE_SCHEMA]: z
    .looseObject({ department: z.string().optional(), manager: z.union([z.string(), z.looseObject({ value: z.string().optional() })]).optional() })
    .optional(),
});
const groupResource = scimResource.extend({
  displayName: z.string().min(1, 'is required'),
  externalId: z.string().optional(),
  members: z
    .array(z.looseObject({ value: z.string(), display: z.string().optional() }))
    .nullable()
    .optional(),
});
const idParam = z.object({ id: z.string().min(1).max(200) });

const scimBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { [SCIM_CONTENT_TYPE]: { schema } } });
const scimOut = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { [SCIM_CONTENT_TYPE]: { schema } } });
const scimErrors = (...statuses: (400 | 401 | 404 | 409)[]) =>
  Object.fromEntries(statuses.map((s) => [s, scimOut(scimErrorBody, `SCIM error (RFC 7644 §3.12), status ${s}.`)])) as Record<
    400 | 401 | 404 | 409,
    ReturnType<typeof scimOut<typeof scimErrorBody>>
  >;
const security = [{ scimBearer: [] }];

// ---------- queries ----------

async function listWhere(c: Context<Env>, table: 'people' | 'groups', where: Sql, startIndex: number, count: number, offset: number) {
  const from = table === 'people' ? `FROM people p WHERE ${VISIBLE} AND ${where.sql}` : `FROM approver_groups g WHERE g.deleted_at IS NULL AND ${where.sql}`;
  const columns = table === 'people' ? SCIM_PERSON_COLUMNS : 'g.id, g.name, g.member_ids, g.external_id, g.created_at, g.updated_at';
  const order = table === 'people' ? 'p.id' : 'g.id';
  const [rows, total] = await c.var.db.readBatch([
    { sql: `SELECT ${columns} ${from} ORDER BY ${order} LIMIT ? OFFSET ?`, args: [...where.args, count, offset] },
    { sql: `SELECT COUNT(*) AS n ${from}`, args: where.args },
  ]);
  return { rows: rows!.rows, total: Number(total!.rows[0]!.n), startIndex };
}

function whereOf(filter: string | undefined, kind: 'user' | 'group'): Sql {
  if (filter === undefined || filter.trim() === '') return { sql: '1', args: [] };
  const parsed = parseFilter(filter);
  return kind === 'user'
    ? filterToSql(parsed, USER_FILTER, USER_VALUE_PATHS, [USER_SCHEMA.toLowerCase(), ENTERPRISE_SCHEMA.toLowerCase()])
    : filterToSql(parsed, GROUP_FILTER, GROUP_VALUE_PATHS, [GROUP_SCHEMA.toLowerCase()]);
}

async function memberNames(c: Context<Env> | { var: { db: Env['Variables']['db'] } }, ids: string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 400) {
    const part = ids.slice(i, i + 400);
    const r = await c.var.db.execute(`SELECT id, name FROM people WHERE id IN (${part.map(() => '?').join(', ')})`, part);
    for (const row of r.rows) names.set(String(row.id), String(row.name));
  }
  return names;
}

const noUser = () => new ScimError(404, 'No such User.');
const noGroup = () => new ScimError(404, 'No such Group.');

// ---------- users: one write path for POST, PUT and PATCH ----------

async function saveUser(w: WriteContext, c: Context<Env>, before: ScimPerson | null, resource: Record<string, unknown>): Promise<string> {
  const input = readUserResource(resource, before);
  const id = before?.id ?? newPersonId();
  await checkUnique(w.tx, input, before?.id ?? null);
  const managerId = input.manager === null ? null : input.manager === before?.managerId ? before.managerId : await resolveManager(w.tx, input.manager, id);
  const after = draftFromInput(id, input, managerId, before);
  const summary = await writePeople(w, [{ before, after }], source(c));
  const scimName = input.scimName === null ? null : JSON.stringify(input.scimName);
  const storedName = before?.scimName ? JSON.stringify(before.scimName) : null;
  if (scimName !== storedName || !before) await w.tx.execute({ sql: 'UPDATE people SET scim_name = ? WHERE id = ?', args: [scimName, id] });
  if (summary.changedIds.length > 0) c.var.findings.track(w);
  return id;
}

async function userView(c: Context<Env>, id: string) {
  const r = await c.var.db.execute(`SELECT ${SCIM_PERSON_COLUMNS} FROM people p WHERE p.id = ?`, [id]);
  return toScimUser(scimPersonFromRow(r.rows[0]!), base(c));
}

// ---------- routes ----------

export const scim = apiRoutes(scimHook)
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/ServiceProviderConfig',
      summary: 'What this SCIM service supports (public)',
      responses: { 200: scimOut(z.record(z.string(), z.unknown()), 'RFC 7643 §5.') },
    }),
    (c) => scimJson(c, serviceProviderConfig(base(c))),
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/ResourceTypes',
      summary: 'User and Group (public)',
      responses: { 200: scimOut(listResponse(z.record(z.string(), z.unknown())), 'RFC 7643 §6.') },
    }),
    (c) => {
      const types = resourceTypes(base(c));
      return scimJson(c, toListResponse(types, types.length, 1));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/ResourceTypes/{id}',
      summary: 'One resource type (public)',
      request: { params: idParam },
      responses: { 200: scimOut(z.record(z.string(), z.unknown()), 'RFC 7643 §6.'), ...scimErrors(404) },
    }),
    (c) => {
      const type = resourceTypes(base(c)).find((t) => t.id === c.req.valid('param').id);
      if (!type) throw new ScimError(404, 'No such resource type.');
      return scimJson(c, type);
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/Schemas',
      summary: 'The attributes AccessLens keeps (public)',
      responses: { 200: scimOut(listResponse(z.record(z.string(), z.unknown())), 'RFC 7643 §7.') },
    }),
    (c) => {
      const all = schemas(base(c));
      return scimJson(c, toListResponse(all, all.length, 1));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/Schemas/{id}',
      summary: 'One schema (public)',
      request: { params: idParam },
      responses: { 200: scimOut(z.record(z.string(), z.unknown()), 'RFC 7643 §7.'), ...scimErrors(404) },
    }),
    (c) => {
      const schema = schemas(base(c)).find((s) => s.id === c.req.valid('param').id);
      if (!schema) throw new ScimError(404, 'No such schema.');
      return scimJson(c, schema);
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/Users',
      summary: 'Users: filter (e.g. userName eq "…"), startIndex, count',
      security,
      middleware: [scimAuth] as const,
      request: { query: listQuery },
      responses: { 200: scimOut(listResponse(userResource), 'A ListResponse (RFC 7644 §3.4.2).'), ...scimErrors(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { startIndex, count, offset } = paging(q);
      const page = await listWhere(c, 'people', whereOf(q.filter, 'user'), startIndex, count, offset);
      const users = page.rows.map((r) => projectAttributes(toScimUser(scimPersonFromRow(r), base(c)), q));
      return scimJson(c, toListResponse(users, page.total, startIndex));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'post',
      path: '/Users',
      summary: 'Create a User (a person in the directory)',
      security,
      middleware: [scimAuth] as const,
      request: { body: scimBody(userResource) },
      responses: { 201: scimOut(userResource, 'The created User.'), ...scimErrors(400, 401, 409) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const id = await runWrite(c.var.db, c.var.now(), (w) => saveUser(w, c, null, body), c.var.notifier);
      const user = await userView(c, id);
      c.header('Location', `${base(c)}/Users/${id}`);
      return scimJson(c, user, 201);
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/Users/{id}',
      summary: 'One User',
      security,
      middleware: [scimAuth] as const,
      request: { params: idParam, query: resourceQuery },
      responses: { 200: scimOut(userResource, 'The User.'), ...scimErrors(401, 404) },
    }),
    async (c) => {
      const person = await readScimPerson(c.var.db, c.req.valid('param').id);
      if (!person) throw noUser();
      return scimJson(c, projectAttributes(toScimUser(person, base(c)), c.req.valid('query')));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'put',
      path: '/Users/{id}',
      summary: 'Replace a User (attributes left out are cleared)',
      security,
      middleware: [scimAuth] as const,
      request: { params: idParam, body: scimBody(userResource) },
      responses: { 200: scimOut(userResource, 'The User.'), ...scimErrors(400, 401, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await runWrite(
        c.var.db,
        c.var.now(),
        async (w) => {
          const before = await readScimPerson(w.tx, id);
          if (!before) throw noUser();
          await saveUser(w, c, before, body);
        },
        c.var.notifier,
      );
      return scimJson(c, await userView(c, id));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'patch',
      path: '/Users/{id}',
      summary: 'Change a User with PATCH operations (Okta and Entra ID shapes)',
      security,
      middleware: [scimAuth] as const,
      request: { params: idParam, body: scimBody(patchBody) },
      responses: { 200: scimOut(userResource, 'The User.'), ...scimErrors(400, 401, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await runWrite(
        c.var.db,
        c.var.now(),
        async (w) => {
          const before = await readScimPerson(w.tx, id);
          if (!before) throw noUser();
          const patched = applyPatch(toScimUser(before, base(c)), body, USER_PATCH_TARGET);
          await saveUser(w, c, before, patched);
        },
        c.var.notifier,
      );
      return scimJson(c, await userView(c, id));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'delete',
      path: '/Users/{id}',
      summary: 'Delete a User: the person is marked departed (kept, with their history)',
      security,
      middleware: [scimAuth] as const,
      request: { params: idParam },
      responses: { 204: { description: 'Departed; the User is gone from SCIM.' }, ...scimErrors(401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await runWrite(
        c.var.db,
        c.var.now(),
        async (w) => {
          const before: PersonRecord | null = await readScimPerson(w.tx, id);
          if (!before) throw noUser();
          await writePeople(w, [{ before, after: { ...draftOf(before), status: 'departed' } }], source(c));
          c.var.findings.track(w);
        },
        c.var.notifier,
      );
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/Groups',
      summary: 'Groups (approver groups): filter (e.g. displayName eq "…"), startIndex, count',
      security,
      middleware: [scimAuth] as const,
      request: { query: listQuery },
      responses: { 200: scimOut(listResponse(groupResource), 'A ListResponse (RFC 7644 §3.4.2).'), ...scimErrors(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { startIndex, count, offset } = paging(q);
      const page = await listWhere(c, 'groups', whereOf(q.filter, 'group'), startIndex, count, offset);
      const groups = page.rows.map((r) => ({
        id: String(r.id),
        name: String(r.name),
        memberIds: JSON.parse(String(r.member_ids)) as string[],
        externalId: r.external_id === null ? null : String(r.external_id),
        createdAt: r.created_at === null ? null : String(r.created_at),
        updatedAt: r.updated_at === null ? null : String(r.updated_at),
      }));
      const excludesMembers = /(^|,)\s*members\s*(,|$)/i.test(q.excludedAttributes ?? '');
      const names = excludesMembers ? new Map<string, string>() : await memberNames(c, [...new Set(groups.flatMap((g) => g.memberIds))]);
      const resources = groups.map((g) => projectAttributes(toScimGroup(g, names, base(c)), q));
      return scimJson(c, toListResponse(resources, page.total, startIndex));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'post',
      path: '/Groups',
      summary: 'Create a Group (an approver group)',
      security,
      middleware: [scimAuth] as const,
      request: { body: scimBody(groupResource) },
      responses: { 201: scimOut(groupResource, 'The created Group.'), ...scimErrors(400, 401, 409) },
    }),
    async (c) => {
      const input = readGroupResource(c.req.valid('json'));
      const id = newGroupId();
      await runWrite(
        c.var.db,
        c.var.now(),
        async (w) => {
          await checkGroupNameFree(w.tx, input.displayName, null);
          await checkScimMembers(w.tx, input.memberIds);
          await writeGroup(w, null, { id, name: input.displayName, memberIds: input.memberIds, externalId: input.externalId }, source(c));
          c.var.findings.track(w);
        },
        c.var.notifier,
      );
      const group = (await readScimGroup(c.var.db, id))!;
      c.header('Location', `${base(c)}/Groups/${id}`);
      return scimJson(c, toScimGroup(group, await memberNames(c, group.memberIds), base(c)), 201);
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'get',
      path: '/Groups/{id}',
      summary: 'One Group (excludedAttributes=members leaves the members out)',
      security,
      middleware: [scimAuth] as const,
      request: { params: idParam, query: resourceQuery },
      responses: { 200: scimOut(groupResource, 'The Group.'), ...scimErrors(401, 404) },
    }),
    async (c) => {
      const group = await readScimGroup(c.var.db, c.req.valid('param').id);
      if (!group) throw noGroup();
      return scimJson(c, projectAttributes(toScimGroup(group, await memberNames(c, group.memberIds), base(c)), c.req.valid('query')));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'put',
      path: '/Groups/{id}',
      summary: 'Replace a Group: name, members, externalId',
      security,
      middleware: [scimAuth] as const,
      request: { params: idParam, body: scimBody(groupResource) },
      responses: { 200: scimOut(groupResource, 'The Group.'), ...scimErrors(400, 401, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const input = readGroupResource(c.req.valid('json'));
      await runWrite(
        c.var.db,
        c.var.now(),
        async (w) => {
          const before = await readScimGroup(w.tx, id);
          if (!before) throw noGroup();
          await saveGroup(w, c, before, input);
        },
        c.var.notifier,
      );
      const group = (await readScimGroup(c.var.db, id))!;
      return scimJson(c, toScimGroup(group, await memberNames(c, group.memberIds), base(c)));
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'patch',
      path: '/Groups/{id}',
      summary: 'Change a Group with PATCH operations: rename, add, remove or replace members',
      security,
      middleware: [scimAuth] as const,
      request: { params: idParam, body: scimBody(patchBody) },
      responses: { 204: { description: 'Changed (Entra ID asks for no body).' }, ...scimErrors(400, 401, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await runWrite(
        c.var.db,
        c.var.now(),
        async (w) => {
          const before = await readScimGroup(w.tx, id);
          if (!before) throw noGroup();
          const patched = applyPatch(toScimGroup(before, new Map(), base(c)), body, GROUP_PATCH_TARGET);
          await saveGroup(w, c, before, readGroupResource(patched));
        },
        c.var.notifier,
      );
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      tags: ['scim'],
      method: 'delete',
      path: '/Groups/{id}',
      summary: 'Delete a Group (409 while a request rule or catalog entry names it)',
      security,
      middleware: [scimAuth] as const,
      request: { params: idParam },
      responses: { 204: { description: 'Deleted.' }, ...scimErrors(401, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await runWrite(
        c.var.db,
        c.var.now(),
        async (w) => {
          const before = await readScimGroup(w.tx, id);
          if (!before) throw noGroup();
          await deleteGroup(w, before, source(c));
          c.var.findings.track(w);
        },
        c.var.notifier,
      );
      return c.body(null, 204);
    },
  );

async function saveGroup(
  w: WriteContext,
  c: Context<Env>,
  before: NonNullable<Awaited<ReturnType<typeof readScimGroup>>>,
  input: ReturnType<typeof readGroupResource>,
): Promise<void> {
  if (input.displayName.toLowerCase() !== before.name.toLowerCase()) await checkGroupNameFree(w.tx, input.displayName, before.id);
  // Members being added must be Users; ones leaving may have departed meanwhile.
  await checkScimMembers(
    w.tx,
    input.memberIds.filter((m) => !before.memberIds.includes(m)),
  );
  const changed = await writeGroup(
    w,
    before,
    { id: before.id, name: input.displayName, memberIds: input.memberIds, externalId: input.externalId ?? before.externalId },
    source(c),
  );
  if (changed) c.var.findings.track(w);
}

scim.all('/*', () => {
  throw new ScimError(404, 'No such SCIM endpoint.');
});

scim.onError((err, c) => {
  if (err instanceof ScimError) return scimJson(c, err.body, err.status as 400);
  if (err instanceof ApiFailure) {
    const status = ([400, 401, 404, 409].includes(err.status) ? err.status : 400) as 400;
    return scimJson(c, new ScimError(status, err.message, status === 400 ? 'invalidValue' : undefined).body, status);
  }
  if (err instanceof HTTPException && err.status === 400) return scimJson(c, new ScimError(400, '(body): is not valid JSON.', 'invalidSyntax').body, 400);
  console.error(`[accesslens] SCIM ${c.req.method} ${new URL(c.req.url).pathname} failed:`, err);
  return scimJson(c, new ScimError(500, 'Something went wrong on the server.').body, 500);
});
