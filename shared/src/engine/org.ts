/**
 * The org engine: one AccessIndex per CRM connection plus the directory, policy and usage, with
 * every account's findings kept in indexes so that one changed assignment, bundle, account or person
 * recomputes only what it can affect.
 */
import type { Assignment, Bundle, Risk } from '../schemas.ts';
import { AccessIndex, grantActiveAt, type EngineExplanation, type EnginePath, type Grant } from './access.ts';
import { hasBit, orRow, rowsIntersect, setBit } from './bitset.ts';
import {
  emptyDelta,
  findingId,
  type Finding,
  type FindingEvidence,
  type FindingKind,
  type FindingsDelta,
  type GrantRef,
} from './findings.ts';
import { implicationTableFor } from './implications.ts';
import {
  DEFAULT_SUPER_ADMIN_SETS,
  matchesFunction,
  RISK_RANK,
  type CatalogMeta,
  type OrgAccount,
  type OrgConnection,
  type OrgData,
  type OrgPerson,
  type RiskAcceptance,
  type SodRule,
  type UsageAggregate,
} from './types.ts';

export const DAY_MS = 86_400_000;

/** Shared empty list (frozen) for findings without keys or bundles. */
const NONE = Object.freeze([]) as unknown as string[];

interface UsageRow {
  keyId: number;
  last: number;
  lastIso: string;
  count: number;
}

interface PeerGroup {
  key: string;
  department: string;
  title: string;
  members: Set<number>;
  /** Per key id: members holding the key now. */
  counts: Int32Array;
  /** Per bundle index: members holding the bundle now (directly or through inheritance). */
  bundleCounts: Int32Array;
}

interface CompiledSide {
  keyIds: number[];
  bundles: number[];
}

interface CompiledSod {
  rule: SodRule;
  left: CompiledSide;
  right: CompiledSide;
}

interface OldRows {
  eff: Uint32Array;
  held: Uint32Array;
}

/** Binary min-heap of (instant, account index) pairs. */
class EventHeap {
  private times: number[] = [];
  private items: number[] = [];

  get size(): number {
    return this.times.length;
  }

  clear(): void {
    this.times = [];
    this.items = [];
  }

  peekTime(): number {
    return this.times[0]!;
  }

  push(t: number, item: number): void {
    const times = this.times;
    const items = this.items;
    let i = times.length;
    times.push(t);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! <= t) break;
      times[i] = times[p]!;
      items[i] = items[p]!;
      i = p;
    }
    times[i] = t;
    items[i] = item;
  }

  /** Removes the earliest pair and returns its item. */
  pop(): number {
    const times = this.times;
    const items = this.items;
    const top = items[0]!;
    const t = times.pop()!;
    const item = items.pop()!;
    const n = times.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && times[r]! < times[l]! ? r : l;
        if (times[c]! >= t) break;
        times[i] = times[c]!;
        items[i] = items[c]!;
        i = c;
      }
      times[i] = t;
      items[i] = item;
    }
    return top;
  }
}

/** Per-connection state: the access index and what findings need beside it. */
class ConnState {
  riskOf = new Int8Array(0);
  highRisk = new Uint32Array(0);
  sod: CompiledSod[] = [];
  superSets: number[][] = [];
  baselineCache = new Map<string, { row: Uint32Array; ids: string[] } | null>();
  groups = new Map<string, PeerGroup>();
  groupOf: (PeerGroup | null)[] = [];
  accounts: (OrgAccount | undefined)[] = [];
  /** Parsed createdAt and last login (NaN = never) per account index. */
  createdMs: number[] = [];
  lastLoginMs: number[] = [];
  usage: (UsageRow[] | undefined)[] = [];
  /**
   * Per account index: the earliest instant after the account's last computation at which its rows
   * or findings can change (a grant starting, ending or revoked; dormancy; unused windows; acceptance
   * expiry); Infinity or undefined when none. `events` holds (instant, account) pairs; a pair is current only while it
   * matches `nextEvent` (older pairs are skipped when popped).
   */
  nextEvent: number[] = [];
  events = new EventHeap();
  W = 0;
  BW = 0;

  constructor(
    readonly conn: OrgConnection,
    readonly index: AccessIndex,
    readonly catalog: Map<string, CatalogMeta>,
  ) {}
}

export class OrgEngine {
  private nowMs: number;
  private readonly people = new Map<string, OrgPerson>();
  private readonly accountsByPerson = new Map<string, Set<string>>();
  private readonly conns = new Map<string, ConnState>();
  private readonly accountConn = new Map<string, ConnState>();
  private readonly acceptances = new Map<string, { a: RiskAcceptance; until: number }>();
  private readonly byAccount = new Map<string, Map<string, Finding>>();
  private readonly org: OrgData;
  private scratch = new Uint32Array(0);
  /** Set when the clock moved backwards without a full recompute: the next advance recomputes all. */
  private clockRewound = false;
  /** Accounts recomputed by the last `advanceTo`, and peers whose outliers it re-checked (for measurements). */
  lastAdvanceRecomputed = 0;
  lastAdvancePeerRechecks = 0;
  private outlierRechecks = 0;

  constructor(org: OrgData, now: Date, options: { deferFindings?: boolean } = {}) {
    this.org = org;
    this.nowMs = now.getTime();
    for (const p of org.people) this.people.set(p.id, p);
    for (const a of org.acceptances) this.acceptances.set(a.findingId, { a, until: Date.parse(a.expiresAt) });

    const policy = org.policy;
    const accountsByConn = new Map<string, OrgAccount[]>();
    for (const a of org.accounts) {
      const list = accountsByConn.get(a.connectionId);
      if (list) list.push(a);
      else accountsByConn.set(a.connectionId, [a]);
    }
    const connOfAccount = new Map<string, string>();
    for (const a of org.accounts) connOfAccount.set(a.id, a.connectionId);
    const assignmentsByConn = new Map<string, Assignment[]>();
    for (const a of org.assignments) {
      const c = connOfAccount.get(a.accountId);
      if (c === undefined) continue;
      const list = assignmentsByConn.get(c);
      if (list) list.push(a);
      else assignmentsByConn.set(c, [a]);
    }
    for (const conn of org.connections) {
      const catalog = new Map<string, CatalogMeta>();
      for (const e of org.catalog) if (e.connectionId === conn.id) catalog.set(e.key, e);
      const extraKeys: string[] = [...catalog.keys()];
      for (const b of policy.baselines) if (b.connectionId === conn.id) extraKeys.push(...b.keys);
      for (const r of policy.sodRules)
        if (r.connectionId === conn.id) extraKeys.push(...(r.left.keys ?? []), ...(r.right.keys ?? []));
      for (const set of (policy.superAdminSets ?? DEFAULT_SUPER_ADMIN_SETS)[conn.kind] ?? []) extraKeys.push(...set);
      const accounts = accountsByConn.get(conn.id) ?? [];
      const index = new AccessIndex({
        connectionId: conn.id,
        table: implicationTableFor(conn.kind),
        bundles: org.bundles.filter((b) => b.connectionId === conn.id),
        accountIds: accounts.map((a) => a.id),
        assignments: assignmentsByConn.get(conn.id) ?? [],
        keys: extraKeys,
        now,
      });
      const cs = new ConnState(conn, index, catalog);
      this.conns.set(conn.id, cs);
      for (const a of accounts) this.registerAccount(cs, a);
    }
    for (const u of org.usage) this.addUsage(u);
    if (!options.deferFindings) this.scan();
  }

