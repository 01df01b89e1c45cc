/**
 * What one person may see, whole (snapshot) or changed since a version (delta). Every query is
 * bounded by an index on `version` or on the person; a snapshot is the delta since version -1.
 */
import type { AccessRequest, Person, SyncResponse } from '@accesslens/shared';
import type { Db, InStatement } from '../db.ts';
import {
  ACCOUNT_COLUMNS,
  ASSIGNMENT_COLUMNS,
  BUNDLE_COLUMNS,
  CATALOG_COLUMNS,
  CONNECTION_COLUMNS,
  KILL_SWITCH_COLUMNS,
  PAGE_RULE_COLUMNS,
  PERSON_COLUMNS,
  PERSON_REF_COLUMNS,
  accountFromRow,
  assignmentFromRow,
  bundleFromRow,
  catalogFromRow,
  connectionFromRow,
  killSwitchFromRow,
  pageRuleFromRow,
  personFromRow,
  personRefFromRow,
  requestFromRow,
} from '../model.ts';
import { SYNCED_FINDING_COLUMNS, SYNCED_FINDING_FROM, syncedFindingFromRow } from '../findings/query.ts';
import { formatCursor } from './cursor.ts';

type SliceLists = Omit<SyncResponse, 'cursor' | 'reset'>;

export interface SliceRead extends SliceLists {
  instanceId: string;
  version: number;
  sliceVersion: number;
}

const MY_REQUEST_IDS = `SELECT id FROM requests WHERE requester_id = ?1
  UNION SELECT id FROM requests WHERE filed_by = ?1
  UNION SELECT request_id FROM request_approvers WHERE person_id = ?1`;

/**
 * People the caller needs names for: themself, their manager, approvers of their requests and
 * requesters (and fellow approvers) of requests routed to them.
 */
const RELATED_PEOPLE = `SELECT ?1
  UNION SELECT manager_id FROM people WHERE id = ?1 AND manager_id IS NOT NULL
  UNION SELECT ra.person_id FROM request_approvers ra WHERE ra.request_id IN (${MY_REQUEST_IDS})
  UNION SELECT r.requester_id FROM requests r WHERE r.id IN (SELECT request_id FROM request_approvers WHERE person_id = ?1)
  UNION SELECT r.requester_id FROM requests r WHERE r.filed_by = ?1`;

/**
 * Administrators' findings: those of the accounts they watch (looked at on CRM user pages, see
 * findings/by-accounts.ts), never every finding of the org. A snapshot leaves out remediated ones; a
 * delta sends a finding remediated since the cursor once more, with that status.
 */
const WATCHED_FINDINGS = `SELECT ${SYNCED_FINDING_COLUMNS} ${SYNCED_FINDING_FROM}
  WHERE f.version > ?2 AND f.account_id IN (SELECT account_id FROM finding_watches WHERE person_id = ?1)
    AND (?2 >= 0 OR f.status <> 'remediated')
  ORDER BY f.id`;

/**
 * Reads the caller's slice changed after `since` (-1 for everything) in one read transaction.
 * `admin`: the caller is an administrator (their slice also carries findings).
 */
