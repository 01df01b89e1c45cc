import { factory } from '../env.ts';
import { refuse } from '../errors.ts';
import { bearerToken, validateSessionToken } from './session.ts';

/** Bearer auth for every route but sign-in and health: sets `person`, `session` and `position`. */
export const requireSession = factory.createMiddleware(async (c, next) => {
  const token = bearerToken(c.req.header('Authorization'));
  if (!token) throw refuse.unauthenticated('token_missing');
  // c.get, not c.var: c.var builds an object of every variable on each access (this runs on every call).
  const result = await validateSessionToken(c.get('db'), token, c.get('now')());
  if (!result.ok) throw refuse.unauthenticated('session_expired');
  c.set('person', result.person);
  c.set('session', result.session);
  c.set('position', result.position);
  await next();
});
