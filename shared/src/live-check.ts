/**
 * "Does the access work now?" answered by the CRM's own current-user APIs, after a grant: what each
 * answer means for the four record actions of a page (OBJECT_ACTIONS, the rows `decidePage` shows), and
 * where that differs from what AccessLens holds. Pure and small: content scripts import it (no zod).
 *
 * - Salesforce (shared/reference/crm-pages.md, "Salesforce › APIs"): Tooling `UserEntityAccess`
 *   (IsReadable, IsCreatable, IsEditable, IsDeletable: the object, "Tooling API Objects › UserEntityAccess")
 *   and `UserRecordAccess` (HasReadAccess, HasEditAccess, HasDeleteAccess: the page's record, "Object
 *   Reference › UserRecordAccess").
 * - Dynamics 365: `RetrievePrincipalAccess` → `AccessRights`, a comma-separated list of AccessRights
 *   members (ReadAccess, WriteAccess, CreateAccess, DeleteAccess, AppendAccess…) for the page's record
 *   ("Web API Reference › RetrievePrincipalAccess function", "AccessRights EnumType"), and
 *   `RetrieveUserPrivileges` → `RolePrivileges[].PrivilegeName` (`prvReadAccount`…) for the table.
 */
import { OBJECT_ACTIONS, objectPermissionKey, type ObjectAction } from './permissions.ts';
import { mapDynamicsPrivilege } from './engine/catalog/dynamics.ts';

/** Which way the CRM answered: its current-user API, or the page (reloaded, its refusal watched for). */
export type LiveMethod = 'salesforce-api' | 'dynamics-api';

/** Per action: true = the CRM lets the person, false = it does not, absent = it did not say. */
export type ActionAnswers = Partial<Record<ObjectAction, boolean>>;

export interface LiveVerdict {
  method: LiveMethod;
  /** The object (table) as a whole: what a permission key is about. */
  object: ActionAnswers;
  /** This page's record (sharing, ownership): null when the page shows no record. */
  record: ActionAnswers | null;
}

const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const defined = (a: Record<string, boolean | undefined>): ActionAnswers => {
  const out: ActionAnswers = {};
  for (const action of OBJECT_ACTIONS) if (a[action] !== undefined) out[action] = a[action];
  return out;
};

/** A Salesforce `UserEntityAccess` row and `UserRecordAccess` row (either may be missing). */
export function salesforceVerdict(entity: Record<string, unknown> | null, record: Record<string, unknown> | null): LiveVerdict {
  return {
    method: 'salesforce-api',
    object: entity
      ? defined({ read: bool(entity.IsReadable), create: bool(entity.IsCreatable), edit: bool(entity.IsEditable), delete: bool(entity.IsDeletable) })
      : {},
    // Creating is not a right on an existing record.
    record: record ? defined({ read: bool(record.HasReadAccess), edit: bool(record.HasEditAccess), delete: bool(record.HasDeleteAccess) }) : null,
  };
}

const RIGHTS: Record<string, ObjectAction> = { ReadAccess: 'read', WriteAccess: 'edit', CreateAccess: 'create', DeleteAccess: 'delete' };

/**
 * Dynamics: `AccessRights` of the page's record (null: no record, or not asked) and the user's privilege
 * names (null: not asked). Privileges become keys through the engine's own Dataverse mapping
 * (`mapDynamicsPrivilege`: `prvWriteOpportunity` → `object:opportunity:edit`), the keys the page's rows have.
 */
export function dynamicsVerdict(entity: string, accessRights: string | null, privileges: string[] | null): LiveVerdict {
  let record: ActionAnswers | null = null;
  if (accessRights !== null) {
    const held = new Set(accessRights.split(',').map((s) => RIGHTS[s.trim()]));
    record = {};
    for (const action of ['read', 'edit', 'delete'] as const) record[action] = held.has(action);
  }
  const object: ActionAnswers = {};
  if (privileges) {
    const held = new Set<string>();
    for (const name of privileges) {
      // The depth does not change which object keys a privilege grants.
      const m = mapDynamicsPrivilege(name, 'Basic');
      if (m.ok) for (const k of m.keys) held.add(k);
    }
    for (const action of OBJECT_ACTIONS) object[action] = held.has(objectPermissionKey(entity.toLowerCase(), action));
  }
  return { method: 'dynamics-api', object, record };
}

/** What the CRM says for one action: the object's answer, narrowed by the record's where it said. */
export function liveCan(verdict: LiveVerdict, action: ObjectAction): boolean | undefined {
  const object = verdict.object[action];
  const record = verdict.record?.[action];
  if (object === false || record === false) return false;
  return object ?? record;
}

export interface LiveMismatch {
  key: string;
  action: ObjectAction;
  /** What the CRM's API says now. */
  crm: boolean;
  /** What AccessLens's record says (allowed or granted = can). */
  expected: boolean;
}

/**
 * Where the CRM's answer about the object differs from AccessLens's rows (its last import and grants):
 * only actions the CRM answered about the object (a record not shared is not a permission difference).
 */
export function liveMismatches(rows: readonly { key: string; action: ObjectAction; state: string }[], verdict: LiveVerdict): LiveMismatch[] {
  const out: LiveMismatch[] = [];
  for (const row of rows) {
    const crm = verdict.object[row.action];
    if (crm === undefined) continue;
    const expected = row.state === 'allowed' || row.state === 'granted';
    if (crm !== expected) out.push({ key: row.key, action: row.action, crm, expected });
  }
  return out;
}

/** Match patterns of the hosts salesforceApiHost gives: the extension's host permissions (a subset of the Salesforce content script's). */
export const SALESFORCE_API_HOSTS = ['https://*.my.salesforce.com/*', 'https://*.my.sfcrmproducts.cn/*'] as const;

/**
 * The org's API host for a Salesforce page host: Lightning and Setup pages' cookies have no API access,
 * the My Domain host's `sid` does (crm-pages.md). null: not a Salesforce host this knows.
 */
export function salesforceApiHost(hostname: string): string | null {
  const h = hostname.toLowerCase();
  const map: [string, string][] = [
    ['.sandbox.lightning.force.com', '.sandbox.my.salesforce.com'],
    ['.sandbox.my.salesforce-setup.com', '.sandbox.my.salesforce.com'],
    ['.sandbox.my.salesforce.com', '.sandbox.my.salesforce.com'],
    ['.lightning.force.com', '.my.salesforce.com'],
    ['.my.salesforce-setup.com', '.my.salesforce.com'],
    ['.my.salesforce.com', '.my.salesforce.com'],
    // Salesforce on Alibaba Cloud: its My Domain host (Salesforce Inspector Reloaded's cookie domains).
    ['.lightning.sfcrmapps.cn', '.my.sfcrmproducts.cn'],
    ['.my.sfcrmapps.cn', '.my.sfcrmproducts.cn'],
    ['.my.sfcrmproducts.cn', '.my.sfcrmproducts.cn'],
  ];
  for (const [from, to] of map) {
    if (!h.endsWith(from)) continue;
    const name = h.slice(0, -from.length);
    return /^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$/.test(name) ? `${name}${to}` : null;
  }
  return null;
}
