/**
 * Dynamics 365 (Dataverse) permission semantics, each rule with the Microsoft document it comes
 * from. A rule without a source does not go in; where Dataverse documents nothing, a key implies
 * nothing else.
 *
 * Privileges are independent: Write does not grant Read, Create does not grant Read, Delete does not
 * grant Write ("Data operations and access rights": Update needs WRITE, Retrieve needs READ). Each
 * privilege has its own depth (access level), so `prvReadAccount` at Global and `prvWriteAccount` at
 * Basic are `scope:account:read:org` and `scope:account:edit:team` (engine/catalog/dynamics.ts).
 * Append, Append To, Assign and Share are keys of their own (`object:{entity}:append|appendTo|
 * assign|share`) and need the other rights the documentation lists before they are allowed.
 */
import type { ImplicationTable, RuleSource } from '../engine/implications.ts';

/** Power Apps developer docs, "Data operations and access rights". */
export const DATAVERSE_ACCESS_RIGHTS: RuleSource = {
  document: 'Power Apps developer documentation, Data operations and access rights',
  section: 'Dependencies between access rights',
  url: 'https://learn.microsoft.com/power-apps/developer/data-platform/security-access-rights',
};

/** Power Apps developer docs, "Security concepts for developers". */
export const DATAVERSE_SECURITY_CONCEPTS: RuleSource = {
  document: 'Power Apps developer documentation, Security concepts for developers',
  section: 'Each security role defines a set of privilege and access level combinations for each table',
  url: 'https://learn.microsoft.com/power-apps/developer/data-platform/security-concepts',
};

/** PrivilegeDepth: Basic (owned by or shared with the user) ⊂ Local ⊂ Deep ⊂ Global. */
export const DATAVERSE_PRIVILEGE_DEPTH: RuleSource = {
  document: 'Dataverse SDK reference, PrivilegeDepth enum; Power Platform, Security roles and privileges',
  section: "Basic, Local (user's business unit), Deep (business unit and all units below), Global (organization)",
  url: 'https://learn.microsoft.com/dotnet/api/microsoft.crm.sdk.messages.privilegedepth',
};

const RECORD = ['read', 'create', 'edit', 'delete', 'append', 'appendTo', 'assign', 'share'] as const;

export const DYNAMICS_PERMISSIONS: ImplicationTable = {
  crm: 'dynamics',
  name: 'dynamics',
  vocabulary: {
    // Create, Read, Write, Delete, Append, Append To, Assign, Share (no View All / Modify All).
    objectActions: [...RECORD],
    fieldActions: ['read', 'edit'],
    scopeActions: [...RECORD],
    // Basic → team, Local → businessUnit, Deep → hierarchy, Global → org (catalog/dynamics.ts).
    scopes: ['team', 'businessUnit', 'hierarchy', 'org'],
    // Privileges that are not about a table keep their Dataverse name (prvExportToExcel …).
    names: /^prv[A-Za-z0-9_]+$/,
  },
  labels: {
    scopes: {
      team: {
        en: 'Basic (user): own records, records shared with the user or their teams, and records their teams own',
        'zh-CN': '基本（用户）：本人拥有的记录、共享给本人或其团队的记录，以及其团队拥有的记录',
      },
      businessUnit: { en: "Local: records in the user's business unit", 'zh-CN': '本地：用户所在业务部门的记录' },
      hierarchy: {
        en: "Deep: records in the user's business unit and every unit below it",
        'zh-CN': '深度：用户所在业务部门及其所有下级部门的记录',
      },
      org: { en: 'Global: every record in the organization', 'zh-CN': '全局：组织中的所有记录' },
    },
    actions: {
      edit: { en: 'Write', 'zh-CN': '写入' },
      append: { en: 'Append', 'zh-CN': '追加' },
      appendTo: { en: 'Append to', 'zh-CN': '追加到' },
      assign: { en: 'Assign', 'zh-CN': '分派' },
      share: { en: 'Share', 'zh-CN': '共享' },
    },
  },
  // PrivilegeDepth: Global ⊃ Deep ⊃ Local ⊃ Basic, set per privilege.
  scopeOrder: DATAVERSE_PRIVILEGE_DEPTH,
  rules: [
    // Security concepts: a role holds a privilege *at* an access level, so a privilege at any depth
    // is that privilege.
    { on: 'scope', actions: [...RECORD], source: DATAVERSE_SECURITY_CONCEPTS },
  ],
  prerequisites: [
    // Dependencies between access rights: "Share a record — SHARE … READ".
    { on: 'object', action: 'share', requires: ['read'], source: DATAVERSE_ACCESS_RIGHTS },
    { on: 'scope', action: 'share', requires: ['read'], source: DATAVERSE_ACCESS_RIGHTS },
    // "Assign a record — ASSIGN, WRITE, READ".
    { on: 'object', action: 'assign', requires: ['edit', 'read'], source: DATAVERSE_ACCESS_RIGHTS },
    { on: 'scope', action: 'assign', requires: ['edit', 'read'], source: DATAVERSE_ACCESS_RIGHTS },
    // "Append a record — WRITE, READ, APPEND".
    { on: 'object', action: 'append', requires: ['edit', 'read'], source: DATAVERSE_ACCESS_RIGHTS },
    { on: 'scope', action: 'append', requires: ['edit', 'read'], source: DATAVERSE_ACCESS_RIGHTS },
    // "Append to a record — WRITE, READ, APPENDTO".
    { on: 'object', action: 'appendTo', requires: ['edit', 'read'], source: DATAVERSE_ACCESS_RIGHTS },
    { on: 'scope', action: 'appendTo', requires: ['edit', 'read'], source: DATAVERSE_ACCESS_RIGHTS },
  ],
};
