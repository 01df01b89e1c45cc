/**
 * The demo organisation, Acme, on one Salesforce org. Seeded into an empty database unless
 * ACCESSLENS_SEED=none. The passwords below exist only here, for demos and tests.
 */
import {
  DEFAULT_THRESHOLDS,
  OBJECT_ACTIONS,
  policyDocument,
  type ApproverRef,
  type BundleKind,
  type ObjectAction,
  type PersonRole,
  type PolicyDocument,
  type Risk,
} from '@accesslens/shared';
import { hashPassword } from '../auth/password.ts';
import type { Db } from '../db.ts';
import { runWrite, type WriteContext } from '../write.ts';
import { demoCrmBaselines, demoCrmRequestRules, seedDemoCrms } from './demo-crms.ts';

export const DEMO_CONNECTION_ID = 'sf-acme';
/** The demo org's Salesforce organisation id (the fake Salesforce's org). */
export const DEMO_ORG_ID = '00DHs000000AcmeMAA';
/** The demo org's My Domain: the connection's tenant, as its pages' URLs name it. */
export const DEMO_MY_DOMAIN = 'acme';

export const DEMO_PASSWORDS = {
  'ava@acme.test': 'ava-demo-2026',
  'ben@acme.test': 'ben-demo-2026',
  'cara@acme.test': 'cara-demo-2026',
  'dan@acme.test': 'dan-demo-2026',
  'eli@acme.test': 'eli-demo-2026',
  'fay@acme.test': 'fay-demo-2026',
  'gil@acme.test': 'gil-demo-2026',
  'hal@acme.test': 'hal-demo-2026',
  'ivy@acme.test': 'ivy-demo-2026',
  'jon@acme.test': 'jon-demo-2026',
  'kai@acme.test': 'kai-demo-2026',
} as const;

interface DemoPerson {
  id: string;
  name: string;
  email: keyof typeof DEMO_PASSWORDS;
  department: string;
  title: string;
  managerId: string | null;
  roles: PersonRole[];
  status: 'active' | 'suspended' | 'departed';
  hireDate: string;
  trainings: string[];
  /** Bundles assigned in Salesforce. */
  bundles: string[];
  lastLoginDaysAgo: number;
  /** Keys used in Salesforce (usage aggregates): key → days since last use. */
  usage?: Record<string, number>;
}

