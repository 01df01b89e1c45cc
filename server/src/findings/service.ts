/**
 * One per server process: holds an `OrgEngine` (built lazily, or in the background at start-up) and
 * keeps the `findings` table in step with the directory and the policy.
 *
 * - This process's own writes that change the directory, the policy or accepted risks call
 *   `track(w)`: just before that write commits, inside its transaction, the engine catches up with
 *   everything the transaction sees (its own rows included) and the resulting findings changes are
 *   written in the same transaction. If the transaction rolls back, an engine that took changes is
 *   dropped and rebuilt on next use.
 * - Other processes' writes (several processes on one libsql server): before findings are read or a
 *   request is evaluated, `ensureCurrent()` compares meta.version with the version the engine last
 *   saw and catches up with the same "version > N" reads sync uses (people, accounts, bundles,
 *   assignments, usage, accepted risks), incrementally; a changed policy, catalog, connection, group
 *   or license rebuilds the engine.
 * - Time: dormancy, unused windows, grant expiry and acceptance expiry depend on the clock; the engine
 *   advances when it is a minute behind, recomputing only the accounts with an event due in between
 *   (OrgEngine.advanceTo). A grant made now starts after the engine's clock: for that, only the
 *   accounts it touches move (OrgEngine.moveClock).
 *
 * Every engine change happens inside a database write transaction, so this process's write queue
 * serialises them; only the "nothing relevant changed" check runs outside one.
 */
import {
  OrgEngine,
  type Assignment,
  type Bundle,
  type FindingsDelta,
  type OrgAccount,
  type OrgPerson,
  type RiskAcceptance,
  type UsageAggregate,
} from '@accesslens/shared';
import type { Db, Transaction } from '../db.ts';
import { ASSIGNMENT_COLUMNS, BUNDLE_COLUMNS, assignmentFromRow, bundleFromRow } from '../model.ts';
import {
  ACCEPTANCE_COLUMNS,
  ORG_ACCOUNT_COLUMNS,
  ORG_PERSON_COLUMNS,
  USAGE_COLUMNS,
  acceptanceFromRow,
  loadOrg,
  orgAccountFromRow,
  orgPersonFromRow,
  readBatch,
  usageFromRow,
  type Source,
} from '../policy/load.ts';
import { runWrite, type WriteContext } from '../write.ts';
import { foldDeltas, persistChanges, reconcileAll } from './store.ts';

export interface FindingsServiceOptions {
  /** How far the engine's clock may lag before a read moves it (a full recomputation). */
  advanceAfterMs?: number;
}

interface Changes {
  version: number;
  policyVersion: number;
  /** Something only a rebuild handles changed: catalog, connections, groups or licenses. */
  structural: boolean;
  people: OrgPerson[];
  accounts: OrgAccount[];
  bundles: Bundle[];
  assignments: Assignment[];
  usage: UsageAggregate[];
  acceptances: (RiskAcceptance & { revoked: boolean })[];
}

const isEmpty = (c: Changes) =>
  !c.structural &&
  c.people.length === 0 &&
  c.accounts.length === 0 &&
  c.bundles.length === 0 &&
  c.assignments.length === 0 &&
  c.usage.length === 0 &&
  c.acceptances.length === 0;

/** Above this many changed rows, rebuilding the engine beats applying them one by one. */
const BULK_CHANGES = 20_000;
const isBulk = (c: Changes) => c.people.length + c.accounts.length + c.bundles.length + c.assignments.length + c.usage.length > BULK_CHANGES;

export class FindingsService {
  #engine: OrgEngine | null = null;
  /** The meta.version the engine reflects (every row with version <= it has been applied). */
  #seen = -1;
  #policyVersion = -1;
  /** Bumped whenever the engine is dropped, so a transaction that raced a drop does not resurrect it. */
  #generation = 0;
  /** Per write transaction: the engine state its catch-ups reached, applied when it commits. */
  readonly #pending = new WeakMap<WriteContext, { engine: OrgEngine; seen: number; policyVersion: number }>();
  /** Write transactions whose catch-up changed the committed engine object in place. */
  readonly #touchedCommitted = new WeakSet<WriteContext>();
  readonly #advanceAfterMs: number;
  /** Counters, for tests and logs. */
  readonly stats = { builds: 0, catchUps: 0, advances: 0, clockMoves: 0 };

