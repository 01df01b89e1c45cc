/**
 * Imports: read a connection's CRM (users, bundles, assignments, last logins), diff against what
 * AccessLens holds (diff.ts), apply the changes audited, in chunks.
 *
 * - Scheduled from the database: `connection_state.next_import_at`; one process runs a connection's
 *   import at a time, holding a lease it renews while it runs (`claim`). A queued run (admin API, CLI)
 *   makes the import due at once.
 * - A failed read applies nothing: the last good import stays in force and the run says why.
 * - What AccessLens holds is read before the CRM is (at sync version V0); every update and removal
 *   applies only to rows unchanged since V0, so a grant recorded while the import read is never undone
 *   by a snapshot that predates it.
 */
import { randomUUID } from 'node:crypto';
import type { AuditInput } from '../audit.ts';
import type { ImportRunView, RequestFulfilment } from '@accesslens/shared';
import type { Row } from '@libsql/client';
import type { Db, InStatement, Transaction } from '../db.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Notifier } from '../notifier.ts';
import { readBatch } from '../policy/load.ts';
import type { SecretBox } from '../secrets.ts';
import { runWrite, type WriteContext } from '../write.ts';
import { ensureState, IMPORT_RUN_COLUMNS, importRunFromRow, loadConnection, loadImportRun, markAuthorised, openConnector } from './connections.ts';
import { planCounts, planImport, type CurrentState, type ImportPlan } from './diff.ts';
import { CrmError, type CrmLicence, type CrmSnapshot, type ReadProgress } from './types.ts';

export interface ImportDeps {
  db: Db;
  box: SecretBox;
  now: () => Date;
  /** This process, as lease owner. */
  ownerId: string;
  /** How long a lease lasts without renewal. */
  leaseMs?: number;
  findings?: FindingsService;
  notifier?: Notifier;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Called as the run progresses (throttled), e.g. for the CLI's progress lines. */
  onProgress?: (run: ImportRunView) => void;
}

export const DEFAULT_LEASE_MS = 2 * 60_000;
/** After a failed import, try again this soon (unless the schedule is sooner, or the CRM asked for longer). */
const RETRY_FAILED_MS = 15 * 60_000;
/** Changes per write transaction. */
const CHUNK = 10_000;
/** Changes per audit event. */
const AUDIT_BATCH = 500;
type Change = Record<string, unknown>;

const newRunId = () => `imp-${randomUUID()}`;

/**
 * Ids for what an import creates, increasing within the run and from run to run (time first): rows
 * then append to the primary-key index instead of landing at random places in it, which makes a
 * 500,000-row import several times faster in SQLite.
 */
function sequentialIds(): (prefix: string) => string {
  const stamp = `${Date.now().toString(36).padStart(9, '0')}${randomUUID().slice(0, 4)}`;
  let n = 0;
  return (prefix) => `${prefix}-${stamp}-${(n++).toString(36).padStart(6, '0')}`;
}

/**
 * Queues an import of the connection (or returns the one already queued or running): it becomes due
 * at once. Audited.
 */
export async function requestImport(db: Db, connectionId: string, trigger: 'admin' | 'cli', requestedBy: string | null, now: Date): Promise<ImportRunView> {
  const id = await runWrite(db, now, async (w) => {
    await ensureState(w.tx, connectionId);
    const open = await w.tx.execute({
      sql: "SELECT id FROM import_runs WHERE connection_id = ? AND status IN ('queued', 'running') ORDER BY created_at LIMIT 1",
      args: [connectionId],
    });
    if (open.rows[0]) return String(open.rows[0].id);
    const runId = newRunId();
    await w.tx.execute({
      sql: `INSERT INTO import_runs (id, connection_id, trigger, requested_by, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)`,
      args: [runId, connectionId, trigger, requestedBy, w.nowIso],
    });
    await w.tx.execute({
      sql: 'UPDATE connection_state SET next_import_at = ?, last_run_id = ? WHERE connection_id = ?',
      args: [w.nowIso, runId, connectionId],
    });
    await w.audit({ actorId: requestedBy, action: 'import.requested', subjectType: 'connection', subjectId: connectionId, data: { runId, trigger } });
    return runId;
  });
  return (await loadImportRun(db, id))!;
}

/** Connections whose import is due now and whose lease is free. */
export async function dueImports(db: Db, now: Date): Promise<string[]> {
  const nowIso = now.toISOString();
  const r = await db.execute(
    `SELECT s.connection_id FROM connection_state s JOIN crm_connections c ON c.id = s.connection_id
     WHERE c.enabled = 1 AND s.next_import_at IS NOT NULL AND s.next_import_at <= ? AND (s.lease_until IS NULL OR s.lease_until <= ?)
     ORDER BY s.next_import_at`,
    [nowIso, nowIso],
  );
  return r.rows.map((x) => String(x.connection_id));
}

type Claim = { claimed: true; runId: string } | { claimed: false; running: ImportRunView | null };

