/**
 * What the extensions read pages with, set by admins without a release: page rules (in-house CRMs, and
 * overrides of a built-in adapter for one tenant) and kill switches (pause an adapter, or one page kind
 * of it, for extension versions below a fixed one). Both sync to every extension; every change is
 * audited and pokes everyone.
 */
import { adapterFor } from '@accesslens/shared/crm';
import {
  id,
  killSwitch,
  killSwitchInput,
  pageRule,
  pageRuleInput,
  type PageRuleInput,
  type SyncedKillSwitch,
  type SyncedPageRule,
  type ServerErrorParams,
  type ServerErrorReason,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { KILL_SWITCH_COLUMNS, PAGE_RULE_COLUMNS, killSwitchFromRow, pageRuleFromRow } from '../model.ts';
import { runWrite, type WriteContext } from '../write.ts';

const invalid = (field: string, reason: ServerErrorReason, params: ServerErrorParams = {}) => ApiFailure.of(400, 'invalid_input', reason, params, { field });

/** Everyone: rules and switches reach every extension, so a change concerns every person. */
async function pokeEveryone(w: WriteContext): Promise<void> {
  const people = await w.tx.execute("SELECT id FROM people WHERE status = 'active'");
  for (const r of people.rows) w.affected.add(String(r.id));
}

/**
 * The checks that need the connection: the rule's host must be one of an in-house CRM's hosts, or a
 * host of the built-in CRM it overrides; plain HTTP only for in-house CRMs.
 */
async function checkAgainstConnection(w: WriteContext, rule: PageRuleInput): Promise<void> {
  const found = await w.tx.execute({ sql: 'SELECT kind, hosts FROM crm_connections WHERE id = ?', args: [rule.connectionId] });
  const row = found.rows[0];
  if (!row) throw invalid('connectionId', 'connection_not_found', { connectionId: rule.connectionId });
  const kind = String(row.kind) as SyncedPageRule['crm'];
  const hosts = (JSON.parse(String(row.hosts)) as string[]).map((h) => h.toLowerCase());
  if (kind === 'generic') {
    if (!hosts.includes(rule.host))
      throw hosts.length > 0 ? invalid('host', 'host_not_of_connection', { hosts: hosts.join(', ') }) : invalid('host', 'connection_has_no_hosts');
    return;
  }
  if (rule.protocol !== 'https') throw invalid('protocol', 'https_only', { crm: kind });
  const adapter = adapterFor(kind);
  const hostname = rule.host.replace(/:\d+$/, '');
  if (!adapter?.isHost(hostname)) throw invalid('host', 'not_crm_host', { crm: kind });
}

async function readRule(w: WriteContext, id: string): Promise<SyncedPageRule | null> {
  const r = await w.tx.execute({
    sql: `SELECT ${PAGE_RULE_COLUMNS} FROM page_rules pr JOIN crm_connections c ON c.id = pr.connection_id WHERE pr.id = ?`,
    args: [id],
  });
  return r.rows[0] ? pageRuleFromRow(r.rows[0]) : null;
}

const ruleArgs = (rule: PageRuleInput) => [
  rule.connectionId,
  rule.host,
  rule.protocol,
  rule.path,
  rule.hash,
  rule.pageKind,
  rule.object === null ? null : JSON.stringify(rule.object),
  rule.recordId?.group ?? null,
  JSON.stringify(rule.denialPhrases),
  rule.priority,
];

const listQuery = z.object({ connectionId: z.string().max(64).optional() });
const idParam = z.object({ id });
const rulesAdmin = () => requireRole(['admin'], 'manage_page_rules');
const switchesAdmin = () => requireRole(['admin'], 'manage_kill_switches');
const noContent = { 204: { description: 'Done.' } };

const listRules = createRoute({
  method: 'get',
  path: '/',
  tags: ['page rules'],
  summary: 'The page rules in force (administrators)',
  security: bearer,
  middleware: [requireSession, rulesAdmin()] as const,
  request: { query: listQuery },
  responses: { 200: json(z.object({ rules: z.array(pageRule) }), 'Rules, by host and priority.'), ...errors(400, 401, 403) },
});
const createRule = createRoute({
  method: 'post',
  path: '/',
  tags: ['page rules'],
  summary: 'Add a page rule: how to read an in-house CRM, or an override of a built-in adapter for one tenant',
  security: bearer,
  middleware: [requireSession, rulesAdmin()] as const,
  request: { body: jsonBody(pageRuleInput) },
  responses: { 201: json(pageRule, 'The rule, as every extension will get it.'), ...errors(400, 401, 403) },
});
const replaceRule = createRoute({
  method: 'put',
  path: '/{id}',
  tags: ['page rules'],
  summary: 'Replace a page rule',
  security: bearer,
  middleware: [requireSession, rulesAdmin()] as const,
  request: { params: idParam, body: jsonBody(pageRuleInput) },
  responses: { 200: json(pageRule, 'The rule.'), ...errors(400, 401, 403, 404) },
});
const deleteRule = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['page rules'],
  summary: 'Remove a page rule (extensions drop it at their next sync)',
  security: bearer,
  middleware: [requireSession, rulesAdmin()] as const,
  request: { params: idParam },
  responses: { ...noContent, ...errors(400, 401, 403, 404) },
});

