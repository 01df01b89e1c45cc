/**
 * Remediating a finding from the flags on CRM user pages: the assignments behind it are taken out
 * through the console's revocation path (console/revoke.ts) — a request's grant by its revoke job
 * (or task), other access by an admin task — recorded with origin `finding`.
 */
import type { FindingEvidence, OrgEngine } from '@accesslens/shared';
import { revokeAssignments } from '../console/revoke.ts';
import { ApiFailure, refuse } from '../errors.ts';
import type { WriteContext } from '../write.ts';

export interface Remediation {
  findingId: string;
  assignmentIds: string[];
  taskIds: string[];
  requestIds: string[];
}

/** Which of the account's active assignments give it what the finding is about. */
async function assignmentsBehind(
  w: WriteContext,
  engine: OrgEngine,
  accountId: string,
  evidence: FindingEvidence,
  keys: string[],
  bundleIds: string[],
  side: 'left' | 'right' | undefined,
): Promise<string[]> {
  const out = new Set<string>();
  const granting = (ks: string[]) => {
    for (const k of ks) {
      const why = engine.explain(accountId, k);
      if (why.allowed) for (const p of why.paths) out.add(p.assignmentId);
    }
  };
  const ofBundles = async (ids: string[]) => {
    if (ids.length === 0) return;
    // The bundles themselves, or any bundle that includes them (at any depth).
    const r = await w.tx.execute({
      sql: `WITH RECURSIVE holding(id) AS (
              SELECT value FROM json_each(?)
              UNION SELECT bi.bundle_id FROM bundle_includes bi JOIN holding h ON bi.included_id = h.id
            )
            SELECT id FROM assignments WHERE account_id = ? AND revoked_at IS NULL AND bundle_id IN (SELECT id FROM holding)`,
      args: [JSON.stringify(ids), accountId],
    });
    for (const row of r.rows) out.add(String(row.id));
  };
  switch (evidence.kind) {
    case 'sod-conflict': {
      if (!side) throw ApiFailure.of(400, 'invalid_input', 'side_required', {}, { field: 'side' });
      granting(evidence[side].keys);
      await ofBundles(evidence[side].bundleIds);
      break;
    }
    case 'beyond-baseline':
    case 'high-risk':
      for (const g of evidence.grantedBy) out.add(g.assignmentId);
      break;
    case 'unused':
    case 'expired-grant':
    case 'outside-process':
      out.add(evidence.assignmentId);
      break;
    case 'dormant':
    case 'inactive-person': {
      // Nobody uses the account (or its person left): everything it holds goes.
      const r = await w.tx.execute({ sql: 'SELECT id FROM assignments WHERE account_id = ? AND revoked_at IS NULL', args: [accountId] });
      for (const row of r.rows) out.add(String(row.id));
      break;
    }
    default:
      granting(keys);
      await ofBundles(bundleIds);
  }
  return [...out];
}

export async function remediateFinding(
  w: WriteContext,
  engine: OrgEngine,
  findingId: string,
  side: 'left' | 'right' | undefined,
  actorId: string,
): Promise<Remediation> {
  const row = (await w.tx.execute({ sql: 'SELECT id, kind, status, account_id, keys, bundle_ids, evidence FROM findings WHERE id = ?', args: [findingId] }))
    .rows[0];
  if (!row) throw refuse.notFound('finding_not_found');
  if (String(row.status) === 'remediated') throw refuse.conflict('finding_already_remediated');
  const accountId = String(row.account_id);
  const evidence = JSON.parse(String(row.evidence)) as FindingEvidence;
  const ids = await assignmentsBehind(
    w,
    engine,
    accountId,
    evidence,
    JSON.parse(String(row.keys)) as string[],
    JSON.parse(String(row.bundle_ids)) as string[],
    side,
  );
  if (ids.length === 0) throw refuse.conflict('finding_nothing_to_remove');
  const result = await revokeAssignments(w, accountId, ids, {
    kind: 'finding',
    id: findingId,
    actorId,
    why: `An administrator remediates a finding (${String(row.kind)}).`,
  });
  if (result.taskIds.length === 0 && result.requestIds.length === 0) throw refuse.conflict('finding_removal_underway');
  return { findingId, assignmentIds: ids, ...result };
}
