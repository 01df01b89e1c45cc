/** Reads of revocations for the admin API (`GET /api/admin/revocations`): filtered, paged, in due order. */
import {
  FULFILMENT_REASONS,
  REVOCATION_CANCEL_REASONS,
  revocationReasonText,
  type AdminRevocationsQuery,
  type AdminRevocationsResponse,
  type CrmKind,
  type RevocationCause,
  type RevocationMode,
  type RevocationStatus,
  type RevocationView,
} from '@accesslens/shared';
import type { Row } from '@libsql/client';
import { ApiFailure } from '../errors.ts';
import { readBatch, type Source } from '../policy/load.ts';
import type { RevocationContext, RevocationPlan } from './plan.ts';

/** A stored state and due time as the API's status (planned and due differ only by the clock). */
export function statusOf(state: string, dueAt: string, nowIso: string): RevocationStatus {
  switch (state) {
    case 'queued':
      return dueAt > nowIso ? 'planned' : 'due';
    case 'running':
      return 'in-progress';
    default:
      return state as RevocationStatus;
  }
}

/** The SQL condition for one API status, with its arguments (planned and due compare with the clock). */
function statusCondition(status: RevocationStatus, nowIso: string): { sql: string; args: string[] } {
  switch (status) {
    case 'planned':
      return { sql: "r.state = 'queued' AND r.due_at > ?", args: [nowIso] };
    case 'due':
      return { sql: "r.state = 'queued' AND r.due_at <= ?", args: [nowIso] };
    case 'in-progress':
      return { sql: "r.state = 'running'", args: [] };
    default:
      return { sql: 'r.state = ?', args: [status] };
  }
}

const SELECT = `SELECT r.id, r.event_id, r.state, r.mode, r.handling, r.cause, r.context, r.plan, r.due_at, r.time_zone, r.attempts, r.last_error,
    r.reason_code, r.reason, r.task_id, r.created_at, r.updated_at, r.finished_at,
    p.id AS person_id, p.name AS person_name, p.email AS person_email,
    c.id AS connection_id, c.name AS connection_name, c.kind AS connection_kind,
    ac.id AS account_id, ac.username, ac.external_user_id
  FROM revocations r
  JOIN people p ON p.id = r.person_id
  JOIN crm_connections c ON c.id = r.connection_id
  JOIN crm_accounts ac ON ac.id = r.account_id`;

const PROBLEM_CODES = new Set<string>([...FULFILMENT_REASONS, ...REVOCATION_CANCEL_REASONS]);

function viewFromRow(r: Row, nowIso: string): RevocationView {
  const cause = String(r.cause) as RevocationCause;
  const context = JSON.parse(String(r.context)) as RevocationContext;
  const plan = JSON.parse(String(r.plan)) as RevocationPlan;
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const code = text(r.reason_code);
  return {
    id: String(r.id),
    eventId: Number(r.event_id),
    status: statusOf(String(r.state), String(r.due_at), nowIso),
    mode: String(r.mode) as RevocationMode,
    handling: String(r.handling) as RevocationView['handling'],
    reason: {
      cause,
      from: context.from,
      to: context.to,
      baselineIds: context.baselineIds,
      text: { en: revocationReasonText(cause, context.from, context.to, 'en'), 'zh-CN': revocationReasonText(cause, context.from, context.to, 'zh-CN') },
    },
    person: { id: String(r.person_id), name: String(r.person_name), email: String(r.person_email) },
    connection: { id: String(r.connection_id), name: String(r.connection_name), kind: String(r.connection_kind) as CrmKind },
    account: { id: String(r.account_id), username: String(r.username), externalUserId: String(r.external_user_id) },
    assignments: plan.assignments.map((a) => ({
      id: a.id,
      bundleId: a.bundleId,
      bundleName: a.bundleName,
      bundleKind: a.bundleKind,
      key: a.key,
      requestId: a.requestId,
    })),
    deactivateAccount: plan.deactivate,
    dueAt: String(r.due_at),
    timeZone: text(r.time_zone),
    attempts: Number(r.attempts),
    problem: code && PROBLEM_CODES.has(code) ? { code: code as never, message: String(r.reason ?? '') } : null,
    lastError: text(r.last_error),
    taskId: text(r.task_id),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    finishedAt: text(r.finished_at),
  };
}

const encodeCursor = (dueAt: string, id: string) => Buffer.from(JSON.stringify({ dueAt, id })).toString('base64url');
function decodeCursor(cursor: string): { dueAt: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { dueAt?: unknown; id?: unknown };
    if (typeof v.dueAt === 'string' && typeof v.id === 'string') return { dueAt: v.dueAt, id: v.id };
  } catch {
    // fall through
  }
  throw ApiFailure.of(400, 'invalid_input', 'cursor_invalid', {}, { field: 'cursor' });
}

/** Revocations matching the filters, soonest due first, one page after the cursor; `total` counts every match. */
export async function listRevocations(source: Source, query: AdminRevocationsQuery, now: Date): Promise<AdminRevocationsResponse> {
  const nowIso = now.toISOString();
  const where: string[] = [];
  const args: string[] = [];
  if (query.personId) {
    where.push('r.person_id = ?');
    args.push(query.personId);
  }
  if (query.connectionId) {
    where.push('r.connection_id = ?');
    args.push(query.connectionId);
  }
  if (query.status) {
    const c = statusCondition(query.status, nowIso);
    where.push(c.sql);
    args.push(...c.args);
  }
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const page = after ? `${filter ? `${filter} AND` : 'WHERE'} (r.due_at > ? OR (r.due_at = ? AND r.id > ?))` : filter;
  const [rows, count] = await readBatch(source, [
    { sql: `${SELECT} ${page} ORDER BY r.due_at, r.id LIMIT ?`, args: [...args, ...(after ? [after.dueAt, after.dueAt, after.id] : []), query.limit + 1] },
    { sql: `SELECT COUNT(*) AS n FROM revocations r ${filter}`, args },
  ]);
  const list = rows!.rows.slice(0, query.limit).map((r) => viewFromRow(r, nowIso));
  const last = list[list.length - 1];
  return {
    revocations: list,
    nextCursor: rows!.rows.length > query.limit && last ? encodeCursor(last.dueAt, last.id) : null,
    total: Number(count!.rows[0]!.n),
  };
}
