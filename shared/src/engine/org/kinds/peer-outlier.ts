/**
 * Peer outlier: an active assignment (a bundle, or a direct key) that fewer than the threshold share
 * of the account's peers (same department and title) hold.
 */
import { rowsIntersect } from '../../bitset.ts';
import type { Finding } from '../../findings.ts';
import { put, type ConnState, type OrgContext } from '../context.ts';

/** The peer-outlier finding for grant `g` of account `a`, or null. */
export function outlierFinding(ctx: OrgContext, cs: ConnState, a: number, g: number): Finding | null {
  const group = cs.peers.groupOf[a];
  if (!group) return null;
  const peers = group.members.size - 1;
  const th = ctx.thresholds;
  if (peers < th.minPeerGroup) return null;
  const ix = cs.index;
  const bi = ix.grantBundle(g);
  const k = ix.grantKey(g);
  let holders: number;
  let severityRisky: boolean;
  if (bi >= 0) {
    holders = group.bundleCounts[bi]! - (ix.holdsBundle(a, bi) ? 1 : 0);
    const r = ix.bundleEffRow(bi);
    severityRisky = rowsIntersect(r.bits, r.offset, cs.highRisk, 0, cs.W);
  } else if (k >= 0) {
    holders = group.counts[ix.column(k)]! - (ix.can(a, k) ? 1 : 0);
    severityRisky = cs.isHighRisk(k);
  } else return null;
  const share = holders / peers;
  if (share >= th.peerOutlierShare) return null;
  return ctx.make(cs, cs.accounts[a]!, 'peer-outlier', cs.subjectSingle(g), cs.targetKeys(g), cs.targetBundles(g), severityRisky ? 'medium' : 'low', {
    kind: 'peer-outlier',
    department: group.department,
    title: group.title,
    holders,
    peers,
    share,
    threshold: th.peerOutlierShare,
  });
}

export function peerOutlierFindings(ctx: OrgContext, cs: ConnState, a: number, out: Finding[]): void {
  const group = cs.peers.groupOf[a];
  if (!group || group.members.size - 1 < ctx.thresholds.minPeerGroup) return;
  const ix = cs.index;
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    if (!ix.grantActive(g, ctx.nowMs)) continue;
    const f = outlierFinding(ctx, cs, a, g);
    if (f) put(out, f);
  }
}
