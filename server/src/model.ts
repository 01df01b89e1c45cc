/**
 * Rows to wire entities. Column lists live here beside their mappers so a query and its mapping
 * cannot drift apart.
 */
import {
  approvalStage,
  type AccessRequest,
  type ApprovalStage,
  type Assignment,
  type Bundle,
  type CatalogEntry,
  type CrmAccount,
  type CrmConnection,
  type PageContext,
  type Person,
  type PersonRef,
  type SyncedKillSwitch,
  type SyncedPageRule,
  type RequestFulfilment,
  type TimelineEntry,
  type RequestInsight,
} from '@accesslens/shared';
import type { Row } from '@libsql/client';

const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;

export const PERSON_COLUMNS = 'p.id, p.email, p.name, p.department, p.title, p.manager_id, p.status, p.roles, p.language, p.version, p.slice_version';
export function personFromRow(r: Row): Person {
  return {
    id: str(r.id),
    email: str(r.email),
    name: str(r.name),
    department: str(r.department),
    title: str(r.title),
    managerId: strOrNull(r.manager_id),
    status: str(r.status) as Person['status'],
    roles: json<Person['roles']>(r.roles),
    language: r.language === undefined || r.language === null ? null : (str(r.language) as NonNullable<Person['language']>),
  };
}

export const PERSON_REF_COLUMNS = 'p.id, p.name, p.email, p.title';
export function personRefFromRow(r: Row): PersonRef {
  return { id: str(r.id), name: str(r.name), email: str(r.email), title: str(r.title) };
}

export const CONNECTION_COLUMNS = 'c.id, c.kind, c.name, c.hosts, c.tenant, c.last_import_at';
export function connectionFromRow(r: Row): CrmConnection {
  return {
    id: str(r.id),
    kind: str(r.kind) as CrmConnection['kind'],
    name: str(r.name),
    hosts: json<string[]>(r.hosts),
    tenant: strOrNull(r.tenant),
    // Only once imported: a connection never imported reads as before.
    ...(r.last_import_at ? { lastImportAt: str(r.last_import_at) } : {}),
  };
}

export const ACCOUNT_COLUMNS = 'ac.id, ac.person_id, ac.connection_id, ac.external_user_id, ac.username, ac.active, ac.last_login_at';
export function accountFromRow(r: Row): CrmAccount {
  return {
    id: str(r.id),
    personId: str(r.person_id),
    connectionId: str(r.connection_id),
    externalUserId: str(r.external_user_id),
    username: str(r.username),
    active: Number(r.active) === 1,
    lastLoginAt: strOrNull(r.last_login_at),
  };
}

export const CATALOG_COLUMNS =
  'k.connection_id, k.key, k.label_en, k.label_zh_cn, k.risk, k.max_duration_days, k.requestable, k.object_label_en, k.object_label_zh_cn';
export function catalogFromRow(r: Row): CatalogEntry {
  return {
    connectionId: str(r.connection_id),
    key: str(r.key),
    labels: { en: str(r.label_en), 'zh-CN': str(r.label_zh_cn) },
    risk: str(r.risk) as CatalogEntry['risk'],
    maxDurationDays: r.max_duration_days === null ? null : Number(r.max_duration_days),
    requestable: Number(r.requestable) === 1,
    objectLabels:
      r.object_label_en === null || r.object_label_en === undefined
        ? null
        : { en: str(r.object_label_en), 'zh-CN': strOrNull(r.object_label_zh_cn) ?? str(r.object_label_en) },
  };
}

export const BUNDLE_COLUMNS = `b.id, b.connection_id, b.kind, b.name,
  (SELECT json_group_array(included_id) FROM (SELECT included_id FROM bundle_includes WHERE bundle_id = b.id ORDER BY position)) AS includes,
  (SELECT json_group_array(key) FROM (SELECT key FROM bundle_permissions WHERE bundle_id = b.id ORDER BY position)) AS permissions`;
export function bundleFromRow(r: Row): Bundle {
  return {
    id: str(r.id),
    connectionId: str(r.connection_id),
    kind: str(r.kind) as Bundle['kind'],
    name: str(r.name),
    includes: json<string[]>(r.includes),
    permissions: json<string[]>(r.permissions),
  };
}

export const ASSIGNMENT_COLUMNS =
  'a.id, a.account_id, a.target_type, a.bundle_id, a.permission_key, a.source, a.request_id, a.granted_at, a.expires_at, a.revoked_at, a.outside_process';
