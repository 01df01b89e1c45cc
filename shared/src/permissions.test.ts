import { describe, expect, it } from 'vitest';
import { formatPermissionKey, parsePermissionKey } from './permissions.ts';
import { implicationsOf, GENERIC_IMPLICATIONS, SALESFORCE_IMPLICATIONS } from './engine/implications.ts';

describe('permission key grammar', () => {
  it.each([
    'object:Contract:read',
    'object:Invoice__c:delete',
    'field:Account.AnnualRevenue:read',
    'system:ModifyAllData',
    'scope:Opportunity:read:team',
    'scope:account:assign:hierarchy',
  ])('round-trips %s', (key) => {
    const parsed = parsePermissionKey(key);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(formatPermissionKey(parsed.value)).toBe(key);
  });

  it.each([
    ['', 'empty'],
    ['object:Contract', 'expected object:{Object}:{action}'],
    ['object:Contract:view', 'action must be one of read, create, edit, delete'],
    ['object:1Contract:read', 'not a valid object name'],
    ['field:Account:read', 'is not {Object}.{Field}'],
    ['system:', 'not a valid system permission name'],
    ['scope:Account:read:everyone', 'scope must be one of own, team, businessUnit, hierarchy, org'],
    ['scope:Account:viewAll:org', 'the action of a scope must be one of read, create, edit, delete, append, appendTo, assign, share'],
    ['scope:Account:org', 'a record scope is per action: expected scope:{Object}:{action}:{scope}, e.g. scope:Account:read:org'],
    ['scope:Account:read', 'expected scope:{Object}:{action}:{own|team|businessUnit|hierarchy|org}'],
    ['admin:all', 'unknown kind "admin"'],
  ])('rejects %j with a clear error', (key, message) => {
    const parsed = parsePermissionKey(key);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });

  it('keeps implications as data: Salesforce edit implies read, delete implies read and edit, wider scope implies narrower', () => {
    expect(implicationsOf('object:Account:edit', SALESFORCE_IMPLICATIONS)).toEqual(['object:Account:read']);
    expect(implicationsOf('object:Account:delete', SALESFORCE_IMPLICATIONS)).toEqual(['object:Account:read', 'object:Account:edit']);
    expect(implicationsOf('object:Account:read', SALESFORCE_IMPLICATIONS)).toEqual([]);
    expect(implicationsOf('field:Account.Phone:edit', SALESFORCE_IMPLICATIONS)).toEqual(['field:Account.Phone:read']);
    expect(implicationsOf('scope:Account:read:team', SALESFORCE_IMPLICATIONS)).toEqual(['scope:Account:read:own']);
    expect(implicationsOf('scope:Account:edit:org', GENERIC_IMPLICATIONS)).toEqual(['scope:Account:edit:hierarchy']);
    expect(implicationsOf('not a key', SALESFORCE_IMPLICATIONS)).toEqual([]);
  });
});
