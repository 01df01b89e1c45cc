/**
 * The notification outbox (`notification_outbox`): a row per event and recipient — a person's email, or
 * an organisation webhook — written in the transaction of the event, so nothing is told that did not
 * happen and nothing that happened goes untold. The UNIQUE (event_key, channel, recipient) key makes it
 * one message per recipient and event however often the writer retries.
 *
 * Delivery (`deliverDue`): any server process claims a due row atomically with a lease, sends it, and
 * marks it sent only while it still holds the lease; failures retry with backoff (30 s doubling, at most
 * an hour) and give up after 8 attempts (audited). A process that dies mid-send leaves the row to be
 * taken over after the lease: the message may then go twice — never zero times.
 */
import { randomUUID } from 'node:crypto';
import type { AccessRequest, NotificationEvent } from '@accesslens/shared';
import { insertRows } from '../db-bulk.ts';
import type { Db } from '../db.ts';
import { appendAudit } from '../audit.ts';
import type { WriteContext } from '../write.ts';

/** What a message says — who, which permission, why — never CRM record contents. */
export interface NotificationPayload {
  event: NotificationEvent;
  requestId: string;
  connection: string;
  requester: { id: string; name: string; email: string };
  filedBy: { id: string; name: string } | null;
  /** Who acted (approver, requester answering); null = AccessLens on a schedule. */
  actor: { id: string; name: string } | null;
  permissions: { key: string; en: string; zh: string }[];
  bundle: { id: string; name: string } | null;
  justification: string;
  durationDays: number;
  startsAt: string | null;
  expiresAt: string | null;
  /** A question, an answer, or a denial's reason. */
  text: string | null;
  /** The stage's label, where one is concerned. */
  stage: string | null;
}

export interface NotifyInput {
  event: NotificationEvent;
  requestId: string;
  /** Identifies the event: the same key never makes a second message to the same recipient. */
  eventKey: string;
  /** People told by email (in their language). */
  personIds: readonly string[];
  actorId?: string | null;
  text?: string | null;
  stage?: string | null;
  expiresAt?: string | null;
}

/** Wakes this process's delivery loop after a commit that queued messages. */
export const outboxSignal = new EventTarget();
const signalOutbox = () => outboxSignal.dispatchEvent(new Event('work'));

async function buildPayload(w: WriteContext, input: NotifyInput): Promise<NotificationPayload | null> {
  // One round trip: the request with its people and bundle, its keys' labels, the actor.
  const [req, labels, actor] = await w.tx.batch([
    {
      sql: `SELECT r.id, r.permissions, r.justification, r.duration_days, r.starts_at, r.expires_at, r.bundle_id, r.connection_id,
              c.name AS connection_name, p.id AS requester_id, p.name AS requester_name, p.email AS requester_email,
              f.id AS filer_id, f.name AS filer_name, b.name AS bundle_name
            FROM requests r JOIN crm_connections c ON c.id = r.connection_id JOIN people p ON p.id = r.requester_id
            LEFT JOIN people f ON f.id = r.filed_by LEFT JOIN bundles b ON b.id = r.bundle_id WHERE r.id = ?`,
      args: [input.requestId],
    },
    {
      sql: `SELECT k.key, k.label_en, k.label_zh_cn FROM requests r JOIN permission_catalog k ON k.connection_id = r.connection_id
            WHERE r.id = ? AND k.key IN (SELECT value FROM json_each(r.permissions))`,
      args: [input.requestId],
    },
    { sql: 'SELECT id, name FROM people WHERE id = ?', args: [input.actorId ?? ''] },
  ]);
  const row = req!.rows[0];
  if (!row) return null;
  const keys = JSON.parse(String(row.permissions)) as string[];
  const byKey = new Map(labels!.rows.map((l) => [String(l.key), { en: String(l.label_en), zh: String(l.label_zh_cn) }] as const));
  const a = actor!.rows[0];
  return {
    event: input.event,
    requestId: input.requestId,
    connection: String(row.connection_name),
    requester: { id: String(row.requester_id), name: String(row.requester_name), email: String(row.requester_email) },
    filedBy: row.filer_id === null ? null : { id: String(row.filer_id), name: String(row.filer_name) },
    actor: a ? { id: String(a.id), name: String(a.name) } : null,
    permissions: keys.map((key) => ({ key, en: byKey.get(key)?.en ?? key, zh: byKey.get(key)?.zh ?? key })),
    bundle: row.bundle_id === null ? null : { id: String(row.bundle_id), name: String(row.bundle_name ?? row.bundle_id) },
    justification: String(row.justification),
    durationDays: Number(row.duration_days),
    startsAt: row.starts_at === null ? null : String(row.starts_at),
    expiresAt: input.expiresAt ?? (row.expires_at === null ? null : String(row.expires_at)),
    text: input.text ?? null,
    stage: input.stage ?? null,
  };
}

