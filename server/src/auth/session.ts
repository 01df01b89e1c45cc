/**
 * Sessions after Lucia's guide: token `<id>.<secret>`, only SHA-256(secret) is stored and compared in
 * constant time, sessions end after 30 days without use, `last_verified_at` moves at most hourly.
 */
import type { Person } from '@accesslens/shared';
import { hash } from 'node:crypto';
import { setImmediate as immediate } from 'node:timers';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Db, InStatement, Transaction } from '../db.ts';
import type { DbPosition, SessionInfo } from '../env.ts';
import { PERSON_COLUMNS, personFromRow } from '../model.ts';

export const SESSION_IDLE_TIMEOUT_MS = 30 * 24 * 60 * 60 * 1000;
export const SESSION_REFRESH_INTERVAL_MS = 60 * 60 * 1000;

const TOKEN = /^([a-z2-7]{16,64})\.([a-z2-7]{32,128})$/;

function randomBase32(bytes: number): string {
  return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** SHA-256 of the secret (node's one-shot native hash, no Hash object: this runs on every authenticated request). */
export function hashSecret(secret: string): Uint8Array {
  return new Uint8Array(hash('sha256', secret, 'buffer'));
}

export function sessionExpiry(lastVerifiedAt: Date): Date {
  return new Date(lastVerifiedAt.getTime() + SESSION_IDLE_TIMEOUT_MS);
}

/** Creates a session inside the caller's transaction; the token is returned once and never stored. */
export async function createSession(tx: Transaction, personId: string, now: Date): Promise<{ token: string; session: SessionInfo }> {
  const id = randomBase32(20);
  const secret = randomBase32(32);
  await tx.execute({
    sql: 'INSERT INTO sessions (id, person_id, secret_hash, created_at, last_verified_at) VALUES (?, ?, ?, ?, ?)',
    args: [id, personId, hashSecret(secret), now.getTime(), now.getTime()],
  });
  return {
    token: `${id}.${secret}`,
    session: { id, personId, createdAt: now, lastVerifiedAt: now, expiresAt: sessionExpiry(now) },
  };
}

export type SessionValidation = { ok: true; session: SessionInfo; person: Person; position: DbPosition } | { ok: false };

/**
 * Validated sessions kept in memory, per database handle. The cache never answers alone: every
 * request waits for a point read, made after it arrived (`BatchedCheck`: shared by the requests of the
 * same moment), of the database's revocation counter (`meta.auth_epoch`, moved by
 * a trigger whenever any session row is deleted — sign-out, "sign out everywhere", expiry, revocation —
 * and whenever a person's status or roles change, migration 0009) and of the caller's `people.version`.
 * The entry holds only while both are what they were when the session row was read, so a sign-out or
 * suspension through any process sharing the database (another server process on the same libsql
 * server, the CLI) is refused by the very next request everywhere — no poll interval, no TTL. What the
 * cache saves is the session/person join, the row decoding and the writes; the same read also gives the
 * sync position, fresh, so an unchanged pull needs nothing more.
 */
interface CachedSession {
  secretHash: Uint8Array;
  person: Person;
  personVersion: number;
  authEpoch: number;
  createdAt: Date;
  lastVerifiedAt: Date;
}

const MAX_CACHED_SESSIONS = 100_000;

const caches = new WeakMap<Db, Map<string, CachedSession>>();

/** The sync position, the revocation counter and the caller's row version: one indexed read (in this order). */
const CHECK = `SELECT m.instance_id, m.version AS db_version, m.auth_epoch, p.version AS person_version
  FROM meta m JOIN people p ON p.id = ? WHERE m.id = 1`;

/** People per statement in a batched check. */
const CHECK_CHUNK = 100;

/**
 * The check, shared by the requests that wait for it at the same moment; each request's answer is
 * still read after it arrived, so a sign-out is refused by the next request as before.
 * - On a libsql server (each read an HTTP request; a poke makes hundreds of clients pull at once):
 *   requests that arrive while a check is on its way wait for the next one, which answers all of
 *   them from one read transaction.
 * - On a file (a synchronous read of 15–20 µs, more than the rest of an unchanged pull; its read
 *   transaction takes the WAL's locks): the requests of one turn of the event loop — every socket
 *   that was ready — wait for its end (`setImmediate`) and share one read per person. With 50
 *   connections this took an unchanged pull from 17,288 to 40,556 requests/s (`pnpm bench:sync`).
 */
class BatchedCheck {
  #waiting = new Map<string, { resolve: (row: unknown[] | undefined) => void; reject: (error: unknown) => void }[]>();
  #running = false;

  constructor(private readonly db: Db) {}

  check(personId: string): Promise<unknown[] | undefined> {
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(personId);
      if (list) list.push({ resolve, reject });
      else this.#waiting.set(personId, [{ resolve, reject }]);
      if (this.#running) return;
      this.#running = true;
      if (this.db.isFile) immediate(() => void this.#runFile());
      else void this.#run();
    });
  }

  async #runFile(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = new Map();
    this.#running = false;
    for (const [id, waiters] of batch) {
      try {
        const row = await this.db.pointRead(CHECK, [id]);
        for (const w of waiters) w.resolve(row);
      } catch (error) {
        for (const w of waiters) w.reject(error);
      }
    }
  }

  async #run(): Promise<void> {
    while (this.#waiting.size > 0) {
      const batch = this.#waiting;
      this.#waiting = new Map();
      const ids = [...batch.keys()];
      try {
        const statements: InStatement[] = [{ sql: 'SELECT instance_id, version, auth_epoch FROM meta WHERE id = 1', args: [] }];
        for (let i = 0; i < ids.length; i += CHECK_CHUNK) {
          const chunk = ids.slice(i, i + CHECK_CHUNK);
          statements.push({ sql: `SELECT id, version FROM people WHERE id IN (${chunk.map(() => '?').join(', ')})`, args: chunk });
        }
        const [meta, ...people] = await this.db.readBatch(statements);
        const head = meta!.rows[0];
        const versions = new Map<string, unknown>();
        for (const r of people) for (const row of r.rows) versions.set(String(row.id), row.version);
        for (const [id, waiters] of batch) {
          const row = head && versions.has(id) ? [head.instance_id, head.version, head.auth_epoch, versions.get(id)] : undefined;
          for (const w of waiters) w.resolve(row);
        }
      } catch (error) {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(error);
      }
    }
    this.#running = false;
  }
}