export const DEMO_PEOPLE: DemoPerson[] = [
  {
    id: 'p-dan',
    name: 'Dan Wu',
    email: 'dan@acme.test',
    department: 'Sales',
    title: 'VP Sales',
    managerId: null,
    roles: ['requester', 'approver'],
    status: 'active',
    hireDate: '2019-03-04',
    trainings: ['security-awareness-2025', 'data-privacy-2025'],
    bundles: ['profile-standard-sales', 'psg-revenue-ops', 'ps-report-builder'],
    lastLoginDaysAgo: 1,
    usage: { 'object:Opportunity:read': 1, 'object:Quote:read': 3, 'object:Contract:read': 9, 'system:RunReports': 2 },
  },
  {
    id: 'p-ben',
    name: 'Ben Ortiz',
    email: 'ben@acme.test',
    department: 'Sales',
    title: 'Sales Manager',
    managerId: 'p-dan',
    roles: ['requester', 'approver'],
    status: 'active',
    hireDate: '2020-06-15',
    trainings: ['security-awareness-2025'],
    bundles: ['profile-standard-sales', 'ps-sales-ops', 'ps-report-builder'],
    lastLoginDaysAgo: 0,
    // Sales Ops (Campaign changes, Lead delete, ScheduleReports) last used long ago: an unused permission set.
    usage: { 'object:Opportunity:edit': 0, 'object:Account:read': 0, 'system:RunReports': 5, 'system:ScheduleReports': 212 },
  },
  {
    id: 'p-ava',
    name: 'Ava Chen',
    email: 'ava@acme.test',
    department: 'Sales',
    title: 'Account Executive',
    managerId: 'p-ben',
    roles: ['requester'],
    status: 'active',
    hireDate: '2024-09-02',
    trainings: ['security-awareness-2025'],
    bundles: ['profile-standard-sales'],
    lastLoginDaysAgo: 0,
    usage: { 'object:Account:read': 0, 'object:Opportunity:edit': 1, 'object:Contact:read': 2, 'object:Lead:create': 6 },
  },
  {
    id: 'p-eli',
    name: 'Eli Brooks',
    email: 'eli@acme.test',
    department: 'Sales',
    title: 'Account Executive',
    managerId: 'p-ben',
    roles: ['requester'],
    status: 'active',
    hireDate: '2023-01-09',
    trainings: ['security-awareness-2025'],
    bundles: ['profile-standard-sales'],
    lastLoginDaysAgo: 2,
    usage: { 'object:Account:read': 2, 'object:Opportunity:read': 2 },
  },
  {
    id: 'p-kai',
    name: 'Kai Rossi',
    email: 'kai@acme.test',
    department: 'IT',
    title: 'IT Director',
    managerId: null,
    roles: ['requester', 'approver'],
    status: 'active',
    hireDate: '2018-11-12',
    trainings: ['security-awareness-2025', 'salesforce-admin', 'sfdc-security-101'],
    bundles: ['profile-sysadmin'],
    lastLoginDaysAgo: 6,
    usage: { 'system:ViewSetup': 6, 'system:ManageUsers': 20 },
  },
  {
    id: 'p-cara',
    name: 'Cara Diaz',
    email: 'cara@acme.test',
    department: 'IT',
    title: 'Salesforce Administrator',
    managerId: 'p-kai',
    roles: ['requester', 'admin'],
    status: 'active',
    hireDate: '2021-04-19',
    trainings: ['security-awareness-2025', 'salesforce-admin', 'sfdc-security-101'],
    bundles: ['profile-sysadmin'],
    lastLoginDaysAgo: 0,
    usage: { 'system:ModifyAllData': 1, 'system:CustomizeApplication': 3, 'object:Account:read': 0 },
  },
  {
    id: 'p-gil',
    name: 'Gil Novak',
    email: 'gil@acme.test',
    department: 'Finance',
    title: 'Finance Director',
    managerId: null,
    roles: ['requester', 'approver'],
    status: 'active',
    hireDate: '2017-08-21',
    trainings: ['security-awareness-2025', 'sox-controls'],
    bundles: ['profile-finance', 'ps-contract-manager', 'ps-report-builder'],
    lastLoginDaysAgo: 3,
    usage: { 'object:Order:read': 3, 'object:Contract:read': 8, 'system:ExportReport': 15 },
  },
  {
    id: 'p-fay',
    name: 'Fay Okafor',
    email: 'fay@acme.test',
    department: 'Finance',
    title: 'Financial Analyst',
    managerId: 'p-gil',
    roles: ['requester'],
    status: 'active',
    hireDate: '2022-02-14',
    trainings: ['security-awareness-2025', 'sox-controls'],
    bundles: ['profile-finance', 'ps-contract-manager'],
    lastLoginDaysAgo: 1,
    usage: { 'object:Order:edit': 1, 'object:Contract:edit': 4 },
  },
  {
    id: 'p-ivy',
    name: 'Ivy Lund',
    email: 'ivy@acme.test',
    department: 'Support',
    title: 'Support Manager',
    managerId: null,
    roles: ['requester', 'approver'],
    status: 'active',
    hireDate: '2019-10-01',
    trainings: ['security-awareness-2025'],
    // Has not signed in to Salesforce for six weeks: a dormant account.
    bundles: ['profile-support'],
    lastLoginDaysAgo: 41,
    usage: { 'object:Case:read': 45 },
  },
  {
    id: 'p-hal',
    name: 'Hal Sato',
    email: 'hal@acme.test',
    department: 'Support',
    title: 'Customer Support Agent',
    managerId: 'p-ivy',
    roles: ['requester'],
    status: 'active',
    hireDate: '2023-07-17',
    trainings: [],
    bundles: ['profile-support'],
    lastLoginDaysAgo: 0,
    usage: { 'object:Case:edit': 0, 'object:Contact:read': 1 },
  },
  {
    id: 'p-jon',
    name: 'Jon Park',
    email: 'jon@acme.test',
    department: 'Sales',
    title: 'Account Executive',
    managerId: 'p-ben',
    roles: ['requester'],
    status: 'departed',
    hireDate: '2021-05-10',
    trainings: ['security-awareness-2024'],
    // Left the company; the Salesforce user was never deactivated.
    bundles: ['profile-standard-sales', 'ps-report-builder'],
    lastLoginDaysAgo: 140,
  },
];

/** Salesforce users still active although their person is not (deprovisioning lag). */
export const ACTIVE_DESPITE_STATUS: ReadonlySet<string> = new Set(['p-jon']);

