/**
 * Reading the findings table for people: filters and search, several stable orders with keyset
 * pagination (so paging through 100,000 findings never skips or repeats one), counts, the CSV export,
 * and the findings of accounts by their CRM user ids.
 */
import {
  FINDINGS_CSV_HEADER,
  type FindingSort,
  type FindingsFilter,
  type FindingsQuery,
  type FindingView,
  type SyncedFinding,
  type TemporaryGrant,
} from '@accesslens/shared';
import type { InValue, Row } from '@libsql/client';
import type { Db } from '../db.ts';
import { ApiFailure } from '../errors.ts';
import { csvRow } from '../console/csv.ts';

const FROM = `FROM findings f
  JOIN people p ON p.id = f.person_id
  JOIN crm_accounts ac ON ac.id = f.account_id`;

const SELECT = `SELECT f.id, f.kind, f.severity, f.severity_rank, f.status, f.reopened, f.connection_id, f.account_id, f.person_id,
    f.keys, f.bundle_ids, f.evidence, f.temporary, f.first_seen_at, f.last_seen_at, f.resolved_at, f.updated_at,
    p.name AS person_name, p.department, p.title, p.status AS person_status, ac.username, ac.external_user_id, c.name AS connection_name,
    fa.reason AS acceptance_reason, fa.accepted_by, ab.name AS accepted_by_name, fa.accepted_at,
    fa.expires_at AS acceptance_expires_at
  ${FROM}
  JOIN crm_connections c ON c.id = f.connection_id
  LEFT JOIN finding_acceptances fa ON fa.finding_id = f.id AND fa.revoked_at IS NULL
  LEFT JOIN people ab ON ab.id = fa.accepted_by`;

/** Ids → names of the people temporary grants name (one read per page). */
async function approverNames(db: Db, rows: Row[]): Promise<Map<string, string>> {
  const ids = new Set<string>();
  for (const r of rows) if (r.temporary !== null) for (const id of (JSON.parse(String(r.temporary)) as TemporaryGrant).approvedBy) ids.add(id);
  if (ids.size === 0) return new Map();
  const list = [...ids];
  const people = await db.execute(`SELECT id, name FROM people WHERE id IN (${list.map(() => '?').join(', ')})`, list);
  return new Map(people.rows.map((p) => [String(p.id), String(p.name)] as const));
}

function viewFromRow(r: Row, now: Date, names: Map<string, string>): FindingView {
  const acceptedAt = r.accepted_at;
  const temporary = r.temporary === null ? null : (JSON.parse(String(r.temporary)) as TemporaryGrant);
  return {
    id: String(r.id),
    kind: String(r.kind) as FindingView['kind'],
    severity: String(r.severity) as FindingView['severity'],
    status: String(r.status) as FindingView['status'],
    reopened: Number(r.reopened) === 1,
    connectionId: String(r.connection_id),
    connectionName: String(r.connection_name),
    accountId: String(r.account_id),
    accountUsername: String(r.username),
    externalUserId: String(r.external_user_id),
    personId: String(r.person_id),
    personName: String(r.person_name),
    department: String(r.department),
    title: String(r.title),
    personStatus: String(r.person_status) as FindingView['personStatus'],
    keys: JSON.parse(String(r.keys)) as string[],
    bundleIds: JSON.parse(String(r.bundle_ids)) as string[],
    evidence: JSON.parse(String(r.evidence)) as Record<string, unknown>,
    acceptance:
      acceptedAt === null || acceptedAt === undefined
        ? null
        : {
            reason: String(r.acceptance_reason),
            acceptedBy: String(r.accepted_by),
            acceptedByName: r.accepted_by_name === null ? null : String(r.accepted_by_name),
            acceptedAt: String(acceptedAt),
            expiresAt: String(r.acceptance_expires_at),
            active: Date.parse(String(r.acceptance_expires_at)) > now.getTime(),
          },
    temporary: temporary && { ...temporary, approvedByNames: temporary.approvedBy.map((id) => names.get(id) ?? id) },
    firstSeenAt: String(r.first_seen_at),
    lastSeenAt: String(r.last_seen_at),
    resolvedAt: r.resolved_at === null ? null : String(r.resolved_at),
    updatedAt: String(r.updated_at),
  };
}