export const pageRuleRoutes = apiRoutes()
  .openapi(listRules, async (c) => {
    const { connectionId } = c.req.valid('query');
    const rows = await c.var.db.execute(
      `SELECT ${PAGE_RULE_COLUMNS} FROM page_rules pr JOIN crm_connections c ON c.id = pr.connection_id
       WHERE pr.deleted = 0 ${connectionId ? 'AND pr.connection_id = ?' : ''} ORDER BY pr.host, pr.priority, pr.id`,
      connectionId ? [connectionId] : [],
    );
    return c.json({ rules: rows.rows.map(pageRuleFromRow) }, 200);
  })
  .openapi(createRule, async (c) => {
    const rule = c.req.valid('json');
    const created = await runWrite(
      c.var.db,
      c.var.now(),
      async (w) => {
        await checkAgainstConnection(w, rule);
        const id = `pr-${randomUUID()}`;
        await w.tx.execute({
          sql: `INSERT INTO page_rules (id, connection_id, host, protocol, path, hash, page_kind, object, record_id_group,
                  denial_phrases, priority, deleted, created_by, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
          args: [id, ...ruleArgs(rule), c.var.person.id, await w.version()],
        });
        await w.audit({ actorId: c.var.person.id, action: 'page_rule.created', subjectType: 'page_rule', subjectId: id, data: rule });
        await pokeEveryone(w);
        return (await readRule(w, id))!;
      },
      c.var.notifier,
    );
    return c.json(created, 201);
  })
  .openapi(replaceRule, async (c) => {
    const rule = c.req.valid('json');
    const { id } = c.req.valid('param');
    const updated = await runWrite(
      c.var.db,
      c.var.now(),
      async (w) => {
        const before = await readRule(w, id);
        if (!before || before.deleted) throw refuse.notFound('page_rule_not_found', { id });
        await checkAgainstConnection(w, rule);
        await w.tx.execute({
          sql: `UPDATE page_rules SET connection_id = ?, host = ?, protocol = ?, path = ?, hash = ?, page_kind = ?, object = ?,
                  record_id_group = ?, denial_phrases = ?, priority = ?, version = ? WHERE id = ?`,
          args: [...ruleArgs(rule), await w.version(), id],
        });
        await w.audit({ actorId: c.var.person.id, action: 'page_rule.updated', subjectType: 'page_rule', subjectId: id, data: { before, after: rule } });
        await pokeEveryone(w);
        return (await readRule(w, id))!;
      },
      c.var.notifier,
    );
    return c.json(updated, 200);
  })
  .openapi(deleteRule, async (c) => {
    const { id } = c.req.valid('param');
    await runWrite(
      c.var.db,
      c.var.now(),
      async (w) => {
        const before = await readRule(w, id);
        if (!before || before.deleted) throw refuse.notFound('page_rule_not_found', { id });
        await w.tx.execute({ sql: 'UPDATE page_rules SET deleted = 1, version = ? WHERE id = ?', args: [await w.version(), id] });
        await w.audit({ actorId: c.var.person.id, action: 'page_rule.deleted', subjectType: 'page_rule', subjectId: id, data: { before } });
        await pokeEveryone(w);
      },
      c.var.notifier,
    );
    return c.body(null, 204);
  });

async function readSwitch(w: WriteContext, id: string): Promise<SyncedKillSwitch | null> {
  const r = await w.tx.execute({ sql: `SELECT ${KILL_SWITCH_COLUMNS} FROM kill_switches ks WHERE ks.id = ?`, args: [id] });
  return r.rows[0] ? killSwitchFromRow(r.rows[0]) : null;
}

const listSwitches = createRoute({
  method: 'get',
  path: '/',
  tags: ['kill switches'],
  summary: 'Adapters (or page kinds) paused for extension versions below a fixed one (administrators)',
  security: bearer,
  middleware: [requireSession, switchesAdmin()] as const,
  responses: { 200: json(z.object({ killSwitches: z.array(killSwitch) }), 'The switches in force.'), ...errors(401, 403) },
});
const createSwitch = createRoute({
  method: 'post',
  path: '/',
  tags: ['kill switches'],
  summary: 'Pause an adapter, or one page kind of it, for versions below fixedIn',
  security: bearer,
  middleware: [requireSession, switchesAdmin()] as const,
  request: { body: jsonBody(killSwitchInput) },
  responses: { 201: json(killSwitch, 'The switch, as every extension will get it.'), ...errors(400, 401, 403) },
});
const deleteSwitch = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['kill switches'],
  summary: 'Lift a kill switch',
  security: bearer,
  middleware: [requireSession, switchesAdmin()] as const,
  request: { params: idParam },
  responses: { ...noContent, ...errors(400, 401, 403, 404) },
});

export const killSwitchRoutes = apiRoutes()
  .openapi(listSwitches, async (c) => {
    const rows = await c.var.db.execute(`SELECT ${KILL_SWITCH_COLUMNS} FROM kill_switches ks WHERE ks.deleted = 0 ORDER BY ks.crm, ks.id`);
    return c.json({ killSwitches: rows.rows.map(killSwitchFromRow) }, 200);
  })
  .openapi(createSwitch, async (c) => {
    const input = c.req.valid('json');
    const created = await runWrite(
      c.var.db,
      c.var.now(),
      async (w) => {
        const id = `ks-${randomUUID()}`;
        await w.tx.execute({
          sql: `INSERT INTO kill_switches (id, crm, page_kind, fixed_in, reason, deleted, created_by, version)
                VALUES (?, ?, ?, ?, ?, 0, ?, ?)`,
          args: [id, input.crm, input.pageKind, input.fixedIn, input.reason, c.var.person.id, await w.version()],
        });
        await w.audit({ actorId: c.var.person.id, action: 'kill_switch.created', subjectType: 'kill_switch', subjectId: id, data: input });
        await pokeEveryone(w);
        return (await readSwitch(w, id))!;
      },
      c.var.notifier,
    );
    return c.json(created, 201);
  })
  .openapi(deleteSwitch, async (c) => {
    const { id } = c.req.valid('param');
    await runWrite(
      c.var.db,
      c.var.now(),
      async (w) => {
        const before = await readSwitch(w, id);
        if (!before || before.deleted) throw refuse.notFound('kill_switch_not_found', { id });
        await w.tx.execute({ sql: 'UPDATE kill_switches SET deleted = 1, version = ? WHERE id = ?', args: [await w.version(), id] });
        await w.audit({ actorId: c.var.person.id, action: 'kill_switch.deleted', subjectType: 'kill_switch', subjectId: id, data: { before } });
        await pokeEveryone(w);
      },
      c.var.notifier,
    );
    return c.body(null, 204);
  });