/** Grants that ended but were never removed in Salesforce: [person, bundle, granted days ago, expired days ago]. */
export const STALE_GRANTS: readonly [string, string, number, number][] = [['p-eli', 'ps-quote-desk', 42, 12]];

// ---------- approver groups, licenses ----------

export const DEMO_GROUPS: { id: string; name: string; memberIds: string[] }[] = [
  { id: 'grp-admins', name: 'AccessLens administrators', memberIds: ['p-cara'] },
  { id: 'grp-sf-admins', name: 'Salesforce Admins', memberIds: ['p-cara', 'p-kai'] },
  { id: 'grp-deal-desk', name: 'Deal Desk', memberIds: ['p-dan'] },
];

export const DEMO_LICENSE = { id: 'lic-sf-platform', name: 'Salesforce Platform', seats: 13 } as const;

export const SECURITY_TRAINING = 'sfdc-security-101';

// ---------- catalog ----------

const OBJECTS: { name: string; plural: string; zh: string; readRisk: Risk; maxDays?: Partial<Record<ObjectAction, number>> }[] = [
  { name: 'Account', plural: 'Accounts', zh: '客户', readRisk: 'low' },
  { name: 'Contact', plural: 'Contacts', zh: '联系人', readRisk: 'low' },
  { name: 'Opportunity', plural: 'Opportunities', zh: '业务机会', readRisk: 'low' },
  { name: 'Lead', plural: 'Leads', zh: '潜在客户', readRisk: 'low' },
  { name: 'Case', plural: 'Cases', zh: '个案', readRisk: 'low' },
  { name: 'Campaign', plural: 'Campaigns', zh: '市场活动', readRisk: 'low' },
  { name: 'Contract', plural: 'Contracts', zh: '合同', readRisk: 'medium', maxDays: { read: 90, create: 90, edit: 90, delete: 7 } },
  { name: 'Quote', plural: 'Quotes', zh: '报价', readRisk: 'medium', maxDays: { read: 30, create: 30, edit: 30, delete: 7 } },
  { name: 'Order', plural: 'Orders', zh: '订单', readRisk: 'medium', maxDays: { read: 30, create: 30, edit: 30, delete: 7 } },
];

const ACTION_LABELS: Record<ObjectAction, { en: string; zh: string }> = {
  read: { en: 'Read', zh: '查看' },
  create: { en: 'Create', zh: '创建' },
  edit: { en: 'Edit', zh: '编辑' },
  delete: { en: 'Delete', zh: '删除' },
};

