/**
 * High risk on a non-admin function: keys of high or critical risk granted by name (a key only
 * implied by another is explained by the one that implies it: ModifyAllData, not every object's
 * modifyAll). One finding per key, naming every active assignment that lists it.
 */
import type { Finding, GrantRef } from '../../findings.ts';
import type { OrgAccount, OrgPerson } from '../../types.ts';
import { NONE, put, riskName, type ConnState, type OrgContext } from '../context.ts';

/** Active grants of `a` that list key `k` (a bundle listing it, or a direct grant of it). */
export function grantRefs(ctx: OrgContext, cs: ConnState, a: number, k: number): GrantRef[] {
  const ix = cs.index;
  const out: GrantRef[] = [];
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    if (!ix.grantActive(g, ctx.nowMs)) continue;
    const bi = ix.grantBundle(g);
    if (!(bi >= 0 ? ix.bundleHas(bi, k, false) : ix.grantKey(g) === k)) continue;
    const b = bi >= 0 ? ix.bundle(bi) : null;
    const as = ix.grantAssignment(g);
    out.push({ assignmentId: as.id, bundleId: b?.id ?? null, bundleName: b?.name ?? null, expiresAt: as.expiresAt });
  }
  return out.slice(); // exact size: kept in the finding's evidence
}

export function highRiskFindings(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, person: OrgPerson, out: Finding[]): void {
  const ix = cs.index;
  const now = ctx.nowMs;
  let keys: number[] | null = null;
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    if (!ix.grantActive(g, now)) continue;
    const b = ix.grantBundle(g);
    if (b >= 0) {
      const listed = cs.highListedOf(b);
      if (listed.length > 0) for (const k of listed) (keys ??= []).push(k);
    } else {
      const k = ix.grantKey(g);
      if (k >= 0 && cs.isHighRisk(k)) (keys ??= []).push(k);
    }
  }
  if (keys === null) return;
  if (keys.length > 1) keys.sort((x, y) => x - y);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0 && keys[i - 1] === k) continue;
    const risk = riskName(cs.riskOf[k] ?? -1);
    const one = cs.keySingle(k);
    put(
      out,
      ctx.make(cs, acct, 'high-risk', one, one, NONE, risk, {
        kind: 'high-risk',
        risk,
        department: person.department,
        title: person.title,
        grantedBy: grantRefs(ctx, cs, a, k),
      }),
    );
  }
}
