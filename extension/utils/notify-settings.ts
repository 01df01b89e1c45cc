/**
 * The browser notifications AccessLens shows, said once: each kind, who it is for, and the person's choice
 * to turn it off (settings page). The background derives them from sync (background/notifications.ts).
 */
import { storage } from 'wxt/utils/storage';

/**
 * Requesters hear of every step of their own requests; approvers of new items and reminders.
 * - submitted: the server has the request; needs-info: an approver asked a question;
 * - approved / denied (timed out included); active: the CRM holds the grant; expiring: it ends soon; expired;
 * - new-item: a request waits for my decision (routed, escalated or delegated to me); reminder: still waiting.
 */
export const NOTIFY_KINDS = ['submitted', 'needs-info', 'approved', 'denied', 'active', 'expiring', 'expired', 'new-item', 'reminder'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

export const APPROVER_KINDS: readonly NotifyKind[] = ['new-item', 'reminder'];

export type NotifySettings = Record<NotifyKind, boolean>;

export const DEFAULT_NOTIFY_SETTINGS: NotifySettings = Object.fromEntries(NOTIFY_KINDS.map((k) => [k, true])) as NotifySettings;

/** Every kind on unless the person turned it off (kinds added later start on). */
export const notifySettingsItem = storage.defineItem<Partial<NotifySettings>>('local:notifySettings', { fallback: {}, version: 1 });

export function withDefaults(stored: Partial<NotifySettings> | null | undefined): NotifySettings {
  return { ...DEFAULT_NOTIFY_SETTINGS, ...(stored ?? {}) };
}
