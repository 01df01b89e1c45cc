/**
 * Everything the background keeps in `storage.local`. Never the session token: content scripts can
 * be granted access to storage.local, so the token lives in IndexedDB instead (token-store.ts).
 */
import { storage } from 'wxt/utils/storage';
import type { AccessRequest, CrmKind, Mutation, Slice, UiError } from '@accesslens/shared';
import type { MutationFailure } from '../../utils/protocol';

export { DEFAULT_SERVER_URL } from '../../utils/protocol';

export const serverUrlItem = storage.defineItem<string | null>('local:serverUrl', { fallback: null, version: 1 });

/** The slice as the server last sent it (optimistic changes are replayed on top, see outbox.ts). */
export const sliceItem = storage.defineItem<Slice | null>('local:slice', { fallback: null, version: 1 });

export const cursorItem = storage.defineItem<string | null>('local:cursor', { fallback: null, version: 1 });

export interface OutboxEntry {
  /** Generated once when queued; every retry re-sends the same id so the server applies it once. */
  mutation: Mutation;
  queuedAt: string;
  /** The server accepted it; kept (and replayed) until a pull shows its effect. */
  delivered: boolean;
  /** request.create: the request as the client predicts it, shown until the server's copy arrives. */
  predicted: AccessRequest | null;
  /** Held until this time (epoch ms) so the person can still undo it; sent from then on. */
  sendAfter?: number;
}

export const outboxItem = storage.defineItem<OutboxEntry[]>('local:outbox', { fallback: [], version: 1 });

export interface RetryState {
  attempts: number;
  nextAt: number;
}

export const retryItem = storage.defineItem<RetryState | null>('local:outboxRetry', { fallback: null, version: 1 });

export interface StoredSyncStatus {
  lastSyncAt: string | null;
  lastError: UiError | null;
}

export const syncStatusItem = storage.defineItem<StoredSyncStatus>('local:syncStatus', {
  fallback: { lastSyncAt: null, lastError: null },
  version: 1,
});

export const failuresItem = storage.defineItem<MutationFailure[]>('local:failures', { fallback: [], version: 1 });

/**
 * The connection a person chose, per CRM kind, for pages whose URL names no tenant (Fxiaoke; a Zoho
 * URL without its org id) when several connections of that kind are theirs.
 */
export const chosenConnectionsItem = storage.defineItem<Partial<Record<CrmKind, string>>>('local:chosenConnections', {
  fallback: {},
  version: 1,
});
