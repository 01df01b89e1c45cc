/**
 * Zoho CRM permission semantics, each rule with the Zoho document it comes from. A rule without a
 * source does not go in; where Zoho documents nothing, a key implies nothing else (the profile's
 * module permissions View, Create, Edit and Delete are set one by one).
 *
 * Record access (data sharing: Private, Public Read Only, Public Read/Write, Public Read/Write/Delete,
 * the role hierarchy and sharing rules) maps onto scope keys: Public Read Only is
 * `scope:{Module}:read:org`, the role hierarchy `scope:{Module}:{action}:hierarchy`, a sharing rule
 * to a group or role `…:team`.
 */
import type { ImplicationTable, RuleSource } from '../engine/implications.ts';
import { GRAMMAR_SOURCE } from '../engine/grammar-source.ts';

export const ZOHO_PROFILES: RuleSource = {
  document: 'Zoho CRM Help, Creating Profile',
  section: 'Field-level: "Enable or disable permission to access the fields in a record. In addition you can restrict the access to edit the fields."',
  url: 'https://www.zoho.com/crm/help/security/clone-profiles.html',
};

export const ZOHO_ROLES: RuleSource = {
  document: 'Zoho CRM Help, Managing Roles',
  section:
    'Key Features: "Managers in the role hierarchy cannot view or edit their subordinates\' records if they do not have the Read or Edit permissions for the type of record."',
  url: 'http://zohocrm.wiki.zoho.com/Managing-Roles.html',
};

export const ZOHO_PERMISSIONS: ImplicationTable = {
  crm: 'zoho',
  name: 'zoho',
  vocabulary: {
    objectActions: ['read', 'create', 'edit', 'delete'],
    fieldActions: ['read', 'edit'],
    scopeActions: ['read', 'edit', 'delete'],
    scopes: ['own', 'team', 'hierarchy', 'org'],
    names: null,
  },
  labels: { actions: { read: { en: 'View', 'zh-CN': '查看' } } },
  scopeOrder: GRAMMAR_SOURCE,
  rules: [
    // Creating Profile: editing is a restriction on top of access to the field — an editable field
    // is an accessible one.
    { on: 'field', action: 'edit', implies: ['read'], source: ZOHO_PROFILES },
  ],
  prerequisites: [
    // Managing Roles: the role hierarchy (and so any record access) does not let a manager view or
    // edit records without the profile's Read or Edit permission for that module.
    { on: 'scopeObject', actions: ['read', 'edit'], source: ZOHO_ROLES },
  ],
};