/** Salesforce system permissions, by the risk public security benchmarks give them. */
const SYSTEM_PERMISSIONS: { name: string; en: string; zh: string; risk: Risk; maxDays: number | null; requestable: boolean }[] = [
  { name: 'CustomizeApplication', en: 'Customize Application', zh: '自定义应用程序', risk: 'critical', maxDays: null, requestable: false },
  {
    name: 'ModifyMetadata',
    en: 'Modify Metadata Through Metadata API Functions',
    zh: '通过元数据 API 函数修改元数据',
    risk: 'critical',
    maxDays: null,
    requestable: false,
  },
  { name: 'AuthorApex', en: 'Author Apex', zh: '编写 Apex', risk: 'critical', maxDays: null, requestable: false },
  { name: 'ManageAuthProviders', en: 'Manage Auth. Providers', zh: '管理身份验证提供商', risk: 'critical', maxDays: null, requestable: false },
  { name: 'ManageNamedCredentials', en: 'Manage Named Credentials', zh: '管理指定凭据', risk: 'critical', maxDays: null, requestable: false },
  { name: 'ViewClientSecret', en: 'View Consumer Secrets', zh: '查看使用者密钥', risk: 'critical', maxDays: null, requestable: false },
  { name: 'UseAnyApiClient', en: 'Use Any API Client', zh: '使用任何 API 客户端', risk: 'critical', maxDays: null, requestable: false },
  { name: 'BypassMFAForUiLogins', en: 'Bypass MFA for UI Logins', zh: '界面登录绕过多重身份验证', risk: 'critical', maxDays: null, requestable: false },
  { name: 'BulkApiHardDelete', en: 'Bulk API Hard Delete', zh: '批量 API 硬删除', risk: 'critical', maxDays: null, requestable: false },
  { name: 'ModifyAllData', en: 'Modify All Data', zh: '修改所有数据', risk: 'high', maxDays: null, requestable: false },
  { name: 'ViewAllData', en: 'View All Data', zh: '查看所有数据', risk: 'high', maxDays: null, requestable: false },
  { name: 'ManageUsers', en: 'Manage Users', zh: '管理用户', risk: 'high', maxDays: null, requestable: false },
  { name: 'ApiEnabled', en: 'API Enabled', zh: '已启用 API', risk: 'high', maxDays: 7, requestable: true },
  { name: 'ExportReport', en: 'Export Reports', zh: '导出报表', risk: 'high', maxDays: 7, requestable: true },
  { name: 'ViewSetup', en: 'View Setup and Configuration', zh: '查看设置和配置', risk: 'high', maxDays: 7, requestable: true },
  { name: 'AssignPermissionSets', en: 'Assign Permission Sets', zh: '分配权限集', risk: 'high', maxDays: 1, requestable: true },
  { name: 'ManageRoles', en: 'Manage Roles', zh: '管理角色', risk: 'high', maxDays: 1, requestable: true },
  { name: 'ManageSharing', en: 'Manage Sharing', zh: '管理共享', risk: 'high', maxDays: 1, requestable: true },
  { name: 'ResetPasswords', en: 'Reset User Passwords and Unlock Users', zh: '重置用户密码并解锁用户', risk: 'high', maxDays: 1, requestable: true },
  { name: 'ViewAllUsers', en: 'View All Users', zh: '查看所有用户', risk: 'high', maxDays: 7, requestable: true },
  { name: 'ViewEncryptedData', en: 'View Encrypted Data', zh: '查看加密数据', risk: 'high', maxDays: 1, requestable: true },
  { name: 'DataExport', en: 'Weekly Data Export', zh: '每周数据导出', risk: 'medium', maxDays: 7, requestable: true },
  { name: 'RunReports', en: 'Run Reports', zh: '运行报表', risk: 'medium', maxDays: 7, requestable: true },
  { name: 'ScheduleReports', en: 'Schedule Reports', zh: '计划报表', risk: 'medium', maxDays: 7, requestable: true },
];

/** Who answers for a permission as its owner (stages of kind `owner`). */
const OWNERS: Record<string, string> = { Contract: 'p-gil', Quote: 'p-gil', Order: 'p-gil', Case: 'p-ivy' };

export interface DemoCatalogEntry {
  key: string;
  en: string;
  zh: string;
  risk: Risk;
  maxDurationDays: number | null;
  requestable: boolean;
  owner: ApproverRef | null;
  license: string | null;
  requiredTrainings: string[];
  /** The object's display name (object keys). */
  object?: { en: string; zh: string };
}

export function demoCatalog(): DemoCatalogEntry[] {
  const entries: DemoCatalogEntry[] = [];
  for (const o of OBJECTS) {
    for (const action of OBJECT_ACTIONS) {
      const risk: Risk = action === 'read' ? o.readRisk : action === 'delete' ? 'high' : 'medium';
      entries.push({
        key: `object:${o.name}:${action}`,
        en: `${ACTION_LABELS[action].en} ${o.plural}`,
        zh: `${ACTION_LABELS[action].zh}${o.zh}`,
        risk,
        maxDurationDays: o.maxDays?.[action] ?? (action === 'delete' ? 7 : null),
        requestable: true,
        owner: { type: 'person', personId: OWNERS[o.name] ?? 'p-cara' },
        license: DEMO_LICENSE.id,
        requiredTrainings: [],
        object: { en: o.plural, zh: o.zh },
      });
    }
  }
  for (const s of SYSTEM_PERMISSIONS)
    entries.push({
      key: `system:${s.name}`,
      en: s.en,
      zh: s.zh,
      risk: s.risk,
      maxDurationDays: s.maxDays,
      requestable: s.requestable,
      owner: { type: 'group', groupId: 'grp-sf-admins' },
      license: null,
      requiredTrainings: s.risk === 'high' || s.risk === 'critical' ? [SECURITY_TRAINING] : [],
    });
  return entries;
}

// ---------- bundles ----------

const objectKeys = (objects: string[], actions: readonly ObjectAction[]) => objects.flatMap((o) => actions.map((a) => `object:${o}:${a}`));

