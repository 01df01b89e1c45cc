/**
 * The outbox: mutations queued locally, delivered with `POST /api/mutations`, retried with backoff.
 * Optimistic updates are not written into the stored slice; they are replayed on top of the server's
 * slice (as Replicache does), so a reset pull or a rejection never leaves a stale guess behind.
 */
import type { AccessRequest, ApprovalStage, MutationResult, PolicyProblem, Slice, StageDecision } from '@accesslens/shared';
import type { MutationFailure } from '../../utils/protocol';
import type { OutboxEntry } from './storage';
import { serverErrorText } from '../../utils/server-errors';

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

/** What may be sent now: not delivered, and no longer held for undo. */
export function dueEntries(outbox: OutboxEntry[], now: number): OutboxEntry[] {
  return outbox.filter((e) => !e.delivered && (e.sendAfter ?? 0) <= now);
}

/** When the next held entry becomes due, or null. */
export function nextHeldAt(outbox: OutboxEntry[], now: number): number | null {
  const held = outbox.filter((e) => !e.delivered && (e.sendAfter ?? 0) > now).map((e) => e.sendAfter!);
  return held.length > 0 ? Math.min(...held) : null;
}

const OPEN = new Set<AccessRequest['status']>(['pending', 'needs-info']);

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
      case 'request.answer':
        // Answered: back to its approvers at the same stage.
        update(m.args.requestId, (r) => (r.status === 'needs-info' ? { ...r, status: 'pending', needsInfo: null, updatedAt: entry.queuedAt } : null));
        break;
      case 'request.cancel':
        update(m.args.requestId, (r) => (OPEN.has(r.status) ? { ...r, status: 'cancelled', updatedAt: entry.queuedAt } : null));
        break;
      case 'decision.record':
        update(m.args.requestId, (r) =>
          base.me
            ? applyDecision(r, base.me.id, {
                deciderId: base.me.id,
                outcome: m.args.outcome,
                reason: m.args.reason,
                durationDays: m.args.durationDays,
                decidedAt: entry.queuedAt,
              })
            : null,
        );
        break;
    }
  }
  return requests === base.requests ? base : { ...base, requests };
}

/**
 * A decision as the server applies it: stages run in order and only the open one (the first without
 * a decision) may be decided, by one of its approvers who has not approved it yet. An approval is
 * added to the stage and concludes it once `required` approvals are in; the request is approved when
 * its last stage concludes. A denial ends the request. Null when the decision would not apply.
 */
export function applyDecision(r: AccessRequest, deciderId: string, d: StageDecision): AccessRequest | null {
  if (!OPEN.has(r.status)) return null;
  const index = r.stages.findIndex((s) => s.decision === null);
  const stage = r.stages[index];
  if (!stage || !stage.approverIds.includes(deciderId) || stage.approvals.some((a) => a.deciderId === deciderId)) return null;
  const at = d.decidedAt;
  // A question sends the request back to its requester; the stage stays open (`request.answer` reopens it).
  if (d.outcome === 'needs-info')
    return { ...r, status: 'needs-info', needsInfo: { askedBy: deciderId, askedAt: at, question: d.reason ?? '', stage: index }, updatedAt: at };
  const next: ApprovalStage =
    d.outcome === 'deny'
      ? { ...stage, decision: d }
      : (() => {
          const approvals = [...stage.approvals, d];
          return { ...stage, approvals, decision: approvals.length >= stage.required ? d : null };
        })();
  const stages = r.stages.map((s, i) => (i === index ? next : s));
  if (d.outcome === 'deny') return { ...r, stages, status: 'denied', decidedAt: at, updatedAt: at };
  if (stages.some((s) => s.decision === null)) return { ...r, stages, updatedAt: at };
  // Approved is not yet held: `grantedAt` and `expiresAt` are the CRM's confirmation and the end of the grant
  // (the shortest duration any approver gave), which the server sets when the CRM confirms (docs/api.md).
  return { ...r, stages, status: 'approved', decidedAt: at, grantedAt: null, expiresAt: null, updatedAt: at };
}

/** Folds a push's results into the outbox: accepted → delivered, rejected → dropped and reported. */
export function settle(outbox: OutboxEntry[], results: MutationResult[], now: Date): { outbox: OutboxEntry[]; failures: MutationFailure[]; delivered: number } {
  const byId = new Map(results.map((r) => [r.id, r] as const));
  const failures: MutationFailure[] = [];
  let delivered = 0;
  const next: OutboxEntry[] = [];
  for (const entry of outbox) {
    const result = byId.get(entry.mutation.id);
    if (!result) {
      next.push(entry);
    } else if (result.status === 'rejected') {
      // The server's English sentence is for API clients: the person reads the reason in their language.
      const error = result.error ?? { code: 'rejected', message: '' };
      failures.push(failureOf(entry, { ...error, message: serverErrorText(error) }, now));
    } else {
      delivered++;
      next.push({ ...entry, delivered: true });
    }
  }
  return { outbox: next, failures, delivered };
}

/**
 * The server names a rejected mutation's field by its place in the batch it was sent in
 * (`mutations.3.args.permissions.0`); a failure outlives that batch, so it keeps the field of the
 * mutation's own arguments (`permissions.0`), as the form that sent it names it.
 */
export function argsField(field: string): string {
  return field.replace(/^mutations\.\d+\.(?:args\.)?/, '');
}

export function failureOf(
  entry: OutboxEntry,
  error: { code: string; message: string; field?: string; problems?: PolicyProblem[] },
  now: Date,
): MutationFailure {
  const m = entry.mutation;
  return {
    mutationId: m.id,
    name: m.name,
    requestId: m.args.requestId,
    // A bundle or extension asks for keys the server works out: the optimistic request names them.
    permissions: m.name === 'request.create' ? (m.args.permissions.length > 0 ? m.args.permissions : (entry.predicted?.permissions ?? [])) : [],
    error: { code: error.code, message: error.message, ...(error.field ? { field: argsField(error.field) } : {}) },
    ...(error.problems && error.problems.length > 0 ? { problems: error.problems } : {}),
    at: now.toISOString(),
  };
}
