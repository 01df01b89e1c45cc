/**
 * Writing people: the one path the admin API, the CSV import, SCIM and the CLI all take, so each change
 * is versioned for sync, audited, recorded as a directory event when it is a departure or a move, and
 * resets the slices it changes — the same way whoever makes it.
 */
import type { PersonRole, PersonStatus } from '@accesslens/shared';
import type { Row } from '@libsql/client';
import type { AuditInput } from '../audit.ts';
import type { Transaction } from '../db.ts';
import { insertRows } from '../db-bulk.ts';
import type { WriteContext } from '../write.ts';
import { signalWork } from '../connectors/signal.ts';
import { directoryEventOf, insertDirectoryEvents, type DirectoryEventKind, type DirectorySource } from './events.ts';

/** A person as stored, with what only the directory needs. */
export interface PersonRecord {
  id: string;
  email: string;
  name: string;
  department: string;
  title: string;
  managerId: string | null;
  hireDate: string | null;
  status: PersonStatus;
  roles: PersonRole[];
  trainings: string[];
  scimUserName: string | null;
  externalId: string | null;
  sliceVersion: number;
  createdAt: string | null;
  updatedAt: string | null;
}

/** What a writer wants a person to be. */
export type PersonDraft = Omit<PersonRecord, 'sliceVersion' | 'createdAt' | 'updatedAt'>;

export interface PersonChange {
  before: PersonRecord | null;
  after: PersonDraft;
  /** Completion dates (YYYY-MM-DD) for trainings this change adds or re-dates; others added are dated today. */
  completedOn?: Record<string, string>;
}

export interface ChangeSource {
  via: DirectorySource;
  /** The person making the change; null for an identity provider or the CLI. */
  actorId: string | null;
  /** The SCIM token's name, for changes an identity provider pushed. */
  provider?: string;
}

export interface WriteSummary {
  created: number;
  updated: number;
  unchanged: number;
  events: Record<DirectoryEventKind, number>;
  /** Ids of people created or changed. */
  changedIds: string[];
}

export const PERSON_RECORD_COLUMNS = `p.id, p.email, p.name, p.department, p.title, p.manager_id, p.hire_date, p.status, p.roles,
  p.trainings, p.scim_user_name, p.external_id, p.slice_version, p.created_at, p.updated_at`;

const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function personRecordFromRow(r: Row): PersonRecord {
  return {
    id: String(r.id),
    email: String(r.email),
    name: String(r.name),
    department: String(r.department),
    title: String(r.title),
    managerId: strOrNull(r.manager_id),
    hireDate: strOrNull(r.hire_date),
    status: String(r.status) as PersonStatus,
    roles: JSON.parse(String(r.roles)) as PersonRole[],
    trainings: JSON.parse(String(r.trainings)) as string[],
    scimUserName: strOrNull(r.scim_user_name),
    externalId: strOrNull(r.external_id),
    sliceVersion: Number(r.slice_version),
    createdAt: strOrNull(r.created_at),
    updatedAt: strOrNull(r.updated_at),
  };
}

/**
 * Every person, for bulk work (the CSV import). SQLite builds each page as one JSON array: parsing one
 * string is far cheaper than a driver row object per person.
 */
export async function readAllPersonRecords(tx: Transaction, pageSize = 20_000): Promise<PersonRecord[]> {
  const PAGE = pageSize;
  const out: PersonRecord[] = [];
  let after = -1;
  for (;;) {
    const r = await tx.execute({
      sql: `SELECT json_group_array(json_array(p.id, p.email, p.name, p.department, p.title, p.manager_id, p.hire_date, p.status,
                json(p.roles), json(p.trainings), p.scim_user_name, p.external_id, p.slice_version, p.created_at, p.updated_at)) AS page,
              MAX(p.rid) AS last, COUNT(*) AS n
            FROM (SELECT rowid AS rid, * FROM people WHERE rowid > ? ORDER BY rowid LIMIT ?) p`,
      args: [after, PAGE],
    });
    const row = r.rows[0]!;
    const n = Number(row.n);
    if (n === 0) break;
    type Tuple = [
      string,
      string,
      string,
      string,
      string,
      string | null,
      string | null,
      PersonStatus,
      PersonRole[],
      string[],
      string | null,
      string | null,
      number,
      string | null,
      string | null,
    ];
    for (const t of JSON.parse(String(row.page)) as Tuple[])
      out.push({
        id: t[0],
        email: t[1],
        name: t[2],
        department: t[3],
        title: t[4],
        managerId: t[5],
        hireDate: t[6],
        status: t[7],
        roles: t[8],
        trainings: t[9],
        scimUserName: t[10],
        externalId: t[11],
        sliceVersion: t[12],
        createdAt: t[13],
        updatedAt: t[14],
      });
    if (n < PAGE) break;
    after = Number(row.last);
  }
  return out;
}

