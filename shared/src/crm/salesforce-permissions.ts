/**
 * Salesforce permission semantics: what holding a key also grants, and what a key needs, each rule
 * with the Salesforce document it comes from. A rule without a source does not go in; where
 * Salesforce documents nothing, a key implies nothing else.
 *
 * Record access (sharing) maps onto scope keys (`scope:{Object}:{action}:{scope}`): see
 * `salesforceSharingKeys` in engine/catalog/salesforce.ts.
 */
import type { ImplicationTable, RuleSource } from '../engine/implications.ts';
import { GRAMMAR_SOURCE } from '../engine/grammar-source.ts';

/** Object Reference, ObjectPermissions: "Requires PermissionsRead … for the same object to be true". */
export const SF_OBJECT_PERMISSIONS: RuleSource = {
  document: 'Salesforce Object Reference',
  section: 'ObjectPermissions (fields PermissionsCreate, PermissionsEdit, PermissionsDelete, PermissionsViewAllRecords, PermissionsModifyAllRecords)',
  url: 'https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_objectpermissions.htm',
};

/** Help, Object Permissions: View All / Modify All Records override sharing. */
export const SF_HELP_OBJECT_PERMISSIONS: RuleSource = {
  document: 'Salesforce Help',
  section: 'Object Permissions (View All Records, Modify All Records: "regardless of sharing settings")',
  url: 'https://help.salesforce.com/s/articleView?id=platform.users_profiles_object_perms.htm&type=5',
};

/** Object Reference, FieldPermissions: "PermissionsEdit … Requires PermissionsRead for the same field". */
export const SF_FIELD_PERMISSIONS: RuleSource = {
  document: 'Salesforce Object Reference',
  section: 'FieldPermissions (field PermissionsEdit)',
  url: 'https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_fieldpermissions.htm',
};

/**
 * Knowledge article 000321298: Modify All Data grants Read, Create, Edit, Delete, View All and
 * Modify All on all standard and custom objects, and enables View Setup and Configuration and Run
 * Reports.
 */
export const SF_KA_MODIFY_ALL_DATA: RuleSource = {
  document: 'Salesforce Help, knowledge article 000321298',
  section: 'Modify All Data: the permissions it enables',
  url: 'https://help.salesforce.com/s/articleView?id=000321298&type=1',
};

/** Tooling API, PermissionDependency: "Modify All Data, which requires View All Data". */
export const SF_PERMISSION_DEPENDENCY: RuleSource = {
  document: 'Salesforce Tooling API Developer Guide',
  section: 'PermissionDependency (field Permission)',
  url: 'https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_permissiondependency.htm',
};

/** Help, "View All" and "Modify All" Permissions Overview: View All Data views all data. */
export const SF_HELP_VIEW_ALL_DATA: RuleSource = {
  document: 'Salesforce Help',
  section: '"View All" and "Modify All" Permissions Overview ("Users with View All Data … can view … all apps and data")',
  url: 'https://help.salesforce.com/s/articleView?id=platform.users_profiles_view_all_mod_all.htm&type=5',
};

/** Security Implementation Guide, user sharing: View All Users is on for Manage Users holders. */
export const SF_VIEW_ALL_USERS: RuleSource = {
  document: 'Salesforce Security Implementation Guide, User Sharing (Sharing Users tip sheet)',
  section: 'Understanding User Sharing, View All Users ("automatically enabled for users who have the Manage Users permission")',
  url: 'https://resources.docs.salesforce.com/latest/latest/en-us/sfdc/pdf/salesforce_sharing_users_tipsheet.pdf',
};

/** Security Implementation Guide, Control Who Sees What: object permissions bound record access. */
export const SF_CONTROL_WHO_SEES_WHAT: RuleSource = {
  document: 'Salesforce Security Implementation Guide',
  section: 'Control Who Sees What (object permissions prevent access to any record of the object; sharing opens records within them)',
  url: 'https://help.salesforce.com/s/articleView?id=platform.admin_sharing.htm&type=5',
};

/** Every object action Modify All Data grants (article 000321298). */
const MAD_OBJECT_ACTIONS = ['read', 'create', 'edit', 'delete', 'viewAll', 'modifyAll'] as const;