  /** Full findings scan: peer groups and every account's findings, from the indexes. */
  scan(): void {
    for (const cs of this.conns.values()) this.prepareConn(cs);
    for (const cs of this.conns.values()) this.computeConn(cs);
  }

  // ================= access =================

  get now(): Date {
    return new Date(this.nowMs);
  }

  connection(connectionId: string): AccessIndex | undefined {
    return this.conns.get(connectionId)?.index;
  }

  connectionOf(accountId: string): OrgConnection | undefined {
    return this.accountConn.get(accountId)?.conn;
  }

  catalogEntry(connectionId: string, key: string): CatalogMeta | undefined {
    return this.conns.get(connectionId)?.catalog.get(key);
  }

  person(personId: string): OrgPerson | undefined {
    return this.people.get(personId);
  }

  account(accountId: string): OrgAccount | undefined {
    const cs = this.accountConn.get(accountId);
    if (!cs) return undefined;
    return cs.accounts[cs.index.accountIndex(accountId)];
  }

  accountsOf(personId: string): OrgAccount[] {
    return [...(this.accountsByPerson.get(personId) ?? [])].map((id) => this.account(id)!).filter(Boolean);
  }

  get data(): OrgData {
    return this.org;
  }

  can(accountId: string, key: string): boolean {
    return this.accountConn.get(accountId)?.index.canKey(accountId, key) ?? false;
  }

  effective(accountId: string): Map<string, EnginePath[]> {
    return this.accountConn.get(accountId)?.index.effective(accountId) ?? new Map();
  }

  explain(accountId: string, key: string): EngineExplanation {
    const cs = this.accountConn.get(accountId);
    if (!cs) return { key, allowed: false, grantableBy: [], grantingKeys: [key], inactive: [], missingPrerequisites: [], heldPaths: [] };
    return cs.index.explain(accountId, key);
  }

  /** Every current finding. */
  findings(): Finding[] {
    const out: Finding[] = [];
    for (const m of this.byAccount.values()) for (const f of m.values()) out.push(f);
    return out;
  }

  findingsOf(accountId: string): Finding[] {
    return [...(this.byAccount.get(accountId)?.values() ?? [])];
  }

  get findingCount(): number {
    let n = 0;
    for (const m of this.byAccount.values()) n += m.size;
    return n;
  }

  /** SoD rules of the account's connection that an account holding also `extraKeys` would violate. */
  sodConflicts(accountId: string, extraKeys: readonly string[] = []): { rule: SodRule; left: string[]; right: string[] }[] {
    const cs = this.accountConn.get(accountId);
    if (!cs) return [];
    const idx = cs.index.accountIndex(accountId);
    const extra = new Set<number>();
    for (const k of extraKeys) {
      const id = cs.index.keyId(k);
      if (id >= 0) for (const c of cs.index.universe.closure(id)) extra.add(c);
    }
    const out: { rule: SodRule; left: string[]; right: string[] }[] = [];
    for (const s of cs.sod) {
      const l = this.sideMatch(cs, idx, s.left, extra);
      const r = this.sideMatch(cs, idx, s.right, extra);
      if (l && r) out.push({ rule: s.rule, left: l, right: r });
    }
    return out;
  }

  /**
   * How the account's peers — the other active people with its department and title, with an active
   * account on its connection — hold `keys` now: for each key, how many of them can use it ("held by 31 of
   * 38 peers"). Null when the account has no peer group (unknown, inactive, or its person is not active).
   */
  peerHolding(accountId: string, keys: readonly string[]): { department: string; title: string; peers: number; holders: Record<string, number> } | null {
    const cs = this.accountConn.get(accountId);
    if (!cs) return null;
    const a = cs.index.accountIndex(accountId);
    const group = a >= 0 ? cs.groupOf[a] : null;
    if (!group) return null;
    const holders: Record<string, number> = {};
    for (const key of keys) {
      const id = cs.index.keyId(key);
      holders[key] = id < 0 ? 0 : Math.max(0, (group.counts[id] ?? 0) - (cs.index.can(a, id) ? 1 : 0));
    }
    return { department: group.department, title: group.title, peers: group.members.size - 1, holders };
  }

  /** Accounts of a connection holding any key that consumes `licenseId` (seats in use). */
  licenseSeatsUsed(connectionId: string, licenseId: string): { used: number; holders: Set<string> } {
    const cs = this.conns.get(connectionId);
    const holders = new Set<string>();
    if (!cs) return { used: 0, holders };
    const ids: number[] = [];
    for (const e of cs.catalog.values()) if (e.license === licenseId) {
      const id = cs.index.keyId(e.key);
      if (id >= 0) ids.push(id);
    }
    const ix = cs.index;
    for (let a = 0; a < ix.accountCount; a++) {
      if (!cs.accounts[a]?.active) continue;
      for (const k of ids) if (ix.can(a, k)) {
        holders.add(ix.accountId(a));
        break;
      }
    }
    return { used: holders.size, holders };
  }

  // ================= incremental changes =================

  /** One assignment added, changed or removed. Returns the findings that changed. */
  applyAssignmentChange(change: { type: 'upsert'; assignment: Assignment } | { type: 'remove'; assignmentId: string }): FindingsDelta {
    const id = change.type === 'upsert' ? change.assignment.id : change.assignmentId;
    let cs: ConnState | undefined;
    let previous: Grant | undefined;
    for (const c of this.conns.values()) {
      previous = c.index.grantOf(id);
      if (previous) {
        cs = c;
        break;
      }
    }
    if (change.type === 'upsert') {
      const target = this.accountConn.get(change.assignment.accountId);
      if (!target || (cs && cs !== target)) return emptyDelta();
      cs = target;
    }
    if (!cs) return emptyDelta();
    const ix = cs.index;
    const W = cs.W;
    const BW = cs.BW;
    const { eff, held } = ix.rows();
    const olds = new Map<number, OldRows>();
    const snapshot = (a: number) =>
      olds.set(a, { eff: eff.slice(a * W, a * W + W), held: held.slice(a * BW, a * BW + BW) });
    if (previous) snapshot(previous.account);
    if (change.type === 'upsert') snapshot(ix.accountIndex(change.assignment.accountId));
    const rebuilds = ix.rebuilds;
    if (change.type === 'upsert') ix.upsertAssignment(change.assignment);
    else ix.removeAssignment(change.assignmentId);
    if (ix.rebuilds !== rebuilds || ix.wordsPerKeyRow !== W) return this.refreshConn(cs);
    return this.afterRowsChanged(cs, olds);
  }

