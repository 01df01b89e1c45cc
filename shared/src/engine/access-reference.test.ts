/**
 * The optimised AccessIndex (keys sharing columns, grants in flat arrays, incremental changes) against
 * a straightforward reference written over plain strings: `impliedKeys` (closure, then prerequisites)
 * over the keys an account's active assignments name, and effective/explain rebuilt from the bundles
 * and the implication rules directly. Random orgs for every CRM kind's table and one with nested
 * prerequisites, changed by random upserts, removals, bundle edits and clock moves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Assignment, Bundle, CrmKind } from '../schemas.ts';
import { parsePermissionKey } from '../permissions.ts';
import { AccessIndex, BundleCycleError, isAssignmentActive, type BundleStep, type EnginePath, type InactiveReason } from './access.ts';
import {
  applyPrerequisites,
  closureOf,
  GENERIC_PERMISSIONS,
  impliedKeys,
  implicationChain,
  implicationsOf,
  implicationTableFor,
  objectOf,
  prerequisitesOf,
  type ImplicationTable,
} from './implications.ts';
import { daysAfter, daysBefore, TEST_NOW, testAssignment, testBundle } from './testkit.ts';

/** A table whose prerequisites have prerequisites (assign → edit → read), to exercise nested gates. */
const NESTED: ImplicationTable = {
  ...GENERIC_PERMISSIONS,
  name: 'nested',
  prerequisites: [
    { on: 'object', action: 'assign', requires: ['edit'], source: GENERIC_PERMISSIONS.scopeOrder! },
    { on: 'object', action: 'edit', requires: ['read'], source: GENERIC_PERMISSIONS.scopeOrder! },
    { on: 'scope', action: 'edit', requires: ['read'], source: GENERIC_PERMISSIONS.scopeOrder! },
    { on: 'scopeObject', actions: ['read', 'edit'], source: GENERIC_PERMISSIONS.scopeOrder! },
  ],
};

const TABLES: { name: string; table: ImplicationTable; crm: CrmKind | null }[] = [
  ...(['salesforce', 'dynamics', 'hubspot', 'zoho', 'fxiaoke', 'generic'] as const).map((crm) => ({ name: crm, table: implicationTableFor(crm), crm })),
  { name: 'nested prerequisites', table: NESTED, crm: null },
];

const OBJECTS = ['Account', 'Case', 'Lead'];
/** Named by changes only: new to the universe, so org-wide keys reach one more object. */
const NEW_OBJECT = 'Deal__c';
/** Never in the universe: decided through the rules (`canKey` outside the universe). */
const OUTSIDE_OBJECT = 'Zzz__c';

function keysFor(table: ImplicationTable, objects: string[]): string[] {
  const v = table.vocabulary;
  const out: string[] = [];
  for (const o of objects) {
    for (const a of v.objectActions) out.push(`object:${o}:${a}`);
    for (const a of v.scopeActions) for (const s of v.scopes) out.push(`scope:${o}:${a}:${s}`);
    for (const a of v.fieldActions) out.push(`field:${o}.Amount:${a}`);
  }
  const names =
    v.names === null || v.names.test('ModifyAllData') ? ['ModifyAllData', 'ViewAllData', 'ManageUsers', 'ApiEnabled'] : ['prvExportToExcel', 'prvBulkDelete'];
  for (const n of names) out.push(`system:${n}`);
  out.push('app:Console', 'feature:Forecasts');
  return out.filter((k) => parsePermissionKey(k).ok);
}

interface Op {
  kind: 'assign' | 'remove' | 'bundle' | 'clock';
  pick: number;
  account: number;
  target: number;
  when: number;
  perms: number[];
  includes: number[];
}

const scenarioArb = fc.record({
  table: fc.nat({ max: TABLES.length - 1 }),
  bundles: fc.array(fc.record({ perms: fc.array(fc.nat(), { maxLength: 4 }), includes: fc.array(fc.nat(), { maxLength: 2 }) }), { minLength: 1, maxLength: 6 }),
  assignments: fc.array(fc.record({ account: fc.nat({ max: 2 }), target: fc.nat(), when: fc.nat({ max: 4 }) }), { maxLength: 8 }),
  inputKeys: fc.array(fc.nat(), { maxLength: 4 }),
  ops: fc.array(
    fc.record({
      kind: fc.constantFrom('assign', 'assign', 'remove', 'bundle', 'clock') as fc.Arbitrary<Op['kind']>,
      pick: fc.nat(),
      account: fc.nat({ max: 2 }),
      target: fc.nat(),
      when: fc.nat({ max: 4 }),
      perms: fc.array(fc.nat(), { maxLength: 3 }),
      includes: fc.array(fc.nat(), { maxLength: 2 }),
    }),
    { maxLength: 6 },
  ),
});

