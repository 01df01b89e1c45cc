/**
 * The fast access index of one CRM connection.
 *
 * Keys are interned to integer ids (KeyUniverse). Each bundle's closure (inherited bundles and
 * implications) is a bitset row, computed once; each account's effective set is the OR of the rows
 * of its active bundle assignments and the closures of its direct grants. `can(account, key)` is one
 * array read and a shift. The provenance-rich paths (`effective`, `explain`) are computed on demand
 * from the source data and never slow down `can`.
 */
import { parsePermissionKey } from '../permissions.ts';
import type { Assignment, Bundle } from '../schemas.ts';
import { bitsOf, countRow, forEachBit, hasBit, orRow, setBit, wordsFor } from './bitset.ts';
import { implicationChain, prerequisitesOfParsed, type ImplicationTable } from './implications.ts';
import { KeyUniverse } from './keys.ts';

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

/** One active or inactive assignment, with its dates parsed once. */
export interface Grant {
  readonly assignment: Assignment;
  readonly account: number;
  /** Bundle index for a bundle assignment, else -1. */
  bundle: number;
  /** Key id for a direct grant, else -1. */
  keyId: number;
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
  const t = Date.parse(s);
  return Number.isNaN(t) ? fallback : t;
};

export class AccessIndex {
  readonly connectionId: string;
  readonly universe: KeyUniverse;
  private nowMs: number;

  // ---- bundles ----
  private bundleList: Bundle[] = [];
  private bundleIdx = new Map<string, number>();
  /** Words per key row and per bundle row. */
  private W = 1;
  private BW = 1;
  private bundleEff = new Uint32Array(0);
  private bundleGranted = new Uint32Array(0);
  private bundleReach = new Uint32Array(0);
  private bundleSize: number[] = [];
  private chainCache = new Map<number, BundleStep[][]>();

  // ---- accounts ----
  private accountList: string[] = [];
  private accountIdx = new Map<string, number>();
  private grants: Grant[][] = [];
  private grantById = new Map<string, Grant>();
  private capacity = 0;
  private eff = new Uint32Array(0);
  private granted = new Uint32Array(0);
  private held = new Uint32Array(0);
  /** Keys with prerequisites (a mask over key ids), and whether a prerequisite can itself have some. */
  private gateMask = new Uint32Array(0);
  private hasGates = false;
  private nestedGates = false;
  /** How many times every row was rebuilt (the key universe or bundle set outgrew the rows). */
  rebuilds = 0;
  /** Warnings collected while indexing (unknown bundles), for admins. */
  readonly warnings: string[] = [];

  constructor(input: AccessIndexInput) {
    this.connectionId = input.connectionId;
    this.nowMs = input.now.getTime();
    const bundles = [...input.bundles];
    const assignments = [...input.assignments];
    const universe = new KeyUniverse(input.table);
    for (const k of input.keys ?? []) universe.intern(k);
    for (const b of bundles) for (const k of b.permissions) universe.intern(k);
    for (const a of assignments) if (a.target.type === 'permission') universe.intern(a.target.key);
    universe.close();
    this.universe = universe;
    for (const b of bundles) this.addBundleEntry(b);
    for (const id of input.accountIds) this.addAccountEntry(id);
    for (const a of assignments) this.addGrantEntry(a);
    this.rebuildAll();
  }

  // ================= fast path =================

