/**
 * The `findings` table: the engine's findings, persisted so every server process (and every admin)
 * reads the same list, with status history the engine does not keep (first seen, remediated at).
 */
import { RISK_RANK, type Finding, type FindingsDelta } from '@accesslens/shared';
import type { InStatement, Transaction } from '../db.ts';
import type { WriteContext } from '../write.ts';
import { withTemporary, type StoredFinding } from './temporary.ts';

const CHUNK = 200;

async function run(tx: Transaction, statements: InStatement[]): Promise<void> {
  for (let i = 0; i < statements.length; i += CHUNK) await tx.batch(statements.slice(i, i + CHUNK));
}

/** Folds deltas (in order) into the last state of each finding: the finding, or null when resolved. */
export function foldDeltas(deltas: FindingsDelta[]): Map<string, Finding | null> {
  const out = new Map<string, Finding | null>();
  for (const d of deltas) {
    for (const f of d.opened) out.set(f.id, f);
    for (const f of d.updated) out.set(f.id, f);
    for (const f of d.resolved) out.set(f.id, null);
  }
  return out;
}

/**
 * Rows carry the sync version of the write that changed them (admins' slices carry findings), and
 * `basis_version`, the meta.version the computation reflected: a process that is behind never
 * overwrites a newer result.
 */
function upsert(f: StoredFinding, basis: number, version: number, nowIso: string): InStatement {
  return {
    sql: `INSERT INTO findings (id, kind, connection_id, account_id, person_id, severity, severity_rank, keys, bundle_ids, evidence,
            status, reopened, temporary, first_seen_at, last_seen_at, resolved_at, updated_at, basis_version, version)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET
            kind = excluded.kind, connection_id = excluded.connection_id, account_id = excluded.account_id,
            person_id = excluded.person_id, severity = excluded.severity, severity_rank = excluded.severity_rank,
            keys = excluded.keys, bundle_ids = excluded.bundle_ids, evidence = excluded.evidence, status = excluded.status,
            reopened = excluded.reopened, temporary = excluded.temporary,
            first_seen_at = CASE WHEN findings.status = 'remediated' THEN excluded.first_seen_at ELSE findings.first_seen_at END,
            last_seen_at = excluded.last_seen_at, resolved_at = NULL, updated_at = excluded.updated_at,
            basis_version = excluded.basis_version, version = excluded.version
          WHERE findings.basis_version <= excluded.basis_version`,
    args: [
      f.id,
      f.kind,
      f.connectionId,
      f.accountId,
      f.personId,
      f.severity,
      RISK_RANK[f.severity],
      JSON.stringify(f.keys),
      JSON.stringify(f.bundleIds),
      JSON.stringify(f.evidence),
      f.status,
      f.reopened ? 1 : 0,
      f.temporary ? JSON.stringify(f.temporary) : null,
      nowIso,
      nowIso,
      nowIso,
      basis,
      version,
    ],
  };
}

function remediate(id: string, basis: number, version: number, nowIso: string): InStatement {
  return {
    sql: `UPDATE findings SET status = 'remediated', resolved_at = ?, updated_at = ?, reopened = 0, temporary = NULL, basis_version = ?, version = ?
          WHERE id = ? AND status <> 'remediated' AND basis_version <= ?`,
    args: [nowIso, nowIso, basis, version, id, basis],
  };
}

async function write(w: WriteContext, changes: Map<string, StoredFinding | null>, basis: number): Promise<void> {
  if (changes.size === 0) return;
  const nowIso = w.nowIso;
  const version = await w.version();
  await run(
    w.tx,
    [...changes].map(([id, f]) => (f ? upsert(f, basis, version, nowIso) : remediate(id, basis, version, nowIso))),
  );
}

/** Writes the folded changes: opened/updated → open, accepted or temporary; resolved → remediated. */
export async function persistChanges(w: WriteContext, changes: Map<string, Finding | null>, basis: number): Promise<void> {
  if (changes.size === 0) return;
  const present = [...changes.values()].filter((f): f is Finding => f !== null);
  const stored = new Map((await withTemporary(w.tx, present, w.now)).map((f) => [f.id, f] as const));
  await write(w, new Map([...changes].map(([id, f]) => [id, f ? stored.get(id)! : null] as const)), basis);
}

const fingerprint = (f: {
  kind: string;
  severity: string;
  status: string;
  reopened: boolean;
  keys: string;
  bundleIds: string;
  evidence: string;
  personId: string;
  temporary: string;
}) => [f.kind, f.severity, f.status, f.reopened ? 1 : 0, f.keys, f.bundleIds, f.evidence, f.personId, f.temporary].join('\u0000');

/**
 * Makes the table hold exactly `current` as its open and accepted findings: inserts what is new,
 * updates what changed, marks what is gone remediated. Used after a full (re)build.
 */
export async function reconcileAll(w: WriteContext, engineFindings: Finding[], basis: number): Promise<{ written: number }> {
  const tx = w.tx;
  const current = await withTemporary(tx, engineFindings, w.now);
  const stored = await tx.execute(
    "SELECT id, kind, severity, status, reopened, keys, bundle_ids, evidence, person_id, temporary FROM findings WHERE status <> 'remediated'",
  );
  const have = new Map<string, string>();
  for (const r of stored.rows)
    have.set(
      String(r.id),
      fingerprint({
        kind: String(r.kind),
        severity: String(r.severity),
        status: String(r.status),
        reopened: Number(r.reopened) === 1,
        keys: String(r.keys),
        bundleIds: String(r.bundle_ids),
        evidence: String(r.evidence),
        personId: String(r.person_id),
        temporary: r.temporary === null ? '' : String(r.temporary),
      }),
    );
  const changes = new Map<string, StoredFinding | null>();
  for (const f of current) {
    const fp = fingerprint({
      kind: f.kind,
      severity: f.severity,
      status: f.status,
      reopened: f.reopened,
      keys: JSON.stringify(f.keys),
      bundleIds: JSON.stringify(f.bundleIds),
      evidence: JSON.stringify(f.evidence),
      personId: f.personId,
      temporary: f.temporary ? JSON.stringify(f.temporary) : '',
    });
    if (have.get(f.id) !== fp) changes.set(f.id, f);
    have.delete(f.id);
  }
  for (const id of have.keys()) changes.set(id, null);
  await write(w, changes, basis);
  return { written: changes.size };
}