export async function readPersonRecord(tx: Transaction, id: string): Promise<PersonRecord | null> {
  const r = await tx.execute({ sql: `SELECT ${PERSON_RECORD_COLUMNS} FROM people p WHERE p.id = ?`, args: [id] });
  return r.rows[0] ? personRecordFromRow(r.rows[0]) : null;
}

let lastMs = 0;
let inMs = 0;
/**
 * A new person's id: `p-` + time (ms, base 36) + a counter within the millisecond + 48 random bits.
 * Ids made one after another sort one after another, so a bulk import appends to the people indexes
 * instead of scattering into them (about 40 % less work for 100,000 new people than random UUIDs).
 */
export function newPersonId(): string {
  const now = Date.now();
  inMs = now === lastMs ? inMs + 1 : 0;
  lastMs = now;
  // randomUUID draws from a buffered pool: far cheaper per call than getRandomValues.
  const uuid = crypto.randomUUID();
  const random = uuid.slice(0, 8) + uuid.slice(9, 13);
  return `p-${now.toString(36).padStart(9, '0')}${inMs.toString(36).padStart(4, '0')}${random}`;
}

export const draftOf = (p: PersonRecord): PersonDraft => ({
  id: p.id,
  email: p.email,
  name: p.name,
  department: p.department,
  title: p.title,
  managerId: p.managerId,
  hireDate: p.hireDate,
  status: p.status,
  roles: [...p.roles],
  trainings: [...p.trainings],
  scimUserName: p.scimUserName,
  externalId: p.externalId,
});

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

const FIELDS = ['email', 'name', 'department', 'title', 'managerId', 'hireDate', 'status', 'roles', 'trainings', 'scimUserName', 'externalId'] as const;
type Field = (typeof FIELDS)[number];

/** The fields that differ, with their old and new values. */
export function changedFields(before: PersonRecord, after: PersonDraft): Partial<Record<Field, { from: unknown; to: unknown }>> {
  const out: Partial<Record<Field, { from: unknown; to: unknown }>> = {};
  for (const f of FIELDS) {
    const a = before[f];
    const b = after[f];
    const same = Array.isArray(a) && Array.isArray(b) ? sameSet(a, b) : a === b;
    if (!same) out[f] = { from: a, to: b };
  }
  return out;
}

/** The completion dates a change sets that differ from what is stored. */
function redatedTrainings(change: PersonChange, stored: Map<string, string> | undefined): string[] {
  if (!change.completedOn) return [];
  return Object.entries(change.completedOn)
    .filter(([t, d]) => change.after.trainings.includes(t) && stored?.get(t) !== d)
    .map(([t]) => t);
}

const CHUNK = 400;
function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Writes people inside `w`'s transaction (with `dryRun`, only counts what it would write). Unchanged
 * drafts write nothing. The caller has checked what
 * needs the directory: unique emails and userNames, managers that exist, no manager cycles.
 * Tracking findings and poking clients is the caller's (`findings.track(w)`, runWrite's notifier);
 * `w.affected` gets everyone whose slice changed.
 */
