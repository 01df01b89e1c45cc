/**
 * Revocations after departures and moves (issue 7 "Grants out, and back", issue 9 "Departures and role
 * changes"): the policy setting that says when access is taken out, and the admin API that lists what
 * is planned, due, in progress, done or failed (`GET /api/admin/revocations`, docs/api.md).
 *
 * Whose day "end of day" is: the day on which the directory recorded the change, in the time zone of
 * the department the person worked in before it (`departmentTimeZones`), else the organisation's
 * (`timeZone`, default UTC). The revocation is due at the next midnight there.
 */
import { z } from 'zod';
import { bundleKind, crmKind, FULFILMENT_REASONS, id, isoDateTime, permissionKey, personStatus } from './schemas.ts';
import type { Locale } from './constants.ts';

// ---------- the policy setting ----------

/**
 * - immediately: revoke jobs run at once (the connector removes the access, confirmed by reading the CRM);
 * - end-of-day: revoke jobs due at the end of the person's day (see above);
 * - task: admin tasks, one per CRM account, for an administrator to do by hand.
 */
export const REVOCATION_MODES = ['immediately', 'end-of-day', 'task'] as const;
export const revocationMode = z.enum(REVOCATION_MODES);
export type RevocationMode = z.infer<typeof revocationMode>;

/** The directory changes that revoke access (directory_events.kind): departed, suspended (deactivated), moved. */
export const REVOCATION_CAUSES = ['departed', 'deactivated', 'moved'] as const;
export const revocationCause = z.enum(REVOCATION_CAUSES);
export type RevocationCause = z.infer<typeof revocationCause>;

/** The modes used when the policy does not say (departures and suspensions at once; a move at the end of the day). */
export const DEFAULT_REVOCATION_MODES: Readonly<Record<RevocationCause, RevocationMode>> = {
  departed: 'immediately',
  deactivated: 'immediately',
  moved: 'end-of-day',
};

/** Whether `name` is an IANA time zone this runtime knows (Intl is part of the language, not a platform API). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const timeZone = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(64)
  .refine(isTimeZone, { message: 'must be an IANA time zone such as UTC, Europe/Berlin or Asia/Shanghai' });

const department = z.string().trim().min(1, 'is required').max(200);

export const revocationPolicy = z
  .object({
    departed: revocationMode.default(DEFAULT_REVOCATION_MODES.departed),
    /** A person suspended (SCIM active=false). */
    deactivated: revocationMode.default(DEFAULT_REVOCATION_MODES.deactivated),
    /** A change of department or title (a change of manager alone revokes nothing). */
    moved: revocationMode.default(DEFAULT_REVOCATION_MODES.moved),
    /** The organisation's time zone: whose day `end-of-day` ends, unless the person's department has its own. */
    timeZone: timeZone.default('UTC'),
    /** Per department (the one the person worked in before the change): its time zone. */
    departmentTimeZones: z.array(z.object({ department, timeZone }).strict()).max(1000).default([]),
    /** Per CRM connection: modes that differ from the ones above (absent = as above). */
    connections: z
      .array(
        z
          .object({
            connectionId: id,
            departed: revocationMode.optional(),
            deactivated: revocationMode.optional(),
            moved: revocationMode.optional(),
          })
          .strict(),
      )
      .max(1000)
      .default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const [i, c] of p.connections.entries()) {
      if (seen.has(c.connectionId)) ctx.addIssue({ code: 'custom', path: ['connections', i, 'connectionId'], message: `"${c.connectionId}" is listed twice` });
      seen.add(c.connectionId);
    }
    const departments = new Set<string>();
    for (const [i, d] of p.departmentTimeZones.entries()) {
      if (departments.has(d.department))
        ctx.addIssue({ code: 'custom', path: ['departmentTimeZones', i, 'department'], message: `"${d.department}" is listed twice` });
      departments.add(d.department);
    }
  });
export type RevocationPolicy = z.output<typeof revocationPolicy>;

export const DEFAULT_REVOCATION_POLICY: RevocationPolicy = {
  ...DEFAULT_REVOCATION_MODES,
  timeZone: 'UTC',
  departmentTimeZones: [],
  connections: [],
};

/** The mode for one cause in one connection: the connection's own when it has one. */
export function revocationModeFor(policy: RevocationPolicy, cause: RevocationCause, connectionId: string): RevocationMode {
  return policy.connections.find((c) => c.connectionId === connectionId)?.[cause] ?? policy[cause];
}

/** Whose day: the department's time zone, else the organisation's. */
export function revocationTimeZoneFor(policy: RevocationPolicy, department: string): string {
  return policy.departmentTimeZones.find((d) => d.department === department)?.timeZone ?? policy.timeZone;
}

// ---------- end of day ----------

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(t: number, zone: string): number {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
}

/** The zone's offset from UTC at instant `t` (ms; positive east of Greenwich). */
const offsetAt = (t: number, zone: string) => wallClock(t, zone) - Math.floor(t / 1000) * 1000;

/**
 * The end of the day containing `at` in `zone`: the next local midnight, as an instant. (Where a
 * daylight-saving change skips midnight, the first instant of the next day.)
 */
export function endOfDay(at: Date, zone: string): Date {
  const local = new Date(wallClock(at.getTime(), zone));
  const midnight = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1);
  let t = midnight - offsetAt(midnight, zone);
  t = midnight - offsetAt(t, zone);
  return new Date(Math.max(t, at.getTime()));
}

