/** Super-admin equivalent: holding every key of a super-admin set (Salesforce: ViewAllData + ModifyAllData + ManageUsers). */
import type { Finding } from '../../findings.ts';
import type { OrgAccount } from '../../types.ts';
import { NONE, put, type ConnState, type OrgContext } from '../context.ts';

export function superAdminFindings(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, admin: boolean, out: Finding[]): void {
  const ix = cs.index;
  for (let s = 0; s < cs.superSets.length; s++) {
    const set = cs.superSets[s]!;
    let all = set.length > 0;
    for (let i = 0; all && i < set.length; i++) all = set[i]! >= 0 && ix.can(a, set[i]!);
    if (all) {
      const keys = cs.superKeys[s]!;
      put(out, ctx.make(cs, acct, 'super-admin', keys, keys, NONE, admin ? 'high' : 'critical', { kind: 'super-admin', keys, adminFunction: admin }));
    }
  }
}
