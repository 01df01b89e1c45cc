/** Reading the audit log for people: filters, search, newest first, and exports. */
import { AUDIT_CSV_HEADER, type AuditEventView, type AuditFilter, type AuditQuery } from '@accesslens/shared';
import type { InValue, Row } from '@libsql/client';
import type { Db } from '../db.ts';
import { csvRow } from './csv.ts';

const likeArg = (q: string) => `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

function clauses(f: AuditFilter): { where: string[]; args: InValue[] } {
  const where: string[] = [];
  const args: InValue[] = [];
  if (f.action) {
    if (f.action.endsWith('.')) where.push("e.action LIKE ? ESCAPE '\\'"), args.push(`${f.action.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
    else where.push('e.action = ?'), args.push(f.action);
  }
  if (f.actorId) where.push('e.actor_id = ?'), args.push(f.actorId);
  if (f.subjectType) where.push('e.subject_type = ?'), args.push(f.subjectType);
  if (f.subjectId) where.push('e.subject_id = ?'), args.push(f.subjectId);
  if (f.from) where.push('e.at >= ?'), args.push(new Date(f.from).toISOString());
  if (f.to) where.push('e.at < ?'), args.push(new Date(f.to).toISOString());
  if (f.q) {
    const like = likeArg(f.q);
    where.push("(e.data LIKE ? ESCAPE '\\' OR e.subject_id LIKE ? ESCAPE '\\' OR e.action LIKE ? ESCAPE '\\' OR a.name LIKE ? ESCAPE '\\')");
    args.push(like, like, like, like);
  }
  return { where: where.length ? where : ['1 = 1'], args };
}

const SELECT = `SELECT e.seq, e.at, e.actor_id, a.name AS actor_name, e.action, e.subject_type, e.subject_id, e.data, e.prev_hash, e.hash
  FROM audit_events e LEFT JOIN people a ON a.id = e.actor_id`;

function viewOf(r: Row): AuditEventView {
  return {
    seq: Number(r.seq),
    at: String(r.at),
    actorId: r.actor_id === null ? null : String(r.actor_id),
    actorName: r.actor_name === null ? null : String(r.actor_name),
    action: String(r.action),
    subjectType: String(r.subject_type),
    subjectId: r.subject_id === null ? null : String(r.subject_id),
    data: JSON.parse(String(r.data)) as Record<string, unknown>,
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

export async function listAudit(db: Db, q: AuditQuery): Promise<{ events: AuditEventView[]; nextBefore: number | null; total: number }> {
  const { where, args } = clauses(q);
  const pageWhere = q.before ? [...where, 'e.seq < ?'] : where;
  const pageArgs = q.before ? [...args, q.before] : args;
  const [rows, count] = await db.readBatch([
    { sql: `${SELECT} WHERE ${pageWhere.join(' AND ')} ORDER BY e.seq DESC LIMIT ?`, args: [...pageArgs, q.limit + 1] },
    { sql: `SELECT COUNT(*) AS n FROM audit_events e LEFT JOIN people a ON a.id = e.actor_id WHERE ${where.join(' AND ')}`, args },
  ]);
  const shown = rows!.rows.slice(0, q.limit);
  return {
    events: shown.map(viewOf),
    nextBefore: rows!.rows.length > q.limit && shown.length > 0 ? Number(shown[shown.length - 1]!.seq) : null,
    total: Number(count!.rows[0]!.n),
  };
}

/** Every matching event in chain order (oldest first), a thousand at a time. */
async function* events(db: Db, f: AuditFilter): AsyncGenerator<AuditEventView> {
  const { where, args } = clauses(f);
  let after = 0;
  for (;;) {
    const rows = await db.execute(`${SELECT} WHERE ${[...where, 'e.seq > ?'].join(' AND ')} ORDER BY e.seq LIMIT 1000`, [...args, after]);
    for (const r of rows.rows) yield viewOf(r);
    if (rows.rows.length < 1000) return;
    after = Number(rows.rows[rows.rows.length - 1]!.seq);
  }
}

export async function* auditCsv(db: Db, f: AuditFilter): AsyncGenerator<string> {
  yield csvRow(AUDIT_CSV_HEADER);
  for await (const e of events(db, f))
    yield csvRow([e.seq, e.at, e.actorId, e.actorName, e.action, e.subjectType, e.subjectId, JSON.stringify(e.data), e.prevHash, e.hash]);
}

/** A JSON array of events, written as it is read (the hashes let an auditor check the chain themselves). */
export async function* auditJson(db: Db, f: AuditFilter): AsyncGenerator<string> {
  yield '[';
  let first = true;
  for await (const e of events(db, f)) {
    yield `${first ? '' : ','}\n${JSON.stringify(e)}`;
    first = false;
  }
  yield '\n]\n';
}

/** A streamed download of text chunks. */
export function streamed(chunks: AsyncGenerator<string>, prefix = ''): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (prefix) controller.enqueue(encoder.encode(prefix));
    },
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
