/**
 * The fast access index of one CRM connection.
 *
 * Keys are interned to integer ids (KeyUniverse). Keys that no possible set of grants tells apart
 * share a column (one bit): those implied by exactly the same source keys (the keys bundles,
 * assignments and the caller name) and needing the same prerequisites — so the org-wide record
 * scopes Modify All implies on every object cost a few columns, not a bit each. Each bundle's
 * closure (inherited bundles and implications) is a row of columns, computed once; each account's
 * row is the OR of the rows of its active bundle assignments and the closures of its direct grants,
 * with prerequisites applied. `can(account, key)` is two array reads and a shift. Grants live in flat
 * typed arrays (no object per grant). The provenance-rich paths (`effective`, `explain`) are computed
 * on demand from the source data and never slow down `can`.
 *
 * A grant naming a key that is not yet a source either keeps every column exact (checked) or
 * rebuilds the rows, as a key new to the universe does.
 */
import { parsePermissionKey } from '../permissions.ts';
import type { Assignment, Bundle } from '../schemas.ts';
import { forEachBit, hasBit, orRow, setBit, wordsFor } from './bitset.ts';
import { implicationChain, prerequisitesOfParsed, type ImplicationTable } from './implications.ts';
import { KeyUniverse } from './keys.ts';
import { parseInstant } from './time.ts';

/** One step on a path that grants a permission: a bundle, outermost (assigned) first. */
export interface BundleStep {
  bundleId: string;
  name: string;
  kind: Bundle['kind'];
}

/** One way an account holds a key. */
export interface GrantPath {
  /** The assignment the path starts from. */
  assignmentId: string;
  source: Assignment['source'];
  requestId: string | null;
  expiresAt: string | null;
  /** Bundles from the assigned one down to the one that lists the key; empty for a direct grant. */
  bundles: BundleStep[];
  /** Set when the key is held because another key implies it (e.g. edit implies read). */
  impliedBy: string | null;
}

/** Bundle inheritance that loops: thrown naming the cycle, so a bad import fails loudly. */
export class BundleCycleError extends Error {
  constructor(readonly cycle: string[]) {
    super(`bundle inheritance has a cycle: ${cycle.join(' → ')}`);
    this.name = 'BundleCycleError';
  }
}

/** An assignment counts from grantedAt (inclusive) until expiresAt (exclusive), unless revoked. */
export function isAssignmentActive(a: Assignment, now: Date): boolean {
  const t = now.getTime();
  if (a.revokedAt !== null && Date.parse(a.revokedAt) <= t) return false;
  if (Date.parse(a.grantedAt) > t) return false;
  if (a.expiresAt !== null && Date.parse(a.expiresAt) <= t) return false;
  return true;
}

/**
 * One active or inactive assignment, with its dates parsed once. The index keeps grants in flat
 * arrays (no object per grant); `grantsOf` and `grantOf` return these views of them.
 */
export interface Grant {
  readonly assignment: Assignment;
  readonly account: number;
  /** Bundle index for a bundle assignment, else -1. */
  readonly bundle: number;
  /** Key id for a direct grant, else -1. */
  readonly keyId: number;
  readonly start: number;
  readonly end: number;
  readonly revoked: number;
}

export const grantActiveAt = (g: Grant, t: number): boolean => g.revoked > t && g.start <= t && g.end > t;

/** A way an account holds a key, with the implication chain from the key actually granted. */
export interface EnginePath extends GrantPath {
  /** Keys from the one granted (by the bundle or the direct grant) down to the explained key. */
  implication: string[];
}

export type InactiveReason = 'expired' | 'revoked' | 'not-started';

export type EngineExplanation =
  | { key: string; allowed: true; paths: EnginePath[] }
  | {
      key: string;
      allowed: false;
      /** Bundles of this connection whose closure holds the key, smallest first. */
      grantableBy: BundleStep[];
      /** Keys that would grant it if held (itself first, then the narrowest impliers). */
      grantingKeys: string[];
      /** The account's assignments that would grant it but do not count now, and why. */
      inactive: { path: EnginePath; reason: InactiveReason }[];
      /**
       * Keys the account holds `key` without but needs before it is allowed (the CRM's prerequisites,
       * e.g. Dataverse Assign needs Write and Read); empty when the key itself is not held.
       */
      missingPrerequisites: string[];
      /** When `missingPrerequisites` is not empty: the ways the account holds the key itself. */
      heldPaths: EnginePath[];
    };

export interface AccessIndexInput {
  connectionId: string;
  table: ImplicationTable;
  bundles: Iterable<Bundle>;
  accountIds: Iterable<string>;
  assignments: Iterable<Assignment>;
  /** Keys the universe must contain besides those in bundles and assignments (catalog, policy). */
  keys?: Iterable<string>;
  now: Date;
}

const parseTime = (s: string | null, fallback: number): number => {
  if (s === null) return fallback;
  const t = parseInstant(s);
  return Number.isNaN(t) ? fallback : t;
};

const EMPTY = new Int32Array(0);