  /** A bundle added or changed (its keys or includes). Returns the findings that changed. */
  applyBundleChange(bundle: Bundle): FindingsDelta {
    const cs = this.conns.get(bundle.connectionId);
    if (!cs) return emptyDelta();
    const W = cs.W;
    const BW = cs.BW;
    const effBefore = cs.index.rows().eff.slice();
    const heldBefore = cs.index.rows().held.slice();
    const rebuilds = cs.index.rebuilds;
    const touched = cs.index.upsertBundle(bundle);
    cs.baselineCache.clear();
    cs.sod = this.compileSod(cs);
    if (cs.index.rebuilds !== rebuilds || cs.index.wordsPerKeyRow !== W) return this.refreshConn(cs);
    const olds = new Map<number, OldRows>();
    for (const a of touched)
      olds.set(a, { eff: effBefore.subarray(a * W, a * W + W), held: heldBefore.subarray(a * BW, a * BW + BW) });
    return this.afterRowsChanged(cs, olds);
  }

  /** A person's department, title, status or trainings changed. Returns the findings that changed. */
  applyPersonChange(person: OrgPerson): FindingsDelta {
    this.people.set(person.id, person);
    const delta = emptyDelta();
    for (const accountId of this.accountsByPerson.get(person.id) ?? []) {
      const cs = this.accountConn.get(accountId)!;
      this.mergeDelta(delta, this.regroup(cs, cs.index.accountIndex(accountId)));
    }
    return delta;
  }

  /** An account's active flag or last login changed (or a new account appeared). */
  applyAccountChange(account: OrgAccount): FindingsDelta {
    const cs = this.conns.get(account.connectionId);
    if (!cs) return emptyDelta();
    const known = this.accountConn.get(account.id);
    if (known && known !== cs) return emptyDelta();
    const idx = cs.index.addAccount(account.id);
    this.registerAccount(cs, account);
    return this.regroup(cs, idx);
  }

  /** New usage aggregates (replacing earlier ones for the same account and key). */
  applyUsage(records: UsageAggregate[]): FindingsDelta {
    const touched = new Map<ConnState, Set<number>>();
    for (const u of records) {
      const cs = this.addUsage(u);
      if (!cs) continue;
      const set = touched.get(cs) ?? new Set<number>();
      set.add(cs.index.accountIndex(u.accountId));
      touched.set(cs, set);
    }
    const delta = emptyDelta();
    for (const [cs, set] of touched) for (const a of set) this.mergeDelta(delta, this.recomputeAccount(cs, a));
    return delta;
  }

  /** Records or replaces an accepted risk. */
  acceptRisk(acceptance: RiskAcceptance): FindingsDelta {
    this.acceptances.set(acceptance.findingId, { a: acceptance, until: Date.parse(acceptance.expiresAt) });
    return this.restatus(acceptance.findingId);
  }

  revokeAcceptance(findingId: string): FindingsDelta {
    this.acceptances.delete(findingId);
    return this.restatus(findingId);
  }

  /**
   * Moves the clock for access only: grants that start, end or are revoked in between take effect,
   * and the findings of the accounts they touch (and of those accounts' peers) are recomputed. Cheap:
   * a scan of the grants plus the touched accounts. Time-based findings of untouched accounts
   * (dormant, unused, acceptance expiry) wait for `advanceTo`.
   */
  moveClock(now: Date): FindingsDelta {
    if (now.getTime() < this.nowMs) this.clockRewound = true;
    this.nowMs = now.getTime();
    const delta = emptyDelta();
    for (const cs of this.conns.values()) this.mergeDelta(delta, this.moveConnClock(cs, now));
    return delta;
  }

  /**
   * Moves the clock and brings every finding up to date at `now`, recomputing only the accounts
   * whose findings can change in between, found from each account's next event instant (kept when
   * the account is computed): a grant that starts, ends or is revoked (rows, then peers' outliers, as
   * `moveClock`), the dormancy threshold or day count, the unused-window edges, an acceptance expiry.
   * Moving backwards (or after `moveClock` went backwards) recomputes everything.
   */
  advanceTo(now: Date): FindingsDelta {
    const t = now.getTime();
    const delta = emptyDelta();
    let recomputed = 0;
    const rechecks = this.outlierRechecks;
    if (t < this.nowMs || this.clockRewound) {
      this.nowMs = t;
      this.clockRewound = false;
      for (const cs of this.conns.values()) {
        cs.index.setNow(now);
        this.mergeDelta(delta, this.refreshConn(cs));
        recomputed += cs.index.accountCount;
      }
      this.lastAdvanceRecomputed = recomputed;
      this.lastAdvancePeerRechecks = 0;
      return delta;
    }
    this.nowMs = t;
    for (const cs of this.conns.values()) {
      // Every account with an event in (clock, t]: a grant crossing or a time-based threshold.
      const heap = cs.events;
      const { eff, held } = cs.index.rows();
      const olds = new Map<number, OldRows>();
      while (heap.size > 0 && heap.peekTime() <= t) {
        const at = heap.peekTime();
        const a = heap.pop();
        if (cs.nextEvent[a] === at && !olds.has(a))
          olds.set(a, { eff: eff.slice(a * cs.W, a * cs.W + cs.W), held: held.slice(a * cs.BW, a * cs.BW + cs.BW) });
      }
      cs.index.advanceClock(now, olds.keys());
      recomputed += olds.size;
      // Recomputes the due accounts; peers' outliers only where rows (grants) changed.
      if (olds.size > 0) this.mergeDelta(delta, this.afterRowsChanged(cs, olds));
      if (heap.size > 4 * cs.index.accountCount + 1024) this.rebuildEvents(cs);
    }
    this.lastAdvanceRecomputed = recomputed;
    this.lastAdvancePeerRechecks = this.outlierRechecks - rechecks;
    return delta;
  }

