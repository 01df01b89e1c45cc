/**
 * The people CSV import (`POST /api/admin/people/import`, `pnpm accesslens import people`): all or
 * nothing. Every problem in the file — syntax, a bad value, a duplicate email, an unknown manager, a
 * manager cycle — is reported with its line and column, and then nothing is applied. Rows upsert by
 * email; managers resolve within the file first, then the directory.
 */
import { PEOPLE_CSV_HEADER, PROBLEMS_SHOWN_MAX, type ImportProblem, type PeopleImportResponse } from '@accesslens/shared';
import { createHash } from 'node:crypto';
import type { Db } from '../db.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Notifier } from '../notifier.ts';
import { runWrite } from '../write.ts';
import { parsePeopleCsv, type CsvPersonRow } from './people-csv.ts';
import { newPersonId, readAllPersonRecords, writePeople, type ChangeSource, type PersonChange, type PersonRecord } from './people.ts';

export interface ImportOptions {
  dryRun: boolean;
  source: ChangeSource;
  now: Date;
  /** The server process's findings engine: findings follow the import in its transaction. */
  findings?: FindingsService;
  notifier?: Notifier;
  /** How many problems to return (default PROBLEMS_SHOWN_MAX; the CLI shows every one). */
  maxProblems?: number;
}

const COLUMN_ORDER = new Map<string, number>(PEOPLE_CSV_HEADER.map((c, i) => [c, i]));
const byLineThenColumn = (a: ImportProblem, b: ImportProblem) => a.line - b.line || (COLUMN_ORDER.get(a.field) ?? -1) - (COLUMN_ORDER.get(b.field) ?? -1);

function failed(problems: ImportProblem[], dryRun: boolean, max = PROBLEMS_SHOWN_MAX): PeopleImportResponse {
  problems.sort(byLineThenColumn);
  return { ok: false, dryRun, problemCount: problems.length, problems: problems.slice(0, max) };
}

/** Every problem the directory finds with the file's rows: unknown managers, manager cycles, no admin left. */
function directoryProblems(
  rows: CsvPersonRow[],
  fileEmails: Set<string>,
  existing: PersonRecord[],
  byEmail: Map<string, PersonRecord>,
  idOf: Map<string, string>,
): { problems: ImportProblem[]; managerOf: Map<string, string | null> } {
  const problems: ImportProblem[] = [];
  // Everyone as a number: the directory's people, then the file's new ones. 100,000 rows make
  // plain maps of ids the slow part.
  const index = new Map<string, number>();
  const ids: string[] = [];
  const emails: string[] = [];
  for (const p of existing) {
    index.set(p.id, ids.length);
    ids.push(p.id);
    emails.push(p.email);
  }
  for (const [email, id] of idOf)
    if (!index.has(id)) {
      index.set(id, ids.length);
      ids.push(id);
      emails.push(email);
    }
  const n = ids.length;
  // The manager of every person once the file applies: the directory's, overlaid by the file's.
  const manager = new Int32Array(n).fill(-1);
  for (const p of existing) if (p.managerId !== null) manager[index.get(p.id)!] = index.get(p.managerId) ?? -1;
  const rowAt: (CsvPersonRow | undefined)[] = new Array(n);
  const managerOf = new Map<string, string | null>();
  for (const r of rows) {
    const id = idOf.get(r.email)!;
    const i = index.get(id)!;
    rowAt[i] = r;
    let managerId: string | null = null;
    if (r.managerEmail !== null) {
      const m = idOf.get(r.managerEmail) ?? byEmail.get(r.managerEmail)?.id;
      if (m === undefined && !fileEmails.has(r.managerEmail))
        problems.push({ line: r.line, field: 'manager_email', message: `no person has the email ${r.managerEmail}, in the file or the directory` });
      managerId = m ?? null;
    }
    manager[i] = managerId === null ? -1 : index.get(managerId)!;
    managerOf.set(id, managerId);
  }

  // Manager cycles through the file's rows: walk up from each, colouring (1 on the path, 2 done).
  const state = new Uint8Array(n);
  const path: number[] = [];
  for (const r of rows) {
    path.length = 0;
    let node = index.get(idOf.get(r.email)!)!;
    while (node >= 0 && state[node] === 0) {
      state[node] = 1;
      path.push(node);
      node = manager[node]!;
    }
    if (node >= 0 && state[node] === 1) {
      const cycle = path.slice(path.indexOf(node));
      const shown = [...cycle, node].map((i) => emails[i]).join(' → ');
      for (const i of cycle) {
        const row = rowAt[i];
        if (row) problems.push({ line: row.line, field: 'manager_email', message: `makes a manager cycle: ${shown}` });
      }
    }
    for (const i of path) state[i] = 2;
  }

  // An import must not leave AccessLens without an active administrator.
  const admins = existing.filter((p) => p.status === 'active' && p.roles.includes('admin'));
  if (admins.length > 0) {
    const leaving = admins.filter((p) => {
      const row = rowAt[index.get(p.id)!];
      return row !== undefined && row.status !== 'active';
    });
    if (leaving.length === admins.length)
      for (const p of leaving)
        problems.push({ line: rowAt[index.get(p.id)!]!.line, field: 'status', message: 'would leave AccessLens without an active administrator' });
  }
  return { problems, managerOf };
}

export async function importPeopleCsv(db: Db, bytes: Uint8Array, options: ImportOptions): Promise<PeopleImportResponse> {
  const { dryRun, source, now } = options;
  const parsed = parsePeopleCsv(bytes);
  const problems = [...parsed.problems];
  // A file that is not a people CSV at all has nothing more to check.
  if (problems.some((p) => p.field === '(file)' || p.field === '(header)')) return failed(problems, dryRun, options.maxProblems);

  return runWrite(
    db,
    now,
    async (w) => {
      if (db.isFile) await w.tx.execute('PRAGMA cache_size = -131072');
      const existing = await readAllPersonRecords(w.tx);
      const byEmail = new Map(existing.map((p) => [p.email, p]));
      const idOf = new Map<string, string>();
      for (const r of parsed.rows) idOf.set(r.email, byEmail.get(r.email)?.id ?? newPersonId());
      const found = directoryProblems(parsed.rows, parsed.fileEmails, existing, byEmail, idOf);
      problems.push(...found.problems);
      if (problems.length > 0) return failed(problems, dryRun, options.maxProblems);

      const changes: PersonChange[] = parsed.rows.map((r) => {
        const before = byEmail.get(r.email) ?? null;
        const id = idOf.get(r.email)!;
        return {
          before,
          after: {
            id,
            email: r.email,
            name: r.name,
            department: r.department,
            title: r.title,
            managerId: found.managerOf.get(id) ?? null,
            hireDate: r.hireDate,
            status: r.status,
            roles: before?.roles ?? ['requester'],
            trainings: r.trainings,
            scimUserName: before?.scimUserName ?? null,
            externalId: before?.externalId ?? null,
          },
        };
      });
      const summary = await writePeople(w, changes, source, { dryRun });
      const counts = {
        rows: parsed.rows.length,
        created: summary.created,
        updated: summary.updated,
        unchanged: summary.unchanged,
        ...summary.events,
      };
      if (!dryRun) {
        await w.audit({
          actorId: source.actorId,
          action: 'people.imported',
          subjectType: 'directory',
          subjectId: null,
          data: { via: source.via, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, ...counts },
        });
        if (summary.changedIds.length > 0) options.findings?.track(w);
      }
      return { ok: true as const, dryRun, counts };
    },
    options.notifier,
  );
}
