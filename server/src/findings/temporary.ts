/**
 * Before findings are stored: which of them are only due to grants approved for a limited time and
 * still inside their window (shared/src/engine/temporary.ts decides; this reads what it needs).
 */
import {
  temporaryCause,
  type AccessRequest,
  type AssignmentTarget,
  type Finding,
  type HeldAssignment,
  type TemporaryAssignment,
  type TemporaryGrant,
} from '@accesslens/shared';
import type { Row } from '@libsql/client';
import type { Transaction } from '../db.ts';

const CHUNK = 400;

/** Approvers of every stage in order (each once); none for an automatic approval. */
export function approversOf(stages: AccessRequest['stages']): string[] {
  const out: string[] = [];
  for (const s of stages)
    for (const a of s.approvals.length > 0 ? s.approvals : s.decision ? [s.decision] : [])
      if (a.outcome === 'approve' && !out.includes(a.deciderId)) out.push(a.deciderId);
  return out;
}

const targetOf = (r: Row): AssignmentTarget =>
  r.bundle_id !== null && r.bundle_id !== undefined ? { type: 'bundle', bundleId: String(r.bundle_id) } : { type: 'permission', key: String(r.permission_key) };

/** Grants in force that a fulfilled request made with an end date, by assignment id. */
export async function temporaryAssignments(tx: Transaction, now: Date): Promise<Map<string, TemporaryAssignment>> {
  const nowIso = now.toISOString();
  const rows = await tx.execute({
    sql: `SELECT a.id, a.account_id, a.bundle_id, a.permission_key, a.request_id, a.granted_at, a.expires_at, r.stages
          FROM assignments a JOIN requests r ON r.id = a.request_id
          WHERE a.source = 'request' AND a.revoked_at IS NULL AND a.expires_at IS NOT NULL AND a.expires_at > ?
            AND a.granted_at <= ? AND r.status = 'fulfilled'`,
    args: [nowIso, nowIso],
  });
  const out = new Map<string, TemporaryAssignment>();
  for (const r of rows.rows) {
    const stages = JSON.parse(String(r.stages)) as AccessRequest['stages'];
    const approvedBy = approversOf(stages);
    out.set(String(r.id), {
      assignmentId: String(r.id),
      accountId: String(r.account_id),
      target: targetOf(r),
      requestId: String(r.request_id),
      approvedBy,
      automatic: stages.length === 0,
      grantedAt: String(r.granted_at),
      expiresAt: String(r.expires_at),
    });
  }
  return out;
}

async function heldAssignments(tx: Transaction, accountIds: string[], nowIso: string): Promise<Map<string, HeldAssignment[]>> {
  const out = new Map<string, HeldAssignment[]>();
  for (let i = 0; i < accountIds.length; i += CHUNK) {
    const chunk = accountIds.slice(i, i + CHUNK);
    const rows = await tx.execute({
      sql: `SELECT id, account_id, bundle_id, permission_key FROM assignments
            WHERE account_id IN (${chunk.map(() => '?').join(', ')}) AND (revoked_at IS NULL OR revoked_at > ?)
              AND granted_at <= ? AND (expires_at IS NULL OR expires_at > ?)`,
      args: [...chunk, nowIso, nowIso, nowIso],
    });
    for (const r of rows.rows) {
      const list = out.get(String(r.account_id)) ?? [];
      list.push({ id: String(r.id), target: targetOf(r) });
      out.set(String(r.account_id), list);
    }
  }
  return out;
}

/** A finding as stored: the engine's, with `temporary` status and grant where that applies. */
export interface StoredFinding extends Omit<Finding, 'status'> {
  status: Finding['status'] | 'temporary';
  temporary: TemporaryGrant | null;
}

/**
 * Marks findings due only to temporary grants. An accepted finding stays accepted (the acceptance is
 * an administrator's explicit word); an open one becomes `temporary`.
 */
export async function withTemporary(tx: Transaction, findings: Finding[], now: Date): Promise<StoredFinding[]> {
  const plain = (f: Finding): StoredFinding => ({ ...f, temporary: null });
  const candidates = findings.filter(
    (f) => f.status === 'open' && (f.kind === 'beyond-baseline' || f.kind === 'high-risk' || f.kind === 'unused' || f.kind === 'peer-outlier'),
  );
  if (candidates.length === 0) return findings.map(plain);
  const temporary = await temporaryAssignments(tx, now);
  if (temporary.size === 0) return findings.map(plain);
  const accounts = new Set<string>();
  for (const t of temporary.values()) accounts.add(t.accountId);
  const outliers = [...new Set(candidates.filter((f) => f.kind === 'peer-outlier' && accounts.has(f.accountId)).map((f) => f.accountId))];
  const held = outliers.length > 0 ? await heldAssignments(tx, outliers, now.toISOString()) : new Map<string, HeldAssignment[]>();
  return findings.map((f) => {
    if (f.status !== 'open' || !accounts.has(f.accountId)) return plain(f);
    const cause = temporaryCause(f, held.get(f.accountId) ?? [], temporary, now);
    return cause ? { ...f, status: 'temporary', temporary: cause } : plain(f);
  });
}