/** Takes the connection's import lease and starts its queued run (or a scheduled one). Atomic. */
async function claim(deps: ImportDeps, connectionId: string, runId: string | undefined, trigger: 'schedule' | 'admin' | 'cli'): Promise<Claim> {
  const now = deps.now();
  const nowIso = now.toISOString();
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  return deps.db.transaction(async (tx) => {
    await ensureState(tx, connectionId);
    const state = (await tx.execute({ sql: 'SELECT lease_owner, lease_until FROM connection_state WHERE connection_id = ?', args: [connectionId] })).rows[0]!;
    const held = state.lease_until !== null && String(state.lease_until) > nowIso && state.lease_owner !== deps.ownerId;
    if (held) {
      const running = await tx.execute({
        sql: `SELECT ${IMPORT_RUN_COLUMNS} FROM import_runs r WHERE r.connection_id = ? AND r.status = 'running' ORDER BY r.created_at DESC LIMIT 1`,
        args: [connectionId],
      });
      return { claimed: false, running: running.rows[0] ? importRunFromRow(running.rows[0]) : null } as Claim;
    }
    // A run left "running" by a process whose lease ran out: it stopped.
    await tx.execute({
      sql: `UPDATE import_runs SET status = 'failed', phase = NULL, error = 'The process running this import stopped before it finished.', finished_at = ?
            WHERE connection_id = ? AND status = 'running'`,
      args: [nowIso, connectionId],
    });
    let id = runId;
    if (id) {
      const r = await tx.execute({ sql: 'SELECT status FROM import_runs WHERE id = ? AND connection_id = ?', args: [id, connectionId] });
      if (!r.rows[0] || String(r.rows[0].status) !== 'queued') id = undefined;
    }
    if (!id) {
      const queued = await tx.execute({
        sql: "SELECT id FROM import_runs WHERE connection_id = ? AND status = 'queued' ORDER BY created_at LIMIT 1",
        args: [connectionId],
      });
      id = queued.rows[0] ? String(queued.rows[0].id) : undefined;
    }
    if (!id) {
      id = newRunId();
      await tx.execute({
        sql: `INSERT INTO import_runs (id, connection_id, trigger, requested_by, status, created_at) VALUES (?, ?, ?, NULL, 'queued', ?)`,
        args: [id, connectionId, trigger, nowIso],
      });
    }
    await tx.execute({
      sql: "UPDATE import_runs SET status = 'running', phase = 'users', started_at = ?, heartbeat_at = ?, process_id = ? WHERE id = ?",
      args: [nowIso, nowIso, deps.ownerId, id],
    });
    await tx.execute({
      sql: 'UPDATE connection_state SET lease_owner = ?, lease_until = ?, last_run_id = ? WHERE connection_id = ?',
      args: [deps.ownerId, new Date(now.getTime() + leaseMs).toISOString(), id, connectionId],
    });
    return { claimed: true, runId: id } as Claim;
  });
}

class LostLease extends Error {
  override name = 'LostLease';
}

/**
 * Runs the connection's import if this process can take its lease: the given queued run, else the
 * oldest queued one, else a new scheduled one. Resolves with the finished run, or with the run another
 * process is running (`busy`).
 */
