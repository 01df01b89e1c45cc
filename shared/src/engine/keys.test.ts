import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRM_KINDS } from '../constants.ts';
import { ALL_OBJECT_ACTIONS, OBJECT_ACTIONS, RECORD_ACTIONS, RECORD_SCOPES, formatPermissionKey, parsePermissionKey } from '../permissions.ts';
import { DYNAMICS_IMPLICATIONS, GENERIC_IMPLICATIONS, SALESFORCE_IMPLICATIONS, implicationChain, implicationTableFor, implicationsOf } from './implications.ts';
import { InvalidPermissionKeyError, KeyUniverse, parseKeyOrThrow } from './keys.ts';

describe('key grammar (extended)', () => {
  it('keeps OBJECT_ACTIONS as the four overlay actions and lists all ten separately', () => {
    expect(OBJECT_ACTIONS).toEqual(['read', 'create', 'edit', 'delete']);
    expect(ALL_OBJECT_ACTIONS).toEqual(['read', 'create', 'edit', 'delete', 'viewAll', 'modifyAll', 'append', 'appendTo', 'assign', 'share']);
  });

  it.each([
    'object:Account:viewAll',
    'object:Invoice__c:modifyAll',
    'app:SalesConsole',
    'feature:Forecasts',
    'scope:account:read:businessUnit',
    'object:account:appendTo',
  ])('round-trips %s', (key) => {
    const parsed = parsePermissionKey(key);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(formatPermissionKey(parsed.value)).toBe(key);
  });

  it.each([
    ['object:Account:viewall', 'action must be one of read, create, edit, delete, viewAll, modifyAll, append, appendTo, assign, share'],
    ['app:', 'is not a valid app name'],
    ['feature:a:b', 'expected feature:{Name}'],
    ['role:Admin', 'unknown kind "role" (expected object, field, system, scope, app or feature)'],
    ['field:Account.Name.X:read', 'is not {Object}.{Field}'],
  ])('rejects %j with a clear error', (key, message) => {
    expect(() => parseKeyOrThrow(key)).toThrow(InvalidPermissionKeyError);
    try {
      parseKeyOrThrow(key);
    } catch (e) {
      expect((e as Error).message).toContain(message);
      expect((e as InvalidPermissionKeyError).key).toBe(key);
    }
  });
});

describe('implications as data, per CRM kind', () => {
  const objects = ['Account', 'Case'];
  it.each([
    [
      SALESFORCE_IMPLICATIONS,
      'object:Account:modifyAll',
      [
        'object:Account:read',
        'object:Account:delete',
        'object:Account:edit',
        'object:Account:viewAll',
        'scope:Account:read:org',
        'scope:Account:edit:org',
        'scope:Account:delete:org',
        'scope:Account:assign:org',
      ],
    ],
    [SALESFORCE_IMPLICATIONS, 'object:Account:viewAll', ['object:Account:read', 'scope:Account:read:org']],
    [SALESFORCE_IMPLICATIONS, 'object:Account:edit', ['object:Account:read']],
    [DYNAMICS_IMPLICATIONS, 'object:account:delete', []],
    [DYNAMICS_IMPLICATIONS, 'object:account:edit', []],
    [DYNAMICS_IMPLICATIONS, 'scope:account:edit:org', ['scope:account:edit:hierarchy', 'object:account:edit']],
    [GENERIC_IMPLICATIONS, 'scope:Account:read:org', ['scope:Account:read:hierarchy']],
    [GENERIC_IMPLICATIONS, 'object:Account:modifyAll', []],
    [GENERIC_IMPLICATIONS, 'system:ModifyAllData', []],
    [SALESFORCE_IMPLICATIONS, 'system:ViewAllData', ['object:Account:read', 'object:Case:read', 'object:Account:viewAll', 'object:Case:viewAll']],
    [SALESFORCE_IMPLICATIONS, 'system:ManageUsers', ['system:ViewAllUsers']],
    [SALESFORCE_IMPLICATIONS, 'not a key', []],
  ])('%s: %s', (table, key, expected) => {
    expect(implicationsOf(key, table, objects)).toEqual(expected);
  });

  it('picks the table by CRM kind', () => {
    expect(implicationTableFor('salesforce')).toBe(SALESFORCE_IMPLICATIONS);
    expect(implicationTableFor('dynamics')).toBe(DYNAMICS_IMPLICATIONS);
    expect(implicationTableFor('generic')).toBe(GENERIC_IMPLICATIONS);
    expect(implicationTableFor('zoho').crm).toBe('zoho');
  });

  it('finds the implication chain, even to an object outside the universe', () => {
    expect(implicationChain('system:ModifyAllData', 'object:Invoice__c:read', SALESFORCE_IMPLICATIONS)).toEqual([
      'system:ModifyAllData',
      'object:Invoice__c:read',
    ]);
    expect(implicationChain('system:ViewAllData', 'scope:Invoice__c:read:team', SALESFORCE_IMPLICATIONS)).toEqual([
      'system:ViewAllData',
      'object:Invoice__c:viewAll',
      'scope:Invoice__c:read:org',
      'scope:Invoice__c:read:hierarchy',
      'scope:Invoice__c:read:team',
    ]);
    expect(implicationChain('object:Account:read', 'object:Account:edit', SALESFORCE_IMPLICATIONS)).toBeNull();
  });
});

