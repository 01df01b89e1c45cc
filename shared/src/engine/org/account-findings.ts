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
    return exact(out);
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
  return exact(out);
}

const NONE_FOUND: Finding[] = [];

/** An exact-size copy (kept per account: a list grown by push has room for 16). */
function exact(list: Finding[]): Finding[] {
  return list.length === 0 ? NONE_FOUND : list.slice();
}
