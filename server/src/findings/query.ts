/** Reading the findings table for people: filters, a stable order and keyset pagination. */
import type { Row } from '@libsql/client';
import type { Db, InArgs } from '../db.ts';
import { ApiFailure } from '../errors.ts';
import type { FindingView, FindingsQuery } from './schemas.ts';

const SELECT = `SELECT f.id, f.kind, f.severity, f.severity_rank, f.status, f.reopened, f.connection_id, f.account_id, f.person_id,
    f.keys, f.bundle_ids, f.evidence, f.first_seen_at, f.last_seen_at, f.resolved_at, f.updated_at,
    p.name AS person_name, p.department, p.title, p.status AS person_status, ac.username, c.name AS connection_name,
    fa.reason AS acceptance_reason, fa.accepted_by, ab.name AS accepted_by_name, fa.accepted_at,
    fa.expires_at AS acceptance_expires_at
  FROM findings f
  JOIN people p ON p.id = f.person_id
  JOIN crm_accounts ac ON ac.id = f.account_id
  JOIN crm_connections c ON c.id = f.connection_id
  LEFT JOIN finding_acceptances fa ON fa.finding_id = f.id AND fa.revoked_at IS NULL
  LEFT JOIN people ab ON ab.id = fa.accepted_by`;

function viewFromRow(r: Row, now: Date): FindingView {
  const acceptedAt = r.accepted_at;
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
    firstSeenAt: String(r.first_seen_at),
    lastSeenAt: String(r.last_seen_at),
    resolvedAt: r.resolved_at === null ? null : String(r.resolved_at),
    updatedAt: String(r.updated_at),
  };
}

/** Opaque page cursor: the last row's severity rank and id. */
function encodeCursor(rank: number, id: string): string {
  return Buffer.from(JSON.stringify([rank, id])).toString('base64url');
}

function decodeCursor(cursor: string): { rank: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && v[0] >= 0 && v[0] <= 3 && typeof v[1] === 'string')
      return { rank: v[0] as number, id: v[1] };
  } catch {
    // fall through
  }
  throw new ApiFailure(400, 'invalid_input', 'cursor: is not a cursor this server issued', 'cursor');
}

/** Severity (critical first), then id: a stable order, so pages neither skip nor repeat rows. */
export async function listFindings(db: Db, q: FindingsQuery, now: Date): Promise<{ findings: FindingView[]; nextCursor: string | null }> {
  const where: string[] = [];
  const args: InArgs = [];
  const statuses = q.status ? [q.status] : ['open', 'accepted'];
  where.push(`f.status IN (${statuses.map(() => '?').join(', ')})`);
  args.push(...statuses);
  if (q.kind) (where.push('f.kind = ?'), args.push(q.kind));
  if (q.severity) (where.push('f.severity = ?'), args.push(q.severity));
  if (q.connectionId) (where.push('f.connection_id = ?'), args.push(q.connectionId));
  if (q.personId) (where.push('f.person_id = ?'), args.push(q.personId));
  if (q.department) (where.push('p.department = ?'), args.push(q.department));
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    where.push('(f.severity_rank < ? OR (f.severity_rank = ? AND f.id > ?))');
    args.push(c.rank, c.rank, c.id);
  }
  const rows = await db.execute(
    `${SELECT} WHERE ${where.join(' AND ')} ORDER BY f.severity_rank DESC, f.id LIMIT ?`,
    [...args, q.limit + 1],
  );
  const page = rows.rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    findings: page.map((r) => viewFromRow(r, now)),
    nextCursor: rows.rows.length > q.limit && last ? encodeCursor(Number(last.severity_rank), String(last.id)) : null,
  };
}

export async function getFinding(db: Db, id: string, now: Date): Promise<FindingView | null> {
  const rows = await db.execute(`${SELECT} WHERE f.id = ?`, [id]);
  return rows.rows[0] ? viewFromRow(rows.rows[0], now) : null;
}