  constructor(
    readonly db: Db,
    options: FindingsServiceOptions = {},
  ) {
    this.#advanceAfterMs = options.advanceAfterMs ?? 60_000;
  }

  /** The version the engine reflects (-1 before the first build). */
  get seenVersion(): number {
    return this.#seen;
  }

  get built(): boolean {
    return this.#engine !== null;
  }

  /** Drops the engine: the next use rebuilds it from the database and reconciles the table. */
  invalidate(): void {
    this.#engine = null;
    this.#seen = -1;
    this.#policyVersion = -1;
    this.#generation++;
  }

  /** Start-up: the first build and a full recompute of the table. Resolves when done. */
  async start(now: Date): Promise<void> {
    await this.ensureCurrent(now);
  }

  /**
   * The engine, caught up with the database at `now`. Cheap when nothing changed (one indexed read),
   * or when only rows the engine does not care about changed (requests, sessions).
   */
  async ensureCurrent(now: Date): Promise<OrgEngine> {
    const engine = this.#engine;
    if (engine && !this.#needsAdvance(engine, now)) {
      const meta = await this.db.execute('SELECT version FROM meta WHERE id = 1');
      if (Number(meta.rows[0]!.version) === this.#seen) return engine;
      const changes = await this.#readChanges(this.db, this.#seen, now);
      if (this.#engine === engine && changes.policyVersion === this.#policyVersion && isEmpty(changes)) {
        this.#seen = Math.max(this.#seen, changes.version);
        return engine;
      }
    }
    await runWrite(this.db, now, (w) => this.catchUpWithin(w));
    return this.#engine ?? (await this.ensureCurrent(now));
  }

  /**
   * After the current write, inside its transaction: catch up with every change it sees and write the
   * findings changes. `advance` moves the engine's clock to the write's time whatever the lag.
   */
  track(w: WriteContext, options: { advance?: boolean } = {}): void {
    w.beforeCommit('findings', async () => {
      await this.catchUpWithin(w, options);
    });
  }

  /** Catches up inside `w`'s transaction now (see `track`); returns the engine. */
  async catchUpWithin(w: WriteContext, options: { advance?: boolean } = {}): Promise<OrgEngine> {
    const { tx, now } = w;
    const generation = this.#generation;
    // A second catch-up in the same transaction continues from the first one's (uncommitted) state.
    const pending = this.#pending.get(w);
    const committed = this.#engine;
    let engine = pending ? pending.engine : committed;
    const seen = pending ? pending.seen : this.#seen;
    const knownPolicy = pending ? pending.policyVersion : this.#policyVersion;
    let touched = false;
    let version: number;
    let policyVersion: number;
    if (!engine) {
      this.stats.builds++;
      const loaded = await loadOrg(tx, now);
      engine = new OrgEngine(loaded.org, now);
      await reconcileAll(w, engine.findings(), loaded.version);
      version = loaded.version;
      policyVersion = loaded.org.policy.version;
      touched = true;
    } else {
      this.stats.catchUps++;
      const changes = await this.#readChanges(tx, seen, now);
      version = changes.version;
      policyVersion = changes.policyVersion;
      if (changes.structural || changes.policyVersion !== knownPolicy || isBulk(changes)) {
        // Policy, catalog, connections, groups or licenses: the engine has no incremental path for these.
        // A bulk change (a CRM import) is also quicker to rebuild from than to apply row by row.
        this.stats.builds++;
        const loaded = await loadOrg(tx, now);
        engine = new OrgEngine(loaded.org, now);
        await reconcileAll(w, engine.findings(), loaded.version);
        policyVersion = loaded.org.policy.version;
        touched = true;
      } else {
        const deltas: FindingsDelta[] = [];
        const apply = (d: FindingsDelta) => {
          touched = true;
          deltas.push(d);
        };
        for (const p of changes.people) apply(engine.applyPersonChange(p));
        for (const a of changes.accounts) apply(engine.applyAccountChange(a));
        for (const b of changes.bundles) apply(engine.applyBundleChange(b));
        for (const a of changes.assignments) apply(engine.applyAssignmentChange({ type: 'upsert', assignment: a }));
        if (changes.usage.length > 0) apply(engine.applyUsage(changes.usage));
        for (const a of changes.acceptances) apply(a.revoked ? engine.revokeAcceptance(a.findingId) : engine.acceptRisk(a));
        const engineNow = engine.now.getTime();
        const startsLater = changes.assignments.some((a) => Date.parse(a.grantedAt) > engineNow);
        if (options.advance || this.#needsAdvance(engine, now)) {
          this.stats.advances++;
          apply(engine.advanceTo(now));
        } else if (startsLater) {
          // A grant made now starts after the engine's clock: move the clock for the accounts it touches
          // only. Recomputing every account here would hold the write lock for seconds in a large org.
          this.stats.clockMoves++;
          apply(engine.moveClock(now));
        }
        if (touched) await persistChanges(w, foldDeltas(deltas), version);
      }
    }
    // Take effect for this process only once the transaction commits.
    const built = engine;
    const wasBuilt = built !== committed;
    const first = !pending;
    this.#pending.set(w, { engine: built, seen: Math.max(seen, version), policyVersion });
    if (first) {
      w.afterCommit(() => {
        const state = this.#pending.get(w)!;
        this.#pending.delete(w);
        if (this.#generation !== generation) return;
        const replaced = state.engine !== this.#engine;
        this.#engine = state.engine;
        this.#seen = Math.max(replaced ? -1 : this.#seen, state.seen);
        this.#policyVersion = state.policyVersion;
      });
      w.afterRollback(() => {
        this.#pending.delete(w);
        // The committed engine object may hold changes that never committed.
        if (this.#touchedCommitted.has(w)) this.invalidate();
      });
    }
    if (touched && !wasBuilt) this.#touchedCommitted.add(w);
    return built;
  }

  /** Rows changed after `since`, in one snapshot, with the version it reflects. */
  async #readChanges(source: Db | Transaction, since: number, now: Date): Promise<Changes> {
    const s = [since];
    const [meta, policy, structural, people, accounts, bundles, assignments, usage, acceptances] = await readBatch(source as Source, [
      'SELECT version FROM meta WHERE id = 1',
      'SELECT COALESCE(MAX(version), 0) AS v FROM policy_versions',
      {
        sql: `SELECT EXISTS (SELECT 1 FROM permission_catalog WHERE version > ?1)
                  OR EXISTS (SELECT 1 FROM crm_connections WHERE version > ?1)
                  OR EXISTS (SELECT 1 FROM approver_groups WHERE version > ?1)
                  OR EXISTS (SELECT 1 FROM licenses WHERE version > ?1) AS changed`,
        args: s,
      },
      { sql: `SELECT ${ORG_PERSON_COLUMNS} FROM people p WHERE p.version > ? ORDER BY p.id`, args: s },
      { sql: `SELECT ${ORG_ACCOUNT_COLUMNS} FROM crm_accounts ac WHERE ac.version > ? ORDER BY ac.id`, args: s },
      { sql: `SELECT ${BUNDLE_COLUMNS} FROM bundles b WHERE b.version > ? ORDER BY b.id`, args: s },
      { sql: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments a WHERE a.version > ? ORDER BY a.id`, args: s },
      { sql: `SELECT ${USAGE_COLUMNS} FROM usage_aggregates u WHERE u.version > ?`, args: s },
      { sql: `SELECT ${ACCEPTANCE_COLUMNS} FROM finding_acceptances fa WHERE fa.version > ?`, args: s },
    ]);
    const nowIso = now.toISOString();
    return {
      version: Number(meta!.rows[0]!.version),
      policyVersion: Number(policy!.rows[0]!.v),
      structural: Number(structural!.rows[0]!.changed) === 1,
      people: people!.rows.map(orgPersonFromRow),
      accounts: accounts!.rows.map((r) => orgAccountFromRow(r, nowIso)),
      bundles: bundles!.rows.map(bundleFromRow),
      assignments: assignments!.rows.map(assignmentFromRow),
      usage: usage!.rows.map(usageFromRow),
      acceptances: acceptances!.rows.map((r) => ({ ...acceptanceFromRow(r), revoked: r.revoked_at !== null })),
    };
  }

  #needsAdvance(engine: OrgEngine, now: Date): boolean {
    const lag = now.getTime() - engine.now.getTime();
    return lag >= this.#advanceAfterMs || lag < 0;
  }
}
