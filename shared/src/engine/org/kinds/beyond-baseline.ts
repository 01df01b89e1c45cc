/**
 * Beyond baseline, per assignment: a bundle that grants keys the job function's baseline does not
 * cover, or a direct grant of such a key. The baseline of a job function is every key its baselines'
 * bundles and keys grant (with implications).
 */
import { hasBit, orRow } from '../../bitset.ts';
import type { Finding } from '../../findings.ts';
import type { Risk } from '../../../schemas.ts';
import { matchesFunction, type OrgAccount, type OrgPerson } from '../../types.ts';
import { put, type ConnState, type OrgContext } from '../context.ts';

/** The columns a person's baselines cover, and their ids; null when no baseline matches the job. */
export function baselineFor(ctx: OrgContext, cs: ConnState, p: { department: string; title: string }): { row: Uint32Array; ids: string[] } | null {
  let byTitle = cs.baselineCache.get(p.department);
  if (byTitle === undefined) {
    byTitle = new Map();
    cs.baselineCache.set(p.department, byTitle);
  }
  const known = byTitle.get(p.title);
  if (known !== undefined) return known;
  const ix = cs.index;
  const matching = ctx.org.policy.baselines.filter((b) => b.connectionId === cs.conn.id && matchesFunction(b.match, p));
  let result: { row: Uint32Array; ids: string[] } | null = null;
  if (matching.length > 0) {
    const row = new Uint32Array(cs.W);
    for (const b of matching) {
      for (const bid of b.bundleIds) {
        const bi = ix.bundleIndex(bid);
        if (bi < 0) continue;
        const r = ix.bundleEffRow(bi);
        orRow(row, 0, r.bits, r.offset, cs.W);
      }
      for (const key of b.keys) {
        const id = ix.keyId(key);
        if (id >= 0) for (const c of ix.closureColumns(id)) row[c >>> 5]! |= 1 << (c & 31);
      }
    }
    result = { row, ids: matching.map((b) => b.id) };
  }
  byTitle.set(p.title, result);
  return result;
}

export function beyondBaselineFindings(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, person: OrgPerson, out: Finding[]): void {
  const baseline = baselineFor(ctx, cs, person);
  if (!baseline) return;
  const ix = cs.index;
  const row = baseline.row;
  const now = ctx.nowMs;
  let seen: Set<string> | null = null;
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    if (!ix.grantActive(g, now)) continue;
    const subject = cs.subjectOf(g);
    if (seen?.has(subject)) continue;
    const bi = ix.grantBundle(g);
    const k = ix.grantKey(g);
    let uncovered: number[] | null = null;
    if (bi >= 0) {
      for (const x of ix.bundleListedKeys(bi)) if (!hasBit(row, 0, ix.column(x))) (uncovered ??= []).push(x);
    } else if (k >= 0 && !hasBit(row, 0, ix.column(k))) uncovered = [k];
    if (uncovered === null) continue;
    (seen ??= new Set()).add(subject);
    let top = 0;
    for (const x of uncovered) top = Math.max(top, cs.riskOf[x] ?? 0);
    const severity: Risk = top >= 3 ? 'critical' : top === 2 ? 'high' : top === 1 ? 'medium' : 'low';
    const b = bi >= 0 ? ix.bundle(bi) : null;
    const as = ix.grantAssignment(g);
    put(
      out,
      ctx.make(cs, acct, 'beyond-baseline', cs.single(subject), uncovered.map((x) => ix.universe.key(x)), cs.targetBundles(g), severity, {
        kind: 'beyond-baseline',
        baselineIds: baseline.ids,
        grantedBy: [{ assignmentId: as.id, bundleId: b?.id ?? null, bundleName: b?.name ?? null, expiresAt: as.expiresAt }],
      }),
    );
  }
}