describe('KeyUniverse', () => {
  it('interns keys to dense ids and closes the universe under implication', () => {
    const u = new KeyUniverse(SALESFORCE_IMPLICATIONS, ['object:Account:read', 'system:ModifyAllData']);
    expect(u.id('object:Account:read')).toBe(0);
    // ModifyAllData brought in ViewAllData and Account's modifyAll, viewAll, delete, edit.
    for (const k of ['system:ViewAllData', 'object:Account:modifyAll', 'object:Account:viewAll', 'object:Account:delete', 'object:Account:edit'])
      expect(u.id(k)).toBeGreaterThanOrEqual(0);
    const mad = u.id('system:ModifyAllData');
    expect(u.implies(mad, u.id('object:Account:read'))).toBe(true);
    expect(u.chain(mad, u.id('object:Account:read'))).toEqual(['system:ModifyAllData', 'object:Account:read']);
    expect(u.chain(mad, u.id('scope:Account:edit:team'))).toEqual([
      'system:ModifyAllData',
      'object:Account:modifyAll',
      'scope:Account:edit:org',
      'scope:Account:edit:hierarchy',
      'scope:Account:edit:team',
    ]);
    expect(u.id('object:Nope:read')).toBe(-1);
    expect(() => u.intern('bogus')).toThrow(InvalidPermissionKeyError);
  });

  it('reports when a later intern grew the universe', () => {
    const u = new KeyUniverse(SALESFORCE_IMPLICATIONS, ['system:ModifyAllData']);
    u.intern('object:Lead:read');
    expect(u.close()).toBe(true);
    expect(u.implies(u.id('system:ModifyAllData'), u.id('object:Lead:read'))).toBe(true);
  });

  const objectName = fc.constantFrom('Account', 'Case', 'Lead', 'Invoice__c');
  const anyKey = fc.oneof(
    fc.tuple(objectName, fc.constantFrom(...ALL_OBJECT_ACTIONS)).map(([o, a]) => `object:${o}:${a}`),
    fc.tuple(objectName, fc.constantFrom(...RECORD_ACTIONS), fc.constantFrom(...RECORD_SCOPES)).map(([o, a, s]) => `scope:${o}:${a}:${s}`),
    fc.tuple(objectName, fc.constantFrom('read', 'edit')).map(([o, a]) => `field:${o}.Amount:${a}`),
    fc.constantFrom('system:ModifyAllData', 'system:ViewAllData', 'system:ManageUsers', 'system:CustomizeApplication', 'app:Console', 'feature:Forecasts'),
  );
  const closureOf = (u: KeyUniverse, keys: string[]) => {
    const out = new Set<string>();
    for (const k of keys) for (const c of u.closure(u.id(k))) out.add(u.key(c));
    return out;
  };

  it('closure is monotone, extensive and idempotent (property)', () => {
    fc.assert(
      fc.property(fc.array(anyKey, { maxLength: 8 }), fc.array(anyKey, { maxLength: 8 }), fc.constantFrom(...CRM_KINDS), (a, b, kind) => {
        const u = new KeyUniverse(implicationTableFor(kind), [...a, ...b]);
        const small = closureOf(u, a);
        const big = closureOf(u, [...a, ...b]);
        for (const k of small) expect(big.has(k)).toBe(true); // monotone
        for (const k of a) expect(small.has(k)).toBe(true); // extensive
        expect(closureOf(u, [...small])).toEqual(small); // idempotent
      }),
    );
  });
});
