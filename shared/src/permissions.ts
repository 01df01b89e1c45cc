/**
 * Permission key grammar (docs/api.md, "Permission keys").
 *
 *   object:{Object}:{read|create|edit|delete|viewAll|modifyAll|append|appendTo|assign|share}
 *   field:{Object}.{Field}:{read|edit}
 *   system:{Name}
 *   scope:{Object}:{action}:{own|team|businessUnit|hierarchy|org}
 *   app:{Name}
 *   feature:{Name}
 *
 * Object, field and system names are CRM API names: a letter first, then letters, digits and
 * underscores (Salesforce custom objects end in `__c`).
 *
 * A scope key says which records one action reaches: `scope:account:read:org` (read every account)
 * and `scope:account:edit:team` (edit the team's accounts) are independent, as Dataverse sets a
 * depth per privilege. The scopes are nested sets, narrowest first: `own` (records the user owns),
 * `team` (also records owned by or shared with the user's teams or groups), `businessUnit` (records
 * of the user's unit), `hierarchy` (the unit and every unit below it, or the records of the user's
 * subordinates), `org` (every record). Which of them a CRM has, and what its own terms mean, is in
 * that CRM's implication table (shared/src/crm/{kind}-permissions.ts).
 */

/** The four record actions a page can need (the overlay iterates exactly these). */
export const OBJECT_ACTIONS = ['read', 'create', 'edit', 'delete'] as const;
export type ObjectAction = (typeof OBJECT_ACTIONS)[number];

/**
 * Every object action the grammar accepts: the four record actions, the "all records" ones
 * (Salesforce View All / Modify All) and the Dataverse privileges Append, Append To, Assign (change
 * the owner; Salesforce "transfer") and Share.
 */
export const ALL_OBJECT_ACTIONS = ['read', 'create', 'edit', 'delete', 'viewAll', 'modifyAll', 'append', 'appendTo', 'assign', 'share'] as const;
export type AnyObjectAction = (typeof ALL_OBJECT_ACTIONS)[number];

/** Actions that reach some records and not others: the ones a scope key is about. */
export const RECORD_ACTIONS = ['read', 'create', 'edit', 'delete', 'append', 'appendTo', 'assign', 'share'] as const;
export type RecordAction = (typeof RECORD_ACTIONS)[number];

/** Key kinds, in the order error messages list them. */
export const PERMISSION_KINDS = ['object', 'field', 'system', 'scope', 'app', 'feature'] as const;
export type PermissionKind = (typeof PERMISSION_KINDS)[number];

export const FIELD_ACTIONS = ['read', 'edit'] as const;
export type FieldAction = (typeof FIELD_ACTIONS)[number];

/** Record scopes, narrowest first (each contains the ones before it). */
export const RECORD_SCOPES = ['own', 'team', 'businessUnit', 'hierarchy', 'org'] as const;
export type RecordScope = (typeof RECORD_SCOPES)[number];

export type PermissionKey =
  | { kind: 'object'; object: string; action: AnyObjectAction }
  | { kind: 'field'; object: string; field: string; action: FieldAction }
  | { kind: 'system'; name: string }
  | { kind: 'scope'; object: string; action: RecordAction; scope: RecordScope }
  | { kind: 'app'; name: string }
  | { kind: 'feature'; name: string };

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export function isApiName(name: string): boolean {
  return NAME.test(name);
}

