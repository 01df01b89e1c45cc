/**
 * What every part of the org engine shares: the engine-wide context (clock, directory, policy,
 * accepted risks, how a finding is made) and the per-connection state (the access index and what
 * findings need beside it, kept in flat arrays indexed by account).
 */
import type { Risk } from '../../schemas.ts';
import type { AccessIndex } from '../access.ts';
import { findingId, type Finding, type FindingEvidence, type FindingKind } from '../findings.ts';
import {
  matchesFunction,
  RISK_RANK,
  type CatalogMeta,
  type OrgAccount,
  type OrgConnection,
  type OrgData,
  type OrgPerson,
  type RiskAcceptance,
  type SodRule,
  type Thresholds,
} from '../types.ts';
import type { EventHeap } from './clock.ts';
import type { JobBaseline } from './kinds/beyond-baseline.ts';
import type { PeerGroups } from './peers.ts';
import type { UsageStore } from './usage.ts';

export const DAY_MS = 86_400_000;

/** Shared empty list (frozen) for findings without keys or bundles. */
export const NONE = Object.freeze([]) as unknown as string[];

export interface CompiledSide {
  keyIds: number[];
  bundles: number[];
}

export interface CompiledSod {
  rule: SodRule;
  left: CompiledSide;
  right: CompiledSide;
}

/** Engine-wide state the finding kinds read. */
export class OrgContext {
  nowMs: number;
  /**
   * The findings of the account being computed, as they were: `make` returns one of them instead of
   * a new object when nothing about it changed (a recomputation then allocates no finding).
   */
  previous: readonly Finding[] | undefined = undefined;
  readonly people = new Map<string, OrgPerson>();
  readonly acceptances = new Map<string, { a: RiskAcceptance; until: number }>();

  constructor(
    readonly org: OrgData,
    now: Date,
  ) {
    this.nowMs = now.getTime();
    for (const p of org.people) this.people.set(p.id, p);
    for (const a of org.acceptances) this.acceptances.set(a.findingId, { a, until: Date.parse(a.expiresAt) });
  }

  get thresholds(): Thresholds {
    return this.org.policy.thresholds;
  }

  isAdmin(p: OrgPerson): boolean {
    return this.org.policy.adminFunctions.some((m) => matchesFunction(m, p));
  }

