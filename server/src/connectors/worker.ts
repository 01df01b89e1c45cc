/**
 * One per server process: runs due fulfilment jobs and due imports, and plans and runs revocations
 * after departures and moves (server/src/revocations/). Work is found in the database
 * (so it survives restarts) and claimed atomically there (so several processes on one database never
 * run the same job or import twice). It wakes when this process queues work, and polls for the rest.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Notifier } from '../notifier.ts';
import type { SecretBox } from '../secrets.ts';
import { claimJob, releaseJobs, runJob } from './fulfilment.ts';
import { workSignal } from './signal.ts';
import { dueImports, runImport } from './import.ts';
import { planDirectoryEvents } from '../revocations/planner.ts';
import { claimRevocation, releaseRevocations, runRevocation } from '../revocations/jobs.ts';

export interface WorkerOptions {
  db: Db;
  box: SecretBox;
  now?: () => Date;
  findings?: FindingsService;
  notifier?: Notifier;
  /** Tests point connectors at loopback fakes; production uses the global fetch. */
  fetch?: typeof fetch;
  /** This process's name as lease owner. */
  ownerId?: string;
  jobLeaseMs?: number;
  importLeaseMs?: number;
  /** How often to look for work queued by other processes (and for scheduled imports). */
  pollMs?: number;
  log?: (line: string) => void;
}

export class ConnectorWorker {
  readonly ownerId: string;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #jobs: Promise<number> | null = null;
  #imports: Promise<number> | null = null;
  #revocations: Promise<number> | null = null;
  #revocationsAgain = false;
  #again = false;
  #stopped = false;
  readonly #onWork = () => this.wake();
  /** Counters, for tests and logs. */
  readonly stats = { jobs: 0, imports: 0, revocations: 0 };

  constructor(private readonly options: WorkerOptions) {
    this.ownerId = options.ownerId ?? `proc-${randomUUID()}`;
  }

  get #now(): () => Date {
    return this.options.now ?? (() => new Date());
  }

  start(): void {
    workSignal.addEventListener('work', this.#onWork);
    this.#timer = setInterval(() => this.wake(), this.options.pollMs ?? 2000);
    this.#timer.unref();
    this.wake();
  }

  /** Looks for work now (without waiting for the poll). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#jobs) this.#again = true;
    else
      this.#jobs = this.#drainJobs().finally(() => {
        this.#jobs = null;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
    this.#imports ??= this.#drainImports().finally(() => {
      this.#imports = null;
    });
    if (this.#revocations) this.#revocationsAgain = true;
    else
      this.#revocations = this.#drainRevocations().finally(() => {
        this.#revocations = null;
        if (this.#revocationsAgain) {
          this.#revocationsAgain = false;
          this.wake();
        }
      });
  }

  /** Runs every due job and import until none is due (tests drive the clock and call this). */
  async runDue(): Promise<{ jobs: number; imports: number; revocations: number }> {
    await Promise.all([this.#jobs, this.#imports, this.#revocations]);
    let jobs = 0;
    let imports = 0;
    let revocations = 0;
    for (;;) {
      const j = await this.#drainJobs();
      const i = await this.#drainImports();
      const r = await this.#drainRevocations();
      jobs += j;
      imports += i;
      revocations += r;
      if (j === 0 && i === 0 && r === 0) return { jobs, imports, revocations };
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    workSignal.removeEventListener('work', this.#onWork);
    if (this.#timer) clearInterval(this.#timer);
    this.#abort.abort(new Error('The server is stopping.'));
    await Promise.allSettled([this.#jobs, this.#imports, this.#revocations]);
    await releaseJobs(this.options.db, this.ownerId, this.#now()).catch(() => 0);
    await releaseRevocations(this.options.db, this.ownerId, this.#now()).catch(() => 0);
  }

  #deps() {
    const o = this.options;
    return {
      db: o.db,
      box: o.box,
      now: this.#now,
      ownerId: this.ownerId,
      signal: this.#abort.signal,
      ...(o.findings ? { findings: o.findings } : {}),
      ...(o.notifier ? { notifier: o.notifier } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
    };
  }

  async #drainJobs(): Promise<number> {
    let n = 0;
    try {
      while (!this.#stopped) {
        const job = await claimJob({ ...this.#deps(), ...(this.options.jobLeaseMs ? { leaseMs: this.options.jobLeaseMs } : {}) });
        if (!job) break;
        n++;
        this.stats.jobs++;
        await runJob({ ...this.#deps(), ...(this.options.jobLeaseMs ? { leaseMs: this.options.jobLeaseMs } : {}) }, job);
      }
    } catch (error) {
      if (!this.#stopped) this.#log(`fulfilment job failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    return n;
  }

  async #drainImports(): Promise<number> {
    let n = 0;
    try {
      for (const connectionId of await dueImports(this.options.db, this.#now())) {
        if (this.#stopped) break;
        const { busy } = await runImport({ ...this.#deps(), ...(this.options.importLeaseMs ? { leaseMs: this.options.importLeaseMs } : {}) }, connectionId);
        if (!busy) {
          n++;
          this.stats.imports++;
        }
      }
    } catch (error) {
      if (!this.#stopped) this.#log(`import failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    return n;
  }

  /** Plans every unprocessed directory event, then runs the revocations that are due. */
  async #drainRevocations(): Promise<number> {
    let n = 0;
    const deps = { ...this.#deps(), ...(this.options.jobLeaseMs ? { leaseMs: this.options.jobLeaseMs } : {}) };
    try {
      while (!this.#stopped) {
        const planned = await planDirectoryEvents(deps);
        if (planned === 0) break;
        n += planned;
      }
      while (!this.#stopped) {
        const claimed = await claimRevocation(deps);
        if (!claimed) break;
        n++;
        this.stats.revocations++;
        if (claimed !== 'cancelled') await runRevocation(deps, claimed);
      }
    } catch (error) {
      if (!this.#stopped) this.#log(`revocation failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    return n;
  }

  #log(line: string): void {
    (this.options.log ?? ((l: string) => console.error(`[accesslens] ${l}`)))(line);
  }
}
