/**
 * Unused: an active assignment none of whose keys (listed or implied) was used within the window.
 * Only judged when the account and the assignment both existed for the whole window.
 */
import { hasBit, rowsIntersect } from '../../bitset.ts';
import type { Finding } from '../../findings.ts';
import type { OrgAccount } from '../../types.ts';
import { DAY_MS, put, type ConnState, type OrgContext } from '../context.ts';

export function unusedFindings(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, out: Finding[]): void {
  const th = ctx.thresholds;
  const now = ctx.nowMs;
  const windowStart = now - th.unusedDays * DAY_MS;
  if (!(cs.createdMs[a]! <= windowStart)) return;
  const ix = cs.index;
  const W = cs.W;
  const usage = cs.usage;
  // Columns of the keys used within the window.
  if (cs.scratch.length !== W) cs.scratch = new Uint32Array(W);
  const used = cs.scratch;
  used.fill(0);
  for (let u = usage.first(a); u >= 0; u = usage.next(u))
    if (usage.last(u) >= windowStart) {
      const c = ix.column(usage.keyId(u));
      used[c >>> 5]! |= 1 << (c & 31);
    }
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    if (!ix.grantActive(g, now) || ix.grantStart(g) > windowStart) continue;
    const bi = ix.grantBundle(g);
    const k = ix.grantKey(g);
    let usedAny = false;
    if (bi >= 0) {
      const r = ix.bundleEffRow(bi);
      usedAny = rowsIntersect(r.bits, r.offset, used, 0, W);
    } else if (k >= 0) {
      for (const c of ix.closureColumns(k))
        if (hasBit(used, 0, c)) {
          usedAny = true;
          break;
        }
    } else continue;
    if (usedAny) continue;
    // The last use of anything the assignment grants, before the window.
    let lastUsed = -1;
    for (let u = usage.first(a); u >= 0; u = usage.next(u)) {
      const uk = usage.keyId(u);
      const covers = bi >= 0 ? ix.bundleHas(bi, uk, true) : ix.universe.implies(k, uk);
      if (covers && (lastUsed < 0 || usage.last(u) > usage.last(lastUsed))) lastUsed = u;
    }
    let risky: boolean;
    if (bi >= 0) {
      const r = ix.bundleEffRow(bi);
      risky = rowsIntersect(r.bits, r.offset, cs.highRisk, 0, W);
    } else {
      risky = false;
      for (const c of ix.closureColumns(k))
        if (hasBit(cs.highRisk, 0, c)) {
          risky = true;
          break;
        }
    }
    const as = ix.grantAssignment(g);
    put(
      out,
      ctx.make(cs, acct, 'unused', cs.subjectSingle(g), cs.targetKeys(g), cs.targetBundles(g), risky ? 'medium' : 'low', {
        kind: 'unused',
        assignmentId: as.id,
        windowDays: th.unusedDays,
        grantedAt: as.grantedAt,
        lastUsedAt: lastUsed < 0 ? null : usage.iso(lastUsed),
      }),
    );
  }
}