/** The enabled webhooks and their events (they do not change within a write: their routes write alone). */
function webhooksOf(w: WriteContext): Promise<{ id: string; events: string[] }[]> {
  return w.memo('notification-webhooks', async () =>
    (await w.tx.execute('SELECT id, events FROM notification_webhooks WHERE enabled = 1 AND deleted_at IS NULL')).rows.map((h) => ({
      id: String(h.id),
      events: JSON.parse(String(h.events)) as string[],
    })),
  );
}

/**
 * Queues the event's messages in the caller's transaction: one email per person (active people with an
 * email), one post per enabled organisation webhook that takes this event.
 */
export async function notify(w: WriteContext, input: NotifyInput): Promise<number> {
  const hooks = await webhooksOf(w);
  const webhookIds = hooks.filter((h) => h.events.includes(input.event)).map((h) => h.id);
  // Inactive people are skipped at delivery (the outbox says why).
  const personIds = [...new Set(input.personIds)];
  if (webhookIds.length === 0 && personIds.length === 0) return 0;
  const payload = await buildPayload(w, input);
  if (!payload) return 0;
  const body = JSON.stringify(payload);
  const rows = [...personIds.map((id) => ['email', id] as const), ...webhookIds.map((id) => ['webhook', id] as const)];
  const r = await w.tx.execute({
    sql: `INSERT OR IGNORE INTO notification_outbox (id, event_key, event, channel, recipient, request_id, payload, state, attempts, next_attempt_at, created_at)
          VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)").join(', ')}`,
    args: rows.flatMap(([channel, recipient]) => [
      `ntf-${randomUUID()}`,
      input.eventKey,
      input.event,
      channel,
      recipient,
      input.requestId,
      body,
      w.nowIso,
      w.nowIso,
    ]),
  });
  const queued = r.rowsAffected;
  if (queued > 0) w.afterCommit(signalOutbox);
  return queued;
}

/**
 * `notify` for many events at once (an approver's bulk decision), from requests already in memory: the
 * names and labels in a few reads, every message in one multi-row insert.
 */
export async function notifyMany(w: WriteContext, items: readonly { input: NotifyInput; request: AccessRequest }[]): Promise<number> {
  if (items.length === 0) return 0;
  const hooks = await webhooksOf(w);
  const people = new Set<string>();
  const keysByConnection = new Map<string, Set<string>>();
  const bundleIds = new Set<string>();
  for (const { input, request } of items) {
    people.add(request.requesterId);
    if (request.filedBy) people.add(request.filedBy);
    if (input.actorId) people.add(input.actorId);
    if (request.bundleId) bundleIds.add(request.bundleId);
    const keys = keysByConnection.get(request.connectionId) ?? new Set<string>();
    for (const k of request.permissions) keys.add(k);
    keysByConnection.set(request.connectionId, keys);
  }
  const [peopleRows, connectionRows, bundleRows, ...labelRows] = await w.tx.batch([
    { sql: 'SELECT id, name, email FROM people WHERE id IN (SELECT value FROM json_each(?))', args: [JSON.stringify([...people])] },
    { sql: 'SELECT id, name FROM crm_connections WHERE id IN (SELECT value FROM json_each(?))', args: [JSON.stringify([...keysByConnection.keys()])] },
    { sql: 'SELECT id, name FROM bundles WHERE id IN (SELECT value FROM json_each(?))', args: [JSON.stringify([...bundleIds])] },
    ...[...keysByConnection].map(([connectionId, keys]) => ({
      sql: 'SELECT connection_id, key, label_en, label_zh_cn FROM permission_catalog WHERE connection_id = ? AND key IN (SELECT value FROM json_each(?))',
      args: [connectionId, JSON.stringify([...keys])],
    })),
  ]);
  const person = new Map(peopleRows!.rows.map((r) => [String(r.id), { id: String(r.id), name: String(r.name), email: String(r.email) }] as const));
  const connection = new Map(connectionRows!.rows.map((r) => [String(r.id), String(r.name)] as const));
  const bundle = new Map(bundleRows!.rows.map((r) => [String(r.id), String(r.name)] as const));
  const label = new Map(
    labelRows.flatMap((rs) =>
      rs.rows.map((r) => [`${String(r.connection_id)}\u0000${String(r.key)}`, { en: String(r.label_en), zh: String(r.label_zh_cn) }] as const),
    ),
  );
  const rows: (string | number | null)[][] = [];
  for (const { input, request } of items) {
    const requester = person.get(request.requesterId) ?? { id: request.requesterId, name: request.requesterId, email: '' };
    const filer = request.filedBy ? person.get(request.filedBy) : undefined;
    const actor = input.actorId ? person.get(input.actorId) : undefined;
    const payload: NotificationPayload = {
      event: input.event,
      requestId: request.id,
      connection: connection.get(request.connectionId) ?? request.connectionId,
      requester,
      filedBy: filer ? { id: filer.id, name: filer.name } : null,
      actor: actor ? { id: actor.id, name: actor.name } : null,
      permissions: request.permissions.map((key) => ({
        key,
        en: label.get(`${request.connectionId}\u0000${key}`)?.en ?? key,
        zh: label.get(`${request.connectionId}\u0000${key}`)?.zh ?? key,
      })),
      bundle: request.bundleId ? { id: request.bundleId, name: bundle.get(request.bundleId) ?? request.bundleId } : null,
      justification: request.justification,
      durationDays: request.durationDays,
      startsAt: request.startsAt ?? null,
      expiresAt: input.expiresAt ?? request.expiresAt,
      text: input.text ?? null,
      stage: input.stage ?? null,
    };
    const body = JSON.stringify(payload);
    const recipients = [
      ...[...new Set(input.personIds)].map((id) => ['email', id] as const),
      ...hooks.filter((h) => h.events.includes(input.event)).map((h) => ['webhook', h.id] as const),
    ];
    for (const [channel, recipient] of recipients)
      rows.push([`ntf-${randomUUID()}`, input.eventKey, input.event, channel, recipient, request.id, body, 'queued', 0, w.nowIso, w.nowIso]);
  }
  if (rows.length === 0) return 0;
  await insertRows(
    w.tx,
    'notification_outbox',
    ['id', 'event_key', 'event', 'channel', 'recipient', 'request_id', 'payload', 'state', 'attempts', 'next_attempt_at', 'created_at'],
    rows,
    'ON CONFLICT (event_key, channel, recipient) DO NOTHING',
  );
  w.afterCommit(signalOutbox);
  return rows.length;
}

