/**
 * Approver groups ("Deal Desk", "Salesforce Admins"), written by the admin API and by SCIM Groups
 * alike: versioned (a group change rebuilds every process's findings engine), audited, never removed
 * while the policy or the catalog names them.
 */
import type { ApproverGroupView } from '@accesslens/shared';
import type { Row } from '@libsql/client';
import type { Transaction } from '../db.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { PERSON_REF_COLUMNS, personRefFromRow } from '../model.ts';
import { readCurrentPolicy, readBatch, type Source } from '../policy/load.ts';
import type { WriteContext } from '../write.ts';
import type { ChangeSource } from './people.ts';

export interface GroupRecord {
  id: string;
  name: string;
  memberIds: string[];
  externalId: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export const GROUP_RECORD_COLUMNS = 'g.id, g.name, g.member_ids, g.external_id, g.created_at, g.updated_at';

export function groupRecordFromRow(r: Row): GroupRecord {
  return {
    id: String(r.id),
    name: String(r.name),
    memberIds: JSON.parse(String(r.member_ids)) as string[],
    externalId: r.external_id === null ? null : String(r.external_id),
    createdAt: r.created_at === null ? null : String(r.created_at),
    updatedAt: r.updated_at === null ? null : String(r.updated_at),
  };
}

export async function readGroup(source: Source, id: string): Promise<GroupRecord | null> {
  const [r] = await readBatch(source, [{ sql: `SELECT ${GROUP_RECORD_COLUMNS} FROM approver_groups g WHERE g.id = ? AND g.deleted_at IS NULL`, args: [id] }]);
  return r!.rows[0] ? groupRecordFromRow(r!.rows[0]) : null;
}

/** Groups with their members' names, by name. */
export async function listGroupViews(source: Source, ids?: string[]): Promise<ApproverGroupView[]> {
  const only = ids ? `AND g.id IN (${ids.map(() => '?').join(', ')})` : '';
  const [groups, people] = await readBatch(source, [
    { sql: `SELECT ${GROUP_RECORD_COLUMNS} FROM approver_groups g WHERE g.deleted_at IS NULL ${only} ORDER BY g.name, g.id`, args: ids ?? [] },
    {
      sql: `SELECT ${PERSON_REF_COLUMNS} FROM people p WHERE p.id IN (
              SELECT j.value FROM approver_groups g, json_each(g.member_ids) j WHERE g.deleted_at IS NULL ${only})`,
      args: ids ?? [],
    },
  ]);
  const refs = new Map(people!.rows.map((r) => [String(r.id), personRefFromRow(r)]));
  return groups!.rows.map((row) => {
    const g = groupRecordFromRow(row);
    return {
      id: g.id,
      name: g.name,
      memberIds: g.memberIds,
      members: g.memberIds.flatMap((m) => refs.get(m) ?? []),
      externalId: g.externalId,
    };
  });
}

export async function groupView(source: Source, id: string): Promise<ApproverGroupView | null> {
  return (await listGroupViews(source, [id]))[0] ?? null;
}

export const newGroupId = () => `grp-${crypto.randomUUID()}`;

/** The first member id that is nobody, as a 400 naming its field (`memberIds.N` by default). */
export async function checkMembers(tx: Transaction, memberIds: string[], fieldOf: (index: number) => string = (i) => `memberIds.${i}`): Promise<void> {
  if (memberIds.length === 0) return;
  const found = new Set<string>();
  for (let i = 0; i < memberIds.length; i += 400) {
    const part = memberIds.slice(i, i + 400);
    const r = await tx.execute({ sql: `SELECT id FROM people WHERE id IN (${part.map(() => '?').join(', ')})`, args: part });
    for (const row of r.rows) found.add(String(row.id));
  }
  const missing = memberIds.findIndex((m) => !found.has(m));
  if (missing >= 0) {
    const field = fieldOf(missing);
    throw ApiFailure.of(400, 'invalid_input', 'person_not_found', { personId: memberIds[missing]! }, { field });
  }
}

/**
 * Creates (`before` null) or changes a group. Unchanged writes nothing. Members must exist
 * (`checkMembers`). The caller tracks findings.
 */
export async function writeGroup(
  w: WriteContext,
  before: GroupRecord | null,
  after: { id: string; name: string; memberIds: string[]; externalId: string | null },
  source: ChangeSource,
): Promise<boolean> {
  const added = after.memberIds.filter((m) => !before?.memberIds.includes(m));
  const removed = (before?.memberIds ?? []).filter((m) => !after.memberIds.includes(m));
  if (before && before.name === after.name && before.externalId === after.externalId && added.length === 0 && removed.length === 0) return false;
  const version = await w.version();
  await w.tx.execute({
    sql: `INSERT INTO approver_groups (id, name, member_ids, external_id, created_at, updated_at, deleted_at, version)
          VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
          ON CONFLICT (id) DO UPDATE SET name = excluded.name, member_ids = excluded.member_ids, external_id = excluded.external_id,
            updated_at = excluded.updated_at, version = excluded.version`,
    args: [after.id, after.name, JSON.stringify(after.memberIds), after.externalId, before?.createdAt ?? w.nowIso, w.nowIso, version],
  });
  await w.audit({
    actorId: source.actorId,
    action: before ? 'group.updated' : 'group.created',
    subjectType: 'approver_group',
    subjectId: after.id,
    data: {
      via: source.via,
      ...(source.provider ? { provider: source.provider } : {}),
      name: after.name,
      ...(before && before.name !== after.name ? { renamedFrom: before.name } : {}),
      addedMembers: added,
      removedMembers: removed,
      ...(after.externalId ? { externalId: after.externalId } : {}),
    },
  });
  return true;
}

/** Where the policy or the catalog names a group: request rules (by name) and catalog entries it owns (none of either = it may be deleted). */
export async function groupReferences(tx: Transaction, id: string): Promise<{ rules: string[]; catalogEntries: number }> {
  const policy = await readCurrentPolicy(tx);
  const rules = policy.document.requestRules.filter((r) => [...r.stages, ...r.fallback].some((s) => s.kind === 'group' && s.groupId === id)).map((r) => r.name);
  const catalog = await tx.execute({
    sql: `SELECT COUNT(*) AS n FROM permission_catalog WHERE json_extract(owner, '$.type') = 'group' AND json_extract(owner, '$.groupId') = ?`,
    args: [id],
  });
  return { rules, catalogEntries: Number(catalog.rows[0]!.n) };
}

/** Deletes a group the policy and catalog do not name (409 otherwise: the rules first, then the catalog). Its row stays, marked deleted. */
export async function deleteGroup(w: WriteContext, group: GroupRecord, source: ChangeSource): Promise<void> {
  const refs = await groupReferences(w.tx, group.id);
  if (refs.rules.length > 0) throw refuse.conflict('group_in_rules', { name: group.name, rules: refs.rules.map((n) => `"${n}"`).join(', ') });
  if (refs.catalogEntries === 1) throw refuse.conflict('group_owns_entry', { name: group.name });
  if (refs.catalogEntries > 1) throw refuse.conflict('group_owns_entries', { name: group.name, count: refs.catalogEntries });
  const version = await w.version();
  await w.tx.execute({
    sql: 'UPDATE approver_groups SET deleted_at = ?, updated_at = ?, version = ? WHERE id = ?',
    args: [w.nowIso, w.nowIso, version, group.id],
  });
  await w.audit({
    actorId: source.actorId,
    action: 'group.deleted',
    subjectType: 'approver_group',
    subjectId: group.id,
    data: { via: source.via, ...(source.provider ? { provider: source.provider } : {}), name: group.name, memberIds: group.memberIds },
  });
}
