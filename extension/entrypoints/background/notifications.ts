/**
 * Browser notifications, derived from sync: after each change of the replica the background lists every
 * event the signed-in person's slice shows (their requests' steps, the requests waiting for them, reminders)
 * and shows those not seen before. What was seen is kept in storage.local per person, written before the
 * notification is shown, so each event is shown at most once — across service-worker restarts too. The first
 * pull after a person signs in only records what is already there (no flood of old news).
 *
 * Only the server's own record counts: events come from `timeline` entries and statuses the server sent,
 * never from the outbox's predictions.
 */
import { storage } from 'wxt/utils/storage';
import { approverQueue, openStage, type AccessRequest, type Slice } from '@accesslens/shared';
import { labelOf, t } from '../../utils/i18n';
import type { NotifyKind, NotifySettings } from '../../utils/notify-settings';

export interface NotifyEvent {
  /** Unique per event: the notification's id, and what dedupe remembers. */
  key: string;
  kind: NotifyKind;
  requestId: string;
  /** The question (needs-info) or reason (denied), when there is one. */
  text: string | null;
}

const GRANTED = new Set<AccessRequest['status']>(['approved', 'fulfilled', 'expired', 'revoked']);

/** Every event the slice shows for `meId`, oldest request first. Pure: same slice, same events. */
export function deriveEvents(view: Slice, meId: string): NotifyEvent[] {
  const events: NotifyEvent[] = [];
  const add = (r: AccessRequest, kind: NotifyKind, suffix: string, text: string | null = null) =>
    events.push({ key: `${r.id}:${kind}${suffix ? `:${suffix}` : ''}`, kind, requestId: r.id, text });
  const requests = [...view.requests].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const r of requests) {
    const timeline = r.timeline ?? [];
    if (r.requesterId === meId || r.filedBy === meId) {
      for (const e of timeline) {
        if (e.kind === 'submitted') add(r, 'submitted', '');
        else if (e.kind === 'needs-info') add(r, 'needs-info', e.at, e.text);
        else if (e.kind === 'expiring') add(r, 'expiring', e.expiresAt ?? e.at);
      }
      if (GRANTED.has(r.status) && timeline.length > 0) add(r, 'approved', '');
      if (r.status === 'denied') {
        const last = [...timeline].reverse().find((e) => e.kind === 'denied' || e.kind === 'timed-out');
        add(r, 'denied', '', last?.text ?? null);
      }
      if ((r.status === 'fulfilled' || r.status === 'expired') && r.grantedAt) add(r, 'active', r.grantedAt);
      if (r.status === 'expired') add(r, 'expired', '');
    }
  }
  for (const r of approverQueue(view, meId)) {
    const stage = openStage(r);
    const index = stage ? r.stages.indexOf(stage) : 0;
    add(r, 'new-item', String(index));
    for (const e of r.timeline ?? []) if (e.kind === 'reminded' && e.personIds.includes(meId)) add(r, 'reminder', e.at);
  }
  return events;
}

export interface Seen {
  personId: string;
  keys: string[];
}

/** Remembered events, per person (the newest few thousand). */
export const seenItem = storage.defineItem<Seen | null>('local:notified', { fallback: null, version: 1 });
const MAX_SEEN = 5_000;

/**
 * What to show now, and what to remember: new events (not in `seen`), those of kinds turned off being
 * remembered without being shown (turning a kind back on does not replay old news). `seen` of another
 * person (or none): a baseline — remember everything, show nothing.
 */
export function plan(events: NotifyEvent[], seen: Seen | null, meId: string, settings: NotifySettings): { show: NotifyEvent[]; seen: Seen } {
  if (!seen || seen.personId !== meId) return { show: [], seen: { personId: meId, keys: events.map((e) => e.key).slice(-MAX_SEEN) } };
  const known = new Set(seen.keys);
  const fresh = events.filter((e) => !known.has(e.key));
  if (fresh.length === 0) return { show: [], seen };
  return {
    show: fresh.filter((e) => settings[e.kind]),
    seen: { personId: meId, keys: [...seen.keys, ...fresh.map((e) => e.key)].slice(-MAX_SEEN) },
  };
}

/** Title and text in the browser's language: who, which permission, and the question or reason. */
export function render(view: Slice, e: NotifyEvent): { title: string; message: string } {
  const r = view.requests.find((x) => x.id === e.requestId);
  const what = r ? r.permissions.map((k) => labelOf(view.catalog.find((c) => c.connectionId === r.connectionId && c.key === k)?.labels, k)).join(', ') : '';
  const who = (r && view.people.find((p) => p.id === r.requesterId)?.name) ?? t('people.unknown');
  const title = t(`notify.${e.kind}.title`);
  switch (e.kind) {
    case 'needs-info':
      return { title, message: t('notify.needs-info.message', { what, question: e.text ?? '' }) };
    case 'denied':
      return { title, message: e.text ? t('notify.denied.messageReason', { what, reason: e.text }) : t('notify.denied.message', { what }) };
    case 'expiring':
    case 'active':
      return { title, message: r?.expiresAt ? t(`notify.${e.kind}.message`, { what, when: new Date(r.expiresAt).toLocaleDateString() }) : what };
    case 'new-item':
    case 'reminder':
      return { title, message: t(`notify.${e.kind}.message`, { name: who, what }) };
    default:
      return { title, message: t(`notify.${e.kind}.message`, { what }) };
  }
}

export interface NotifierDeps {
  view(): Promise<Slice | null>;
  signedIn(): Promise<boolean>;
  /** Whether a pull has happened since this person signed in (before it the slice is not theirs yet). */
  synced(): Promise<boolean>;
  settings(): Promise<NotifySettings>;
  show(id: string, content: { title: string; message: string }): Promise<void>;
}

/** Checks one change at a time (changes come in bursts). Returns what it showed, for tests. */
export class BrowserNotifier {
  private running: Promise<unknown> = Promise.resolve();
  constructor(private readonly deps: NotifierDeps) {}

  check(): Promise<NotifyEvent[]> {
    const run = this.running.then(() => this.checkNow());
    this.running = run.catch((e: unknown) => console.warn('[accesslens] notifications:', e));
    return run;
  }

  private async checkNow(): Promise<NotifyEvent[]> {
    const [signedIn, view, synced] = await Promise.all([this.deps.signedIn(), this.deps.view(), this.deps.synced()]);
    if (!signedIn || !view?.me || !synced) return [];
    const meId = view.me.id;
    const { show, seen } = plan(deriveEvents(view, meId), await seenItem.getValue(), meId, await this.deps.settings());
    // Remembered first: a worker that dies now never shows one twice.
    await seenItem.setValue(seen);
    for (const e of show) {
      try {
        await this.deps.show(`al:${e.key}`, render(view, e));
      } catch (err) {
        console.warn('[accesslens] a notification could not be shown:', err);
      }
    }
    return show;
  }
}
