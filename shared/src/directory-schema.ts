/**
 * The directory on the wire: the admin API's people, approver groups, trainings, licences and SCIM
 * tokens (routes under /api/admin), and the people CSV import. The admin console uses these schemas
 * too, so a field is named and checked in one place.
 */
import { z } from 'zod';
import { apiError, id, isoDateTime, personRef, personRole, personStatus } from './schemas.ts';
import { isPlainText, plainText } from './text.ts';

// ---------- primitives ----------

export { plainText } from './text.ts';

/** A person's email address: their sign-in name, unique, stored in lower case. */
export const personEmail = z.email({ message: 'must be an email address' }).toLowerCase().max(254, 'must be at most 254 characters');

/** A calendar date, `YYYY-MM-DD`. */
export const calendarDate = z.iso.date({ message: 'must be a date written YYYY-MM-DD' });

/** A training's id: the name policies (`prerequisites.trainings`) and CSV files use. */
export const trainingId = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(100, 'must be at most 100 characters')
  .refine((s) => isPlainText(s) && !s.includes(';'), { message: 'must not contain ";" or control characters' });

// ---------- people ----------

/** One person as `GET /api/admin/people` lists them (the contract of issue 7). */
export const adminPerson = z.object({
  id,
  email: z.string(),
  name: z.string(),
  department: z.string(),
  title: z.string(),
  managerId: id.nullable(),
  /** `YYYY-MM-DD`, or null when unknown. */
  hireDate: z.string().nullable(),
  status: personStatus,
  /** Ids of the trainings the person completed. */
  trainings: z.array(z.string()),
});
export type AdminPerson = z.infer<typeof adminPerson>;

export const trainingCompletion = z.object({ trainingId: z.string(), completedOn: calendarDate });
export type TrainingCompletion = z.infer<typeof trainingCompletion>;

/** One person in full (`GET /api/admin/people/:id`). */
export const adminPersonDetail = adminPerson.extend({
  roles: z.array(personRole),
  manager: personRef.nullable(),
  /** Every completed training with its date. */
  trainingCompletions: z.array(trainingCompletion),
  /** The identity provider's userName when it is not the email (SCIM), else null. */
  scimUserName: z.string().nullable(),
  /** The identity provider's id for the person (SCIM externalId), else null. */
  externalId: z.string().nullable(),
  createdAt: isoDateTime.nullable(),
  updatedAt: isoDateTime.nullable(),
});
export type AdminPersonDetail = z.infer<typeof adminPersonDetail>;

export const ADMIN_PEOPLE_PAGE_MAX = 500;

export const adminPeopleQuery = z.object({
  /** Matches name, email, department or title (case-insensitive substring). */
  q: plainText(200).optional(),
  status: personStatus.optional(),
  department: plainText(200).optional(),
  managerId: id.optional(),
  role: personRole.optional(),
  limit: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(ADMIN_PEOPLE_PAGE_MAX, `must be at most ${ADMIN_PEOPLE_PAGE_MAX}`)
    .default(100),
  /** `nextCursor` of the previous page. */
  cursor: z.string().max(400).optional(),
});
export type AdminPeopleQuery = z.infer<typeof adminPeopleQuery>;

/** People in email order; `nextCursor` is null on the last page; `total` counts every match. */
export const adminPeopleResponse = z.object({
  people: z.array(adminPerson),
  nextCursor: z.string().nullable(),
  total: z.number().int().nonnegative(),
});
export type AdminPeopleResponse = z.infer<typeof adminPeopleResponse>;

export const adminPersonResponse = z.object({ person: adminPersonDetail });
export type AdminPersonResponse = z.infer<typeof adminPersonResponse>;

const roles = z
  .array(personRole)
  .max(4)
  .transform((r) => [...new Set<z.infer<typeof personRole>>(['requester', ...r])]);

export const personCreateBody = z.object({
  email: personEmail,
  name: plainText(200, { required: true }),
  department: plainText(200).default(''),
  title: plainText(200).default(''),
  managerId: id.nullable().default(null),
  hireDate: calendarDate.nullable().default(null),
  status: personStatus.default('active'),
  trainings: z.array(trainingId).max(200).default([]),
  /** AccessLens roles; `requester` is always included. */
  roles: roles.default(['requester']),
});
export type PersonCreateBody = z.infer<typeof personCreateBody>;

/** Only the fields given change. */
export const personUpdateBody = z
  .object({
    email: personEmail,
    name: plainText(200, { required: true }),
    department: plainText(200),
    title: plainText(200),
    managerId: id.nullable(),
    hireDate: calendarDate.nullable(),
    status: personStatus,
    /** The complete list of completed trainings: new ones are dated today, kept ones keep their date. */
    trainings: z.array(trainingId).max(200),
    roles,
  })
  .partial()
  .strict();
export type PersonUpdateBody = z.infer<typeof personUpdateBody>;

// ---------- people CSV import ----------

/** The header of a people CSV file, exactly, in this order. */
export const PEOPLE_CSV_HEADER = ['email', 'name', 'department', 'title', 'manager_email', 'hire_date', 'status', 'trainings'] as const;
export type PeopleCsvColumn = (typeof PEOPLE_CSV_HEADER)[number];

/** A problem in a CSV file: the line where its record starts (1 = the header) and the column. */
export const importProblem = z.object({
  line: z.number().int().positive(),
  /** A column of the header, or `(file)` / `(header)` / `(line)` for the file's structure. */
  field: z.string(),
  message: z.string(),
});
export type ImportProblem = z.infer<typeof importProblem>;