// ---------- filters and orders ----------

/** `%text%` for LIKE, with the wildcards in the text escaped. */
const likeArg = (q: string) => `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

/** WHERE clauses and arguments for the filters (statuses default to open and accepted). */
export function filterClauses(q: FindingsFilter): { where: string[]; args: InValue[] } {
  const where: string[] = [];
  const args: InValue[] = [];
  const statuses = q.status ? [q.status] : ['open', 'accepted'];
  where.push(`f.status IN (${statuses.map(() => '?').join(', ')})`);
  args.push(...statuses);
  if (q.kind) where.push('f.kind = ?'), args.push(q.kind);
  if (q.severity) where.push('f.severity = ?'), args.push(q.severity);
  if (q.connectionId) where.push('f.connection_id = ?'), args.push(q.connectionId);
  if (q.personId) where.push('f.person_id = ?'), args.push(q.personId);
  if (q.department) where.push('p.department = ?'), args.push(q.department);
  if (q.q) {
    const like = likeArg(q.q);
    const cols = ['p.name', 'ac.username', 'p.department', 'p.title', 'f.keys', 'f.kind'];
    where.push(`(${cols.map((c) => `${c} LIKE ? ESCAPE '\\'`).join(' OR ')})`);
    args.push(like, like, like, like, like, like);
  }
  return { where, args };
}

interface Order {
  /** The first sort column and its direction; ties are broken by id (ascending). */
  expr: string;
  desc: boolean;
  /** The cursor value of a row. */
  value: (r: Row) => string | number;
}

const ORDERS: Record<FindingSort, Order> = {
  severity: { expr: 'f.severity_rank', desc: true, value: (r) => Number(r.severity_rank) },
  newest: { expr: 'f.first_seen_at', desc: true, value: (r) => String(r.first_seen_at) },
  person: { expr: 'p.name', desc: false, value: (r) => String(r.person_name) },
  department: { expr: 'p.department', desc: false, value: (r) => String(r.department) },
  kind: { expr: 'f.kind', desc: false, value: (r) => String(r.kind) },
};

/** Opaque page cursor: the sort, the last row's sort value and id. */
function encodeCursor(sort: FindingSort, value: string | number, id: string): string {
  return Buffer.from(JSON.stringify([sort, value, id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: FindingSort): { value: string | number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && v[0] === sort && (typeof v[1] === 'string' || typeof v[1] === 'number') && typeof v[2] === 'string')
      return { value: v[1], id: v[2] };
  } catch {
    // fall through
  }
  throw ApiFailure.of(400, 'invalid_input', 'cursor_invalid', {}, { field: 'cursor' });
}

async function page(db: Db, q: FindingsFilter & { sort: FindingSort; limit: number; cursor?: string | undefined }, now: Date) {
  const { where, args } = filterClauses(q);
  const order = ORDERS[q.sort];
  if (q.cursor) {
    const c = decodeCursor(q.cursor, q.sort);
    where.push(`(${order.expr} ${order.desc ? '<' : '>'} ? OR (${order.expr} = ? AND f.id > ?))`);
    args.push(c.value, c.value, c.id);
  }
  const rows = await db.execute(`${SELECT} WHERE ${where.join(' AND ')} ORDER BY ${order.expr} ${order.desc ? 'DESC' : 'ASC'}, f.id LIMIT ?`, [
    ...args,
    q.limit + 1,
  ]);
  const shown = rows.rows.slice(0, q.limit);
  const names = await approverNames(db, shown);
  const last = shown[shown.length - 1];
  return {
    findings: shown.map((r) => viewFromRow(r, now, names)),
    nextCursor: rows.rows.length > q.limit && last ? encodeCursor(q.sort, order.value(last), String(last.id)) : null,
  };
}

/** Every finding matching the filters is counted; `limit` of them are returned, in the chosen order. */
export async function listFindings(db: Db, q: FindingsQuery, now: Date): Promise<{ findings: FindingView[]; nextCursor: string | null; total: number }> {
  const { where, args } = filterClauses(q);
  const [result, count] = await Promise.all([page(db, q, now), db.execute(`SELECT COUNT(*) AS n ${FROM} WHERE ${where.join(' AND ')}`, args)]);
  return { ...result, total: Number(count.rows[0]!.n) };
}

export async function getFinding(db: Db, id: string, now: Date): Promise<FindingView | null> {
  const rows = await db.execute(`${SELECT} WHERE f.id = ?`, [id]);
  const row = rows.rows[0];
  return row ? viewFromRow(row, now, await approverNames(db, [row])) : null;
}

/** The CSV export: every finding matching the filters, most severe first, read a thousand at a time. */
export async function* findingsCsv(db: Db, filter: FindingsFilter, now: Date): AsyncGenerator<string> {
  yield csvRow(FINDINGS_CSV_HEADER);
  let cursor: string | undefined;
  for (;;) {
    const p = await page(db, { ...filter, sort: 'severity', limit: 1000, ...(cursor ? { cursor } : {}) }, now);
    for (const f of p.findings)
      yield csvRow([
        f.id,
        f.kind,
        f.severity,
        f.status,
        f.personName,
        f.department,
        f.title,
        f.connectionName,
        f.accountUsername,
        f.externalUserId,
        f.keys.join(' '),
        f.bundleIds.join(' '),
        JSON.stringify(f.evidence),
        f.firstSeenAt,
        f.lastSeenAt,
        f.acceptance?.reason ?? '',
        f.acceptance?.expiresAt ?? '',
        f.temporary?.expiresAt ?? '',
      ]);
    if (!p.nextCursor) return;
    cursor = p.nextCursor;
  }
}

// ---------- the synced shape (admins' slices, by-accounts) ----------

export const SYNCED_FINDING_COLUMNS = `f.id, f.kind, f.severity, f.status, f.reopened, f.connection_id, f.account_id, f.person_id, f.keys,
  f.bundle_ids, f.evidence, f.temporary, f.updated_at, ac.external_user_id,
  fa.reason AS acceptance_reason, fa.accepted_by, fa.accepted_at, fa.expires_at AS acceptance_expires_at`;

export const SYNCED_FINDING_FROM = `FROM findings f JOIN crm_accounts ac ON ac.id = f.account_id
  LEFT JOIN finding_acceptances fa ON fa.finding_id = f.id AND fa.revoked_at IS NULL`;

export function syncedFindingFromRow(r: Row): SyncedFinding {
  return {
    id: String(r.id),
    kind: String(r.kind) as SyncedFinding['kind'],
    severity: String(r.severity) as SyncedFinding['severity'],
    status: String(r.status) as SyncedFinding['status'],
    reopened: Number(r.reopened) === 1,
    connectionId: String(r.connection_id),
    accountId: String(r.account_id),
    externalUserId: String(r.external_user_id),
    personId: String(r.person_id),
    keys: JSON.parse(String(r.keys)) as string[],
    bundleIds: JSON.parse(String(r.bundle_ids)) as string[],
    evidence: JSON.parse(String(r.evidence)) as Record<string, unknown>,
    acceptance:
      r.accepted_at === null || r.accepted_at === undefined
        ? null
        : {
            reason: String(r.acceptance_reason),
            acceptedBy: String(r.accepted_by),
            acceptedAt: String(r.accepted_at),
            expiresAt: String(r.acceptance_expires_at),
          },
    temporary: r.temporary === null ? null : (JSON.parse(String(r.temporary)) as TemporaryGrant),
    updatedAt: String(r.updated_at),
  };
}
