/**
 * The database as the policy and findings engine sees it: rows → `OrgData`. Column lists live beside
 * their mappers (as in model.ts); the findings service reuses the mappers for "changed since" reads.
 */
import {
  builtInCatalog,
  DEFAULT_LIFECYCLE,
  DEFAULT_REVOCATION_POLICY,
  DEFAULT_THRESHOLDS,
  mergeCatalogs,
  policyDocument,
  type ApproverGroup,
  type ApproverRef,
  type CatalogMeta,
  type License,
  type OrgAccount,
  type OrgConnection,
  type OrgData,
  type OrgPerson,
  type OrgPolicy,
  type PolicyDocument,
  type RiskAcceptance,
  type UsageAggregate,
} from '@accesslens/shared';
import type { Row } from '@libsql/client';
import { Db, type InStatement, type ResultSet, type Transaction } from '../db.ts';
import {
  ACCOUNT_COLUMNS,
  ASSIGNMENT_COLUMNS,
  BUNDLE_COLUMNS,
  PERSON_COLUMNS,
  accountFromRow,
  assignmentFromRow,
  bundleFromRow,
  personFromRow,
} from '../model.ts';

const str = (v: unknown): string => String(v);
const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;

/** A Db (one read transaction) or a write transaction in progress (sees its own writes). */
export type Source = Db | Transaction;

export function readBatch(source: Source, statements: InStatement[]): Promise<ResultSet[]> {
  return source instanceof Db ? source.readBatch(statements) : source.batch(statements);
}

