/**
 * /api/admin/access (administrators and auditors): who holds what, and why — every path the engine
 * finds (`OrgEngine.effective` / `explain`: the assignment, the bundles down to the one listing the
 * key, the implication chain), per person, or per permission across a connection.
 */
import { holdersQuery, holdersResponse, id, personAccessResponse, type EnginePath, type PersonAccessResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json } from '../openapi.ts';

type PathView = PersonAccessResponse['accounts'][number]['permissions'][number]['paths'][number];

const pathView = (p: EnginePath, grantedAt: Map<string, string>): PathView => ({
  assignmentId: p.assignmentId,
  source: p.source,
  requestId: p.requestId,
  grantedAt: grantedAt.get(p.assignmentId) ?? null,
  expiresAt: p.expiresAt,
  bundles: p.bundles.map((b) => ({ bundleId: b.bundleId, name: b.name, kind: b.kind })),
  implication: p.implication.length > 1 ? p.implication : [],
});

const personRoute = createRoute({
  method: 'get',
  path: '/people/{id}',
  tags: ['access'],
  summary: "A person's CRM accounts, what each holds and every path that grants it (administrators and auditors)",
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'see_peoples_access')] as const,
  request: { params: z.object({ id }) },
  responses: { 200: json(personAccessResponse, 'Accounts, assignments and effective permissions with their paths.'), ...errors(400, 401, 403, 404) },
});

const holdersRoute = createRoute({
  method: 'get',
  path: '/holders',
  tags: ['access'],
  summary: 'Who holds a permission on a connection, with the paths that grant it (administrators and auditors)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'see_peoples_access')] as const,
  request: { query: holdersQuery },
  responses: { 200: json(holdersResponse, 'Holders in account order; `nextCursor` pages on.'), ...errors(400, 401, 403, 404) },
});

