import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Assignment, Bundle } from '../schemas.ts';
import { AccessIndex, BundleCycleError, isAssignmentActive, type EnginePath } from './access.ts';
import { DYNAMICS_IMPLICATIONS, impliedKeys, implicationChain, SALESFORCE_IMPLICATIONS } from './implications.ts';
import { daysAfter, daysBefore, TEST_NOW, testAssignment, testBundle } from './testkit.ts';

const build = (bundles: Bundle[], assignments: Assignment[], keys: string[] = []) =>
  new AccessIndex({
    connectionId: 'sf',
    table: SALESFORCE_IMPLICATIONS,
    bundles,
    accountIds: [...new Set(assignments.map((a) => a.accountId)), 'acct'],
    assignments,
    keys,
    now: TEST_NOW,
  });

const bundles = [
  testBundle('Profile', ['object:Account:edit'], [], { kind: 'profile' }),
  testBundle('Contracts', ['object:Contract:edit']),
  testBundle('Quotes', ['object:Quote:read', 'object:Contract:read']),
  testBundle('Revenue', [], ['Contracts', 'Quotes'], { kind: 'permissionSetGroup' }),
  testBundle('Top', ['app:Console'], ['Revenue']),
  testBundle('Admin', ['system:ModifyAllData']),
];

describe('AccessIndex: effective permissions and can()', () => {
  const ix = build(bundles, [
    testAssignment('a1', 'acct', 'Top'),
    testAssignment('a2', 'acct', 'object:Lead:read', { source: 'request', requestId: 'r1', expiresAt: daysAfter(3) }),
  ]);
  const acct = ix.accountIndex('acct');

  it('answers can() through inheritance at any depth and through implications', () => {
    for (const k of ['app:Console', 'object:Contract:edit', 'object:Contract:read', 'object:Quote:read', 'object:Lead:read'])
      expect(ix.can(acct, ix.keyId(k))).toBe(true);
    for (const k of ['object:Account:read', 'object:Quote:edit', 'system:ModifyAllData']) expect(ix.can(acct, ix.keyId(k))).toBe(false);
    expect(ix.canKey('acct', 'object:Never:read')).toBe(false);
    expect(ix.canKey('nobody', 'app:Console')).toBe(false);
  });

  it('lists every path: both bundle chains for a key reached twice, and the direct grant with its expiry', () => {
    const eff = ix.effective('acct');
    const read = eff.get('object:Contract:read')!;
    expect(read.map((p) => [p.bundles.map((b) => b.name).join('>'), p.implication.join('>')]).sort()).toEqual([
      ['Top>Revenue>Contracts', 'object:Contract:edit>object:Contract:read'],
      ['Top>Revenue>Quotes', 'object:Contract:read'],
    ]);
    expect(eff.get('object:Lead:read')).toEqual([
      expect.objectContaining({ assignmentId: 'a2', source: 'request', requestId: 'r1', expiresAt: daysAfter(3), bundles: [], impliedBy: null }),
    ]);
  });

  it('explains a deny with the bundles and keys that would grant it', () => {
    const e = ix.explain('acct', 'object:Account:read');
    expect(e.allowed).toBe(false);
    if (!e.allowed) {
      expect(e.grantableBy.map((b) => b.name)).toEqual(['Profile', 'Admin']);
      expect(e.grantingKeys[0]).toBe('object:Account:read');
      expect(e.grantingKeys).toContain('system:ModifyAllData');
    }
  });

  it('explains ModifyAllData granting an object it never names', () => {
    const adm = build(bundles, [testAssignment('x', 'acct', 'Admin')]);
    const e = adm.explain('acct', 'object:Invoice__c:delete');
    expect(e.allowed).toBe(true);
    // Knowledge article 000321298: Modify All Data grants Delete on every object directly.
    if (e.allowed) expect(e.paths[0]!.implication).toEqual(['system:ModifyAllData', 'object:Invoice__c:delete']);
    expect(adm.canKey('acct', 'object:Invoice__c:delete')).toBe(true);
  });

  it('a deny names the assignment that would grant it but expired, was revoked or has not started', () => {
    const t = build(bundles, [
      testAssignment('exp', 'acct', 'Profile', { expiresAt: TEST_NOW.toISOString() }),
      testAssignment('rev', 'acct', 'object:Account:read', { revokedAt: daysBefore(1) }),
      testAssignment('fut', 'acct', 'Profile', { grantedAt: daysAfter(1) }),
    ]);
    const e = t.explain('acct', 'object:Account:read');
    expect(e.allowed).toBe(false);
    if (!e.allowed) expect(e.inactive.map((i) => `${i.path.assignmentId}:${i.reason}`).sort()).toEqual(['exp:expired', 'fut:not-started', 'rev:revoked']);
  });

  it('names the cycle when inheritance loops, at any depth', () => {
    expect(() => build([testBundle('A', [], ['B']), testBundle('B', [], ['C']), testBundle('C', [], ['A'])], [])).toThrow(
      new BundleCycleError(['A', 'B', 'C', 'A']),
    );
    expect(() => build([testBundle('A', [], ['A'])], [])).toThrow('bundle inheritance has a cycle: A → A');
  });

  it('rejects a bundle change that would create a cycle and keeps the old state', () => {
    const t = build(bundles, [testAssignment('a', 'acct', 'Revenue')]);
    expect(() => t.upsertBundle(testBundle('Contracts', ['object:Contract:edit'], ['Revenue']))).toThrow(BundleCycleError);
    expect(t.canKey('acct', 'object:Contract:edit')).toBe(true);
  });

  it('applies assignment and bundle changes incrementally', () => {
    const t = build(bundles, [testAssignment('a', 'acct', 'Quotes')]);
    expect(t.canKey('acct', 'object:Account:edit')).toBe(false);
    t.upsertAssignment(testAssignment('b', 'acct', 'Profile'));
    expect(t.canKey('acct', 'object:Account:read')).toBe(true);
    t.removeAssignment('b');
    expect(t.canKey('acct', 'object:Account:read')).toBe(false);
    t.upsertBundle(testBundle('Quotes', ['object:Quote:read', 'object:Order__c:edit']));
    expect(t.canKey('acct', 'object:Order__c:read')).toBe(true);
    expect(t.canKey('acct', 'object:Contract:read')).toBe(false);
    t.upsertAssignment(testAssignment('c', 'acct', 'system:ModifyAllData'));
    expect(t.canKey('acct', 'object:Order__c:modifyAll')).toBe(true);
  });
});