export const DEMO_BUNDLES: { id: string; kind: BundleKind; name: string; includes: string[]; permissions: string[] }[] = [
  {
    id: 'profile-standard-sales',
    kind: 'profile',
    name: 'Standard Sales User',
    includes: [],
    permissions: [...objectKeys(['Account', 'Contact', 'Opportunity', 'Lead'], ['read', 'create', 'edit']), 'object:Campaign:read'],
  },
  {
    id: 'profile-sysadmin',
    kind: 'profile',
    name: 'System Administrator',
    includes: [],
    permissions: [
      ...objectKeys(
        OBJECTS.map((o) => o.name),
        OBJECT_ACTIONS,
      ),
      ...SYSTEM_PERMISSIONS.map((s) => `system:${s.name}`),
    ],
  },
  {
    id: 'profile-finance',
    kind: 'profile',
    name: 'Finance User',
    includes: [],
    permissions: [
      ...objectKeys(['Account', 'Contact', 'Opportunity', 'Quote'], ['read']),
      ...objectKeys(['Contract'], ['read']),
      ...objectKeys(['Order'], ['read', 'create', 'edit']),
      'system:RunReports',
    ],
  },
  {
    id: 'profile-support',
    kind: 'profile',
    name: 'Support User',
    includes: [],
    permissions: [...objectKeys(['Case'], ['read', 'create', 'edit']), 'object:Contact:read', 'object:Account:read'],
  },
  {
    id: 'ps-sales-ops',
    kind: 'permissionSet',
    name: 'Sales Ops',
    includes: [],
    permissions: [...objectKeys(['Campaign'], ['create', 'edit']), 'object:Lead:delete', 'system:ScheduleReports'],
  },
  {
    id: 'ps-contract-manager',
    kind: 'permissionSet',
    name: 'Contract Manager',
    includes: [],
    permissions: objectKeys(['Contract'], ['read', 'create', 'edit']),
  },
  {
    id: 'ps-quote-desk',
    kind: 'permissionSet',
    name: 'Quote Desk',
    includes: [],
    permissions: objectKeys(['Quote'], ['read', 'create', 'edit']),
  },
  {
    id: 'ps-report-builder',
    kind: 'permissionSet',
    name: 'Report Builder',
    includes: [],
    permissions: ['system:RunReports', 'system:ExportReport'],
  },
  {
    id: 'ps-case-viewer',
    kind: 'permissionSet',
    name: 'Case Viewer',
    includes: [],
    permissions: ['object:Case:read'],
  },
  {
    id: 'psg-revenue-ops',
    kind: 'permissionSetGroup',
    name: 'Revenue Ops',
    includes: ['ps-contract-manager', 'ps-quote-desk'],
    permissions: [],
  },
];

// ---------- policy (version 1) ----------

const CONN = 'sf-acme';
const ADMINS_FALLBACK = [{ kind: 'group' as const, groupId: 'grp-admins' }];
const MANAGER = { kind: 'manager' as const, mode: { type: 'any' as const }, label: 'Manager' };