// ---------- delivery ----------

export interface ClaimedMessage {
  id: string;
  event: NotificationEvent;
  channel: 'email' | 'webhook';
  recipient: string;
  payload: NotificationPayload;
  attempts: number;
}

export const MAX_DELIVERY_ATTEMPTS = 8;
export const DEFAULT_DELIVERY_LEASE_MS = 60_000;
export const deliveryBackoffMs = (attempts: number) => Math.min(3600_000, 30_000 * 2 ** Math.max(0, attempts - 1));

/** Takes one due message (queued and due, or sending with an expired lease), atomically. */
export async function claimMessage(db: Db, ownerId: string, now: Date, leaseMs = DEFAULT_DELIVERY_LEASE_MS): Promise<ClaimedMessage | null> {
  const nowIso = now.toISOString();
  return db.transaction(async (tx) => {
    const r = await tx.execute({
      sql: `UPDATE notification_outbox SET state = 'sending', lease_owner = ?, lease_until = ?, attempts = attempts + 1
            WHERE id = (SELECT id FROM notification_outbox
                        WHERE (state = 'queued' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until <= ?)
                        ORDER BY next_attempt_at, id LIMIT 1)
            RETURNING id, event, channel, recipient, payload, attempts`,
      args: [ownerId, new Date(now.getTime() + leaseMs).toISOString(), nowIso, nowIso],
    });
    const row = r.rows[0];
    if (!row) return null;
    return {
      id: String(row.id),
      event: String(row.event) as NotificationEvent,
      channel: String(row.channel) as 'email' | 'webhook',
      recipient: String(row.recipient),
      payload: JSON.parse(String(row.payload)) as NotificationPayload,
      attempts: Number(row.attempts),
    };
  });
}

export type DeliveryOutcome = { ok: true } | { ok: false; error: string; permanent?: boolean } | { skipped: string };

/** Records a delivery's outcome while this process still holds the message; false when its lease was lost. */
export async function settleMessage(db: Db, message: ClaimedMessage, ownerId: string, now: Date, outcome: DeliveryOutcome): Promise<boolean> {
  const nowIso = now.toISOString();
  return db.transaction(async (tx) => {
    let state: string;
    let next = nowIso;
    let error: string | null = null;
    if ('skipped' in outcome) {
      state = 'skipped';
      error = outcome.skipped;
    } else if (outcome.ok) state = 'sent';
    else {
      error = outcome.error.slice(0, 2000);
      state = outcome.permanent || message.attempts >= MAX_DELIVERY_ATTEMPTS ? 'failed' : 'queued';
      next = new Date(now.getTime() + deliveryBackoffMs(message.attempts)).toISOString();
    }
    const r = await tx.execute({
      sql: `UPDATE notification_outbox SET state = ?, next_attempt_at = ?, last_error = ?, sent_at = ?, lease_owner = NULL, lease_until = NULL
            WHERE id = ? AND lease_owner = ? AND state = 'sending'`,
      args: [state, next, error, state === 'sent' ? nowIso : null, message.id, ownerId],
    });
    if (r.rowsAffected === 0) return false;
    if (state === 'failed')
      await appendAudit(tx, now, {
        actorId: null,
        action: 'notification.failed',
        subjectType: 'notification',
        subjectId: message.id,
        data: {
          event: message.event,
          channel: message.channel,
          recipient: message.recipient,
          requestId: message.payload.requestId,
          attempts: message.attempts,
          error,
        },
      });
    return true;
  });
}

/** A stopping process hands back what it was sending. */
export async function releaseMessages(db: Db, ownerId: string, now: Date): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute({
      sql: "UPDATE notification_outbox SET state = 'queued', lease_owner = NULL, lease_until = NULL, next_attempt_at = ?, attempts = MAX(0, attempts - 1) WHERE state = 'sending' AND lease_owner = ?",
      args: [now.toISOString(), ownerId],
    });
  });
}