export async function runImport(
  deps: ImportDeps,
  connectionId: string,
  options: { runId?: string; trigger?: 'schedule' | 'admin' | 'cli' } = {},
): Promise<{ run: ImportRunView; busy: boolean }> {
  const claimed = await claim(deps, connectionId, options.runId, options.trigger ?? 'schedule');
  if (!claimed.claimed) {
    const running = claimed.running ?? (options.runId ? await loadImportRun(deps.db, options.runId) : null);
    if (!running) throw new Error(`The import of ${connectionId} is held by another process.`);
    return { run: running, busy: true };
  }
  const runId = claimed.runId;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const controller = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;

  let last = 0;
  let pending: Promise<void> = Promise.resolve();
  /** Renews the lease and records progress (at most once a second); a lost lease aborts the import. */
  const heartbeat = (fields: { phase: string; users?: number; bundles?: number; assignments?: number }, force = false) => {
    const t = Date.now();
    if (!force && t - last < 1000) return pending;
    last = t;
    pending = pending.then(async () => {
      const now = deps.now();
      const ok = await deps.db.transaction(async (tx) => {
        const r = await tx.execute({
          sql: 'UPDATE connection_state SET lease_until = ? WHERE connection_id = ? AND lease_owner = ?',
          args: [new Date(now.getTime() + leaseMs).toISOString(), connectionId, deps.ownerId],
        });
        if (r.rowsAffected === 0) return false;
        await tx.execute({
          sql: `UPDATE import_runs SET phase = ?, users_read = COALESCE(?, users_read), bundles_read = COALESCE(?, bundles_read),
                  assignments_read = COALESCE(?, assignments_read), heartbeat_at = ? WHERE id = ?`,
          args: [fields.phase, fields.users ?? null, fields.bundles ?? null, fields.assignments ?? null, now.toISOString(), runId],
        });
        return true;
      });
      if (!ok) {
        controller.abort(new LostLease('Another process took over this import (the lease ran out).'));
        return;
      }
      if (deps.onProgress) {
        const run = await loadImportRun(deps.db, runId);
        if (run) deps.onProgress(run);
      }
    });
    return pending;
  };

  try {
    const opened = await openConnector(deps.db, deps.box, connectionId, { signal, now: deps.now, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
    if (!opened.ok) throw new ImportFailure(opened.reason.message);
    const connection = opened.connection;

    const state = await readState(deps.db, connectionId, connection.kind, connection.lastGoodRunId === null);
    const snapshot = await opened.client.read(connection.cursor, (p: ReadProgress) => {
      void heartbeat({ phase: p.phase, users: p.users, bundles: p.bundles, assignments: p.assignments });
    });
    await heartbeat(
      { phase: 'applying', users: snapshot.users.items.length, bundles: snapshot.bundles.items.length, assignments: snapshot.assignments.items.length },
      true,
    );
    signal.throwIfAborted();

    const nowIso = deps.now().toISOString();
    const plan = planImport(state.current, snapshot, nowIso, sequentialIds());
    const counts = { ...planCounts(plan), requestsEnded: 0 };
    counts.requestsEnded = await applyPlan(deps, plan, state.version, runId, () => heartbeat({ phase: 'applying' }));
    if (snapshot.licences) Object.assign(counts, await applyLicences(deps, connectionId, runId, snapshot.licences));
    signal.throwIfAborted();

    const warnings = [...(snapshot.warnings ?? [])];
    if (plan.unmatchedUpsert.length > 0) warnings.push(`${plan.unmatchedUpsert.length} CRM users match no person by email; import people, then import again.`);
    await finish(deps, connectionId, runId, { ok: true, counts, warnings, snapshot, scheduleMinutes: connection.scheduleMinutes });
  } catch (error) {
    await pending.catch(() => {});
    const reason = controller.signal.aborted && controller.signal.reason instanceof LostLease ? controller.signal.reason : error;
    const message = reason instanceof Error ? reason.message : String(reason);
    const retryAfterMs = reason instanceof CrmError ? reason.retryAfterMs : undefined;
    if (!(reason instanceof LostLease)) {
      const connection = await loadConnection(deps.db, connectionId);
      // Refused credentials are not retried on a schedule (that could lock the integration user out):
      // new credentials make the next import due.
      const refused = reason instanceof CrmError && reason.kind === 'auth';
      await finish(deps, connectionId, runId, { ok: false, error: message, retryAfterMs, scheduleMinutes: refused ? 0 : (connection?.scheduleMinutes ?? 60) });
    }
  } finally {
    await pending.catch(() => {});
  }
  if (deps.findings) await deps.findings.ensureCurrent(deps.now());
  const run = (await loadImportRun(deps.db, runId))!;
  deps.onProgress?.(run);
  return { run, busy: false };
}

class ImportFailure extends Error {
  override name = 'ImportFailure';
}

async function finish(
  deps: ImportDeps,
  connectionId: string,
  runId: string,
  outcome:
    | { ok: true; counts: Record<string, number>; warnings: string[]; snapshot: CrmSnapshot; scheduleMinutes: number }
    | { ok: false; error: string; retryAfterMs: number | undefined; scheduleMinutes: number },
): Promise<void> {
  await runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      const now = w.now.getTime();
      const schedule = outcome.scheduleMinutes > 0 ? now + outcome.scheduleMinutes * 60_000 : null;
      let next: number | null;
      if (outcome.ok) next = schedule;
      else {
        const retry =
          now +
          Math.max(outcome.retryAfterMs ?? 0, Math.min(RETRY_FAILED_MS, outcome.scheduleMinutes > 0 ? outcome.scheduleMinutes * 60_000 : RETRY_FAILED_MS));
        next = schedule === null ? null : Math.min(schedule, retry);
      }
      const nextIso = next === null ? null : new Date(next).toISOString();
      // Another queued run (asked for while this one ran) keeps the import due.
      const queued = await w.tx.execute({
        sql: "SELECT 1 FROM import_runs WHERE connection_id = ? AND status = 'queued' AND id <> ? LIMIT 1",
        args: [connectionId, runId],
      });
      const due = queued.rows.length > 0 ? w.nowIso : nextIso;
      if (outcome.ok) {
        await w.tx.execute({
          sql: `UPDATE import_runs SET status = 'succeeded', phase = NULL, incremental = ?, changes = ?, warnings = ?, finished_at = ?, heartbeat_at = ? WHERE id = ?`,
          args: [outcome.snapshot.users.complete ? 0 : 1, JSON.stringify(outcome.counts), JSON.stringify(outcome.warnings), w.nowIso, w.nowIso, runId],
        });
        await w.tx.execute({
          sql: `UPDATE connection_state SET cursor = ?, last_good_run_id = ?, next_import_at = ?, lease_owner = NULL, lease_until = NULL
                WHERE connection_id = ? AND lease_owner = ?`,
          args: [JSON.stringify(outcome.snapshot.cursor ?? null), runId, due, connectionId, deps.ownerId],
        });
        await markAuthorised(w.tx, connectionId, w.nowIso);
        // The connection (synced to everyone) says when AccessLens last read the CRM: the overlay shows how old its record is.
        const tenant = outcome.snapshot.tenant;
        await w.tx.execute({
          sql: 'UPDATE crm_connections SET last_import_at = ?, tenant = coalesce(tenant, ?), version = ? WHERE id = ?',
          args: [w.nowIso, tenant || null, await w.version(), connectionId],
        });
        await w.audit({
          actorId: null,
          action: 'import.completed',
          subjectType: 'connection',
          subjectId: connectionId,
          data: { runId, changes: outcome.counts, warnings: outcome.warnings },
        });
      } else {
        await w.tx.execute({
          sql: "UPDATE import_runs SET status = 'failed', phase = NULL, error = ?, finished_at = ? WHERE id = ?",
          args: [outcome.error, w.nowIso, runId],
        });
        await w.tx.execute({
          sql: 'UPDATE connection_state SET next_import_at = ?, lease_owner = NULL, lease_until = NULL WHERE connection_id = ? AND lease_owner = ?',
          args: [due, connectionId, deps.ownerId],
        });
        await w.audit({ actorId: null, action: 'import.failed', subjectType: 'connection', subjectId: connectionId, data: { runId, error: outcome.error } });
      }
    },
    deps.notifier,
  );
}

