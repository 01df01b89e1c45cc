/**
 * Fxiaoke (纷享销客, ShareCRM) permission semantics. Roles carry 功能权限 (functional permissions:
 * per object, view list / view / create / edit / delete … each switched on by itself) and
 * 数据权限 (data permissions: which records — 本人 own, 本部门 the department, 本部门及下级部门 the
 * department and those below it, 全公司 the whole company). A rule without a source does not go in:
 * the documentation lists the object operations one by one and says nothing of one implying
 * another, so object keys imply nothing else here.
 *
 * Scope mapping: 本人 → own, 本部门 → businessUnit, 本部门及下级部门 → hierarchy, 全公司 → org.
 */
import type { ImplicationTable, RuleSource } from '../engine/implications.ts';
import { GRAMMAR_SOURCE } from '../engine/grammar-source.ts';

export const FXIAOKE_ROLE_PERMISSIONS: RuleSource = {
  document: 'ShareCRM (Fxiaoke) Help Center, Role permission settings (功能权限)',
  section: 'Field Permissions: "the level of access for each field: read-write, read-only, or invisible"',
  url: 'https://help.sharecrm.com/9adk/0ce9/611e',
};

export const FXIAOKE_PERMISSIONS: ImplicationTable = {
  crm: 'fxiaoke',
  name: 'fxiaoke',
  vocabulary: {
    objectActions: ['read', 'create', 'edit', 'delete'],
    fieldActions: ['read', 'edit'],
    scopeActions: ['read', 'edit'],
    scopes: ['own', 'businessUnit', 'hierarchy', 'org'],
    names: null,
  },
  labels: {
    scopes: {
      own: { en: 'Own records', 'zh-CN': '本人' },
      businessUnit: { en: "The user's department", 'zh-CN': '本部门' },
      hierarchy: { en: "The user's department and those below it", 'zh-CN': '本部门及下级部门' },
      org: { en: 'The whole company', 'zh-CN': '全公司' },
    },
  },
  scopeOrder: GRAMMAR_SOURCE,
  rules: [
    // Role permission settings: a field is read-write, read-only or invisible — read-write is a
    // level above read-only, so editing a field includes reading it.
    { on: 'field', action: 'edit', implies: ['read'], source: FXIAOKE_ROLE_PERMISSIONS },
  ],
  prerequisites: [],
};
