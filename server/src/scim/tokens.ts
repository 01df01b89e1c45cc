/**
 * SCIM bearer tokens, one per identity provider: `alscim.<id>.<secret>`. As with sessions (Lucia's
 * guide) only SHA-256 of the secret is stored and compared in constant time; the token is shown once.
 * Revoked tokens stay, for the audit trail.
 */
import type { ScimTokenView } from '@accesslens/shared';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Row } from '@libsql/client';
import { hashSecret } from '../auth/session.ts';
import type { Db } from '../db.ts';
import { refuse } from '../errors.ts';
import { readBatch, type Source } from '../policy/load.ts';
import type { WriteContext } from '../write.ts';

const TOKEN = /^alscim\.([a-z2-7]{16})\.([a-z2-7]{52})$/;
/** `last_used_at` moves at most this often, so a busy provider does not write on every request. */
const LAST_USED_EVERY_MS = 5 * 60 * 1000;

const random = (bytes: number) => encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(bytes)));

const COLUMNS = 'id, name, created_at, created_by, last_used_at, revoked_at';
function viewFromRow(r: Row): ScimTokenView {
  const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: String(r.id),
    name: String(r.name),
    createdAt: String(r.created_at),
    createdBy: s(r.created_by),
    lastUsedAt: s(r.last_used_at),
    revokedAt: s(r.revoked_at),
  };
}

export async function listScimTokens(source: Source): Promise<ScimTokenView[]> {
  const [rows] = await readBatch(source, [`SELECT ${COLUMNS} FROM scim_tokens ORDER BY created_at, id`]);
  return rows!.rows.map(viewFromRow);
}

/** Creates a token inside `w`; the returned `token` is the only time the secret exists outside a hash. */
export async function createScimToken(w: WriteContext, name: string, actorId: string | null): Promise<{ token: string; scimToken: ScimTokenView }> {
  const id = random(10);
  const secret = random(32);
  await w.tx.execute({
    sql: 'INSERT INTO scim_tokens (id, name, secret_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)',
    args: [id, name, hashSecret(secret), w.nowIso, actorId],
  });
  await w.audit({ actorId, action: 'scim_token.created', subjectType: 'scim_token', subjectId: id, data: { name } });
  return {
    token: `alscim.${id}.${secret}`,
    scimToken: { id, name, createdAt: w.nowIso, createdBy: actorId, lastUsedAt: null, revokedAt: null },
  };
}

export async function revokeScimToken(w: WriteContext, id: string, actorId: string | null): Promise<ScimTokenView> {
  const r = await w.tx.execute({ sql: `SELECT ${COLUMNS} FROM scim_tokens WHERE id = ?`, args: [id] });
  const row = r.rows[0];
  if (!row) throw refuse.notFound('scim_token_not_found');
  if (row.revoked_at !== null) throw refuse.conflict('scim_token_revoked');
  await w.tx.execute({ sql: 'UPDATE scim_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?', args: [w.nowIso, actorId, id] });
  await w.audit({ actorId, action: 'scim_token.revoked', subjectType: 'scim_token', subjectId: id, data: { name: String(row.name) } });
  return { ...viewFromRow(row), revokedAt: w.nowIso };
}

export interface ScimCaller {
  tokenId: string;
  /** The identity provider's name, as the admin gave it ("okta"). */
  provider: string;
}

/** The provider a bearer token belongs to, or null (unknown, malformed, revoked). */
export async function authenticateScimToken(db: Db, header: string | undefined, now: Date): Promise<ScimCaller | null> {
  const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : null;
  const match = token ? TOKEN.exec(token) : null;
  if (!match) return null;
  const [, id, secret] = match as unknown as [string, string, string];
  const r = await db.execute('SELECT name, secret_hash, revoked_at, last_used_at FROM scim_tokens WHERE id = ?', [id]);
  const row = r.rows[0];
  if (!row || row.revoked_at !== null) return null;
  if (!constantTimeEqual(new Uint8Array(row.secret_hash as ArrayBuffer), hashSecret(secret))) return null;
  const last = row.last_used_at === null ? 0 : Date.parse(String(row.last_used_at));
  if (now.getTime() - last >= LAST_USED_EVERY_MS)
    await db.execute('UPDATE scim_tokens SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL', [now.toISOString(), id]);
  return { tokenId: id, provider: String(row.name) };
}
