/**
 * SCIM Users ↔ the directory's people. A User is a person who has not departed (a departed person is
 * what SCIM calls deleted: GET answers 404, lists leave them out).
 *
 * - `userName` is unique; it is the person's email unless the provider signs people in with another
 *   name (Entra ID's userPrincipalName), which is then kept beside the email (`scim_user_name`).
 * - The email is the primary email (else the work email, else the first; else an email-shaped userName).
 * - `displayName`, else `name.formatted`, else given and family name, is the name AccessLens shows; the
 *   name parts are kept as sent.
 * - `title` and the enterprise extension's `department` and `manager` (RFC 7643 §4.3) are the person's;
 *   `manager.value` is the manager's SCIM id (a person id), or their externalId or userName.
 * - `active: false` suspends the person (a `deactivated` directory event); DELETE marks them departed.
 */
import { personEmail, plainText, textProblem, type PersonStatus } from '@accesslens/shared';
import type { Row } from '@libsql/client';
import type { Transaction } from '../db.ts';
import type { PersonDraft, PersonRecord } from '../directory/people.ts';
import { managerCycle, PERSON_RECORD_COLUMNS, personRecordFromRow } from '../directory/people.ts';
import { readBatch, type Source } from '../policy/load.ts';
import type { AttributeMap, CompareOp, Literal, Sql, ValuePathMap } from './filter.ts';
import { getCI, scimBoolean, type Json, type PatchTarget } from './patch.ts';
import { ENTERPRISE_SCHEMA, ScimError, USER_SCHEMA } from './protocol.ts';

export const USER_PATCH_TARGET: PatchTarget = { extensions: [ENTERPRISE_SCHEMA.toLowerCase()], multiValued: ['emails'] };

export interface ScimPerson extends PersonRecord {
  scimName: Json | null;
}

export const SCIM_PERSON_COLUMNS = `${PERSON_RECORD_COLUMNS}, p.scim_name`;
export function scimPersonFromRow(r: Row): ScimPerson {
  return { ...personRecordFromRow(r), scimName: r.scim_name === null || r.scim_name === undefined ? null : (JSON.parse(String(r.scim_name)) as Json) };
}

/** Visible to SCIM: not departed. */
export const VISIBLE = "p.status <> 'departed'";

export async function readScimPerson(source: Source, id: string): Promise<ScimPerson | null> {
  const [r] = await readBatch(source, [{ sql: `SELECT ${SCIM_PERSON_COLUMNS} FROM people p WHERE p.id = ? AND ${VISIBLE}`, args: [id] }]);
  return r!.rows[0] ? scimPersonFromRow(r!.rows[0]) : null;
}

export function toScimUser(p: ScimPerson, base: string): Json {
  const name: Json = { ...(p.scimName ?? {}) };
  name.formatted ??= p.name;
  const enterprise: Json = { department: p.department };
  if (p.managerId) enterprise.manager = { value: p.managerId, $ref: `${base}/Users/${p.managerId}` };
  return {
    schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA],
    id: p.id,
    ...(p.externalId ? { externalId: p.externalId } : {}),
    userName: p.scimUserName ?? p.email,
    name,
    displayName: p.name,
    title: p.title,
    active: p.status === 'active',
    emails: [{ value: p.email, type: 'work', primary: true }],
    [ENTERPRISE_SCHEMA]: enterprise,
    meta: {
      resourceType: 'User',
      ...(p.createdAt ? { created: p.createdAt } : {}),
      ...(p.updatedAt ? { lastModified: p.updatedAt } : {}),
      location: `${base}/Users/${p.id}`,
    },
  };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
const invalid = (detail: string) => new ScimError(400, detail, 'invalidValue');
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]/;

/** What a User resource (from POST, PUT, or after PATCH) says of a person. */
export interface UserInput {
  userName: string;
  email: string;
  name: string;
  scimName: Json | null;
  title: string;
  department: string;
  /** As sent: an id, externalId or userName; null = none. */
  manager: string | null;
  active: boolean;
  externalId: string | null;
}

/**
 * What a User resource says of a person. With `before` (PUT, PATCH) the shown name follows whichever
 * name attribute the provider changed — providers echo back the attributes they read, so an unchanged
 * displayName must not hide a new family name.
 */
