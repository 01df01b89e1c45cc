/** Finding kinds, shapes and stable identity. */
import type { Risk } from '../schemas.ts';
import { hashPartsPrefixed } from './hash.ts';
import type { RiskAcceptance } from './types.ts';

export const FINDING_KINDS = [
  'beyond-baseline',
  'sod-conflict',
  'high-risk',
  'super-admin',
  'unused',
  'dormant',
  'peer-outlier',
  'inactive-person',
  'expired-grant',
  'outside-process',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** What grants a key to an account: an assignment, and the bundle it names (null for a direct grant). */
export interface GrantRef {
  assignmentId: string;
  bundleId: string | null;
  bundleName: string | null;
  expiresAt: string | null;
}

export type FindingEvidence =
  | { kind: 'beyond-baseline'; baselineIds: string[]; grantedBy: GrantRef[] }
  | {
      kind: 'sod-conflict';
      ruleId: string;
      ruleName: string;
      left: { keys: string[]; bundleIds: string[] };
      right: { keys: string[]; bundleIds: string[] };
    }
  | { kind: 'high-risk'; risk: Risk; department: string; title: string; grantedBy: GrantRef[] }
  | { kind: 'super-admin'; keys: string[]; adminFunction: boolean }
  | {
      kind: 'unused';
      assignmentId: string;
      windowDays: number;
      grantedAt: string;
      /** Last use of anything the assignment grants, if ever recorded (before the window). */
      lastUsedAt: string | null;
    }
  | { kind: 'dormant'; lastLoginAt: string | null; daysSinceLogin: number; thresholdDays: number }
  | {
      kind: 'peer-outlier';
      department: string;
      title: string;
      /** Peers (other accounts with the same department and title) holding the key. */
      holders: number;
      peers: number;
      share: number;
      threshold: number;
    }
  | { kind: 'inactive-person'; personStatus: 'suspended' | 'departed' }
  | { kind: 'expired-grant'; assignmentId: string; expiresAt: string; bundleId: string | null; key: string | null }
  | {
      kind: 'outside-process';
      /** The assignment an import found in the CRM with no request behind it. */
      assignmentId: string;
      grantedAt: string;
      bundleId: string | null;
      key: string | null;
      /** The baselines of the person's job function (none: every key it grants counts). */
      baselineIds: string[];
    };

export interface Finding {
  /** Stable: the same account, kind and subject give the same id on every recomputation. */
  id: string;
  kind: FindingKind;
  connectionId: string;
  accountId: string;
  personId: string;
  keys: string[];
  bundleIds: string[];
  severity: Risk;
  evidence: FindingEvidence;
  status: 'open' | 'accepted';
  /** The acceptance that applies now (status accepted), or the expired one (reopened). */
  acceptance: RiskAcceptance | null;
  /** An accepted risk whose acceptance expired: open again. */
  reopened: boolean;
}

/** Changes to the set of findings after a recomputation. */
export interface FindingsDelta {
  opened: Finding[];
  /** Findings whose cause is gone (remediated). */
  resolved: Finding[];
  /** Same id, but severity, status or evidence changed. */
  updated: Finding[];
}

/**
 * The id of a finding: a hash of account, kind and subject (sorted keys or bundle ids, the SoD rule,
 * or the assignment), so accepted risk stays attached across recomputation.
 */
export function findingId(accountId: string, kind: FindingKind, subject: readonly string[]): string {
  return hashPartsPrefixed(subject, accountId, kind, true);
}

export const emptyDelta = (): FindingsDelta => ({ opened: [], resolved: [], updated: [] });
