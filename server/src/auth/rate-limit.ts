/**
 * Sign-in throttling, persisted so that restarts and several server processes share the count:
 * 5 failures for one email or 20 for one client address within 15 minutes lock further attempts
 * until enough of those failures age out of the window.
 */
import type { Db, Transaction } from '../db.ts';

export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_EMAIL = 5;
export const MAX_FAILURES_PER_ADDRESS = 20;

export type SignInLimit = { limited: false } | { limited: true; retryAfterSeconds: number };

export async function checkSignInLimit(db: Db, email: string, address: string, now: Date): Promise<SignInLimit> {
  const since = now.getTime() - SIGN_IN_WINDOW_MS;
  // The newest `limit` failures in the window: the oldest of them decides when the lock lifts.
  const [byEmail, byAddress] = await db.readBatch([
    {
      sql: 'SELECT at FROM sign_in_attempts WHERE email = ? AND at > ? ORDER BY at DESC LIMIT ?',
      args: [email, since, MAX_FAILURES_PER_EMAIL],
    },
    {
      sql: 'SELECT at FROM sign_in_attempts WHERE address = ? AND at > ? ORDER BY at DESC LIMIT ?',
      args: [address, since, MAX_FAILURES_PER_ADDRESS],
    },
  ]);
  let until = 0;
  for (const [rows, limit] of [
    [byEmail!.rows, MAX_FAILURES_PER_EMAIL],
    [byAddress!.rows, MAX_FAILURES_PER_ADDRESS],
  ] as const) {
    if (rows.length >= limit) until = Math.max(until, Number(rows[limit - 1]!.at) + SIGN_IN_WINDOW_MS);
  }
  if (until === 0) return { limited: false };
  return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil((until - now.getTime()) / 1000)) };
}

export async function recordSignInFailure(tx: Transaction, email: string, address: string, now: Date): Promise<void> {
  await tx.execute({
    sql: 'INSERT INTO sign_in_attempts (email, address, at) VALUES (?, ?, ?)',
    args: [email, address, now.getTime()],
  });
}

/** A correct password clears that email's failures (the address keeps its count). */
export async function clearEmailFailures(tx: Transaction, email: string): Promise<void> {
  await tx.execute({ sql: 'DELETE FROM sign_in_attempts WHERE email = ?', args: [email] });
}

export async function pruneSignInAttempts(db: Db, now: Date): Promise<void> {
  await db.transaction((tx) =>
    tx.execute({ sql: 'DELETE FROM sign_in_attempts WHERE at <= ?', args: [now.getTime() - SIGN_IN_WINDOW_MS] }),
  );
}
