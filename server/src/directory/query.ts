/** Reads of the directory for the admin API: people (paged, searched), one person in full. */
import type { AdminPeopleQuery, AdminPeopleResponse, AdminPerson, AdminPersonDetail } from '@accesslens/shared';
import type { Row } from '@libsql/client';
import { ApiFailure } from '../errors.ts';
import { PERSON_REF_COLUMNS, personRefFromRow } from '../model.ts';
import { readBatch, type Source } from '../policy/load.ts';
import { PERSON_RECORD_COLUMNS, personRecordFromRow, type PersonRecord } from './people.ts';

export const ADMIN_PERSON_COLUMNS = 'p.id, p.email, p.name, p.department, p.title, p.manager_id, p.hire_date, p.status, p.trainings';

export function adminPersonFromRow(r: Row): AdminPerson {
  return {
    id: String(r.id),
    email: String(r.email),
    name: String(r.name),
    department: String(r.department),
    title: String(r.title),
    managerId: r.manager_id === null ? null : String(r.manager_id),
    hireDate: r.hire_date === null ? null : String(r.hire_date),
    status: String(r.status) as AdminPerson['status'],
    trainings: JSON.parse(String(r.trainings)) as string[],
  };
}

const encodeCursor = (email: string) => Buffer.from(JSON.stringify({ after: email })).toString('base64url');
function decodeCursor(cursor: string): string {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof v.after === 'string') return v.after;
  } catch {
    // fall through
  }
  throw ApiFailure.of(400, 'invalid_input', 'cursor_invalid', {}, { field: 'cursor' });
}

const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

/** People matching the filters, in email order, one page after the cursor; `total` counts every match. */
export async function listPeople(source: Source, query: AdminPeopleQuery): Promise<AdminPeopleResponse> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (query.q) {
    where.push("(p.name LIKE ? ESCAPE '\\' OR p.email LIKE ? ESCAPE '\\' OR p.department LIKE ? ESCAPE '\\' OR p.title LIKE ? ESCAPE '\\')");
    const pattern = likePattern(query.q);
    args.push(pattern, pattern, pattern, pattern);
  }
  if (query.status) {
    where.push('p.status = ?');
    args.push(query.status);
  }
  if (query.department !== undefined) {
    where.push('p.department = ?');
    args.push(query.department);
  }
  if (query.managerId) {
    where.push('p.manager_id = ?');
    args.push(query.managerId);
  }
  if (query.role) {
    where.push('EXISTS (SELECT 1 FROM json_each(p.roles) WHERE value = ?)');
    args.push(query.role);
  }
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const pageWhere = after === null ? filter : `${filter ? `${filter} AND` : 'WHERE'} p.email > ?`;
  const [page, count] = await readBatch(source, [
    {
      sql: `SELECT ${ADMIN_PERSON_COLUMNS} FROM people p ${pageWhere} ORDER BY p.email LIMIT ?`,
      args: [...args, ...(after === null ? [] : [after]), query.limit + 1],
    },
    { sql: `SELECT COUNT(*) AS n FROM people p ${filter}`, args },
  ]);
  const rows = page!.rows.slice(0, query.limit).map(adminPersonFromRow);
  const more = page!.rows.length > query.limit;
  return { people: rows, nextCursor: more ? encodeCursor(rows[rows.length - 1]!.email) : null, total: Number(count!.rows[0]!.n) };
}

export function toAdminPerson(p: PersonRecord): AdminPerson {
  return {
    id: p.id,
    email: p.email,
    name: p.name,
    department: p.department,
    title: p.title,
    managerId: p.managerId,
    hireDate: p.hireDate,
    status: p.status,
    trainings: p.trainings,
  };
}

/** One person in full, or null. */
export async function readPersonDetail(source: Source, id: string): Promise<AdminPersonDetail | null> {
  const [person, manager, completions] = await readBatch(source, [
    { sql: `SELECT ${PERSON_RECORD_COLUMNS} FROM people p WHERE p.id = ?`, args: [id] },
    { sql: `SELECT ${PERSON_REF_COLUMNS} FROM people p WHERE p.id = (SELECT manager_id FROM people WHERE id = ?)`, args: [id] },
    { sql: 'SELECT training_id, completed_on FROM training_completions WHERE person_id = ? ORDER BY training_id', args: [id] },
  ]);
  const row = person!.rows[0];
  if (!row) return null;
  const p = personRecordFromRow(row);
  const dates = new Map(completions!.rows.map((r) => [String(r.training_id), String(r.completed_on)]));
  return {
    ...toAdminPerson(p),
    roles: p.roles,
    manager: manager!.rows[0] ? personRefFromRow(manager!.rows[0]) : null,
    // In the person's own order; a completion recorded before dates were kept has none stored.
    trainingCompletions: p.trainings.map((t) => ({ trainingId: t, completedOn: dates.get(t) ?? p.updatedAt?.slice(0, 10) ?? '1970-01-01' })),
    scimUserName: p.scimUserName,
    externalId: p.externalId,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}
