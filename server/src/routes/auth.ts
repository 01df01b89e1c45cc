import { signInBody, signInResponse, type SignInResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { verifyPassword } from '../auth/password.ts';
import { reserveSignInAttempt, settleSignIn } from '../auth/rate-limit.ts';
import { requireSession } from '../auth/require-session.ts';
import { openSession } from '../auth/sign-in.ts';
import { clientAddressFrom } from '../client-address.ts';
import type { Env } from '../env.ts';
import { ApiFailure } from '../errors.ts';
import { PERSON_COLUMNS, personFromRow } from '../model.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { runWrite } from '../write.ts';

/**
 * The client's address: the socket's peer, or — when the peer is a trusted reverse proxy
 * (`ACCESSLENS_TRUSTED_PROXIES`) — the address it forwards (client-address.ts).
 */
export function clientAddress(c: Context<Env>): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return clientAddressFrom(
    env?.incoming?.socket?.remoteAddress,
    { forwarded: c.req.header('Forwarded'), xForwardedFor: c.req.header('X-Forwarded-For') },
    c.var.trustedProxies,
  );
}

const signInRoute = createRoute({
  method: 'post',
  path: '/sign-in',
  tags: ['auth'],
  summary: 'Sign in with email and password',
  description:
    'The same 401 whether the email exists or not; 429 with Retry-After while this client must wait after failures ' +
    '(5 free per account from one client, 20 from one client, then a doubling wait; an address that has not failed is not held back).',
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

    // Reserved before the password is checked, atomically: concurrent guesses count at once.
    const reservation = await reserveSignInAttempt(db, email, address, now);
    if (!reservation.allowed) {
      await runWrite(db, now, (w) =>
        w.audit({
          actorId: null,
          action: 'auth.sign_in_failed',
          subjectType: 'email',
          subjectId: null,
          data: { email, address, reason: 'rate_limited', limit: reservation.reason },
        }),
      );
      throw ApiFailure.of(
        429,
        'rate_limited',
        'sign_in_rate_limited',
        { seconds: reservation.retryAfterSeconds },
        {
          headers: { 'Retry-After': String(reservation.retryAfterSeconds) },
        },
      );
    }

    const found = await db.execute(`SELECT ${PERSON_COLUMNS}, p.password_hash FROM people p WHERE p.email = ?`, [email]);
    const row = found.rows[0];
    const storedHash = row && row.password_hash !== null ? String(row.password_hash) : null;
    const passwordOk = await verifyPassword(storedHash, password);
    const person = row ? personFromRow(row) : null;

    if (!person || !passwordOk || person.status !== 'active') {
      const reason = !person ? 'unknown_email' : !passwordOk ? 'wrong_password' : `person_${person.status}`;
      // The reserved attempt stays: it is this failure.
      await runWrite(db, now, (w) =>
        w.audit({
          actorId: person?.id ?? null,
          action: 'auth.sign_in_failed',
          subjectType: 'email',
          subjectId: null,
          data: { email, address, reason },
        }),
      );
      throw ApiFailure.of(401, 'invalid_credentials', 'invalid_credentials');
    }

    const answer = await openSession(db, now, person, { method: 'password', address }, (w) => settleSignIn(w.tx, reservation.id, email, address));
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
