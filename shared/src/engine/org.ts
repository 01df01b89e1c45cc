/**
 * The org engine: one AccessIndex per CRM connection plus the directory, policy and usage, with
 * every account's findings kept per account so that one changed assignment, bundle, account or
 * person recomputes only what it can affect.
 *
 * The parts live in org/: the shared context and per-connection state (context.ts), usage (usage.ts),
 * the event clock (clock.ts), peer groups (peers.ts), separation of duties (sod.ts), licenses
 * (licenses.ts), and one module per finding kind (kinds/), run in order by account-findings.ts.
 */
import type { Assignment, Bundle } from '../schemas.ts';
import { AccessIndex, type EngineExplanation, type EnginePath } from './access.ts';
import { setBit } from './bitset.ts';
import { emptyDelta, type Finding, type FindingsDelta } from './findings.ts';
import { implicationTableFor } from './implications.ts';
import { parseInstant } from './time.ts';
import { accountFindings } from './org/account-findings.ts';
import { EventHeap, nextEventOf, rebuildEvents, schedule, scheduleAcceptance } from './org/clock.ts';
import { ConnState, OrgContext, findIn, sameFinding } from './org/context.ts';
import { baselineFor, type JobBaseline } from './org/kinds/beyond-baseline.ts';
import { outlierFinding } from './org/kinds/peer-outlier.ts';
import { licenseSeatsUsed } from './org/licenses.ts';
import { PeerGroups, type GroupChange, type OutlierSubjects, type PeerGroup } from './org/peers.ts';
import { compileSod, sodConflicts } from './org/sod.ts';
import { UsageStore } from './org/usage.ts';
import {
  DEFAULT_SUPER_ADMIN_SETS,
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

export { DAY_MS } from './org/context.ts';

interface OldRows {
  eff: Uint32Array;
  held: Uint32Array;
}

const NO_DELTA_ACCOUNT: Finding[] = [];

export class OrgEngine {
  private readonly ctx: OrgContext;
  private readonly accountsByPerson = new Map<string, string[]>();
  private readonly conns = new Map<string, ConnState>();
  private readonly accountConn = new Map<string, ConnState>();
  private readonly org: OrgData;
  /** Set when the clock moved backwards without a full recompute: the next advance recomputes all. */
  private clockRewound = false;
  /** Accounts recomputed by the last `advanceTo`, and peers whose outliers it re-checked (for measurements). */
  lastAdvanceRecomputed = 0;
  lastAdvancePeerRechecks = 0;
  private outlierRechecks = 0;
  private accountComputations = 0;
  private readonly recheckScratch = new SubjectScratch();

  /**
   * Work done since construction, for measurements (a benchmark reads the difference around a
   * change): accounts whose findings were computed from scratch, and peers whose outlier findings were
   * re-checked.
   */
  get workCounters(): { accountsComputed: number; peerRechecks: number } {
    return { accountsComputed: this.accountComputations, peerRechecks: this.outlierRechecks };
  }

  constructor(org: OrgData, now: Date, options: { deferFindings?: boolean } = {}) {
    this.org = org;
    this.ctx = new OrgContext(org, now);
    const policy = org.policy;
    const accountsByConn = new Map<string, OrgAccount[]>();
    const connOfAccount = new Map<string, string>();
    for (const a of org.accounts) {
      connOfAccount.set(a.id, a.connectionId);
      const list = accountsByConn.get(a.connectionId);
      if (list) list.push(a);
      else accountsByConn.set(a.connectionId, [a]);
    }
    const assignmentsByConn = new Map<string, Assignment[]>();
    for (const a of org.assignments) {
      const c = connOfAccount.get(a.accountId);
      if (c === undefined) continue;
      const list = assignmentsByConn.get(c);
      if (list) list.push(a);
      else assignmentsByConn.set(c, [a]);
    }
    connOfAccount.clear();
    for (const conn of org.connections) {
      const catalog = new Map<string, CatalogMeta>();
      for (const e of org.catalog) if (e.connectionId === conn.id) catalog.set(e.key, e);
      const extraKeys: string[] = [...catalog.keys()];
      for (const b of policy.baselines) if (b.connectionId === conn.id) extraKeys.push(...b.keys);
      for (const r of policy.sodRules) if (r.connectionId === conn.id) extraKeys.push(...(r.left.keys ?? []), ...(r.right.keys ?? []));
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
      assignmentsByConn.delete(conn.id);
      const cs = new ConnState(conn, index, catalog);
      cs.usage = new UsageStore();
      cs.events = new EventHeap();
      cs.peers = new PeerGroups(this.ctx, cs);
      cs.ensureAccounts(index.accountCount);
      this.conns.set(conn.id, cs);
      for (const a of accounts) this.registerAccount(cs, a);
    }
    const usageCount = new Map<ConnState, number>();
    for (const u of org.usage) {
      const cs = this.accountConn.get(u.accountId);
      if (cs) usageCount.set(cs, (usageCount.get(cs) ?? 0) + 1);
    }
    for (const [cs, n] of usageCount) cs.usage.reserve(n + (n >>> 3) + 64);
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
    return new Date(this.ctx.nowMs);
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
    return this.ctx.people.get(personId);
  }

  account(accountId: string): OrgAccount | undefined {
    const cs = this.accountConn.get(accountId);
    if (!cs) return undefined;
    return cs.accounts[cs.index.accountIndex(accountId)];
  }

  accountsOf(personId: string): OrgAccount[] {
    return (this.accountsByPerson.get(personId) ?? []).map((id) => this.account(id)!).filter(Boolean);
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
    for (const cs of this.conns.values())
      for (let a = 0; a < cs.found.length; a++) {
        const list = cs.found[a];
        if (list) for (const f of list) out.push(f);
      }
    return out;
  }

  findingsOf(accountId: string): Finding[] {
    const cs = this.accountConn.get(accountId);
    return cs ? [...(cs.findingsAt(cs.index.accountIndex(accountId)) ?? [])] : [];
  }

  get findingCount(): number {
    let n = 0;
    for (const cs of this.conns.values()) n += cs.findingCount;
    return n;
  }

  /** SoD rules of the account's connection that an account holding also `extraKeys` would violate. */
  sodConflicts(accountId: string, extraKeys: readonly string[] = []): { rule: SodRule; left: string[]; right: string[] }[] {
    const cs = this.accountConn.get(accountId);
    return cs ? sodConflicts(cs, accountId, extraKeys) : [];
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
    const group = a >= 0 ? (cs.peers?.groupOf[a] ?? null) : null;
    if (!group) return null;
    const holders: Record<string, number> = {};
    for (const key of keys) {
      const id = cs.index.keyId(key);
      holders[key] = id < 0 ? 0 : Math.max(0, (group.counts[cs.index.column(id)] ?? 0) - (cs.index.can(a, id) ? 1 : 0));
    }
    return { department: group.department, title: group.title, peers: group.members.size - 1, holders };
  }

  /** Accounts of a connection holding any key that consumes `licenseId` (seats in use). */
  licenseSeatsUsed(connectionId: string, licenseId: string): { used: number; holders: Set<string> } {
    const cs = this.conns.get(connectionId);
    return cs ? licenseSeatsUsed(cs, licenseId) : { used: 0, holders: new Set() };
  }

  // ================= incremental changes =================

  /** One assignment added, changed or removed. Returns the findings that changed. */
  applyAssignmentChange(change: { type: 'upsert'; assignment: Assignment } | { type: 'remove'; assignmentId: string }): FindingsDelta {
    const id = change.type === 'upsert' ? change.assignment.id : change.assignmentId;
    let cs: ConnState | undefined;
    let previous = -1;
    for (const c of this.conns.values()) {
      const g = c.index.grantSlot(id);
      if (g >= 0) {
        cs = c;
        previous = c.index.grantAccount(g);
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
    const olds = new Map<number, OldRows>();
    if (previous >= 0) this.snapshot(cs, previous, olds);
    if (change.type === 'upsert') this.snapshot(cs, ix.accountIndex(change.assignment.accountId), olds);
    const rebuilds = ix.rebuilds;
    for (const a of olds.keys()) cs.peers.unindex(a);
    if (change.type === 'upsert') ix.upsertAssignment(change.assignment);
    else ix.removeAssignment(change.assignmentId);
    if (ix.rebuilds !== rebuilds || ix.wordsPerKeyRow !== W) return this.refreshConn(cs);
    for (const a of olds.keys()) cs.peers.reindex(a);
    return this.afterRowsChanged(cs, olds);
  }

  /** A bundle added or changed (its keys or includes). Returns the findings that changed. */
  applyBundleChange(bundle: Bundle): FindingsDelta {
    const cs = this.conns.get(bundle.connectionId);
    if (!cs) return emptyDelta();
    const W = cs.W;
    const olds = new Map<number, OldRows>();
    for (const a of cs.index.accountsReachedByBundle(bundle.id)) this.snapshot(cs, a, olds);
    const rebuilds = cs.index.rebuilds;
    // Baselines name bundles too: a job whose baseline changes is judged again (beyond-baseline),
    // whether or not its people hold the bundle.
    const baselinesBefore = this.baselineRows(cs);
    let touched: number[];
    // Assignments that named the bundle before it existed resolve now: their accounts' namers are redone.
    const resolving = cs.index.accountsAwaitingBundle(bundle.id);
    for (const a of resolving) cs.peers.unindex(a);
    try {
      touched = cs.index.upsertBundle(bundle);
    } catch (e) {
      // Refused (a cycle): access is unchanged, but the rows may have been rebuilt around new
      // source keys (other columns): the connection's derived state follows them.
      if (cs.index.rebuilds !== rebuilds) this.refreshConn(cs);
      else for (const a of resolving) cs.peers.reindex(a);
      throw e;
    }
    cs.bundleChanged();
    cs.sod = compileSod(cs, this.org.policy.sodRules);
    if (cs.index.rebuilds !== rebuilds || cs.index.wordsPerKeyRow !== W || touched.some((a) => !olds.has(a))) return this.refreshConn(cs);
    for (const a of resolving) cs.peers.reindex(a);
    for (const a of [...olds.keys()]) if (!touched.includes(a)) olds.delete(a);
    const delta = this.afterRowsChanged(cs, olds);
    for (const [job, before] of baselinesBefore) {
      const after = baselineFor(this.ctx, cs, job);
      if (sameBaseline(before, after)) continue;
      for (const a of cs.peers.membersOf(job.department, job.title)) if (!olds.has(a)) this.recomputeAccount(cs, a, delta);
    }
    return delta;
  }

  /** The baseline of every job with active accounts, as the connection's bundles give it now. */
  private baselineRows(cs: ConnState): [{ department: string; title: string }, JobBaseline | null][] {
    return cs.peers.jobs().map((job) => [job, baselineFor(this.ctx, cs, job)]);
  }

  /** A person's department, title, status or trainings changed. Returns the findings that changed. */
  applyPersonChange(person: OrgPerson): FindingsDelta {
    this.ctx.people.set(person.id, person);
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
    cs.ensureAccounts(cs.index.accountCount);
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
    for (const [cs, set] of touched) for (const a of set) this.recomputeAccount(cs, a, delta);
    return delta;
  }

  /** Records or replaces an accepted risk. */
  acceptRisk(acceptance: RiskAcceptance): FindingsDelta {
    this.ctx.acceptances.set(acceptance.findingId, { a: acceptance, until: Date.parse(acceptance.expiresAt) });
    return this.restatus(acceptance.findingId);
  }

  revokeAcceptance(findingId: string): FindingsDelta {
    this.ctx.acceptances.delete(findingId);
    return this.restatus(findingId);
  }

  /**
   * Moves the clock for access only: grants that start, end or are revoked in between take effect,
   * and the findings of the accounts they touch (and of those accounts' peers) are recomputed. Cheap:
   * a scan of the grants plus the touched accounts. Time-based findings of untouched accounts
   * (dormant, unused, acceptance expiry) wait for `advanceTo`.
   */
  moveClock(now: Date): FindingsDelta {
    if (now.getTime() < this.ctx.nowMs) this.clockRewound = true;
    this.ctx.nowMs = now.getTime();
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
    if (t < this.ctx.nowMs || this.clockRewound) {
      this.ctx.nowMs = t;
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
    this.ctx.nowMs = t;
    for (const cs of this.conns.values()) {
      // Every account with an event in (clock, t]: a grant crossing or a time-based threshold.
      const heap = cs.events;
      const olds = new Map<number, OldRows>();
      while (heap.size > 0 && heap.peekTime() <= t) {
        const at = heap.peekTime();
        const a = heap.pop();
        if (cs.nextEvent[a] === at && !olds.has(a)) this.snapshot(cs, a, olds);
      }
      cs.index.advanceClock(now, olds.keys());
      recomputed += olds.size;
      // Recomputes the due accounts; peers' outliers only where rows (grants) changed.
      if (olds.size > 0) this.mergeDelta(delta, this.afterRowsChanged(cs, olds));
      if (heap.size > 4 * cs.index.accountCount + 1024) rebuildEvents(cs);
    }
    this.lastAdvanceRecomputed = recomputed;
    this.lastAdvancePeerRechecks = this.outlierRechecks - rechecks;
    return delta;
  }

  /** Grants crossing between the connection's clock and `now`: rows, findings and peers' outliers. */
  private moveConnClock(cs: ConnState, now: Date): FindingsDelta {
    const crossing = cs.index.accountsCrossing(now);
    const olds = new Map<number, OldRows>();
    for (const a of crossing) this.snapshot(cs, a, olds);
    cs.index.setNow(now);
    return olds.size > 0 ? this.afterRowsChanged(cs, olds) : emptyDelta();
  }

  // ================= internals: setup =================

  /** Keeps a copy of account `a`'s rows before they change. */
  private snapshot(cs: ConnState, a: number, olds: Map<number, OldRows>): void {
    if (a < 0 || olds.has(a)) return;
    const { eff, held, W, BW } = cs.index.rows();
    olds.set(a, { eff: eff.slice(a * W, a * W + W), held: held.slice(a * BW, a * BW + BW) });
  }

  private registerAccount(cs: ConnState, a: OrgAccount): void {
    const idx = cs.index.accountIndex(a.id);
    const prev = cs.accounts[idx];
    if (prev && prev.personId !== a.personId) {
      const list = this.accountsByPerson.get(prev.personId);
      const at = list ? list.indexOf(a.id) : -1;
      if (at >= 0) list!.splice(at, 1);
    }
    cs.accounts[idx] = a;
    cs.createdMs[idx] = parseInstant(a.createdAt);
    cs.lastLoginMs[idx] = a.lastLoginAt === null ? Number.NaN : parseInstant(a.lastLoginAt);
    this.accountConn.set(a.id, cs);
    const list = this.accountsByPerson.get(a.personId);
    if (!list) this.accountsByPerson.set(a.personId, [a.id]);
    else if (!list.includes(a.id)) list.push(a.id);
  }

  private addUsage(u: UsageAggregate): ConnState | undefined {
    const cs = this.accountConn.get(u.accountId);
    if (!cs) return undefined;
    const keyId = cs.index.keyId(u.key);
    if (keyId < 0) return undefined;
    cs.usage.set(cs.index.accountIndex(u.accountId), keyId, parseInstant(u.lastUsedAt), u.lastUsedAt);
    return cs;
  }

  /** Derived per-key data and peer groups (after construction or when the rows were rebuilt). */
  private prepareConn(cs: ConnState): void {
    const ix = cs.index;
    cs.W = ix.wordsPerKeyRow;
    cs.BW = ix.rows().BW;
    cs.riskOf = new Int8Array(ix.keyCount).fill(-1);
    cs.highRisk = new Uint32Array(cs.W);
    for (const e of cs.catalog.values()) {
      const id = ix.keyId(e.key);
      if (id < 0) continue;
      cs.riskOf[id] = RISK_RANK[e.risk];
      if (RISK_RANK[e.risk] >= RISK_RANK.high) setBit(cs.highRisk, 0, ix.column(id));
    }
    // Caches that follow the columns and the bundles (kept across scans while neither changed).
    if (cs.preparedFor !== ix.rebuilds) cs.resetDerived();
    cs.preparedFor = ix.rebuilds;
    cs.sod = compileSod(cs, this.org.policy.sodRules);
    const sets = (this.org.policy.superAdminSets ?? DEFAULT_SUPER_ADMIN_SETS)[cs.conn.kind] ?? [];
    cs.superSets = sets.map((s) => s.map((k) => ix.keyId(k)));
    cs.superKeys = cs.superSets.map((s) => (s.every((k) => k >= 0) ? (Object.freeze(s.map((k) => ix.universe.key(k)).sort()) as unknown as string[]) : []));
    cs.peers.clear();
    for (let a = 0; a < ix.accountCount; a++) cs.peers.join(a);
  }

  // ================= internals: findings =================

  /** Every finding of one account, from scratch, and the account's next time-based event. */
  private computeAccount(cs: ConnState, a: number, previous: readonly Finding[] | undefined = cs.findingsAt(a)): Finding[] {
    this.accountComputations++;
    this.ctx.previous = previous;
    const out = accountFindings(this.ctx, cs, a);
    this.ctx.previous = undefined;
    cs.nextEvent[a] = Infinity;
    schedule(this.ctx, cs, a, nextEventOf(this.ctx, cs, a));
    for (const f of out) scheduleAcceptance(this.ctx, cs, a, f);
    return out;
  }

  private computeConn(cs: ConnState): void {
    const ix = cs.index;
    cs.events.clear();
    cs.nextEvent.fill(Infinity);
    cs.findingCount = 0;
    const before = cs.found;
    cs.found = [];
    for (let a = 0; a < ix.accountCount; a++) cs.setFindings(a, this.computeAccount(cs, a, before[a]));
  }

  /** Full recomputation of one connection, reported as a delta against what was held. */
  private refreshConn(cs: ConnState): FindingsDelta {
    const before = new Map<string, Finding>();
    for (const list of cs.found) if (list) for (const f of list) before.set(f.id, f);
    this.prepareConn(cs);
    this.computeConn(cs);
    const delta = emptyDelta();
    const after = new Set<string>();
    for (const list of cs.found)
      if (list)
        for (const f of list) {
          after.add(f.id);
          const old = before.get(f.id);
          if (!old) delta.opened.push(f);
          else if (!sameFinding(old, f)) delta.updated.push(f);
        }
    for (const [id, f] of before) if (!after.has(id)) delta.resolved.push(f);
    return delta;
  }

  /** Recomputes account `a`'s findings, adding what changed to `delta` (returned). */
  private recomputeAccount(cs: ConnState, a: number, delta: FindingsDelta = emptyDelta()): FindingsDelta {
    const before = cs.findingsAt(a) ?? NO_DELTA_ACCOUNT;
    const after = this.computeAccount(cs, a, before);
    cs.setFindings(a, after);
    if (after === before) return delta;
    const index = before.length > 16 ? new Map(before.map((f) => [f.id, f])) : null;
    const afterIds = after.length > 16 ? new Set(after.map((f) => f.id)) : null;
    for (const f of after) {
      const old = index ? index.get(f.id) : findIn(before, f.id);
      if (!old) delta.opened.push(f);
      else if (!sameFinding(old, f)) delta.updated.push(f);
    }
    for (const f of before) if (!(afterIds ? afterIds.has(f.id) : findIn(after, f.id))) delta.resolved.push(f);
    return delta;
  }

  /** Account `a` left its peer group and rejoins (its job, status or account changed). */
  private regroup(cs: ConnState, a: number): FindingsDelta {
    const oldGroup = cs.peers.leave(a);
    const newGroup = cs.peers.join(a);
    const delta = this.recomputeAccount(cs, a);
    // Group sizes changed: every member's outlier shares change.
    for (const g of new Set([oldGroup, newGroup])) {
      if (!g) continue;
      for (const m of g.members) if (m !== a) this.recheckOutliers(cs, m, null, delta);
    }
    return delta;
  }

  /** After account rows changed: peer counts, the accounts' findings, and their peers' outliers. */
  private afterRowsChanged(cs: ConnState, olds: Map<number, OldRows>): FindingsDelta {
    const delta = emptyDelta();
    // Every changed account's peer counts first: recomputing one of them before another's change is
    // counted would judge it against stale peers.
    const changes = new Map<PeerGroup, GroupChange>();
    for (const [a, old] of olds) cs.peers.recount(a, old.eff, old.held, changes);
    for (const a of olds.keys()) this.recomputeAccount(cs, a, delta);
    for (const [g, c] of changes) {
      const subjects = cs.peers.subjectsToRecheck(g, c);
      if (!subjects) continue;
      for (const m of cs.peers.recheckCandidates(g, subjects, olds)) this.recheckOutliers(cs, m, subjects, delta);
    }
    return delta;
  }

  /**
   * Re-evaluates the peer-outlier findings of account `a`: for assignments of the changed columns and
   * bundles, or all of them (`changed` null, e.g. when the group's size changed). A peer-outlier
   * finding is matched by its subject (the bundle or key it names; its id derives from it). What
   * changed is added to `delta`.
   */
  private recheckOutliers(cs: ConnState, a: number, changed: OutlierSubjects | null, delta: FindingsDelta): void {
    const acct = cs.accounts[a];
    if (!acct) return;
    this.outlierRechecks++;
    const ix = cs.index;
    // Subjects in scratch lists (no allocation per re-check: a change can re-check hundreds of peers).
    // A subject is the bundle id or the key an assignment names (kept apart: a bundle id may look like a key).
    const sc = this.recheckScratch;
    let n = 0;
    const before = cs.findingsAt(a) ?? NO_DELTA_ACCOUNT;
    for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
      const b = ix.grantBundle(g);
      const k = ix.grantKey(g);
      if (b < 0 && k < 0) continue;
      if (changed && !(b >= 0 ? changed.hasBundle(b) : changed.hasCol(ix.column(k)))) continue;
      const t = ix.grantAssignment(g).target;
      const bundle = t.type === 'bundle';
      const name = t.type === 'bundle' ? t.bundleId : t.key;
      let i = sc.indexOf(n, bundle, name);
      if (i < 0) i = sc.add(n++, bundle, name);
      this.ctx.previous = before;
      const f = ix.grantActive(g, this.ctx.nowMs) ? outlierFinding(this.ctx, cs, a, g) : null;
      this.ctx.previous = undefined;
      if (f) {
        sc.fresh[i] = f;
        scheduleAcceptance(this.ctx, cs, a, f);
      }
    }
    for (let j = 0; j < before.length; j++) {
      const f = before[j]!;
      if (f.kind !== 'peer-outlier') continue;
      const bundle = f.bundleIds.length > 0;
      const name = bundle ? f.bundleIds[0]! : f.keys[0]!;
      let i = sc.indexOf(n, bundle, name);
      if (i < 0) {
        if (changed !== null) continue;
        i = sc.add(n++, bundle, name);
      }
      sc.old[i] = j;
    }
    // The account's new list, copied only when something changed (one exact-size copy when findings
    // were only replaced, the common case: a peer's count moved).
    let replaced: Finding[] | null = null;
    let removed: Set<Finding> | null = null;
    let added: Finding[] | null = null;
    for (let i = 0; i < n; i++) {
      const at = sc.old[i]!;
      const was = at < 0 ? undefined : before[at];
      const now = sc.fresh[i];
      if (now && !was) {
        delta.opened.push(now);
        (added ??= []).push(now);
      } else if (!now && was) {
        delta.resolved.push(was);
        (removed ??= new Set()).add(was);
      } else if (now && was && now !== was) {
        if (!sameFinding(was, now)) delta.updated.push(now);
        (replaced ??= before.slice())[at] = now;
      }
    }
    sc.release(n);
    if (!replaced && !removed && !added) return;
    let list = replaced ?? before;
    if (removed) list = list.filter((f) => !removed.has(f));
    if (added) list = list.concat(added);
    cs.setFindings(a, list);
  }

  private restatus(findingId: string): FindingsDelta {
    const delta = emptyDelta();
    for (const cs of this.conns.values())
      for (let a = 0; a < cs.found.length; a++) {
        const list = cs.found[a];
        if (!list) continue;
        const i = list.findIndex((f) => f.id === findingId);
        if (i < 0) continue;
        const f = list[i]!;
        const next = this.ctx.withStatus(f);
        list[i] = next;
        scheduleAcceptance(this.ctx, cs, a, next);
        if (!sameFinding(f, next)) delta.updated.push(next);
      }
    return delta;
  }

  private mergeDelta(into: FindingsDelta, d: FindingsDelta): void {
    for (const f of d.opened) into.opened.push(f);
    for (const f of d.resolved) into.resolved.push(f);
    for (const f of d.updated) into.updated.push(f);
  }
}

/** Reusable lists for `recheckOutliers`: per subject, whether it is a bundle, its name, its fresh finding and where the held one is. */
class SubjectScratch {
  bundle: boolean[] = [];
  name: string[] = [];
  fresh: (Finding | null)[] = [];
  /** Index in the account's held findings, -1 when none. */
  old: number[] = [];

  indexOf(n: number, bundle: boolean, name: string): number {
    for (let i = 0; i < n; i++) if (this.bundle[i] === bundle && this.name[i] === name) return i;
    return -1;
  }

  /** Sets entry `i` (the next free one) and returns it. */
  add(i: number, bundle: boolean, name: string): number {
    this.bundle[i] = bundle;
    this.name[i] = name;
    this.fresh[i] = null;
    this.old[i] = -1;
    return i;
  }

  /** Drops the references of the first `n` entries (nothing kept alive between re-checks). */
  release(n: number): void {
    for (let i = 0; i < n; i++) this.fresh[i] = null;
  }
}

function sameBaseline(a: JobBaseline | null, b: JobBaseline | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.ids.join('\u0000') !== b.ids.join('\u0000') || a.row.length !== b.row.length) return false;
  for (let w = 0; w < a.row.length; w++) if (a.row[w] !== b.row[w]) return false;
  return true;
}

/** Every finding of the org at `now` (builds an OrgEngine; keep the engine for incremental use). */
export function findings(org: OrgData, now: Date): Finding[] {
  return new OrgEngine(org, now).findings();
}
