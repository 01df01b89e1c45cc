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

/** The columns a job's baselines cover, their ids, and per bundle what it grants beyond them. */
export interface JobBaseline {
  row: Uint32Array;
  ids: string[];
  /** Per bundle index: the keys it lists that the baseline does not cover (shared, frozen; null when none) and their top risk. */
  beyond: ({ keys: string[]; severity: Risk } | null | undefined)[];
}

const severityOf = (top: number): Risk => (top >= 3 ? 'critical' : top === 2 ? 'high' : top === 1 ? 'medium' : 'low');

/** Keys bundle `bi` lists beyond the baseline (memoised per job and bundle). */
function beyondOf(cs: ConnState, baseline: JobBaseline, bi: number): { keys: string[]; severity: Risk } | null {
  let known = baseline.beyond[bi];
  if (known !== undefined) return known;
  const ix = cs.index;
  const uncovered: number[] = [];
  for (const x of ix.bundleListedKeys(bi)) if (!hasBit(baseline.row, 0, ix.column(x))) uncovered.push(x);
  if (uncovered.length === 0) known = null;
  else {
    let top = 0;
    for (const x of uncovered) top = Math.max(top, cs.riskOf[x] ?? 0);
    known = { keys: Object.freeze(uncovered.map((x) => ix.universe.key(x))) as unknown as string[], severity: severityOf(top) };
  }
  baseline.beyond[bi] = known;
  return known;
}

/** The baseline of a job; null when no baseline matches it. */
export function baselineFor(ctx: OrgContext, cs: ConnState, p: { department: string; title: string }): JobBaseline | null {
  let byTitle = cs.baselineCache.get(p.department);
  if (byTitle === undefined) {
    byTitle = new Map();
    cs.baselineCache.set(p.department, byTitle);
  }
  const known = byTitle.get(p.title);
  if (known !== undefined) return known;
  const ix = cs.index;
  const matching = ctx.org.policy.baselines.filter((b) => b.connectionId === cs.conn.id && matchesFunction(b.match, p));
  let result: JobBaseline | null = null;
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
    result = { row, ids: matching.map((b) => b.id), beyond: [] };
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
    let beyond: { keys: string[]; severity: Risk } | null = null;
    if (bi >= 0) beyond = beyondOf(cs, baseline, bi);
    else if (k >= 0 && !hasBit(row, 0, ix.column(k))) beyond = { keys: cs.keySingle(k), severity: severityOf(Math.max(0, cs.riskOf[k] ?? 0)) };
    if (beyond === null) continue;
    (seen ??= new Set()).add(subject);
    const b = bi >= 0 ? ix.bundle(bi) : null;
    const as = ix.grantAssignment(g);
    put(
      out,
      ctx.make(cs, acct, 'beyond-baseline', cs.subjectSingle(g), beyond.keys, cs.targetBundles(g), beyond.severity, {
        kind: 'beyond-baseline',
        baselineIds: baseline.ids,
        grantedBy: [{ assignmentId: as.id, bundleId: b?.id ?? null, bundleName: b?.name ?? null, expiresAt: as.expiresAt }],
      }),
    );
  }
}
