/**
 * The administrators' API for CRM connections, imports and admin tasks (docs/api.md, "Connections").
 * Credentials go in and never come out: every view says only whether they are set.
 */
import { z } from 'zod';
import { CRM_KINDS } from './constants.ts';
import { bundleKind, crmKind, fulfilmentReason, id, isoDateTime, pageContext, permissionKey } from './schemas.ts';

export const CONNECTION_MODES = ['read-only', 'provision'] as const;
export const connectionMode = z.enum(CONNECTION_MODES);
export type ConnectionMode = z.infer<typeof connectionMode>;

/** CRMs that grant only by replacing a user's whole profile or role: automatic change is opt-in for them. */
export const WHOLE_PROFILE_KINDS: readonly (typeof CRM_KINDS)[number][] = ['zoho', 'fxiaoke'];

const host = z
  .string()
  .trim()
  .toLowerCase()
  .min(1, 'is required')
  .max(253)
  // A port where the CRM is not on its scheme's default one (in-house CRMs: `localhost:8788`), as the
  // browser's location.host shows it — what pages are matched with.
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/,
    'must be a host name such as acme.my.salesforce.com, with :port only when not the default (no scheme or path)',
  );

/** Minutes between scheduled imports: 0 = on demand only; at most a week. */
export const scheduleMinutes = z.number().int('must be a whole number of minutes').min(0).max(10_080);

/** Kind-specific, non-secret settings (e.g. Salesforce `instanceUrl`); each connector validates its own. */
const settings = z.record(z.string(), z.unknown());
/** Kind-specific secrets (e.g. an OAuth client secret); each connector validates its own. Write-only. */
const credentials = z.record(z.string(), z.unknown());

export const connectionCreateBody = z
  .object({
    /** Optional stable id (e.g. "sf-acme"); generated when absent. */
    id: id.optional(),
    kind: crmKind,
    name: z.string().trim().min(1, 'is required').max(200),
    hosts: z.array(host).max(50).default([]),
    tenant: z.string().trim().min(1).max(200).nullable().default(null),
    mode: connectionMode.default('read-only'),
    automaticChange: z.boolean().default(false),
    scheduleMinutes: scheduleMinutes.default(60),
    settings: settings.default({}),
    credentials: credentials.nullable().default(null),
  })
  .superRefine((v, ctx) => {
    if (v.automaticChange && !WHOLE_PROFILE_KINDS.includes(v.kind))
      ctx.addIssue({ code: 'custom', path: ['automaticChange'], message: 'applies only to Zoho and Fxiaoke connections' });
  });
export type ConnectionCreateBody = z.infer<typeof connectionCreateBody>;

/** Every field optional: what is absent stays as it is. `credentials: null` removes them. */
export const connectionUpdateBody = z
  .object({
    name: z.string().trim().min(1, 'is required').max(200),
    hosts: z.array(host).max(50),
    tenant: z.string().trim().min(1).max(200).nullable(),
    mode: connectionMode,
    automaticChange: z.boolean(),
    scheduleMinutes,
    settings,
    credentials: credentials.nullable(),
    /** Re-enable a disabled connection. */
    enabled: z.literal(true),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'name at least one field to change' });
export type ConnectionUpdateBody = z.infer<typeof connectionUpdateBody>;

export const IMPORT_TRIGGERS = ['schedule', 'admin', 'cli'] as const;
export const IMPORT_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export const IMPORT_PHASES = ['users', 'bundles', 'assignments', 'applying'] as const;

export const importRunView = z.object({
  id,
  connectionId: id,
  trigger: z.enum(IMPORT_TRIGGERS),
  requestedBy: id.nullable(),
  status: z.enum(IMPORT_STATUSES),
  /** What it is doing while running. */
  phase: z.enum(IMPORT_PHASES).nullable(),
  /** Only what changed since the last good import was read. */
  incremental: z.boolean(),
  read: z.object({ users: z.number().int(), bundles: z.number().int(), assignments: z.number().int() }),
  /** What changed in AccessLens, by kind (e.g. accountsCreated, assignmentsRemoved). */
  changes: z.record(z.string(), z.number().int()),
  /** Problems that did not fail the import (e.g. CRM users whose email matches no person). */
  warnings: z.array(z.string()),
  /** Why it failed; the last good import stays in force. */
  error: z.string().nullable(),
  createdAt: isoDateTime,
  startedAt: isoDateTime.nullable(),
  heartbeatAt: isoDateTime.nullable(),
  finishedAt: isoDateTime.nullable(),
});
export type ImportRunView = z.infer<typeof importRunView>;