export const importCounts = z.object({
  /** Data records in the file. */
  rows: z.number().int().nonnegative(),
  created: z.number().int().nonnegative(),
  updated: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  /** Directory events the import records (departures and moves). */
  departed: z.number().int().nonnegative(),
  deactivated: z.number().int().nonnegative(),
  moved: z.number().int().nonnegative(),
});
export type ImportCounts = z.infer<typeof importCounts>;

export const PROBLEMS_SHOWN_MAX = 1000;

/**
 * `ok: false`: nothing was applied; `problems` lists the first PROBLEMS_SHOWN_MAX of `problemCount`.
 * `ok: true`: applied, or with `dryRun` what would be applied.
 */
export const peopleImportResponse = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), dryRun: z.boolean(), counts: importCounts }),
  z.object({ ok: z.literal(false), dryRun: z.boolean(), problemCount: z.number().int().positive(), problems: z.array(importProblem) }),
]);
export type PeopleImportResponse = z.infer<typeof peopleImportResponse>;

/** 200 from POST /api/admin/people/import: applied (or, with dryRun, what would be). */
export const peopleImportApplied = peopleImportResponse.options[0];

/**
 * 400 from POST /api/admin/people/import: the API error (code `invalid_csv`, the first problem in its
 * message and `field`) with every problem beside it.
 */
export const peopleImportRefused = apiError.extend(peopleImportResponse.options[1].shape);

export const peopleImportQuery = z.object({
  dryRun: z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});

// ---------- approver groups ----------

export const approverGroupView = z.object({
  id,
  name: z.string(),
  memberIds: z.array(id),
  members: z.array(personRef),
  /** The identity provider's id when the group is pushed by SCIM, else null. */
  externalId: z.string().nullable(),
});
export type ApproverGroupView = z.infer<typeof approverGroupView>;

export const approverGroupsResponse = z.object({ groups: z.array(approverGroupView) });
export const approverGroupResponse = z.object({ group: approverGroupView });

const memberIds = z
  .array(id)
  .max(10_000)
  .transform((ids) => [...new Set(ids)]);

export const approverGroupCreateBody = z.object({ name: plainText(200, { required: true }), memberIds: memberIds.default([]) });
export const approverGroupUpdateBody = z
  .object({ name: plainText(200, { required: true }), memberIds })
  .partial()
  .strict();
export const approverGroupMemberBody = z.object({ personId: id });

// ---------- trainings ----------

export const trainingView = z.object({
  id: z.string(),
  title: z.string(),
  /** People who completed it. */
  completedCount: z.number().int().nonnegative(),
});
export type TrainingView = z.infer<typeof trainingView>;

export const trainingsResponse = z.object({ trainings: z.array(trainingView) });
export const trainingResponse = z.object({ training: trainingView });
export const trainingCreateBody = z.object({ id: trainingId, title: plainText(200, { required: true }) });
export const trainingUpdateBody = z.object({ title: plainText(200, { required: true }) });

export const trainingCompletionView = z.object({
  personId: id,
  name: z.string(),
  email: z.string(),
  completedOn: calendarDate,
});
export const trainingCompletionsResponse = z.object({ completions: z.array(trainingCompletionView) });
export const trainingCompletionBody = z.object({ completedOn: calendarDate });

// ---------- licences ----------

/**
 * user: a per-user CRM licence (Salesforce user licence, Dynamics licence); permission-set: a Salesforce
 * permission-set licence; seat: a HubSpot paid seat; module: a per-module add-on.
 */
export const LICENSE_TYPES = ['user', 'permission-set', 'seat', 'module'] as const;
export const licenseType = z.enum(LICENSE_TYPES);

export const licenseView = z.object({
  id,
  connectionId: id,
  name: z.string(),
  type: licenseType,
  /** Seats bought. */
  seats: z.number().int().nonnegative(),
  /** Accounts holding a permission that consumes this licence, as the policy engine counts them. */
  used: z.number().int().nonnegative(),
  /** End of the current term, `YYYY-MM-DD`, or null. */
  termEndDate: z.string().nullable(),
});
export type LicenseView = z.infer<typeof licenseView>;

export const licensesQuery = z.object({ connectionId: id.optional() });
export const licensesResponse = z.object({ licenses: z.array(licenseView) });
export const licenseResponse = z.object({ license: licenseView });
const seats = z.number().int('must be a whole number').min(0, 'must not be negative').max(10_000_000);
export const licenseCreateBody = z.object({
  connectionId: id,
  name: plainText(200, { required: true }),
  type: licenseType.default('user'),
  seats,
  termEndDate: calendarDate.nullable().default(null),
});
export const licenseUpdateBody = z
  .object({ name: plainText(200, { required: true }), type: licenseType, seats, termEndDate: calendarDate.nullable() })
  .partial()
  .strict();

// ---------- SCIM tokens ----------

export const scimTokenView = z.object({
  id: z.string(),
  /** The identity provider it is for ("okta", "entra"). */
  name: z.string(),
  createdAt: isoDateTime,
  createdBy: id.nullable(),
  lastUsedAt: isoDateTime.nullable(),
  revokedAt: isoDateTime.nullable(),
});
export type ScimTokenView = z.infer<typeof scimTokenView>;

export const scimTokensResponse = z.object({ tokens: z.array(scimTokenView) });
export const scimTokenCreateBody = z.object({ name: plainText(100, { required: true }) });
/** `token` is shown this once: only its hash is stored. */
export const scimTokenCreatedResponse = z.object({ token: z.string(), scimToken: scimTokenView });
export const scimTokenResponse = z.object({ scimToken: scimTokenView });