  /** Whether account `account` holds key `keyId` now. Both must be valid ids of this index. */
  can(account: number, keyId: number): boolean {
    return ((this.eff[account * this.W + (keyId >>> 5)]! >>> (keyId & 31)) & 1) === 1;
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

  get wordsPerKeyRow(): number {
    return this.W;
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

  /** Whether the account holds `keyId` by a grant that names it (not only by implication). */
  isGranted(account: number, keyId: number): boolean {
    return hasBit(this.granted, account * this.W, keyId);
  }

  /** Raw rows, for scans (do not mutate). */
  rows(): { eff: Uint32Array; granted: Uint32Array; held: Uint32Array; W: number; BW: number } {
    return { eff: this.eff, granted: this.granted, held: this.held, W: this.W, BW: this.BW };
  }

  bundleGrantedRow(b: number): { bits: Uint32Array; offset: number } {
    return { bits: this.bundleGranted, offset: b * this.W };
  }

  bundleEffRow(b: number): { bits: Uint32Array; offset: number } {
    return { bits: this.bundleEff, offset: b * this.W };
  }

  /** Every key id the account holds now. */
  heldKeyIds(account: number): number[] {
    return bitsOf(this.eff, account * this.W, this.W);
  }

  heldKeys(account: number): string[] {
    return this.heldKeyIds(account).map((k) => this.universe.key(k));
  }

  grantedKeyIds(account: number): number[] {
    return bitsOf(this.granted, account * this.W, this.W);
  }

  grantedKeys(account: number): string[] {
    return this.grantedKeyIds(account).map((k) => this.universe.key(k));
  }

  heldCount(account: number): number {
    return countRow(this.eff, account * this.W, this.W);
  }

  grantOf(assignmentId: string): Grant | undefined {
    return this.grantById.get(assignmentId);
  }

  /** Whether bundle `b` lists key `k` (itself or through included bundles), or grants it by implication. */
  bundleHas(b: number, k: number, implied: boolean): boolean {
    return hasBit(implied ? this.bundleEff : this.bundleGranted, b * this.W, k);
  }

  grantsOf(account: number): readonly Grant[] {
    return this.grants[account] ?? [];
  }

  get now(): number {
    return this.nowMs;
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
    this.grants.push([]);
    return i;
  }

  private resolveGrantTarget(g: Grant): void {
    const t = g.assignment.target;
    if (t.type === 'bundle') {
      g.bundle = this.bundleIdx.get(t.bundleId) ?? -1;
      g.keyId = -1;
    } else {
      g.bundle = -1;
      g.keyId = this.universe.id(t.key);
    }
  }

  private addGrantEntry(a: Assignment): Grant {
    const account = this.addAccountEntry(a.accountId);
    const g: Grant = {
      assignment: a,
      account,
      bundle: -1,
      keyId: -1,
      start: parseTime(a.grantedAt, -Infinity),
      end: parseTime(a.expiresAt, Infinity),
      revoked: parseTime(a.revokedAt, Infinity),
    };
    this.resolveGrantTarget(g);
    const old = this.grantById.get(a.id);
    if (old) {
      const list = this.grants[old.account]!;
      list.splice(list.indexOf(old), 1);
    }
    this.grantById.set(a.id, g);
    this.grants[account]!.push(g);
    return g;
  }

  /** Topological closure of every bundle. Throws BundleCycleError naming the cycle. */
  private buildBundles(): void {
    const n = this.bundleList.length;
    const W = this.W;
    const BW = this.BW;
    this.bundleEff = new Uint32Array(n * W);
    this.bundleGranted = new Uint32Array(n * W);
    this.bundleReach = new Uint32Array(n * BW);
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
      setBit(this.bundleReach, b * BW, b);
      for (const key of bundle.permissions) {
        const k = this.universe.id(key);
        setBit(this.bundleGranted, off, k);
        for (const c of this.universe.closure(k)) setBit(this.bundleEff, off, c);
      }
      for (const incId of bundle.includes) {
        const inc = this.bundleIdx.get(incId);
        if (inc === undefined) {
          this.warnings.push(`bundle "${bundle.name}" includes unknown bundle "${incId}"`);
          continue;
        }
        visit(inc);
        orRow(this.bundleEff, off, this.bundleEff, inc * W, W);
        orRow(this.bundleGranted, off, this.bundleGranted, inc * W, W);
        orRow(this.bundleReach, b * BW, this.bundleReach, inc * BW, BW);
      }
      stack.pop();
      state[b] = 2;
    };
    for (let b = 0; b < n; b++) visit(b);
    // "Smallest" = fewest effective keys: the least privilege that would do.
    this.bundleSize = Array.from({ length: n }, (_, b) => countRow(this.bundleEff, b * W, W));
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
    this.granted = grow(this.granted, this.W);
    this.held = grow(this.held, this.BW);
    this.capacity = cap;
    return true;
  }

  /** Recomputes bundle closures and every account row (after the universe or bundle set grew). */
  rebuildAll(): void {
    this.rebuilds++;
    this.universe.close();
    for (const list of this.grants) for (const g of list) this.resolveGrantTarget(g);
    this.W = wordsFor(this.universe.size + 64);
    this.BW = wordsFor(this.bundleList.length + 32);
    this.buildGates();
    this.buildBundles();
    this.capacity = 0;
    this.eff = new Uint32Array(0);
    this.granted = new Uint32Array(0);
    this.held = new Uint32Array(0);
    this.ensureCapacity(this.accountList.length);
    for (let a = 0; a < this.accountList.length; a++) this.computeAccount(a);
  }

  private buildGates(): void {
    const gated = this.universe.gated();
    this.gateMask = new Uint32Array(this.W);
    for (const g of gated) setBit(this.gateMask, 0, g);
    this.hasGates = gated.length > 0;
    this.nestedGates = false;
    for (const g of gated)
      for (const r of this.universe.prerequisites(g)) if (hasBit(this.gateMask, 0, r)) this.nestedGates = true;
  }

  /**
   * Clears, in the row at `off`, every key whose prerequisites the row does not hold: what remains
   * is the largest set of held keys whose prerequisites are all allowed.
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
          const id = (w << 5) | (31 - Math.clz32(low));
          for (const r of this.universe.prerequisites(id)) {
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
    this.eff.fill(0, off, off + W);
    this.granted.fill(0, off, off + W);
    this.held.fill(0, hoff, hoff + BW);
    const t = this.nowMs;
    for (const g of this.grants[a]!) {
      if (!grantActiveAt(g, t)) continue;
      if (g.bundle >= 0) {
        const boff = g.bundle * W;
        orRow(this.eff, off, this.bundleEff, boff, W);
        orRow(this.granted, off, this.bundleGranted, boff, W);
        orRow(this.held, hoff, this.bundleReach, g.bundle * BW, BW);
      } else if (g.keyId >= 0) {
        setBit(this.granted, off, g.keyId);
        for (const c of this.universe.closure(g.keyId)) setBit(this.eff, off, c);
      }
    }
    this.applyPrerequisites(this.eff, off);
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

  /** Accounts holding a grant that starts, ends or is revoked between the clock and `now`. */
  accountsCrossing(now: Date): number[] {
    const t = now.getTime();
    const lo = Math.min(this.nowMs, t);
    const hi = Math.max(this.nowMs, t);
    const crossed = (x: number) => x > lo && x <= hi;
    const out: number[] = [];
    for (let a = 0; a < this.grants.length; a++)
      if (this.grants[a]!.some((g) => crossed(g.start) || crossed(g.end) || crossed(g.revoked))) out.push(a);
    return out;
  }

  // ================= incremental changes =================

  /** Adds or replaces an assignment; returns the accounts whose rows were recomputed. */
  upsertAssignment(a: Assignment): number[] {
    const old = this.grantById.get(a.id);
    const touched = new Set<number>();
    if (old) touched.add(old.account);
    const newKey = a.target.type === 'permission' && this.universe.id(a.target.key) < 0;
    if (newKey) this.universe.intern((a.target as { key: string }).key);
    const g = this.addGrantEntry(a);
    touched.add(g.account);
    this.ensureCapacity(this.accountList.length);
    if (newKey && this.universe.close()) {
      this.rebuildAll();
      return this.accountList.map((_, i) => i);
    }
    this.resolveGrantTarget(g);
    for (const acc of touched) this.computeAccount(acc);
    return [...touched];
  }

  /** Removes an assignment (e.g. deleted in the CRM); returns the recomputed account. */
  removeAssignment(assignmentId: string): number[] {
    const g = this.grantById.get(assignmentId);
    if (!g) return [];
    this.grantById.delete(assignmentId);
    const list = this.grants[g.account]!;
    list.splice(list.indexOf(g), 1);
    this.computeAccount(g.account);
    return [g.account];
  }

  /** Adds an account with no assignments yet (no-op when known). */
  addAccount(accountId: string): number {
    const a = this.addAccountEntry(accountId);
    this.ensureCapacity(this.accountList.length);
    return a;
  }

  /**
   * Adds or replaces a bundle. Recomputes the bundle rows and the accounts holding it (directly or
   * through another bundle); returns those accounts, or every account when the key universe grew.
   * Throws BundleCycleError (and leaves the index unchanged) if the change would create a cycle.
   */
  upsertBundle(b: Bundle): number[] {
    const prev = this.bundleIdx.get(b.id);
    const prevBundle = prev === undefined ? undefined : this.bundleList[prev];
    const affectedBefore = prev === undefined ? [] : this.accountsHoldingBundle(prev);
    let grew = false;
    for (const k of b.permissions) if (this.universe.id(k) < 0) (this.universe.intern(k), (grew = true));
    const i = this.addBundleEntry(b);
    try {
      if (grew || this.bundleList.length > this.BW * 32 || this.universe.size > this.W * 32) {
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
    for (let a = 0; a < this.grants.length; a++)
      for (const g of this.grants[a]!)
        if (g.assignment.target.type === 'bundle' && g.bundle < 0 && g.assignment.target.bundleId === b.id) {
          g.bundle = i;
          affected.add(a);
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
  private sourcesOf(g: Grant): { key: string; bundles: BundleStep[] }[] {
    const t = g.assignment.target;
    if (t.type === 'permission') return [{ key: t.key, bundles: [] }];
    if (g.bundle < 0) return [];
    const out: { key: string; bundles: BundleStep[] }[] = [];
    for (const chain of this.chainsFrom(g.bundle)) {
      const last = this.bundleList[this.bundleIdx.get(chain.at(-1)!.bundleId)!]!;
      for (const key of last.permissions) out.push({ key, bundles: chain });
    }
    return out;
  }

  private pathsOf(g: Grant, key: string): EnginePath[] {
    const a = g.assignment;
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
    for (const g of this.grants[a]!) {
      if (!grantActiveAt(g, this.nowMs)) continue;
      const as = g.assignment;
      for (const src of this.sourcesOf(g)) {
        const from = this.universe.id(src.key);
        if (from < 0) continue;
        const parents = new Map<number, number>([[from, -1]]);
        const queue = [from];
        for (let q = 0; q < queue.length; q++)
          for (const n of this.universe.directOf(queue[q]!))
            if (!parents.has(n)) (parents.set(n, queue[q]!), queue.push(n));
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
    const grants = a === undefined ? [] : this.grants[a]!;
    const paths: EnginePath[] = [];
    const inactive: { path: EnginePath; reason: InactiveReason }[] = [];
    const t = this.nowMs;
    for (const g of grants) {
      const found = this.pathsOf(g, key);
      if (found.length === 0) continue;
      if (grantActiveAt(g, t)) paths.push(...found);
      else {
        const reason: InactiveReason = g.revoked <= t ? 'revoked' : g.start > t ? 'not-started' : 'expired';
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
        if (hasBit(this.bundleEff, off, k) && this.bundleAllows(off, k)) out.push(b);
      } else {
        const keys: string[] = [];
        forEachBit(this.bundleGranted, b * this.W, this.W, (i) => keys.push(this.universe.key(i)));
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
    for (const r of this.universe.prerequisites(k))
      if (!hasBit(this.bundleEff, off, r) || !this.bundleAllows(off, r, depth + 1)) return false;
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
