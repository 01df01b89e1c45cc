/**
 * The org the engine reasons about: directory, CRM accounts, permission model, policy, usage.
 * Plain data (the server maps its rows onto it; tests and the benchmark build it directly).
 */
import type { Assignment, Bundle, CrmAccount, CrmKind, Person, Risk } from '../schemas.ts';

/** A directory person, with what request-time prerequisites need. */
export interface OrgPerson extends Person {
  /** ISO date-time the person joined; null = unknown (tenure prerequisites then fail). */
  hireDate: string | null;
  /** Training ids the person has completed. */
  completedTrainings: string[];
}

/** A CRM account, with when it was created (unused access is judged only over a whole window). */
export interface OrgAccount extends CrmAccount {
  createdAt: string;
}

export interface OrgConnection {
  id: string;
  kind: CrmKind;
  name?: string;
}

export interface ApproverGroup {
  id: string;
  name: string;
  memberIds: string[];
}

export type ApproverRef = { type: 'person'; personId: string } | { type: 'group'; groupId: string };

/** Catalog metadata of one permission key in one connection. */
export interface CatalogMeta {
  connectionId: string;
  key: string;
  labels: { en: string; 'zh-CN': string };
  risk: Risk;
  /** Who approves requests for this key as "permission owner"; null = nobody named. */
  owner: ApproverRef | null;
  /** License (by id) an account consumes by holding the key; null = none. */
  license: string | null;
  /** Training ids a requester must have completed. */
  requiredTrainings: string[];
  /** Longest grant, in days; null = no cap from the catalog. */
  maxDurationDays: number | null;
  requestable: boolean;
}

export interface License {
  id: string;
  connectionId: string;
  name: string;
  seats: number;
}

/** Usage aggregate over the tracking period: how often and how recently an account used a key. */
export interface UsageAggregate {
  accountId: string;
  key: string;
  lastUsedAt: string;
  count: number;
}

/** Matches a job function. Every given field must equal the person's; `{}` matches everyone. */
export interface FunctionMatch {
  department?: string;
  title?: string;
}

/** What a job function should hold in one connection. */
export interface Baseline {
  id: string;
  connectionId: string;
  name: string;
  match: FunctionMatch;
  bundleIds: string[];
  keys: string[];
}

/** One side of a separation-of-duties pair: holding any listed bundle or key puts an account on it. */
export interface SodSide {
  bundleIds?: string[];
  keys?: string[];
}

export interface SodRule {
  id: string;
  connectionId: string;
  name: string;
  left: SodSide;
  right: SodSide;
  severity: Risk;
}

export interface Thresholds {
  /** Held but unused for this many days → unused finding. */
  unusedDays: number;
  /** No login for this many days → dormant finding. */
  dormantDays: number;
  /** Held by fewer than this share (0–1) of peers → peer outlier. */
  peerOutlierShare: number;
  /** Peer groups (other accounts with the same department and title) smaller than this are not judged. */
  minPeerGroup: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { unusedDays: 90, dormantDays: 30, peerOutlierShare: 0.1, minPeerGroup: 5 };

export type StageMode = { type: 'any' } | { type: 'all' } | { type: 'nOfM'; n: number };

/** Who approves one stage. */
export type ApproverSpec = { kind: 'manager' } | { kind: 'owner' } | { kind: 'group'; groupId: string } | { kind: 'person'; personId: string };

export type StageSpec = ApproverSpec & { mode: StageMode; label?: string };

/** Which keys a request rule covers. Patterns use `*` for one name segment (e.g. `object:*:read`). */
export interface RuleMatch {
  keys?: string[];
  risks?: Risk[];
}

export interface AutoApproval {
  /** Auto-approve only keys at or below this risk. */
  maxRisk: Risk;
  /** An auto-approved grant never lasts longer than this. */
  maxDurationDays: number;
  /** If given, only requesters with one of these job functions are auto-approved. */
  requesters?: FunctionMatch[];
}

export interface RequestRule {
  id: string;
  connectionId: string;
  name: string;
  match: RuleMatch;
  requestable: boolean;
  stages: StageSpec[];
  /** Who a stage escalates to when it resolves to nobody eligible. */
  fallback: ApproverSpec[];
  autoApprove: AutoApproval | null;
  defaultDurationDays: number;
  maxDurationDays: number;
  prerequisites: { trainings?: string[]; minTenureDays?: number };
  justificationRequired: boolean;
  evidenceRequired: boolean;
  /** One person may not approve two stages of one request unless false (default true). */
  distinctApprovers?: boolean;
  /** Overrides of the policy's lifecycle settings for requests this rule routes. */
  lifecycle?: Partial<LifecycleSettings>;
}

/** Reminders, escalation, time-out and expiry reminders (policy-schema.ts `lifecycleSettings`). */
export interface LifecycleSettings {
  remindAfterHours: number;
  maxReminders: number;
  escalateAfterHours: number | null;
  denyAfterHours: number | null;
  expiryReminderDays: number;
}

export interface OrgPolicy {
  version: number;
  baselines: Baseline[];
  sodRules: SodRule[];
  requestRules: RequestRule[];
  /** Job functions allowed to hold high-risk permissions (CRM administrators). */
  adminFunctions: FunctionMatch[];
  /** Per connection kind, key sets whose conjunction means super-admin (Salesforce: VAD + MAD + ManageUsers). */
  superAdminSets?: Partial<Record<CrmKind, string[][]>>;
  thresholds: Thresholds;
  /** What a SoD conflict at request time does. */
  sodAtRequest?: 'warn' | 'block';
  /** Lifecycle defaults; absent = the built-in defaults. */
  lifecycle?: LifecycleSettings;
}

export interface RiskAcceptance {
  findingId: string;
  reason: string;
  acceptedBy: string;
  acceptedAt: string;
  expiresAt: string;
}

export interface OrgData {
  people: OrgPerson[];
  groups: ApproverGroup[];
  connections: OrgConnection[];
  accounts: OrgAccount[];
  catalog: CatalogMeta[];
  licenses: License[];
  bundles: Bundle[];
  assignments: Assignment[];
  usage: UsageAggregate[];
  policy: OrgPolicy;
  acceptances: RiskAcceptance[];
}

export const DEFAULT_SUPER_ADMIN_SETS: Partial<Record<CrmKind, string[][]>> = {
  salesforce: [['system:ViewAllData', 'system:ModifyAllData', 'system:ManageUsers']],
};

export function matchesFunction(m: FunctionMatch, p: { department: string; title: string }): boolean {
  return (m.department === undefined || m.department === p.department) && (m.title === undefined || m.title === p.title);
}

export const RISK_RANK: Readonly<Record<Risk, number>> = { low: 0, medium: 1, high: 2, critical: 3 };
