/**
 * Dynamics 365 / Dataverse privileges: `prv{Action}{Entity}` with a depth (Basic, Local, Deep,
 * Global). Each table privilege maps onto an object key of the entity's logical name (lower case)
 * and a scope key *for that privilege*: `prvReadAccount` at Global is `object:account:read` and
 * `scope:account:read:org`, `prvWriteAccount` at Basic `object:account:edit` and
 * `scope:account:edit:team` — the depth is set per privilege, never merged per entity. Append,
 * Append To, Assign and Share are object actions of their own (`append`, `appendTo`, `assign`,
 * `share`), with the prerequisites of crm/dynamics-permissions.ts. Privileges that are not about an
 * entity (prvExportToExcel, prvBulkDelete …) become system keys.
 */
import type { RecordAction, RecordScope } from '../../permissions.ts';
import { isApiName } from '../../permissions.ts';
import type { Risk } from '../../schemas.ts';
import type { CatalogMeta } from '../types.ts';
import { defaultLabels } from './labels.ts';

export const DYNAMICS_DEPTHS = ['Basic', 'Local', 'Deep', 'Global'] as const;
export type DynamicsDepth = (typeof DYNAMICS_DEPTHS)[number];

/**
 * Depth → scope, order-preserving (PrivilegeDepth: Global ⊃ Deep ⊃ Local ⊃ Basic):
 * Basic (user: records the user owns, records shared with the user or with a team they are in, and
 * records their teams own) → team; Local (the user's business unit) → businessUnit; Deep (the
 * business unit and every unit below it) → hierarchy; Global (the organization) → org.
 * The labels that say so are in crm/dynamics-permissions.ts.
 */
export const DYNAMICS_DEPTH_TO_SCOPE: Readonly<Record<DynamicsDepth, RecordScope>> = {
  Basic: 'team',
  Local: 'businessUnit',
  Deep: 'hierarchy',
  Global: 'org',
};

/** Numeric depth masks some Dataverse APIs return (1, 2, 4, 8) and their names. */
const DEPTH_MASKS: Readonly<Record<number, DynamicsDepth>> = { 1: 'Basic', 2: 'Local', 4: 'Deep', 8: 'Global' };

/** Actions, longest first so AppendTo wins over Append. */
const ACTIONS = ['AppendTo', 'Append', 'Assign', 'Create', 'Delete', 'Read', 'Share', 'Write'] as const;
/** Dataverse privilege action → grammar action. */
const RECORD_ACTION: Readonly<Record<(typeof ACTIONS)[number], RecordAction>> = {
  Create: 'create',
  Read: 'read',
  Write: 'edit',
  Delete: 'delete',
  Append: 'append',
  AppendTo: 'appendTo',
  Assign: 'assign',
  Share: 'share',
};

/** Privileges that look like prv{Action}{X} but are not about an entity. */
const NON_ENTITY = new Set(['prvReadSharePointData', 'prvWriteSharePointData']);

export type DynamicsMapping =
  | {
      ok: true;
      privilege: string;
      entity: string | null;
      action: string | null;
      depth: DynamicsDepth;
      scope: RecordScope | null;
      keys: string[];
    }
  | { ok: false; privilege: string; error: string };

export function dynamicsDepth(depth: DynamicsDepth | string | number): DynamicsDepth | null {
  if (typeof depth === 'number') return DEPTH_MASKS[depth] ?? null;
  return (DYNAMICS_DEPTHS as readonly string[]).includes(depth) ? (depth as DynamicsDepth) : null;
}

/**
 * Maps one Dataverse privilege with its depth onto permission keys, e.g.
 * `prvReadAccount` + Global → `object:account:read`, `scope:account:read:org`.
 */
