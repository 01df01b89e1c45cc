/**
 * Access reviews (certifications) on the wire: campaigns over a scope, their reviewers and due date,
 * each item kept or revoked with a comment (in the popup, bulk and by keyboard), what the due date does
 * to items nobody decided, and the report for auditors.
 */
import { z } from 'zod';
import { plainText } from './directory-schema.ts';
import { noteText } from './console-schema.ts';
import { bundleKind, crmKind, id, isoDateTime, personStatus, risk } from './schemas.ts';

/** What the due date does to items nobody decided. */
export const UNREVIEWED_ACTIONS = ['keep', 'revoke', 'escalate'] as const;
export const REVIEW_DECISIONS = ['keep', 'revoke'] as const;
export const CAMPAIGN_STATUSES = ['open', 'escalated', 'closed', 'cancelled'] as const;
export const ITEM_OUTCOMES = ['kept', 'revoked', 'auto-kept', 'auto-revoked'] as const;

/** Which assignments a campaign reviews: all the given conditions hold. */
export const reviewScope = z
  .object({
    /** One CRM connection. */
    connectionId: id.optional(),
    /** People of one department. */
    department: plainText(200, { required: true }).optional(),
    /** Assignments granting at least one permission of this risk or higher (`high`: high-risk permissions). */
    minRisk: risk.optional(),
    /** Granted more than this many days ago. */
    grantedBeforeDays: z.number().int('must be a whole number of days').min(1).max(3650).optional(),
  })
  .strict();
export type ReviewScope = z.infer<typeof reviewScope>;

/** Who reviews an item: the person's manager, the permission's owner (a person or each member of a group), or a named person. */
export const reviewerRule = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manager') }),
  z.object({ kind: z.literal('owner') }),
  z.object({ kind: z.literal('person'), personId: id }),
]);
export type ReviewerRule = z.infer<typeof reviewerRule>;

export const reviewCampaignBody = z
  .object({
    name: plainText(200, { required: true }),
    scope: reviewScope.default({}),
    reviewers: reviewerRule,
    /** Reviews what nobody else may (no manager, owner or named person other than the person themselves); default: the creator. */
    fallbackReviewerId: id.optional(),
    /** In the future, at most a year ahead. */
    dueAt: isoDateTime,
    /** Reminders to reviewers with items left, this many days before the due date. */
    reminderDays: z.array(z.number().int().min(1).max(90)).max(5).default([7, 1]),
    onUnreviewed: z.enum(UNREVIEWED_ACTIONS),
    /** With `escalate`: who gets the undecided items, and how many more days they have. */
    escalateTo: id.optional(),
    escalationDays: z.number().int().min(1).max(90).default(7),
    /** With `escalate`: what happens to what the escalation reviewer leaves undecided. */
    afterEscalation: z.enum(['keep', 'revoke']).default('revoke'),
  })
  .superRefine((b, ctx) => {
    if (b.onUnreviewed === 'escalate' && !b.escalateTo)
      ctx.addIssue({ code: 'custom', path: ['escalateTo'], message: 'is required when undecided items are escalated' });
  });
export type ReviewCampaignBody = z.infer<typeof reviewCampaignBody>;

const counts = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  kept: z.number().int(),
  revoked: z.number().int(),
  autoKept: z.number().int(),
  autoRevoked: z.number().int(),
  escalated: z.number().int(),
});
export type ReviewCounts = z.infer<typeof counts>;

export const reviewCampaignView = z.object({
  id,
  name: z.string(),
  scope: reviewScope,
  reviewers: reviewerRule,
  fallbackReviewerId: id,
  dueAt: isoDateTime,
  reminderDays: z.array(z.number().int()),
  onUnreviewed: z.enum(UNREVIEWED_ACTIONS),
  escalateTo: id.nullable(),
  escalationDays: z.number().int().nullable(),
  afterEscalation: z.enum(['keep', 'revoke']).nullable(),
  status: z.enum(CAMPAIGN_STATUSES),
  escalatedDueAt: isoDateTime.nullable(),
  createdBy: z.object({ id, name: z.string() }),
  createdAt: isoDateTime,
  closedAt: isoDateTime.nullable(),
  counts,
});
export type ReviewCampaignView = z.infer<typeof reviewCampaignView>;

