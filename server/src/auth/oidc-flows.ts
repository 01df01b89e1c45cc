/**
 * Started single sign-on flows (state, nonce, PKCE verifier), kept in the database so that whichever
 * server process receives the callback can finish the flow, and claimed with one atomic DELETE so
 * that a flow is finished at most once even when two processes race for it.
 */
import type { Db } from '../db.ts';
import type { FlowSecrets } from './oidc.ts';

/** Long enough for a password manager and a second factor at the provider; short enough to be useless later. */
export const SSO_FLOW_TTL_MS = 10 * 60 * 1000;
/**
 * Open (started, not finished) flows one client address may hold at once: each start writes a row
 * without a session. Finished flows are deleted, so only abandoned or in-progress ones count; generous
 * because a whole office may reach the server through one proxy address.
 */
export const MAX_OPEN_FLOWS_PER_ADDRESS = 100;

export interface StoredFlow extends FlowSecrets {
  issuer: string;
  createdAt: Date;
  expiresAt: Date;
}

export type FlowStart = { ok: true; expiresAt: Date } | { ok: false; retryAfterSeconds: number };

/** Stores a new flow, unless the address already holds too many open ones; drops expired flows on the way. */
export async function storeFlow(db: Db, flow: FlowSecrets, issuer: string, address: string, now: Date): Promise<FlowStart> {
  const expiresAt = new Date(now.getTime() + SSO_FLOW_TTL_MS);
  return db.transaction(async (tx) => {
    await tx.execute({ sql: 'DELETE FROM oidc_flows WHERE expires_at <= ?', args: [now.getTime()] });
    const open = await tx.execute({
      sql: 'SELECT expires_at FROM oidc_flows WHERE address = ? ORDER BY expires_at LIMIT ?',
      args: [address, MAX_OPEN_FLOWS_PER_ADDRESS],
    });
    if (open.rows.length >= MAX_OPEN_FLOWS_PER_ADDRESS) {
      const soonest = Number(open.rows[0]!.expires_at);
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((soonest - now.getTime()) / 1000)) };
    }
    await tx.execute({
      sql: `INSERT INTO oidc_flows (state, nonce, code_verifier, redirect_uri, issuer, address, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [flow.state, flow.nonce, flow.codeVerifier, flow.redirectUri, issuer, address, now.getTime(), expiresAt.getTime()],
    });
    return { ok: true, expiresAt };
  });
}

/**
 * Takes the flow with this state out of the database, whether it is still valid or not (so it can
 * never be tried twice). Null when there is none: unknown, or already finished by any process.
 */
export async function claimFlow(db: Db, state: string): Promise<StoredFlow | null> {
  const result = await db.transaction((tx) =>
    tx.execute({
      sql: `DELETE FROM oidc_flows WHERE state = ?
            RETURNING state, nonce, code_verifier, redirect_uri, issuer, created_at, expires_at`,
      args: [state],
    }),
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    state: String(row.state),
    nonce: String(row.nonce),
    codeVerifier: String(row.code_verifier),
    redirectUri: String(row.redirect_uri),
    issuer: String(row.issuer),
    createdAt: new Date(Number(row.created_at)),
    expiresAt: new Date(Number(row.expires_at)),
  };
}
