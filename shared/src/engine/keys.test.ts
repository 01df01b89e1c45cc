import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_OBJECT_ACTIONS, OBJECT_ACTIONS, formatPermissionKey, parsePermissionKey } from '../permissions.ts';
import {
  DYNAMICS_IMPLICATIONS,
  GENERIC_IMPLICATIONS,
  SALESFORCE_IMPLICATIONS,
  implicationChain,
  implicationTableFor,
  implicationsOf,
} from './implications.ts';
import { InvalidPermissionKeyError, KeyUniverse, parseKeyOrThrow } from './keys.ts';

describe('key grammar (extended)', () => {
  it('keeps OBJECT_ACTIONS as the four overlay actions and lists all six separately', () => {
    expect(OBJECT_ACTIONS).toEqual(['read', 'create', 'edit', 'delete']);
    expect(ALL_OBJECT_ACTIONS).toEqual(['read', 'create', 'edit', 'delete', 'viewAll', 'modifyAll']);
  });

  it.each(['object:Account:viewAll', 'object:Invoice__c:modifyAll', 'app:SalesConsole', 'feature:Forecasts', 'scope:account:businessUnit'])(
    'round-trips %s',
    (key) => {
      const parsed = parsePermissionKey(key);
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(formatPermissionKey(parsed.value)).toBe(key);
    },
  );

  it.each([
    ['object:Account:viewall', 'action must be one of read, create, edit, delete, viewAll, modifyAll'],
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
    [GENERIC_IMPLICATIONS, 'object:Account:modifyAll', ['object:Account:viewAll', 'object:Account:edit', 'object:Account:read']],
    [SALESFORCE_IMPLICATIONS, 'object:Account:modifyAll', ['object:Account:viewAll', 'object:Account:delete', 'object:Account:edit', 'object:Account:read']],
    [GENERIC_IMPLICATIONS, 'object:Account:viewAll', ['object:Account:read']],
    [GENERIC_IMPLICATIONS, 'object:Account:edit', ['object:Account:read']],
    [DYNAMICS_IMPLICATIONS, 'object:account:delete', []],
    [GENERIC_IMPLICATIONS, 'scope:Account:org', ['scope:Account:businessUnit']],
    [GENERIC_IMPLICATIONS, 'system:ModifyAllData', ['system:ViewAllData', 'object:Account:modifyAll', 'object:Case:modifyAll']],
    [GENERIC_IMPLICATIONS, 'system:ViewAllData', ['object:Account:viewAll', 'object:Case:viewAll']],
    [GENERIC_IMPLICATIONS, 'system:ManageUsers', []],
    [GENERIC_IMPLICATIONS, 'not a key', []],
  ])('%s: %s', (table, key, expected) => {
    expect(implicationsOf(key, table, objects)).toEqual(expected);
  });

  it('picks the table by CRM kind', () => {
    expect(implicationTableFor('salesforce')).toBe(SALESFORCE_IMPLICATIONS);
    expect(implicationTableFor('dynamics')).toBe(DYNAMICS_IMPLICATIONS);
    expect(implicationTableFor('zoho')).toBe(GENERIC_IMPLICATIONS);
  });

  it('finds the implication chain, even to an object outside the universe', () => {
    expect(implicationChain('system:ModifyAllData', 'object:Invoice__c:read', SALESFORCE_IMPLICATIONS)).toEqual([
      'system:ModifyAllData',
      'object:Invoice__c:modifyAll',
      'object:Invoice__c:read',
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
    expect(u.chain(mad, u.id('object:Account:read'))).toEqual(['system:ModifyAllData', 'object:Account:modifyAll', 'object:Account:read']);
    expect(u.id('object:Nope:read')).toBe(-1);
    expect(() => u.intern('bogus')).toThrow(InvalidPermissionKeyError);
  });

  it('reports when a later intern grew the universe', () => {
    const u = new KeyUniverse(GENERIC_IMPLICATIONS, ['system:ModifyAllData']);
    u.intern('object:Lead:read');
    expect(u.close()).toBe(true);
    expect(u.implies(u.id('system:ModifyAllData'), u.id('object:Lead:read'))).toBe(true);
  });

  const objectName = fc.constantFrom('Account', 'Case', 'Lead', 'Invoice__c');
  const anyKey = fc.oneof(
    fc.tuple(objectName, fc.constantFrom(...ALL_OBJECT_ACTIONS)).map(([o, a]) => `object:${o}:${a}`),
    fc.tuple(objectName, fc.constantFrom('own', 'team', 'businessUnit', 'org')).map(([o, s]) => `scope:${o}:${s}`),
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
      fc.property(fc.array(anyKey, { maxLength: 8 }), fc.array(anyKey, { maxLength: 8 }), fc.constantFrom('salesforce', 'dynamics', 'generic' as const), (a, b, kind) => {
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
