/** Expired grant: an assignment past its expiry that was never revoked is still present (the exact expiry instant counts as past). */
import type { Finding } from '../../findings.ts';
import type { OrgAccount } from '../../types.ts';
import { put, type ConnState, type OrgContext } from '../context.ts';

export function expiredGrantFindings(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, out: Finding[]): void {
  const ix = cs.index;
  const now = ctx.nowMs;
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    if (!(ix.grantEnd(g) <= now) || ix.grantRevoked(g) <= now) continue;
    const as = ix.grantAssignment(g);
    const t = as.target;
    put(
      out,
      ctx.make(cs, acct, 'expired-grant', [as.id], cs.targetKeys(g), cs.targetBundles(g), 'high', {
        kind: 'expired-grant',
        assignmentId: as.id,
        expiresAt: as.expiresAt!,
        bundleId: t.type === 'bundle' ? t.bundleId : null,
        key: t.type === 'permission' ? t.key : null,
      }),
    );
  }
}
