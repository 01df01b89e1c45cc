import { createHash } from 'node:crypto';
import type { Db, Transaction } from './db.ts';
import { insertRows } from './db-bulk.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  actorId: string | null;
  action: string;
  subjectType: string;
  subjectId: string | null;
  data?: Record<string, unknown>;
}

interface AuditEvent extends Required<AuditInput> {
  seq: number;
  at: string;
}

/** JSON with object keys sorted at every level, so the same event always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function hashEvent(prevHash: string, event: AuditEvent): string {
  return hashEventWithData(prevHash, event, canonicalJson(event.data));
}

/**
 * `hashEvent` for an event whose data is already canonical JSON: the same body canonicalJson would
 * give (keys in order: action, actorId, at, data, seq, subjectId, subjectType), without serialising
 * the data twice.
 */
function hashEventWithData(prevHash: string, event: AuditEvent, dataJson: string): string {
  const s = JSON.stringify;
  const body =
    `{"action":${s(event.action)},"actorId":${s(event.actorId)},"at":${s(event.at)},"data":${dataJson},` +
    `"seq":${s(event.seq)},"subjectId":${s(event.subjectId)},"subjectType":${s(event.subjectType)}}`;
  // SHA-256 of the UTF-8 bytes, hex: node's native hash (bulk imports append 100,000 events at once).
  return createHash('sha256')
    .update(prevHash + body, 'utf8')
    .digest('hex');
}

/** The newest event of the chain after an append: what the signed head (audit-checkpoint.ts) records. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** Appends one event inside the caller's write transaction, chained to the last one. */
export async function appendAudit(tx: Transaction, at: Date, input: AuditInput): Promise<ChainHead> {
  const last = await tx.execute('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
  const prevSeq = last.rows[0] ? Number(last.rows[0].seq) : 0;
  const prevHash = last.rows[0] ? String(last.rows[0].hash) : GENESIS_HASH;
  const event: AuditEvent = {
    seq: prevSeq + 1,
    at: at.toISOString(),
    actorId: input.actorId,
    action: input.action,
    subjectType: input.subjectType,
    subjectId: input.subjectId,
    data: input.data ?? {},
  };
  const hash = hashEvent(prevHash, event);
  await tx.execute({
    sql: `INSERT INTO audit_events (seq, at, actor_id, action, subject_type, subject_id, data, prev_hash, hash)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [event.seq, event.at, event.actorId, event.action, event.subjectType, event.subjectId, canonicalJson(event.data), prevHash, hash],
  });
  return { seq: event.seq, hash };
}

/**
 * Appends several events in one go (bulk imports): the same chain as `appendAudit` one by one, written
 * with multi-row inserts.
 */
export async function appendAuditMany(tx: Transaction, at: Date, inputs: readonly AuditInput[]): Promise<ChainHead | null> {
  if (inputs.length === 0) return null;
  const last = await tx.execute('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
  let seq = last.rows[0] ? Number(last.rows[0].seq) : 0;
  let prevHash = last.rows[0] ? String(last.rows[0].hash) : GENESIS_HASH;
  const atIso = at.toISOString();
  const rows: (string | number | null)[][] = [];
  for (const input of inputs) {
    const event: AuditEvent = {
      seq: ++seq,
      at: atIso,
      actorId: input.actorId,
      action: input.action,
      subjectType: input.subjectType,
      subjectId: input.subjectId,
      data: input.data ?? {},
    };
    const dataJson = canonicalJson(event.data);
    const hash = hashEventWithData(prevHash, event, dataJson);
    rows.push([event.seq, event.at, event.actorId, event.action, event.subjectType, event.subjectId, dataJson, prevHash, hash]);
    prevHash = hash;
  }
  await insertRows(tx, 'audit_events', ['seq', 'at', 'actor_id', 'action', 'subject_type', 'subject_id', 'data', 'prev_hash', 'hash'], rows);
  return { seq, hash: prevHash };
}

export type AuditVerification = { ok: true; events: number } | { ok: false; events: number; brokenSeq: number; reason: string };

/** Walks the whole chain; reports the first event whose link or hash does not hold. */
export async function verifyAuditChain(db: Db): Promise<AuditVerification> {
  const PAGE = 1000;
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  for (;;) {
    const page = await db.execute(
      `SELECT seq, at, actor_id, action, subject_type, subject_id, data, prev_hash, hash
       FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?`,
      [expectedSeq, PAGE],
    );
    for (const r of page.rows) {
      const seq = Number(r.seq);
      const fail = (reason: string): AuditVerification => ({ ok: false, events: count, brokenSeq: seq, reason });
      if (seq !== expectedSeq) return { ok: false, events: count, brokenSeq: expectedSeq, reason: 'event missing' };
      if (r.prev_hash !== prevHash) return fail('prev_hash does not match the previous event');
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(String(r.data)) as Record<string, unknown>;
      } catch {
        return fail('data is not valid JSON');
      }
      const hash = hashEvent(prevHash, {
        seq,
        at: String(r.at),
        actorId: r.actor_id === null ? null : String(r.actor_id),
        action: String(r.action),
        subjectType: String(r.subject_type),
        subjectId: r.subject_id === null ? null : String(r.subject_id),
        data,
      });
      if (hash !== r.hash) return fail('hash does not match the event');
      prevHash = hash;
      expectedSeq = seq + 1;
      count++;
    }
    if (page.rows.length < PAGE) break;
  }
  return { ok: true, events: count };
}
