/**
 * Granted outside the request process: an assignment an import found in the CRM after the connection's
 * first one, with no request behind it, that grants keys the job function's baseline does not cover
 * (every key it grants when no baseline matches). At least medium: nobody asked for it.
 */
import { hasBit } from '../../bitset.ts';
import type { Finding } from '../../findings.ts';
import type { OrgAccount, OrgPerson } from '../../types.ts';
import { put, type ConnState, type OrgContext } from '../context.ts';
import { baselineFor } from './beyond-baseline.ts';

export function outsideProcessFindings(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, person: OrgPerson, out: Finding[]): void {
  const ix = cs.index;
  const now = ctx.nowMs;
  let baseline: ReturnType<typeof baselineFor> | undefined;
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    const as = ix.grantAssignment(g);
    if (!as.outsideProcess || !ix.grantActive(g, now)) continue;
    if (baseline === undefined) baseline = baselineFor(ctx, cs, person);
    const row = baseline?.row ?? null;
    const bi = ix.grantBundle(g);
    const k = ix.grantKey(g);
    const uncovered: number[] = [];
    if (bi >= 0) {
      for (const x of ix.bundleListedKeys(bi)) if (!(row && hasBit(row, 0, ix.column(x)))) uncovered.push(x);
    } else if (k >= 0 && !(row && hasBit(row, 0, ix.column(k)))) uncovered.push(k);
    if (uncovered.length === 0) continue;
    let top = 1;
    for (const x of uncovered) top = Math.max(top, cs.riskOf[x] ?? 0);
    const t = as.target;
    put(
      out,
      ctx.make(
        cs,
        acct,
        'outside-process',
        [as.id],
        uncovered.map((x) => ix.universe.key(x)).sort(),
        cs.targetBundles(g),
        top >= 3 ? 'critical' : top === 2 ? 'high' : 'medium',
        {
          kind: 'outside-process',
          assignmentId: as.id,
          grantedAt: as.grantedAt,
          bundleId: t.type === 'bundle' ? t.bundleId : null,
          key: t.type === 'permission' ? t.key : null,
          baselineIds: baseline?.ids ?? [],
        },
      ),
    );
  }
}
