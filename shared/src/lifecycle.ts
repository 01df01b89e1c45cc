/**
 * The request lifecycle's vocabulary, said once: timeline entry kinds, notification events, webhook
 * platforms. Plain data (no zod): safe to import from content scripts.
 */

/**
 * What a request's `timeline` records, in order. `personIds` says who an entry concerns (who was asked,
 * reminded, escalated to, delegated to); `actorId` who acted (null: AccessLens itself, on a schedule).
 */
export const TIMELINE_KINDS = [
  /** Created. actor: the requester (or the manager who filed it); personIds: the first stage's approvers. */
  'submitted',
  /** Approved by the policy at once (no stages). */
  'auto-approved',
  /** One approval recorded in `stage`. actor: the approver. */
  'approved',
  /** A stage opened: personIds are its approvers. */
  'routed',
  /** Denied (text: the reason). actor: the approver. */
  'denied',
  /** An approver asked a question (text); the request waits for the requester (status needs-info). */
  'needs-info',
  /** The requester answered (text); back to pending at the same stage. personIds: who asked. */
  'answered',
  /** Approvers of the open stage were reminded (personIds). actor null. */
  'reminded',
  /** The open stage went to its fallback approvers (personIds) after waiting too long. actor null. */
  'escalated',
  /** Routed to an out-of-office approver's delegate: actor = the approver away, personIds = [delegate]. */
  'delegated',
  /** Denied because nobody decided in time. actor null. */
  'timed-out',
  /** Cancelled by the requester (or the manager who filed it). */
  'cancelled',
  /** The access window started: the grant is being applied now. */
  'started',
  /** The CRM holds the grant (expiresAt: its end). */
  'fulfilled',
  /** The grant ends soon (expiresAt): a reminder went to the requester. */
  'expiring',
  /** The grant was extended (expiresAt: the new end; requestId: the approved extension request). */
  'extended',
  /** The grant ended. */
  'expired',
  /** The grant was removed before its end. */
  'revoked',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/**
 * What a person or a webhook can be told, by email or webhook:
 * - request.submitted: a new request is waiting for the recipient (approvers of the open stage);
 * - request.reminder: still waiting for the recipient (a reminder);
 * - request.escalated: the request was escalated to the recipient (fallback approvers);
 * - request.needs-info: an approver asked the requester a question;
 * - request.answered: the requester answered the recipient's question;
 * - request.approved / request.denied / request.timed-out: the outcome, to the requester;
 * - grant.active: the CRM holds the grant; grant.expiring: it ends soon; grant.expired: it ended.
 */
export const NOTIFICATION_EVENTS = [
  'request.submitted',
  'request.reminder',
  'request.escalated',
  'request.needs-info',
  'request.answered',
  'request.approved',
  'request.denied',
  'request.timed-out',
  'grant.active',
  'grant.expiring',
  'grant.expired',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** Chat platforms an organisation webhook posts to, each in its own format. */
export const WEBHOOK_PLATFORMS = ['slack', 'teams', 'feishu', 'dingtalk', 'wecom'] as const;
export type WebhookPlatform = (typeof WEBHOOK_PLATFORMS)[number];