// ---------- what AccessLens holds ----------

async function readState(db: Db, connectionId: string, kind: CurrentState['kind'], firstImport: boolean): Promise<{ current: CurrentState; version: number }> {
  const c = [connectionId];
  const [meta, unmatched, people, bundles, catalog, jobs] = await readBatch(db, [
    'SELECT version FROM meta WHERE id = 1',
    { sql: 'SELECT external_user_id FROM crm_unmatched_users WHERE connection_id = ?', args: c },
    'SELECT id, lower(email) AS email FROM people',
    {
      sql: `SELECT b.id, b.kind, b.name, b.external_id, b.removed_at,
              (SELECT json_group_array(key) FROM bundle_permissions WHERE bundle_id = b.id) AS permissions,
              (SELECT json_group_array(included_id) FROM bundle_includes WHERE bundle_id = b.id) AS includes
            FROM bundles b WHERE b.connection_id = ? AND b.external_id IS NOT NULL`,
      args: c,
    },
    { sql: 'SELECT key FROM permission_catalog WHERE connection_id = ?', args: c },
    {
      sql: "SELECT action, plan FROM fulfilment_jobs WHERE connection_id = ? AND action IN ('grant', 'revoke') AND state IN ('queued', 'running', 'task')",
      args: c,
    },
  ]);
  // Grants being applied, and what a removal puts back (whole-profile CRMs): a request explains them.
  const inFlight = new Set<string>();
  for (const j of jobs!.rows) {
    const plan = JSON.parse(String(j.plan)) as { accountId: string; bundles: { id: string }[]; replaced?: { bundleId: string }[] };
    if (String(j.action) === 'grant') for (const b of plan.bundles) inFlight.add(`${plan.accountId}|${b.id}`);
    else for (const r of plan.replaced ?? []) inFlight.add(`${plan.accountId}|${r.bundleId}`);
  }
  return {
    version: Number(meta!.rows[0]!.version),
    current: {
      connectionId,
      kind,
      firstImport,
      accounts: await paged(
        db,
        'SELECT id, person_id, external_user_id, username, active, last_login_at, created_at FROM crm_accounts WHERE connection_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3',
        connectionId,
        (r) => ({
          id: String(r.id),
          personId: String(r.person_id),
          externalUserId: String(r.external_user_id),
          username: String(r.username),
          active: Number(r.active) === 1,
          lastLoginAt: r.last_login_at === null ? null : String(r.last_login_at),
          createdAt: r.created_at === null ? null : String(r.created_at),
        }),
      ),
      unmatched: new Set(unmatched!.rows.map((r) => String(r.external_user_id))),
      peopleByEmail: new Map(people!.rows.map((r) => [String(r.email), String(r.id)] as const)),
      bundles: bundles!.rows.map((r) => ({
        id: String(r.id),
        externalId: String(r.external_id),
        kind: String(r.kind) as CurrentState['bundles'][number]['kind'],
        name: String(r.name),
        permissions: (JSON.parse(String(r.permissions)) as string[]).sort(),
        includes: JSON.parse(String(r.includes)) as string[],
        removed: r.removed_at !== null,
      })),
      catalogKeys: new Set(catalog!.rows.map((r) => String(r.key))),
      assignments: await paged(
        db,
        `SELECT a.id, a.account_id, a.bundle_id, a.external_id, a.expires_at, a.source, a.request_id FROM assignments a
         JOIN crm_accounts ac ON ac.id = a.account_id
         WHERE ac.connection_id = ?1 AND a.revoked_at IS NULL AND a.target_type = 'bundle' AND a.id > ?2 ORDER BY a.id LIMIT ?3`,
        connectionId,
        (r) => ({
          id: String(r.id),
          accountId: String(r.account_id),
          bundleId: String(r.bundle_id),
          externalId: r.external_id === null ? null : String(r.external_id),
          expiresAt: r.expires_at === null ? null : String(r.expires_at),
          source: String(r.source) as CurrentState['assignments'][number]['source'],
          requestId: r.request_id === null ? null : String(r.request_id),
        }),
      ),
      inFlight,
    },
  };
}

