/**
 * The outbox: mutations queued locally, delivered with `POST /api/mutations`, retried with backoff.
 * Optimistic updates are not written into the stored slice; they are replayed on top of the server's
 * slice (as Replicache does), so a reset pull or a rejection never leaves a stale guess behind.
 */
import type { AccessRequest, MutationResult, Slice } from '@accesslens/shared';
import type { MutationFailure } from '../../utils/protocol';
import type { OutboxEntry } from './storage';

export const BACKOFF_START_MS = 2_000;
export const BACKOFF_CAP_MS = 60_000;
/** Longer waits go through chrome.alarms: a setTimeout dies with the service worker. */
export const ALARM_THRESHOLD_MS = 30_000;
export const MAX_BATCH = 100;

/** 2 s, 4 s, 8 s … capped at 60 s. `attempts` counts failures so far (≥ 1). */
export function backoffDelay(attempts: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** Math.max(0, attempts - 1));
}

export function pendingEntries(outbox: OutboxEntry[]): OutboxEntry[] {
  return outbox.filter((e) => !e.delivered);
}

const OPEN = new Set<AccessRequest['status']>(['pending', 'needs-info']);
const DAY_MS = 86_400_000;

/** The slice as the user should see it: the server's, plus what is queued but not yet pulled back. */
export function replay(base: Slice, outbox: OutboxEntry[]): Slice {
  if (outbox.length === 0) return base;
  let requests = base.requests;
  const update = (id: string, change: (r: AccessRequest) => AccessRequest | null) => {
    requests = requests.map((r) => (r.id === id ? (change(r) ?? r) : r));
  };
  for (const entry of outbox) {
    const m = entry.mutation;
    switch (m.name) {
      case 'request.create':
        if (entry.predicted && !requests.some((r) => r.id === m.args.requestId)) requests = [...requests, entry.predicted];
        break;
      case 'request.cancel':
        update(m.args.requestId, (r) =>
          OPEN.has(r.status) ? { ...r, status: 'cancelled', updatedAt: entry.queuedAt } : null,
        );
        break;
      case 'decision.record':
        update(m.args.requestId, (r) => {
          if (!OPEN.has(r.status) || !base.me) return null;
          const deciderId = base.me.id;
          const index = r.stages.findIndex((s) => s.decision === null && s.approverIds.includes(deciderId));
          if (index < 0) return null;
          const stages = r.stages.map((s, i) =>
            i === index
              ? {
                  ...s,
                  decision: {
                    deciderId,
                    outcome: m.args.outcome,
                    reason: m.args.reason,
                    durationDays: m.args.durationDays,
                    decidedAt: entry.queuedAt,
                  },
                }
              : s,
          );
          if (m.args.outcome === 'deny')
            return { ...r, stages, status: 'denied', decidedAt: entry.queuedAt, updatedAt: entry.queuedAt };
          if (stages.some((s) => s.decision === null)) return { ...r, stages, updatedAt: entry.queuedAt };
          const days = m.args.durationDays ?? r.durationDays;
          return {
            ...r,
            stages,
            status: 'approved',
            decidedAt: entry.queuedAt,
            grantedAt: entry.queuedAt,
            expiresAt: new Date(Date.parse(entry.queuedAt) + days * DAY_MS).toISOString(),
            updatedAt: entry.queuedAt,
          };
        });
        break;
    }
  }
  return requests === base.requests ? base : { ...base, requests };
}

/** Folds a push's results into the outbox: accepted → delivered, rejected → dropped and reported. */
export function settle(
  outbox: OutboxEntry[],
  results: MutationResult[],
  now: Date,
): { outbox: OutboxEntry[]; failures: MutationFailure[]; delivered: number } {
  const byId = new Map(results.map((r) => [r.id, r] as const));
  const failures: MutationFailure[] = [];
  let delivered = 0;
  const next: OutboxEntry[] = [];
  for (const entry of outbox) {
    const result = byId.get(entry.mutation.id);
    if (!result) {
      next.push(entry);
    } else if (result.status === 'rejected') {
      failures.push(failureOf(entry, result.error ?? { code: 'rejected', message: 'rejected' }, now));
    } else {
      delivered++;
      next.push({ ...entry, delivered: true });
    }
  }
  return { outbox: next, failures, delivered };
}

export function failureOf(entry: OutboxEntry, error: { code: string; message: string; field?: string }, now: Date): MutationFailure {
  const m = entry.mutation;
  return {
    mutationId: m.id,
    name: m.name,
    requestId: m.args.requestId,
    permissions: m.name === 'request.create' ? m.args.permissions : [],
    error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) },
    at: now.toISOString(),
  };
}