export const AUTH_STATUSES = ['ok', 'needs-reauthorisation'] as const;

export const connectionView = z.object({
  id,
  kind: crmKind,
  name: z.string(),
  hosts: z.array(z.string()),
  tenant: z.string().nullable(),
  mode: connectionMode,
  automaticChange: z.boolean(),
  scheduleMinutes: z.number().int(),
  enabled: z.boolean(),
  /** Non-secret settings as stored. */
  settings: z.record(z.string(), z.unknown()),
  /** Never the credentials themselves. */
  credentials: z.enum(['set', 'not set']),
  credentialsUpdatedAt: isoDateTime.nullable(),
  /** needs-reauthorisation: the CRM refused the credentials even after a token refresh. */
  authStatus: z.enum(AUTH_STATUSES),
  authError: z.string().nullable(),
  /** Whether AccessLens has a connector for this kind that can change access automatically. */
  canProvision: z.boolean(),
  nextImportAt: isoDateTime.nullable(),
  lastImport: importRunView.nullable(),
  lastGoodImport: importRunView.nullable(),
  createdAt: isoDateTime.nullable(),
  updatedAt: isoDateTime.nullable(),
});
export type ConnectionView = z.infer<typeof connectionView>;

export const connectionListResponse = z.object({ connections: z.array(connectionView) });
export const connectionResponse = z.object({ connection: connectionView });

/** POST /api/admin/connections/:id/test: what the credentials can do in the CRM. */
export const connectionTestResponse = z.object({
  ok: z.boolean(),
  /** Who the credentials act as. */
  identity: z.object({ userId: z.string(), username: z.string().nullable(), tenant: z.string().nullable() }).nullable(),
  canRead: z.boolean(),
  canProvision: z.boolean(),
  checks: z.array(z.object({ id: z.string(), ok: z.boolean(), message: z.string() })),
});
export type ConnectionTestResponse = z.infer<typeof connectionTestResponse>;

export const importListResponse = z.object({ runs: z.array(importRunView), lastGood: importRunView.nullable() });
export const importResponse = z.object({ run: importRunView });

// ---------- admin tasks ----------

export const ADMIN_TASK_KINDS = ['grant', 'revoke', 'problem'] as const;
export const ADMIN_TASK_STATUSES = ['open', 'done', 'cancelled'] as const;

export const adminTaskView = z.object({
  id,
  kind: z.enum(ADMIN_TASK_KINDS),
  status: z.enum(ADMIN_TASK_STATUSES),
  requestId: id.nullable(),
  connectionId: id,
  connectionName: z.string(),
  /** Why a person has to act. */
  reason: fulfilmentReason,
  /** What to do, in the CRM's terms. */
  account: z.object({ id, username: z.string(), externalUserId: z.string(), personId: id, personName: z.string() }),
  bundles: z.array(z.object({ id, name: z.string(), kind: bundleKind })),
  keys: z.array(permissionKey),
  /** A grant: for how many days, counted from when the CRM holds it (the task is marked done); null otherwise. */
  days: z.number().int().positive().nullable(),
  /** A problem report: what the requester's page showed. */
  page: pageContext.nullable(),
  /** A problem report: what AccessLens found when it read the CRM afterwards, if it could. */
  check: z.string().nullable(),
  createdAt: isoDateTime,
  doneAt: isoDateTime.nullable(),
  doneBy: id.nullable(),
  note: z.string().nullable(),
});
export type AdminTaskView = z.infer<typeof adminTaskView>;

export const adminTasksQuery = z.object({
  status: z.enum(ADMIN_TASK_STATUSES).optional(),
  connectionId: id.optional(),
});
export const adminTaskListResponse = z.object({ tasks: z.array(adminTaskView) });

export const adminTaskDoneBody = z.object({ note: z.string().trim().max(2000).optional() });
