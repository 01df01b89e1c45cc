/**
 * Small builders for hand-written orgs (unit tests, examples, fixtures). Pure data, no defaults
 * hidden elsewhere: every builder takes overrides.
 */
import type { Assignment, Bundle } from '../schemas.ts';
import type { CatalogMeta, OrgAccount, OrgData, OrgPerson, OrgPolicy } from './types.ts';
import { DEFAULT_THRESHOLDS } from './types.ts';

export const TEST_NOW = new Date('2026-06-01T00:00:00.000Z');
const DAY = 86_400_000;
export const daysBefore = (days: number, from: Date = TEST_NOW): string => new Date(from.getTime() - days * DAY).toISOString();
export const daysAfter = (days: number, from: Date = TEST_NOW): string => new Date(from.getTime() + days * DAY).toISOString();

export function testPerson(id: string, extra: Partial<OrgPerson> = {}): OrgPerson {
  return {
    id,
    email: `${id}@example.com`,
    name: id,
    department: 'Sales',
    title: 'Rep',
    managerId: null,
    status: 'active',
    roles: ['requester'],
    hireDate: daysBefore(1000),
    completedTrainings: [],
    ...extra,
  };
}

export function testAccount(id: string, personId: string, extra: Partial<OrgAccount> = {}): OrgAccount {
  return {
    id,
    personId,
    connectionId: 'sf',
    externalUserId: `ext-${id}`,
    username: `${id}@crm`,
    active: true,
    lastLoginAt: daysBefore(1),
    createdAt: daysBefore(500),
    ...extra,
  };
}

export function testBundle(id: string, permissions: string[], includes: string[] = [], extra: Partial<Bundle> = {}): Bundle {
  return { id, connectionId: 'sf', kind: 'permissionSet', name: id, includes, permissions, ...extra };
}

/** `target` is a bundle id, or a permission key when it contains ':'. */
export function testAssignment(id: string, accountId: string, target: string, extra: Partial<Assignment> = {}): Assignment {
  return {
    id,
    accountId,
    target: target.includes(':') ? { type: 'permission', key: target } : { type: 'bundle', bundleId: target },
    source: 'directory',
    requestId: null,
    grantedAt: daysBefore(400),
    expiresAt: null,
    revokedAt: null,
    ...extra,
  };
}

export function testCatalog(key: string, extra: Partial<CatalogMeta> = {}): CatalogMeta {
  return {
    connectionId: 'sf',
    key,
    labels: { en: key, 'zh-CN': key },
    risk: 'low',
    owner: null,
    license: null,
    requiredTrainings: [],
    maxDurationDays: null,
    requestable: true,
    ...extra,
  };
}

export function testPolicy(extra: Partial<OrgPolicy> = {}): OrgPolicy {
  return {
    version: 1,
    baselines: [],
    sodRules: [],
    requestRules: [],
    adminFunctions: [{ department: 'IT', title: 'CRM Administrator' }],
    thresholds: { ...DEFAULT_THRESHOLDS },
    ...extra,
  };
}

export function testOrg(extra: Partial<OrgData> = {}): OrgData {
  return {
    people: [],
    groups: [],
    connections: [{ id: 'sf', kind: 'salesforce' }],
    accounts: [],
    catalog: [],
    licenses: [],
    bundles: [],
    assignments: [],
    usage: [],
    policy: testPolicy(),
    acceptances: [],
    ...extra,
  };
}