/** Date-only hire dates are stored as `YYYY-MM-DD`; the engine takes date-times. */
const hireDateOf = (v: unknown): string | null => {
  if (v === null || v === undefined || v === '') return null;
  const s = String(v);
  return /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00.000Z` : s;
};

export const ORG_PERSON_COLUMNS = `${PERSON_COLUMNS}, p.hire_date, p.trainings`;
export function orgPersonFromRow(r: Row): OrgPerson {
  return { ...personFromRow(r), hireDate: hireDateOf(r.hire_date), completedTrainings: json<string[]>(r.trainings) };
}

export const ORG_ACCOUNT_COLUMNS = `${ACCOUNT_COLUMNS}, ac.created_at`;
/** `fallbackCreatedAt` for rows written without a creation time (judged as new, never as long unused). */
export function orgAccountFromRow(r: Row, fallbackCreatedAt: string): OrgAccount {
  return { ...accountFromRow(r), createdAt: r.created_at === null || r.created_at === undefined ? fallbackCreatedAt : str(r.created_at) };
}

export const ORG_CATALOG_COLUMNS =
  'k.connection_id, k.key, k.label_en, k.label_zh_cn, k.risk, k.max_duration_days, k.requestable, k.owner, k.owner_id, k.license_id, k.required_trainings';
export function catalogMetaFromRow(r: Row): CatalogMeta {
  let owner: ApproverRef | null = null;
  if (r.owner !== null && r.owner !== undefined) owner = json<ApproverRef>(r.owner);
  else if (r.owner_id !== null && r.owner_id !== undefined) owner = { type: 'person', personId: str(r.owner_id) };
  return {
    connectionId: str(r.connection_id),
    key: str(r.key),
    labels: { en: str(r.label_en), 'zh-CN': str(r.label_zh_cn) },
    risk: str(r.risk) as CatalogMeta['risk'],
    owner,
    license: r.license_id === null || r.license_id === undefined ? null : str(r.license_id),
    requiredTrainings: json<string[]>(r.required_trainings),
    maxDurationDays: r.max_duration_days === null ? null : Number(r.max_duration_days),
    requestable: Number(r.requestable) === 1,
  };
}

export const GROUP_COLUMNS = 'g.id, g.name, g.member_ids';
export function groupFromRow(r: Row): ApproverGroup {
  return { id: str(r.id), name: str(r.name), memberIds: json<string[]>(r.member_ids) };
}

export const LICENSE_COLUMNS = 'l.id, l.connection_id, l.name, l.seats';
export function licenseFromRow(r: Row): License {
  return { id: str(r.id), connectionId: str(r.connection_id), name: str(r.name), seats: Number(r.seats) };
}

export const USAGE_COLUMNS = 'u.account_id, u.key, u.last_used_at, u.count';
export function usageFromRow(r: Row): UsageAggregate {
  return { accountId: str(r.account_id), key: str(r.key), lastUsedAt: str(r.last_used_at), count: Number(r.count) };
}

export const ACCEPTANCE_COLUMNS = 'fa.finding_id, fa.reason, fa.accepted_by, fa.accepted_at, fa.expires_at, fa.revoked_at';
export function acceptanceFromRow(r: Row): RiskAcceptance {
  return {
    findingId: str(r.finding_id),
    reason: str(r.reason),
    acceptedBy: str(r.accepted_by),
    acceptedAt: str(r.accepted_at),
    expiresAt: str(r.expires_at),
  };
}

// ---------- policy ----------

/** Before any policy version exists: nothing is requestable, findings use the default thresholds. */
export const EMPTY_POLICY_DOCUMENT: PolicyDocument = {
  baselines: [],
  sodRules: [],
  requestRules: [],
  adminFunctions: [],
  thresholds: { ...DEFAULT_THRESHOLDS },
  lifecycle: { ...DEFAULT_LIFECYCLE },
  revocations: structuredClone(DEFAULT_REVOCATION_POLICY),
};

export interface StoredPolicy {
  version: number;
  document: PolicyDocument;
  createdAt: string | null;
  createdBy: string | null;
  note: string;
}

export const CURRENT_POLICY_SQL = 'SELECT version, document, created_at, created_by, note FROM policy_versions ORDER BY version DESC LIMIT 1';

export function policyFromRows(rows: Row[]): StoredPolicy {
  const r = rows[0];
  if (!r) return { version: 0, document: EMPTY_POLICY_DOCUMENT, createdAt: null, createdBy: null, note: '' };
  // Stored documents were validated when written; parsing again fills defaults added since.
  return {
    version: Number(r.version),
    document: policyDocument.parse(json(r.document)),
    createdAt: str(r.created_at),
    createdBy: r.created_by === null ? null : str(r.created_by),
    note: str(r.note),
  };
}

export async function readCurrentPolicy(source: Source): Promise<StoredPolicy> {
  const [rows] = await readBatch(source, [CURRENT_POLICY_SQL]);
  return policyFromRows(rows!.rows);
}

export const toOrgPolicy = (p: StoredPolicy): OrgPolicy => ({ ...p.document, version: p.version });

// ---------- the whole org ----------

/** Every row the engine needs, in one read (one snapshot), mapped onto `OrgData`; plus the sync version it reflects. */
export async function loadOrg(source: Source, now: Date): Promise<{ org: OrgData; version: number }> {
  const [meta, people, groups, connections, accounts, catalog, licenses, bundles, assignments, usage, policy, acceptances] = await readBatch(source, [
    'SELECT version FROM meta WHERE id = 1',
    `SELECT ${ORG_PERSON_COLUMNS} FROM people p ORDER BY p.id`,
    `SELECT ${GROUP_COLUMNS} FROM approver_groups g WHERE g.deleted_at IS NULL ORDER BY g.id`,
    'SELECT c.id, c.kind, c.name FROM crm_connections c ORDER BY c.id',
    `SELECT ${ORG_ACCOUNT_COLUMNS} FROM crm_accounts ac ORDER BY ac.id`,
    `SELECT ${ORG_CATALOG_COLUMNS} FROM permission_catalog k ORDER BY k.connection_id, k.key`,
    `SELECT ${LICENSE_COLUMNS} FROM licenses l WHERE l.deleted_at IS NULL ORDER BY l.id`,
    `SELECT ${BUNDLE_COLUMNS} FROM bundles b ORDER BY b.id`,
    `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments a ORDER BY a.id`,
    `SELECT ${USAGE_COLUMNS} FROM usage_aggregates u`,
    CURRENT_POLICY_SQL,
    `SELECT ${ACCEPTANCE_COLUMNS} FROM finding_acceptances fa WHERE fa.revoked_at IS NULL`,
  ]);
  const nowIso = now.toISOString();
  const conns: OrgConnection[] = connections!.rows.map((r) => ({
    id: str(r.id),
    kind: str(r.kind) as OrgConnection['kind'],
    name: str(r.name),
  }));
  // The built-in catalog gives risk to well-known permissions an org's catalog does not list; the
  // org's own entries win.
  const builtIn = conns.flatMap((c) => builtInCatalog(c.kind, c.id));
  const org: OrgData = {
    people: people!.rows.map(orgPersonFromRow),
    groups: groups!.rows.map(groupFromRow),
    connections: conns,
    accounts: accounts!.rows.map((r) => orgAccountFromRow(r, nowIso)),
    catalog: mergeCatalogs(builtIn, catalog!.rows.map(catalogMetaFromRow)),
    licenses: licenses!.rows.map(licenseFromRow),
    bundles: bundles!.rows.map(bundleFromRow),
    assignments: assignments!.rows.map(assignmentFromRow),
    usage: usage!.rows.map(usageFromRow),
    policy: toOrgPolicy(policyFromRows(policy!.rows)),
    acceptances: acceptances!.rows.map(acceptanceFromRow),
  };
  return { org, version: Number(meta!.rows[0]!.version) };
}
