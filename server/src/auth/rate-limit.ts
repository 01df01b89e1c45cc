/**
 * Sign-in throttling that slows guessing without locking the owner out. Persisted (restarts and several
 * server processes share it), and decided per attempt in one write transaction that also reserves the
 * attempt: the reservation counts as a failure until the password check says otherwise, so concurrent
 * guesses cannot all pass a check made before any of them failed (issue 10, defect 1).
 *
 * Within a 15-minute window, counting failures (and attempts still being checked):
 * - one client address guessing one account: 5 free attempts, then a wait that doubles with each
 *   further failure (30 s, 1 min, 2 min … at most 15 min) from its last failure;
 * - one client address across all accounts: 20 free, then the same doubling wait;
 * - one account across all addresses: past 20 failures, a client address that itself failed in the
 *   window waits after its last failure before trying that account (the doubling, by the account's count).
 *   An address that has not failed is never held back by failures elsewhere: the owner, from their own
 *   machine, still signs in while someone else guesses (issue 10, defect 2).
 * A correct password clears that address's failures for that account.
 */
import type { Db, Transaction } from '../db.ts';

export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;
/** Free attempts for one account from one client address. */
export const FREE_ATTEMPTS_PER_ACCOUNT_AND_CLIENT = 5;
/** Free attempts from one client address, whatever the accounts. */
export const FREE_ATTEMPTS_PER_CLIENT = 20;
/** Failures on one account from anywhere before clients that failed must wait between attempts. */
export const FREE_FAILURES_PER_ACCOUNT = 20;
export const FIRST_DELAY_MS = 30_000;
export const MAX_DELAY_MS = 15 * 60 * 1000;

/** The wait after `failures` failures when `free` were allowed without one (0 while under). */
export function progressiveDelay(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(20, failures - free));
}

export type SignInReservation =
  | { allowed: true; id: number }
  | { allowed: false; retryAfterSeconds: number; reason: 'account_and_client' | 'client' | 'account' };

/**
 * Decides whether this attempt may check a password now and, if so, reserves it (a row counted as a
 * failure until `settleSignIn`). Atomic: one write transaction reads the counts and inserts the row.
 */
export async function reserveSignInAttempt(db: Db, email: string, address: string, now: Date): Promise<SignInReservation> {
  const t = now.getTime();
  const since = t - SIGN_IN_WINDOW_MS;
  return db.transaction(async (tx) => {
    const counts = await tx.execute({
      sql: `SELECT
              (SELECT COUNT(*) FROM sign_in_attempts WHERE email = ?1 AND address = ?2 AND at > ?3) AS pair,
              (SELECT MAX(at) FROM sign_in_attempts WHERE email = ?1 AND address = ?2 AND at > ?3) AS pair_last,
              (SELECT COUNT(*) FROM sign_in_attempts WHERE address = ?2 AND at > ?3) AS client,
              (SELECT MAX(at) FROM sign_in_attempts WHERE address = ?2 AND at > ?3) AS client_last`,
      args: [email, address, since],
    });
    const c = counts.rows[0]!;
    const waits: { until: number; reason: 'account_and_client' | 'client' | 'account' }[] = [];
    const pair = Number(c.pair);
    if (pair >= FREE_ATTEMPTS_PER_ACCOUNT_AND_CLIENT)
      waits.push({ until: Number(c.pair_last) + progressiveDelay(pair, FREE_ATTEMPTS_PER_ACCOUNT_AND_CLIENT), reason: 'account_and_client' });
    const client = Number(c.client);
    if (client >= FREE_ATTEMPTS_PER_CLIENT) waits.push({ until: Number(c.client_last) + progressiveDelay(client, FREE_ATTEMPTS_PER_CLIENT), reason: 'client' });
    if (client > 0) {
      // Only a client that has failed is held back by the account's failures from elsewhere.
      const account = Number(
        (await tx.execute({ sql: 'SELECT COUNT(*) AS n FROM sign_in_attempts WHERE email = ? AND at > ?', args: [email, since] })).rows[0]!.n,
      );
      if (account >= FREE_FAILURES_PER_ACCOUNT)
        waits.push({ until: Number(c.client_last) + progressiveDelay(account, FREE_FAILURES_PER_ACCOUNT), reason: 'account' });
    }
    const blocking = waits.filter((w) => w.until > t).sort((a, b) => b.until - a.until)[0];
    if (blocking) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((blocking.until - t) / 1000)), reason: blocking.reason };
    const inserted = await tx.execute({
      sql: 'INSERT INTO sign_in_attempts (email, address, at) VALUES (?, ?, ?) RETURNING id',
      args: [email, address, t],
    });
    return { allowed: true, id: Number(inserted.rows[0]!.id) };
  });
}

/**
 * After a correct password: the reserved attempt and that address's failures for the account go. (A
 * wrong password keeps the reserved row: it is the failure.) Runs inside the caller's transaction.
 */
export async function settleSignIn(tx: Transaction, reservation: number, email: string, address: string): Promise<void> {
  await tx.execute({ sql: 'DELETE FROM sign_in_attempts WHERE id = ? OR (email = ? AND address = ?)', args: [reservation, email, address] });
}

export async function pruneSignInAttempts(db: Db, now: Date): Promise<void> {
  await db.transaction((tx) => tx.execute({ sql: 'DELETE FROM sign_in_attempts WHERE at <= ?', args: [now.getTime() - SIGN_IN_WINDOW_MS] }));
}
