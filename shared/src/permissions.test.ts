import { describe, expect, it } from 'vitest';
import { formatPermissionKey, parsePermissionKey } from './permissions.ts';
import { directImplications } from './engine/implications.ts';

describe('permission key grammar', () => {
  it.each([
    'object:Contract:read',
    'object:Invoice__c:delete',
    'field:Account.AnnualRevenue:read',
    'system:ModifyAllData',
    'scope:Opportunity:team',
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
    ['scope:Account:everyone', 'scope must be one of'],
    ['admin:all', 'unknown kind "admin"'],
  ])('rejects %j with a clear error', (key, message) => {
    const parsed = parsePermissionKey(key);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });

  it('keeps implications as data: edit implies read, delete implies edit, wider scope implies narrower', () => {
    expect(directImplications('object:Account:edit')).toEqual(['object:Account:read']);
    expect(directImplications('object:Account:delete')).toEqual(['object:Account:edit']);
    expect(directImplications('object:Account:read')).toEqual([]);
    expect(directImplications('field:Account.Phone:edit')).toEqual(['field:Account.Phone:read']);
    expect(directImplications('scope:Account:team')).toEqual(['scope:Account:own']);
    expect(directImplications('not a key')).toEqual([]);
    expect(directImplications('system:ModifyAllData')).toEqual(['system:ViewAllData']); // org-wide expansion needs the objects
  });
});