/** Whether the sorted `list` contains `x`. */
function sortedHas(list: Int32Array, x: number): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = list[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function growInt32(old: Int32Array, size: number, fill: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(size).fill(fill);
  next.set(old.subarray(0, Math.min(old.length, size)));
  return next;
}

function growFloat64(old: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const next = new Float64Array(size);
  next.set(old.subarray(0, Math.min(old.length, size)));
  return next;
}

export class AccessIndex {
  readonly connectionId: string;
  readonly universe: KeyUniverse;
  private nowMs: number;

  // ---- columns: keys that every possible account holds together share one bit ----
  /** Per key id: 1 when a bundle, an assignment or the input keys name it (a "source" key). */
  private source = new Uint8Array(0);
  /** Per key id: its column. */
  private colOf = new Int32Array(0);
  /** Per column: its key ids, ascending. */
  private colKeys: Int32Array[] = [];
  /** Per column: how many keys it stands for. */
  private colSize = new Int32Array(0);
  /** Per key id: the columns of its closure, ascending (computed on first use). */
  private colClosure: (Int32Array | undefined)[] = [];
  /** Per column: the columns its keys need (their prerequisites), and a mask of columns with any. */
  private colPrereqs: Int32Array[] = [];
  private gateMask = new Uint32Array(0);
  private hasGates = false;
  private nestedGates = false;

  // ---- bundles ----
  private bundleList: Bundle[] = [];
  private bundleIdx = new Map<string, number>();
  /** Words per account row (columns) and per bundle row. */
  private W = 1;
  private BW = 1;
  private bundleEff = new Uint32Array(0);
  /** Per bundle: the key ids it lists, itself or through included bundles, ascending. */
  private bundleListed: Int32Array[] = [];
  private bundleReach = new Uint32Array(0);
  private bundleSize: number[] = [];
  private chainCache = new Map<number, BundleStep[][]>();

  // ---- accounts ----
  private accountList: string[] = [];
  private accountIdx = new Map<string, number>();
  /** Rows allocated (eff, held). */
  private capacity = 0;
  private eff = new Uint32Array(0);
  private held = new Uint32Array(0);
  /** Per account: first and last grant of its list (-1 = none), in the order the grants came. */
  private head = new Int32Array(0);
  private tail = new Int32Array(0);

  // ---- grants, one slot each in flat arrays ----
  private gAssignment: (Assignment | null)[] = [];
  private gAccount = new Int32Array(0);
  private gBundle = new Int32Array(0);
  private gKey = new Int32Array(0);
  private gStart = new Float64Array(0);
  private gEnd = new Float64Array(0);
  private gRevoked = new Float64Array(0);
  /** Next grant of the same account, or the next free slot for a free slot; -1 ends. */
  private gNext = new Int32Array(0);
  private gUsed = 0;
  private gFree = -1;
  private grantById = new Map<string, number>();

  /** How many times every row was rebuilt (the key universe, the columns or the bundle set outgrew the rows). */
  rebuilds = 0;
  /** Warnings collected while indexing (unknown bundles), for admins. */
  readonly warnings: string[] = [];

  constructor(input: AccessIndexInput) {
    this.connectionId = input.connectionId;
    this.nowMs = input.now.getTime();
    const bundles = [...input.bundles];
    const assignments = [...input.assignments];
    const universe = new KeyUniverse(input.table);
    const named: number[] = [];
    for (const k of input.keys ?? []) named.push(universe.intern(k));
    for (const b of bundles) for (const k of b.permissions) named.push(universe.intern(k));
    for (const a of assignments) if (a.target.type === 'permission') named.push(universe.intern(a.target.key));
    universe.close();
    this.universe = universe;
    this.source = new Uint8Array(universe.size);
    for (const k of named) this.source[k] = 1;
    for (const b of bundles) this.addBundleEntry(b);
    for (const id of input.accountIds) this.addAccountEntry(id);
    // Room for the assignments and an eighth more: the first grants made later copy nothing.
    this.reserveGrants(assignments.length + (assignments.length >>> 3) + 64);
    for (const a of assignments) this.addGrantEntry(a);
    this.rebuildAll();
  }

  // ================= fast path =================

  /** Whether account `account` holds key `keyId` now. Both must be valid ids of this index. */
  can(account: number, keyId: number): boolean {
    const c = this.colOf[keyId]!;
    return ((this.eff[account * this.W + (c >>> 5)]! >>> (c & 31)) & 1) === 1;
  }

  /** `can` by string ids; keys outside the universe are decided through the implication rules. */
  canKey(accountId: string, key: string): boolean {
    const a = this.accountIdx.get(accountId);
    if (a === undefined) return false;
    const k = this.universe.id(key);
    if (k >= 0) return this.can(a, k);
    return this.holdsOutside(a, key) && this.prerequisitesOutside(key).every((r) => this.canKey(accountId, r));
  }

  /** Whether the account holds a key outside the universe (implied by a granted key), prerequisites aside. */
  private holdsOutside(a: number, key: string): boolean {
    const table = this.universe.table;
    return this.grantedKeys(a).some((g) => implicationChain(g, key, table, this.universe.objects) !== null);
  }

  private prerequisitesOutside(key: string): string[] {
    const p = parsePermissionKey(key);
    return p.ok ? prerequisitesOfParsed(p.value, this.universe.table) : [];
  }

  /** The prerequisites of `key` the account does not have (empty when it has them all). */
  missingPrerequisites(accountId: string, key: string): string[] {
    const k = this.universe.id(key);
    const reqs = k >= 0 ? [...this.universe.prerequisites(k)].map((r) => this.universe.key(r)) : this.prerequisitesOutside(key);
    return reqs.filter((r) => !this.canKey(accountId, r));
  }

  keyId(key: string): number {
    return this.universe.id(key);
  }

  accountIndex(accountId: string): number {
    return this.accountIdx.get(accountId) ?? -1;
  }

  accountId(index: number): string {
    return this.accountList[index]!;
  }

  get accountCount(): number {
    return this.accountList.length;
  }

  get keyCount(): number {
    return this.universe.size;
  }

  /** Words per account row (a row has one bit per column, see `column`). */
  get wordsPerKeyRow(): number {
    return this.W;
  }

  /**
   * The bit of account rows that stands for key `keyId`. Keys share a column when no possible set
   * of grants tells them apart: the same source keys (those bundles, assignments and the input name)
   * imply them and they need the same prerequisites — e.g. Modify All's org-wide record scopes.
   */
  column(keyId: number): number {
    return this.colOf[keyId]!;
  }

  get columnCount(): number {
    return this.colKeys.length;
  }

  /** Key ids a column stands for, ascending. */
  columnKeys(column: number): Int32Array {
    return this.colKeys[column] ?? EMPTY;
  }

  /** Columns of every key `keyId` implies (itself included), ascending. */
  closureColumns(keyId: number): Int32Array {
    let cols = this.colClosure[keyId];
    if (cols === undefined) {
      const set = new Set<number>();
      for (const k of this.universe.closure(keyId)) set.add(this.colOf[k]!);
      cols = Int32Array.from(set).sort();
      this.colClosure[keyId] = cols;
    }
    return cols;
  }

  bundleIndex(bundleId: string): number {
    return this.bundleIdx.get(bundleId) ?? -1;
  }

  bundle(index: number): Bundle {
    return this.bundleList[index]!;
  }

  get bundleCount(): number {
    return this.bundleList.length;
  }

  /** Whether the account holds bundle `b` now, directly or through inheritance. */
  holdsBundle(account: number, b: number): boolean {
    return hasBit(this.held, account * this.BW, b);
  }

  /** Whether the account holds `keyId` by an active grant that names it (not only by implication). */
  isGranted(account: number, keyId: number): boolean {
    const t = this.nowMs;
    for (let g = this.head[account] ?? -1; g >= 0; g = this.gNext[g]!) {
      if (!this.grantActive(g, t)) continue;
      const b = this.gBundle[g]!;
      if (b >= 0 ? sortedHas(this.bundleListed[b]!, keyId) : this.gKey[g] === keyId) return true;
    }
    return false;
  }

  /** Raw rows (one bit per column), for scans (do not mutate). */
  rows(): { eff: Uint32Array; held: Uint32Array; W: number; BW: number } {
    return { eff: this.eff, held: this.held, W: this.W, BW: this.BW };
  }

  /** Key ids bundle `b` lists, itself or through included bundles, ascending. */
  bundleListedKeys(b: number): Int32Array {
    return this.bundleListed[b] ?? EMPTY;
  }

  /** Columns of every key bundle `b` grants (listed or implied; prerequisites not applied). */
  bundleEffRow(b: number): { bits: Uint32Array; offset: number } {
    return { bits: this.bundleEff, offset: b * this.W };
  }

  /** Every key id the account holds now, ascending. */
  heldKeyIds(account: number): number[] {
    const off = account * this.W;
    let n = 0;
    for (let w = 0; w < this.W; w++) for (let v = this.eff[off + w]!; v !== 0; v &= v - 1) n += this.colSize[(w << 5) + (31 - Math.clz32(v & -v))]!;
    const out = new Int32Array(n);
    let i = 0;
    for (let w = 0; w < this.W; w++)
      for (let v = this.eff[off + w]!; v !== 0; v &= v - 1) for (const k of this.colKeys[(w << 5) + (31 - Math.clz32(v & -v))]!) out[i++] = k;
    return Array.from(out.sort());
  }

  heldKeys(account: number): string[] {
    return this.heldKeyIds(account).map((k) => this.universe.key(k));
  }

  /** Key ids the account's active grants name (bundles listing them, direct grants), ascending. */
  grantedKeyIds(account: number): number[] {
    const set = new Set<number>();
    const t = this.nowMs;
    for (let g = this.head[account] ?? -1; g >= 0; g = this.gNext[g]!) {
      if (!this.grantActive(g, t)) continue;
      const b = this.gBundle[g]!;
      if (b >= 0) for (const k of this.bundleListed[b]!) set.add(k);
      else if (this.gKey[g]! >= 0) set.add(this.gKey[g]!);
    }
    return [...set].sort((x, y) => x - y);
  }

  grantedKeys(account: number): string[] {
    return this.grantedKeyIds(account).map((k) => this.universe.key(k));
  }

  heldCount(account: number): number {
    const off = account * this.W;
    let n = 0;
    for (let w = 0; w < this.W; w++) for (let v = this.eff[off + w]!; v !== 0; v &= v - 1) n += this.colSize[(w << 5) + (31 - Math.clz32(v & -v))]!;
    return n;
  }

  /** Whether bundle `b` lists key `k` (itself or through included bundles), or grants it by implication. */
  bundleHas(b: number, k: number, implied: boolean): boolean {
    return implied ? hasBit(this.bundleEff, b * this.W, this.colOf[k]!) : sortedHas(this.bundleListed[b]!, k);
  }

  get now(): number {
    return this.nowMs;
  }

  // ---- grants: flat access by slot (the org engine's scans), and views ----

  /** First grant slot of the account (-1 when none); `nextGrant` walks the list in arrival order. */
  firstGrant(account: number): number {
    return this.head[account] ?? -1;
  }

  nextGrant(g: number): number {
    return this.gNext[g]!;
  }

  grantAssignment(g: number): Assignment {
    return this.gAssignment[g]!;
  }

  grantAccount(g: number): number {
    return this.gAccount[g]!;
  }

  /** Bundle index of a bundle grant (-1 for a direct grant or an unknown bundle). */
  grantBundle(g: number): number {
    return this.gBundle[g]!;
  }

  /** Key id of a direct grant (-1 for a bundle grant). */
  grantKey(g: number): number {
    return this.gKey[g]!;
  }

  grantStart(g: number): number {
    return this.gStart[g]!;
  }

  grantEnd(g: number): number {
    return this.gEnd[g]!;
  }

  grantRevoked(g: number): number {
    return this.gRevoked[g]!;
  }

  grantActive(g: number, t: number): boolean {
    return this.gRevoked[g]! > t && this.gStart[g]! <= t && this.gEnd[g]! > t;
  }

  /** Slot of an assignment's grant, or -1. */
  grantSlot(assignmentId: string): number {
    return this.grantById.get(assignmentId) ?? -1;
  }

  private grantView(g: number): Grant {
    return {
      assignment: this.gAssignment[g]!,
      account: this.gAccount[g]!,
      bundle: this.gBundle[g]!,
      keyId: this.gKey[g]!,
      start: this.gStart[g]!,
      end: this.gEnd[g]!,
      revoked: this.gRevoked[g]!,
    };
  }

  grantOf(assignmentId: string): Grant | undefined {
    const g = this.grantById.get(assignmentId);
    return g === undefined ? undefined : this.grantView(g);
  }

  grantsOf(account: number): readonly Grant[] {
    const out: Grant[] = [];
    for (let g = this.head[account] ?? -1; g >= 0; g = this.gNext[g]!) out.push(this.grantView(g));
    return out;
  }

  // ================= building =================

  private addBundleEntry(b: Bundle): number {
    const known = this.bundleIdx.get(b.id);
    if (known !== undefined) {
      this.bundleList[known] = b;
      return known;
    }
    const i = this.bundleList.length;
    this.bundleList.push(b);
    this.bundleIdx.set(b.id, i);
    return i;
  }

  private addAccountEntry(id: string): number {
    const known = this.accountIdx.get(id);
    if (known !== undefined) return known;
    const i = this.accountList.length;
    this.accountList.push(id);
    this.accountIdx.set(id, i);
    if (i >= this.head.length) {
      const cap = Math.max(i + 1, Math.ceil(this.head.length * 1.5) + 16);
      this.head = growInt32(this.head, cap, -1);
      this.tail = growInt32(this.tail, cap, -1);
    }
    return i;
  }

  private resolveGrantTarget(g: number): void {
    const t = this.gAssignment[g]!.target;
    if (t.type === 'bundle') {
      this.gBundle[g] = this.bundleIdx.get(t.bundleId) ?? -1;
      this.gKey[g] = -1;
    } else {
      this.gBundle[g] = -1;
      this.gKey[g] = this.universe.id(t.key);
    }
  }

  private allocGrant(): number {
    if (this.gFree >= 0) {
      const g = this.gFree;
      this.gFree = this.gNext[g]!;
      return g;
    }
    if (this.gUsed >= this.gAccount.length) this.reserveGrants(Math.max(64, Math.ceil(this.gAccount.length * 1.5)));
    return this.gUsed++;
  }

  /** Makes room for `cap` grant slots. */
  private reserveGrants(cap: number): void {
    if (cap <= this.gAccount.length) return;
    this.gAccount = growInt32(this.gAccount, cap, -1);
    this.gBundle = growInt32(this.gBundle, cap, -1);
    this.gKey = growInt32(this.gKey, cap, -1);
    this.gNext = growInt32(this.gNext, cap, -1);
    this.gStart = growFloat64(this.gStart, cap);
    this.gEnd = growFloat64(this.gEnd, cap);
    this.gRevoked = growFloat64(this.gRevoked, cap);
    const refs: (Assignment | null)[] = new Array(cap).fill(null);
    for (let g = 0; g < this.gUsed; g++) refs[g] = this.gAssignment[g]!;
    this.gAssignment = refs;
  }

  /** Takes grant `g` out of its account's list and frees its slot. */
  private dropGrant(g: number): void {
    const a = this.gAccount[g]!;
    let prev = -1;
    for (let x = this.head[a]!; x >= 0 && x !== g; x = this.gNext[x]!) prev = x;
    const next = this.gNext[g]!;
    if (prev < 0) this.head[a] = next;
    else this.gNext[prev] = next;
    if (this.tail[a] === g) this.tail[a] = prev;
    this.gAssignment[g] = null;
    this.gAccount[g] = -1;
    this.gKey[g] = -1;
    this.gBundle[g] = -1;
    this.gNext[g] = this.gFree;
    this.gFree = g;
  }

  private addGrantEntry(a: Assignment): number {
    const account = this.addAccountEntry(a.accountId);
    const old = this.grantById.get(a.id);
    if (old !== undefined) this.dropGrant(old);
    const g = this.allocGrant();
    this.gAssignment[g] = a;
    this.gAccount[g] = account;
    this.gStart[g] = parseTime(a.grantedAt, -Infinity);
    this.gEnd[g] = parseTime(a.expiresAt, Infinity);
    this.gRevoked[g] = parseTime(a.revokedAt, Infinity);
    this.gNext[g] = -1;
    this.resolveGrantTarget(g);
    const last = this.tail[account]!;
    if (last < 0) this.head[account] = g;
    else this.gNext[last] = g;
    this.tail[account] = g;
    this.grantById.set(a.id, g);
    return g;
  }

  /** Marks key `k` as named by a bundle or an assignment; false when that splits a column (rebuild). */
  private addSource(k: number): boolean {
    if (this.source[k] === 1) return true;
    this.source[k] = 1;
    // The columns stay exact when the closure of `k` takes every key of a column or none of them.
    const counts = new Map<number, number>();
    for (const j of this.universe.closure(k)) {
      const c = this.colOf[j]!;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    for (const [c, n] of counts) if (n !== this.colSize[c]) return false;
    return true;
  }

  private growSources(): void {
    const n = this.universe.size;
    if (this.source.length >= n) return;
    const next = new Uint8Array(n);
    next.set(this.source);
    this.source = next;
  }

  /**
   * Columns: keys implied by exactly the same source keys, with the same prerequisites, are held
   * (and allowed) together by every account, whatever its grants, so they share one bit.
   */
  private buildColumns(): void {
    const U = this.universe;
    const n = U.size;
    this.growSources();
    const impliers: number[][] = new Array(n);
    for (let k = 0; k < n; k++) impliers[k] = [];
    for (let s = 0; s < n; s++) if (this.source[s] === 1) for (const k of U.closure(s)) impliers[k]!.push(s);
    const bySignature = new Map<string, number>();
    const colOf = new Int32Array(n);
    const members: number[][] = [];
    for (let k = 0; k < n; k++) {
      const reqs = Array.from(U.prerequisites(k)).sort((x, y) => x - y);
      const sig = `${impliers[k]!.join(',')}|${reqs.join(',')}`;
      let c = bySignature.get(sig);
      if (c === undefined) {
        c = members.length;
        bySignature.set(sig, c);
        members.push([]);
      }
      colOf[k] = c;
      members[c]!.push(k);
    }
    this.colOf = colOf;
    this.colKeys = members.map((m) => Int32Array.from(m));
    this.colSize = Int32Array.from(members, (m) => m.length);
    this.colClosure = [];
  }

  /** Topological closure of every bundle. Throws BundleCycleError naming the cycle. */
  private buildBundles(): void {
    const n = this.bundleList.length;
    const W = this.W;
    const BW = this.BW;
    this.bundleEff = new Uint32Array(n * W);
    this.bundleReach = new Uint32Array(n * BW);
    this.bundleListed = new Array(n);
    this.chainCache.clear();
    const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
    const stack: number[] = [];
    const visit = (b: number) => {
      if (state[b] === 2) return;
      if (state[b] === 1) {
        const from = stack.indexOf(b);
        throw new BundleCycleError([...stack.slice(from), b].map((i) => this.bundleList[i]!.name));
      }
      state[b] = 1;
      stack.push(b);
      const bundle = this.bundleList[b]!;
      const off = b * W;
      const listed = new Set<number>();
      setBit(this.bundleReach, b * BW, b);
      for (const key of bundle.permissions) {
        const k = this.universe.id(key);
        listed.add(k);
        for (const c of this.closureColumns(k)) setBit(this.bundleEff, off, c);
      }
      for (const incId of bundle.includes) {
        const inc = this.bundleIdx.get(incId);
        if (inc === undefined) {
          this.warnings.push(`bundle "${bundle.name}" includes unknown bundle "${incId}"`);
          continue;
        }
        visit(inc);
        orRow(this.bundleEff, off, this.bundleEff, inc * W, W);
        orRow(this.bundleReach, b * BW, this.bundleReach, inc * BW, BW);
        for (const k of this.bundleListed[inc]!) listed.add(k);
      }
      this.bundleListed[b] = Int32Array.from(listed).sort();
      stack.pop();
      state[b] = 2;
    };
    for (let b = 0; b < n; b++) visit(b);
    // "Smallest" = fewest effective keys: the least privilege that would do.
    this.bundleSize = Array.from({ length: n }, (_, b) => {
      let keys = 0;
      forEachBit(this.bundleEff, b * W, W, (c) => (keys += this.colSize[c]!));
      return keys;
    });
  }

  private ensureCapacity(accounts: number): boolean {
    if (accounts <= this.capacity) return false;
    const cap = Math.max(accounts, Math.ceil(this.capacity * 1.25) + 16);
    const grow = (old: Uint32Array, words: number) => {
      const next = new Uint32Array(cap * words);
      next.set(old.subarray(0, Math.min(old.length, next.length)));
      return next;
    };
    this.eff = grow(this.eff, this.W);
    this.held = grow(this.held, this.BW);
    this.capacity = cap;
    return true;
  }

  /** Recomputes columns, bundle closures and every account row (after the universe, the columns or the bundle set changed). */
  rebuildAll(): void {
    this.rebuilds++;
    this.universe.close();
    this.buildColumns();
    for (let g = 0; g < this.gUsed; g++) if (this.gAssignment[g]) this.resolveGrantTarget(g);
    this.W = wordsFor(this.colKeys.length);
    this.BW = wordsFor(this.bundleList.length + 32);
    this.buildGates();
    this.buildBundles();
    this.capacity = 0;
    this.eff = new Uint32Array(0);
    this.held = new Uint32Array(0);
    this.ensureCapacity(this.accountList.length);
    for (let a = 0; a < this.accountList.length; a++) this.computeAccount(a);
  }

  private buildGates(): void {
    const C = this.colKeys.length;
    this.gateMask = new Uint32Array(this.W);
    this.colPrereqs = new Array(C);
    this.hasGates = false;
    for (let c = 0; c < C; c++) {
      const set = new Set<number>();
      for (const r of this.universe.prerequisites(this.colKeys[c]![0]!)) set.add(this.colOf[r]!);
      this.colPrereqs[c] = Int32Array.from(set);
      if (set.size > 0) {
        setBit(this.gateMask, 0, c);
        this.hasGates = true;
      }
    }
    this.nestedGates = false;
    for (let c = 0; c < C; c++) if (hasBit(this.gateMask, 0, c)) for (const r of this.colPrereqs[c]!) if (hasBit(this.gateMask, 0, r)) this.nestedGates = true;
  }

  /**
   * Clears, in the row at `off`, every column whose prerequisites the row does not hold: what
   * remains is the largest set of held keys whose prerequisites are all allowed.
   */
  private applyPrerequisites(bits: Uint32Array, off: number): void {
    if (!this.hasGates) return;
    const W = this.W;
    const mask = this.gateMask;
    for (let changed = true; changed; ) {
      changed = false;
      for (let w = 0; w < W; w++) {
        let m = bits[off + w]! & mask[w]!;
        while (m !== 0) {
          const low = m & -m;
          m ^= low;
          const c = (w << 5) | (31 - Math.clz32(low));
          for (const r of this.colPrereqs[c]!) {
            if (!hasBit(bits, off, r)) {
              bits[off + w]! &= ~low;
              changed = true;
              break;
            }
          }
        }
      }
      if (!this.nestedGates) break;
    }
  }

  /** Recomputes one account's rows from its grants. */
  computeAccount(a: number): void {
    const W = this.W;
    const BW = this.BW;
    const off = a * W;
    const hoff = a * BW;
    const eff = this.eff;
    const held = this.held;
    eff.fill(0, off, off + W);
    held.fill(0, hoff, hoff + BW);
    const t = this.nowMs;
    for (let g = this.head[a]!; g >= 0; g = this.gNext[g]!) {
      if (!(this.gRevoked[g]! > t && this.gStart[g]! <= t && this.gEnd[g]! > t)) continue;
      const b = this.gBundle[g]!;
      if (b >= 0) {
        orRow(eff, off, this.bundleEff, b * W, W);
        orRow(held, hoff, this.bundleReach, b * BW, BW);
      } else {
        const k = this.gKey[g]!;
        if (k >= 0) for (const c of this.closureColumns(k)) eff[off + (c >>> 5)]! |= 1 << (c & 31);
      }
    }
    this.applyPrerequisites(eff, off);
  }

  /** Moves the clock; returns the accounts whose rows changed. */
  setNow(now: Date): number[] {
    const changed = this.accountsCrossing(now);
    this.nowMs = now.getTime();
    for (const a of changed) this.computeAccount(a);
    return changed;
  }

  /**
   * Moves the clock forward to `now`, recomputing the rows of `accounts` only. The caller guarantees
   * that `accounts` holds every account with a grant that starts, ends or is revoked in (clock, now]
   * (the org engine keeps each account's next such instant); `setNow` finds them by a scan instead.
   */
  advanceClock(now: Date, accounts: Iterable<number>): void {
    this.nowMs = now.getTime();
    for (const a of accounts) this.computeAccount(a);
  }

  /** Accounts holding a grant that starts, ends or is revoked between the clock and `now`, ascending. */
  accountsCrossing(now: Date): number[] {
    const t = now.getTime();
    const lo = Math.min(this.nowMs, t);
    const hi = Math.max(this.nowMs, t);
    const mark = new Uint8Array(this.accountList.length);
    for (let g = 0; g < this.gUsed; g++) {
      const a = this.gAccount[g]!;
      if (a < 0) continue;
      const s = this.gStart[g]!;
      const e = this.gEnd[g]!;
      const r = this.gRevoked[g]!;
      if ((s > lo && s <= hi) || (e > lo && e <= hi) || (r > lo && r <= hi)) mark[a] = 1;
    }
    const out: number[] = [];
    for (let a = 0; a < mark.length; a++) if (mark[a] === 1) out.push(a);
    return out;
  }

  // ================= incremental changes =================

  /** Adds or replaces an assignment; returns the accounts whose rows were recomputed. */
  upsertAssignment(a: Assignment): number[] {
    const old = this.grantById.get(a.id);
    const touched = new Set<number>();
    if (old !== undefined) touched.add(this.gAccount[old]!);
    let rebuild = false;
    if (a.target.type === 'permission') {
      const k = this.universe.id(a.target.key);
      if (k < 0) {
        const id = this.universe.intern(a.target.key);
        this.universe.close();
        this.growSources();
        this.source[id] = 1;
        rebuild = true;
      } else if (!this.addSource(k)) rebuild = true;
    }
    const g = this.addGrantEntry(a);
    touched.add(this.gAccount[g]!);
    this.ensureCapacity(this.accountList.length);
    if (rebuild) {
      this.rebuildAll();
      return this.accountList.map((_, i) => i);
    }
    for (const acc of touched) this.computeAccount(acc);
    return [...touched];
  }

  /** Removes an assignment (e.g. deleted in the CRM); returns the recomputed account. */
  removeAssignment(assignmentId: string): number[] {
    const g = this.grantById.get(assignmentId);
    if (g === undefined) return [];
    this.grantById.delete(assignmentId);
    const account = this.gAccount[g]!;
    this.dropGrant(g);
    this.computeAccount(account);
    return [account];
  }

  /** Adds an account with no assignments yet (no-op when known). */
  addAccount(accountId: string): number {
    const a = this.addAccountEntry(accountId);
    this.ensureCapacity(this.accountList.length);
    return a;
  }

  /**
   * Accounts whose rows a change of bundle `bundleId` can touch: those holding it now (directly or
   * through another bundle) and those with an assignment naming it before it exists.
   */
  accountsReachedByBundle(bundleId: string): number[] {
    const b = this.bundleIdx.get(bundleId);
    const out = new Set(b === undefined ? [] : this.accountsHoldingBundle(b));
    for (const a of this.accountsAwaitingBundle(bundleId)) out.add(a);
    return [...out];
  }

  /** Accounts with an assignment naming bundle `bundleId` while no such bundle is known. */
  accountsAwaitingBundle(bundleId: string): number[] {
    const out = new Set<number>();
    for (let g = 0; g < this.gUsed; g++) {
      const as = this.gAssignment[g];
      if (as && this.gBundle[g]! < 0 && as.target.type === 'bundle' && as.target.bundleId === bundleId) out.add(this.gAccount[g]!);
    }
    return [...out];
  }

  /**
   * Adds or replaces a bundle. Recomputes the bundle rows and the accounts holding it (directly or
   * through another bundle); returns those accounts, or every account when the rows were rebuilt.
   * Throws BundleCycleError (and leaves the index unchanged) if the change would create a cycle.
   */
  upsertBundle(b: Bundle): number[] {
    const prev = this.bundleIdx.get(b.id);
    const prevBundle = prev === undefined ? undefined : this.bundleList[prev];
    const affectedBefore = prev === undefined ? [] : this.accountsHoldingBundle(prev);
    let grew = false;
    for (const k of b.permissions) if (this.universe.id(k) < 0) this.universe.intern(k), (grew = true);
    let split = false;
    if (grew) {
      this.universe.close();
      this.growSources();
      for (const k of b.permissions) this.source[this.universe.id(k)] = 1;
    } else for (const k of b.permissions) if (!this.addSource(this.universe.id(k))) split = true;
    const i = this.addBundleEntry(b);
    try {
      if (grew || split || this.bundleList.length > this.BW * 32) {
        this.rebuildAll();
        return this.accountList.map((_, x) => x);
      }
      this.buildBundles();
    } catch (e) {
      if (prevBundle) this.bundleList[i] = prevBundle;
      else {
        this.bundleList.pop();
        this.bundleIdx.delete(b.id);
      }
      this.rebuildAll();
      throw e;
    }
    // Assignments that named this bundle before it existed now resolve.
    const affected = new Set(affectedBefore);
    for (let g = 0; g < this.gUsed; g++) {
      const as = this.gAssignment[g];
      if (as && as.target.type === 'bundle' && this.gBundle[g]! < 0 && as.target.bundleId === b.id) {
        this.gBundle[g] = i;
        affected.add(this.gAccount[g]!);
      }
    }
    for (const a of this.accountsHoldingBundle(i)) affected.add(a);
    for (const a of affected) this.computeAccount(a);
    return [...affected];
  }

  /** Accounts holding bundle index `b` now (directly or through inheritance). */
  accountsHoldingBundle(b: number): number[] {
    const out: number[] = [];
    const BW = this.BW;
    const w = b >>> 5;
    const bit = 1 << (b & 31);
    for (let a = 0; a < this.accountList.length; a++) if ((this.held[a * BW + w]! & bit) !== 0) out.push(a);
    return out;
  }

  // ================= provenance (slow path) =================

  private step(b: number): BundleStep {
    const x = this.bundleList[b]!;
    return { bundleId: x.id, name: x.name, kind: x.kind };
  }

  /** Every chain of bundles from `b` down to each bundle it reaches (all paths; b itself first). */
  private chainsFrom(b: number): BundleStep[][] {
    const cached = this.chainCache.get(b);
    if (cached) return cached;
    const head = this.step(b);
    const out: BundleStep[][] = [[head]];
    for (const incId of this.bundleList[b]!.includes) {
      const inc = this.bundleIdx.get(incId);
      if (inc === undefined) continue;
      for (const chain of this.chainsFrom(inc)) out.push([head, ...chain]);
    }
    this.chainCache.set(b, out);
    return out;
  }

  private chainBetween(granted: string, key: string): string[] | null {
    const from = this.universe.id(granted);
    const to = this.universe.id(key);
    if (from >= 0 && to >= 0) return this.universe.chain(from, to);
    return implicationChain(granted, key, this.universe.table, this.universe.objects);
  }

  /** The (granted key, bundle chain) pairs of one grant. */
  private sourcesOf(g: number): { key: string; bundles: BundleStep[] }[] {
    const t = this.gAssignment[g]!.target;
    if (t.type === 'permission') return [{ key: t.key, bundles: [] }];
    const b = this.gBundle[g]!;
    if (b < 0) return [];
    const out: { key: string; bundles: BundleStep[] }[] = [];
    for (const chain of this.chainsFrom(b)) {
      const last = this.bundleList[this.bundleIdx.get(chain.at(-1)!.bundleId)!]!;
      for (const key of last.permissions) out.push({ key, bundles: chain });
    }
    return out;
  }

  private pathsOf(g: number, key: string): EnginePath[] {
    const a = this.gAssignment[g]!;
    const out: EnginePath[] = [];
    for (const src of this.sourcesOf(g)) {
      const chain = this.chainBetween(src.key, key);
      if (!chain) continue;
      out.push({
        assignmentId: a.id,
        source: a.source,
        requestId: a.requestId,
        expiresAt: a.expiresAt,
        bundles: src.bundles,
        impliedBy: chain.length > 1 ? chain[chain.length - 2]! : null,
        implication: chain,
      });
    }
    return out;
  }

  /**
   * Effective permissions of one account now, each with every path that grants it (all bundle
   * chains, direct grants with their expiry, and the implication chain).
   */
  effective(accountId: string): Map<string, EnginePath[]> {
    const result = new Map<string, EnginePath[]>();
    const a = this.accountIdx.get(accountId);
    if (a === undefined) return result;
    for (let g = this.head[a]!; g >= 0; g = this.gNext[g]!) {
      if (!this.grantActive(g, this.nowMs)) continue;
      const as = this.gAssignment[g]!;
      for (const src of this.sourcesOf(g)) {
        const from = this.universe.id(src.key);
        if (from < 0) continue;
        const parents = new Map<number, number>([[from, -1]]);
        const queue = [from];
        for (let q = 0; q < queue.length; q++) for (const n of this.universe.directOf(queue[q]!)) if (!parents.has(n)) parents.set(n, queue[q]!), queue.push(n);
        for (const k of queue) {
          if (!this.can(a, k)) continue; // held without its prerequisites: not allowed
          const chain: string[] = [];
          for (let c = k; c !== -1; c = parents.get(c)!) chain.push(this.universe.key(c));
          chain.reverse();
          const key = this.universe.key(k);
          const path: EnginePath = {
            assignmentId: as.id,
            source: as.source,
            requestId: as.requestId,
            expiresAt: as.expiresAt,
            bundles: src.bundles,
            impliedBy: chain.length > 1 ? chain[chain.length - 2]! : null,
            implication: chain,
          };
          const list = result.get(key);
          if (list) list.push(path);
          else result.set(key, [path]);
        }
      }
    }
    return result;
  }

  /** Why the account may or may not use `key` now. */
  explain(accountId: string, key: string): EngineExplanation {
    const a = this.accountIdx.get(accountId);
    const paths: EnginePath[] = [];
    const inactive: { path: EnginePath; reason: InactiveReason }[] = [];
    const t = this.nowMs;
    for (let g = a === undefined ? -1 : this.head[a]!; g >= 0; g = this.gNext[g]!) {
      const found = this.pathsOf(g, key);
      if (found.length === 0) continue;
      if (this.grantActive(g, t)) paths.push(...found);
      else {
        const reason: InactiveReason = this.gRevoked[g]! <= t ? 'revoked' : this.gStart[g]! > t ? 'not-started' : 'expired';
        for (const path of found) inactive.push({ path, reason });
      }
    }
    const missingPrerequisites = paths.length > 0 ? this.missingPrerequisites(accountId, key) : [];
    if (paths.length > 0 && missingPrerequisites.length === 0) return { key, allowed: true, paths };
    return {
      key,
      allowed: false,
      grantableBy: this.bundlesGranting(key),
      grantingKeys: this.keysGranting(key),
      inactive,
      missingPrerequisites,
      heldPaths: missingPrerequisites.length > 0 ? paths : [],
    };
  }

  /** Bundles whose closure holds `key`, smallest first. */
  bundlesGranting(key: string): BundleStep[] {
    const k = this.universe.id(key);
    const out: number[] = [];
    for (let b = 0; b < this.bundleList.length; b++) {
      if (k >= 0) {
        const off = b * this.W;
        if (hasBit(this.bundleEff, off, this.colOf[k]!) && this.bundleAllows(off, k)) out.push(b);
      } else {
        const keys = Array.from(this.bundleListed[b]!, (i) => this.universe.key(i));
        if (keys.some((g) => this.chainBetween(g, key) !== null)) out.push(b);
      }
    }
    return out
      .sort((x, y) => this.bundleSize[x]! - this.bundleSize[y]! || this.bundleList[x]!.name.localeCompare(this.bundleList[y]!.name))
      .map((b) => this.step(b));
  }

  /** Whether the bundle row at `off` holds every prerequisite of `k` (recursively). */
  private bundleAllows(off: number, k: number, depth = 0): boolean {
    if (depth > 32) return false;
    for (const r of this.universe.prerequisites(k)) if (!hasBit(this.bundleEff, off, this.colOf[r]!) || !this.bundleAllows(off, r, depth + 1)) return false;
    return true;
  }

  /** Keys that grant `key` when held: itself, then its impliers with the narrowest closure first. */
  keysGranting(key: string): string[] {
    const k = this.universe.id(key);
    if (k < 0) return [key];
    const impliers = [...this.universe.impliers(k)].filter((i) => i !== k);
    impliers.sort((x, y) => this.universe.closure(x).length - this.universe.closure(y).length || x - y);
    return [key, ...impliers.map((i) => this.universe.key(i))];
  }
}