/** Assignment times: active, expired, revoked, not started, or ending soon (active until the clock passes it). */
function timed(when: number): Partial<Assignment> {
  switch (when) {
    case 0:
      return {};
    case 1:
      return { expiresAt: daysBefore(1) };
    case 2:
      return { revokedAt: daysBefore(2) };
    case 3:
      return { grantedAt: daysAfter(2) };
    default:
      return { expiresAt: daysAfter(1) };
  }
}

/** The reference: plain data and string sets. */
class Reference {
  bundles: Bundle[] = [];
  /** Arrival order (an upsert of a known id moves it to the end, as the index does). */
  assignments: Assignment[] = [];
  now = TEST_NOW;

  constructor(
    readonly table: ImplicationTable,
    readonly crm: CrmKind | null,
  ) {}

  bundle(id: string): Bundle | undefined {
    return this.bundles.find((b) => b.id === id);
  }

  upsertAssignment(a: Assignment): void {
    this.assignments = this.assignments.filter((x) => x.id !== a.id);
    this.assignments.push(a);
  }

  /** Whether replacing/adding `b` would make inheritance loop. */
  wouldCycle(b: Bundle): boolean {
    const list = this.bundles.some((x) => x.id === b.id) ? this.bundles.map((x) => (x.id === b.id ? b : x)) : [...this.bundles, b];
    const byId = new Map(list.map((x) => [x.id, x]));
    const state = new Map<string, number>();
    const visit = (id: string): boolean => {
      if (state.get(id) === 2) return false;
      if (state.get(id) === 1) return true;
      state.set(id, 1);
      for (const inc of byId.get(id)?.includes ?? []) if (byId.has(inc) && visit(inc)) return true;
      state.set(id, 2);
      return false;
    };
    return list.some((x) => visit(x.id));
  }

  upsertBundle(b: Bundle): void {
    const i = this.bundles.findIndex((x) => x.id === b.id);
    if (i >= 0) this.bundles[i] = b;
    else this.bundles.push(b);
  }

  /** Keys a bundle lists, itself or through the bundles it includes. */
  listed(id: string, seen = new Set<string>()): string[] {
    const b = this.bundle(id);
    if (!b || seen.has(id)) return [];
    seen.add(id);
    return [...b.permissions, ...b.includes.flatMap((i) => this.listed(i, seen))];
  }

  active(accountId: string): Assignment[] {
    return this.assignments.filter((a) => a.accountId === accountId && isAssignmentActive(a, this.now));
  }

  granted(accountId: string): string[] {
    return this.active(accountId).flatMap((a) => (a.target.type === 'permission' ? [a.target.key] : this.listed(a.target.bundleId)));
  }

  /** What the keys grant: `impliedKeys` for a CRM kind's own table, the same two steps for a custom one. */
  allowed(keys: string[], objects: string[]): Set<string> {
    const expected = applyPrerequisites(closureOf(keys, this.table, objects), this.table);
    if (this.crm) expect(impliedKeys(this.crm, keys, objects)).toEqual(expected);
    return expected;
  }

  step(b: Bundle): BundleStep {
    return { bundleId: b.id, name: b.name, kind: b.kind };
  }

  chainsFrom(b: Bundle): BundleStep[][] {
    const out: BundleStep[][] = [[this.step(b)]];
    for (const inc of b.includes) {
      const x = this.bundle(inc);
      if (x) for (const chain of this.chainsFrom(x)) out.push([this.step(b), ...chain]);
    }
    return out;
  }