export const SALESFORCE_PERMISSIONS: ImplicationTable = {
  crm: 'salesforce',
  name: 'salesforce',
  vocabulary: {
    objectActions: ['read', 'create', 'edit', 'delete', 'viewAll', 'modifyAll'],
    fieldActions: ['read', 'edit'],
    // Record access levels: Read, Edit, Delete, Transfer (assign) and Share (Full Access).
    scopeActions: ['read', 'edit', 'delete', 'assign', 'share'],
    // Owner, teams/groups/sharing rules, role hierarchy, the whole org (org-wide defaults, View All).
    scopes: ['own', 'team', 'hierarchy', 'org'],
    // Salesforce user permission API names (not Dataverse prv… privileges).
    names: /^(?!prv[A-Z])[A-Za-z][A-Za-z0-9_]*$/,
  },
  // The scopes are nested sets by definition (docs/api.md, "Permission keys").
  scopeOrder: GRAMMAR_SOURCE,
  rules: [
    // ObjectPermissions.PermissionsCreate: "Requires PermissionsRead for the same object".
    { on: 'object', action: 'create', implies: ['read'], source: SF_OBJECT_PERMISSIONS },
    // ObjectPermissions.PermissionsEdit: "Requires PermissionsRead for the same object".
    { on: 'object', action: 'edit', implies: ['read'], source: SF_OBJECT_PERMISSIONS },
    // ObjectPermissions.PermissionsDelete: "Requires PermissionsRead and PermissionsEdit".
    { on: 'object', action: 'delete', implies: ['read', 'edit'], source: SF_OBJECT_PERMISSIONS },
    // ObjectPermissions.PermissionsViewAllRecords: "Requires PermissionsRead".
    { on: 'object', action: 'viewAll', implies: ['read'], source: SF_OBJECT_PERMISSIONS },
    // ObjectPermissions.PermissionsModifyAllRecords: "Requires PermissionsRead, PermissionsDelete,
    // PermissionsEdit, and PermissionsViewAllRecords".
    { on: 'object', action: 'modifyAll', implies: ['read', 'delete', 'edit', 'viewAll'], source: SF_OBJECT_PERMISSIONS },
    // Help, Object Permissions: View All Records — "view all records … regardless of sharing settings".
    { on: 'object', action: 'viewAll', implies: [], scopes: [{ action: 'read', scope: 'org' }], source: SF_HELP_OBJECT_PERMISSIONS },
    // Help, Object Permissions: Modify All Records — "read, edit, delete, transfer, and approve all
    // records … regardless of sharing settings".
    {
      on: 'object',
      action: 'modifyAll',
      implies: [],
      scopes: [
        { action: 'read', scope: 'org' },
        { action: 'edit', scope: 'org' },
        { action: 'delete', scope: 'org' },
        { action: 'assign', scope: 'org' },
      ],
      source: SF_HELP_OBJECT_PERMISSIONS,
    },
    // FieldPermissions.PermissionsEdit: "Requires PermissionsRead for the same field".
    { on: 'field', action: 'edit', implies: ['read'], source: SF_FIELD_PERMISSIONS },
    // Knowledge article 000321298: Modify All Data grants Read, Create, Edit, Delete, View All and
    // Modify All on every object, View Setup and Configuration and Run Reports.
    {
      on: 'key',
      key: 'system:ModifyAllData',
      implies: [...MAD_OBJECT_ACTIONS.map((a) => ({ everyObject: a })), { key: 'system:ViewSetup' }, { key: 'system:RunReports' }],
      source: SF_KA_MODIFY_ALL_DATA,
    },
    // Tooling API, PermissionDependency: "Modify All Data, which requires View All Data".
    { on: 'key', key: 'system:ModifyAllData', implies: [{ key: 'system:ViewAllData' }], source: SF_PERMISSION_DEPENDENCY },
    // Help, "View All" and "Modify All" overview: View All Data views all data of every object.
    { on: 'key', key: 'system:ViewAllData', implies: [{ everyObject: 'read' }, { everyObject: 'viewAll' }], source: SF_HELP_VIEW_ALL_DATA },
    // Security Implementation Guide: View All Users is "automatically enabled for users who have the
    // Manage Users permission".
    { on: 'key', key: 'system:ManageUsers', implies: [{ key: 'system:ViewAllUsers' }], source: SF_VIEW_ALL_USERS },
  ],
  prerequisites: [
    // Control Who Sees What: without the object permission no record of the object is reachable,
    // whatever the sharing; record access to read, edit or delete needs the object permission.
    { on: 'scopeObject', actions: ['read', 'edit', 'delete'], source: SF_CONTROL_WHO_SEES_WHAT },
  ],
};