export const reviewItemView = z.object({
  id,
  campaignId: id,
  campaignName: z.string(),
  /** When the reviewer must have decided (the escalation's due date once escalated). */
  dueAt: isoDateTime,
  person: z.object({ id, name: z.string(), department: z.string(), title: z.string(), status: personStatus }),
  account: z.object({ id, username: z.string(), externalUserId: z.string(), lastLoginAt: isoDateTime.nullable() }),
  connection: z.object({ id, name: z.string(), kind: crmKind }),
  /** What is reviewed: a bundle (profile, permission set…) or one permission granted directly. */
  access: z.union([
    z.object({ type: z.literal('bundle'), bundleId: z.string(), name: z.string(), kind: bundleKind }),
    z.object({ type: z.literal('permission'), key: z.string() }),
  ]),
  /** The permissions it grants (its closure), riskiest first, at most 50. */
  keys: z.array(z.object({ key: z.string(), label: z.object({ en: z.string(), 'zh-CN': z.string() }).nullable(), risk: risk.nullable() })),
  keyCount: z.number().int(),
  risk,
  grantedAt: isoDateTime,
  reviewers: z.array(z.object({ id, name: z.string() })),
  escalated: z.boolean(),
  decision: z.enum(REVIEW_DECISIONS).nullable(),
  comment: z.string().nullable(),
  decidedBy: z.object({ id, name: z.string() }).nullable(),
  decidedAt: isoDateTime.nullable(),
  outcome: z.enum(ITEM_OUTCOMES).nullable(),
  /** The jobs or tasks taking it out, once revoked. */
  revocation: z.object({ taskIds: z.array(z.string()), requestIds: z.array(z.string()) }).nullable(),
});
export type ReviewItemView = z.infer<typeof reviewItemView>;

export const reviewCampaignsResponse = z.object({ campaigns: z.array(reviewCampaignView) });
export const reviewCampaignResponse = z.object({ campaign: reviewCampaignView });

export const reviewItemsQuery = z.object({
  status: z.enum(['pending', 'decided', 'all']).default('all'),
  limit: z.coerce.number({ message: 'must be a number' }).int().min(1).max(500).default(100),
  /** `nextCursor` of the previous page. */
  cursor: z.string().max(200).optional(),
});
export const reviewItemsResponse = z.object({ items: z.array(reviewItemView), nextCursor: z.string().nullable() });

/** `GET /api/reviews/mine`: the caller's items waiting for a decision, soonest due first. */
export const myReviewsResponse = z.object({ items: z.array(reviewItemView) });
export type MyReviewsResponse = z.infer<typeof myReviewsResponse>;

export const REVIEW_BATCH_MAX = 200;

/** Keep or revoke, in bulk: a revoke needs a comment saying why. Decisions are final; a revoke starts at once. */
export const reviewDecisionsBody = z.object({
  decisions: z
    .array(
      z.object({ itemId: id, decision: z.enum(REVIEW_DECISIONS), comment: noteText(2000).default('') }).superRefine((d, ctx) => {
        if (d.decision === 'revoke' && d.comment.trim() === '') ctx.addIssue({ code: 'custom', path: ['comment'], message: 'is required to revoke' });
      }),
    )
    .min(1, 'decide at least one item')
    .max(REVIEW_BATCH_MAX, `at most ${REVIEW_BATCH_MAX} at a time`),
});
export type ReviewDecisionsBody = z.infer<typeof reviewDecisionsBody>;

export const reviewDecisionsResponse = z.object({ items: z.array(reviewItemView) });

/** The report for auditors (`GET /api/reviews/campaigns/{id}/report`): the campaign, its counts, per reviewer, and every item. */
export const reviewReportResponse = z.object({
  campaign: reviewCampaignView,
  byReviewer: z.array(
    z.object({
      reviewer: z.object({ id, name: z.string() }),
      decided: z.number().int(),
      kept: z.number().int(),
      revoked: z.number().int(),
      pending: z.number().int(),
    }),
  ),
  items: z.array(reviewItemView),
  generatedAt: isoDateTime,
});
export type ReviewReportResponse = z.infer<typeof reviewReportResponse>;

/** `GET /api/reviews/campaigns/{id}/report.csv` header, exactly. */
export const REVIEW_CSV_HEADER = [
  'campaign',
  'item_id',
  'person',
  'department',
  'title',
  'connection',
  'account',
  'access',
  'keys',
  'risk',
  'granted_at',
  'reviewers',
  'decision',
  'comment',
  'decided_by',
  'decided_at',
  'outcome',
  'escalated',
  'revocation_tasks',
  'revocation_requests',
] as const;
