/**
 * The policy document on the wire (GET/PUT /api/policy): zod schemas mirroring `OrgPolicy` and its
 * parts (engine/types.ts), with messages that say what is wrong. The version is not part of the
 * document: the server assigns it (every change is a new version).
 */
import { z } from 'zod';
import { DEFAULT_THRESHOLDS, type OrgPolicy } from './engine/types.ts';
import { parsePermissionKey, PERMISSION_KINDS } from './permissions.ts';
import { revocationPolicy } from './revocations-schema.ts';
import { CRM_KINDS, id, isoDateTime, permissionKey, risk } from './schemas.ts';
import { plainText } from './text.ts';

const label = plainText(200, { required: true });
const days = (max: number) => z.number().int('must be a whole number of days').min(1, 'must be at least 1 day').max(max, `must be at most ${max} days`);

/** Segments per key kind, for patterns. */
const SEGMENTS: Record<(typeof PERMISSION_KINDS)[number], number> = { object: 3, field: 3, system: 2, scope: 4, app: 2, feature: 2 };

/** A permission key, or a pattern where `*` stands for any run of characters within one segment. */
export const keyPattern = z
  .string()
  .max(200)
  .superRefine((value, ctx) => {
    if (!value.includes('*')) {
      const parsed = parsePermissionKey(value);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
      return;
    }
    const parts = value.split(':');
    const kind = parts[0] as (typeof PERMISSION_KINDS)[number];
    if (!(PERMISSION_KINDS as readonly string[]).includes(kind))
      ctx.addIssue({ code: 'custom', message: `"${value}": a pattern starts with one of ${PERMISSION_KINDS.join(', ')}` });
    else if (parts.length !== SEGMENTS[kind])
      ctx.addIssue({ code: 'custom', message: `"${value}": a ${kind} pattern has ${SEGMENTS[kind]} segments separated by ":"` });
    else if (parts.slice(1).some((p) => !/^[A-Za-z0-9_.*]+$/.test(p)))
      ctx.addIssue({ code: 'custom', message: `"${value}": segments may hold only letters, digits, _, . and *` });
  });

export const functionMatch = z
  .object({
    department: plainText(200).min(1, 'must not be empty (leave it out to match any department)').optional(),
    title: plainText(200).min(1, 'must not be empty (leave it out to match any title)').optional(),
  })
  .strict();

export const baseline = z.object({
  id,
  connectionId: id,
  name: label,
  match: functionMatch,
  bundleIds: z.array(id).max(200).default([]),
  keys: z.array(permissionKey).max(2000).default([]),
});

export const sodSide = z
  .object({ bundleIds: z.array(id).max(200).optional(), keys: z.array(permissionKey).max(200).optional() })
  .strict()
  .refine((s) => (s.bundleIds?.length ?? 0) + (s.keys?.length ?? 0) > 0, { message: 'name at least one bundle or key' });

export const sodRule = z.object({ id, connectionId: id, name: label, left: sodSide, right: sodSide, severity: risk });

export const thresholds = z.object({
  unusedDays: days(3650),
  dormantDays: days(3650),
  peerOutlierShare: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
  minPeerGroup: z.number().int().min(1, 'must be at least 1').max(100_000),
});

export const stageMode = z.discriminatedUnion('type', [
  z.object({ type: z.literal('any') }),
  z.object({ type: z.literal('all') }),
  z.object({ type: z.literal('nOfM'), n: z.number().int().min(1, 'must be at least 1').max(50, 'must be at most 50') }),
]);

const managerSpec = z.object({ kind: z.literal('manager') });
const ownerSpec = z.object({ kind: z.literal('owner') });
const groupSpec = z.object({ kind: z.literal('group'), groupId: id });
const personSpec = z.object({ kind: z.literal('person'), personId: id });

export const approverSpec = z.discriminatedUnion('kind', [managerSpec, ownerSpec, groupSpec, personSpec]);

