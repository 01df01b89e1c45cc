/**
 * What an import changes: the CRM's snapshot against what AccessLens holds for the connection, as a
 * plan of creations, updates and removals (pure; `import.ts` applies it in chunks, audited).
 *
 * Rules:
 * - Users are matched to accounts by the CRM's user id; a new user is matched to a person by email
 *   (case-insensitive) or kept as "unmatched" until the directory knows them. Missing from a complete
 *   list = deactivated (CRMs deactivate users; history is never deleted).
 * - Bundles are matched by the CRM's id; gone from the CRM = marked removed.
 * - Assignments are matched by the CRM's id, else adopted by (account, bundle) from AccessLens's own
 *   records that have no CRM id yet (the demo seed's, or a grant an administrator made by hand).
 *   Missing from a complete list = revoked (revoked_at set, never deleted).
 * - After the connection's first import, an assignment the CRM holds that no request explains is
 *   marked `outsideProcess` (the engine reports it unless the job baseline covers it).
 * - The expiry of a grant AccessLens made stays AccessLens's; the CRM's expiry counts for the rest.
 * - A bundle whose contents the CRM does not publish (`permissionsKnown: false`) keeps the keys AccessLens
 *   records for it: an import neither adds nor removes any.
 */
import { builtInCatalog, DEFAULT_MAX_DAYS_BY_RISK, defaultLabels, parsePermissionKey, type BundleKind, type CrmKind, type Risk } from '@accesslens/shared';
import type { CrmSnapshot, CrmUser } from './types.ts';

export interface CurrentAccount {
  id: string;
  personId: string;
  externalUserId: string;
  username: string;
  active: boolean;
  lastLoginAt: string | null;
  createdAt: string | null;
}

export interface CurrentBundle {
  id: string;
  externalId: string;
  kind: BundleKind;
  name: string;
  permissions: string[];
  /** Our ids of the bundles it includes. */
  includes: string[];
  removed: boolean;
}

export interface CurrentAssignment {
  id: string;
  accountId: string;
  bundleId: string;
  externalId: string | null;
  expiresAt: string | null;
  source: 'directory' | 'request' | 'baseline';
  requestId: string | null;
}

export interface CurrentState {
  connectionId: string;
  kind: CrmKind;
  /** No good import yet: nothing found now counts as granted outside the request process. */
  firstImport: boolean;
  accounts: CurrentAccount[];
  unmatched: Set<string>;
  /** Lower-cased email → person id. */
  peopleByEmail: Map<string, string>;
  bundles: CurrentBundle[];
  catalogKeys: Set<string>;
  assignments: CurrentAssignment[];
  /** `${accountId}|${bundleId}` of grants AccessLens is applying now (a request explains them). */
  inFlight: Set<string>;
}

export interface CatalogAddition {
  key: string;
  labels: { en: string; 'zh-CN': string };
  risk: Risk;
  maxDurationDays: number | null;
  requestable: boolean;
  requiredTrainings: string[];
}

export interface ImportPlan {
  catalog: CatalogAddition[];
  bundlesCreate: { id: string; externalId: string; kind: BundleKind; name: string; permissions: string[]; includeExternalIds: string[] }[];
  bundlesUpdate: {
    id: string;
    kind: BundleKind;
    name: string;
    permissions: string[];
    includeExternalIds: string[];
    added: string[];
    removed: string[];
    renamed: boolean;
    includesChanged: boolean;
    restored: boolean;
  }[];
  bundlesRemove: { id: string; externalId: string; name: string }[];
  accountsCreate: (Omit<CurrentAccount, 'id'> & { id: string })[];
  /** `audited`: active or username changed (a last login alone is refreshed quietly). */
  accountsUpdate: {
    id: string;
    personId: string;
    username: string;
    active: boolean;
    lastLoginAt: string | null;
    createdAt: string | null;
    audited: boolean;
    before: { username: string; active: boolean };
  }[];
  accountsDeactivate: { id: string; personId: string; externalUserId: string }[];
  unmatchedUpsert: CrmUser[];
  unmatchedDelete: string[];
  assignmentsCreate: {
    id: string;
    accountId: string;
    personId: string;
    bundleId: string;
    externalId: string;
    grantedAt: string;
    expiresAt: string | null;
    outsideProcess: boolean;
  }[];
  assignmentsLink: { id: string; externalId: string }[];
  assignmentsUpdate: { id: string; accountId: string; personId: string; expiresAt: string | null; before: string | null }[];
  assignmentsRemove: { id: string; accountId: string; personId: string; bundleId: string; externalId: string | null; requestId: string | null }[];
  /** Assignments of CRM users or bundles AccessLens does not know (unmatched users, unreadable bundles). */
  skippedAssignments: number;
}

export type IdMaker = (prefix: 'acct' | 'bnd' | 'asg') => string;

const sameSet = (a: string[], b: string[]) => a.length === b.length && new Set(a).size === new Set([...a, ...b]).size;

