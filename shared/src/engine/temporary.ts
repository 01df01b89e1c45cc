/**
 * Temporary grants are not over-privilege: a finding caused only by grants that an approved request
 * made for a limited time, and that are still inside their window, is shown as "temporary, approved by
 * …, until …" (status `temporary`), not as an open finding. Outside its window the grant stops counting
 * and the engine reports it as an `expired-grant` while the CRM still holds it.
 *
 * Kept beside the engine (pure; the server applies it when it stores findings) rather than inside the
 * org engine: which requests were approved, and by whom, is the request lifecycle's business.
 */
import type { AssignmentTarget, TemporaryGrant } from '../schemas.ts';
import type { Finding, FindingKind, GrantRef } from './findings.ts';

/** An assignment an approved request made, with an end. */
export interface TemporaryAssignment {
  assignmentId: string;
  accountId: string;
  target: AssignmentTarget;
  requestId: string;
  /** Approvers of every stage, in order; empty when approved automatically. */
  approvedBy: string[];
  automatic: boolean;
  grantedAt: string;
  expiresAt: string;
}

/** One of the account's assignments in force (peer outliers name a bundle or key, not an assignment). */
export interface HeldAssignment {
  id: string;
  target: AssignmentTarget;
}

/** Finding kinds whose cause is access a grant gives; the others (SoD, super-admin, dormancy…) stay findings. */
export const TEMPORARY_KINDS: readonly FindingKind[] = ['beyond-baseline', 'high-risk', 'unused', 'peer-outlier'];

const inWindow = (t: TemporaryAssignment, now: number) => Date.parse(t.grantedAt) <= now && now < Date.parse(t.expiresAt);

/** The assignments a finding is about, or null when its kind is not about a grant. */
function causes(f: Finding, held: readonly HeldAssignment[]): string[] | null {
  const e = f.evidence;
  switch (e.kind) {
    case 'beyond-baseline':
    case 'high-risk':
      return e.grantedBy.map((g: GrantRef) => g.assignmentId);
    case 'unused':
      return [e.assignmentId];
    case 'peer-outlier': {
      const bundle = f.bundleIds[0];
      const key = f.keys[0];
      return held.filter((a) => (a.target.type === 'bundle' ? a.target.bundleId === bundle : bundle === undefined && a.target.key === key)).map((a) => a.id);
    }
    default:
      return null;
  }
}

/**
 * The temporary grant a finding is due to, or null when it is a real finding: every assignment causing
 * it must be a temporary one inside its window. With several, the one ending last is named.
 */
export function temporaryCause(
  f: Finding,
  held: readonly HeldAssignment[],
  temporary: ReadonlyMap<string, TemporaryAssignment>,
  now: Date,
): TemporaryGrant | null {
  if (!TEMPORARY_KINDS.includes(f.kind)) return null;
  const ids = causes(f, held);
  if (!ids || ids.length === 0) return null;
  const t = now.getTime();
  let last: TemporaryAssignment | null = null;
  for (const id of ids) {
    const g = temporary.get(id);
    if (!g || !inWindow(g, t)) return null;
    if (!last || Date.parse(g.expiresAt) > Date.parse(last.expiresAt)) last = g;
  }
  return last && { requestId: last.requestId, approvedBy: last.approvedBy, automatic: last.automatic, grantedAt: last.grantedAt, expiresAt: last.expiresAt };
}
