import { signInBody, signInResponse, type SignInResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { verifyPassword } from '../auth/password.ts';
import { checkSignInLimit, clearEmailFailures, recordSignInFailure } from '../auth/rate-limit.ts';
import { requireSession } from '../auth/require-session.ts';
import { openSession } from '../auth/sign-in.ts';
import type { Env } from '../env.ts';
import { ApiFailure } from '../errors.ts';
import { PERSON_COLUMNS, personFromRow } from '../model.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { runWrite } from '../write.ts';

/** The socket's peer address. Forwarded headers are not trusted: any client can set them. */
export function clientAddress(c: Context<Env>): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}


const signInRoute = createRoute({
  method: 'post',
  path: '/sign-in',
  tags: ['auth'],
  summary: 'Sign in with email and password',
  description: 'The same 401 whether the email exists or not; 429 after too many failures (Retry-After).',
  request: { body: jsonBody(signInBody) },
  responses: { 200: json(signInResponse, 'A new session token.'), ...errors(400, 401, 429) },
});

const signOutRoute = createRoute({
  method: 'post',
  path: '/sign-out',
  tags: ['auth'],
  summary: 'End this session',
  security: bearer,
  middleware: [requireSession] as const,
  responses: { 204: { description: 'Signed out.' }, ...errors(401) },
});

export const auth = apiRoutes()
  .openapi(signInRoute, async (c) => {
    const db = c.var.db;
    const now = c.var.now();
    const email = c.req.valid('json').email.trim().toLowerCase();
    const { password } = c.req.valid('json');
    const address = clientAddress(c);

    const limit = await checkSignInLimit(db, email, address, now);
    if (limit.limited) {
      await runWrite(db, now, (w) =>
        w.audit({
          actorId: null,
          action: 'auth.sign_in_failed',
          subjectType: 'email',
          subjectId: null,
          data: { email, address, reason: 'rate_limited' },
        }),
      );
      throw ApiFailure.of(429, 'rate_limited', 'sign_in_rate_limited', { seconds: limit.retryAfterSeconds }, {
        headers: { 'Retry-After': String(limit.retryAfterSeconds) },
      });
    }

    const found = await db.execute(`SELECT ${PERSON_COLUMNS}, p.password_hash FROM people p WHERE p.email = ?`, [email]);
    const row = found.rows[0];
    const storedHash = row && row.password_hash !== null ? String(row.password_hash) : null;
    const passwordOk = await verifyPassword(storedHash, password);
    const person = row ? personFromRow(row) : null;

    if (!person || !passwordOk || person.status !== 'active') {
      const reason = !person ? 'unknown_email' : !passwordOk ? 'wrong_password' : `person_${person.status}`;
      await runWrite(db, now, async (w) => {
        await recordSignInFailure(w.tx, email, address, now);
        await w.audit({
          actorId: person?.id ?? null,
          action: 'auth.sign_in_failed',
          subjectType: 'email',
          subjectId: null,
          data: { email, address, reason },
        });
      });
      throw ApiFailure.of(401, 'invalid_credentials', 'invalid_credentials');
    }

    const answer = await openSession(db, now, person, { method: 'password', address }, (w) => clearEmailFailures(w.tx, email));
    return c.json(answer satisfies SignInResponse, 200);
  })
  .openapi(signOutRoute, async (c) => {
    const { session, person, db } = c.var;
    await runWrite(db, c.var.now(), async (w) => {
      await w.tx.execute({ sql: 'DELETE FROM sessions WHERE id = ?', args: [session.id] });
      await w.audit({ actorId: person.id, action: 'auth.signed_out', subjectType: 'session', subjectId: session.id });
    });
    return c.body(null, 204);
  });
