/**
 * Directory events: durable rows (table `directory_events`, migration 0003) recording departures and
 * moves, written in the same transaction as the change, for the revocation planner to consume.
 */
import type { PersonStatus } from '@accesslens/shared';
import type { Transaction } from '../db.ts';

export const DIRECTORY_EVENT_KINDS = ['deactivated', 'departed', 'moved'] as const;
export type DirectoryEventKind = (typeof DIRECTORY_EVENT_KINDS)[number];
export type DirectorySource = 'api' | 'csv' | 'scim' | 'cli';

/** What the revocation rules look at, before and after a change. */
export interface PlacementSnapshot {
  status: PersonStatus;
  department: string;
  title: string;
  managerId: string | null;
}

const snapshot = (p: PlacementSnapshot): PlacementSnapshot => ({ status: p.status, department: p.department, title: p.title, managerId: p.managerId });

/**
 * The event a change makes, if any: `departed` when the status becomes departed; `deactivated` when it
 * goes from active to suspended; otherwise `moved` when department, title or manager changed.
 */
export function directoryEventOf(
  before: PlacementSnapshot,
  after: PlacementSnapshot,
): { kind: DirectoryEventKind; before: PlacementSnapshot; after: PlacementSnapshot } | null {
  let kind: DirectoryEventKind | null = null;
  if (after.status === 'departed' && before.status !== 'departed') kind = 'departed';
  else if (after.status === 'suspended' && before.status === 'active') kind = 'deactivated';
  else if (after.department !== before.department || after.title !== before.title || after.managerId !== before.managerId) kind = 'moved';
  return kind ? { kind, before: snapshot(before), after: snapshot(after) } : null;
}

export async function insertDirectoryEvents(
  tx: Transaction,
  events: readonly { personId: string; kind: DirectoryEventKind; before: unknown; after: unknown }[],
  source: { via: DirectorySource; actorId: string | null },
  atIso: string,
): Promise<void> {
  const ROWS = 400;
  for (let i = 0; i < events.length; i += ROWS) {
    const part = events.slice(i, i + ROWS);
    await tx.execute({
      sql: `INSERT INTO directory_events (person_id, kind, before, after, source, actor_id, at, processed_at)
            VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, NULL)').join(', ')}`,
      args: part.flatMap((e) => [e.personId, e.kind, JSON.stringify(e.before), JSON.stringify(e.after), source.via, source.actorId, atIso]),
    });
  }
}