  sources(a: Assignment): { key: string; bundles: BundleStep[] }[] {
    if (a.target.type === 'permission') return [{ key: a.target.key, bundles: [] }];
    const b = this.bundle(a.target.bundleId);
    if (!b) return [];
    return this.chainsFrom(b).flatMap((chain) => this.bundle(chain.at(-1)!.bundleId)!.permissions.map((key) => ({ key, bundles: chain })));
  }

  path(a: Assignment, bundles: BundleStep[], chain: string[]): EnginePath {
    return {
      assignmentId: a.id,
      source: a.source,
      requestId: a.requestId,
      expiresAt: a.expiresAt,
      bundles,
      impliedBy: chain.length > 1 ? chain[chain.length - 2]! : null,
      implication: chain,
    };
  }

  effective(accountId: string, allowed: Set<string>, objects: string[]): Map<string, EnginePath[]> {
    const out = new Map<string, EnginePath[]>();
    for (const a of this.active(accountId))
      for (const src of this.sources(a)) {
        // Breadth-first over the one-step rules, in their order.
        const parent = new Map<string, string | null>([[src.key, null]]);
        const queue = [src.key];
        for (let q = 0; q < queue.length; q++)
          for (const next of implicationsOf(queue[q]!, this.table, objects)) if (!parent.has(next)) parent.set(next, queue[q]!), queue.push(next);
        for (const k of queue) {
          if (!allowed.has(k)) continue;
          const chain: string[] = [];
          for (let c: string | null = k; c !== null; c = parent.get(c)!) chain.push(c);
          const list = out.get(k) ?? [];
          list.push(this.path(a, src.bundles, chain.reverse()));
          out.set(k, list);
        }
      }
    return out;
  }

