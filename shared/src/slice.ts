import type { AccessRequest, SyncResponse } from './schemas.ts';

/** The part of the directory a signed-in person holds locally: what sync has sent them. */
export type Slice = Omit<SyncResponse, 'cursor' | 'reset' | 'me'> & { me: NonNullable<SyncResponse['me']> | null };

/** Every list of entities a slice holds: sync upserts each by id. (One list, so none is ever forgotten.) */
export const SLICE_LISTS = [
  'people',
  'connections',
  'accounts',
  'catalog',
  'bundles',
  'assignments',
  'requests',
  'pageRules',
  'killSwitches',
  'findings',
] as const satisfies readonly Exclude<keyof Slice, 'me'>[];
type SliceList = (typeof SLICE_LISTS)[number];
// A list added to the sync response but not to SLICE_LISTS fails to compile here, naming it.
type Forgotten = Exclude<Exclude<keyof Slice, 'me'>, SliceList>;
export const NO_SLICE_LIST_FORGOTTEN: [Forgotten] extends [never] ? true : Forgotten = true;

export const emptySlice = (): Slice => ({ me: null, ...Object.fromEntries(SLICE_LISTS.map((k) => [k, []])) }) as Slice;

/** Whether a pull changes anything a client holds. */
export function pullChangesSlice(pull: SyncResponse): boolean {
  return pull.reset || pull.me !== null || SLICE_LISTS.some((k) => pull[k].length > 0);
}

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
  const next = { ...base, me: pull.me ?? base.me } as Slice;
  // A slice stored by an older version may lack a list: it starts empty.
  for (const k of SLICE_LISTS) (next as Record<SliceList, Entity[]>)[k] = upsert((base[k] ?? []) as Entity[], pull[k] as Entity[]);
  return next;
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
  return slice.requests.filter((r) => awaitsDecisionBy(r, personId)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export function myRequests(slice: Slice, personId: string) {
  return slice.requests.filter((r) => r.requesterId === personId).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
