import type { AccessRequest, SyncResponse } from './schemas.ts';

/** The part of the directory a signed-in person holds locally: what sync has sent them. */
export type Slice = Omit<SyncResponse, 'cursor' | 'reset' | 'me'> & { me: NonNullable<SyncResponse['me']> | null };

export const emptySlice = (): Slice => ({
  me: null,
  people: [],
  connections: [],
  accounts: [],
  catalog: [],
  bundles: [],
  assignments: [],
  requests: [],
  pageRules: [],
  killSwitches: [],
});

/** A pull that carries no change: what the server answers when nothing moved since `cursor`. */
export const unchangedPull = (cursor: string): SyncResponse => ({ cursor, reset: false, ...emptySlice() });

type Entity = { id: string } | { connectionId: string; key: string };
const entityKey = (e: Entity) => ('id' in e ? e.id : `${e.connectionId}\u0000${e.key}`);

function upsert<T extends Entity>(current: T[], incoming: T[]): T[] {
  if (incoming.length === 0) return current;
  const byKey = new Map(current.map((e) => [entityKey(e), e] as const));
  for (const e of incoming) byKey.set(entityKey(e), e);
  return [...byKey.values()];
}

/** Applies a pull to what the client held: a reset replaces, otherwise entities are upserted by id. */
export function applySync(current: Slice | null, pull: SyncResponse): Slice {
  const base = pull.reset || current === null ? emptySlice() : current;
  return {
    me: pull.me ?? base.me,
    people: upsert(base.people, pull.people),
    connections: upsert(base.connections, pull.connections),
    accounts: upsert(base.accounts, pull.accounts),
    catalog: upsert(base.catalog, pull.catalog),
    bundles: upsert(base.bundles, pull.bundles),
    assignments: upsert(base.assignments, pull.assignments),
    requests: upsert(base.requests, pull.requests),
    pageRules: upsert(base.pageRules, pull.pageRules),
    killSwitches: upsert(base.killSwitches, pull.killSwitches),
  };
}

/** The stage a request waits on: the first one not yet concluded (stages run in order). */
export function openStage(request: AccessRequest): AccessRequest['stages'][number] | null {
  return request.stages.find((s) => s.decision === null) ?? null;
}

/** Whether `personId` may decide `request` now: an approver of its open stage who has not yet approved it. */
export function awaitsDecisionBy(request: AccessRequest, personId: string): boolean {
  if (request.requesterId === personId || request.status !== 'pending') return false;
  const stage = openStage(request);
  return !!stage && stage.approverIds.includes(personId) && !stage.approvals.some((a) => a.deciderId === personId);
}

/** Requests waiting for a decision by `personId` (never their own), oldest first. */
export function approverQueue(slice: Slice, personId: string) {
  return slice.requests
    .filter((r) => awaitsDecisionBy(r, personId))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export function myRequests(slice: Slice, personId: string) {
  return slice.requests
    .filter((r) => r.requesterId === personId)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