  paths(a: Assignment, key: string, objects: string[]): EnginePath[] {
    return this.sources(a).flatMap((src) => {
      const chain = implicationChain(src.key, key, this.table, objects);
      return chain ? [this.path(a, src.bundles, chain)] : [];
    });
  }
}

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function runScenario(s: Scenario): void {
  const { table, crm } = TABLES[s.table]!;
  const pool = keysFor(table, OBJECTS);
  const extended = [...pool, ...keysFor(table, [NEW_OBJECT])];
  const ref = new Reference(table, crm);
  const bundleId = (i: number) => `B${i}`;
  s.bundles.forEach((b, i) =>
    ref.upsertBundle(
      testBundle(
        bundleId(i),
        [...new Set(b.perms.map((p) => pool[p % pool.length]!))],
        // Only lower-numbered bundles, plus sometimes an unknown one: acyclic, with a warning.
        [...new Set(b.includes.map((x) => (i === 0 || x % 5 === 4 ? 'Unknown' : bundleId(x % i))))],
      ),
    ),
  );
  const target = (t: number, keys: string[]) => (t % 3 === 0 ? bundleId(t % (s.bundles.length + 1)) : keys[t % keys.length]!);
  s.assignments.forEach((a, i) => ref.upsertAssignment(testAssignment(`g${i}`, `acct${a.account}`, target(a.target, pool), timed(a.when))));
  const inputKeys = s.inputKeys.map((k) => pool[k % pool.length]!);
  const accounts = ['acct0', 'acct1', 'acct2'];
  const ix = new AccessIndex({
    connectionId: 'c',
    table,
    bundles: ref.bundles,
    accountIds: accounts,
    assignments: ref.assignments,
    keys: inputKeys,
    now: ref.now,
  });

  let serial = 0;
  for (const op of s.ops) {
    if (op.kind === 'assign') {
      // A new assignment, or a replacement of an existing one (moved to the end of its account's list).
      const id = op.pick % 3 === 0 && ref.assignments.length > 0 ? ref.assignments[op.pick % ref.assignments.length]!.id : `n${serial++}`;
      const a = testAssignment(id, accounts[op.account]!, target(op.target, extended), timed(op.when));
      ref.upsertAssignment(a);
      ix.upsertAssignment(a);
    } else if (op.kind === 'remove') {
      if (ref.assignments.length === 0) continue;
      const id = ref.assignments[op.pick % ref.assignments.length]!.id;
      ref.assignments = ref.assignments.filter((x) => x.id !== id);
      ix.removeAssignment(id);
    } else if (op.kind === 'bundle') {
      const n = ref.bundles.length;
      const b = testBundle(
        bundleId(op.pick % (n + 1)),
        [...new Set(op.perms.map((p) => extended[p % extended.length]!))],
        [...new Set(op.includes.map((x) => bundleId(x % (n + 1))))],
      );
      if (ref.wouldCycle(b)) {
        expect(() => ix.upsertBundle(b)).toThrow(BundleCycleError);
        continue;
      }
      ix.upsertBundle(b);
      ref.upsertBundle(b);
    } else {
      ref.now = new Date(ref.now.getTime() + ((op.pick % 5) - 2) * 86_400_000);
      ix.setNow(ref.now);
    }
  }

  const objects = [...ix.universe.objects];
  const universe = ix.universe.keys();
  const probes = [...extended, ...keysFor(table, [OUTSIDE_OBJECT]).slice(0, 12)];
  // explain() is checked in full for a sample of the probes (every 7th, from a scenario-chosen start).
  const explained = new Set(probes.filter((_, i) => (i + s.inputKeys.length + s.ops.length) % 7 === 0));
  const closureSizes = new Map<string, number>();
  const closureSize = (k: string) => {
    let n = closureSizes.get(k);
    if (n === undefined) closureSizes.set(k, (n = closureOf([k], table, objects).size));
    return n;
  };
  for (const accountId of accounts) {
    const a = ix.accountIndex(accountId);
    const granted = ref.granted(accountId);
    const allowed = ref.allowed(granted, objects);
    // can() over the whole universe, and the held list.
    for (const k of universe) expect(ix.can(a, ix.keyId(k)), `${accountId} ${k}`).toBe(allowed.has(k));
    expect(ix.heldKeys(a).sort()).toEqual([...allowed].sort());
    expect(ix.heldCount(a)).toBe(allowed.size);
    expect(ix.grantedKeys(a)).toEqual([...new Set(granted)].sort((x, y) => ix.keyId(x) - ix.keyId(y)));
    // canKey and explain, inside the universe and outside it (a key on an object the org never named).
    for (const key of probes) {
      const inUniverse = ix.keyId(key) >= 0;
      const parsed = parsePermissionKey(key);
      const o = parsed.ok ? objectOf(parsed.value) : null;
      const wider = inUniverse || o === null ? objects : [...objects, o];
      const expected = inUniverse ? allowed : ref.allowed(granted, wider);
      expect(ix.canKey(accountId, key), `${accountId} canKey ${key}`).toBe(expected.has(key));
      if (!explained.has(key)) continue;
      const e = ix.explain(accountId, key);
      expect(e.allowed, `${accountId} explain ${key}`).toBe(expected.has(key));
      const activePaths = ref.active(accountId).flatMap((x) => ref.paths(x, key, wider));
      const missing = activePaths.length > 0 ? prerequisitesOf(key, table).filter((r) => !expected.has(r)) : [];
      if (e.allowed) {
        expect(e.paths).toEqual(activePaths);
        continue;
      }
      expect(e.missingPrerequisites).toEqual(missing);
      expect(e.heldPaths).toEqual(missing.length > 0 ? activePaths : []);
      const inactive: { path: EnginePath; reason: InactiveReason }[] = [];
      for (const x of ref.assignments) {
        if (x.accountId !== accountId || isAssignmentActive(x, ref.now)) continue;
        const t = ref.now.getTime();
        const reason: InactiveReason =
          x.revokedAt !== null && Date.parse(x.revokedAt) <= t ? 'revoked' : Date.parse(x.grantedAt) > t ? 'not-started' : 'expired';
        for (const path of ref.paths(x, key, wider)) inactive.push({ path, reason });
      }
      expect(e.inactive).toEqual(inactive);
      // Bundles whose keys grant it (with prerequisites, for a key the universe knows), smallest first.
      const bundleSize = (b: Bundle) => closureOf(ref.listed(b.id), table, objects).size;
      const granting = ref.bundles
        .filter((b) => (inUniverse ? ref.allowed(ref.listed(b.id), objects) : closureOf(ref.listed(b.id), table, wider)).has(key))
        .sort((x, y) => bundleSize(x) - bundleSize(y) || x.name.localeCompare(y.name))
        .map((b) => ref.step(b));
      expect(e.grantableBy).toEqual(granting);
      const impliers = inUniverse
        ? universe
            .filter((j) => j !== key && implicationChain(j, key, table, objects) !== null)
            .sort((x, y) => closureSize(x) - closureSize(y) || ix.keyId(x) - ix.keyId(y))
        : [];
      expect(e.grantingKeys).toEqual([key, ...impliers]);
    }
    // Every path of every allowed key, in the order the index reports them.
    expect([...ix.effective(accountId)]).toEqual([...ref.effective(accountId, allowed, objects)]);
  }
  // Keys that share a column are held together by every account.
  for (let c = 0; c < ix.columnCount; c++) {
    const keys = [...ix.columnKeys(c)].map((k) => ix.universe.key(k));
    for (const accountId of accounts) {
      const allowed = ref.allowed(ref.granted(accountId), objects);
      expect(new Set(keys.map((k) => allowed.has(k))).size, keys.join(' ')).toBeLessThanOrEqual(1);
    }
  }
}

