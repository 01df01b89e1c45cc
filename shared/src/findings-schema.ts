/**
 * Findings on the wire: the list the console pages through (`GET /api/findings`), its summary and
 * trend, its CSV export, accepting a risk, and the query by external user ids the CRM user pages'
 * flags use (`POST /api/findings/by-accounts`). The server and the extension share these schemas.
 */
import { z } from 'zod';
import { plainText } from './directory-schema.ts';
import { FINDING_KINDS } from './engine/findings.ts';
import { FINDING_STATUSES, findingStatus, id, isoDateTime, permissionKey, personRef, personStatus, risk, syncedFinding, temporaryGrant } from './schemas.ts';

export { FINDING_STATUSES };

/** How the console sorts findings: most severe first (the default), newest, by person, department or kind. */
export const FINDING_SORTS = ['severity', 'newest', 'person', 'department', 'kind'] as const;
export type FindingSort = (typeof FINDING_SORTS)[number];

export const FINDINGS_PAGE_MAX = 500;

/** Filters shared by the list, the summary and the export. */
export const findingsFilter = z.object({
  kind: z.enum(FINDING_KINDS).optional(),
  severity: risk.optional(),
  department: plainText(200, { required: true }).optional(),
  connectionId: id.optional(),
  personId: id.optional(),
  /** Default: open and accepted. */
  status: findingStatus.optional(),
  /** Matches the person's name, the CRM username, department, title and the permission keys (case-insensitive). */
  q: plainText(200).optional(),
});
export type FindingsFilter = z.infer<typeof findingsFilter>;

export const findingsQuery = findingsFilter.extend({
  sort: z.enum(FINDING_SORTS).default('severity'),
  limit: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(FINDINGS_PAGE_MAX, `must be at most ${FINDINGS_PAGE_MAX}`)
    .default(100),
  /** `nextCursor` of the previous page (with the same filters and sort). */
  cursor: z.string().max(400).optional(),
});
export type FindingsQuery = z.infer<typeof findingsQuery>;

export const findingAcceptance = z.object({
  reason: z.string(),
  acceptedBy: id,
  acceptedByName: z.string().nullable(),
  acceptedAt: isoDateTime,
  expiresAt: isoDateTime,
  /** False once expiresAt has passed (the finding is then open again, `reopened`). */
  active: z.boolean(),
});

/** The temporary grant behind a `temporary` finding, with the approvers' names. */
export const temporaryGrantView = temporaryGrant.extend({ approvedByNames: z.array(z.string()) });

export const findingView = z.object({
  id: z.string(),
  kind: z.enum(FINDING_KINDS),
  severity: risk,
  status: findingStatus,
  /** An accepted risk whose acceptance expired: open again. */
  reopened: z.boolean(),
  connectionId: id,
  connectionName: z.string(),
  accountId: id,
  accountUsername: z.string(),
  /** The CRM's user id (what user pages link to). */
  externalUserId: z.string(),
  personId: id,
  personName: z.string(),
  department: z.string(),
  title: z.string(),
  personStatus,
  keys: z.array(permissionKey),
  bundleIds: z.array(id),
  /** Kind-specific evidence (shared/src/engine/findings.ts `FindingEvidence`). */
  evidence: z.record(z.string(), z.unknown()),
  acceptance: findingAcceptance.nullable(),
  temporary: temporaryGrantView.nullable(),
  firstSeenAt: isoDateTime,
  lastSeenAt: isoDateTime,
  resolvedAt: isoDateTime.nullable(),
  updatedAt: isoDateTime,
});
export type FindingView = z.infer<typeof findingView>;

/** A page of findings; `total` counts every finding matching the filters. */
export const findingsResponse = z.object({
  findings: z.array(findingView),
  nextCursor: z.string().nullable(),
  total: z.number().int().nonnegative(),
});
export type FindingsResponse = z.infer<typeof findingsResponse>;

export const acceptFindingBody = z.object({
  reason: plainText(2000, { required: true, multiline: true }),
  /** In the future, at most 365 days ahead. */
  expiresAt: isoDateTime,
});
export type AcceptFindingBody = z.infer<typeof acceptFindingBody>;

export const findingResponse = z.object({ finding: findingView });

// ---------- summary and trend (the console's charts) ----------

