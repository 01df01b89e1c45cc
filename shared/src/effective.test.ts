import { describe, expect, it } from 'vitest';
import { BundleCycleError, BundleIndex, effectivePermissions, explain, isAssignmentActive } from './effective.ts';
import type { Assignment, Bundle } from './schemas.ts';

const bundle = (id: string, permissions: string[], includes: string[] = [], kind: Bundle['kind'] = 'permissionSet'): Bundle => ({
  id,
  connectionId: 'sf',
  kind,
  name: id,
  includes,
  permissions,
});

const assign = (id: string, target: Assignment['target'], extra: Partial<Assignment> = {}): Assignment => ({
  id,
  accountId: 'acct',
  target,
  source: 'directory',
  requestId: null,
  grantedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: null,
  revokedAt: null,
  ...extra,
});

const now = new Date('2026-06-01T00:00:00.000Z');

describe('effectivePermissions', () => {
  const index = new BundleIndex([
    bundle('Profile', ['object:Account:edit'], [], 'profile'),
    bundle('Contracts', ['object:Contract:read']),
    bundle('Quotes', ['object:Quote:edit']),
    bundle('Revenue', [], ['Contracts', 'Quotes'], 'permissionSetGroup'),
  ]);

  it('collects keys through inheritance and says which chain grants each', () => {
    const eff = effectivePermissions([assign('a1', { type: 'bundle', bundleId: 'Revenue' })], index, now);
    const contract = eff.get('object:Contract:read');
    expect(contract).toHaveLength(1);
    expect(contract![0]!.bundles.map((b) => b.name)).toEqual(['Revenue', 'Contracts']);
    expect(eff.has('object:Account:edit')).toBe(false);
  });

  it('applies implications with their provenance (edit implies read)', () => {
    const eff = effectivePermissions([assign('a1', { type: 'bundle', bundleId: 'Profile' })], index, now);
    const read = eff.get('object:Account:read');
    expect(read).toHaveLength(1);
    expect(read![0]!.impliedBy).toBe('object:Account:edit');
    expect(read![0]!.bundles.map((b) => b.name)).toEqual(['Profile']);
  });

  it('counts a direct grant until its expiry, exclusive', () => {
    const grant = assign('g1', { type: 'permission', key: 'object:Contract:read' }, {
      source: 'request',
      requestId: 'r1',
      grantedAt: '2026-05-01T00:00:00.000Z',
      expiresAt: now.toISOString(),
    });
    expect(isAssignmentActive(grant, new Date(now.getTime() - 1))).toBe(true);
    expect(isAssignmentActive(grant, now)).toBe(false);
    expect(effectivePermissions([grant], index, now).has('object:Contract:read')).toBe(false);
    const before = effectivePermissions([grant], index, new Date(now.getTime() - 1));
    expect(before.get('object:Contract:read')![0]).toMatchObject({ source: 'request', requestId: 'r1', bundles: [] });
  });

  it('ignores revoked assignments and ones that start in the future', () => {
    const revoked = assign('a1', { type: 'bundle', bundleId: 'Contracts' }, { revokedAt: '2026-05-01T00:00:00.000Z' });
    const future = assign('a2', { type: 'bundle', bundleId: 'Quotes' }, { grantedAt: '2026-07-01T00:00:00.000Z' });
    expect(effectivePermissions([revoked, future], index, now).size).toBe(0);
  });

  it('names the cycle when bundle inheritance loops', () => {
    expect(() => new BundleIndex([bundle('A', [], ['B']), bundle('B', [], ['C']), bundle('C', [], ['A'])])).toThrow(
      BundleCycleError,
    );
    try {
      new BundleIndex([bundle('A', [], ['B']), bundle('B', [], ['A'])]);
    } catch (e) {
      expect((e as Error).message).toBe('bundle inheritance has a cycle: A → B → A');
    }
  });
});

describe('explain', () => {
  const index = new BundleIndex([
    bundle('Contracts', ['object:Contract:edit']),
    bundle('Revenue', [], ['Contracts'], 'permissionSetGroup'),
    bundle('Other', ['object:Quote:read']),
  ]);

  it('for a deny, lists the bundles that would grant the key (through inheritance and implication), smallest first', () => {
    const result = explain('object:Contract:read', new Map(), index, 'sf');
    expect(result.allowed).toBe(false);
    if (!result.allowed) expect(result.grantableBy.map((b) => b.name)).toEqual(['Contracts', 'Revenue']);
  });

  it('for an allow, every path it returns actually grants the key', () => {
    const eff = effectivePermissions([assign('a', { type: 'bundle', bundleId: 'Revenue' })], index, now);
    const result = explain('object:Contract:read', eff, index);
    expect(result.allowed).toBe(true);
    if (result.allowed) {
      for (const path of result.paths) {
        const last = path.bundles.at(-1)!;
        const granted = index.get(last.bundleId)!.permissions;
        expect(granted.includes('object:Contract:read') || granted.includes(path.impliedBy!)).toBe(true);
      }
    }
  });
});