export async function writePeople(
  w: WriteContext,
  changes: readonly PersonChange[],
  source: ChangeSource,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<WriteSummary> {
  const summary: WriteSummary = { created: 0, updated: 0, unchanged: 0, events: { deactivated: 0, departed: 0, moved: 0 }, changedIds: [] };
  const tx = w.tx;

  // Stored completion dates, only needed where a change gives dates.
  const dated = changes.filter((c) => c.before && c.completedOn && Object.keys(c.completedOn).length > 0);
  const storedDates = new Map<string, Map<string, string>>();
  for (const part of chunks(dated.map((c) => c.before!.id))) {
    const r = await tx.execute({
      sql: `SELECT person_id, training_id, completed_on FROM training_completions WHERE person_id IN (${part.map(() => '?').join(', ')})`,
      args: part,
    });
    for (const row of r.rows) {
      const pid = String(row.person_id);
      if (!storedDates.has(pid)) storedDates.set(pid, new Map());
      storedDates.get(pid)!.set(String(row.training_id), String(row.completed_on));
    }
  }

  interface Planned extends PersonChange {
    fields: ReturnType<typeof changedFields> | null;
    redated: string[];
  }
  const planned: Planned[] = [];
  for (const c of changes) {
    if (!c.before) {
      planned.push({ ...c, fields: null, redated: [] });
      continue;
    }
    const fields = changedFields(c.before, c.after);
    const redated = redatedTrainings(c, storedDates.get(c.before.id));
    if (Object.keys(fields).length === 0 && redated.length === 0) summary.unchanged++;
    else planned.push({ ...c, fields, redated });
  }
  if (dryRun) {
    for (const c of planned) {
      summary[c.before ? 'updated' : 'created']++;
      summary.changedIds.push(c.after.id);
      const ev = c.before ? directoryEventOf(c.before, c.after) : null;
      if (ev) summary.events[ev.kind]++;
    }
    return summary;
  }
  if (planned.length === 0) return summary;

  const version = await w.version();
  const nowIso = w.nowIso;
  const today = nowIso.slice(0, 10);
  const sliceBumps = new Set<string>();
  const audits: AuditInput[] = [];
  const events: { personId: string; kind: DirectoryEventKind; before: unknown; after: unknown }[] = [];
  const signedOut: string[] = [];
  const completionsUpsert: [string, string, string][] = [];
  const completionsDelete: [string, string][] = [];
  const trainingIds = new Set<string>();
  const origin = { via: source.via, ...(source.provider ? { provider: source.provider } : {}) };

  const peopleRows: (string | number | null)[][] = [];
  for (const c of planned) {
    const a = c.after;
    const b = c.before;
    let sliceVersion = b?.sliceVersion ?? 0;
    if (b) {
      const f = c.fields!;
      // A new manager changes who the person (and their old and new manager) see: their cursors reset.
      if (f.managerId) {
        sliceVersion = version;
        for (const m of [b.managerId, a.managerId]) if (m) sliceBumps.add(m);
      }
      if (f.roles) sliceVersion = version;
      const ev = directoryEventOf(b, a);
      if (ev) {
        events.push({ personId: a.id, ...ev });
        summary.events[ev.kind]++;
      }
      if (b.status === 'active' && a.status !== 'active') signedOut.push(a.id);
      if (Object.keys(f).length > 0)
        audits.push({
          actorId: source.actorId,
          action: 'person.updated',
          subjectType: 'person',
          subjectId: a.id,
          data: { ...origin, email: a.email, changes: f },
        });
      summary.updated++;
    } else {
      audits.push({
        actorId: source.actorId,
        action: 'person.created',
        subjectType: 'person',
        subjectId: a.id,
        data: {
          ...origin,
          email: a.email,
          name: a.name,
          department: a.department,
          title: a.title,
          managerId: a.managerId,
          hireDate: a.hireDate,
          status: a.status,
          roles: a.roles,
          trainings: a.trainings,
          ...(a.externalId ? { externalId: a.externalId } : {}),
          ...(a.scimUserName ? { scimUserName: a.scimUserName } : {}),
        },
      });
      summary.created++;
    }
    summary.changedIds.push(a.id);
    w.affected.add(a.id);

    // Completions follow the list; dates given by the change win.
    const had = new Set(b?.trainings ?? []);
    for (const t of a.trainings) {
      if (!had.has(t) || c.redated.includes(t)) {
        completionsUpsert.push([a.id, t, c.completedOn?.[t] ?? today]);
        trainingIds.add(t);
      }
    }
    for (const t of had) if (!a.trainings.includes(t)) completionsDelete.push([a.id, t]);
    if (b && c.redated.length > 0 && !c.fields!.trainings)
      audits.push({
        actorId: source.actorId,
        action: 'training.completion_dated',
        subjectType: 'person',
        subjectId: a.id,
        data: { ...origin, completedOn: Object.fromEntries(c.redated.map((t) => [t, c.completedOn![t]])) },
      });

    peopleRows.push([
      a.id,
      a.email,
      a.name,
      a.department,
      a.title,
      a.managerId,
      a.status,
      JSON.stringify(a.roles),
      a.hireDate,
      JSON.stringify(a.trainings),
      a.scimUserName,
      a.externalId,
      sliceVersion,
      b?.createdAt ?? nowIso,
      nowIso,
      version,
    ]);
  }

  // Trainings first seen here exist from now on (titled by their id until an admin names them).
  for (const part of chunks([...trainingIds]))
    await tx.execute({
      sql: `INSERT OR IGNORE INTO trainings (id, title, created_at) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}`,
      args: part.flatMap((t) => [t, t, nowIso]),
    });
  await insertRows(
    tx,
    'people',
    [
      'id',
      'email',
      'name',
      'department',
      'title',
      'manager_id',
      'status',
      'roles',
      'hire_date',
      'trainings',
      'scim_user_name',
      'external_id',
      'slice_version',
      'created_at',
      'updated_at',
      'version',
    ],
    peopleRows,
    `ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, department = excluded.department,
       title = excluded.title, manager_id = excluded.manager_id, status = excluded.status, roles = excluded.roles,
       hire_date = excluded.hire_date, trainings = excluded.trainings, scim_user_name = excluded.scim_user_name,
       external_id = excluded.external_id, slice_version = excluded.slice_version, updated_at = excluded.updated_at,
       version = excluded.version`,
  );
  for (const part of chunks([...sliceBumps]))
    await tx.execute({
      sql: `UPDATE people SET slice_version = ? WHERE id IN (${part.map(() => '?').join(', ')})`,
      args: [version, ...part],
    });
  for (const id of sliceBumps) w.affected.add(id);
  for (const part of chunks(completionsDelete))
    await tx.execute({
      sql: `DELETE FROM training_completions WHERE (person_id, training_id) IN (VALUES ${part.map(() => '(?, ?)').join(', ')})`,
      args: part.flat(),
    });
  await insertRows(
    tx,
    'training_completions',
    ['person_id', 'training_id', 'completed_on'],
    completionsUpsert,
    'ON CONFLICT (person_id, training_id) DO UPDATE SET completed_on = excluded.completed_on',
  );
  // Whoever is no longer active is signed out everywhere.
  for (const part of chunks(signedOut)) await tx.execute({ sql: `DELETE FROM sessions WHERE person_id IN (${part.map(() => '?').join(', ')})`, args: part });
  await insertDirectoryEvents(tx, events, source, nowIso);
  // The revocation planner (revocations/planner.ts) in this process takes them at once; others at their next poll.
  if (events.length > 0) w.afterCommit(signalWork);
  await w.auditMany(audits);
  return summary;
}

/**
 * Whether making `managerId` the manager of `personId` would close a loop (walking up from the new
 * manager reaches the person). The directory as stored; one person changes.
 */
export async function managerCycle(tx: Transaction, personId: string, managerId: string): Promise<string[] | null> {
  if (personId === managerId) return [personId, personId];
  const r = await tx.execute({
    sql: `WITH RECURSIVE up (id, depth) AS (
            SELECT ?1, 0
            UNION ALL SELECT p.manager_id, up.depth + 1 FROM people p JOIN up ON p.id = up.id
              WHERE p.manager_id IS NOT NULL AND up.id <> ?2 AND up.depth < 10000)
          SELECT id FROM up ORDER BY depth`,
    args: [managerId, personId],
  });
  const chain = r.rows.map((x) => String(x.id));
  return chain.includes(personId) ? [personId, ...chain.slice(0, chain.indexOf(personId) + 1)] : null;
}

/** Active administrators other than `exceptId`. */
export async function otherActiveAdmins(tx: Transaction, exceptId: string): Promise<number> {
  const r = await tx.execute({
    sql: `SELECT COUNT(*) AS n FROM people p WHERE p.id <> ? AND p.status = 'active'
            AND EXISTS (SELECT 1 FROM json_each(p.roles) WHERE value = 'admin')`,
    args: [exceptId],
  });
  return Number(r.rows[0]!.n);
}