export function assignmentFromRow(r: Row): Assignment {
  return {
    id: str(r.id),
    accountId: str(r.account_id),
    target: r.target_type === 'bundle' ? { type: 'bundle', bundleId: str(r.bundle_id) } : { type: 'permission', key: str(r.permission_key) },
    source: str(r.source) as Assignment['source'],
    requestId: strOrNull(r.request_id),
    grantedAt: str(r.granted_at),
    expiresAt: strOrNull(r.expires_at),
    revokedAt: strOrNull(r.revoked_at),
    // Only when set, so assignments AccessLens made look as they always did.
    ...(Number(r.outside_process) === 1 ? { outsideProcess: true } : {}),
  };
}

export const REQUEST_COLUMNS = `r.id, r.requester_id, r.connection_id, r.account_id, r.permissions, r.page, r.justification,
  r.evidence, r.duration_days, r.status, r.stages, r.created_at, r.updated_at, r.decided_at, r.granted_at, r.expires_at, r.fulfilment,
  r.bundle_id, r.starts_at, r.filed_by, r.previous_request_id, r.extends_request_id, r.needs_info, r.timeline, r.insight, r.version`;
export function requestFromRow(r: Row): AccessRequest {
  return {
    id: str(r.id),
    requesterId: str(r.requester_id),
    connectionId: str(r.connection_id),
    accountId: str(r.account_id),
    permissions: json<string[]>(r.permissions),
    page: r.page === null ? null : json<PageContext>(r.page),
    justification: str(r.justification),
    evidence: r.evidence === null || r.evidence === undefined ? [] : json<string[]>(r.evidence),
    durationDays: Number(r.duration_days),
    status: str(r.status) as AccessRequest['status'],
    stages: stagesFromJson(r.stages),
    createdAt: str(r.created_at),
    updatedAt: str(r.updated_at),
    decidedAt: strOrNull(r.decided_at),
    grantedAt: strOrNull(r.granted_at),
    expiresAt: strOrNull(r.expires_at),
    fulfilment: r.fulfilment === null || r.fulfilment === undefined ? null : json<RequestFulfilment>(r.fulfilment),
    bundleId: strOrNull(r.bundle_id),
    startsAt: strOrNull(r.starts_at),
    filedBy: strOrNull(r.filed_by),
    previousRequestId: strOrNull(r.previous_request_id),
    extendsRequestId: strOrNull(r.extends_request_id),
    needsInfo: r.needs_info === null || r.needs_info === undefined ? null : json<NonNullable<AccessRequest['needsInfo']>>(r.needs_info),
    timeline: r.timeline === null || r.timeline === undefined ? [] : json<TimelineEntry[]>(r.timeline),
    insight: r.insight === null || r.insight === undefined ? null : json<RequestInsight>(r.insight),
  };
}

/**
 * Stages as stored. Rows written before multi-stage approvals lack label, keys, required, approvals
 * and escalated: the schema's defaults fill them in (a concluded old stage had exactly one approval).
 */
export function stagesFromJson(v: unknown): ApprovalStage[] {
  const raw = json<Record<string, unknown>[]>(v);
  return raw.map((s) => {
    const stage = approvalStage.parse(s);
    if (!('approvals' in s) && stage.decision?.outcome === 'approve') stage.approvals = [stage.decision];
    return stage;
  });
}

/** Page rules take their CRM kind from their connection (`c`), so a rule always means what its connection is. */
export const PAGE_RULE_COLUMNS = `pr.id, pr.connection_id, c.kind, NULL AS tenant, pr.host, pr.protocol, pr.path, pr.hash, pr.page_kind,
  pr.object, pr.record_id_group, pr.denial_phrases, pr.priority, pr.deleted`;
export function pageRuleFromRow(r: Row): SyncedPageRule {
  return {
    id: str(r.id),
    connectionId: str(r.connection_id),
    crm: str(r.kind) as SyncedPageRule['crm'],
    tenant: strOrNull(r.tenant),
    host: str(r.host),
    protocol: str(r.protocol) as SyncedPageRule['protocol'],
    path: str(r.path),
    hash: strOrNull(r.hash),
    pageKind: str(r.page_kind) as SyncedPageRule['pageKind'],
    object: r.object === null ? null : json<SyncedPageRule['object']>(r.object),
    recordId: r.record_id_group === null ? null : { group: str(r.record_id_group) },
    denialPhrases: json<string[]>(r.denial_phrases),
    priority: Number(r.priority),
    deleted: Number(r.deleted) === 1,
  };
}

export const KILL_SWITCH_COLUMNS = 'ks.id, ks.crm, ks.page_kind, ks.fixed_in, ks.reason, ks.deleted';
export function killSwitchFromRow(r: Row): SyncedKillSwitch {
  return {
    id: str(r.id),
    crm: str(r.crm) as SyncedKillSwitch['crm'],
    pageKind: strOrNull(r.page_kind) as SyncedKillSwitch['pageKind'],
    fixedIn: str(r.fixed_in),
    reason: str(r.reason),
    deleted: Number(r.deleted) === 1,
  };
}
