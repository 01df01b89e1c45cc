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
  /** Per column / bundle: the stamp of the last change that noted it (see GroupChange). */
  colNoted: Float64Array;
  bundleNoted: Float64Array;
  /**
   * Who names what: per subject (a bundle index b as b, a key id k as -k - 1), the members with an
   * assignment naming it, active or not, once per assignment. Kept from the group's creation (members
   * join with their assignments), so that no incremental change pays for building it.
   */
  namers: Map<number, number[]>;
}

/**
 * What changed in one group while rows changed: the changed columns and bundles, each with its count
 * before its first change (lists, with the group's marks saying which are noted: no map per change).
 */
export interface GroupChange {
  cols: number[];
  colsBefore: number[];
  bundles: number[];
  bundlesBefore: number[];
  /** The mark of this change in the group's `colNoted` / `bundleNoted`. */
  stamp: number;
}

/**
 * Subjects whose outlier findings can have changed: the changed columns and bundles. Membership is
 * kept as marks in arrays the connection's groups share, so only the latest one asked for answers
 * `hasCol`/`hasBundle` (they are used one group at a time).
 */
export class OutlierSubjects {
  readonly cols: number[] = [];
  readonly bundles: number[] = [];

  constructor(
    private readonly colMark: Float64Array,
    private readonly bundleMark: Float64Array,
    private readonly stamp: number,
  ) {}

  addCol(c: number): void {
    this.colMark[c] = this.stamp;
    this.cols.push(c);
  }

  addBundle(b: number): void {
    this.bundleMark[b] = this.stamp;
    this.bundles.push(b);
  }

  hasCol(c: number): boolean {
    return this.colMark[c] === this.stamp;
  }

  hasBundle(b: number): boolean {
    return this.bundleMark[b] === this.stamp;
  }
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
  /**
   * Stamps of group changes (GroupChange) and of subject sets (OutlierSubjects), and the latter's
   * marks: counters that only grow (kept in Float64Arrays, exact integers far beyond any run).
   */
  private changeStamp = 0;
  private subjectStamp = 0;
  private colMark = new Float64Array(0);
  private bundleMark = new Float64Array(0);

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
      g = {
        department,
        title,
        members: new Set(),
        counts: new Int32Array(cs.W * 32),
        bundleCounts: new Int32Array(cs.BW * 32),
        colNoted: new Float64Array(cs.W * 32),
        bundleNoted: new Float64Array(cs.BW * 32),
        namers: new Map(),
      };
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
      c = { cols: [], colsBefore: [], bundles: [], bundlesBefore: [], stamp: ++this.changeStamp };
      changes.set(g, c);
    }
    diff(oldEff, eff, a * cs.W, cs.W, g.counts, g.colNoted, c.stamp, c.cols, c.colsBefore);
    diff(oldHeld, held, a * cs.BW, cs.BW, g.bundleCounts, g.bundleNoted, c.stamp, c.bundles, c.bundlesBefore);
  }

  /**
   * The columns and bundles of a group change whose outlier findings can have changed. A member's
   * share for a subject is holders / peers with holders ≥ count − 1 (the member itself aside), so
   * when (min(count before, count after) − 1) / peers reaches the threshold, no member had a finding
   * for it before and none has one after: only rarer subjects are re-checked. The result answers
   * `hasCol`/`hasBundle` until the next call.
   */
  subjectsToRecheck(g: PeerGroup, c: GroupChange): OutlierSubjects | null {
    const th = this.ctx.thresholds;
    const peers = g.members.size - 1;
    if (peers < th.minPeerGroup) return null;
    const cs = this.cs;
    if (this.colMark.length !== cs.W * 32 || this.bundleMark.length !== cs.BW * 32) {
      this.colMark = new Float64Array(cs.W * 32);
      this.bundleMark = new Float64Array(cs.BW * 32);
    }
    const s = new OutlierSubjects(this.colMark, this.bundleMark, ++this.subjectStamp);
    for (let i = 0; i < c.cols.length; i++) {
      const k = c.cols[i]!;
      if (!((Math.min(c.colsBefore[i]!, g.counts[k]!) - 1) / peers >= th.peerOutlierShare)) s.addCol(k);
    }
    for (let i = 0; i < c.bundles.length; i++) {
      const b = c.bundles[i]!;
      if (!((Math.min(c.bundlesBefore[i]!, g.bundleCounts[b]!) - 1) / peers >= th.peerOutlierShare)) s.addBundle(b);
    }
    return s.cols.length > 0 || s.bundles.length > 0 ? s : null;
  }

  /**
   * Members of `g` (those in `skip` aside) whose outlier findings for the subjects `s` can change:
   * those with an assignment (active or not) naming one of its bundles or a key of one of its
   * columns, from the group's namers — as many as there are (rare subjects have few).
   */
  recheckCandidates(g: PeerGroup, s: OutlierSubjects, skip: Map<number, unknown>): Set<number> {
    const ix = this.cs.index;
    const namers = g.namers;
    const out = new Set<number>();
    for (let i = 0; i < s.bundles.length; i++) addAll(namers.get(s.bundles[i]!), skip, out);
    for (let i = 0; i < s.cols.length; i++) {
      const keys = ix.columnKeys(s.cols[i]!);
      for (let j = 0; j < keys.length; j++) addAll(namers.get(-keys[j]! - 1), skip, out);
    }
    return out;
  }
}

function addAll(members: readonly number[] | undefined, skip: Map<number, unknown>, out: Set<number>): void {
  if (members)
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (!skip.has(m)) out.add(m);
    }
}

/**
 * Applies one account's row change (`old` → the row at `off` of `now`) to `counts`, noting each
 * changed column (or bundle) with its count before, once per stamp.
 */
function diff(
  old: Uint32Array,
  now: Uint32Array,
  off: number,
  words: number,
  counts: Int32Array,
  noted: Float64Array,
  stamp: number,
  changed: number[],
  before: number[],
): void {
  for (let w = 0; w < words; w++) {
    const after = now[off + w]!;
    let d = old[w]! ^ after;
    while (d !== 0) {
      const t = d & -d;
      const k = (w << 5) + (31 - Math.clz32(t));
      if (noted[k] !== stamp) {
        noted[k] = stamp;
        changed.push(k);
        before.push(counts[k]!);
      }
      counts[k]! += (after & t) !== 0 ? 1 : -1;
      d ^= t;
    }
  }
}