export const DEMO_POLICY: PolicyDocument = policyDocument.parse({
  baselines: [
    {
      id: 'bl-sales-ae',
      connectionId: CONN,
      name: 'Account Executive',
      match: { department: 'Sales', title: 'Account Executive' },
      bundleIds: ['profile-standard-sales'],
    },
    {
      id: 'bl-sales-manager',
      connectionId: CONN,
      name: 'Sales Manager',
      match: { department: 'Sales', title: 'Sales Manager' },
      bundleIds: ['profile-standard-sales', 'ps-report-builder'],
    },
    {
      id: 'bl-sf-admin',
      connectionId: CONN,
      name: 'Salesforce Administrator',
      match: { department: 'IT', title: 'Salesforce Administrator' },
      bundleIds: ['profile-sysadmin'],
    },
    {
      id: 'bl-finance-analyst',
      connectionId: CONN,
      name: 'Financial Analyst',
      match: { department: 'Finance', title: 'Financial Analyst' },
      bundleIds: ['profile-finance', 'ps-contract-manager'],
    },
    {
      id: 'bl-finance-director',
      connectionId: CONN,
      name: 'Finance Director',
      match: { department: 'Finance', title: 'Finance Director' },
      bundleIds: ['profile-finance', 'ps-contract-manager', 'ps-report-builder'],
    },
    {
      id: 'bl-support-agent',
      connectionId: CONN,
      name: 'Customer Support Agent',
      match: { department: 'Support', title: 'Customer Support Agent' },
      bundleIds: ['profile-support'],
    },
    {
      id: 'bl-support-manager',
      connectionId: CONN,
      name: 'Support Manager',
      match: { department: 'Support', title: 'Support Manager' },
      bundleIds: ['profile-support'],
    },
    ...demoCrmBaselines(),
  ],
  sodRules: [
    {
      id: 'sod-quote-contract',
      connectionId: CONN,
      name: 'Quote Desk vs Contract Manager',
      left: { bundleIds: ['ps-quote-desk'] },
      right: { bundleIds: ['ps-contract-manager'] },
      severity: 'high',
    },
    {
      id: 'sod-mad-users',
      connectionId: CONN,
      name: 'Modify All Data vs Manage Users',
      left: { keys: ['system:ModifyAllData'] },
      right: { keys: ['system:ManageUsers'] },
      severity: 'high',
    },
  ],
  // The first rule matching a key decides for it.
  requestRules: [
    {
      id: 'rr-self-service-case',
      connectionId: CONN,
      name: 'Self-service case access',
      match: { keys: ['object:Case:read'] },
      stages: [MANAGER],
      fallback: ADMINS_FALLBACK,
      autoApprove: { maxRisk: 'low', maxDurationDays: 7, requesters: [{ department: 'Sales' }] },
      defaultDurationDays: 7,
      maxDurationDays: 90,
    },
    {
      id: 'rr-deal-desk',
      connectionId: CONN,
      name: 'Deal Desk changes',
      match: { keys: ['object:Quote:create', 'object:Quote:edit'] },
      stages: [MANAGER, { kind: 'group', groupId: 'grp-deal-desk', mode: { type: 'any' }, label: 'Deal Desk' }],
      fallback: ADMINS_FALLBACK,
      defaultDurationDays: 30,
      maxDurationDays: 30,
    },
    {
      id: 'rr-standard-objects',
      connectionId: CONN,
      name: 'Standard object access',
      match: { keys: ['object:*:read'], risks: ['low', 'medium'] },
      stages: [MANAGER],
      fallback: ADMINS_FALLBACK,
      defaultDurationDays: 30,
      maxDurationDays: 90,
    },
    {
      id: 'rr-system',
      connectionId: CONN,
      name: 'System permissions',
      match: { keys: ['system:*'], risks: ['high', 'critical'] },
      stages: [MANAGER, { kind: 'owner', mode: { type: 'all' }, label: 'Salesforce Admins' }],
      fallback: ADMINS_FALLBACK,
      prerequisites: { trainings: [SECURITY_TRAINING] },
      defaultDurationDays: 7,
      maxDurationDays: 7,
      evidenceRequired: true,
    },
    {
      id: 'rr-other',
      connectionId: CONN,
      name: 'Other requestable permissions',
      match: {},
      stages: [MANAGER],
      fallback: ADMINS_FALLBACK,
      defaultDurationDays: 30,
      maxDurationDays: 90,
    },
    ...demoCrmRequestRules(ADMINS_FALLBACK),
  ],
  adminFunctions: [
    { department: 'IT', title: 'Salesforce Administrator' },
    // Kai runs the Salesforce Admins group with Cara.
    { department: 'IT', title: 'IT Director' },
  ],
  thresholds: { ...DEFAULT_THRESHOLDS },
  sodAtRequest: 'warn',
});

// ---------- seeding ----------

const DAY_MS = 24 * 60 * 60 * 1000;

/** When demo person number `index` (in DEMO_PEOPLE order) last signed in to Salesforce, seen from `now`. */
export const demoLastLoginAt = (index: number, now: Date): string =>
  new Date(now.getTime() - DEMO_PEOPLE[index]!.lastLoginDaysAgo * DAY_MS - (index + 1) * 37 * 60 * 1000).toISOString();

/** A Salesforce User id (key prefix 005), 18 characters. */
export const salesforceUserId = (n: number) => `005Hs00000${String(n).padStart(5, '0')}AAA`;

/** An 18-character Salesforce id with the object's 3-character key prefix. */
export const salesforceId = (prefix: string, n: number) => `${prefix}Hs00000${String(n).padStart(5, '0')}AAA`;

/**
 * The demo bundles' Salesforce ids: Profile (00e), PermissionSet (0PS), PermissionSetGroup (0PG). The
 * fake Salesforce of the tests serves the same org, so an import of it matches what the seed wrote.
 */
export const demoBundleExternalId = (bundleId: string): string => {
  const n = DEMO_BUNDLES.findIndex((b) => b.id === bundleId) + 1;
  const kind = DEMO_BUNDLES[n - 1]!.kind;
  return salesforceId(kind === 'profile' ? '00e' : kind === 'permissionSetGroup' ? '0PG' : '0PS', n);
};