const stageExtra = { mode: stageMode, label: plainText(100, { required: true }).optional() };
export const stageSpec = z.discriminatedUnion('kind', [
  managerSpec.extend(stageExtra),
  ownerSpec.extend(stageExtra),
  groupSpec.extend(stageExtra),
  personSpec.extend(stageExtra),
]);

export const ruleMatch = z
  .object({
    keys: z.array(keyPattern).min(1, 'name at least one key or pattern (leave it out to match every key)').max(500).optional(),
    risks: z.array(risk).min(1, 'name at least one risk (leave it out to match every risk)').optional(),
  })
  .strict();

export const autoApproval = z.object({
  maxRisk: risk,
  maxDurationDays: days(365),
  requesters: z.array(functionMatch).min(1, 'name at least one job function (leave it out for everyone)').optional(),
});

/**
 * Reminders, escalation and time-out of an open stage, and the expiry reminder of a grant. Hours count from
 * when the stage started waiting (it opened, or the requester answered a question).
 */
const lifecycleFields = {
  /** Remind the stage's approvers who have not decided after this many hours, then again every as many. */
  remindAfterHours: z.number().int('must be a whole number of hours').min(1, 'must be at least 1 hour').max(720, 'must be at most 720 hours'),
  /** At most this many reminders per stage (0 = none). */
  maxReminders: z.number().int().min(0, 'must be at least 0').max(20, 'must be at most 20'),
  /** Ask the stage's fallback approvers too after this many hours; null = never. */
  escalateAfterHours: z.number().int('must be a whole number of hours').min(1, 'must be at least 1 hour').max(2160, 'must be at most 2160 hours').nullable(),
  /** Deny the request (timed out) after this many hours without a decision; null = never. */
  denyAfterHours: z.number().int('must be a whole number of hours').min(1, 'must be at least 1 hour').max(8760, 'must be at most 8760 hours').nullable(),
  /** Remind the requester this many days before a grant ends (0 = no reminder). */
  expiryReminderDays: z.number().int('must be a whole number of days').min(0, 'must be at least 0').max(90, 'must be at most 90 days'),
};

export const DEFAULT_LIFECYCLE = {
  remindAfterHours: 24,
  maxReminders: 3,
  escalateAfterHours: 72,
  denyAfterHours: null,
  expiryReminderDays: 3,
} as const satisfies { [K in keyof typeof lifecycleFields]: z.output<(typeof lifecycleFields)[K]> };

const lifecycleOrder = (v: { escalateAfterHours?: number | null; denyAfterHours?: number | null }, ctx: z.RefinementCtx) => {
  if (v.escalateAfterHours != null && v.denyAfterHours != null && v.denyAfterHours <= v.escalateAfterHours)
    ctx.addIssue({ code: 'custom', path: ['denyAfterHours'], message: `must be later than escalateAfterHours (${v.escalateAfterHours})` });
};

/** The policy's lifecycle defaults (every field has a default). */
export const lifecycleSettings = z
  .object({
    remindAfterHours: lifecycleFields.remindAfterHours.default(DEFAULT_LIFECYCLE.remindAfterHours),
    maxReminders: lifecycleFields.maxReminders.default(DEFAULT_LIFECYCLE.maxReminders),
    escalateAfterHours: lifecycleFields.escalateAfterHours.default(DEFAULT_LIFECYCLE.escalateAfterHours),
    denyAfterHours: lifecycleFields.denyAfterHours.default(DEFAULT_LIFECYCLE.denyAfterHours),
    expiryReminderDays: lifecycleFields.expiryReminderDays.default(DEFAULT_LIFECYCLE.expiryReminderDays),
  })
  .strict()
  .superRefine(lifecycleOrder);
export type LifecycleSettingsDocument = z.output<typeof lifecycleSettings>;

/** A request rule's overrides of the policy's lifecycle defaults (any field). */
export const lifecycleOverride = z.object(lifecycleFields).partial().strict().superRefine(lifecycleOrder);

