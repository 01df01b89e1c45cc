/**
 * The admin console's routes on the wire: policy proposals (four eyes), the audit log, people's access
 * with the engine's explanation, licence seats, and notices. The server and the console share these.
 */
import { z } from 'zod';
import { calendarDate, licenseType, plainText } from './directory-schema.ts';
import { policyDocument, policyResponse } from './policy-schema.ts';
import { bundleKind, crmKind, id, isoDateTime, permissionKey, personRef, personStatus, risk } from './schemas.ts';

/** Free text a person writes that may span lines (a comment, a note): the one text rule (`text.ts`). */
export const noteText = (max: number, { required = false } = {}) => plainText(max, { required, multiline: true });

// ---------- policy with four eyes ----------

/**
 * pending: waiting for a second administrator; applied: approved and now a policy version; rejected;
 * withdrawn by its proposer; superseded: another change was applied first (propose again on top of it).
 */
export const PROPOSAL_STATUSES = ['pending', 'applied', 'rejected', 'withdrawn', 'superseded'] as const;
export const proposalStatus = z.enum(PROPOSAL_STATUSES);
export type ProposalStatus = z.infer<typeof proposalStatus>;

export const policyGain = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('auto-approval'), ruleId: z.string(), connectionId: z.string() }),
  z.object({ kind: z.literal('baseline'), baselineId: z.string(), connectionId: z.string(), added: z.array(z.string()) }),
  z.object({ kind: z.literal('admin-function') }),
]);

export const policyChange = z.object({
  section: z.string(),
  id: z.string().nullable(),
  change: z.enum(['added', 'removed', 'changed']),
  fields: z.array(z.string()),
  before: z.unknown(),
  after: z.unknown(),
});

export const policyProposalBody = z.object({
  /** The version the change was made against: approving it when the policy moved on since is refused. */
  baseVersion: z.number().int().nonnegative(),
  document: policyDocument,
  note: plainText(500).default(''),
});
export type PolicyProposalBody = z.infer<typeof policyProposalBody>;

export const policyProposalView = z.object({
  id,
  baseVersion: z.number().int().nonnegative(),
  document: policyDocument,
  note: z.string(),
  proposedBy: personRef,
  proposedAt: isoDateTime,
  status: proposalStatus,
  /** Administrators this change would give more (their own job's auto-approval, baseline or admin function). */
  beneficiaries: z.array(z.object({ person: personRef, gains: z.array(policyGain) })),
  /** What changes against the base version. */
  diff: z.array(policyChange),
  /** The policy moved on since `baseVersion`: approving is refused; propose again. */
  stale: z.boolean(),
  decidedBy: personRef.nullable(),
  decidedAt: isoDateTime.nullable(),
  decisionNote: z.string().nullable(),
  appliedVersion: z.number().int().nullable(),
});
export type PolicyProposalView = z.infer<typeof policyProposalView>;

export const policyProposalsQuery = z.object({ status: proposalStatus.optional() });
export const policyProposalsResponse = z.object({ proposals: z.array(policyProposalView) });
export const policyProposalResponse = z.object({ proposal: policyProposalView });
/** Approving applies the change: the new policy version comes back with the proposal. */
export const policyProposalApproved = z.object({ proposal: policyProposalView, policy: policyResponse });
export const proposalDecisionBody = z.object({ note: plainText(500).default('') });
export const proposalRejectBody = z.object({ note: plainText(500, { required: true }) });

/**
 * `PUT /api/policy`: one administrator can no longer apply a change alone. The change becomes a pending
 * proposal (202), except the very first policy of an organisation with a single administrator, applied
 * at once (200) unless it would approve that administrator's own requests automatically.
 */
export const policyPutAccepted = z.object({ proposal: policyProposalView });

// ---------- the audit log ----------

export const auditEventView = z.object({
  seq: z.number().int().positive(),
  at: isoDateTime,
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  action: z.string(),
  subjectType: z.string(),
  subjectId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  hash: z.string(),
  prevHash: z.string(),
});
export type AuditEventView = z.infer<typeof auditEventView>;

