/** Separation of duties: rules compiled to key ids and bundle indexes, and which side an account is on. */
import type { SodRule, SodSide } from '../types.ts';
import type { CompiledSide, CompiledSod, ConnState } from './context.ts';

export function compileSod(cs: ConnState, rules: readonly SodRule[]): CompiledSod[] {
  const side = (s: SodSide): CompiledSide => ({
    keyIds: (s.keys ?? []).map((k) => cs.index.keyId(k)).filter((k) => k >= 0),
    bundles: (s.bundleIds ?? []).map((b) => cs.index.bundleIndex(b)).filter((b) => b >= 0),
  });
  return rules.filter((r) => r.connectionId === cs.conn.id).map((rule) => ({ rule, left: side(rule.left), right: side(rule.right) }));
}

/** Whether account `a` is on a side (allocates nothing). */
export function onSide(cs: ConnState, a: number, side: CompiledSide): boolean {
  const ix = cs.index;
  for (const k of side.keyIds) if (ix.can(a, k)) return true;
  for (const b of side.bundles) if (ix.holdsBundle(a, b)) return true;
  return false;
}

/**
 * What puts account `a` (-1: none) on a side: the keys it holds (or would, in `extra`) and
 * `bundle:{id}` for the bundles it holds; null when nothing does.
 */
export function sideMatch(cs: ConnState, a: number, side: CompiledSide, extra?: Set<number>): string[] | null {
  const ix = cs.index;
  let hits: string[] | null = null;
  for (const k of side.keyIds) if ((a >= 0 && ix.can(a, k)) || extra?.has(k)) (hits ??= []).push(ix.universe.key(k));
  for (const b of side.bundles) if (a >= 0 && ix.holdsBundle(a, b)) (hits ??= []).push(cs.bundleSubject(b));
  return hits;
}

export function splitHits(hits: string[]): { keys: string[]; bundleIds: string[] } {
  // Exact-size lists: they are kept in the finding's evidence.
  let nb = 0;
  for (const h of hits) if (h.startsWith('bundle:')) nb++;
  const keys: string[] = new Array(hits.length - nb);
  const bundleIds: string[] = new Array(nb);
  let k = 0;
  let b = 0;
  for (const h of hits)
    if (h.startsWith('bundle:')) bundleIds[b++] = h.slice(7);
    else keys[k++] = h;
  return { keys, bundleIds };
}

/** SoD rules an account holding also `extraKeys` would violate. */
export function sodConflicts(cs: ConnState, accountId: string, extraKeys: readonly string[]): { rule: SodRule; left: string[]; right: string[] }[] {
  const idx = cs.index.accountIndex(accountId);
  const extra = new Set<number>();
  for (const k of extraKeys) {
    const id = cs.index.keyId(k);
    if (id >= 0) for (const c of cs.index.universe.closure(id)) extra.add(c);
  }
  const out: { rule: SodRule; left: string[]; right: string[] }[] = [];
  for (const s of cs.sod) {
    const l = sideMatch(cs, idx, s.left, extra);
    const r = sideMatch(cs, idx, s.right, extra);
    if (l && r) out.push({ rule: s.rule, left: l, right: r });
  }
  return out;
}