  /** Grants crossing between the connection's clock and `now`: rows, findings and peers' outliers. */
  private moveConnClock(cs: ConnState, now: Date): FindingsDelta {
    const crossing = cs.index.accountsCrossing(now);
    const { eff, held } = cs.index.rows();
    const olds = new Map<number, OldRows>();
    for (const a of crossing)
      olds.set(a, { eff: eff.slice(a * cs.W, a * cs.W + cs.W), held: held.slice(a * cs.BW, a * cs.BW + cs.BW) });
    cs.index.setNow(now);
    return olds.size > 0 ? this.afterRowsChanged(cs, olds) : emptyDelta();
  }

  // ================= internals: setup =================

  private registerAccount(cs: ConnState, a: OrgAccount): void {
    const idx = cs.index.accountIndex(a.id);
    const prev = cs.accounts[idx];
    if (prev && prev.personId !== a.personId) this.accountsByPerson.get(prev.personId)?.delete(a.id);
    cs.accounts[idx] = a;
    cs.createdMs[idx] = Date.parse(a.createdAt);
    cs.lastLoginMs[idx] = a.lastLoginAt === null ? Number.NaN : Date.parse(a.lastLoginAt);
    this.accountConn.set(a.id, cs);
    const set = this.accountsByPerson.get(a.personId) ?? new Set<string>();
    set.add(a.id);
    this.accountsByPerson.set(a.personId, set);
  }

  private addUsage(u: UsageAggregate): ConnState | undefined {
    const cs = this.accountConn.get(u.accountId);
    if (!cs) return undefined;
    const keyId = cs.index.keyId(u.key);
    if (keyId < 0) return undefined;
    const idx = cs.index.accountIndex(u.accountId);
    const rows = cs.usage[idx] ?? (cs.usage[idx] = []);
    const row = { keyId, last: Date.parse(u.lastUsedAt), lastIso: u.lastUsedAt, count: u.count };
    const i = rows.findIndex((r) => r.keyId === keyId);
    if (i >= 0) rows[i] = row;
    else rows.push(row);
    return cs;
  }

  private compileSod(cs: ConnState): CompiledSod[] {
    const side = (s: { bundleIds?: string[]; keys?: string[] }): CompiledSide => ({
      keyIds: (s.keys ?? []).map((k) => cs.index.keyId(k)).filter((k) => k >= 0),
      bundles: (s.bundleIds ?? []).map((b) => cs.index.bundleIndex(b)).filter((b) => b >= 0),
    });
    return this.org.policy.sodRules
      .filter((r) => r.connectionId === cs.conn.id)
      .map((rule) => ({ rule, left: side(rule.left), right: side(rule.right) }));
  }

  /** Derived per-key data and peer groups (after construction or when the key universe grew). */
  private prepareConn(cs: ConnState): void {
    const ix = cs.index;
    cs.W = ix.wordsPerKeyRow;
    cs.BW = ix.rows().BW;
    const bits = cs.W * 32;
    cs.riskOf = new Int8Array(bits).fill(-1);
    cs.highRisk = new Uint32Array(cs.W);
    for (const e of cs.catalog.values()) {
      const id = ix.keyId(e.key);
      if (id < 0) continue;
      cs.riskOf[id] = RISK_RANK[e.risk];
      if (RISK_RANK[e.risk] >= RISK_RANK.high) setBit(cs.highRisk, 0, id);
    }
    cs.sod = this.compileSod(cs);
    const sets = (this.org.policy.superAdminSets ?? DEFAULT_SUPER_ADMIN_SETS)[cs.conn.kind] ?? [];
    cs.superSets = sets.map((s) => s.map((k) => ix.keyId(k)));
    cs.baselineCache.clear();
    cs.groups.clear();
    cs.groupOf = [];
    for (let a = 0; a < ix.accountCount; a++) this.joinGroup(cs, a);
  }

  private groupKeyFor(cs: ConnState, a: number): { key: string; department: string; title: string } | null {
    const acct = cs.accounts[a];
    if (!acct || !acct.active) return null;
    const p = this.people.get(acct.personId);
    if (!p || p.status !== 'active') return null;
    return { key: `${p.department}\u0000${p.title}`, department: p.department, title: p.title };
  }

  private joinGroup(cs: ConnState, a: number): PeerGroup | null {
    const k = this.groupKeyFor(cs, a);
    if (!k) {
      cs.groupOf[a] = null;
      return null;
    }
    let g = cs.groups.get(k.key);
    if (!g) {
      g = { ...k, members: new Set(), counts: new Int32Array(cs.W * 32), bundleCounts: new Int32Array(cs.BW * 32) };
      cs.groups.set(k.key, g);
    }
    g.members.add(a);
    const { counts, bundleCounts } = g;
    const rows = cs.index.rows();
    countBits(rows.eff, a * cs.W, cs.W, counts, 1);
    countBits(rows.held, a * cs.BW, cs.BW, bundleCounts, 1);
    cs.groupOf[a] = g;
    return g;
  }

  private leaveGroup(cs: ConnState, a: number): PeerGroup | null {
    const g = cs.groupOf[a];
    if (!g) return null;
    g.members.delete(a);
    const { counts, bundleCounts } = g;
    const rows = cs.index.rows();
    countBits(rows.eff, a * cs.W, cs.W, counts, -1);
    countBits(rows.held, a * cs.BW, cs.BW, bundleCounts, -1);
    cs.groupOf[a] = null;
    return g;
  }

  // ================= internals: findings =================

  private computeConn(cs: ConnState): void {
    const ix = cs.index;
    cs.events.clear();
    cs.nextEvent = [];
    for (let a = 0; a < ix.accountCount; a++) {
      const f = this.computeAccount(cs, a);
      const id = ix.accountId(a);
      if (f.size > 0) this.byAccount.set(id, f);
      else this.byAccount.delete(id);
    }
  }

  /** Full recomputation of one connection, reported as a delta against what was held. */
  private refreshConn(cs: ConnState): FindingsDelta {
    const before = new Map<string, Finding>();
    for (let a = 0; a < cs.index.accountCount; a++)
      for (const f of this.byAccount.get(cs.index.accountId(a))?.values() ?? []) before.set(f.id, f);
    this.prepareConn(cs);
    this.computeConn(cs);
    const delta = emptyDelta();
    const after = new Map<string, Finding>();
    for (let a = 0; a < cs.index.accountCount; a++)
      for (const f of this.byAccount.get(cs.index.accountId(a))?.values() ?? []) after.set(f.id, f);
    for (const [id, f] of after) {
      const old = before.get(id);
      if (!old) delta.opened.push(f);
      else if (!sameFinding(old, f)) delta.updated.push(f);
    }
    for (const [id, f] of before) if (!after.has(id)) delta.resolved.push(f);
    return delta;
  }

