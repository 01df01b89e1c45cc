/**
 * The local replica of the caller's slice: pulls (`GET /api/sync`), pushes the outbox
 * (`POST /api/mutations`) with backoff, and tells listeners when what the user sees changed.
 * Pulls and pushes run one at a time; reads (`view`) never wait for the network.
 */
import { browser } from 'wxt/browser';
import type { z } from 'zod';
import {
  applySync,
  pullChangesSlice,
  emptySlice,
  mutationsResponse,
  syncResponse,
  type Person,
  type Slice,
  type SyncStatus,
  type UiError,
} from '@accesslens/shared';
import { t } from '../../utils/i18n';
import type { MutationFailure } from '../../utils/protocol';
import { ApiFailure, callApi, type Fetch } from './api';
import { ALARM_THRESHOLD_MS, MAX_BATCH, backoffDelay, dueEntries, failureOf, nextHeldAt, pendingEntries, replay, settle } from './outbox';
import {
  cursorItem,
  failuresItem,
  outboxItem,
  retryItem,
  serverUrlItem,
  sliceItem,
  syncStatusItem,
  type OutboxEntry,
  type RetryState,
  type StoredSyncStatus,
} from './storage';
import type { TokenStore } from './token-store';

export const RETRY_ALARM = 'accesslens-outbox-retry';
const MAX_FAILURES = 20;

export interface ReplicaDeps {
  fetch: Fetch;
  now: () => Date;
  tokens: TokenStore;
}

interface State {
  serverUrl: string | null;
  slice: Slice | null;
  cursor: string | null;
  outbox: OutboxEntry[];
  retry: RetryState | null;
  status: StoredSyncStatus;
  failures: MutationFailure[];
}

export class Replica {
  private state: State | null = null;
  private loading: Promise<State> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private listeners = new Set<() => void>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private view_: Slice | null = null;

  constructor(private readonly deps: ReplicaDeps) {}

  // ---------- reading ----------

  private async load(): Promise<State> {
    if (this.state) return this.state;
    this.loading ??= (async () => {
      const [serverUrl, slice, cursor, outbox, retry, status, failures] = await Promise.all([
        serverUrlItem.getValue(),
        sliceItem.getValue(),
        cursorItem.getValue(),
        outboxItem.getValue(),
        retryItem.getValue(),
        syncStatusItem.getValue(),
        failuresItem.getValue(),
      ]);
      this.state = { serverUrl, slice, cursor, outbox, retry, status, failures };
      return this.state;
    })();
    return this.loading;
  }

  async signedIn(): Promise<boolean> {
    await this.load();
    return (await this.deps.tokens.get()) !== null;
  }

  async serverUrl(): Promise<string | null> {
    return (await this.load()).serverUrl;
  }

  /** What the user should see: the server's slice with queued mutations replayed on top. */
  async view(): Promise<Slice | null> {
    const s = await this.load();
    if (!s.slice) return null;
    this.view_ ??= replay(s.slice, s.outbox);
    return this.view_;
  }

  async syncStatus(): Promise<SyncStatus> {
    const s = await this.load();
    return { lastSyncAt: s.status.lastSyncAt, lastError: s.status.lastError, outbox: pendingEntries(s.outbox).length };
  }

