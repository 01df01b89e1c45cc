/**
 * SCIM Groups ↔ AccessLens approver groups. `displayName` is the group's name and is unique (Entra ID
 * matches groups by it); members are Users (people who have not departed).
 */
import { textProblem } from '@accesslens/shared';
import type { Transaction } from '../db.ts';
import { readGroup, type GroupRecord } from '../directory/groups.ts';
import type { Source } from '../policy/load.ts';
import type { AttributeMap, ValuePathMap } from './filter.ts';
import { getCI, type Json, type PatchTarget } from './patch.ts';
import { GROUP_SCHEMA, ScimError } from './protocol.ts';

export const GROUP_PATCH_TARGET: PatchTarget = { extensions: [], multiValued: ['members'] };

export const readScimGroup = (source: Source, id: string): Promise<GroupRecord | null> => readGroup(source, id);

export function toScimGroup(g: GroupRecord, names: Map<string, string>, base: string): Json {
  return {
    schemas: [GROUP_SCHEMA],
    id: g.id,
    ...(g.externalId ? { externalId: g.externalId } : {}),
    displayName: g.name,
    members: g.memberIds.map((m) => ({ value: m, display: names.get(m) ?? m, type: 'User', $ref: `${base}/Users/${m}` })),
    meta: {
      resourceType: 'Group',
      ...(g.createdAt ? { created: g.createdAt } : {}),
      ...(g.updatedAt ? { lastModified: g.updatedAt } : {}),
      location: `${base}/Groups/${g.id}`,
    },
  };
}

export interface GroupInput {
  displayName: string;
  externalId: string | null;
  memberIds: string[];
}

export function readGroupResource(r: Json): GroupInput {
  const displayName = getCI(r, 'displayName');
  if (typeof displayName !== 'string' || displayName.trim() === '') throw new ScimError(400, 'displayName: is required', 'invalidValue');
  if (displayName.length > 200) throw new ScimError(400, 'displayName: must be at most 200 characters', 'invalidValue');
  const problem = textProblem(displayName);
  if (problem) throw new ScimError(400, `displayName: ${problem}`, 'invalidValue');
  const members = getCI(r, 'members');
  const list = Array.isArray(members) ? members : [];
  const memberIds: string[] = [];
  for (const m of list) {
    const v = m && typeof m === 'object' ? getCI(m as Json, 'value') : m;
    if (typeof v !== 'string' || v === '') throw new ScimError(400, 'members: each member needs a value (a User id)', 'invalidValue');
    if (!memberIds.includes(v)) memberIds.push(v);
  }
  const externalId = getCI(r, 'externalId');
  return { displayName: displayName.trim(), externalId: typeof externalId === 'string' && externalId !== '' ? externalId : null, memberIds };
}

/** Members must be Users (not departed): 400 invalidValue naming the first that is not. */
export async function checkScimMembers(tx: Transaction, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 400) {
    const part = ids.slice(i, i + 400);
    const r = await tx.execute({
      sql: `SELECT id FROM people WHERE status <> 'departed' AND id IN (${part.map(() => '?').join(', ')})`,
      args: part,
    });
    const found = new Set(r.rows.map((x) => String(x.id)));
    const missing = part.find((m) => !found.has(m));
    if (missing) throw new ScimError(400, `members: no User "${missing}"`, 'invalidValue');
  }
}

/** 409 uniqueness when another group has this displayName. */
export async function checkGroupNameFree(tx: Transaction, name: string, selfId: string | null): Promise<void> {
  const r = await tx.execute({
    sql: 'SELECT id FROM approver_groups WHERE deleted_at IS NULL AND name = ? COLLATE NOCASE AND id <> ?',
    args: [name, selfId ?? ''],
  });
  if (r.rows[0]) throw new ScimError(409, `A Group named "${name}" exists.`, 'uniqueness');
}

export const GROUP_FILTER: AttributeMap = {
  id: { expr: 'g.id', caseExact: true },
  displayname: { expr: 'g.name', caseExact: false },
  externalid: { expr: 'g.external_id', caseExact: true },
  'members.value': {
    compile: (op, value) => {
      if (op === 'pr') return { sql: 'json_array_length(g.member_ids) > 0', args: [] };
      if (op !== 'eq' || typeof value !== 'string') throw new ScimError(400, 'filter: members compares with eq and a User id', 'invalidFilter');
      return { sql: 'EXISTS (SELECT 1 FROM json_each(g.member_ids) j WHERE j.value = ?)', args: [value] };
    },
  },
  'meta.created': { expr: 'g.created_at', caseExact: true },
  'meta.lastmodified': { expr: 'g.updated_at', caseExact: true },
};

export const GROUP_VALUE_PATHS: ValuePathMap = { members: { value: GROUP_FILTER['members.value']! } };