/**
 * Reads a large result in pages by id (`?1` the connection, `?2` the last id seen, `?3` the page size),
 * mapping each page as it comes: the driver's rows are heavy, so never hold 500,000 of them at once.
 * Rows changed meanwhile are safe: updates and removals apply only to rows unchanged since V0.
 */
async function paged<T>(db: Db, sql: string, connectionId: string, map: (r: Row) => T): Promise<T[]> {
  const out: T[] = [];
  let after = '';
  for (;;) {
    const page = await db.execute(sql, [connectionId, after, PAGE]);
    for (const r of page.rows) out.push(map(r));
    if (page.rows.length < PAGE) return out;
    after = String(page.rows[page.rows.length - 1]!.id);
  }
}

const PAGE = 20_000;

// ---------- applying ----------

type Arg = string | number | null;

/*
 * Bulk statements take their rows as one JSON parameter (`json_each`): one small statement per chunk
 * instead of thousands of placeholders. That matters beyond speed — the database driver keeps every
 * prepared statement (and what was bound to it) until the garbage collector frees it, and large
 * multi-row statements would hold hundreds of MB of native memory during a big import.
 */
const column = (i: number) => `json_extract(value, '$[${i}]')`;
const rowsOf = (columns: readonly string[]) => `SELECT ${columns.map((_, i) => `${column(i)} AS c${i}`).join(', ')} FROM json_each(?)`;

/** `INSERT INTO t (cols) SELECT … FROM json_each(rows)`. */
function insertRows(table: string, columns: string[], rows: Arg[][], verb = 'INSERT'): InStatement[] {
  return rows.length === 0 ? [] : [{ sql: `${verb} INTO ${table} (${columns.join(', ')}) ${rowsOf(columns)}`, args: [JSON.stringify(rows)] }];
}

/** Ids (of `ids`) of `table` rows this transaction wrote (their version is this write's). */
async function writtenNow(w: WriteContext, table: string, ids: string[], version: number): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await w.tx.execute({
    sql: `SELECT id FROM ${table} WHERE version = ? AND id IN (SELECT value FROM json_each(?))`,
    args: [version, JSON.stringify(ids)],
  });
  return new Set(r.rows.map((x) => String(x.id)));
}

async function inChunks<T>(items: T[], fn: (chunk: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) await fn(items.slice(i, i + CHUNK));
}

/**
 * Applies the plan: catalog, bundles, accounts, then assignments, each chunk in its own write
 * transaction with its audit events. Returns how many requests ended because the CRM no longer holds
 * their grant.
 */
