/** Wire shapes of the findings routes (GET /api/findings, accept, reopen). */
import { FINDING_KINDS, id, isoDateTime, permissionKey, plainText, risk } from '@accesslens/shared';
import { z } from 'zod';

export const FINDING_STATUSES = ['open', 'accepted', 'remediated'] as const;

export const findingsQuery = z.object({
  kind: z.enum(FINDING_KINDS).optional(),
  severity: risk.optional(),
  department: plainText(200).min(1, 'must not be empty').optional(),
  connectionId: id.optional(),
  personId: id.optional(),
  /** Default: open and accepted. */
  status: z.enum(FINDING_STATUSES).optional(),
  limit: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(500, 'must be at most 500')
    .default(100),
  cursor: z.string().max(200).optional(),
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

export const findingView = z.object({
  id: z.string(),
  kind: z.enum(FINDING_KINDS),
  severity: risk,
  status: z.enum(FINDING_STATUSES),
  /** An accepted risk whose acceptance expired: open again. */
  reopened: z.boolean(),
  connectionId: id,
  connectionName: z.string(),
  accountId: id,
  accountUsername: z.string(),
  personId: id,
  personName: z.string(),
  department: z.string(),
  title: z.string(),
  personStatus: z.enum(['active', 'suspended', 'departed']),
  keys: z.array(permissionKey),
  bundleIds: z.array(id),
  /** Kind-specific evidence (shared/src/engine/findings.ts `FindingEvidence`). */
  evidence: z.record(z.string(), z.unknown()),
  acceptance: findingAcceptance.nullable(),
  firstSeenAt: isoDateTime,
  lastSeenAt: isoDateTime,
  resolvedAt: isoDateTime.nullable(),
  updatedAt: isoDateTime,
});
export type FindingView = z.infer<typeof findingView>;

export const findingsResponse = z.object({ findings: z.array(findingView), nextCursor: z.string().nullable() });
export type FindingsResponse = z.infer<typeof findingsResponse>;

export const acceptFindingBody = z.object({
  reason: plainText(2000, { required: true, multiline: true }),
  /** In the future, at most 365 days ahead. */
  expiresAt: isoDateTime,
});
export type AcceptFindingBody = z.infer<typeof acceptFindingBody>;

export const findingResponse = z.object({ finding: findingView });
