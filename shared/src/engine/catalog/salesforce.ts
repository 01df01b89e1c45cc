/**
 * Built-in Salesforce catalog data: the high-risk system permissions named by public security
 * benchmarks (see docs reference crm-pages.md), and how Salesforce record sharing maps onto scopes.
 */
import type { RecordAction, RecordScope } from '../../permissions.ts';
import type { Risk } from '../../schemas.ts';
import type { CatalogMeta } from '../types.ts';

export interface SystemPermissionInfo {
  name: string;
  risk: Risk;
  en: string;
  zh: string;
}

export const SALESFORCE_HIGH_RISK_PERMISSIONS: readonly SystemPermissionInfo[] = [
  { name: 'CustomizeApplication', risk: 'critical', en: 'Customize Application', zh: '自定义应用程序' },
  { name: 'ModifyMetadata', risk: 'critical', en: 'Modify Metadata Through Metadata API Functions', zh: '通过元数据 API 函数修改元数据' },
  { name: 'AuthorApex', risk: 'critical', en: 'Author Apex', zh: '编写 Apex' },
  { name: 'ManageAuthProviders', risk: 'critical', en: 'Manage Auth. Providers', zh: '管理身份验证提供商' },
  { name: 'ManageNamedCredentials', risk: 'critical', en: 'Manage Named Credentials', zh: '管理命名凭据' },
  { name: 'ViewClientSecret', risk: 'critical', en: 'View Client Secret', zh: '查看客户端密钥' },
  { name: 'UseAnyApiClient', risk: 'critical', en: 'Use Any API Client', zh: '使用任何 API 客户端' },
  { name: 'BypassMFAForUiLogins', risk: 'critical', en: 'Bypass MFA for UI Logins', zh: '绕过界面登录的多重身份验证' },
  { name: 'BulkApiHardDelete', risk: 'critical', en: 'Bulk API Hard Delete', zh: '批量 API 硬删除' },
  { name: 'ModifyAllData', risk: 'high', en: 'Modify All Data', zh: '修改所有数据' },
  { name: 'ViewAllData', risk: 'high', en: 'View All Data', zh: '查看所有数据' },
  { name: 'ManageUsers', risk: 'high', en: 'Manage Users', zh: '管理用户' },
  { name: 'ApiEnabled', risk: 'high', en: 'API Enabled', zh: '已启用 API' },
  { name: 'ExportReport', risk: 'high', en: 'Export Reports', zh: '导出报表' },
  { name: 'ViewSetup', risk: 'high', en: 'View Setup and Configuration', zh: '查看设置和配置' },
  { name: 'AssignPermissionSets', risk: 'high', en: 'Assign Permission Sets', zh: '分配权限集' },
  { name: 'ManageRoles', risk: 'high', en: 'Manage Roles', zh: '管理角色' },
  { name: 'ManageSharing', risk: 'high', en: 'Manage Sharing', zh: '管理共享' },
  { name: 'ResetPasswords', risk: 'high', en: 'Reset User Passwords and Unlock Users', zh: '重置用户密码并解锁用户' },
  { name: 'ViewAllUsers', risk: 'high', en: 'View All Users', zh: '查看所有用户' },
  { name: 'ViewEncryptedData', risk: 'high', en: 'View Encrypted Data', zh: '查看加密数据' },
  { name: 'DataExport', risk: 'medium', en: 'Weekly Data Export', zh: '每周数据导出' },
  { name: 'RunReports', risk: 'medium', en: 'Run Reports', zh: '运行报表' },
  { name: 'ScheduleReports', risk: 'medium', en: 'Schedule Reports', zh: '计划报表' },
];

/** Together these make an account a super-admin equivalent. */
export const SALESFORCE_SUPER_ADMIN_KEYS = ['system:ViewAllData', 'system:ModifyAllData', 'system:ManageUsers'] as const;

/** Longest grant by risk, in days, for the built-in entries (an org overrides per key). */
export const DEFAULT_MAX_DAYS_BY_RISK: Readonly<Record<Risk, number | null>> = { low: null, medium: 90, high: 30, critical: 7 };

/** Catalog entries for the Salesforce high-risk system permissions of one connection. */
export function salesforceSystemCatalog(connectionId: string): CatalogMeta[] {
  return SALESFORCE_HIGH_RISK_PERMISSIONS.map((p) => ({
    connectionId,
    key: `system:${p.name}`,
    labels: { en: p.en, 'zh-CN': p.zh },
    risk: p.risk,
    owner: null,
    license: null,
    requiredTrainings: p.risk === 'critical' ? ['crm-admin-security'] : [],
    maxDurationDays: DEFAULT_MAX_DAYS_BY_RISK[p.risk],
    requestable: p.risk !== 'critical',
  }));
}

/**
 * Salesforce record access levels (the AccessLevel of share rows: Read = Read Only, Edit = Read/Write,
 * All = Full Access) and the actions each allows. Apex Developer Guide, "Understanding Sharing"
 * (https://developer.salesforce.com/docs/atlas.en-us.apexcode.meta/apexcode/apex_bulk_sharing_understanding.htm):
 * Full Access lets a user "view, edit, transfer, share, and delete the record"; transfer is `assign`.
 */
export const SALESFORCE_ACCESS_LEVEL_ACTIONS: Readonly<Record<'Read' | 'Edit' | 'All', readonly RecordAction[]>> = {
  Read: ['read'],
  Edit: ['read', 'edit'],
  All: ['read', 'edit', 'delete', 'assign', 'share'],
};

/**
 * Where record access comes from, and the scope it reaches (Apex Developer Guide, "Understanding
 * Sharing"; Security Implementation Guide, "Control Who Sees What"): the record owner → own; teams,
 * sharing rules to groups or roles and manual shares → team; the role hierarchy (records owned by or
 * shared with users below) → hierarchy; organization-wide defaults (Public Read Only, Public
 * Read/Write) → org.
 */
export const SALESFORCE_SHARING_SCOPE: Readonly<Record<SalesforceSharingSource, RecordScope>> = {
  Owner: 'own',
  Team: 'team',
  SharingRule: 'team',
  Manual: 'team',
  RoleHierarchy: 'hierarchy',
  OrgWideDefault: 'org',
};

export type SalesforceSharingSource = 'Owner' | 'Team' | 'SharingRule' | 'Manual' | 'RoleHierarchy' | 'OrgWideDefault';

/**
 * Scope keys for one kind of Salesforce record access on `object`, e.g. an organization-wide default
 * of Public Read/Write on Account → `scope:Account:read:org`, `scope:Account:edit:org`. The owner and
 * users above them in the role hierarchy get Full Access ("Understanding Sharing"). The keys are
 * allowed only with the matching object permission (crm/salesforce-permissions.ts).
 */
export function salesforceSharingKeys(object: string, source: SalesforceSharingSource, level: 'Read' | 'Edit' | 'All'): string[] {
  const effective = source === 'Owner' || source === 'RoleHierarchy' ? 'All' : level;
  const scope = SALESFORCE_SHARING_SCOPE[source];
  return SALESFORCE_ACCESS_LEVEL_ACTIONS[effective].map((a) => `scope:${object}:${a}:${scope}`);
}
