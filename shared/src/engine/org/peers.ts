/**
 * Peer groups: the active accounts of active people with the same department and title, with how
 * many members hold each column (key) and each bundle — what peer outliers are judged against.
 */
import type { ConnState, OrgContext } from './context.ts';

export interface PeerGroup {
  department: string;
  title: string;
  members: Set<number>;
  /** Per column: members holding its keys now. */
  counts: Int32Array;
  /** Per bundle index: members holding the bundle now (directly or through inheritance). */
  bundleCounts: Int32Array;
}

/** What changed in one group while rows changed: per column and per bundle, the count before. */
export interface GroupChange {
  cols: Map<number, number>;
  bundles: Map<number, number>;
}

/** Subjects whose outlier findings can have changed: the changed columns and bundles. */
export interface OutlierSubjects {
  cols: Set<number>;
  bundles: Set<number>;
}

function countBits(bits: Uint32Array, off: number, words: number, counts: Int32Array, delta: number): void {
  for (let w = 0; w < words; w++) {
    let v = bits[off + w]!;
    while (v !== 0) {
      const t = v & -v;
      counts[(w << 5) + (31 - Math.clz32(t))]! += delta;
      v ^= t;
    }
  }
}

export class PeerGroups {
  /** department → title → group. */
  private byJob = new Map<string, Map<string, PeerGroup>>();
  /** Per account index: its group, or null (inactive account or person). */
  groupOf: (PeerGroup | null)[] = [];

  constructor(
    private readonly ctx: OrgContext,
    private readonly cs: ConnState,
  ) {}

  clear(): void {
    this.byJob.clear();
    this.groupOf = [];
  }

  private groupFor(department: string, title: string): PeerGroup {
    let titles = this.byJob.get(department);
    if (!titles) {
      titles = new Map();
      this.byJob.set(department, titles);
    }
    let g = titles.get(title);
    if (!g) {
      const cs = this.cs;
      g = { department, title, members: new Set(), counts: new Int32Array(cs.W * 32), bundleCounts: new Int32Array(cs.BW * 32) };
      titles.set(title, g);
    }
    return g;
  }

  /** Every job (department and title) with a group. */
  jobs(): { department: string; title: string }[] {
    const out: { department: string; title: string }[] = [];
    for (const [department, titles] of this.byJob) for (const title of titles.keys()) out.push({ department, title });
    return out;
  }

  /** Members of the group of a job (none when it has no group). */
  membersOf(department: string, title: string): Iterable<number> {
    return this.byJob.get(department)?.get(title)?.members ?? [];
  }

  /** Puts account `a` in the group of its job (none for an inactive account or person). */
  join(a: number): PeerGroup | null {
    const cs = this.cs;
    const acct = cs.accounts[a];
    const p = acct && acct.active ? this.ctx.people.get(acct.personId) : undefined;
    if (!p || p.status !== 'active') {
      this.groupOf[a] = null;
      return null;
    }
    const g = this.groupFor(p.department, p.title);
    g.members.add(a);
    const rows = cs.index.rows();
    countBits(rows.eff, a * cs.W, cs.W, g.counts, 1);
    countBits(rows.held, a * cs.BW, cs.BW, g.bundleCounts, 1);
    this.groupOf[a] = g;
    return g;
  }

  leave(a: number): PeerGroup | null {
    const g = this.groupOf[a];
    if (!g) return null;
    const cs = this.cs;
    g.members.delete(a);
    const rows = cs.index.rows();
    countBits(rows.eff, a * cs.W, cs.W, g.counts, -1);
    countBits(rows.held, a * cs.BW, cs.BW, g.bundleCounts, -1);
    this.groupOf[a] = null;
    return g;
  }

  /**
   * Account `a`'s rows changed from `oldEff`/`oldHeld` to the current ones: updates its group's
   * counts, noting in `changes` each changed column's and bundle's count before its first change.
   */
  recount(a: number, oldEff: Uint32Array, oldHeld: Uint32Array, changes: Map<PeerGroup, GroupChange>): void {
    const g = this.groupOf[a];
    if (!g) return;
    const cs = this.cs;
    const { eff, held } = cs.index.rows();
    let c = changes.get(g);
    if (!c) {
      c = { cols: new Map(), bundles: new Map() };
      changes.set(g, c);
    }
    diff(oldEff, eff, a * cs.W, cs.W, g.counts, c.cols);
    diff(oldHeld, held, a * cs.BW, cs.BW, g.bundleCounts, c.bundles);
  }

  /**
   * The columns and bundles of a group change whose outlier findings can have changed. A member's
   * share for a subject is holders / peers with holders ≥ count − 1 (the member itself aside), so
   * when (min(count before, count after) − 1) / peers reaches the threshold, no member had a finding
   * for it before and none has one after: only rarer subjects are re-checked.
   */
  subjectsToRecheck(g: PeerGroup, c: GroupChange): OutlierSubjects | null {
    const th = this.ctx.thresholds;
    const peers = g.members.size - 1;
    if (peers < th.minPeerGroup) return null;
    const cols = new Set<number>();
    const bundles = new Set<number>();
    for (const [k, before] of c.cols) if (!((Math.min(before, g.counts[k]!) - 1) / peers >= th.peerOutlierShare)) cols.add(k);
    for (const [b, before] of c.bundles)
      if (!((Math.min(before, g.bundleCounts[b]!) - 1) / peers >= th.peerOutlierShare)) bundles.add(b);
    return cols.size > 0 || bundles.size > 0 ? { cols, bundles } : null;
  }

