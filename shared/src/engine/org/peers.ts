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
  /**
   * Who names what: per subject (a bundle index b as b, a key id k as -k - 1), the members with an
   * assignment naming it, active or not, once per assignment. Built on the group's first re-check
   * (scans never need it), then kept up to date.
   */
  namers: Map<number, number[]> | null;
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
      g = { department, title, members: new Set(), counts: new Int32Array(cs.W * 32), bundleCounts: new Int32Array(cs.BW * 32), namers: null };
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
    this.indexGrants(g, a, true);
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
    this.indexGrants(g, a, false);
    this.groupOf[a] = null;
    return g;
  }

  /** Account `a`'s assignments are about to change: takes them out of its group's namers. */
  unindex(a: number): void {
    const g = this.groupOf[a];
    if (g) this.indexGrants(g, a, false);
  }

  /** Account `a`'s assignments changed: puts them (back) in its group's namers. */
  reindex(a: number): void {
    const g = this.groupOf[a];
    if (g) this.indexGrants(g, a, true);
  }

  private indexGrants(g: PeerGroup, a: number, add: boolean): void {
    if (g.namers === null) return;
    const ix = this.cs.index;
    for (let slot = ix.firstGrant(a); slot >= 0; slot = ix.nextGrant(slot)) {
      const b = ix.grantBundle(slot);
      const k = ix.grantKey(slot);
      if (b < 0 && k < 0) continue;
      const code = b >= 0 ? b : -k - 1;
      const list: number[] | undefined = g.namers.get(code);
      if (add) {
        if (list) list.push(a);
        else g.namers.set(code, [a]);
      } else if (list) {
        const at = list.lastIndexOf(a);
        if (at < 0) continue;
        list[at] = list[list.length - 1]!;
        list.pop();
        if (list.length === 0) g.namers.delete(code);
      }
    }
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
    for (const [b, before] of c.bundles) if (!((Math.min(before, g.bundleCounts[b]!) - 1) / peers >= th.peerOutlierShare)) bundles.add(b);
    return cols.size > 0 || bundles.size > 0 ? { cols, bundles } : null;
  }

  /**
   * Members of `g` (those in `skip` aside) whose outlier findings for the subjects `s` can change:
   * those with an assignment (active or not) naming one of its bundles or a key of one of its
   * columns, from the group's namers — as many as there are (rare subjects have few).
   */
  recheckCandidates(g: PeerGroup, s: OutlierSubjects, skip: Map<number, unknown>): number[] {
    const ix = this.cs.index;
    if (g.namers === null) {
      g.namers = new Map();
      for (const m of g.members) this.indexGrants(g, m, true);
    }
    const namers = g.namers;
    const out = new Set<number>();
    for (const b of s.bundles) addAll(namers.get(b), skip, out);
    for (const c of s.cols) for (const k of ix.columnKeys(c)) addAll(namers.get(-k - 1), skip, out);
    return [...out];
  }
}

function addAll(members: readonly number[] | undefined, skip: Map<number, unknown>, out: Set<number>): void {
  if (members) for (const m of members) if (!skip.has(m)) out.add(m);
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