  private recomputeAccount(cs: ConnState, a: number): FindingsDelta {
    const id = cs.index.accountId(a);
    const before = this.byAccount.get(id) ?? new Map<string, Finding>();
    const after = this.computeAccount(cs, a);
    if (after.size > 0) this.byAccount.set(id, after);
    else this.byAccount.delete(id);
    const delta = emptyDelta();
    for (const [fid, f] of after) {
      const old = before.get(fid);
      if (!old) delta.opened.push(f);
      else if (!sameFinding(old, f)) delta.updated.push(f);
    }
    for (const [fid, f] of before) if (!after.has(fid)) delta.resolved.push(f);
    return delta;
  }

  /** Account `a` left its peer group and rejoins (its job, status or account changed). */
  private regroup(cs: ConnState, a: number): FindingsDelta {
    const oldGroup = this.leaveGroup(cs, a);
    const newGroup = this.joinGroup(cs, a);
    const delta = this.recomputeAccount(cs, a);
    // Group sizes changed: every member's outlier shares change.
    for (const g of new Set([oldGroup, newGroup])) {
      if (!g) continue;
      for (const m of g.members) if (m !== a) this.mergeDelta(delta, this.recheckOutliers(cs, m, null));
    }
    return delta;
  }

  /** After account rows changed: peer counts, the accounts' findings, and their peers' outliers. */
  private afterRowsChanged(cs: ConnState, olds: Map<number, OldRows>): FindingsDelta {
    const { eff, held } = cs.index.rows();
    const delta = emptyDelta();
    const changed = new Map<PeerGroup, { keys: Set<number>; bundles: Set<number> }>();
    const diff = (old: Uint32Array, now: Uint32Array, off: number, words: number, counts: Int32Array, out: Set<number>) => {
      for (let w = 0; w < words; w++) {
        const after = now[off + w]!;
        let d = old[w]! ^ after;
        while (d !== 0) {
          const t = d & -d;
          const k = (w << 5) + (31 - Math.clz32(t));
          counts[k]! += (after & t) !== 0 ? 1 : -1;
          out.add(k);
          d ^= t;
        }
      }
    };
    // Every changed account's peer counts first: recomputing one of them before another's change is
    // counted would judge it against stale peers.
    for (const [a, old] of olds) {
      const g = cs.groupOf[a];
      if (g) {
        const c = changed.get(g) ?? { keys: new Set<number>(), bundles: new Set<number>() };
        diff(old.eff, eff, a * cs.W, cs.W, g.counts, c.keys);
        diff(old.held, held, a * cs.BW, cs.BW, g.bundleCounts, c.bundles);
        changed.set(g, c);
      }
    }
    for (const a of olds.keys()) this.mergeDelta(delta, this.recomputeAccount(cs, a));
    for (const [g, c] of changed) {
      if (c.keys.size === 0 && c.bundles.size === 0) continue;
      for (const m of g.members) {
        if (olds.has(m)) continue;
        const affected = cs.index
          .grantsOf(m)
          .some((x) => (x.bundle >= 0 && c.bundles.has(x.bundle)) || (x.keyId >= 0 && x.bundle < 0 && c.keys.has(x.keyId)));
        if (affected) this.mergeDelta(delta, this.recheckOutliers(cs, m, c));
      }
    }
    return delta;
  }

  /**
   * Re-evaluates the peer-outlier findings of account `a`: for assignments of the changed keys and
   * bundles, or all of them (`changed` null, e.g. when the group's size changed).
   */
  private recheckOutliers(cs: ConnState, a: number, changed: { keys: Set<number>; bundles: Set<number> } | null): FindingsDelta {
    const delta = emptyDelta();
    const acct = cs.accounts[a];
    if (!acct) return delta;
    this.outlierRechecks++;
    const current = this.byAccount.get(acct.id) ?? new Map<string, Finding>();
    const fresh = new Map<string, Finding>();
    const considered = new Set<string>();
    for (const g of cs.index.grantsOf(a)) {
      const isKey = g.bundle < 0 && g.keyId >= 0;
      if (g.bundle < 0 && !isKey) continue;
      if (changed && !(g.bundle >= 0 ? changed.bundles.has(g.bundle) : changed.keys.has(g.keyId))) continue;
      considered.add(findingId(acct.id, 'peer-outlier', [this.subjectOf(cs, g)]));
      const f = grantActiveAt(g, this.nowMs) ? this.outlierFinding(cs, a, g) : null;
      if (f) {
        fresh.set(f.id, f);
        this.scheduleAcceptance(cs, a, f);
      }
    }
    if (changed === null) for (const f of current.values()) if (f.kind === 'peer-outlier') considered.add(f.id);
    for (const id of considered) {
      const old = current.get(id);
      const now = fresh.get(id);
      if (now && !old) delta.opened.push(now);
      else if (!now && old) delta.resolved.push(old);
      else if (now && old && !sameFinding(old, now)) delta.updated.push(now);
      if (now) current.set(id, now);
      else current.delete(id);
    }
    if (current.size > 0) this.byAccount.set(acct.id, current);
    else this.byAccount.delete(acct.id);
    return delta;
  }

  /** What an assignment names: `bundle:{id}` or the key. */
  private subjectOf(cs: ConnState, g: Grant): string {
    const t = g.assignment.target;
    return t.type === 'bundle' ? `bundle:${t.bundleId}` : t.key;
  }

  private restatus(findingId: string): FindingsDelta {
    const delta = emptyDelta();
    for (const m of this.byAccount.values()) {
      const f = m.get(findingId);
      if (!f) continue;
      const next = this.withStatus(f);
      m.set(findingId, next);
      const cs = this.accountConn.get(next.accountId);
      if (cs) this.scheduleAcceptance(cs, cs.index.accountIndex(next.accountId), next);
      if (!sameFinding(f, next)) delta.updated.push(next);
    }
    return delta;
  }

  private withStatus<F extends Finding>(f: F): F {
    const acc = this.acceptances.get(f.id);
    if (!acc) return { ...f, status: 'open', acceptance: null, reopened: false };
    const active = this.nowMs < acc.until;
    return { ...f, status: active ? 'accepted' : 'open', acceptance: acc.a, reopened: !active };
  }

  private mergeDelta(into: FindingsDelta, d: FindingsDelta): void {
    into.opened.push(...d.opened);
    into.resolved.push(...d.resolved);
    into.updated.push(...d.updated);
  }

  private make(
    cs: ConnState,
    acct: OrgAccount,
    kind: FindingKind,
    subject: string[],
    keys: string[],
    bundleIds: string[],
    severity: Risk,
    evidence: FindingEvidence,
  ): Finding {
    const id = findingId(acct.id, kind, subject);
    const acc = this.acceptances.get(id);
    let status: Finding['status'] = 'open';
    let reopened = false;
    if (acc) {
      if (this.nowMs < acc.until) status = 'accepted';
      else reopened = true;
    }
    return {
      id,
      kind,
      connectionId: cs.conn.id,
      accountId: acct.id,
      personId: acct.personId,
      keys,
      bundleIds,
      severity,
      evidence,
      status,
      acceptance: acc?.a ?? null,
      reopened,
    };
  }

