import type { RoleAction } from '@accesslens/shared';
import { factory } from '../env.ts';
import { refuse } from '../errors.ts';

/** Who may: administrators, or administrators and auditors (each said by its own reason). */
type RoleSet = readonly ['admin'] | readonly ['admin', 'auditor'];

/**
 * After `requireSession`: the caller must hold one of `roles` (403 saying who may do what: the reason names
 * the role set, its `action` param the key of what the route does, `ROLE_ACTIONS`).
 */
export function requireRole(roles: RoleSet, action: RoleAction) {
  const reason = roles.length === 1 ? 'admins_only' : 'admins_and_auditors_only';
  return factory.createMiddleware(async (c, next) => {
    if (!c.var.person.roles.some((r) => (roles as readonly string[]).includes(r))) throw refuse.forbidden(reason, { action });
    await next();
  });
}