/** A catalog entry for a key an import found that the catalog does not list. */
export function catalogDefaults(kind: CrmKind, connectionId: string, key: string): CatalogAddition {
  const builtIn = builtInCatalog(kind, connectionId).find((e) => e.key === key);
  if (builtIn)
    return {
      key,
      labels: builtIn.labels,
      risk: builtIn.risk,
      maxDurationDays: builtIn.maxDurationDays,
      requestable: builtIn.requestable,
      requiredTrainings: builtIn.requiredTrainings,
    };
  const parsed = parsePermissionKey(key);
  let risk: Risk = 'low';
  if (parsed.ok) {
    const p = parsed.value;
    if (p.kind === 'object') risk = p.action === 'read' ? 'low' : p.action === 'create' || p.action === 'edit' ? 'medium' : 'high';
    else if (p.kind === 'field') risk = p.action === 'edit' ? 'medium' : 'low';
  }
  return {
    key,
    labels: defaultLabels(key),
    risk,
    maxDurationDays: DEFAULT_MAX_DAYS_BY_RISK[risk],
    requestable: risk === 'low' || risk === 'medium',
    requiredTrainings: [],
  };
}

export function planImport(current: CurrentState, crm: CrmSnapshot, nowIso: string, makeId: IdMaker): ImportPlan {
  const plan: ImportPlan = {
    catalog: [],
    bundlesCreate: [],
    bundlesUpdate: [],
    bundlesRemove: [],
    accountsCreate: [],
    accountsUpdate: [],
    accountsDeactivate: [],
    unmatchedUpsert: [],
    unmatchedDelete: [],
    assignmentsCreate: [],
    assignmentsLink: [],
    assignmentsUpdate: [],
    assignmentsRemove: [],
    skippedAssignments: 0,
  };

  // ---------- catalog ----------
  const keys = new Set<string>();
  for (const b of crm.bundles.items) for (const k of b.permissions) keys.add(k);
  for (const k of [...keys].sort())
    if (!current.catalogKeys.has(k) && parsePermissionKey(k).ok) plan.catalog.push(catalogDefaults(current.kind, current.connectionId, k));

  // ---------- bundles ----------
  const bundleByExt = new Map(current.bundles.map((b) => [b.externalId, b] as const));
  const bundleIdOfExt = new Map<string, string>();
  for (const b of current.bundles) bundleIdOfExt.set(b.externalId, b.id);
  const seenBundles = new Set<string>();
  for (const b of crm.bundles.items) {
    seenBundles.add(b.externalId);
    const permissions = [...new Set(b.permissions)].filter((k) => parsePermissionKey(k).ok).sort();
    const have = bundleByExt.get(b.externalId);
    if (!have) {
      const id = makeId('bnd');
      bundleIdOfExt.set(b.externalId, id);
      plan.bundlesCreate.push({ id, externalId: b.externalId, kind: b.kind, name: b.name, permissions, includeExternalIds: b.includes });
    }
  }
  for (const b of crm.bundles.items) {
    const have = bundleByExt.get(b.externalId);
    if (!have) continue;
    // A CRM that does not say what a bundle grants (HubSpot's permission sets): what AccessLens records stays.
    const permissions = b.permissionsKnown === false ? have.permissions : [...new Set(b.permissions)].filter((k) => parsePermissionKey(k).ok).sort();
    const includes = b.includes.map((e) => bundleIdOfExt.get(e)).filter((x): x is string => x !== undefined);
    const before = new Set(have.permissions);
    const after = new Set(permissions);
    const added = permissions.filter((k) => !before.has(k));
    const removed = have.permissions.filter((k) => !after.has(k)).sort();
    const renamed = have.name !== b.name || have.kind !== b.kind;
    const includesChanged = !sameSet(have.includes, includes);
    if (added.length || removed.length || renamed || includesChanged || have.removed)
      plan.bundlesUpdate.push({
        id: have.id,
        kind: b.kind,
        name: b.name,
        permissions,
        includeExternalIds: b.includes,
        added,
        removed,
        renamed,
        includesChanged,
        restored: have.removed,
      });
  }
  if (crm.bundles.complete)
    for (const b of current.bundles)
      if (!b.removed && !seenBundles.has(b.externalId)) plan.bundlesRemove.push({ id: b.id, externalId: b.externalId, name: b.name });

  // ---------- users ----------
  const accountByExt = new Map(current.accounts.map((a) => [a.externalUserId, a] as const));
  const accountOfUser = new Map<string, { id: string; personId: string }>();
  for (const a of current.accounts) accountOfUser.set(a.externalUserId, { id: a.id, personId: a.personId });
  const seenUsers = new Set<string>();
  for (const u of crm.users.items) {
    seenUsers.add(u.externalId);
    const have = accountByExt.get(u.externalId);
    if (have) {
      const createdAt = have.createdAt ?? u.createdAt;
      // A CRM that does not report sign-ins (undefined) leaves the last login AccessLens knows.
      const lastLoginAt = u.lastLoginAt === undefined ? have.lastLoginAt : u.lastLoginAt;
      const audited = have.active !== u.active || have.username !== u.username;
      if (audited || have.lastLoginAt !== lastLoginAt || createdAt !== have.createdAt)
        plan.accountsUpdate.push({
          id: have.id,
          personId: have.personId,
          username: u.username,
          active: u.active,
          lastLoginAt,
          createdAt,
          audited,
          before: { username: have.username, active: have.active },
        });
      continue;
    }
    const personId = u.email ? current.peopleByEmail.get(u.email.toLowerCase()) : undefined;
    if (!personId) {
      plan.unmatchedUpsert.push(u);
      continue;
    }
    const id = makeId('acct');
    accountOfUser.set(u.externalId, { id, personId });
    if (current.unmatched.has(u.externalId)) plan.unmatchedDelete.push(u.externalId);
    plan.accountsCreate.push({
      id,
      personId,
      externalUserId: u.externalId,
      username: u.username,
      active: u.active,
      lastLoginAt: u.lastLoginAt ?? null,
      createdAt: u.createdAt ?? nowIso,
    });
  }
  if (crm.users.complete)
    for (const a of current.accounts)
      if (a.active && !seenUsers.has(a.externalUserId)) plan.accountsDeactivate.push({ id: a.id, personId: a.personId, externalUserId: a.externalUserId });

  // ---------- assignments ----------
  const byExt = new Map<string, CurrentAssignment>();
  const adoptable = new Map<string, CurrentAssignment[]>();
  for (const a of current.assignments) {
    if (a.externalId) byExt.set(a.externalId, a);
    else {
      const k = `${a.accountId}|${a.bundleId}`;
      const list = adoptable.get(k);
      if (list) list.push(a);
      else adoptable.set(k, [a]);
    }
  }
  const personOfAccount = new Map<string, string>();
  for (const a of accountOfUser.values()) personOfAccount.set(a.id, a.personId);
  const seen = new Set<string>();
  for (const c of crm.assignments.items) {
    const account = accountOfUser.get(c.userExternalId);
    const bundleId = bundleIdOfExt.get(c.bundleExternalId);
    if (!account || !bundleId) {
      plan.skippedAssignments++;
      continue;
    }
    const have = byExt.get(c.externalId);
    if (have) {
      seen.add(have.id);
      if (have.source !== 'request' && have.expiresAt !== c.expiresAt)
        plan.assignmentsUpdate.push({ id: have.id, accountId: have.accountId, personId: account.personId, expiresAt: c.expiresAt, before: have.expiresAt });
      continue;
    }
    const candidates = adoptable.get(`${account.id}|${bundleId}`);
    const adopt = candidates?.shift();
    if (adopt) {
      seen.add(adopt.id);
      plan.assignmentsLink.push({ id: adopt.id, externalId: c.externalId });
      continue;
    }
    const explained = current.firstImport || current.inFlight.has(`${account.id}|${bundleId}`);
    plan.assignmentsCreate.push({
      id: makeId('asg'),
      accountId: account.id,
      personId: account.personId,
      bundleId,
      externalId: c.externalId,
      grantedAt: c.grantedAt ?? nowIso,
      expiresAt: c.expiresAt,
      outsideProcess: !explained,
    });
  }
  if (crm.assignments.complete)
    for (const a of current.assignments)
      if (!seen.has(a.id))
        plan.assignmentsRemove.push({
          id: a.id,
          accountId: a.accountId,
          personId: personOfAccount.get(a.accountId) ?? '',
          bundleId: a.bundleId,
          externalId: a.externalId,
          requestId: a.requestId,
        });
  return plan;
}

/** How many changes a plan makes, by kind (what the import run reports). */
export function planCounts(plan: ImportPlan): Record<string, number> {
  return {
    catalogKeysAdded: plan.catalog.length,
    bundlesCreated: plan.bundlesCreate.length,
    bundlesChanged: plan.bundlesUpdate.length,
    bundlesRemoved: plan.bundlesRemove.length,
    accountsCreated: plan.accountsCreate.length,
    accountsChanged: plan.accountsUpdate.filter((a) => a.audited).length,
    lastLoginsRefreshed: plan.accountsUpdate.filter((a) => !a.audited).length,
    accountsDeactivated: plan.accountsDeactivate.length,
    unmatchedUsers: plan.unmatchedUpsert.length,
    assignmentsFound: plan.assignmentsCreate.length,
    outsideProcess: plan.assignmentsCreate.filter((a) => a.outsideProcess).length,
    assignmentsLinked: plan.assignmentsLink.length,
    assignmentsChanged: plan.assignmentsUpdate.length,
    assignmentsRemoved: plan.assignmentsRemove.length,
    assignmentsSkipped: plan.skippedAssignments,
  };
}