export const adminAccessRoutes = apiRoutes()
  .openapi(personRoute, async (c) => {
    const { db, findings } = c.var;
    const { id: personId } = c.req.valid('param');
    const engine = await findings.ensureCurrent(c.var.now());
    const [people, accounts, assignments, bundleKeys, catalog, open] = await db.readBatch([
      { sql: 'SELECT id, name, email, department, title, status, manager_id FROM people WHERE id = ?', args: [personId] },
      {
        sql: `SELECT ac.id, ac.connection_id, ac.external_user_id, ac.username, ac.active, ac.last_login_at, c.name, c.kind
              FROM crm_accounts ac JOIN crm_connections c ON c.id = ac.connection_id WHERE ac.person_id = ? ORDER BY c.name, ac.id`,
        args: [personId],
      },
      {
        sql: `SELECT a.id, a.account_id, a.target_type, a.bundle_id, a.permission_key, a.source, a.request_id, a.granted_at, a.expires_at, a.revoked_at,
                b.name AS bundle_name, b.kind AS bundle_kind
              FROM assignments a LEFT JOIN bundles b ON b.id = a.bundle_id
              WHERE a.account_id IN (SELECT id FROM crm_accounts WHERE person_id = ?) ORDER BY a.granted_at, a.id`,
        args: [personId],
      },
      {
        sql: `SELECT bp.bundle_id, bp.key FROM bundle_permissions bp
              WHERE bp.bundle_id IN (SELECT bundle_id FROM assignments WHERE bundle_id IS NOT NULL AND account_id IN (SELECT id FROM crm_accounts WHERE person_id = ?))`,
        args: [personId],
      },
      {
        sql: `SELECT k.connection_id, k.key, k.label_en, k.label_zh_cn, k.risk FROM permission_catalog k
              WHERE k.connection_id IN (SELECT connection_id FROM crm_accounts WHERE person_id = ?)`,
        args: [personId],
      },
      {
        sql: "SELECT id, account_id FROM findings WHERE person_id = ? AND status IN ('open', 'accepted', 'temporary') ORDER BY severity_rank DESC, id",
        args: [personId],
      },
    ]);
    const p = people!.rows[0];
    if (!p) throw refuse.notFound('no_such_person');
    const nowMs = c.var.now().getTime();
    const grantedAt = new Map(assignments!.rows.map((a) => [String(a.id), String(a.granted_at)] as const));
    const labels = new Map(catalog!.rows.map((k) => [`${String(k.connection_id)}\u0000${String(k.key)}`, k] as const));
    const keysOfBundle = new Map<string, string[]>();
    for (const r of bundleKeys!.rows) keysOfBundle.set(String(r.bundle_id), [...(keysOfBundle.get(String(r.bundle_id)) ?? []), String(r.key)]);
    const body: PersonAccessResponse = {
      person: {
        id: String(p.id),
        name: String(p.name),
        email: String(p.email),
        department: String(p.department),
        title: String(p.title),
        status: String(p.status) as PersonAccessResponse['person']['status'],
        managerId: p.manager_id === null ? null : String(p.manager_id),
      },
      accounts: accounts!.rows.map((a) => {
        const accountId = String(a.id);
        const connectionId = String(a.connection_id);
        const mine = assignments!.rows.filter((x) => String(x.account_id) === accountId);
        const effective = engine.effective(accountId);
        // Keys held without what they need (e.g. Dataverse Assign without Write): not allowed, still shown.
        const listed = new Set<string>();
        for (const x of mine) {
          if (x.target_type === 'permission') listed.add(String(x.permission_key));
          else for (const k of keysOfBundle.get(String(x.bundle_id)) ?? []) listed.add(k);
        }
        const permissions: PersonAccessResponse['accounts'][number]['permissions'] = [];
        for (const [key, paths] of effective) {
          const entry = labels.get(`${connectionId}\u0000${key}`);
          permissions.push({
            key,
            labels: entry ? { en: String(entry.label_en), 'zh-CN': String(entry.label_zh_cn) } : null,
            risk: entry ? (String(entry.risk) as 'low') : null,
            paths: paths.map((x) => pathView(x, grantedAt)),
            missingPrerequisites: [],
          });
        }
        for (const key of listed) {
          if (effective.has(key)) continue;
          const why = engine.explain(accountId, key);
          if (why.allowed || why.missingPrerequisites.length === 0) continue;
          const entry = labels.get(`${connectionId}\u0000${key}`);
          permissions.push({
            key,
            labels: entry ? { en: String(entry.label_en), 'zh-CN': String(entry.label_zh_cn) } : null,
            risk: entry ? (String(entry.risk) as 'low') : null,
            paths: why.heldPaths.map((x) => pathView(x, grantedAt)),
            missingPrerequisites: why.missingPrerequisites,
          });
        }
        permissions.sort((x, y) => x.key.localeCompare(y.key));
        return {
          account: {
            id: accountId,
            externalUserId: String(a.external_user_id),
            username: String(a.username),
            active: Number(a.active) === 1,
            lastLoginAt: a.last_login_at === null ? null : String(a.last_login_at),
          },
          connection: { id: connectionId, name: String(a.name), kind: String(a.kind) as PersonAccessResponse['accounts'][number]['connection']['kind'] },
          assignments: mine.map((x) => {
            const revokedAt = x.revoked_at === null ? null : String(x.revoked_at);
            const expiresAt = x.expires_at === null ? null : String(x.expires_at);
            return {
              id: String(x.id),
              target:
                x.target_type === 'bundle'
                  ? {
                      type: 'bundle' as const,
                      bundleId: String(x.bundle_id),
                      name: x.bundle_name === null ? String(x.bundle_id) : String(x.bundle_name),
                      kind: String(x.bundle_kind ?? 'permissionSet') as 'permissionSet',
                    }
                  : { type: 'permission' as const, key: String(x.permission_key) },
              source: String(x.source) as 'directory',
              requestId: x.request_id === null ? null : String(x.request_id),
              grantedAt: String(x.granted_at),
              expiresAt,
              revokedAt,
              active:
                (revokedAt === null || Date.parse(revokedAt) > nowMs) &&
                Date.parse(String(x.granted_at)) <= nowMs &&
                (expiresAt === null || Date.parse(expiresAt) > nowMs),
            };
          }),
          permissions,
          findingIds: open!.rows.filter((f) => String(f.account_id) === accountId).map((f) => String(f.id)),
        };
      }),
    };
    return c.json(body, 200);
  })
  .openapi(holdersRoute, async (c) => {
    const { db, findings } = c.var;
    const q = c.req.valid('query');
    const engine = await findings.ensureCurrent(c.var.now());
    const conn = await db.execute('SELECT id FROM crm_connections WHERE id = ?', [q.connectionId]);
    if (!conn.rows[0]) throw ApiFailure.of(404, 'not_found', 'connection_not_found', { connectionId: q.connectionId }, { field: 'connectionId' });
    const accounts = await db.execute(
      `SELECT ac.id, ac.username, ac.external_user_id, p.id AS person_id, p.name, p.department, p.title, p.status
       FROM crm_accounts ac JOIN people p ON p.id = ac.person_id WHERE ac.connection_id = ? ORDER BY ac.id`,
      [q.connectionId],
    );
    const holding = accounts.rows.filter((a) => engine.can(String(a.id), q.key));
    const start = q.cursor ? holding.findIndex((a) => String(a.id) > q.cursor!) : 0;
    const pageRows = start < 0 ? [] : holding.slice(start, start + q.limit);
    const ids = pageRows.map((a) => String(a.id));
    const granted = ids.length
      ? await db.execute(`SELECT id, granted_at FROM assignments WHERE account_id IN (${ids.map(() => '?').join(', ')})`, ids)
      : { rows: [] };
    const grantedAt = new Map(granted.rows.map((r) => [String(r.id), String(r.granted_at)] as const));
    const last = pageRows[pageRows.length - 1];
    return c.json(
      {
        key: q.key,
        holders: pageRows.map((a) => {
          const why = engine.explain(String(a.id), q.key);
          return {
            person: {
              id: String(a.person_id),
              name: String(a.name),
              department: String(a.department),
              title: String(a.title),
              status: String(a.status) as 'active',
            },
            account: { id: String(a.id), username: String(a.username), externalUserId: String(a.external_user_id) },
            paths: why.allowed ? why.paths.map((x) => pathView(x, grantedAt)) : [],
          };
        }),
        nextCursor: last && start + q.limit < holding.length ? String(last.id) : null,
        total: holding.length,
      },
      200,
    );
  });