async function applyPlan(deps: ImportDeps, plan: ImportPlan, v0: number, runId: string, beat: () => Promise<void>): Promise<number> {
  const { db, notifier } = deps;
  const write = (fn: (w: WriteContext) => Promise<void>) => runWrite(db, deps.now(), fn, notifier).then(beat);
  const connectionId = (await db.execute('SELECT connection_id FROM import_runs WHERE id = ?', [runId])).rows[0]!.connection_id as string;
  /**
   * Every change is audited, in events of up to AUDIT_BATCH changes of one kind each (an import can make
   * hundreds of thousands), with the import run as their subject.
   */
  const audit = (w: WriteContext, action: string, changes: Change[]) => {
    const events: AuditInput[] = [];
    const fields = changes[0] ? Object.keys(changes[0]) : [];
    for (let i = 0; i < changes.length; i += AUDIT_BATCH) {
      const part = changes.slice(i, i + AUDIT_BATCH);
      // Rows under one list of field names: the same facts as objects, at half the size.
      events.push({
        actorId: null,
        action,
        subjectType: 'import',
        subjectId: runId,
        data: { connectionId, count: part.length, fields, rows: part.map((c) => fields.map((f) => c[f] ?? null)) },
      });
    }
    return w.auditMany(events);
  };

  await inChunks(plan.catalog, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      await w.tx.batch(
        insertRows(
          'permission_catalog',
          ['connection_id', 'key', 'label_en', 'label_zh_cn', 'risk', 'max_duration_days', 'requestable', 'required_trainings', 'version'],
          chunk.map((e) => [
            connectionId,
            e.key,
            e.labels.en,
            e.labels['zh-CN'],
            e.risk,
            e.maxDurationDays,
            e.requestable ? 1 : 0,
            JSON.stringify(e.requiredTrainings),
            v,
          ]),
          'INSERT OR IGNORE',
        ),
      );
      await audit(
        w,
        'catalog.key_added',
        chunk.map((e) => ({ key: e.key, risk: e.risk, requestable: e.requestable })),
      );
    }),
  );

  // Bundles: rows first, then what they grant and include (an include may name a bundle created here).
  const extToId = new Map<string, string>();
  for (const b of plan.bundlesCreate) extToId.set(b.externalId, b.id);
  const known = await db.execute('SELECT id, external_id FROM bundles WHERE connection_id = ? AND external_id IS NOT NULL', [connectionId]);
  for (const r of known.rows) if (!extToId.has(String(r.external_id))) extToId.set(String(r.external_id), String(r.id));
  const contents = (bundles: { id: string; permissions: string[]; includeExternalIds: string[] }[]): InStatement[] => {
    const ids = JSON.stringify(bundles.map((b) => b.id));
    return [
      { sql: 'DELETE FROM bundle_permissions WHERE bundle_id IN (SELECT value FROM json_each(?))', args: [ids] },
      { sql: 'DELETE FROM bundle_includes WHERE bundle_id IN (SELECT value FROM json_each(?))', args: [ids] },
      ...insertRows(
        'bundle_permissions',
        ['bundle_id', 'key', 'position'],
        bundles.flatMap((b) => b.permissions.map((k, i) => [b.id, k, i])),
      ),
      ...insertRows(
        'bundle_includes',
        ['bundle_id', 'included_id', 'position'],
        bundles.flatMap((b) =>
          b.includeExternalIds
            .map((e) => extToId.get(e))
            .filter((x): x is string => x !== undefined && x !== b.id)
            .map((inc, i) => [b.id, inc, i]),
        ),
      ),
    ];
  };
  await inChunks(plan.bundlesCreate, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      await w.tx.batch(
        insertRows(
          'bundles',
          ['id', 'connection_id', 'kind', 'name', 'external_id', 'version'],
          chunk.map((b) => [b.id, connectionId, b.kind, b.name, b.externalId, v]),
        ),
      );
      await audit(
        w,
        'bundle.created',
        chunk.map((b) => ({ id: b.id, externalId: b.externalId, kind: b.kind, name: b.name, keys: b.permissions })),
      );
    }),
  );
  await inChunks(plan.bundlesCreate, (chunk) => write(async (w) => void (await w.tx.batch(contents(chunk)))));
  await inChunks(plan.bundlesUpdate, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      await w.tx.batch([
        {
          sql: `UPDATE bundles SET kind = u.c1, name = u.c2, removed_at = NULL, version = ? FROM (${rowsOf(['id', 'kind', 'name'])}) AS u WHERE bundles.id = u.c0`,
          args: [v, JSON.stringify(chunk.map((b) => [b.id, b.kind, b.name]))],
        },
        ...contents(chunk),
      ]);
      await audit(
        w,
        'bundle.changed',
        chunk.map((b) => ({
          id: b.id,
          name: b.name,
          added: b.added,
          removed: b.removed,
          renamed: b.renamed,
          includesChanged: b.includesChanged,
          restored: b.restored,
        })),
      );
    }),
  );
  await inChunks(plan.bundlesRemove, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      await w.tx.execute({
        sql: 'UPDATE bundles SET removed_at = ?, version = ? WHERE removed_at IS NULL AND id IN (SELECT value FROM json_each(?))',
        args: [w.nowIso, v, JSON.stringify(chunk.map((b) => b.id))],
      });
      await audit(
        w,
        'bundle.removed',
        chunk.map((b) => ({ id: b.id, externalId: b.externalId, name: b.name })),
      );
    }),
  );

  // Accounts.
  await inChunks(plan.accountsCreate, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      await w.tx.batch(
        insertRows(
          'crm_accounts',
          ['id', 'person_id', 'connection_id', 'external_user_id', 'username', 'active', 'last_login_at', 'created_at', 'version'],
          chunk.map((a) => [a.id, a.personId, connectionId, a.externalUserId, a.username, a.active ? 1 : 0, a.lastLoginAt, a.createdAt, v]),
          'INSERT OR IGNORE',
        ),
      );
      await audit(
        w,
        'account.created',
        chunk.map((a) => ({ id: a.id, personId: a.personId, externalUserId: a.externalUserId, username: a.username, active: a.active })),
      );
      for (const a of chunk) w.affected.add(a.personId);
    }),
  );
  await inChunks(plan.accountsUpdate, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      await w.tx.execute({
        sql: `UPDATE crm_accounts SET username = u.c1, active = u.c2, last_login_at = u.c3, created_at = u.c4, version = ?
              FROM (${rowsOf(['id', 'username', 'active', 'last_login_at', 'created_at'])}) AS u
              WHERE crm_accounts.id = u.c0 AND crm_accounts.version <= ?`,
        args: [v, JSON.stringify(chunk.map((a) => [a.id, a.username, a.active ? 1 : 0, a.lastLoginAt, a.createdAt])), v0],
      });
      const applied = await writtenNow(
        w,
        'crm_accounts',
        chunk.map((a) => a.id),
        v,
      );
      const changes: Change[] = [];
      for (const a of chunk) {
        if (!applied.has(a.id)) continue;
        w.affected.add(a.personId);
        if (a.audited) changes.push({ id: a.id, active: [a.before.active, a.active], username: [a.before.username, a.username] });
      }
      await audit(w, 'account.changed', changes);
    }),
  );
  await inChunks(plan.accountsDeactivate, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      const ids = chunk.map((a) => a.id);
      await w.tx.execute({
        sql: 'UPDATE crm_accounts SET active = 0, version = ? WHERE version <= ? AND id IN (SELECT value FROM json_each(?))',
        args: [v, v0, JSON.stringify(ids)],
      });
      const applied = await writtenNow(w, 'crm_accounts', ids, v);
      const changes: Change[] = [];
      for (const a of chunk) {
        if (!applied.has(a.id)) continue;
        w.affected.add(a.personId);
        changes.push({ id: a.id, externalUserId: a.externalUserId, reason: 'not in the CRM any more' });
      }
      await audit(w, 'account.deactivated', changes);
    }),
  );
  await inChunks(plan.unmatchedUpsert, (chunk) =>
    write(async (w) => {
      await w.tx.batch(
        insertRows(
          'crm_unmatched_users',
          ['connection_id', 'external_user_id', 'username', 'email', 'active', 'last_login_at', 'last_seen_at'],
          chunk.map((u) => [connectionId, u.externalId, u.username, u.email, u.active ? 1 : 0, u.lastLoginAt ?? null, w.nowIso]),
          'INSERT OR REPLACE',
        ),
      );
    }),
  );
  await inChunks(plan.unmatchedDelete, (chunk) =>
    write(async (w) => {
      await w.tx.execute({
        sql: 'DELETE FROM crm_unmatched_users WHERE connection_id = ? AND external_user_id IN (SELECT value FROM json_each(?))',
        args: [connectionId, JSON.stringify(chunk)],
      });
    }),
  );

  // Assignments.
  await inChunks(plan.assignmentsCreate, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      // A grant recorded while the import read the CRM may already hold this CRM id.
      const taken = await w.tx.execute({
        sql: 'SELECT external_id FROM assignments WHERE revoked_at IS NULL AND external_id IN (SELECT value FROM json_each(?))',
        args: [JSON.stringify(chunk.map((a) => a.externalId))],
      });
      const held = new Set(taken.rows.map((r) => String(r.external_id)));
      const fresh = held.size === 0 ? chunk : chunk.filter((a) => !held.has(a.externalId));
      await w.tx.batch(
        insertRows(
          'assignments',
          ['id', 'account_id', 'target_type', 'bundle_id', 'source', 'granted_at', 'expires_at', 'version', 'external_id', 'outside_process'],
          fresh.map((a) => [a.id, a.accountId, 'bundle', a.bundleId, 'directory', a.grantedAt, a.expiresAt, v, a.externalId, a.outsideProcess ? 1 : 0]),
        ),
      );
      await audit(
        w,
        'assignment.found',
        fresh.map((a) => ({
          id: a.id,
          accountId: a.accountId,
          bundleId: a.bundleId,
          externalId: a.externalId,
          expiresAt: a.expiresAt,
          outsideProcess: a.outsideProcess,
        })),
      );
      for (const a of fresh) w.affected.add(a.personId);
    }),
  );
  await inChunks(plan.assignmentsLink, (chunk) =>
    write(async (w) => {
      // Linking a record to the CRM's id changes nothing anyone sees: no sync version, no audit of access.
      await w.tx.execute({
        sql: `UPDATE assignments SET external_id = u.c1 FROM (${rowsOf(['id', 'external_id'])}) AS u WHERE assignments.id = u.c0 AND assignments.external_id IS NULL`,
        args: [JSON.stringify(chunk.map((a) => [a.id, a.externalId]))],
      });
    }),
  );
  await inChunks(plan.assignmentsUpdate, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      await w.tx.execute({
        sql: `UPDATE assignments SET expires_at = u.c1, version = ? FROM (${rowsOf(['id', 'expires_at'])}) AS u
              WHERE assignments.id = u.c0 AND assignments.revoked_at IS NULL AND assignments.version <= ?`,
        args: [v, JSON.stringify(chunk.map((a) => [a.id, a.expiresAt])), v0],
      });
      const applied = await writtenNow(
        w,
        'assignments',
        chunk.map((a) => a.id),
        v,
      );
      const changes: Change[] = [];
      for (const a of chunk) {
        if (!applied.has(a.id)) continue;
        w.affected.add(a.personId);
        changes.push({ id: a.id, expiresAt: [a.before, a.expiresAt] });
      }
      await audit(w, 'assignment.changed', changes);
    }),
  );
  let requestsEnded = 0;
  await inChunks(plan.assignmentsRemove, (chunk) =>
    write(async (w) => {
      const v = await w.version();
      const ids = chunk.map((a) => a.id);
      await w.tx.execute({
        sql: 'UPDATE assignments SET revoked_at = ?, version = ? WHERE revoked_at IS NULL AND version <= ? AND id IN (SELECT value FROM json_each(?))',
        args: [w.nowIso, v, v0, JSON.stringify(ids)],
      });
      const applied = await writtenNow(w, 'assignments', ids, v);
      const removed = chunk.filter((a) => applied.has(a.id));
      await audit(
        w,
        'assignment.removed',
        removed.map((a) => ({
          id: a.id,
          accountId: a.accountId,
          bundleId: a.bundleId,
          externalId: a.externalId,
          requestId: a.requestId,
          reason: 'not in the CRM any more',
        })),
      );
      for (const a of removed) w.affected.add(a.personId);
      requestsEnded += await endRequestsRemovedInCrm(
        w,
        removed.map((a) => a.requestId).filter((x): x is string => x !== null),
      );
    }),
  );
  return requestsEnded;
}

