/**
 * One per server process: plans the console's recurring work (licence reminders, the day's findings
 * counts), settles revocations whose admin task was done, and runs due rows of the durable schedule —
 * each claimed by exactly one process (console/schedule.ts). Polls; tests call `runDue()`.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db.ts';
import type { FindingsService } from '../findings/service.ts';
import { recordDailyCounts } from '../findings/summary.ts';
import type { Notifier } from '../notifier.ts';
import { runWrite, type WriteContext } from '../write.ts';
import { planLicenseReminders, remindLicense } from './licences.ts';
import { settleRevocations } from './revoke.ts';
import { campaignDue, escalationDue, remindReviewers } from './reviews.ts';
import { claimDue, runClaimed, scheduleOnce, type ScheduledRow } from './schedule.ts';

export interface ConsoleWorkerOptions {
  db: Db;
  now?: () => Date;
  findings?: FindingsService;
  notifier?: Notifier;
  ownerId?: string;
  leaseMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
}

export class ConsoleWorker {
  readonly ownerId: string;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #stopped = false;
  readonly stats = { runs: 0 };

  constructor(private readonly options: ConsoleWorkerOptions) {
    this.ownerId = options.ownerId ?? `console-${randomUUID()}`;
  }

  get #now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  #log(line: string): void {
    (this.options.log ?? ((l: string) => console.error(`[accesslens] ${l}`)))(line);
  }

  start(): void {
    this.#timer = setInterval(() => this.#tick(), this.options.pollMs ?? 30_000);
    this.#timer.unref();
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped || this.#running) return;
    this.#running = this.runDue()
      .catch((error: unknown) => this.#log(`console schedule failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`))
      .finally(() => (this.#running = null));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** Plans, settles, then runs every due row until none is due. Returns how many ran. */
  async runDue(): Promise<number> {
    const { db, findings, notifier } = this.options;
    await runWrite(
      db,
      this.#now,
      async (w) => {
        await planLicenseReminders(w);
        const day = w.nowIso.slice(0, 10);
        await scheduleOnce(w.tx, 'findings.daily', day, `${day}T00:00:00.000Z`, w.nowIso);
        await settleRevocations(w, findings);
      },
      notifier,
    );
    let n = 0;
    while (!this.#stopped) {
      const now = this.#now;
      const row = await claimDue(db, this.ownerId, now, this.options.leaseMs ?? 120_000);
      if (!row) break;
      // The findings engine catches up in its own transaction, before the work's.
      const engine = findings && (row.kind === 'findings.daily' || row.kind === 'license.remind') ? await findings.ensureCurrent(now) : null;
      await runClaimed(
        db,
        this.ownerId,
        row,
        now,
        (w) => this.#work(w, row, engine !== null),
        (l) => this.#log(l),
        notifier,
      );
      n++;
      this.stats.runs++;
    }
    return n;
  }

  async #work(w: WriteContext, row: ScheduledRow, engineReady: boolean): Promise<void> {
    const { findings } = this.options;
    switch (row.kind) {
      case 'review.close':
        return campaignDue(w, row.subject, findings);
      case 'review.escalation':
        return escalationDue(w, row.subject, findings);
      case 'review.remind':
        return remindReviewers(w, row.subject);
      case 'license.remind':
        return remindLicense(w, row.subject, engineReady && findings ? await findings.catchUpWithin(w) : null);
      case 'findings.daily':
        await recordDailyCounts(w.tx, row.subject);
        return;
    }
  }
}