// ---------- the admin API ----------

/**
 * What a revocation is doing, as the API reports it:
 * - planned: waiting for its time (end of day);
 * - due: its time has come; a server process takes it next (or is waiting to retry after a passing error);
 * - in-progress: a server process is removing it from the CRM now;
 * - task: an administrator removes it by hand (the policy says so, or the connection cannot) — an open admin task;
 * - failed: the CRM refused, or automatic attempts were given up; an admin task is open for what remains;
 * - done: the CRM no longer holds it (confirmed by reading the CRM, or by the administrator who did it);
 * - cancelled: no longer needed (the person was reactivated, or the access is inside their job's baseline again).
 */
export const REVOCATION_STATUSES = ['planned', 'due', 'in-progress', 'task', 'failed', 'done', 'cancelled'] as const;
export const revocationStatus = z.enum(REVOCATION_STATUSES);
export type RevocationStatus = z.infer<typeof revocationStatus>;

/**
 * Why a planned revocation was cancelled when it came due: the person is active again, or what was
 * planned is inside the baseline of the job they have now (or granted by a request in force).
 */
export const REVOCATION_CANCEL_REASONS = ['reactivated', 'inside-baseline'] as const;

/** Why a revocation needs a person, failed, was retried or cancelled: a code clients render, with an English detail. */
export const revocationProblem = z.object({ code: z.enum([...FULFILMENT_REASONS, ...REVOCATION_CANCEL_REASONS]), message: z.string() });

/** Where the person was, and is, when the directory changed. */
export const placement = z.object({ status: personStatus, department: z.string(), title: z.string() });
export type Placement = z.infer<typeof placement>;

export const revocationReason = z.object({
  cause: revocationCause,
  from: placement,
  to: placement,
  /** Moves: the baselines of the new job function in this connection (what is kept). */
  baselineIds: z.array(id),
  /** The same in words, in every language. */
  text: z.object({ en: z.string(), 'zh-CN': z.string() }),
});
export type RevocationReason = z.infer<typeof revocationReason>;

const job = (p: Placement) => [p.department, p.title].filter((s) => s !== '').join(' / ') || '—';

/** The reason in words: "Departed", "Moved from Sales / Account Executive to Finance / Financial Analyst: outside the new job's baseline". */
export function revocationReasonText(cause: RevocationCause, from: Placement, to: Placement, locale: Locale): string {
  if (locale === 'zh-CN') {
    if (cause === 'departed') return '已离职：移除该账户的全部权限';
    if (cause === 'deactivated') return '已停用：移除该账户的全部权限';
    return `岗位由 ${job(from)} 调整为 ${job(to)}：超出新岗位基线的权限`;
  }
  if (cause === 'departed') return 'Departed: everything the account holds is removed';
  if (cause === 'deactivated') return 'Suspended: everything the account holds is removed';
  return `Moved from ${job(from)} to ${job(to)}: outside the new job's baseline`;
}

export const revokedAssignment = z.object({
  /** AccessLens's assignment id. */
  id,
  bundleId: id.nullable(),
  bundleName: z.string().nullable(),
  bundleKind: bundleKind.nullable(),
  /** A permission granted directly (no bundle). */
  key: permissionKey.nullable(),
  /** The request that granted it, if one did. */
  requestId: id.nullable(),
});

export const revocationView = z.object({
  id,
  /** The directory event (directory_events.id) it came from. */
  eventId: z.number().int().positive(),
  status: revocationStatus,
  mode: revocationMode,
  /** automatic: the connector removes it; manual: an administrator does (see `taskId`). */
  handling: z.enum(['automatic', 'manual']),
  reason: revocationReason,
  person: z.object({ id, name: z.string(), email: z.string() }),
  connection: z.object({ id, name: z.string(), kind: crmKind }),
  account: z.object({ id, username: z.string(), externalUserId: z.string() }),
  /** What is removed. */
  assignments: z.array(revokedAssignment),
  /** Whether the CRM user is deactivated too (departures and suspensions). */
  deactivateAccount: z.boolean(),
  /** When it is (or was) due; for end-of-day, the midnight of `timeZone`. */
  dueAt: isoDateTime,
  timeZone: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  /** Why it needs a person, failed, was retried or cancelled; null when nothing went wrong. */
  problem: revocationProblem.nullable(),
  lastError: z.string().nullable(),
  /** The admin task, when a person has to act. */
  taskId: id.nullable(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  finishedAt: isoDateTime.nullable(),
});
export type RevocationView = z.infer<typeof revocationView>;

export const ADMIN_REVOCATIONS_PAGE_MAX = 500;

export const adminRevocationsQuery = z.object({
  personId: id.optional(),
  connectionId: id.optional(),
  status: revocationStatus.optional(),
  limit: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(ADMIN_REVOCATIONS_PAGE_MAX, `must be at most ${ADMIN_REVOCATIONS_PAGE_MAX}`)
    .default(100),
  /** `nextCursor` of the previous page. */
  cursor: z.string().max(400).optional(),
});
export type AdminRevocationsQuery = z.infer<typeof adminRevocationsQuery>;

/** In due order (soonest first); `nextCursor` is null on the last page; `total` counts every match. */
export const adminRevocationsResponse = z.object({
  revocations: z.array(revocationView),
  nextCursor: z.string().nullable(),
  total: z.number().int().nonnegative(),
});
export type AdminRevocationsResponse = z.infer<typeof adminRevocationsResponse>;