const checkers = new WeakMap<Db, BatchedCheck>();
function checker(db: Db): BatchedCheck {
  let c = checkers.get(db);
  if (!c) checkers.set(db, (c = new BatchedCheck(db)));
  return c;
}

/** The token in an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  return token === '' ? null : token;
}

/**
 * The session from memory, confirmed by the one small read (module comment above): its validation,
 * `{ ok: false }` for a wrong secret, or null when it is not in memory, is due a refresh or something
 * about it changed (then only `validateSessionToken` may answer, from the database). Writes nothing.
 */
export async function validateCachedSession(db: Db, token: string, now: Date): Promise<SessionValidation | null> {
  const match = TOKEN.exec(token);
  if (!match) return { ok: false };
  const [, id, secret] = match as unknown as [string, string, string];
  const cached = caches.get(db)?.get(id);
  if (!cached) return null;
  const idle = now.getTime() - cached.lastVerifiedAt.getTime();
  if (idle < 0 || idle >= SESSION_REFRESH_INTERVAL_MS) return null;
  if (!constantTimeEqual(cached.secretHash, hashSecret(secret))) return { ok: false };
  const check = await checker(db).check(cached.person.id);
  if (!check || Number(check[2]) !== cached.authEpoch || Number(check[3]) !== cached.personVersion) return null;
  return {
    ok: true,
    person: cached.person,
    session: {
      id,
      personId: cached.person.id,
      createdAt: cached.createdAt,
      lastVerifiedAt: cached.lastVerifiedAt,
      expiresAt: sessionExpiry(cached.lastVerifiedAt),
    },
    position: { instanceId: String(check[0]), version: Number(check[1]) },
  };
}

/**
 * The session, its person and the database's sync position (so an unchanged pull needs nothing
 * more): one small read when the session is in memory and nothing about it changed, else one indexed
 * read of the session and person. Writes only when the session expired (delete) or is due a refresh.
 */
export async function validateSessionToken(db: Db, token: string, now: Date): Promise<SessionValidation> {
  const fromMemory = await validateCachedSession(db, token, now);
  if (fromMemory) return fromMemory;
  const [, id, secret] = TOKEN.exec(token) as unknown as [string, string, string];
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  // Not in memory, expired, due a refresh, or something about it changed: read it again.
  cache.delete(id);
  const result = await db.execute(
    `SELECT s.id AS session_id, s.secret_hash, s.created_at, s.last_verified_at, ${PERSON_COLUMNS},
            m.instance_id, m.version AS db_version, m.auth_epoch
     FROM sessions s JOIN people p ON p.id = s.person_id JOIN meta m ON m.id = 1
     WHERE s.id = ?`,
    [id],
  );
  const row = result.rows[0];
  if (!row) return { ok: false };
  const stored = new Uint8Array(row.secret_hash as ArrayBuffer);
  if (!constantTimeEqual(stored, hashSecret(secret))) return { ok: false };

  const lastVerifiedAt = new Date(Number(row.last_verified_at));
  const person = personFromRow(row);
  if (now.getTime() - lastVerifiedAt.getTime() >= SESSION_IDLE_TIMEOUT_MS || person.status !== 'active') {
    await invalidateSession(db, id);
    return { ok: false };
  }
  let verified = lastVerifiedAt;
  if (now.getTime() - lastVerifiedAt.getTime() >= SESSION_REFRESH_INTERVAL_MS) {
    verified = now;
    await db.transaction((tx) => tx.execute({ sql: 'UPDATE sessions SET last_verified_at = ? WHERE id = ?', args: [now.getTime(), id] }));
  }
  const createdAt = new Date(Number(row.created_at));
  const position = { instanceId: String(row.instance_id), version: Number(row.db_version) };
  // Cached as read (one consistent snapshot): the counter read with it is what later checks compare.
  if (verified === lastVerifiedAt) {
    if (cache.size >= MAX_CACHED_SESSIONS) cache.clear();
    cache.set(id, { secretHash: stored, person, personVersion: Number(row.version), authEpoch: Number(row.auth_epoch), createdAt, lastVerifiedAt });
  }
  return {
    ok: true,
    person,
    session: { id, personId: person.id, createdAt, lastVerifiedAt: verified, expiresAt: sessionExpiry(verified) },
    position,
  };
}

export async function invalidateSession(db: Db, sessionId: string): Promise<void> {
  await db.transaction((tx) => tx.execute({ sql: 'DELETE FROM sessions WHERE id = ?', args: [sessionId] }));
}

/** "Sign out everywhere". */
export async function invalidatePersonSessions(tx: Transaction, personId: string): Promise<void> {
  await tx.execute({ sql: 'DELETE FROM sessions WHERE person_id = ?', args: [personId] });
}
