/**
 * Signed checkpoints of the audit chain. The chain alone (audit.ts) shows an edited event, but not one
 * removed from the end, nor every event removed, nor an edit with every later hash recomputed: anyone
 * who can write the database can compute SHA-256. A checkpoint — the number of events and the newest
 * one's hash — carries a MAC made with a key that is not in the database (derived from the secret key:
 * `ACCESSLENS_SECRET_KEY`, or the key file beside an embedded database), so a changed chain no longer
 * matches its checkpoints and a forged checkpoint cannot be signed.
 *
 * - The head (`audit_head`, one row) is re-signed in the same transaction as every write that appends
 *   events (write.ts), by every process that holds the key (server, CLI).
 * - A checkpoint row (`audit_checkpoints`, append-only) is kept at most once an hour, so that putting
 *   back an old signed head after cutting the chain short is seen too.
 * `verifyAudit` (`pnpm accesslens verify-audit`) checks the chain, every checkpoint and the head.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GENESIS_HASH, verifyAuditChain, type AuditVerification } from './audit.ts';
import type { Db, Transaction } from './db.ts';
import type { KeyRing, SecretKey } from './secrets.ts';

export const CHECKPOINT_EVERY_MS = 60 * 60 * 1000;

/** The key that signs checkpoints: derived from a secret key, never the key itself. */
function checkpointKey(secret: SecretKey): Buffer {
  return createHmac('sha256', secret.bytes).update('accesslens audit checkpoint v1').digest();
}

export interface Checkpoint {
  count: number;
  hash: string;
  at: string;
}

/**
 * The MAC of a checkpoint. Not bound to the database's instance id (a restore gives the database a new
 * one, so that clients start over): the hash it names already ties it to this chain.
 */
function macOf(secret: SecretKey, c: Checkpoint): string {
  return createHmac('sha256', checkpointKey(secret)).update(`${c.count}|${c.hash}|${c.at}`).digest('hex');
}

/** Signs checkpoints with the current secret key of a process's key ring. */
export class AuditSigner {
  #lastCheckpointAt: number | undefined;

  /** `keys()` is asked at every signature: a key rotated while the process runs is used at once. */
  constructor(readonly keys: () => KeyRing) {}

  /** Re-signs the head after this transaction's events (and keeps an hourly checkpoint row). */
  async signHead(tx: Transaction, head: { seq: number; hash: string }, now: Date): Promise<void> {
    const key = this.keys().current;
    const checkpoint: Checkpoint = { count: head.seq, hash: head.hash, at: now.toISOString() };
    const mac = macOf(key, checkpoint);
    await tx.execute({
      sql: 'UPDATE audit_head SET count = ?, hash = ?, at = ?, key_id = ?, mac = ? WHERE id = 1',
      args: [checkpoint.count, checkpoint.hash, checkpoint.at, key.id, mac],
    });
    if (this.#lastCheckpointAt === undefined) {
      const last = await tx.execute('SELECT at FROM audit_checkpoints ORDER BY id DESC LIMIT 1');
      this.#lastCheckpointAt = last.rows[0] ? Date.parse(String(last.rows[0].at)) : 0;
    }
    if (now.getTime() - this.#lastCheckpointAt >= CHECKPOINT_EVERY_MS) {
      await tx.execute({
        sql: 'INSERT INTO audit_checkpoints (count, hash, at, key_id, mac) VALUES (?, ?, ?, ?, ?)',
        args: [checkpoint.count, checkpoint.hash, checkpoint.at, key.id, mac],
      });
      this.#lastCheckpointAt = now.getTime();
    }
  }
}

/**
 * At start-up: a head never signed (a database from before checkpoints existed) is signed for the chain
 * as it stands, once the chain verifies — unless signed checkpoints exist, which would mean the head's
 * signature was removed. Returns what it did, for the log.
 */
