/** Inactive person: an active account of a departed or suspended person (or of nobody in the directory). */
import { rowsIntersect } from '../../bitset.ts';
import type { Finding } from '../../findings.ts';
import type { OrgAccount, OrgPerson } from '../../types.ts';
import { NONE, put, type ConnState, type OrgContext } from '../context.ts';

export function inactivePersonFinding(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, person: OrgPerson | undefined, out: Finding[]): void {
  const holdsHighRisk = rowsIntersect(cs.index.rows().eff, a * cs.W, cs.highRisk, 0, cs.W);
  const status = person?.status === 'suspended' ? 'suspended' : 'departed';
  put(
    out,
    ctx.make(cs, acct, 'inactive-person', NONE, NONE, NONE, status === 'departed' || holdsHighRisk ? 'critical' : 'high', {
      kind: 'inactive-person',
      personStatus: status,
    }),
  );
}