export function parsePermissionKey(key: string): ParseResult<PermissionKey> {
  if (typeof key !== 'string' || key.length === 0) return { ok: false, error: 'permission key is empty' };
  if (key.length > 200) return { ok: false, error: 'permission key is longer than 200 characters' };
  const parts = key.split(':');
  const kind = parts[0];
  switch (kind) {
    case 'object': {
      if (parts.length !== 3) return { ok: false, error: `"${key}": expected object:{Object}:{action}` };
      const [, object, action] = parts as [string, string, string];
      if (!isApiName(object)) return { ok: false, error: `"${key}": "${object}" is not a valid object name` };
      if (!(ALL_OBJECT_ACTIONS as readonly string[]).includes(action))
        return { ok: false, error: `"${key}": action must be one of ${ALL_OBJECT_ACTIONS.join(', ')}` };
      return { ok: true, value: { kind, object, action: action as AnyObjectAction } };
    }
    case 'field': {
      if (parts.length !== 3) return { ok: false, error: `"${key}": expected field:{Object}.{Field}:{read|edit}` };
      const [, path, action] = parts as [string, string, string];
      const dot = path.split('.');
      if (dot.length !== 2 || !isApiName(dot[0]!) || !isApiName(dot[1]!)) return { ok: false, error: `"${key}": "${path}" is not {Object}.{Field}` };
      if (!(FIELD_ACTIONS as readonly string[]).includes(action)) return { ok: false, error: `"${key}": action must be one of ${FIELD_ACTIONS.join(', ')}` };
      return { ok: true, value: { kind, object: dot[0]!, field: dot[1]!, action: action as FieldAction } };
    }
    case 'system': {
      if (parts.length !== 2) return { ok: false, error: `"${key}": expected system:{Name}` };
      const name = parts[1]!;
      if (!isApiName(name)) return { ok: false, error: `"${key}": "${name}" is not a valid system permission name` };
      return { ok: true, value: { kind, name } };
    }
    case 'scope': {
      if (parts.length === 3 && (RECORD_SCOPES as readonly string[]).includes(parts[2]!))
        return {
          ok: false,
          error: `"${key}": a record scope is per action: expected scope:{Object}:{action}:{scope}, e.g. scope:${parts[1]}:read:${parts[2]}`,
        };
      if (parts.length !== 4) return { ok: false, error: `"${key}": expected scope:{Object}:{action}:{${RECORD_SCOPES.join('|')}}` };
      const [, object, action, scope] = parts as [string, string, string, string];
      if (!isApiName(object)) return { ok: false, error: `"${key}": "${object}" is not a valid object name` };
      if (!(RECORD_ACTIONS as readonly string[]).includes(action))
        return { ok: false, error: `"${key}": the action of a scope must be one of ${RECORD_ACTIONS.join(', ')}` };
      if (!(RECORD_SCOPES as readonly string[]).includes(scope)) return { ok: false, error: `"${key}": scope must be one of ${RECORD_SCOPES.join(', ')}` };
      return { ok: true, value: { kind, object, action: action as RecordAction, scope: scope as RecordScope } };
    }
    case 'app':
    case 'feature': {
      if (parts.length !== 2) return { ok: false, error: `"${key}": expected ${kind}:{Name}` };
      const name = parts[1]!;
      if (!isApiName(name)) return { ok: false, error: `"${key}": "${name}" is not a valid ${kind} name` };
      return { ok: true, value: { kind, name } };
    }
    default:
      return {
        ok: false,
        error: `"${key}": unknown kind "${kind}" (expected object, field, system, scope, app or feature)`,
      };
  }
}

export function formatPermissionKey(p: PermissionKey): string {
  switch (p.kind) {
    case 'object':
      return `object:${p.object}:${p.action}`;
    case 'field':
      return `field:${p.object}.${p.field}:${p.action}`;
    case 'system':
      return `system:${p.name}`;
    case 'scope':
      return `scope:${p.object}:${p.action}:${p.scope}`;
    case 'app':
      return `app:${p.name}`;
    case 'feature':
      return `feature:${p.name}`;
  }
}

export function objectPermissionKey(object: string, action: AnyObjectAction): string {
  return `object:${object}:${action}`;
}

export function scopePermissionKey(object: string, action: RecordAction, scope: RecordScope): string {
  return `scope:${object}:${action}:${scope}`;
}

export function isValidPermissionKey(key: string): boolean {
  return parsePermissionKey(key).ok;
}
