/**
 * One per server process: runs due scheduled work (reminders, escalation, time-outs, access-window starts,
 * delegation starts, expiry reminders) and delivers the notification outbox. Work is found in the database
 * and claimed atomically there, so several processes on one database never do the same thing twice. It
 * wakes when this process queues messages, and polls for the rest.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Locale, WebhookPlatform } from '@accesslens/shared';
import type { Db } from '../db.ts';
import type { Notifier } from '../notifier.ts';
import type { SecretBox } from '../secrets.ts';
import { runWrite } from '../write.ts';
import type { Mailer } from './mail.ts';
import { renderMessage } from './messages.ts';
import { claimMessage, outboxSignal, releaseMessages, settleMessage, type ClaimedMessage, type DeliveryOutcome } from './outbox.ts';
import { platformAccepted, webhookRequest } from './platforms.ts';
import { claimDueWork, failWork } from './schedule.ts';
import { remindExpiring, runWork } from './timers.ts';
import { webhookSecretContext } from './webhooks.ts';

export interface LifecycleWorkerOptions {
  db: Db;
  box: SecretBox;
  now?: () => Date;
  notifier?: Notifier;
  /** Email; none = email messages are marked skipped. */
  mailer?: Mailer | null;
  /** Replaces the global fetch for webhooks (tests). */
  fetch?: typeof fetch;
  ownerId?: string;
  pollMs?: number;
  leaseMs?: number;
  /** How long one webhook call may take. */
  webhookTimeoutMs?: number;
  log?: (line: string) => void;
}

export class LifecycleWorker {
  readonly ownerId: string;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #again = false;
  #stopped = false;
  readonly #onWork = () => this.wake();
  readonly stats = { work: 0, sent: 0, failed: 0 };

  constructor(private readonly options: LifecycleWorkerOptions) {
    this.ownerId = options.ownerId ?? `proc-${randomUUID()}`;
  }

