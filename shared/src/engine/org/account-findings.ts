/** Every finding of one account, from scratch: each kind in its own module, in a fixed order. */
import type { Finding } from '../findings.ts';
import type { ConnState, OrgContext } from './context.ts';
import { beyondBaselineFindings } from './kinds/beyond-baseline.ts';
import { dormantFinding } from './kinds/dormant.ts';
import { expiredGrantFindings } from './kinds/expired-grant.ts';
import { highRiskFindings } from './kinds/high-risk.ts';
import { inactivePersonFinding } from './kinds/inactive-person.ts';
import { outsideProcessFindings } from './kinds/outside-process.ts';
import { peerOutlierFindings } from './kinds/peer-outlier.ts';
import { sodConflictFindings } from './kinds/sod-conflict.ts';
import { superAdminFindings } from './kinds/super-admin.ts';
import { unusedFindings } from './kinds/unused.ts';

/** The findings of account `a` now (empty for an inactive account). */
export function accountFindings(ctx: OrgContext, cs: ConnState, a: number): Finding[] {
  const out: Finding[] = [];
  const acct = cs.accounts[a];
  if (!acct || !acct.active) return NONE_FOUND;
  expiredGrantFindings(ctx, cs, a, acct, out);
  const person = ctx.people.get(acct.personId);
  if (!person || person.status !== 'active') {
    inactivePersonFinding(ctx, cs, a, acct, person, out);
    return exact(out, ctx.previous);
  }
  dormantFinding(ctx, cs, a, acct, out);
  const admin = ctx.isAdmin(person);
  if (!admin) highRiskFindings(ctx, cs, a, acct, person, out);
  superAdminFindings(ctx, cs, a, acct, admin, out);
  sodConflictFindings(ctx, cs, a, acct, out);
  beyondBaselineFindings(ctx, cs, a, acct, person, out);
  outsideProcessFindings(ctx, cs, a, acct, person, out);
  unusedFindings(ctx, cs, a, acct, out);
  peerOutlierFindings(ctx, cs, a, out);
  return exact(out, ctx.previous);
}

const NONE_FOUND: Finding[] = [];

/**
 * An exact-size copy (kept per account: a list grown by push has room for 16), or the account's
 * previous list when it holds the same findings in the same order: a recomputation that changes
 * nothing then keeps nothing new (a full scan or a clock step leaves no garbage to promote).
 */
function exact(list: Finding[], previous: readonly Finding[] | undefined): Finding[] {
  if (list.length === 0) return NONE_FOUND;
  if (previous !== undefined && previous.length === list.length && previous !== NONE_FOUND) {
    let same = true;
    for (let i = 0; i < list.length; i++)
      if (list[i] !== previous[i]) {
        same = false;
        break;
      }
    if (same) return previous as Finding[];
  }
  return list.slice();
}