  async failures(): Promise<MutationFailure[]> {
    return (await this.load()).failures;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.view_ = null;
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  // ---------- session ----------

  /** After sign-in: keep local data only if it belongs to the same person on the same server. */
  async adopt(serverUrl: string, person: Person): Promise<void> {
    await this.exclusive(async () => {
      const s = await this.load();
      const same = s.serverUrl === serverUrl && s.slice?.me?.id === person.id;
      if (!same) {
        await this.clearLocked();
        s.slice = { ...emptySlice(), me: person };
      } else if (s.slice) {
        s.slice = { ...s.slice, me: person };
      }
      s.serverUrl = serverUrl;
      s.status = { ...s.status, lastError: null };
      await Promise.all([serverUrlItem.setValue(serverUrl), sliceItem.setValue(s.slice), syncStatusItem.setValue(s.status)]);
      this.changed();
    });
  }

  /** Sign-out: forget everything but the server URL. */
  async clear(): Promise<void> {
    await this.exclusive(async () => {
      await this.clearLocked();
      this.changed();
    });
  }

  private async clearLocked(): Promise<void> {
    const s = await this.load();
    s.slice = null;
    s.cursor = null;
    s.outbox = [];
    s.retry = null;
    s.failures = [];
    s.status = { lastSyncAt: null, lastError: null };
    this.cancelRetry();
    await Promise.all([
      sliceItem.setValue(null),
      cursorItem.setValue(null),
      outboxItem.setValue([]),
      retryItem.setValue(null),
      failuresItem.setValue([]),
      syncStatusItem.setValue(s.status),
    ]);
  }

  /**
   * The server no longer accepts the token. Drop the token; keep the queue so the same person
   * signing in again still gets it delivered (adopt() clears it for anyone else).
   */
  private async unauthenticated(): Promise<void> {
    await this.deps.tokens.clear();
    const s = await this.load();
    s.status = { ...s.status, lastError: { code: 'unauthenticated', message: t('error.sessionEnded') } };
    await syncStatusItem.setValue(s.status);
    this.changed();
  }

  // ---------- direct calls ----------

  /**
   * One authenticated call outside sync (e.g. the request preview), with the same 401 handling as a
   * pull: the token is dropped and the user is told the session ended. Throws `ApiFailure`; returns
   * null when signed out.
   */
  async call<S extends z.ZodType>(
    path: string,
    call: { method?: 'GET' | 'POST'; body?: unknown; schema: S; signal?: AbortSignal },
  ): Promise<z.infer<S> | null> {
    const creds = await this.credentials();
    if (!creds) return null;
    try {
      return (await callApi(this.deps.fetch, creds.serverUrl, path, { ...call, token: creds.token })) as z.infer<S>;
    } catch (e) {
      if (e instanceof ApiFailure && e.unauthenticated) await this.unauthenticated();
      throw e;
    }
  }

  // ---------- writing ----------

  /** Queues a mutation, shows its effect at once, and tries to deliver it (a held one once it is due). */
  async enqueue(entry: OutboxEntry): Promise<void> {
    await this.exclusive(async () => {
      const s = await this.load();
      s.outbox = [...s.outbox, entry];
      await outboxItem.setValue(s.outbox);
      this.changed();
    });
    void this.syncNow();
  }

  /**
   * Takes back mutations still held for undo (not yet sent): their effect disappears. Returns how many
   * were withdrawn; one already sent cannot be.
   */
  async withdraw(mutationIds: string[]): Promise<number> {
    return this.exclusive(async () => {
      const s = await this.load();
      const now = this.deps.now().getTime();
      const ids = new Set(mutationIds);
      const keep = s.outbox.filter((e) => !(ids.has(e.mutation.id) && !e.delivered && (e.sendAfter ?? 0) > now));
      const withdrawn = s.outbox.length - keep.length;
      if (withdrawn > 0) {
        s.outbox = keep;
        await outboxItem.setValue(s.outbox);
        this.changed();
      }
      return withdrawn;
    });
  }

  /** Pushes what is due, then pulls. */
  syncNow(options: { force?: boolean } = {}): Promise<void> {
    return this.exclusive(async () => {
      await this.pushLocked(options.force ?? false);
      await this.pullLocked();
    });
  }

  pull(): Promise<void> {
    return this.exclusive(() => this.pullLocked());
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async credentials(): Promise<{ serverUrl: string; token: string } | null> {
    const s = await this.load();
    const token = await this.deps.tokens.get();
    return s.serverUrl && token ? { serverUrl: s.serverUrl, token } : null;
  }

  private async recordError(error: UiError): Promise<void> {
    const s = await this.load();
    const before = JSON.stringify(s.status.lastError);
    s.status = { ...s.status, lastError: error };
    await syncStatusItem.setValue(s.status);
    if (before !== JSON.stringify(error)) this.changed();
  }

  private async pullLocked(): Promise<void> {
    const creds = await this.credentials();
    if (!creds) return;
    const s = await this.load();
    const query = s.cursor ? `?cursor=${encodeURIComponent(s.cursor)}` : '';
    let pull;
    try {
      pull = await callApi(this.deps.fetch, creds.serverUrl, `/api/sync${query}`, { token: creds.token, schema: syncResponse });
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      if (e.unauthenticated) return this.unauthenticated();
      return this.recordError(e.error);
    }
    const hadError = s.status.lastError !== null;
    const changed = pullChangesSlice(pull);
    // Delivered mutations were pushed before this pull started, so their effects are in it.
    const outbox = s.outbox.filter((e) => !e.delivered);
    const outboxChanged = outbox.length !== s.outbox.length;
    s.status = { lastSyncAt: this.deps.now().toISOString(), lastError: null };
    const writes: Promise<void>[] = [syncStatusItem.setValue(s.status)];
    if (changed) {
      s.slice = applySync(s.slice, pull);
      writes.push(sliceItem.setValue(s.slice));
    }
    if (pull.cursor !== s.cursor) {
      s.cursor = pull.cursor;
      writes.push(cursorItem.setValue(s.cursor));
    }
    if (outboxChanged) {
      s.outbox = outbox;
      writes.push(outboxItem.setValue(outbox));
    }
    await Promise.all(writes);
    if (changed || outboxChanged || hadError) this.changed();
  }

  private heldTimer: ReturnType<typeof setTimeout> | null = null;

  private async pushLocked(force: boolean): Promise<void> {
    const s = await this.load();
    const now = this.deps.now();
    // Entries held for undo go once due: wake then (the service worker outlives a 5 s hold).
    const held = nextHeldAt(s.outbox, now.getTime());
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = held === null ? null : setTimeout(() => void this.syncNow(), held - now.getTime() + 10);
    const batch = dueEntries(s.outbox, now.getTime()).slice(0, MAX_BATCH);
    if (batch.length === 0) return;
    if (!force && s.retry && s.retry.nextAt > now.getTime()) return;
    const creds = await this.credentials();
    if (!creds) return;
    try {
      const res = await callApi(this.deps.fetch, creds.serverUrl, '/api/mutations', {
        method: 'POST',
        token: creds.token,
        body: { mutations: batch.map((e) => e.mutation) },
        schema: mutationsResponse,
      });
      const settled = settle(s.outbox, res.results, now);
      s.outbox = settled.outbox;
      s.retry = null;
      this.cancelRetry();
      await Promise.all([outboxItem.setValue(s.outbox), retryItem.setValue(null), this.addFailures(settled.failures)]);
      this.changed();
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      if (e.unauthenticated) return this.unauthenticated();
      if (e.transient) {
        const attempts = (s.retry?.attempts ?? 0) + 1;
        const delay = Math.max(backoffDelay(attempts), e.retryAfterMs ?? 0);
        s.retry = { attempts, nextAt: now.getTime() + delay };
        await retryItem.setValue(s.retry);
        this.scheduleRetry(delay, s.retry.nextAt);
        await this.recordError(e.error);
        this.changed();
        return;
      }
      // The whole batch was refused (e.g. 400): retrying would fail the same way forever.
      const dropped = new Set(batch.map((b) => b.mutation.id));
      s.outbox = s.outbox.filter((x) => !dropped.has(x.mutation.id));
      s.retry = null;
      await Promise.all([outboxItem.setValue(s.outbox), retryItem.setValue(null), this.addFailures(batch.map((b) => failureOf(b, e.error, now)))]);
      this.changed();
    }
  }

  private async addFailures(failures: MutationFailure[]): Promise<void> {
    if (failures.length === 0) return;
    const s = await this.load();
    s.failures = [...failures, ...s.failures].slice(0, MAX_FAILURES);
    await failuresItem.setValue(s.failures);
  }

  private scheduleRetry(delayMs: number, at: number): void {
    this.cancelRetry();
    if (delayMs <= ALARM_THRESHOLD_MS) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        void this.syncNow();
      }, delayMs);
    } else {
      void browser.alarms.create(RETRY_ALARM, { when: at });
    }
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void browser.alarms.clear(RETRY_ALARM);
  }
}