export async function adoptUnsignedHead(db: Db, signer: AuditSigner, now: Date): Promise<'signed' | 'already-signed' | 'refused'> {
  const head = (await db.execute('SELECT key_id FROM audit_head WHERE id = 1')).rows[0];
  if (head && head.key_id !== null) return 'already-signed';
  const checkpoints = Number((await db.execute('SELECT COUNT(*) AS n FROM audit_checkpoints')).rows[0]!.n);
  const chain = await verifyAuditChain(db);
  if (!chain.ok || checkpoints > 0 || !head) return 'refused';
  await db.transaction(async (tx) => {
    const last = await tx.execute('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
    const r = last.rows[0];
    await signer.signHead(tx, r ? { seq: Number(r.seq), hash: String(r.hash) } : { seq: 0, hash: GENESIS_HASH }, now);
  });
  return 'signed';
}

export type AuditReport =
  | { ok: true; events: number; checkpoints: number; head: Checkpoint; unverifiable: number }
  | { ok: false; events: number; problem: string; brokenSeq?: number };

/**
 * The whole check: the chain, then every checkpoint (signed by a key of the ring, matching the chain
 * at its count, never more events than the chain holds), then the head (signed, and equal to the
 * chain's newest event: fewer events means some were removed, more means some were added without the
 * key). Checkpoints signed with a key the ring no longer holds are counted as unverifiable.
 */
export async function verifyAudit(db: Db, ring: KeyRing): Promise<AuditReport> {
  const chain: AuditVerification = await verifyAuditChain(db);
  if (!chain.ok)
    return { ok: false, events: chain.events, brokenSeq: chain.brokenSeq, problem: `the chain is broken at seq ${chain.brokenSeq}: ${chain.reason}` };
  const events = chain.events;
  const hashAt = async (count: number): Promise<string | null> => {
    if (count === 0) return GENESIS_HASH;
    const r = await db.execute('SELECT hash FROM audit_events WHERE seq = ?', [count]);
    return r.rows[0] ? String(r.rows[0].hash) : null;
  };
  const macMatches = (keyId: string, mac: string, c: Checkpoint): boolean | null => {
    const key = ring.find(keyId);
    if (!key) return null;
    const expected = Buffer.from(macOf(key, c), 'hex');
    const given = Buffer.from(mac, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  let unverifiable = 0;
  let highest: Checkpoint | null = null;
  const rows = (await db.execute('SELECT id, count, hash, at, key_id, mac FROM audit_checkpoints ORDER BY id')).rows;
  for (const r of rows) {
    const c: Checkpoint = { count: Number(r.count), hash: String(r.hash), at: String(r.at) };
    const signed = macMatches(String(r.key_id), String(r.mac), c);
    if (signed === null) {
      unverifiable++;
      continue;
    }
    if (!signed)
      return {
        ok: false,
        events,
        problem: `checkpoint ${String(r.id)} (${c.count} events, ${c.at}) is not signed by this server's key: it was forged or altered`,
      };
    if (c.count > events)
      return { ok: false, events, problem: `checkpoint ${String(r.id)} of ${c.at} counted ${c.count} events; the chain holds ${events}: events were removed` };
    if ((await hashAt(c.count)) !== c.hash)
      return {
        ok: false,
        events,
        brokenSeq: c.count,
        problem: `checkpoint ${String(r.id)} of ${c.at} does not match the chain at seq ${c.count}: events were rewritten`,
      };
    if (highest && c.count < highest.count)
      return { ok: false, events, problem: `checkpoint ${String(r.id)} counts fewer events than an earlier one: checkpoints were tampered with` };
    highest = c;
  }

  const h = (await db.execute('SELECT count, hash, at, key_id, mac FROM audit_head WHERE id = 1')).rows[0];
  if (!h) return { ok: false, events, problem: 'the signed head of the chain is missing' };
  if (h.key_id === null || h.mac === null)
    return { ok: false, events, problem: 'the head of the chain is not signed (start the server once with its key to sign an existing chain)' };
  const head: Checkpoint = { count: Number(h.count), hash: String(h.hash), at: String(h.at) };
  const signed = macMatches(String(h.key_id), String(h.mac), head);
  if (signed === null)
    return {
      ok: false,
      events,
      problem: `the head is signed with key ${String(h.key_id)}, which this server does not hold (set ACCESSLENS_SECRET_KEY or ACCESSLENS_SECRET_KEY_PREVIOUS)`,
    };
  if (!signed) return { ok: false, events, problem: "the head of the chain is not signed by this server's key: it was forged or altered" };
  if (highest && head.count < highest.count)
    return {
      ok: false,
      events,
      problem: `the head counts ${head.count} events, fewer than checkpoint of ${highest.at} (${highest.count}): events were removed`,
    };
  if (head.count > events)
    return {
      ok: false,
      events,
      problem: `the signed head counts ${head.count} events; the chain holds ${events}: ${head.count - events} newest events were removed`,
    };
  if (head.count < events)
    return { ok: false, events, problem: `${events - head.count} events after the signed head (seq ${head.count + 1}–${events}) were added without the key` };
  if ((await hashAt(head.count)) !== head.hash)
    return { ok: false, events, brokenSeq: head.count, problem: 'the newest event does not match the signed head: events were rewritten' };
  return { ok: true, events, checkpoints: rows.length - unverifiable, head, unverifiable };
}