  /** A finding of account `acct`, with its status from the accepted risks at the clock. */
  make(
    cs: ConnState,
    acct: OrgAccount,
    kind: FindingKind,
    subject: readonly string[],
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
    const old = this.previous === undefined ? undefined : findIn(this.previous, id);
    if (
      old !== undefined &&
      old.kind === kind &&
      old.severity === severity &&
      old.status === status &&
      old.reopened === reopened &&
      old.acceptance === (acc?.a ?? null) &&
      old.accountId === acct.id &&
      old.personId === acct.personId &&
      old.connectionId === cs.conn.id &&
      sameList(old.keys, keys) &&
      sameList(old.bundleIds, bundleIds) &&
      sameJson(old.evidence, evidence)
    )
      return old;
    return {
      // The held finding's id string (equal): the one just hashed is then garbage, not kept.
      id: old === undefined ? id : old.id,
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

  withStatus<F extends Finding>(f: F): F {
    const acc = this.acceptances.get(f.id);
    if (!acc) return { ...f, status: 'open', acceptance: null, reopened: false };
    const active = this.nowMs < acc.until;
    return { ...f, status: active ? 'accepted' : 'open', acceptance: acc.a, reopened: !active };
  }
}

export const riskName = (r: number): Risk => (r === 3 ? 'critical' : r === 2 ? 'high' : r === 1 ? 'medium' : 'low');

function growF64(old: Float64Array, size: number, fill: number): Float64Array<ArrayBuffer> {
  const next = new Float64Array(size).fill(fill);
  next.set(old.subarray(0, Math.min(old.length, size)));
  return next;
}

/** Per-connection state: the access index and what findings need beside it. */
export class ConnState {
  /** Per key id: catalog risk rank, -1 when the catalog does not list the key. */
  riskOf = new Int8Array(0);
  /** Columns holding a key of high or critical risk (a mask of W words). */
  highRisk = new Uint32Array(0);
  /** Per bundle index: listed key ids of high or critical risk, ascending (computed on first use). */
  private highListed: (Int32Array | undefined)[] = [];
  /** Per bundle index: the finding subject `bundle:{id}`. */
  private bundleSubjects: (string | undefined)[] = [];
  /** Singleton lists shared by findings (frozen): of a string, of a key (by id), of a bundle id and of a bundle's subject (by index). */
  private singles = new Map<string, string[]>();
  private keySingles: (string[] | undefined)[] = [];
  private bundleSingles: (string[] | undefined)[] = [];
  private subjectSingles: (string[] | undefined)[] = [];
  sod: CompiledSod[] = [];
  superSets: number[][] = [];
  /** Per super-admin set: its keys, sorted (frozen, shared by findings). */
  superKeys: string[][] = [];
  /** department → title → the columns its baselines cover and their ids (null: no baseline). */
  baselineCache = new Map<string, Map<string, JobBaseline | null>>();
  peers!: PeerGroups;
  accounts: (OrgAccount | undefined)[] = [];
  /** Parsed createdAt and last login (NaN = never) per account index. */
  createdMs = new Float64Array(0);
  lastLoginMs = new Float64Array(0);
  usage!: UsageStore;
  /**
   * Per account index: the earliest instant after the account's last computation at which its rows
   * or findings can change (a grant starting, ending or revoked; dormancy; unused windows; acceptance
   * expiry); Infinity when none. `events` holds (instant, account) pairs; a pair is current only while
   * it matches `nextEvent` (older pairs are skipped when popped).
   */
  nextEvent = new Float64Array(0);
  events!: EventHeap;
  /** Per account index: its current findings (undefined when none). */
  found: (Finding[] | undefined)[] = [];
  findingCount = 0;
  W = 0;
  BW = 0;
  /** The index's rebuild count when the derived data was last reset (-1: never). */
  preparedFor = -1;
  /** Scratch row of W words. */
  scratch = new Uint32Array(0);

  constructor(
    readonly conn: OrgConnection,
    readonly index: AccessIndex,
    readonly catalog: Map<string, CatalogMeta>,
  ) {}

  /** Makes room for per-account data of `n` accounts. */
  ensureAccounts(n: number): void {
    if (n <= this.createdMs.length) return;
    const cap = Math.max(n, Math.ceil(this.createdMs.length * 1.25) + 16);
    this.createdMs = growF64(this.createdMs, cap, Number.NaN);
    this.lastLoginMs = growF64(this.lastLoginMs, cap, Number.NaN);
    this.nextEvent = growF64(this.nextEvent, cap, Infinity);
    this.usage.ensureAccounts(cap);
  }

  /** Derived data that depends on the key universe and the bundles (after construction or a rebuild). */
  resetDerived(): void {
    this.highListed = [];
    this.bundleSubjects = [];
    this.bundleSingles = [];
    this.subjectSingles = [];
    this.keySingles = [];
    this.baselineCache.clear();
  }

  /** Bundle `b` changed: its derived data is stale. */
  bundleChanged(): void {
    this.resetDerived();
  }

  isHighRisk(keyId: number): boolean {
    return (this.riskOf[keyId] ?? -1) >= RISK_RANK.high;
  }

  highListedOf(b: number): Int32Array {
    let list = this.highListed[b];
    if (list === undefined) {
      const out: number[] = [];
      for (const k of this.index.bundleListedKeys(b)) if (this.isHighRisk(k)) out.push(k);
      list = Int32Array.from(out);
      this.highListed[b] = list;
    }
    return list;
  }

  /** What a bundle assignment names, as a finding subject: `bundle:{id}`. */
  bundleSubject(b: number): string {
    let s = this.bundleSubjects[b];
    if (s === undefined) {
      s = `bundle:${this.index.bundle(b).id}`;
      this.bundleSubjects[b] = s;
    }
    return s;
  }

  /** What grant `g` names: `bundle:{id}` or the key. */
  subjectOf(g: number): string {
    const t = this.index.grantAssignment(g).target;
    if (t.type === 'permission') return t.key;
    const b = this.index.grantBundle(g);
    return b >= 0 ? this.bundleSubject(b) : `bundle:${t.bundleId}`;
  }

  /** A one-element list `[s]`, shared (frozen). */
  single(s: string): string[] {
    let list = this.singles.get(s);
    if (list === undefined) {
      list = Object.freeze([s]) as unknown as string[];
      this.singles.set(s, list);
    }
    return list;
  }

  /** `[key]` for key id `k`, shared (frozen). */
  keySingle(k: number): string[] {
    return (this.keySingles[k] ??= Object.freeze([this.index.universe.key(k)]) as unknown as string[]);
  }

  /** The keys (`[key]`) and bundle ids (`[bundleId]`) a finding about grant `g` names. */
  targetKeys(g: number): string[] {
    const k = this.index.grantKey(g);
    if (this.index.grantBundle(g) < 0 && k >= 0) return this.keySingle(k);
    const t = this.index.grantAssignment(g).target;
    return t.type === 'permission' ? this.single(t.key) : NONE;
  }

  targetBundles(g: number): string[] {
    const b = this.index.grantBundle(g);
    if (b >= 0) return (this.bundleSingles[b] ??= Object.freeze([this.index.bundle(b).id]) as unknown as string[]);
    const t = this.index.grantAssignment(g).target;
    return t.type === 'bundle' ? this.single(t.bundleId) : NONE;
  }

  /** `[subject]` for what grant `g` names (`bundle:{id}` or the key), shared (frozen). */
  subjectSingle(g: number): string[] {
    const b = this.index.grantBundle(g);
    if (b >= 0) return (this.subjectSingles[b] ??= Object.freeze([this.bundleSubject(b)]) as unknown as string[]);
    const k = this.index.grantKey(g);
    if (k >= 0) return this.keySingle(k);
    return this.single(this.subjectOf(g));
  }

  // ---- the findings held per account ----

  findingsAt(a: number): Finding[] | undefined {
    return this.found[a];
  }

  /** Keeps `list` (owned from now on; callers pass exact-size lists: one grown by push keeps room for 16). */
  setFindings(a: number, list: Finding[] | undefined): void {
    const before = this.found[a];
    this.findingCount += (list?.length ?? 0) - (before?.length ?? 0);
    this.found[a] = list && list.length > 0 ? list : undefined;
  }
}

/** Adds `f` to an account's findings, replacing one with the same id in place. */
export function put(out: Finding[], f: Finding): void {
  for (let i = 0; i < out.length; i++)
    if (out[i]!.id === f.id) {
      out[i] = f;
      return;
    }
  out.push(f);
}

/** The finding with id `id` in `list`, or undefined. */
export function findIn(list: readonly Finding[] | undefined, id: string): Finding | undefined {
  if (list) for (const f of list) if (f.id === id) return f;
  return undefined;
}

/**
 * Plain data (findings' evidence) equal as JSON would say: the same keys with the same values (the
 * engine builds each kind's evidence in one order), without allocating.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // Numbers JSON writes as null (NaN, ±Infinity) compare as JSON does.
    if (typeof a === 'number' && typeof b === 'number') return !Number.isFinite(a) && !Number.isFinite(b);
    return false;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k])) return false;
    n++;
  }
  for (const _ in y) n--;
  return n === 0;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Same id, severity, status and evidence. */
export function sameFinding(a: Finding, b: Finding): boolean {
  return (
    a.id === b.id &&
    a.severity === b.severity &&
    a.status === b.status &&
    a.reopened === b.reopened &&
    sameJson(a.evidence, b.evidence) &&
    sameList(a.keys, b.keys) &&
    sameList(a.bundleIds, b.bundleIds)
  );
}
