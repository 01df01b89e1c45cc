/**
 * /api/admin/tasks: grants and revocations an administrator makes by hand, and grants the requester
 * reported as not working. A task is done when an administrator marks it (recorded with who and when);
 * where AccessLens can read the CRM it checks first.
 */
import { adminTaskDoneBody, adminTaskListResponse, adminTasksQuery, adminTaskView, id, type AdminTaskView, type PageContext } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import type { Row } from '@libsql/client';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { completeTask, type JobPlan } from '../connectors/fulfilment.ts';
import type { Db } from '../db.ts';
import { refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';

const TASK_SQL = `SELECT t.id, t.kind, t.status, t.request_id, t.connection_id, c.name AS connection_name, t.reason_code, t.reason, t.details,
    t.created_at, t.done_at, t.done_by, t.note, p.name AS person_name
  FROM admin_tasks t JOIN crm_connections c ON c.id = t.connection_id
  LEFT JOIN people p ON p.id = json_extract(t.details, '$.plan.personId')`;

function taskFromRow(r: Row): AdminTaskView {
  const details = JSON.parse(String(r.details)) as { plan: JobPlan; page?: PageContext | null; check?: string | null };
  const plan = details.plan;
  return {
    id: String(r.id),
    kind: String(r.kind) as AdminTaskView['kind'],
    status: String(r.status) as AdminTaskView['status'],
    requestId: r.request_id === null ? null : String(r.request_id),
    connectionId: String(r.connection_id),
    connectionName: String(r.connection_name),
    reason: { code: String(r.reason_code) as AdminTaskView['reason']['code'], message: String(r.reason) },
    account: {
      id: plan.accountId,
      username: plan.username,
      externalUserId: plan.externalUserId,
      personId: plan.personId,
      personName: r.person_name === null ? '' : String(r.person_name),
    },
    bundles: plan.bundles.map((b) => ({ id: b.id, name: b.name, kind: b.kind })),
    keys: plan.keys,
    // A grant's end is fixed only once the CRM holds it: its days count from then.
    days: r.kind === 'grant' && plan.days > 0 ? plan.days : null,
    page: details.page ?? null,
    check: details.check ?? null,
    createdAt: String(r.created_at),
    doneAt: r.done_at === null ? null : String(r.done_at),
    doneBy: r.done_by === null ? null : String(r.done_by),
    note: r.note === null ? null : String(r.note),
  };
}

async function loadTask(db: Db, taskId: string): Promise<AdminTaskView | null> {
  const r = await db.execute(`${TASK_SQL} WHERE t.id = ?`, [taskId]);
  return r.rows[0] ? taskFromRow(r.rows[0]) : null;
}

const admin = () => requireRole(['admin'], 'work_on_admin_tasks');
const idParam = z.object({ id });
const taskResponse = z.object({ task: adminTaskView });

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['admin tasks'],
  summary: 'Grants and revocations to make by hand, and grants reported as not working',
  security: bearer,
  middleware: [requireSession, admin()] as const,
  request: { query: adminTasksQuery },
  responses: { 200: json(adminTaskListResponse, 'Tasks, oldest first.'), ...errors(400, 401, 403) },
});
const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['admin tasks'],
  summary: 'One task',
  security: bearer,
  middleware: [requireSession, admin()] as const,
  request: { params: idParam },
  responses: { 200: json(taskResponse, 'The task.'), ...errors(400, 401, 403, 404) },
});
const doneRoute = createRoute({
  method: 'post',
  path: '/{id}/done',
  tags: ['admin tasks'],
  summary: 'Mark a task done (recorded with who and when; the CRM is checked where it can be read)',
  security: bearer,
  middleware: [requireSession, admin()] as const,
  request: { params: idParam, body: jsonBody(adminTaskDoneBody) },
  responses: { 200: json(taskResponse, 'The task.'), ...errors(400, 401, 403, 404, 409) },
});

export const taskRoutes = apiRoutes()
  .openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const where: string[] = [];
    const args: string[] = [];
    if (q.status) {
      where.push('t.status = ?');
      args.push(q.status);
    }
    if (q.connectionId) {
      where.push('t.connection_id = ?');
      args.push(q.connectionId);
    }
    const r = await c.var.db.execute(`${TASK_SQL}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t.created_at, t.id LIMIT 500`, args);
    return c.json({ tasks: r.rows.map(taskFromRow) }, 200);
  })
  .openapi(getRoute, async (c) => {
    const task = await loadTask(c.var.db, c.req.valid('param').id);
    if (!task) throw refuse.notFound('task_not_found');
    return c.json({ task }, 200);
  })
  .openapi(doneRoute, async (c) => {
    const { db, person, findings, notifier, connectors } = c.var;
    const taskId = c.req.valid('param').id;
    await completeTask(
      { db, box: connectors.box, now: c.var.now, findings, notifier, ...(connectors.fetch ? { fetch: connectors.fetch } : {}) },
      taskId,
      person.id,
      c.req.valid('json').note ?? null,
    );
    return c.json({ task: (await loadTask(db, taskId))! }, 200);
  });
