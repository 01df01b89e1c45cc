/**
 * Organisation webhooks (administrators): the URL and signing secret are encrypted with the connectors'
 * SecretBox (AES-256-GCM bound to the webhook and purpose) and never returned; a view shows where it posts
 * without the secret parts. Every change is audited.
 */
import { randomUUID } from 'node:crypto';
import type { Person, WebhookInput, WebhookPatch, WebhookView } from '@accesslens/shared';
import type { Db } from '../db.ts';
import { ApiFailure, refuse } from '../errors.ts';
import type { SecretBox } from '../secrets.ts';
import { runWrite } from '../write.ts';
import { renderMessage } from './messages.ts';
import type { NotificationPayload } from './outbox.ts';
import { urlHint } from './platforms.ts';
import { postWebhook } from './worker.ts';

export const webhookSecretContext = (id: string, purpose: 'url' | 'secret') => `webhook:${id}:${purpose}`;

const COLUMNS = `w.id, w.platform, w.name, w.url_hint, w.secret_ciphertext, w.events, w.language, w.enabled, w.created_at, w.updated_at,
  (SELECT json_object('state', o.state, 'at', COALESCE(o.sent_at, o.next_attempt_at), 'error', o.last_error) FROM notification_outbox o
     WHERE o.channel = 'webhook' AND o.recipient = w.id ORDER BY o.created_at DESC, o.id DESC LIMIT 1) AS last_delivery`;

function viewOf(r: Record<string, unknown>): WebhookView {
  return {
    id: String(r.id),
    platform: String(r.platform) as WebhookView['platform'],
    name: String(r.name),
    urlHint: String(r.url_hint),
    secret: r.secret_ciphertext === null ? 'not set' : 'set',
    events: JSON.parse(String(r.events)) as WebhookView['events'],
    language: String(r.language) as WebhookView['language'],
    enabled: Number(r.enabled) === 1,
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    lastDelivery: r.last_delivery === null || r.last_delivery === undefined ? null : (JSON.parse(String(r.last_delivery)) as WebhookView['lastDelivery']),
  };
}

export async function listWebhooks(db: Db): Promise<WebhookView[]> {
  const r = await db.execute(`SELECT ${COLUMNS} FROM notification_webhooks w WHERE w.deleted_at IS NULL ORDER BY w.created_at, w.id`);
  return r.rows.map(viewOf);
}

export async function getWebhook(db: Db, id: string): Promise<WebhookView> {
  const r = await db.execute(`SELECT ${COLUMNS} FROM notification_webhooks w WHERE w.id = ? AND w.deleted_at IS NULL`, [id]);
  if (!r.rows[0]) throw refuse.notFound('webhook_not_found');
  return viewOf(r.rows[0]);
}