// ---------------- properties over random bundle graphs ----------------
const KEYS = [
  'object:Account:read',
  'object:Account:edit',
  'object:Account:modifyAll',
  'object:Case:delete',
  'object:Case:viewAll',
  'field:Case.Amount:edit',
  'scope:Case:read:org',
  'system:ViewAllData',
  'app:Console',
];
const graph = fc
  .integer({ min: 1, max: 8 })
  .chain((n) =>
    fc.record({
      perms: fc.array(fc.subarray(KEYS, { maxLength: 3 }), { minLength: n, maxLength: n }),
      // Only include lower-numbered bundles: acyclic by construction.
      includes: fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: n, maxLength: n }),
      assigned: fc.array(fc.nat({ max: n - 1 }), { maxLength: 4 }),
      direct: fc.subarray(KEYS, { maxLength: 2 }),
    }),
  )
  .map(({ perms, includes, assigned, direct }) => {
    const bs = perms.map((p, i) => testBundle(`B${i}`, p, i === 0 ? [] : [...new Set(includes[i]!.map((x) => `B${x % i}`))]));
    const as = [...new Set(assigned)].map((b) => testAssignment(`a${b}`, 'acct', `B${b}`));
    direct.forEach((k, i) => as.push(testAssignment(`d${i}`, 'acct', k)));
    return { bs, as };
  });

function pathGrants(ix: AccessIndex, bs: Bundle[], as: Assignment[], key: string, p: EnginePath): boolean {
  const a = as.find((x) => x.id === p.assignmentId);
  if (!a) return false;
  const byId = new Map(bs.map((b) => [b.id, b]));
  let granted: string;
  if (a.target.type === 'permission') {
    if (p.bundles.length !== 0) return false;
    granted = a.target.key;
  } else {
    if (p.bundles[0]?.bundleId !== a.target.bundleId) return false;
    for (let i = 1; i < p.bundles.length; i++) if (!byId.get(p.bundles[i - 1]!.bundleId)!.includes.includes(p.bundles[i]!.bundleId)) return false;
    granted = p.implication[0]!;
    if (!byId.get(p.bundles.at(-1)!.bundleId)!.permissions.includes(granted)) return false;
  }
  if (p.implication[0] !== granted || p.implication.at(-1) !== key) return false;
  for (let i = 1; i < p.implication.length; i++) {
    const step = implicationChain(p.implication[i - 1]!, p.implication[i]!, SALESFORCE_IMPLICATIONS, ix.universe.objects);
    if (!step || step.length !== 2) return false;
  }
  return true;
}

