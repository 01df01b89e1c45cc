/** Dormant: no login for N days (an account that never signed in counts from its creation). */
import { rowsIntersect } from '../../bitset.ts';
import type { Finding } from '../../findings.ts';
import type { OrgAccount } from '../../types.ts';
import { DAY_MS, NONE, put, type ConnState, type OrgContext } from '../context.ts';

export function dormantFinding(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, out: Finding[]): void {
  const th = ctx.thresholds;
  const login = cs.lastLoginMs[a]!;
  const since = Number.isNaN(login) ? cs.createdMs[a]! : login;
  const days = Math.floor((ctx.nowMs - since) / DAY_MS);
  if (!(days >= th.dormantDays)) return;
  put(
    out,
    ctx.make(cs, acct, 'dormant', NONE, NONE, NONE, rowsIntersect(cs.index.rows().eff, a * cs.W, cs.highRisk, 0, cs.W) ? 'high' : 'medium', {
      kind: 'dormant',
      lastLoginAt: acct.lastLoginAt,
      daysSinceLogin: days,
      thresholdDays: th.dormantDays,
    }),
  );
}
