/**
 * The one way a sign-in ends, whatever proved who the person is (password or single sign-on): a new
 * session in the same write transaction as its audit event, and the same answer to the client.
 */
import type { Person, SignInResponse } from '@accesslens/shared';
import type { Db } from '../db.ts';
import { runWrite, type WriteContext } from '../write.ts';
import { createSession } from './session.ts';

export async function openSession(
  db: Db,
  now: Date,
  person: Person,
  /** Audited with `auth.signed_in` (method, client address, provider details). */
  data: Record<string, unknown>,
  /** More work for the same transaction (clearing failed attempts, linking an identity). */
  alsoInTransaction?: (w: WriteContext) => Promise<void>,
): Promise<SignInResponse> {
  const { token, session } = await runWrite(db, now, async (w) => {
    await alsoInTransaction?.(w);
    const created = await createSession(w.tx, person.id, now);
    await w.audit({ actorId: person.id, action: 'auth.signed_in', subjectType: 'session', subjectId: created.session.id, data });
    return created;
  });
  return { token, expiresAt: session.expiresAt.toISOString(), person };
}