describe('AccessIndex properties', () => {
  it('every path explain() returns actually grants the key; allowed iff can()', () => {
    fc.assert(
      fc.property(
        graph,
        fc.constantFrom(...KEYS, 'object:Account:viewAll', 'object:Case:read', 'field:Case.Amount:read', 'scope:Case:read:own'),
        ({ bs, as }, key) => {
          const ix = build(bs, as);
          const e = ix.explain('acct', key);
          expect(e.allowed).toBe(ix.canKey('acct', key));
          if (e.allowed) for (const p of e.paths) expect(pathGrants(ix, bs, as, key, p)).toBe(true);
        },
      ),
    );
  });

  it('removing a bundle assignment never adds a permission', () => {
    fc.assert(
      fc.property(graph, ({ bs, as }) => {
        const before = build(bs, as);
        const held = new Set(before.heldKeys(before.accountIndex('acct')));
        for (const a of as) {
          const after = build(
            bs,
            as.filter((x) => x !== a),
          );
          for (const k of after.heldKeys(after.accountIndex('acct'))) expect(held.has(k)).toBe(true);
        }
      }),
    );
  });

  it('incremental changes give the same rows as a rebuild', () => {
    fc.assert(
      fc.property(graph, graph, ({ bs, as }, other) => {
        const ix = build(bs, as);
        const extra = other.as.filter((a) => a.target.type === 'permission' || bs.some((b) => a.target.type === 'bundle' && b.id === a.target.bundleId));
        for (const a of extra) ix.upsertAssignment({ ...a, id: `x-${a.id}` });
        const fresh = build(bs, [...as, ...extra.map((a) => ({ ...a, id: `x-${a.id}` }))]);
        expect(new Set(ix.heldKeys(ix.accountIndex('acct')))).toEqual(new Set(fresh.heldKeys(fresh.accountIndex('acct'))));
      }),
    );
  });

  it('agrees with impliedKeys() (the reference set implementation) on every account (property)', () => {
    fc.assert(
      fc.property(graph, ({ bs, as }) => {
        const ix = build(bs, as);
        const byId = new Map(bs.map((b) => [b.id, b]));
        const listed = (id: string, seen = new Set<string>()): string[] => {
          const b = byId.get(id);
          if (!b || seen.has(id)) return [];
          seen.add(id);
          return [...b.permissions, ...b.includes.flatMap((i) => listed(i, seen))];
        };
        const granted = as
          .filter((a) => isAssignmentActive(a, TEST_NOW))
          .flatMap((a) => (a.target.type === 'permission' ? [a.target.key] : listed(a.target.bundleId)));
        const expected = impliedKeys('salesforce', granted, [...ix.universe.objects]);
        expect(new Set(ix.heldKeys(ix.accountIndex('acct')))).toEqual(expected);
      }),
    );
  });
});

describe('AccessIndex: prerequisites (Dataverse: Assign needs Assign, Write and Read)', () => {
  const dyn = (assignments: Assignment[]) =>
    new AccessIndex({
      connectionId: 'd365',
      table: DYNAMICS_IMPLICATIONS,
      bundles: [
        testBundle('Assigner', ['object:account:assign', 'object:account:read'], [], { kind: 'role' }),
        testBundle('Writer', ['object:account:edit'], [], { kind: 'role' }),
      ],
      accountIds: ['acct'],
      assignments,
      now: TEST_NOW,
    });

  it('a key held without its prerequisites is not allowed, and the explanation names what is missing', () => {
    const ix = dyn([testAssignment('a', 'acct', 'Assigner')]);
    expect(ix.canKey('acct', 'object:account:assign')).toBe(false);
    expect(ix.canKey('acct', 'object:account:read')).toBe(true);
    const e = ix.explain('acct', 'object:account:assign');
    expect(e.allowed).toBe(false);
    if (!e.allowed) {
      expect(e.missingPrerequisites).toEqual(['object:account:edit']);
      expect(e.heldPaths.map((p) => p.bundles.map((b) => b.name))).toEqual([['Assigner']]);
    }
    expect(ix.effective('acct').has('object:account:assign')).toBe(false);
    expect(ix.heldKeys(ix.accountIndex('acct'))).not.toContain('object:account:assign');
  });

  it('is allowed once another role brings the prerequisite, and not again when that role goes', () => {
    const ix = dyn([testAssignment('a', 'acct', 'Assigner'), testAssignment('w', 'acct', 'Writer')]);
    expect(ix.canKey('acct', 'object:account:assign')).toBe(true);
    expect(ix.explain('acct', 'object:account:assign').allowed).toBe(true);
    ix.removeAssignment('w');
    expect(ix.canKey('acct', 'object:account:assign')).toBe(false);
    // A key outside the universe is decided the same way.
    expect(ix.canKey('acct', 'scope:account:assign:org')).toBe(false);
  });
});

describe('isAssignmentActive', () => {
  const grant = testAssignment('g', 'acct', 'object:Contract:read', { grantedAt: daysBefore(10), expiresAt: daysAfter(0) });
  it('counts from grantedAt (inclusive) until expiresAt (exclusive), unless revoked', () => {
    expect(isAssignmentActive(grant, new Date(TEST_NOW.getTime() - 1))).toBe(true);
    expect(isAssignmentActive(grant, TEST_NOW)).toBe(false);
    expect(isAssignmentActive({ ...grant, expiresAt: null, revokedAt: daysBefore(1) }, TEST_NOW)).toBe(false);
    expect(isAssignmentActive({ ...grant, expiresAt: null, grantedAt: daysAfter(1) }, TEST_NOW)).toBe(false);
  });
});