const severityCounts = z.object({ low: z.number().int(), medium: z.number().int(), high: z.number().int(), critical: z.number().int() });
export type SeverityCounts = z.infer<typeof severityCounts>;

export const findingsSummaryQuery = findingsFilter.extend({
  /** How many days of trend, counted back from today (UTC). */
  days: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1).max(366).default(30),
});
export type FindingsSummaryQuery = z.infer<typeof findingsSummaryQuery>;

/**
 * Open findings matching the filters (`status` is ignored: the charts count open ones), by severity,
 * by department (the 20 with most, most first), by kind, and per day: the counts recorded each day by
 * the server (filtered by connection, department, kind and severity) and today's live count.
 */
export const findingsSummaryResponse = z.object({
  total: z.number().int(),
  bySeverity: severityCounts,
  byDepartment: z.array(z.object({ department: z.string(), total: z.number().int(), bySeverity: severityCounts })),
  byKind: z.array(z.object({ kind: z.enum(FINDING_KINDS), total: z.number().int() })),
  trend: z.array(z.object({ day: z.string(), total: z.number().int(), bySeverity: severityCounts })),
});
export type FindingsSummaryResponse = z.infer<typeof findingsSummaryResponse>;

/** `GET /api/findings/export` (text/csv): one row per finding matching the filters, this header exactly. */
export const FINDINGS_CSV_HEADER = [
  'id',
  'kind',
  'severity',
  'status',
  'person',
  'department',
  'title',
  'connection',
  'account',
  'external_user_id',
  'keys',
  'bundles',
  'evidence',
  'first_seen_at',
  'last_seen_at',
  'accepted_reason',
  'accepted_until',
  'temporary_until',
] as const;

// ---------- by external user ids (the flags on CRM user pages) ----------

export const FINDINGS_BY_ACCOUNTS_MAX = 500;

/**
 * `POST /api/findings/by-accounts` (administrators): the findings of the accounts a CRM user page shows,
 * by the CRM's user ids (what the rows link to). The accounts become "watched" by the caller: their
 * findings then travel in the caller's sync slice (`findings`), kept current.
 */
export const findingsByAccountsBody = z.object({
  connectionId: id,
  externalUserIds: z
    .array(z.string().trim().min(1, 'is empty').max(100, 'must be at most 100 characters'))
    .min(1, 'name at least one user')
    .max(FINDINGS_BY_ACCOUNTS_MAX, `at most ${FINDINGS_BY_ACCOUNTS_MAX} users at a time`),
});
export type FindingsByAccountsBody = z.infer<typeof findingsByAccountsBody>;

export const findingsByAccountsResponse = z.object({
  /** The ids AccessLens knows on this connection (unknown ones are left out), with who they are. */
  accounts: z.array(
    z.object({
      externalUserId: z.string(),
      accountId: id,
      personId: id,
      personName: z.string(),
      department: z.string(),
      title: z.string(),
      personStatus,
      active: z.boolean(),
    }),
  ),
  /** Their findings: open, accepted and temporary (never remediated ones). */
  findings: z.array(syncedFinding),
  /** People the findings name (approvers of temporary grants, who accepted a risk). */
  people: z.array(personRef),
});
export type FindingsByAccountsResponse = z.infer<typeof findingsByAccountsResponse>;

// ---------- remediation (the flags on CRM user pages) ----------

/**
 * `POST /api/findings/:id/remediate` (administrators): takes out the access behind a finding — a
 * request's grant by its revoke job (or task), other access by an admin task. A separation-of-duties
 * conflict names the `side` to take out (`left` or `right`, as its evidence lists them).
 */
export const remediateFindingBody = z.object({ side: z.enum(['left', 'right']).optional() });
export type RemediateFindingBody = z.infer<typeof remediateFindingBody>;

export const remediateFindingResponse = z.object({
  remediation: z.object({
    findingId: z.string(),
    /** The assignments being taken out. */
    assignmentIds: z.array(z.string()),
    /** Admin tasks opened (access no request granted, or a connection AccessLens cannot change). */
    taskIds: z.array(z.string()),
    /** Requests whose revoke job was queued. */
    requestIds: z.array(z.string()),
  }),
});
export type RemediateFindingResponse = z.infer<typeof remediateFindingResponse>;