export const requestRule = z
  .object({
    id,
    connectionId: id,
    name: label,
    match: ruleMatch.default({}),
    requestable: z.boolean().default(true),
    stages: z.array(stageSpec).max(10, 'at most 10 stages').default([]),
    /** Who a stage escalates to when it resolves to nobody eligible. */
    fallback: z.array(approverSpec).max(10).default([]),
    autoApprove: autoApproval.nullable().default(null),
    defaultDurationDays: days(365),
    maxDurationDays: days(365),
    prerequisites: z
      .object({
        trainings: z
          .array(plainText(100, { required: true }))
          .max(20)
          .optional(),
        minTenureDays: z.number().int().min(0).max(36500).optional(),
      })
      .strict()
      .default({}),
    justificationRequired: z.boolean().default(true),
    evidenceRequired: z.boolean().default(false),
    /** One person may not approve two stages of the same request, unless this is false. */
    distinctApprovers: z.boolean().default(true),
    /** Reminders, escalation, time-out and expiry reminder for requests this rule routes (overrides `lifecycle`). */
    lifecycle: lifecycleOverride.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.defaultDurationDays > r.maxDurationDays)
      ctx.addIssue({ code: 'custom', path: ['defaultDurationDays'], message: `must not exceed maxDurationDays (${r.maxDurationDays})` });
    if (r.requestable && r.stages.length === 0 && r.autoApprove === null && r.fallback.length === 0)
      ctx.addIssue({ code: 'custom', path: ['stages'], message: 'a requestable rule needs a stage, an auto-approval or a fallback' });
  });

function uniqueIds(list: { id: string }[], path: string, ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  for (const [i, item] of list.entries()) {
    if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [path, i, 'id'], message: `"${item.id}" is used twice` });
    seen.add(item.id);
  }
}

/** OrgPolicy without its version. */
export const policyDocument = z
  .object({
    baselines: z.array(baseline).max(1000).default([]),
    sodRules: z.array(sodRule).max(1000).default([]),
    /** In order: the first rule matching a key decides for it. */
    requestRules: z.array(requestRule).max(1000).default([]),
    adminFunctions: z.array(functionMatch).max(100).default([]),
    superAdminSets: z.partialRecord(z.enum(CRM_KINDS), z.array(z.array(permissionKey).min(1)).max(20)).optional(),
    thresholds: thresholds.default({ ...DEFAULT_THRESHOLDS }),
    sodAtRequest: z.enum(['warn', 'block']).optional(),
    /** Reminders, escalation and time-out of open stages; expiry reminders of grants (defaults for every rule). */
    lifecycle: lifecycleSettings.default({ ...DEFAULT_LIFECYCLE }),
    /** When access is taken out after a departure, a suspension or a move (revocations-schema.ts). */
    revocations: revocationPolicy.prefault({}),
  })
  .strict()
  .superRefine((d, ctx) => {
    uniqueIds(d.baselines, 'baselines', ctx);
    uniqueIds(d.sodRules, 'sodRules', ctx);
    uniqueIds(d.requestRules, 'requestRules', ctx);
  });
export type PolicyDocument = z.output<typeof policyDocument>;

// The schema's output must be usable as the engine's policy (compile-time check).
const _conforms = (d: PolicyDocument): Omit<OrgPolicy, 'version'> => d;
void _conforms;

/** GET /api/policy. Version 0 is the built-in empty policy (nothing requestable) before the first change. */
export const policyResponse = z.object({
  version: z.number().int().nonnegative(),
  document: policyDocument,
  createdAt: isoDateTime.nullable(),
  createdBy: id.nullable(),
  note: z.string(),
});
export type PolicyResponse = z.infer<typeof policyResponse>;

/** PUT /api/policy: `baseVersion` is the version the change was made against (409 when stale). */
export const policyPutBody = z.object({
  baseVersion: z.number().int().nonnegative(),
  document: policyDocument,
  note: plainText(500, { multiline: true }).default(''),
});
export type PolicyPutBody = z.infer<typeof policyPutBody>;
