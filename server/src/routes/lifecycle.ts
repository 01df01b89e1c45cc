/**
 * The lifecycle's routes: out-of-office delegation (/api/delegations), a person's language
 * (/api/me/preferences), organisation webhooks and the notification outbox (/api/admin/webhooks,
 * /api/admin/notifications: administrators).
 */
import {
  delegationInput,
  delegationResponse,
  delegationsQuery,
  delegationsResponse,
  id,
  notificationsQuery,
  notificationsResponse,
  preferencesBody,
  preferencesResponse,
  webhookInput,
  webhookPatch,
  webhookResponse,
  webhooksResponse,
  webhookTestResponse,
  type NotificationView,
  type RoleAction,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { refuse } from '../errors.ts';
import { createDelegation, endDelegation, listDelegations } from '../lifecycle/delegations.ts';
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, testWebhook, updateWebhook } from '../lifecycle/webhooks.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { runWrite } from '../write.ts';

const idParams = z.object({ id });
const admin = (action: RoleAction) => [requireSession, requireRole(['admin'], action)];

// ---------- delegation ----------

const listDelegationsRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['lifecycle'],
  summary: 'Out-of-office delegations: mine (as approver or delegate); administrators may name a person',
  security: bearer,
  middleware: [requireSession] as const,
  request: { query: delegationsQuery },
  responses: { 200: json(delegationsResponse, 'Newest first.'), ...errors(400, 401, 403) },
});

const createDelegationRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['lifecycle'],
  summary: 'Name a delegate who approves in my place from startsAt to endsAt',
  description:
    'Stages that open during the period go to the delegate; requests already waiting on me go to the delegate when the period starts. Never to the requester, the manager who filed the request, or someone who approved an earlier stage. Audited `delegation.created`.',
  security: bearer,
  middleware: [requireSession] as const,
  request: { body: jsonBody(delegationInput) },
  responses: { 201: json(delegationResponse, 'The delegation.'), ...errors(400, 401, 403, 404, 409) },
});

const endDelegationRoute = createRoute({
  method: 'post',
  path: '/{id}/end',
  tags: ['lifecycle'],
  summary: 'End a delegation now (it stays on record)',
  security: bearer,
  middleware: [requireSession] as const,
  request: { params: idParams },
  responses: { 200: json(delegationResponse, 'The delegation, ended.'), ...errors(401, 403, 404, 409) },
});

export const delegationRoutes = apiRoutes()
  .openapi(listDelegationsRoute, async (c) => {
    const { personId } = c.req.valid('query');
    const me = c.var.person;
    if (personId !== undefined && personId !== me.id && !me.roles.includes('admin'))
      throw refuse.forbidden('admins_only', { action: 'see_others_delegations' });
    return c.json({ delegations: await listDelegations(c.var.db, personId ?? me.id, c.var.now()) }, 200);
  })
  .openapi(createDelegationRoute, async (c) =>
    c.json({ delegation: await createDelegation(c.var.db, c.var.person, c.req.valid('json'), c.var.now(), c.var.notifier) }, 201),
  )
  .openapi(endDelegationRoute, async (c) =>
    c.json({ delegation: await endDelegation(c.var.db, c.var.person, c.req.valid('param').id, c.var.now(), c.var.notifier) }, 200),
  );

// ---------- preferences ----------

const preferencesRoute = createRoute({
  method: 'patch',
  path: '/',
  tags: ['auth'],
  summary: 'My language for emails (en, zh-CN; null = not set: English)',
  security: bearer,
  middleware: [requireSession] as const,
  request: { body: jsonBody(preferencesBody) },
  responses: { 200: json(preferencesResponse, 'The saved preferences.'), ...errors(400, 401) },
});

export const preferencesRoutes = apiRoutes().openapi(preferencesRoute, async (c) => {
  const { language } = c.req.valid('json');
  const me = c.var.person;
  await runWrite(
    c.var.db,
    c.var.now(),
    async (w) => {
      await w.tx.execute({ sql: 'UPDATE people SET language = ?, version = ? WHERE id = ?', args: [language, await w.version(), me.id] });
      await w.audit({ actorId: me.id, action: 'person.language_set', subjectType: 'person', subjectId: me.id, data: { language } });
      w.affected.add(me.id);
    },
    c.var.notifier,
  );
  return c.json({ language }, 200);
});

// ---------- webhooks ----------

const listWebhooksRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['notifications'],
  summary: 'Organisation webhooks (Slack, Teams, Feishu/Lark, DingTalk, WeCom); URLs and secrets are never returned',
  security: bearer,
  middleware: admin('manage_webhooks'),
  responses: { 200: json(webhooksResponse, 'Every webhook, with its last delivery.'), ...errors(401, 403) },
});

const createWebhookRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['notifications'],
  summary: 'Add a webhook (the URL and signing secret are stored encrypted)',
  security: bearer,
  middleware: admin('manage_webhooks'),
  request: { body: jsonBody(webhookInput) },
  responses: { 201: json(webhookResponse, 'The webhook.'), ...errors(400, 401, 403) },
});

const getWebhookRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['notifications'],
  summary: 'One webhook',
  security: bearer,
  middleware: admin('manage_webhooks'),
  request: { params: idParams },
  responses: { 200: json(webhookResponse, 'The webhook.'), ...errors(401, 403, 404) },
});

const patchWebhookRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: ['notifications'],
  summary: 'Change a webhook (name, url, secret — null removes it —, events, language, enabled)',
  security: bearer,
  middleware: admin('manage_webhooks'),
  request: { params: idParams, body: jsonBody(webhookPatch) },
  responses: { 200: json(webhookResponse, 'The webhook.'), ...errors(400, 401, 403, 404) },
});

const deleteWebhookRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['notifications'],
  summary: 'Remove a webhook (its messages not yet sent are dropped)',
  security: bearer,
  middleware: admin('manage_webhooks'),
  request: { params: idParams },
  responses: { 204: { description: 'Removed.' }, ...errors(401, 403, 404) },
});

const testWebhookRoute = createRoute({
  method: 'post',
  path: '/{id}/test',
  tags: ['notifications'],
  summary: 'Send a test message now and say what the platform answered',
  security: bearer,
  middleware: admin('manage_webhooks'),
  request: { params: idParams },
  responses: { 200: json(webhookTestResponse, 'The platform accepted it (ok) or why not.'), ...errors(401, 403, 404) },
});

export const webhookRoutes = apiRoutes()
  .openapi(listWebhooksRoute, async (c) => c.json({ webhooks: await listWebhooks(c.var.db) }, 200))
  .openapi(createWebhookRoute, async (c) =>
    c.json({ webhook: await createWebhook(c.var.db, c.var.connectors.box, c.var.person, c.req.valid('json'), c.var.now()) }, 201),
  )
  .openapi(getWebhookRoute, async (c) => c.json({ webhook: await getWebhook(c.var.db, c.req.valid('param').id) }, 200))
  .openapi(patchWebhookRoute, async (c) =>
    c.json({ webhook: await updateWebhook(c.var.db, c.var.connectors.box, c.var.person, c.req.valid('param').id, c.req.valid('json'), c.var.now()) }, 200),
  )
  .openapi(deleteWebhookRoute, async (c) => {
    await deleteWebhook(c.var.db, c.var.person, c.req.valid('param').id, c.var.now());
    return c.body(null, 204);
  })
  .openapi(testWebhookRoute, async (c) => c.json(await testWebhook(c.var.db, c.var.connectors.box, c.var.person, c.req.valid('param').id, c.var.now()), 200));

// ---------- the outbox ----------

const notificationsRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['notifications'],
  summary: 'The notification outbox: what was (or will be) sent to whom, newest first',
  security: bearer,
  middleware: admin('read_notification_outbox'),
  request: { query: notificationsQuery },
  responses: { 200: json(notificationsResponse, 'Messages (without their text).'), ...errors(400, 401, 403) },
});

export const notificationRoutes = apiRoutes().openapi(notificationsRoute, async (c) => {
  const q = c.req.valid('query');
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.state) where.push('state = ?') && args.push(q.state);
  if (q.requestId) where.push('request_id = ?') && args.push(q.requestId);
  const r = await c.var.db.execute(
    `SELECT id, event, channel, recipient, request_id, state, attempts, next_attempt_at, last_error, created_at, sent_at FROM notification_outbox
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
    [...args, q.limit],
  );
  const notifications: NotificationView[] = r.rows.map((row) => ({
    id: String(row.id),
    event: String(row.event) as NotificationView['event'],
    channel: String(row.channel) as NotificationView['channel'],
    recipient: String(row.recipient),
    requestId: row.request_id === null ? null : String(row.request_id),
    state: String(row.state) as NotificationView['state'],
    attempts: Number(row.attempts),
    nextAttemptAt: String(row.next_attempt_at),
    lastError: row.last_error === null ? null : String(row.last_error),
    createdAt: String(row.created_at),
    sentAt: row.sent_at === null ? null : String(row.sent_at),
  }));
  return c.json({ notifications }, 200);
});