// Hashing is deliberately slow; one process seeding many databases (tests) hashes each password once.
const hashes = new Map<string, Promise<string>>();
const demoHash = (password: string) => {
  let h = hashes.get(password);
  if (!h) hashes.set(password, (h = hashPassword(password)));
  return h;
};

/** Seeds the demo organisation when the database holds nobody yet. Returns whether it seeded. */
export async function seedDemoIfEmpty(db: Db, now = new Date()): Promise<boolean> {
  const count = await db.execute('SELECT COUNT(*) AS n FROM people');
  if (Number(count.rows[0]!.n) > 0) return false;
  const passwordHashes = new Map(await Promise.all(DEMO_PEOPLE.map(async (p) => [p.id, await demoHash(DEMO_PASSWORDS[p.email])] as const)));
  return runWrite(db, now, async (w) => {
    // Re-check inside the write lock: another process may have seeded meanwhile.
    const again = await w.tx.execute('SELECT COUNT(*) AS n FROM people');
    if (Number(again.rows[0]!.n) > 0) return false;
    await seedDemo(w, passwordHashes);
    return true;
  });
}

async function seedDemo(w: WriteContext, passwordHashes: Map<string, string>): Promise<void> {
  const { tx, now } = w;
  const v = await w.version();
  await tx.execute({ sql: "UPDATE meta SET organisation = 'Acme' WHERE id = 1", args: [] });
  for (const p of DEMO_PEOPLE)
    await tx.execute({
      sql: `INSERT INTO people (id, email, name, department, title, manager_id, status, roles, hire_date, trainings, password_hash, version,
              created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        p.id,
        p.email,
        p.name,
        p.department,
        p.title,
        p.managerId,
        p.status,
        JSON.stringify(p.roles),
        p.hireDate,
        JSON.stringify(p.trainings),
        passwordHashes.get(p.id) ?? null,
        v,
        w.nowIso,
        w.nowIso,
      ],
    });
  // What trainings exist and who completed each (a month after joining, in the demo).
  for (const t of [...new Set(DEMO_PEOPLE.flatMap((p) => p.trainings))].sort())
    await tx.execute({ sql: 'INSERT INTO trainings (id, title, created_at) VALUES (?, ?, ?)', args: [t, t, w.nowIso] });
  for (const p of DEMO_PEOPLE)
    for (const t of p.trainings)
      await tx.execute({
        sql: 'INSERT INTO training_completions (person_id, training_id, completed_on) VALUES (?, ?, ?)',
        args: [p.id, t, new Date(Date.parse(`${p.hireDate}T00:00:00Z`) + 30 * DAY_MS).toISOString().slice(0, 10)],
      });

  // Read-only and without credentials: approved grants become admin tasks until an administrator
  // connects the org (PATCH /api/admin/connections/sf-acme, or `pnpm accesslens connection add`).
  await tx.execute({
    sql: `INSERT INTO crm_connections (id, kind, name, hosts, settings, tenant, mode, schedule_minutes, enabled, created_at, updated_at, version)
          VALUES (?, ?, ?, ?, ?, ?, 'read-only', 60, 1, ?, ?, ?)`,
    args: [
      DEMO_CONNECTION_ID,
      'salesforce',
      'Acme Salesforce',
      JSON.stringify(['acme.lightning.force.com', 'acme.my.salesforce.com']),
      '{}',
      DEMO_MY_DOMAIN,
      w.nowIso,
      w.nowIso,
      v,
    ],
  });
  await tx.execute({ sql: 'INSERT INTO connection_state (connection_id) VALUES (?)', args: [DEMO_CONNECTION_ID] });

  for (const g of DEMO_GROUPS)
    await tx.execute({
      sql: 'INSERT INTO approver_groups (id, name, member_ids, version) VALUES (?, ?, ?, ?)',
      args: [g.id, g.name, JSON.stringify(g.memberIds), v],
    });
  await tx.execute({
    sql: 'INSERT INTO licenses (id, connection_id, name, seats, version) VALUES (?, ?, ?, ?, ?)',
    args: [DEMO_LICENSE.id, DEMO_CONNECTION_ID, DEMO_LICENSE.name, DEMO_LICENSE.seats, v],
  });

  const catalog = demoCatalog();
  for (const e of catalog)
    await tx.execute({
      sql: `INSERT INTO permission_catalog (connection_id, key, label_en, label_zh_cn, risk, max_duration_days, requestable, owner_id,
              owner, license_id, required_trainings, object_label_en, object_label_zh_cn, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        DEMO_CONNECTION_ID,
        e.key,
        e.en,
        e.zh,
        e.risk,
        e.maxDurationDays,
        e.requestable ? 1 : 0,
        e.owner?.type === 'person' ? e.owner.personId : null,
        e.owner ? JSON.stringify(e.owner) : null,
        e.license,
        JSON.stringify(e.requiredTrainings),
        e.object?.en ?? null,
        e.object?.zh ?? null,
        v,
      ],
    });

  for (const b of DEMO_BUNDLES)
    await tx.execute({
      sql: 'INSERT INTO bundles (id, connection_id, kind, name, external_id, version) VALUES (?, ?, ?, ?, ?, ?)',
      args: [b.id, DEMO_CONNECTION_ID, b.kind, b.name, demoBundleExternalId(b.id), v],
    });
  for (const b of DEMO_BUNDLES) {
    for (const [i, inc] of b.includes.entries())
      await tx.execute({ sql: 'INSERT INTO bundle_includes (bundle_id, included_id, position) VALUES (?, ?, ?)', args: [b.id, inc, i] });
    for (const [i, key] of b.permissions.entries())
      await tx.execute({ sql: 'INSERT INTO bundle_permissions (bundle_id, key, position) VALUES (?, ?, ?)', args: [b.id, key, i] });
  }

  for (const [n, p] of DEMO_PEOPLE.entries()) {
    const first = p.email.split('@')[0]!;
    const accountId = `acct-${first}`;
    const active = p.status === 'active' || ACTIVE_DESPITE_STATUS.has(p.id);
    await tx.execute({
      sql: `INSERT INTO crm_accounts (id, person_id, connection_id, external_user_id, username, active, last_login_at, created_at, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        accountId,
        p.id,
        DEMO_CONNECTION_ID,
        salesforceUserId(n + 1),
        `${first}@acme.test.sf`,
        active ? 1 : 0,
        demoLastLoginAt(n, now),
        `${p.hireDate}T09:00:00.000Z`,
        v,
      ],
    });
    for (const [key, daysAgo] of Object.entries(p.usage ?? {}))
      await tx.execute({
        sql: 'INSERT INTO usage_aggregates (account_id, key, last_used_at, count, version) VALUES (?, ?, ?, ?, ?)',
        args: [accountId, key, new Date(now.getTime() - daysAgo * DAY_MS - 3_600_000).toISOString(), 3 + ((n * 7 + key.length) % 40), v],
      });
    for (const [i, [, bundleId, grantedDaysAgo, expiredDaysAgo]] of STALE_GRANTS.filter(([id]) => id === p.id).entries())
      await tx.execute({
        sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version)
              VALUES (?, ?, 'bundle', ?, NULL, 'directory', NULL, ?, ?, NULL, ?)`,
        args: [
          `asg-${first}-${p.bundles.length + i + 1}`,
          accountId,
          bundleId,
          new Date(now.getTime() - grantedDaysAgo * DAY_MS).toISOString(),
          new Date(now.getTime() - expiredDaysAgo * DAY_MS).toISOString(),
          v,
        ],
      });
    for (const [i, bundleId] of p.bundles.entries())
      await tx.execute({
        sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version)
              VALUES (?, ?, 'bundle', ?, NULL, 'directory', NULL, ?, NULL, NULL, ?)`,
        args: [`asg-${first}-${i + 1}`, accountId, bundleId, `${p.hireDate}T09:00:00.000Z`, v],
      });
  }

  await seedDemoCrms(w, v);

  await tx.execute({
    sql: 'INSERT INTO policy_versions (version, document, created_at, created_by, note) VALUES (1, ?, ?, NULL, ?)',
    args: [JSON.stringify(DEMO_POLICY), w.nowIso, 'Demo policy'],
  });

  await w.audit({
    actorId: null,
    action: 'org.seeded',
    subjectType: 'organisation',
    subjectId: 'acme',
    data: {
      organisation: 'Acme',
      people: DEMO_PEOPLE.length,
      catalog: catalog.length,
      bundles: DEMO_BUNDLES.length,
      groups: DEMO_GROUPS.length,
      policyVersion: 1,
    },
  });
}