  private isAdmin(p: OrgPerson): boolean {
    return this.org.policy.adminFunctions.some((m) => matchesFunction(m, p));
  }

  private riskOfKey(cs: ConnState, k: number): Risk {
    const r = cs.riskOf[k] ?? -1;
    return r === 3 ? 'critical' : r === 2 ? 'high' : r === 1 ? 'medium' : 'low';
  }

  /** Active grants of `a` that grant key `k` (by listing it, or through implication if `implied`). */
  private grantRefs(cs: ConnState, a: number, k: number, implied: boolean): GrantRef[] {
    const ix = cs.index;
    const out: GrantRef[] = [];
    for (const g of ix.grantsOf(a)) {
      if (!grantActiveAt(g, this.nowMs)) continue;
      let hit = false;
      if (g.bundle >= 0) hit = ix.bundleHas(g.bundle, k, implied);
      else if (g.keyId >= 0) hit = implied ? ix.universe.implies(g.keyId, k) : g.keyId === k;
      if (!hit) continue;
      const b = g.bundle >= 0 ? ix.bundle(g.bundle) : null;
      out.push({ assignmentId: g.assignment.id, bundleId: b?.id ?? null, bundleName: b?.name ?? null, expiresAt: g.assignment.expiresAt });
    }
    return out;
  }

  /** Keys a grant gives by name that `row` (a baseline) does not cover; every such key when `row` is null. */
  private keysBeyond(cs: ConnState, g: Grant, row: Uint32Array | null): number[] {
    const ix = cs.index;
    const out: number[] = [];
    if (g.bundle >= 0) {
      const r = ix.bundleGrantedRow(g.bundle);
      for (let w = 0; w < cs.W; w++) {
        let v = r.bits[r.offset + w]! & (row ? ~row[w]! : 0xffffffff);
        while (v !== 0) {
          const b = v & -v;
          out.push((w << 5) + (31 - Math.clz32(b)));
          v ^= b;
        }
      }
    } else if (g.keyId >= 0 && !(row && hasBit(row, 0, g.keyId))) out.push(g.keyId);
    return out;
  }

