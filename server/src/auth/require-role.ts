import type { PersonRole } from '@accesslens/shared';
import { factory } from '../env.ts';
import { forbidden } from '../errors.ts';

/** After `requireSession`: the caller must hold one of `roles` (403 saying who may). */
export function requireRole(roles: PersonRole[], what: string) {
  const who = roles.map((r) => (r === 'admin' ? 'administrators' : r === 'auditor' ? 'auditors' : `${r}s`)).join(' and ');
  return factory.createMiddleware(async (c, next) => {
    if (!c.var.person.roles.some((r) => roles.includes(r))) throw forbidden(`Only ${who} can ${what}.`);
    await next();
  });
}