  /**
   * Members of `g` (those in `skip` aside) whose outlier findings for the subjects `s` can change:
   * those with an assignment (active or not) naming one of its bundles or a key of one of its
   * columns. When the index's grants naming the subjects are fewer than the group's members, from
   * those; otherwise one pass over the group: an active assignment's account holds what it names
   * (its grants then confirm it names it), except a key that prerequisites keep out, so for a column
   * with prerequisites its direct grants are looked up (or, when those are many, every member's).
   */
  recheckCandidates(g: PeerGroup, s: OutlierSubjects, skip: Map<number, unknown>): number[] {
    const ix = this.cs.index;
    const out = new Set<number>();
    const size = g.members.size;
    const bundles = [...s.bundles];
    const cols = [...s.cols];
    let total = 0;
    for (const b of bundles) total += ix.bundleGrantsOf(b).length;
    for (const c of cols) for (const k of ix.columnKeys(c)) total += ix.directGrantsOf(k).length;
    if (total <= size) {
      for (const b of bundles) this.addNamers(g, ix.bundleGrantsOf(b), skip, out);
      for (const c of cols) for (const k of ix.columnKeys(c)) this.addNamers(g, ix.directGrantsOf(k), skip, out);
      return [...out];
    }
    const gated = new Set(cols.filter((c) => ix.columnGated(c)));
    let gatedSlots = 0;
    for (const c of gated) for (const k of ix.columnKeys(c)) gatedSlots += ix.directGrantsOf(k).length;
    const lookUpGated = gatedSlots <= 4 * size;
    if (lookUpGated) for (const c of gated) for (const k of ix.columnKeys(c)) this.addNamers(g, ix.directGrantsOf(k), skip, out);
    const { eff, held, W, BW } = ix.rows();
    const bundleMask = wordMasks(bundles);
    const colMask = wordMasks(cols);
    const bundleSet = new Set(bundles);
    const colSet = new Set(cols);
    const none = new Set<number>();
    for (const m of g.members) {
      if (skip.has(m) || out.has(m)) continue;
      if (intersects(held, m * BW, bundleMask) || intersects(eff, m * W, colMask)) {
        if (this.namesAny(m, bundleSet, colSet)) out.add(m);
      } else if (!lookUpGated && gated.size > 0 && this.namesAny(m, none, gated)) out.add(m);
    }
    return [...out];
  }

  /** Adds the accounts of grant slots that are members of `g` (and not in `skip`). */
  private addNamers(g: PeerGroup, slots: readonly number[], skip: Map<number, unknown>, out: Set<number>): void {
    const ix = this.cs.index;
    for (const slot of slots) {
      const m = ix.grantAccount(slot);
      if (m >= 0 && this.groupOf[m] === g && !skip.has(m)) out.add(m);
    }
  }

  /** Whether account `m` has a grant naming one of `bundles` or a key of one of `cols`. */
  private namesAny(m: number, bundles: Set<number>, cols: Set<number>): boolean {
    const ix = this.cs.index;
    for (let g = ix.firstGrant(m); g >= 0; g = ix.nextGrant(g)) {
      const b = ix.grantBundle(g);
      if (b >= 0) {
        if (bundles.has(b)) return true;
      } else {
        const k = ix.grantKey(g);
        if (k >= 0 && cols.has(ix.column(k))) return true;
      }
    }
    return false;
  }
}

/** The words a set of bit positions touches, with the bits in each: [word, mask, word, mask, …]. */
function wordMasks(bits: readonly number[]): Int32Array {
  const byWord = new Map<number, number>();
  for (const i of bits) byWord.set(i >>> 5, (byWord.get(i >>> 5) ?? 0) | (1 << (i & 31)));
  const out = new Int32Array(byWord.size * 2);
  let j = 0;
  for (const [w, m] of byWord) {
    out[j++] = w;
    out[j++] = m;
  }
  return out;
}

function intersects(bits: Uint32Array, off: number, masks: Int32Array): boolean {
  for (let j = 0; j < masks.length; j += 2) if ((bits[off + masks[j]!]! & masks[j + 1]!) !== 0) return true;
  return false;
}

function diff(old: Uint32Array, now: Uint32Array, off: number, words: number, counts: Int32Array, out: Map<number, number>): void {
  for (let w = 0; w < words; w++) {
    const after = now[off + w]!;
    let d = old[w]! ^ after;
    while (d !== 0) {
      const t = d & -d;
      const k = (w << 5) + (31 - Math.clz32(t));
      if (!out.has(k)) out.set(k, counts[k]!);
      counts[k]! += (after & t) !== 0 ? 1 : -1;
      d ^= t;
    }
  }
}
