/** Separation of duties: the account is on both sides of a rule (by keys it holds or bundles it holds). */
import type { Finding } from '../../findings.ts';
import type { OrgAccount } from '../../types.ts';
import { put, type ConnState, type OrgContext } from '../context.ts';
import { sideMatch, splitHits } from '../sod.ts';

export function sodConflictFindings(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, out: Finding[]): void {
  for (const s of cs.sod) {
    const l = sideMatch(cs, a, s.left);
    if (!l) continue;
    const r = sideMatch(cs, a, s.right);
    if (!r) continue;
    const left = splitHits(l);
    const right = splitHits(r);
    put(
      out,
      ctx.make(
        cs,
        acct,
        'sod-conflict',
        [s.rule.id],
        [...new Set([...left.keys, ...right.keys])].sort(),
        [...new Set([...left.bundleIds, ...right.bundleIds])].sort(),
        s.rule.severity,
        { kind: 'sod-conflict', ruleId: s.rule.id, ruleName: s.rule.name, left, right },
      ),
    );
  }
}