/**
 * Seat counts the CRM reports (HubSpot paid seats): each updates the connection's licence of the same name
 * and type, or adds it; a licence the CRM stops reporting is left as it is (an administrator may keep
 * counting it). Audited when a count changes.
 */
async function applyLicences(
  deps: ImportDeps,
  connectionId: string,
  runId: string,
  licences: CrmLicence[],
): Promise<{ licencesAdded: number; licencesChanged: number }> {
  const out = { licencesAdded: 0, licencesChanged: 0 };
  if (licences.length === 0) return out;
  await runWrite(
    deps.db,
    deps.now(),
    async (w) => {
      for (const l of licences) {
        const r = await w.tx.execute({
          sql: 'SELECT id, seats FROM licenses WHERE connection_id = ? AND name = ? AND license_type = ? AND deleted_at IS NULL ORDER BY id LIMIT 1',
          args: [connectionId, l.name, l.type],
        });
        const have = r.rows[0];
        if (have && Number(have.seats) === l.seats) continue;
        const version = await w.version();
        if (have) {
          await w.tx.execute({ sql: 'UPDATE licenses SET seats = ?, version = ? WHERE id = ?', args: [l.seats, version, String(have.id)] });
          await w.audit({
            actorId: null,
            action: 'license.updated',
            subjectType: 'license',
            subjectId: String(have.id),
            data: { runId, changes: { seats: { from: Number(have.seats), to: l.seats } }, source: 'import' },
          });
          out.licencesChanged++;
        } else {
          const id = `lic-${randomUUID()}`;
          await w.tx.execute({
            sql: 'INSERT INTO licenses (id, connection_id, name, license_type, seats, term_end_date, version) VALUES (?, ?, ?, ?, ?, NULL, ?)',
            args: [id, connectionId, l.name, l.type, l.seats, version],
          });
          await w.audit({
            actorId: null,
            action: 'license.created',
            subjectType: 'license',
            subjectId: id,
            data: { runId, connectionId, name: l.name, type: l.type, seats: l.seats, source: 'import' },
          });
          out.licencesAdded++;
        }
      }
      deps.findings?.track(w);
    },
    deps.notifier,
  );
  return out;
}