export const AUDIT_PAGE_MAX = 500;

export const auditFilter = z.object({
  /** An action, or a prefix ending in `.` (`policy.` = every policy event). */
  action: z
    .string()
    .trim()
    .max(100)
    .regex(/^[a-z_.-]*$/, 'must be an action such as policy.changed, or a prefix such as policy.')
    .optional(),
  actorId: id.optional(),
  subjectType: z
    .string()
    .trim()
    .max(50)
    .regex(/^[a-z_-]*$/, 'must be a subject type such as request')
    .optional(),
  subjectId: z.string().trim().max(200).optional(),
  /** From this instant (inclusive). */
  from: isoDateTime.optional(),
  /** Until this instant (exclusive). */
  to: isoDateTime.optional(),
  /** Text anywhere in the event's data, subject or action (case-insensitive). */
  q: plainText(200).optional(),
});
export type AuditFilter = z.infer<typeof auditFilter>;

export const auditQuery = auditFilter.extend({
  limit: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1)
    .max(AUDIT_PAGE_MAX, `must be at most ${AUDIT_PAGE_MAX}`)
    .default(100),
  /** Newest first: events before this sequence number (`nextBefore` of the previous page). */
  before: z.coerce.number({ message: 'must be a number' }).int().positive().optional(),
});
export type AuditQuery = z.infer<typeof auditQuery>;

export const auditResponse = z.object({ events: z.array(auditEventView), nextBefore: z.number().int().nullable(), total: z.number().int() });
export type AuditResponse = z.infer<typeof auditResponse>;

export const auditExportQuery = auditFilter.extend({ format: z.enum(['csv', 'json']).default('csv') });

/** `GET /api/audit/export?format=csv` header, exactly. */
export const AUDIT_CSV_HEADER = ['seq', 'at', 'actor_id', 'actor_name', 'action', 'subject_type', 'subject_id', 'data', 'prev_hash', 'hash'] as const;

/** The hash chain checked from the first event to the last (`verifyAuditChain`). */
export const auditVerifyResponse = z.object({
  ok: z.boolean(),
  events: z.number().int().nonnegative(),
  brokenSeq: z.number().int().nullable(),
  reason: z.string().nullable(),
  checkedAt: isoDateTime,
});
export type AuditVerifyResponse = z.infer<typeof auditVerifyResponse>;

// ---------- people and their access, explained ----------

export const accessPathView = z.object({
  assignmentId: z.string(),
  source: z.enum(['directory', 'request', 'baseline']),
  requestId: z.string().nullable(),
  grantedAt: isoDateTime.nullable(),
  expiresAt: isoDateTime.nullable(),
  /** Bundles from the one assigned down to the one listing the key; empty for a direct grant. */
  bundles: z.array(z.object({ bundleId: z.string(), name: z.string(), kind: bundleKind })),
  /** Keys from the one granted down to this one, when held through an implication (edit → read). */
  implication: z.array(z.string()),
});

export const accessKeyView = z.object({
  key: z.string(),
  labels: z.object({ en: z.string(), 'zh-CN': z.string() }).nullable(),
  risk: risk.nullable(),
  /** Every way the account holds it (the engine's `explain`). */
  paths: z.array(accessPathView),
  /** Keys it needs and lacks (e.g. Dataverse Assign needs Write and Read): held but not allowed. */
  missingPrerequisites: z.array(z.string()),
});

export const accountAccessView = z.object({
  account: z.object({ id, externalUserId: z.string(), username: z.string(), active: z.boolean(), lastLoginAt: isoDateTime.nullable() }),
  connection: z.object({ id, name: z.string(), kind: crmKind }),
  assignments: z.array(
    z.object({
      id: z.string(),
      target: z.union([
        z.object({ type: z.literal('bundle'), bundleId: z.string(), name: z.string(), kind: bundleKind }),
        z.object({ type: z.literal('permission'), key: z.string() }),
      ]),
      source: z.enum(['directory', 'request', 'baseline']),
      requestId: z.string().nullable(),
      grantedAt: isoDateTime,
      expiresAt: isoDateTime.nullable(),
      revokedAt: isoDateTime.nullable(),
      active: z.boolean(),
    }),
  ),
  permissions: z.array(accessKeyView),
  /** Open, accepted and temporary findings of the account. */
  findingIds: z.array(z.string()),
});