  private baselineFor(cs: ConnState, p: OrgPerson): { row: Uint32Array; ids: string[] } | null {
    const cacheKey = `${p.department}\u0000${p.title}`;
    if (cs.baselineCache.has(cacheKey)) return cs.baselineCache.get(cacheKey)!;
    const ix = cs.index;
    const matching = this.org.policy.baselines.filter((b) => b.connectionId === cs.conn.id && matchesFunction(b.match, p));
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
          if (id >= 0) for (const c of ix.universe.closure(id)) setBit(row, 0, c);
        }
      }
      result = { row, ids: matching.map((b) => b.id) };
    }
    cs.baselineCache.set(cacheKey, result);
    return result;
  }

  private sideMatch(cs: ConnState, a: number, side: CompiledSide, extra?: Set<number>): string[] | null {
    const ix = cs.index;
    const hits: string[] = [];
    for (const k of side.keyIds) if ((a >= 0 && ix.can(a, k)) || extra?.has(k)) hits.push(ix.universe.key(k));
    for (const b of side.bundles) if (a >= 0 && ix.holdsBundle(a, b)) hits.push(`bundle:${ix.bundle(b).id}`);
    return hits.length > 0 ? hits : null;
  }

  /** Peer outlier for one active assignment of `a`: the bundle or key it names, held by few peers. */
  private outlierFinding(cs: ConnState, a: number, g: Grant): Finding | null {
    const group = cs.groupOf[a];
    if (!group) return null;
    const peers = group.members.size - 1;
    const th = this.org.policy.thresholds;
    if (peers < th.minPeerGroup) return null;
    const ix = cs.index;
    let holders: number;
    let severityRisky: boolean;
    if (g.bundle >= 0) {
      holders = group.bundleCounts[g.bundle]! - (ix.holdsBundle(a, g.bundle) ? 1 : 0);
      const r = ix.bundleEffRow(g.bundle);
      severityRisky = rowsIntersect(r.bits, r.offset, cs.highRisk, 0, cs.W);
    } else if (g.keyId >= 0) {
      holders = group.counts[g.keyId]! - (ix.can(a, g.keyId) ? 1 : 0);
      severityRisky = (cs.riskOf[g.keyId] ?? -1) >= RISK_RANK.high;
    } else return null;
    const share = holders / peers;
    if (share >= th.peerOutlierShare) return null;
    const acct = cs.accounts[a]!;
    const t = g.assignment.target;
    const subject = this.subjectOf(cs, g);
    return this.make(
      cs,
      acct,
      'peer-outlier',
      [subject],
      t.type === 'permission' ? [t.key] : NONE,
      t.type === 'bundle' ? [t.bundleId] : NONE,
      severityRisky ? 'medium' : 'low',
      { kind: 'peer-outlier', department: group.department, title: group.title, holders, peers, share, threshold: th.peerOutlierShare },
    );
  }

  /** Every finding of one account, from scratch, and the account's next time-based event. */
  private computeAccount(cs: ConnState, a: number): Map<string, Finding> {
    const out = this.computeFindings(cs, a);
    cs.nextEvent[a] = Infinity;
    this.schedule(cs, a, this.nextEventOf(cs, a));
    for (const f of out.values()) this.scheduleAcceptance(cs, a, f);
    return out;
  }

  /** Keeps `t` as the account's next event if it is in the future and earlier than the one held. */
  private schedule(cs: ConnState, a: number, t: number): void {
    if (!(t > this.nowMs) || !(t < (cs.nextEvent[a] ?? Infinity))) return;
    cs.nextEvent[a] = t;
    cs.events.push(t, a);
  }

  /** An accepted finding reopens when its acceptance expires (`nowMs < until` turns false at `until`). */
  private scheduleAcceptance(cs: ConnState, a: number, f: Finding): void {
    if (f.status !== 'accepted') return;
    const acc = this.acceptances.get(f.id);
    if (acc) this.schedule(cs, a, acc.until);
  }

  /** Rebuilds the event heap from the accounts' current next events (drops stale pairs). */
  private rebuildEvents(cs: ConnState): void {
    cs.events.clear();
    for (let a = 0; a < cs.nextEvent.length; a++) {
      const t = cs.nextEvent[a];
      if (t !== undefined && t !== Infinity) cs.events.push(t, a);
    }
  }

  /**
   * The earliest instant after the clock at which the dormant or unused findings of account `a` can
   * change, mirroring the rules of `computeFindings` exactly (whole milliseconds; thresholds are
   * whole days), and the next start, end or revocation of any of its grants.
   */
  private nextEventOf(cs: ConnState, a: number): number {
    const now = this.nowMs;
    let next = Infinity;
    // A grant starting, ending or being revoked (rows, expired-grant and every access-based finding;
    // `grantActiveAt` and `accountsCrossing` change at exactly these instants).
    for (const g of cs.index.grantsOf(a)) {
      if (g.start > now && g.start < next) next = g.start;
      if (g.end > now && g.end < next) next = g.end;
      if (g.revoked > now && g.revoked < next) next = g.revoked;
    }
    const acct = cs.accounts[a];
    if (!acct || !acct.active) return next;
    const person = this.people.get(acct.personId);
    if (!person || person.status !== 'active') return next;
    const th = this.org.policy.thresholds;
    // Dormant when floor((now - since) / DAY) >= dormantDays, with the day count in the evidence:
    // the next change is when the count reaches max(count + 1, dormantDays).
    const login = cs.lastLoginMs[a]!;
    const since = Number.isNaN(login) ? cs.createdMs[a]! : login;
    if (Number.isFinite(since)) {
      const days = Math.floor((now - since) / DAY_MS);
      next = Math.min(next, since + Math.max(days + 1, Math.ceil(th.dormantDays)) * DAY_MS);
    }
    // Unused, with windowStart = now - unusedDays: the account is judged once createdMs <= windowStart
    // (from created + U), an assignment once start <= windowStart (from start + U), and a use counts
    // while last >= windowStart (until last + U, so it stops counting at last + U + 1 ms).
    const U = th.unusedDays * DAY_MS;
    const created = cs.createdMs[a]!;
    if (Number.isFinite(created) && created + U > now) next = Math.min(next, created + U);
    for (const g of cs.index.grantsOf(a)) if (Number.isFinite(g.start) && g.start + U > now) next = Math.min(next, g.start + U);
    const usage = cs.usage[a];
    if (usage) for (const u of usage) if (Number.isFinite(u.last) && u.last + U + 1 > now) next = Math.min(next, u.last + U + 1);
    return next;
  }

  /** Every finding of one account, from scratch (no event bookkeeping). */
  private computeFindings(cs: ConnState, a: number): Map<string, Finding> {
    const out = new Map<string, Finding>();
    const acct = cs.accounts[a];
    if (!acct || !acct.active) return out;
    const ix = cs.index;
    const now = this.nowMs;
    const th = this.org.policy.thresholds;
    const grants = ix.grantsOf(a);
    const W = cs.W;
    const { eff, granted } = ix.rows();
    const off = a * W;

    // Expired grants still present: past expiry, never revoked (the exact expiry instant counts as past).
    for (const g of grants) {
      if (g.end <= now && !(g.revoked <= now)) {
        const t = g.assignment.target;
        const subject = [g.assignment.id];
        put(out, 
          this.make(cs, acct, 'expired-grant', subject, t.type === 'permission' ? [t.key] : NONE, t.type === 'bundle' ? [t.bundleId] : NONE, 'high', {
            kind: 'expired-grant',
            assignmentId: g.assignment.id,
            expiresAt: g.assignment.expiresAt!,
            bundleId: t.type === 'bundle' ? t.bundleId : null,
            key: t.type === 'permission' ? t.key : null,
          }),
        );
      }
    }

    const person = this.people.get(acct.personId);
    if (!person || person.status !== 'active') {
      const holdsHighRisk = rowsIntersect(eff, off, cs.highRisk, 0, W);
      const status = person?.status === 'suspended' ? 'suspended' : 'departed';
      put(out, 
        this.make(cs, acct, 'inactive-person', NONE, NONE, NONE, status === 'departed' || holdsHighRisk ? 'critical' : 'high', {
          kind: 'inactive-person',
          personStatus: status,
        }),
      );
      return out;
    }

    // Dormant: no login for N days (an account that never signed in counts from its creation).
    const login = cs.lastLoginMs[a]!;
    const since = Number.isNaN(login) ? cs.createdMs[a]! : login;
    const days = Math.floor((now - since) / DAY_MS);
    if (days >= th.dormantDays) {
      put(out, 
        this.make(cs, acct, 'dormant', NONE, NONE, NONE, rowsIntersect(eff, off, cs.highRisk, 0, W) ? 'high' : 'medium', {
          kind: 'dormant',
          lastLoginAt: acct.lastLoginAt,
          daysSinceLogin: days,
          thresholdDays: th.dormantDays,
        }),
      );
    }

    const admin = this.isAdmin(person);

    // High risk on a non-admin function: keys granted by name (a key only implied by another is
    // explained by the one that implies it: ModifyAllData, not every object's modifyAll).
    if (!admin) {
      for (let w = 0; w < W; w++) {
        let v = granted[off + w]! & cs.highRisk[w]!;
        while (v !== 0) {
          const t = v & -v;
          const k = (w << 5) + (31 - Math.clz32(t));
          v ^= t;
          const key = ix.universe.key(k);
          const risk = this.riskOfKey(cs, k);
          const one = [key];
          put(out, 
            this.make(cs, acct, 'high-risk', one, one, NONE, risk, {
              kind: 'high-risk',
              risk,
              department: person.department,
              title: person.title,
              grantedBy: this.grantRefs(cs, a, k, false),
            }),
          );
        }
      }
    }

    // Super-admin equivalent.
    for (const set of cs.superSets) {
      if (set.length > 0 && set.every((k) => k >= 0 && ix.can(a, k))) {
        const keys = set.map((k) => ix.universe.key(k)).sort();
        put(out, this.make(cs, acct, 'super-admin', keys, keys, NONE, admin ? 'high' : 'critical', { kind: 'super-admin', keys, adminFunction: admin }));
      }
    }

    // Separation of duties.
    for (const s of cs.sod) {
      const l = this.sideMatch(cs, a, s.left);
      if (!l) continue;
      const r = this.sideMatch(cs, a, s.right);
      if (!r) continue;
      const left = splitHits(l);
      const right = splitHits(r);
      put(out, 
        this.make(
          cs,
          acct,
          'sod-conflict',
          [s.rule.id],
          [...new Set([...left.keys, ...right.keys])].sort(),
          [...new Set([...left.bundleIds, ...right.bundleIds])].sort(),
          s.rule.severity,
          { kind: 'sod-conflict', ruleId: s.rule.id, ruleName: s.rule.name, left, right },
        ),
      );
    }

    // Beyond baseline, per assignment: a bundle that grants keys the job function's baseline does
    // not cover, or a direct grant of such a key.
    const baseline = this.baselineFor(cs, person);
    if (baseline) {
      const row = baseline.row;
      const seen = new Set<string>();
      for (const g of grants) {
        if (!grantActiveAt(g, now)) continue;
        const t = g.assignment.target;
        const subject = this.subjectOf(cs, g);
        if (seen.has(subject)) continue;
        let uncovered: number[] = [];
        if (g.bundle >= 0) {
          const r = ix.bundleGrantedRow(g.bundle);
          for (let w = 0; w < W; w++) {
            let v = r.bits[r.offset + w]! & ~row[w]!;
            while (v !== 0) {
              const b = v & -v;
              uncovered.push((w << 5) + (31 - Math.clz32(b)));
              v ^= b;
            }
          }
        } else if (g.keyId >= 0 && !hasBit(row, 0, g.keyId)) uncovered = [g.keyId];
        if (uncovered.length === 0) continue;
        seen.add(subject);
        let top = 0;
        for (const k of uncovered) top = Math.max(top, cs.riskOf[k] ?? 0);
        const severity: Risk = top >= 3 ? 'critical' : top === 2 ? 'high' : top === 1 ? 'medium' : 'low';
        const b = g.bundle >= 0 ? ix.bundle(g.bundle) : null;
        put(out, 
          this.make(cs, acct, 'beyond-baseline', [subject], uncovered.map((k) => ix.universe.key(k)), t.type === 'bundle' ? [t.bundleId] : NONE, severity, {
            kind: 'beyond-baseline',
            baselineIds: baseline.ids,
            grantedBy: [{ assignmentId: g.assignment.id, bundleId: b?.id ?? null, bundleName: b?.name ?? null, expiresAt: g.assignment.expiresAt }],
          }),
        );
      }
    }

    // Granted outside the request process: found in the CRM by an import after the connection's
    // first one, with no request behind it, granting keys the job function's baseline does not cover.
    for (const g of grants) {
      if (!g.assignment.outsideProcess || !grantActiveAt(g, now)) continue;
      const uncovered = this.keysBeyond(cs, g, baseline?.row ?? null);
      if (uncovered.length === 0) continue;
      let top = 1; // at least medium: nobody asked for it
      for (const k of uncovered) top = Math.max(top, cs.riskOf[k] ?? 0);
      const t = g.assignment.target;
      put(out,
        this.make(cs, acct, 'outside-process', [g.assignment.id], uncovered.map((k) => ix.universe.key(k)).sort(),
          t.type === 'bundle' ? [t.bundleId] : NONE, top >= 3 ? 'critical' : top === 2 ? 'high' : 'medium', {
            kind: 'outside-process',
            assignmentId: g.assignment.id,
            grantedAt: g.assignment.grantedAt,
            bundleId: t.type === 'bundle' ? t.bundleId : null,
            key: t.type === 'permission' ? t.key : null,
            baselineIds: baseline?.ids ?? [],
          }),
      );
    }

    // Unused: an assignment none of whose keys was used within the window. Only judged when the
    // account and the assignment both existed for the whole window.
    const windowStart = now - th.unusedDays * DAY_MS;
    if (cs.createdMs[a]! <= windowStart) {
      if (this.scratch.length !== W) this.scratch = new Uint32Array(W);
      const used = this.scratch;
      used.fill(0);
      const usage = cs.usage[a];
      if (usage) for (const u of usage) if (u.last >= windowStart) setBit(used, 0, u.keyId);
      for (const g of grants) {
        if (!grantActiveAt(g, now) || g.start > windowStart) continue;
        let usedAny: boolean;
        if (g.bundle >= 0) {
          const r = ix.bundleEffRow(g.bundle);
          usedAny = rowsIntersect(r.bits, r.offset, used, 0, W);
        } else if (g.keyId >= 0) {
          usedAny = false;
          for (const c of ix.universe.closure(g.keyId)) if (hasBit(used, 0, c)) {
            usedAny = true;
            break;
          }
        } else continue;
        if (usedAny) continue;
        const t = g.assignment.target;
        let lastUsed: UsageRow | null = null;
        if (usage)
          for (const u of usage) {
            const covers = g.bundle >= 0 ? ix.bundleHas(g.bundle, u.keyId, true) : ix.universe.implies(g.keyId, u.keyId);
            if (covers && (!lastUsed || u.last > lastUsed.last)) lastUsed = u;
          }
        const riskRow = g.bundle >= 0 ? ix.bundleEffRow(g.bundle) : null;
        const risky = riskRow
          ? rowsIntersect(riskRow.bits, riskRow.offset, cs.highRisk, 0, W)
          : ix.universe.closure(g.keyId).some((c) => hasBit(cs.highRisk, 0, c));
        put(out, 
          this.make(
            cs,
            acct,
            'unused',
            [t.type === 'bundle' ? `bundle:${t.bundleId}` : t.key],
            t.type === 'permission' ? [t.key] : NONE,
            t.type === 'bundle' ? [t.bundleId] : NONE,
            risky ? 'medium' : 'low',
            {
              kind: 'unused',
              assignmentId: g.assignment.id,
              windowDays: th.unusedDays,
              grantedAt: g.assignment.grantedAt,
              lastUsedAt: lastUsed?.lastIso ?? null,
            },
          ),
        );
      }
    }

    // Peer outliers: assignments (a bundle, or a direct key) that few peers with the same job hold.
    const group = cs.groupOf[a];
    if (group && group.members.size - 1 >= th.minPeerGroup) {
      for (const g of grants) {
        if (!grantActiveAt(g, now)) continue;
        const f = this.outlierFinding(cs, a, g);
        if (f) put(out, f);
      }
    }
    return out;
  }
}

function put(out: Map<string, Finding>, f: Finding): void {
  out.set(f.id, f);
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

function splitHits(hits: string[]): { keys: string[]; bundleIds: string[] } {
  const keys: string[] = [];
  const bundleIds: string[] = [];
  for (const h of hits) if (h.startsWith('bundle:')) bundleIds.push(h.slice(7));
  else keys.push(h);
  return { keys, bundleIds };
}

/** Same id, severity, status and evidence. */
function sameFinding(a: Finding, b: Finding): boolean {
  return (
    a.id === b.id &&
    a.severity === b.severity &&
    a.status === b.status &&
    a.reopened === b.reopened &&
    JSON.stringify(a.evidence) === JSON.stringify(b.evidence) &&
    a.keys.join() === b.keys.join() &&
    a.bundleIds.join() === b.bundleIds.join()
  );
}

/** Every finding of the org at `now` (builds an OrgEngine; keep the engine for incremental use). */
export function findings(org: OrgData, now: Date): Finding[] {
  return new OrgEngine(org, now).findings();
}