export async function createWebhook(db: Db, box: SecretBox, me: Person, input: WebhookInput, now: Date): Promise<WebhookView> {
  const id = `wh-${randomUUID()}`;
  const url = box.encrypt(input.url, webhookSecretContext(id, 'url'));
  const secret = input.secret === null ? null : box.encrypt(input.secret, webhookSecretContext(id, 'secret')).ciphertext;
  await runWrite(db, now, async (w) => {
    await w.tx.execute({
      sql: `INSERT INTO notification_webhooks (id, platform, name, key_id, url_ciphertext, url_hint, secret_ciphertext, events, language, enabled, created_at, created_by, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        id,
        input.platform,
        input.name,
        url.keyId,
        url.ciphertext,
        urlHint(input.url),
        secret,
        JSON.stringify(input.events),
        input.language,
        input.enabled ? 1 : 0,
        w.nowIso,
        me.id,
        w.nowIso,
      ],
    });
    await w.audit({
      actorId: me.id,
      action: 'webhook.created',
      subjectType: 'webhook',
      subjectId: id,
      data: {
        platform: input.platform,
        name: input.name,
        urlHint: urlHint(input.url),
        signed: input.secret !== null,
        events: input.events,
        language: input.language,
        enabled: input.enabled,
      },
    });
  });
  return getWebhook(db, id);
}

export async function updateWebhook(db: Db, box: SecretBox, me: Person, id: string, patch: WebhookPatch, now: Date): Promise<WebhookView> {
  const current = await db.execute('SELECT platform FROM notification_webhooks WHERE id = ? AND deleted_at IS NULL', [id]);
  const platform = current.rows[0] ? String(current.rows[0].platform) : null;
  if (!platform) throw refuse.notFound('webhook_not_found');
  if (patch.secret != null && platform !== 'feishu' && platform !== 'dingtalk')
    throw ApiFailure.of(400, 'invalid_input', 'webhook_not_signed', { platform }, { field: 'secret' });
  await runWrite(db, now, async (w) => {
    const sets: string[] = [];
    const args: (string | number | null)[] = [];
    if (patch.name !== undefined) sets.push('name = ?') && args.push(patch.name);
    if (patch.url !== undefined) {
      const sealed = box.encrypt(patch.url, webhookSecretContext(id, 'url'));
      sets.push('url_ciphertext = ?', 'key_id = ?', 'url_hint = ?');
      args.push(sealed.ciphertext, sealed.keyId, urlHint(patch.url));
    }
    if (patch.secret !== undefined)
      sets.push('secret_ciphertext = ?') && args.push(patch.secret === null ? null : box.encrypt(patch.secret, webhookSecretContext(id, 'secret')).ciphertext);
    if (patch.events !== undefined) sets.push('events = ?') && args.push(JSON.stringify(patch.events));
    if (patch.language !== undefined) sets.push('language = ?') && args.push(patch.language);
    if (patch.enabled !== undefined) sets.push('enabled = ?') && args.push(patch.enabled ? 1 : 0);
    await w.tx.execute({ sql: `UPDATE notification_webhooks SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE id = ?`, args: [...args, w.nowIso, id] });
    const changed = Object.keys(patch).map((k) => (k === 'url' ? 'url' : k === 'secret' ? (patch.secret === null ? 'secret removed' : 'secret') : k));
    await w.audit({
      actorId: me.id,
      action: 'webhook.updated',
      subjectType: 'webhook',
      subjectId: id,
      data: { changed, ...(patch.url ? { urlHint: urlHint(patch.url) } : {}) },
    });
  });
  return getWebhook(db, id);
}

export async function deleteWebhook(db: Db, me: Person, id: string, now: Date): Promise<void> {
  await runWrite(db, now, async (w) => {
    const r = await w.tx.execute({
      sql: 'UPDATE notification_webhooks SET deleted_at = ?, enabled = 0, updated_at = ? WHERE id = ? AND deleted_at IS NULL',
      args: [w.nowIso, w.nowIso, id],
    });
    if (r.rowsAffected === 0) throw refuse.notFound('webhook_not_found');
    await w.audit({ actorId: me.id, action: 'webhook.deleted', subjectType: 'webhook', subjectId: id });
  });
}

/** Sends a sample message now (not through the outbox) and says what the platform answered. */
export async function testWebhook(
  db: Db,
  box: SecretBox,
  me: Person,
  id: string,
  now: Date,
  fetchFn?: typeof fetch,
): Promise<{ ok: boolean; status: number | null; error: string | null }> {
  const r = await db.execute('SELECT platform, url_ciphertext, secret_ciphertext, language FROM notification_webhooks WHERE id = ? AND deleted_at IS NULL', [
    id,
  ]);
  const hook = r.rows[0];
  if (!hook) throw refuse.notFound('webhook_not_found');
  const url = box.decrypt(String(hook.url_ciphertext), webhookSecretContext(id, 'url'));
  const secret = hook.secret_ciphertext === null ? null : box.decrypt(String(hook.secret_ciphertext), webhookSecretContext(id, 'secret'));
  const locale = String(hook.language) as 'en' | 'zh-CN';
  const sample: NotificationPayload = {
    event: 'request.submitted',
    requestId: 'test',
    connection: 'AccessLens',
    requester: { id: me.id, name: me.name, email: me.email },
    filedBy: null,
    actor: null,
    permissions: [{ key: 'object:Account:read', en: 'Read Accounts (test message)', zh: '查看客户（测试消息）' }],
    bundle: null,
    justification: locale === 'zh-CN' ? '这是一条来自 AccessLens 的测试消息。' : 'This is a test message from AccessLens.',
    durationDays: 7,
    startsAt: null,
    expiresAt: null,
    text: null,
    stage: null,
  };
  let outcome: { ok: boolean; status: number | null; error: string | null };
  try {
    const res = await postWebhook(String(hook.platform) as never, url, secret, renderMessage(sample, locale), locale, now, fetchFn);
    outcome =
      'ok' in res && res.ok
        ? { ok: true, status: res.status ?? null, error: null }
        : { ok: false, status: res.status ?? null, error: 'error' in res ? res.error : 'refused' };
  } catch (error) {
    outcome = { ok: false, status: null, error: error instanceof Error ? error.message : String(error) };
  }
  await runWrite(db, now, (w) => w.audit({ actorId: me.id, action: 'webhook.tested', subjectType: 'webhook', subjectId: id, data: outcome }));
  return outcome;
}