export async function readSlice(db: Db, personId: string, since: number, admin = false): Promise<SliceRead> {
  const args = [personId, since];
  const statements: InStatement[] = [
    {
      sql: 'SELECT m.instance_id, m.version, p.slice_version FROM meta m JOIN people p ON p.id = ?1 WHERE m.id = 1',
      args: [personId], // a libsql server refuses arguments a statement does not use
    },
    { sql: `SELECT ${PERSON_COLUMNS} FROM people p WHERE p.id = ?1 AND p.version > ?2`, args },
    { sql: `SELECT ${PERSON_REF_COLUMNS} FROM people p WHERE p.version > ?2 AND p.id IN (${RELATED_PEOPLE})`, args },
    { sql: `SELECT ${CONNECTION_COLUMNS} FROM crm_connections c WHERE c.version > ?1 ORDER BY c.id`, args: [since] },
    { sql: `SELECT ${ACCOUNT_COLUMNS} FROM crm_accounts ac WHERE ac.person_id = ?1 AND ac.version > ?2 ORDER BY ac.id`, args },
    {
      sql: `SELECT ${CATALOG_COLUMNS} FROM permission_catalog k WHERE k.version > ?1 ORDER BY k.connection_id, k.key`,
      args: [since],
    },
    { sql: `SELECT ${BUNDLE_COLUMNS} FROM bundles b WHERE b.version > ?1 ORDER BY b.id`, args: [since] },
    {
      sql: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments a
            WHERE a.account_id IN (SELECT id FROM crm_accounts WHERE person_id = ?1) AND a.version > ?2 ORDER BY a.id`,
      args,
    },
    {
      sql: `SELECT r.* FROM (
              SELECT * FROM requests WHERE requester_id = ?1 AND version > ?2
              UNION SELECT * FROM requests WHERE filed_by = ?1 AND version > ?2
              UNION SELECT q.* FROM request_approvers ra JOIN requests q ON q.id = ra.request_id
                    WHERE ra.person_id = ?1 AND q.version > ?2
            ) r ORDER BY r.created_at, r.id`,
      args,
    },
    {
      sql: `SELECT ${PAGE_RULE_COLUMNS} FROM page_rules pr JOIN crm_connections c ON c.id = pr.connection_id
            WHERE pr.version > ?1 ORDER BY pr.id`,
      args: [since],
    },
    { sql: `SELECT ${KILL_SWITCH_COLUMNS} FROM kill_switches ks WHERE ks.version > ?1 ORDER BY ks.id`, args: [since] },
  ];
  if (admin) statements.push({ sql: WATCHED_FINDINGS, args });
  const [meta, me, people, connections, accounts, catalog, bundles, assignments, requests, pageRules, killSwitches, findings] = await db.readBatch(statements);
  const head = meta!.rows[0];
  if (!head) throw new Error(`person ${personId} not found`);
  const requestList: AccessRequest[] = requests!.rows.map(requestFromRow);
  const peopleList = people!.rows.map(personRefFromRow);

  // A request newly in the slice may name people whose rows did not change (and, in a snapshot,
  // approvers of stages not yet open, who are not in request_approvers): send them too.
  if (requestList.length > 0) {
    const have = new Set(peopleList.map((p) => p.id));
    const missing = new Set<string>();
    for (const r of requestList) {
      for (const id of [
        r.requesterId,
        ...(r.filedBy ? [r.filedBy] : []),
        ...(r.needsInfo ? [r.needsInfo.askedBy] : []),
        ...r.stages.flatMap((s) => [
          ...s.approverIds,
          ...s.approvals.map((a) => a.deciderId),
          ...(s.decision ? [s.decision.deciderId] : []),
          ...(s.delegates ?? []).flatMap((d) => [d.approverId, d.delegateId]),
        ]),
        ...(r.timeline ?? []).flatMap((e) => [...(e.actorId ? [e.actorId] : []), ...e.personIds]),
      ])
        if (!have.has(id)) missing.add(id);
    }
    if (missing.size > 0) {
      const ids = [...missing];
      const extra = await db.execute(`SELECT ${PERSON_REF_COLUMNS} FROM people p WHERE p.id IN (${ids.map(() => '?').join(', ')})`, ids);
      peopleList.push(...extra.rows.map(personRefFromRow));
    }
  }

  const meRow = me!.rows[0];
  return {
    instanceId: String(head.instance_id),
    version: Number(head.version),
    sliceVersion: Number(head.slice_version),
    me: meRow ? (personFromRow(meRow) satisfies Person) : null,
    people: peopleList.sort((a, b) => a.id.localeCompare(b.id)),
    connections: connections!.rows.map(connectionFromRow),
    accounts: accounts!.rows.map(accountFromRow),
    catalog: catalog!.rows.map(catalogFromRow),
    bundles: bundles!.rows.map(bundleFromRow),
    assignments: assignments!.rows.map(assignmentFromRow),
    requests: requestList,
    // A snapshot need not carry what was deleted before it.
    pageRules: pageRules!.rows.map(pageRuleFromRow).filter((r) => since >= 0 || !r.deleted),
    killSwitches: killSwitches!.rows.map(killSwitchFromRow).filter((k) => since >= 0 || !k.deleted),
    findings: findings ? findings.rows.map(syncedFindingFromRow) : [],
  };
}

export function toSyncResponse(read: SliceRead, reset: boolean): SyncResponse {
  const { instanceId, version, sliceVersion: _sliceVersion, ...lists } = read;
  return { cursor: formatCursor({ instanceId, version }), reset, ...lists };
}

/** Slice reads kept for the current database version (`sharedSliceRead`): at most this many. */
export const SHARED_READS_MAX = 256;

export interface SharedSliceRead {
  read: SliceRead;
  /** The response's JSON text, made by the first pull that needed it. */
  body: string | null;
}

const shared = new WeakMap<Db, { version: number; reads: Map<string, Promise<SharedSliceRead>> }>();

/**
 * `readSlice`, shared by every pull of the same person from the same version while the database stays
 * at `atVersion` (the version the session check read): a poke makes each of a person's streams pull
 * at once, and they would otherwise each read — and serialise — the same thing (issue 10's load test:
 * hundreds of clients per person; in life, one person's browsers and devices). Correct because any
 * write a slice can see moves `meta.version` (the same rule that lets an unchanged pull answer from the
 * version alone): an answer read at `atVersion` or later is one any pull at `atVersion` may get. Kept
 * until the version moves, at most SHARED_READS_MAX of them.
 */
export function sharedSliceRead(db: Db, personId: string, since: number, admin: boolean, atVersion: number): Promise<SharedSliceRead> {
  let memo = shared.get(db);
  if (!memo || memo.version < atVersion) shared.set(db, (memo = { version: atVersion, reads: new Map() }));
  // A pull that saw an older version than another already did: read on its own.
  if (memo.version !== atVersion) return readSlice(db, personId, since, admin).then((read) => ({ read, body: null }));
  const key = `${personId}\n${since}\n${admin ? 1 : 0}`;
  let entry = memo.reads.get(key);
  if (!entry) {
    if (memo.reads.size >= SHARED_READS_MAX) memo.reads.clear();
    const reads = memo.reads;
    entry = readSlice(db, personId, since, admin).then((read) => ({ read, body: null }));
    reads.set(key, entry);
    // A failed read is not kept: the next pull tries again.
    entry.catch(() => reads.get(key) === entry && reads.delete(key));
  }
  return entry;
}