  get #now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  start(): void {
    outboxSignal.addEventListener('work', this.#onWork);
    this.#timer = setInterval(() => this.wake(), this.options.pollMs ?? 5000);
    this.#timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** Runs every due step and delivers every due message until none is due (tests move the clock, then call this). */
  async runDue(): Promise<{ work: number; sent: number }> {
    await this.#running;
    let work = 0;
    let sent = 0;
    for (;;) {
      const w = await this.runDueWork();
      const s = await this.deliverDue();
      work += w;
      sent += s;
      if (w === 0 && s === 0) return { work, sent };
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    outboxSignal.removeEventListener('work', this.#onWork);
    if (this.#timer) clearInterval(this.#timer);
    await this.#running?.catch(() => {});
    await releaseMessages(this.options.db, this.ownerId, this.#now).catch(() => {});
  }

  async #drain(): Promise<void> {
    try {
      await this.runDueWork();
      await this.deliverDue();
    } catch (error) {
      if (!this.#stopped) this.#log(`lifecycle work failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  /**
   * Scheduled work due now, one unit per transaction; then expiry reminders. Returns how many ran.
   * (Between units, and between messages below, the loop yields to the event loop: a `file:` database
   * answers synchronously, so a long drain would otherwise hold every HTTP response back until it ends.)
   */
  async runDueWork(): Promise<number> {
    const { db, notifier } = this.options;
    let n = 0;
    while (!this.#stopped) {
      const now = this.#now;
      const claim: { id: string | null } = { id: null };
      try {
        const ran = await runWrite(
          db,
          now,
          async (w) => {
            const work = await claimDueWork(w.tx, w.nowIso);
            if (!work) return false;
            claim.id = work.id;
            await runWork(w, work);
            return true;
          },
          notifier,
        );
        if (!ran) break;
        n++;
        this.stats.work++;
        await nextTurn();
      } catch (error) {
        const id = claim.id;
        if (id === null) throw error;
        this.#log(`scheduled work ${id} failed: ${error instanceof Error ? error.message : String(error)}`);
        await db.transaction((tx) => failWork(tx, id, error instanceof Error ? error.message : String(error), now));
      }
    }
    if (this.#stopped) return n;
    n += await runWrite(db, this.#now, (w) => remindExpiring(w), notifier);
    return n;
  }

  /** Delivers due messages one by one. Returns how many were sent. */
  async deliverDue(): Promise<number> {
    let sent = 0;
    while (!this.#stopped) {
      const now = this.#now;
      const message = await claimMessage(this.options.db, this.ownerId, now, this.options.leaseMs);
      if (!message) break;
      const outcome = await this.#deliver(message).catch(
        (error: unknown): DeliveryOutcome => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
      );
      const settled = await settleMessage(this.options.db, message, this.ownerId, this.#now, outcome);
      if (settled && 'ok' in outcome && outcome.ok) {
        sent++;
        this.stats.sent++;
      } else if (settled && 'ok' in outcome) this.stats.failed++;
      await nextTurn();
    }
    return sent;
  }

  async #deliver(message: ClaimedMessage): Promise<DeliveryOutcome> {
    const { db } = this.options;
    if (message.channel === 'email') {
      const r = await db.execute('SELECT name, email, language, status FROM people WHERE id = ?', [message.recipient]);
      const person = r.rows[0];
      if (!person) return { skipped: 'the person no longer exists' };
      if (String(person.status) !== 'active') return { skipped: `the person is ${String(person.status)}` };
      if (!this.options.mailer) return { skipped: 'email is not configured (ACCESSLENS_SMTP_URL)' };
      const locale = (person.language === null ? 'en' : String(person.language)) as Locale;
      await this.options.mailer.send({ name: String(person.name), email: String(person.email) }, renderMessage(message.payload, locale), locale, message.id);
      return { ok: true };
    }
    const r = await db.execute(
      'SELECT id, platform, url_ciphertext, secret_ciphertext, language, enabled, deleted_at FROM notification_webhooks WHERE id = ?',
      [message.recipient],
    );
    const hook = r.rows[0];
    if (!hook || hook.deleted_at !== null) return { skipped: 'the webhook was deleted' };
    if (Number(hook.enabled) !== 1) return { skipped: 'the webhook is disabled' };
    const { box } = this.options;
    const url = box.decrypt(String(hook.url_ciphertext), webhookSecretContext(String(hook.id), 'url'));
    const secret = hook.secret_ciphertext === null ? null : box.decrypt(String(hook.secret_ciphertext), webhookSecretContext(String(hook.id), 'secret'));
    const locale = String(hook.language) as Locale;
    return postWebhook(
      String(hook.platform) as WebhookPlatform,
      url,
      secret,
      renderMessage(message.payload, locale),
      locale,
      this.#now,
      this.options.fetch ?? fetch,
      this.options.webhookTimeoutMs ?? 10_000,
    );
  }

  #log(line: string): void {
    (this.options.log ?? ((l: string) => console.error(`[accesslens] ${l}`)))(line);
  }
}

/** Posts one message to one webhook; the platform's answer decides whether it was delivered. */
export async function postWebhook(
  platform: WebhookPlatform,
  url: string,
  secret: string | null,
  message: ReturnType<typeof renderMessage>,
  locale: Locale,
  now: Date,
  fetchFn: typeof fetch = fetch,
  timeoutMs = 10_000,
): Promise<DeliveryOutcome & { status?: number }> {
  const req = webhookRequest(platform, url, secret, message, locale, now);
  const res = await fetchFn(req.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify(req.body),
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  const text = await res.text();
  const verdict = platformAccepted(platform, res.status, text);
  // A 4xx other than 429 will not get better by retrying (a revoked URL, a malformed body).
  const permanent = res.status >= 400 && res.status < 500 && res.status !== 429;
  return verdict.ok ? { ok: true, status: res.status } : { ok: false, error: verdict.error ?? 'refused', permanent, status: res.status };
}