export function mapDynamicsPrivilege(privilege: string, depthIn: DynamicsDepth | string | number): DynamicsMapping {
  const depth = dynamicsDepth(depthIn);
  if (depth === null) return { ok: false, privilege, error: `"${String(depthIn)}" is not a depth (Basic, Local, Deep, Global)` };
  if (!/^prv[A-Za-z][A-Za-z0-9_]*$/.test(privilege)) return { ok: false, privilege, error: `"${privilege}" is not a privilege name (prv{Action}{Entity})` };
  const rest = privilege.slice(3);
  const action = NON_ENTITY.has(privilege) ? undefined : ACTIONS.find((a) => rest.startsWith(a) && rest.length > a.length);
  if (!action) {
    return { ok: true, privilege, entity: null, action: null, depth, scope: null, keys: [`system:${privilege}`] };
  }
  const entity = rest.slice(action.length).toLowerCase();
  if (!isApiName(entity)) return { ok: false, privilege, error: `"${privilege}": "${entity}" is not an entity name` };
  const scope = DYNAMICS_DEPTH_TO_SCOPE[depth];
  const a = RECORD_ACTION[action];
  return { ok: true, privilege, entity, action, depth, scope, keys: [`object:${entity}:${a}`, `scope:${entity}:${a}:${scope}`] };
}

/**
 * Maps RetrieveUserPrivileges' RolePrivileges: every privilege keeps its own depth (two privileges
 * of one entity at different depths stay apart).
 */
export function mapDynamicsPrivileges(privileges: Iterable<{ PrivilegeName: string; Depth: DynamicsDepth | string | number }>): {
  keys: string[];
  errors: string[];
} {
  const keys = new Set<string>();
  const errors: string[] = [];
  for (const p of privileges) {
    const m = mapDynamicsPrivilege(p.PrivilegeName, p.Depth);
    if (!m.ok) errors.push(m.error);
    else for (const k of m.keys) keys.add(k);
  }
  return { keys: [...keys].sort(), errors };
}

interface DynamicsRisky {
  key: string;
  risk: Risk;
  en: string;
  zh: string;
}

/** High-risk Dataverse privileges (security roles, users, customisation, impersonation, bulk data). */
export const DYNAMICS_HIGH_RISK: readonly DynamicsRisky[] = [
  { key: 'system:prvActOnBehalfOfAnotherUser', risk: 'critical', en: 'Act on behalf of another user', zh: '代表其他用户操作' },
  { key: 'object:role:assign', risk: 'critical', en: 'Assign security roles', zh: '分配安全角色' },
  { key: 'object:role:edit', risk: 'critical', en: 'Write security roles', zh: '编辑安全角色' },
  { key: 'object:role:create', risk: 'critical', en: 'Create security roles', zh: '创建安全角色' },
  { key: 'object:pluginassembly:create', risk: 'critical', en: 'Register plug-in assemblies', zh: '注册插件程序集' },
  { key: 'object:sdkmessageprocessingstep:create', risk: 'critical', en: 'Register plug-in steps', zh: '注册插件步骤' },
  { key: 'system:prvImportCustomization', risk: 'critical', en: 'Import customizations', zh: '导入自定义项' },
  { key: 'object:systemuser:edit', risk: 'high', en: 'Write users', zh: '编辑用户' },
  { key: 'object:systemuser:create', risk: 'high', en: 'Create users', zh: '创建用户' },
  { key: 'system:prvBulkDelete', risk: 'high', en: 'Bulk delete', zh: '批量删除' },
  { key: 'system:prvExportCustomization', risk: 'high', en: 'Export customizations', zh: '导出自定义项' },
  { key: 'system:prvExportToExcel', risk: 'medium', en: 'Export to Excel', zh: '导出到 Excel' },
];

export function dynamicsCatalog(connectionId: string): CatalogMeta[] {
  return DYNAMICS_HIGH_RISK.map((d) => ({
    connectionId,
    key: d.key,
    labels: { en: d.en || defaultLabels(d.key, 'dynamics').en, 'zh-CN': d.zh || defaultLabels(d.key, 'dynamics')['zh-CN'] },
    risk: d.risk,
    owner: null,
    license: null,
    requiredTrainings: d.risk === 'critical' ? ['crm-admin-security'] : [],
    maxDurationDays: d.risk === 'critical' ? 7 : d.risk === 'high' ? 30 : 90,
    requestable: d.risk !== 'critical',
  }));
}