export function readUserResource(r: Json, before: ScimPerson | null = null): UserInput {
  const userName = str(getCI(r, 'userName'))?.trim();
  if (!userName) throw invalid('userName: is required');
  for (const [field, value] of [
    ['userName', userName],
    ['externalId', str(getCI(r, 'externalId'))],
  ] as const) {
    const problem = value === null ? null : textProblem(value);
    if (problem) throw invalid(`${field}: ${problem}`);
  }
  const emails = Array.isArray(getCI(r, 'emails')) ? (getCI(r, 'emails') as Json[]) : [];
  const pick =
    emails.find((e) => getCI(e, 'primary') === true || getCI(e, 'primary') === 'True') ??
    emails.find((e) => String(getCI(e, 'type') ?? '').toLowerCase() === 'work') ??
    emails[0];
  const rawEmail = str(pick ? getCI(pick, 'value') : null) ?? (userName.includes('@') ? userName : null);
  if (!rawEmail) throw invalid('emails: a User needs an email address (in emails, or as an email-shaped userName)');
  const email = personEmail.safeParse(rawEmail.trim());
  if (!email.success) throw invalid(`emails: "${rawEmail}" is not an email address`);

  const nameObj = getCI(r, 'name');
  const parts: Json = nameObj && typeof nameObj === 'object' && !Array.isArray(nameObj) ? (nameObj as Json) : {};
  const given = str(getCI(parts, 'givenName'))?.trim() ?? '';
  const family = str(getCI(parts, 'familyName'))?.trim() ?? '';
  const joined = CJK.test(given + family) ? `${family}${given}` : [given, family].filter(Boolean).join(' ');
  const display = str(getCI(r, 'displayName'))?.trim() || null;
  const formatted = str(getCI(parts, 'formatted'))?.trim() || null;
  let shown: string;
  if (!before) shown = display ?? formatted ?? (joined || userName);
  else {
    const was = before.scimName ?? {};
    const partsChanged =
      (str(getCI(parts, 'givenName')) ?? null) !== (str(was.givenName) ?? null) || (str(getCI(parts, 'familyName')) ?? null) !== (str(was.familyName) ?? null);
    if (display && display !== before.name) shown = display;
    else if (formatted && formatted !== (str(was.formatted) ?? before.name)) shown = formatted;
    else if (partsChanged && joined) shown = joined;
    else shown = display ?? before.name;
  }
  const name = plainText(200, { required: true }).safeParse(shown);
  if (!name.success) throw invalid(`displayName: ${name.error.issues[0]?.message ?? 'is invalid'}`);
  const kept = Object.fromEntries(
    (['givenName', 'familyName', 'formatted', 'middleName'] as const).flatMap((k) => {
      const v = str(getCI(parts, k));
      return v === null ? [] : [[k, v]];
    }),
  );

  const ext = getCI(r, ENTERPRISE_SCHEMA);
  const e: Json = ext && typeof ext === 'object' && !Array.isArray(ext) ? (ext as Json) : {};
  const managerRaw = getCI(e, 'manager');
  const manager = managerRaw && typeof managerRaw === 'object' ? str(getCI(managerRaw as Json, 'value')) : str(managerRaw);
  const text = (v: unknown, field: string) => {
    const parsed = plainText(200).safeParse(str(v) ?? '');
    if (!parsed.success) throw invalid(`${field}: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    return parsed.data;
  };
  const activeRaw = getCI(r, 'active');
  return {
    userName,
    email: email.data,
    name: name.data,
    scimName: Object.keys(kept).length > 0 ? kept : null,
    title: text(getCI(r, 'title'), 'title'),
    department: text(getCI(e, 'department'), `${ENTERPRISE_SCHEMA}:department`),
    manager: manager?.trim() || null,
    active: activeRaw === undefined || activeRaw === null ? true : scimBoolean(activeRaw, 'active'),
    externalId: str(getCI(r, 'externalId'))?.trim() || null,
  };
}

/** 409 uniqueness when another person has this userName or email. */
export async function checkUnique(tx: Transaction, input: UserInput, selfId: string | null): Promise<void> {
  const r = await tx.execute({
    sql: `SELECT p.id, p.status, p.email FROM people p WHERE p.id <> ?3 AND (
            p.email = ?2 OR p.scim_user_name = ?1 COLLATE NOCASE OR p.scim_user_name = ?2 COLLATE NOCASE
            OR (p.scim_user_name IS NULL AND p.email = lower(?1)))`,
    args: [input.userName, input.email, selfId ?? ''],
  });
  const other = r.rows[0];
  if (!other) return;
  const departed = String(other.status) === 'departed';
  throw new ScimError(
    409,
    departed
      ? `${input.userName} belongs to a person who has left (departed) in AccessLens; an administrator can reactivate them.`
      : `A User with userName or email ${input.userName === input.email ? input.email : `${input.userName} / ${input.email}`} exists.`,
    'uniqueness',
  );
}

/** The person a `manager.value` names: by id, externalId, userName or email. */
export async function resolveManager(tx: Transaction, value: string, personId: string): Promise<string> {
  const r = await tx.execute({
    sql: `SELECT p.id FROM people p WHERE ${VISIBLE} AND (p.id = ?1 OR p.external_id = ?1 OR p.scim_user_name = ?1 COLLATE NOCASE OR p.email = lower(?1))
          ORDER BY p.id = ?1 DESC LIMIT 1`,
    args: [value],
  });
  const id = r.rows[0] ? String(r.rows[0].id) : null;
  if (!id) throw invalid(`${ENTERPRISE_SCHEMA}:manager: no User "${value}"`);
  const cycle = await managerCycle(tx, personId, id);
  if (cycle) throw invalid(`${ENTERPRISE_SCHEMA}:manager: "${value}" would make a manager cycle`);
  return id;
}

/** The person `input` describes, on top of `before` (or new). */
export function draftFromInput(id: string, input: UserInput, managerId: string | null, before: PersonRecord | null): PersonDraft {
  const status: PersonStatus = input.active ? 'active' : 'suspended';
  return {
    id,
    email: input.email,
    name: input.name,
    department: input.department,
    title: input.title,
    managerId,
    hireDate: before?.hireDate ?? null,
    status,
    roles: before?.roles ?? ['requester'],
    trainings: before?.trainings ?? [],
    scimUserName: input.userName.toLowerCase() === input.email ? null : input.userName,
    externalId: input.externalId,
  };
}

// ---------- filters ----------

/** userName: an indexed lookup for eq (the query providers send for every user). */
function userNameSql(op: CompareOp | 'pr', value: Literal): Sql {
  if (op === 'eq' && typeof value === 'string')
    return { sql: '(p.scim_user_name = ? COLLATE NOCASE OR (p.scim_user_name IS NULL AND p.email = lower(?)))', args: [value, value] };
  const expr = 'lower(COALESCE(p.scim_user_name, p.email))';
  if (op === 'pr') return { sql: '1', args: [] };
  if (typeof value !== 'string') throw new ScimError(400, 'filter: userName compares with a string', 'invalidFilter');
  const v = value.toLowerCase();
  const sql: Record<CompareOp, Sql> = {
    eq: { sql: `${expr} = ?`, args: [v] },
    ne: { sql: `${expr} <> ?`, args: [v] },
    co: { sql: `instr(${expr}, ?) > 0`, args: [v] },
    sw: { sql: `substr(${expr}, 1, length(?)) = ?`, args: [v, v] },
    ew: { sql: `(length(${expr}) >= length(?) AND substr(${expr}, -length(?)) = ?)`, args: [v, v, v] },
    gt: { sql: `${expr} > ?`, args: [v] },
    ge: { sql: `${expr} >= ?`, args: [v] },
    lt: { sql: `${expr} < ?`, args: [v] },
    le: { sql: `${expr} <= ?`, args: [v] },
  };
  return sql[op];
}

const emailValue = { expr: 'p.email', caseExact: false } as const;

export const USER_FILTER: AttributeMap = {
  id: { expr: 'p.id', caseExact: true },
  username: { compile: userNameSql },
  externalid: { expr: 'p.external_id', caseExact: true },
  displayname: { expr: 'p.name', caseExact: false },
  'name.formatted': { expr: 'p.name', caseExact: false },
  'name.givenname': { expr: "json_extract(p.scim_name, '$.givenName')", caseExact: false },
  'name.familyname': { expr: "json_extract(p.scim_name, '$.familyName')", caseExact: false },
  title: { expr: 'p.title', caseExact: false },
  active: { expr: "p.status = 'active'", caseExact: true, kind: 'boolean' },
  'emails.value': emailValue,
  department: { expr: 'p.department', caseExact: false },
  'manager.value': { expr: 'p.manager_id', caseExact: true },
  'meta.created': { expr: 'p.created_at', caseExact: true },
  'meta.lastmodified': { expr: 'p.updated_at', caseExact: true },
};

/** `emails[type eq "work"]`: every person has one email, of type work, primary. */
export const USER_VALUE_PATHS: ValuePathMap = {
  emails: {
    value: emailValue,
    type: {
      compile: (op, v) => ({
        sql: op === 'pr' || (op === 'eq' && String(v).toLowerCase() === 'work') || (op === 'ne' && String(v).toLowerCase() !== 'work') ? '1' : '0',
        args: [],
      }),
    },
    primary: { compile: (op, v) => ({ sql: op === 'pr' || (op === 'eq' && v === true) || (op === 'ne' && v !== true) ? '1' : '0', args: [] }) },
  },
};