/**
 * Requests whose grant the CRM no longer holds (someone removed it by hand, or the CRM ended it): the
 * grant is over — expired if its time was up, else revoked — once none of its assignments remain.
 */
async function endRequestsRemovedInCrm(w: WriteContext, requestIds: string[]): Promise<number> {
  let ended = 0;
  for (const id of new Set(requestIds)) {
    const r = await w.tx.execute({
      sql: `SELECT r.status, r.expires_at, r.fulfilment, r.requester_id,
              (SELECT COUNT(*) FROM assignments a WHERE a.request_id = r.id AND a.revoked_at IS NULL) AS left_over
            FROM requests r WHERE r.id = ?`,
      args: [id],
    });
    const row = r.rows[0];
    if (!row || String(row.status) !== 'fulfilled' || Number(row.left_over) > 0) continue;
    const expired = row.expires_at !== null && String(row.expires_at) <= w.nowIso;
    const status = expired ? 'expired' : 'revoked';
    const prior = row.fulfilment === null ? null : (JSON.parse(String(row.fulfilment)) as RequestFulfilment);
    const fulfilment: RequestFulfilment | null = prior
      ? {
          ...prior,
          state: 'removed',
          removedAt: w.nowIso,
          reason: expired ? null : { code: 'crm-refused', message: 'The grant was removed in the CRM before it ended.' },
          updatedAt: w.nowIso,
        }
      : null;
    await w.tx.execute({
      sql: 'UPDATE requests SET status = ?, fulfilment = ?, updated_at = ?, version = ? WHERE id = ?',
      args: [status, fulfilment ? JSON.stringify(fulfilment) : null, w.nowIso, await w.version(), id],
    });
    await w.tx.execute({
      sql: "UPDATE fulfilment_jobs SET state = 'done', updated_at = ? WHERE request_id = ? AND action = 'revoke' AND state IN ('queued', 'running')",
      args: [w.nowIso, id],
    });
    await w.audit({
      actorId: null,
      action: `request.${status}`,
      subjectType: 'request',
      subjectId: id,
      data: { reason: 'The CRM no longer holds the grant (seen by an import).' },
    });
    w.affected.add(String(row.requester_id));
    const approvers = await w.tx.execute({ sql: 'SELECT DISTINCT person_id FROM request_approvers WHERE request_id = ?', args: [id] });
    for (const a of approvers.rows) w.affected.add(String(a.person_id));
    ended++;
  }
  return ended;
}

export type { Transaction };
