/**
 * Wire schemas of the lifecycle's routes: out-of-office delegation, organisation webhooks, a person's
 * language, the notification outbox (administrators).
 */
import { z } from 'zod';
import { plainText } from './text.ts';
import { LOCALES } from './constants.ts';
import { NOTIFICATION_EVENTS, WEBHOOK_PLATFORMS } from './lifecycle.ts';
import { id, isoDateTime, personRef } from './schemas.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

// ---------- delegation ----------

/** POST /api/delegations: while away from `startsAt` to `endsAt`, `delegateId` approves in my place. */
export const delegationInput = z
  .object({
    /** Administrators may set one for someone else; default: the caller. */
    personId: id.optional(),
    delegateId: id,
    startsAt: isoDateTime,
    endsAt: isoDateTime,
    note: plainText(300).default(''),
  })
  .superRefine((v, ctx) => {
    const start = Date.parse(v.startsAt);
    const end = Date.parse(v.endsAt);
    if (end <= start) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' });
    else if (end - start > 365 * DAY_MS) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be at most 365 days after startsAt' });
    if (v.personId !== undefined && v.personId === v.delegateId) ctx.addIssue({ code: 'custom', path: ['delegateId'], message: 'must be someone else' });
  });
export type DelegationInput = z.infer<typeof delegationInput>;

export const delegation = z.object({
  id,
  personId: id,
  delegateId: id,
  startsAt: isoDateTime,
  endsAt: isoDateTime,
  note: z.string(),
  createdAt: isoDateTime,
  createdBy: id,
  endedAt: isoDateTime.nullable(),
  endedBy: id.nullable(),
  /** In force now: started, not past its end, not ended early. */
  active: z.boolean(),
});
export type Delegation = z.infer<typeof delegation>;

export const delegationResponse = z.object({ delegation });
export const delegationsResponse = z.object({ delegations: z.array(delegation) });
export const delegationsQuery = z.object({ personId: id.optional() });

// ---------- webhooks ----------

export const webhookPlatform = z.enum(WEBHOOK_PLATFORMS);
export const notificationEvent = z.enum(NOTIFICATION_EVENTS);

const webhookUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048);

/**
 * POST /api/admin/webhooks. `url` is the platform's incoming-webhook address (Slack incoming webhook, a
 * Teams Workflows "When a Teams webhook request is received" URL, a Feishu/Lark, DingTalk or WeCom group
 * robot URL); `secret` signs Feishu/Lark and DingTalk messages (their "signature" security setting). Both
 * are stored encrypted and never returned.
 */
export const webhookInput = z
  .object({
    platform: webhookPlatform,
    name: plainText(100, { required: true }),
    url: webhookUrl,
    secret: z.string().min(1, 'is empty').max(512).nullable().default(null),
    events: z
      .array(notificationEvent)
      .min(1, 'name at least one event')
      .default([...NOTIFICATION_EVENTS]),
    language: z.enum(LOCALES).default('en'),
    enabled: z.boolean().default(true),
  })
  .superRefine((v, ctx) => {
    if (v.secret !== null && v.platform !== 'feishu' && v.platform !== 'dingtalk')
      ctx.addIssue({ code: 'custom', path: ['secret'], message: `${v.platform} webhooks are not signed: leave it out` });
  });
export type WebhookInput = z.infer<typeof webhookInput>;

/** PATCH /api/admin/webhooks/:id: any field; `secret: null` removes it. */
export const webhookPatch = z
  .object({
    name: plainText(100, { required: true }),
    url: webhookUrl,
    secret: z.string().min(1, 'is empty').max(512).nullable(),
    events: z.array(notificationEvent).min(1, 'name at least one event'),
    language: z.enum(LOCALES),
    enabled: z.boolean(),
  })
  .partial()
  .strict();
export type WebhookPatch = z.infer<typeof webhookPatch>;

export const webhookView = z.object({
  id,
  platform: webhookPlatform,
  name: z.string(),
  /** Where it posts, without the secret parts (host and path start). */
  urlHint: z.string(),
  secret: z.enum(['set', 'not set']),
  events: z.array(notificationEvent),
  language: z.enum(LOCALES),
  enabled: z.boolean(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  /** The latest delivery attempt, if any. */
  lastDelivery: z.object({ state: z.enum(['queued', 'sending', 'sent', 'failed', 'skipped']), at: isoDateTime, error: z.string().nullable() }).nullable(),
});
export type WebhookView = z.infer<typeof webhookView>;
export const webhookResponse = z.object({ webhook: webhookView });
export const webhooksResponse = z.object({ webhooks: z.array(webhookView) });
export const webhookTestResponse = z.object({ ok: z.boolean(), status: z.number().int().nullable(), error: z.string().nullable() });

// ---------- notifications (administrators) ----------

export const NOTIFICATION_STATES = ['queued', 'sending', 'sent', 'failed', 'skipped'] as const;

export const notificationView = z.object({
  id,
  event: notificationEvent,
  channel: z.enum(['email', 'webhook']),
  /** email: the person's id; webhook: the webhook's id. */
  recipient: z.string(),
  requestId: id.nullable(),
  state: z.enum(NOTIFICATION_STATES),
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: isoDateTime,
  lastError: z.string().nullable(),
  createdAt: isoDateTime,
  sentAt: isoDateTime.nullable(),
});
export type NotificationView = z.infer<typeof notificationView>;
export const notificationsQuery = z.object({
  state: z.enum(NOTIFICATION_STATES).optional(),
  requestId: id.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const notificationsResponse = z.object({ notifications: z.array(notificationView) });

// ---------- preferences ----------

/** PATCH /api/me/preferences: the caller's language for emails (null = not set: English). */
export const preferencesBody = z.object({ language: z.enum(LOCALES).nullable() }).strict();
export const preferencesResponse = z.object({ language: z.enum(LOCALES).nullable() });

// ---------- direct reports ----------

/** GET /api/me/reports: the caller's active direct reports (whom a manager may file requests for). */
export const reportsResponse = z.object({ people: z.array(personRef) });
export type ReportsResponse = z.infer<typeof reportsResponse>;