describe('AccessIndex against a straightforward reference (property)', () => {
  it.each(TABLES.map((t, i) => [t.name, i] as const))(
    '%s: can, canKey, heldKeys, effective and explain equal the reference after random changes',
    (_name, i) => {
      fc.assert(
        fc.property(scenarioArb, (s) => runScenario({ ...s, table: i })),
        { numRuns: 100 },
      );
    },
    120_000,
  );
});

describe('AccessIndex columns', () => {
  const table = implicationTableFor('salesforce');
  const build = (assignments: Assignment[]) =>
    new AccessIndex({
      connectionId: 'sf',
      table,
      bundles: [testBundle('Admin', ['object:Account:modifyAll'])],
      accountIds: ['acct', 'other'],
      assignments,
      now: TEST_NOW,
    });

  it("Modify All's org-wide record scopes share columns: fewer bits per account than keys", () => {
    const ix = build([testAssignment('a', 'acct', 'Admin')]);
    expect(ix.columnCount).toBeLessThan(ix.keyCount);
    // Edit at every scope is held exactly when Modify All is: one column for the four keys.
    const edit = ['org', 'hierarchy', 'team', 'own'].map((s) => ix.column(ix.keyId(`scope:Account:edit:${s}`)));
    expect(new Set(edit).size).toBe(1);
    expect(ix.canKey('acct', 'scope:Account:edit:team')).toBe(true);
    expect(ix.canKey('other', 'scope:Account:edit:team')).toBe(false);
  });

  it('a grant of a key that was only implied keeps the columns when it takes whole columns, and splits them (one rebuild) when not', () => {
    const ix = build([testAssignment('a', 'acct', 'Admin'), testAssignment('w', 'other', 'object:Account:edit')]);
    const rebuilds = ix.rebuilds;
    // Edit at org scope implies edit at every narrower scope: exactly the column Modify All gives
    // them, so granting it directly keeps every column exact.
    ix.upsertAssignment(testAssignment('b', 'other', 'scope:Account:edit:org'));
    expect(ix.rebuilds).toBe(rebuilds);
    expect(ix.canKey('other', 'scope:Account:edit:own')).toBe(true);
    expect(ix.canKey('other', 'scope:Account:delete:own')).toBe(false);
    // Edit at team scope implies team and own but not hierarchy or org: the column splits.
    ix.upsertAssignment(testAssignment('c', 'acct', 'scope:Account:edit:team'));
    ix.removeAssignment('b');
    expect(ix.rebuilds).toBe(rebuilds + 1);
    expect(ix.column(ix.keyId('scope:Account:edit:team'))).not.toBe(ix.column(ix.keyId('scope:Account:edit:org')));
    expect(ix.canKey('other', 'scope:Account:edit:own')).toBe(false);
    expect(ix.canKey('acct', 'scope:Account:edit:org')).toBe(true);
    // Record access needs the object permission (Control Who Sees What): held, not allowed.
    ix.removeAssignment('w');
    ix.upsertAssignment(testAssignment('d', 'other', 'scope:Account:edit:team'));
    expect(ix.canKey('other', 'scope:Account:edit:team')).toBe(false);
    const e = ix.explain('other', 'scope:Account:edit:team');
    expect(e.allowed === false && e.missingPrerequisites).toEqual(['object:Account:edit']);
  });
});