export const personAccessResponse = z.object({
  person: z.object({
    id,
    name: z.string(),
    email: z.string(),
    department: z.string(),
    title: z.string(),
    status: personStatus,
    managerId: z.string().nullable(),
  }),
  accounts: z.array(accountAccessView),
});
export type PersonAccessResponse = z.infer<typeof personAccessResponse>;

export const holdersQuery = z.object({
  connectionId: id,
  key: permissionKey,
  limit: z.coerce.number({ message: 'must be a number' }).int().min(1).max(500).default(100),
  /** `nextCursor` of the previous page. */
  cursor: z.string().max(200).optional(),
});

/** Who holds a permission on a connection, each with the engine's explanation. */
export const holdersResponse = z.object({
  key: z.string(),
  holders: z.array(
    z.object({
      person: z.object({ id, name: z.string(), department: z.string(), title: z.string(), status: personStatus }),
      account: z.object({ id, username: z.string(), externalUserId: z.string() }),
      paths: z.array(accessPathView),
    }),
  ),
  nextCursor: z.string().nullable(),
  total: z.number().int(),
});
export type HoldersResponse = z.infer<typeof holdersResponse>;

// ---------- licence seats ----------

/** Why a seat may be reclaimed: its holder departed or is suspended, or has not signed in for the dormancy threshold. */
export const SEAT_HOLDER_STATES = ['departed', 'suspended', 'dormant'] as const;

export const reclaimableSeat = z.object({
  account: z.object({ id, username: z.string(), externalUserId: z.string(), lastLoginAt: isoDateTime.nullable() }),
  person: z.object({ id, name: z.string(), department: z.string(), status: personStatus }),
  state: z.enum(SEAT_HOLDER_STATES),
  daysSinceLogin: z.number().int().nullable(),
  /** Set once a reclaim was started: the admin task (or revoke job's request) taking the seat back. */
  reclaim: z.object({ taskIds: z.array(z.string()), requestIds: z.array(z.string()), at: isoDateTime }).nullable(),
});
export type ReclaimableSeat = z.infer<typeof reclaimableSeat>;

export const licenseSeatsView = z.object({
  id,
  connectionId: id,
  connectionName: z.string(),
  name: z.string(),
  type: licenseType,
  seats: z.number().int(),
  assigned: z.number().int(),
  free: z.number().int(),
  termEndDate: calendarDate.nullable(),
  /** Whole days until the term ends (negative once it has ended); null without a term end. */
  daysToTermEnd: z.number().int().nullable(),
  reclaimable: z.array(reclaimableSeat),
});
export type LicenseSeatsView = z.infer<typeof licenseSeatsView>;

export const licenseSeatsResponse = z.object({ licenses: z.array(licenseSeatsView) });
export const reclaimBody = z.object({ accountIds: z.array(id).min(1, 'name at least one account').max(500) });
export const reclaimResponse = z.object({
  reclaimed: z.array(z.object({ accountId: id, taskIds: z.array(z.string()), requestIds: z.array(z.string()) })),
});

/** The term-end reminders: this many days before a licence's term ends, every administrator is told. */
export const LICENSE_REMINDER_DAYS = [60, 30, 7] as const;

// ---------- notices ----------

export const NOTICE_KINDS = ['license.term-ending', 'review.reminder', 'review.escalated', 'policy.proposed'] as const;

export const noticeView = z.object({
  id: z.string(),
  kind: z.enum(NOTICE_KINDS),
  data: z.record(z.string(), z.unknown()),
  createdAt: isoDateTime,
  readAt: isoDateTime.nullable(),
});
export type NoticeView = z.infer<typeof noticeView>;

export const noticesResponse = z.object({ notices: z.array(noticeView), unread: z.number().int() });
export const noticesReadBody = z.object({ ids: z.array(z.string().max(64)).max(500).optional() });
