import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Finding, FindingKind } from './findings.ts';
import { findingId } from './findings.ts';
import { BundleCycleError } from './access.ts';
import { findings, OrgEngine } from './org.ts';
import { daysAfter, daysBefore, TEST_NOW, testAccount, testAssignment, testBundle, testCatalog, testOrg, testPerson, testPolicy } from './testkit.ts';
import type { OrgData, SodRule } from './types.ts';
import { salesforceSystemCatalog } from './catalog/salesforce.ts';

const bundles = [
  testBundle('Sales', ['object:Opportunity:edit', 'object:Account:read']),
  testBundle('Export', ['system:ExportReport']),
  testBundle('Payables', ['object:Invoice__c:edit']),
  testBundle('Approvals', ['object:Payment__c:edit']),
  testBundle('Admin', ['system:ModifyAllData', 'system:ViewAllData', 'system:ManageUsers']),
  testBundle('MadOnly', ['system:ModifyAllData']),
];

/** One sales rep ("u") with account "acc" holding `held` (bundle ids or keys), plus optional peers. */
function org(held: string[], extra: Partial<OrgData> = {}, opts: { peers?: number; peerHeld?: string[] } = {}): OrgData {
  const people = [testPerson('u')];
  const accounts = [testAccount('acc', 'u')];
  const assignments = held.map((h, i) => testAssignment(`as${i}`, 'acc', h));
  const usage = held.map((h) => ({
    accountId: 'acc',
    key: h.includes(':') ? h : bundles.find((b) => b.id === h)!.permissions[0]!,
    lastUsedAt: daysBefore(2),
    count: 5,
  }));
  for (let i = 0; i < (opts.peers ?? 0); i++) {
    people.push(testPerson(`p${i}`));
    accounts.push(testAccount(`pa${i}`, `p${i}`));
    (opts.peerHeld ?? ['Sales']).forEach((h, j) => assignments.push(testAssignment(`pas${i}-${j}`, `pa${i}`, h)));
  }
  return testOrg({
    people,
    accounts,
    bundles,
    assignments,
    usage,
    catalog: salesforceSystemCatalog('sf'),
    policy: testPolicy({
      baselines: [{ id: 'bl', connectionId: 'sf', name: 'Sales rep', match: { department: 'Sales', title: 'Rep' }, bundleIds: ['Sales'], keys: [] }],
    }),
    ...extra,
  });
}

const kinds = (fs: Finding[], accountId = 'acc') =>
  fs
    .filter((f) => f.accountId === accountId)
    .map((f) => `${f.kind}:${[...f.bundleIds, ...f.keys].join('+')}:${f.severity}`)
    .sort();
const ofKind = (fs: Finding[], kind: FindingKind, accountId = 'acc') => fs.filter((f) => f.kind === kind && f.accountId === accountId);

describe('findings: one example table per kind', () => {
  it('a clean account within its baseline has no findings', () => {
    expect(kinds(findings(org(['Sales']), TEST_NOW))).toEqual([]);
  });

  it('beyond baseline: a bundle or direct key outside the job baseline (per assignment, with the uncovered keys)', () => {
    const fs = findings(org(['Sales', 'Payables', 'object:Lead:read']), TEST_NOW);
    const beyond = ofKind(fs, 'beyond-baseline');
    expect(beyond.map((f) => [f.bundleIds, f.keys])).toEqual([
      [['Payables'], ['object:Invoice__c:edit']],
      [[], ['object:Lead:read']],
    ]);
    expect(beyond[0]!.evidence).toMatchObject({ kind: 'beyond-baseline', baselineIds: ['bl'], grantedBy: [{ assignmentId: 'as1', bundleName: 'Payables' }] });
  });

  it('beyond baseline: a baseline matching the department only applies to every title; no baseline, no judgement', () => {
    const deptOnly = org(['Sales', 'Payables']);
    deptOnly.policy.baselines = [{ id: 'd', connectionId: 'sf', name: 'Sales', match: { department: 'Sales' }, bundleIds: ['Sales', 'Payables'], keys: [] }];
    expect(ofKind(findings(deptOnly, TEST_NOW), 'beyond-baseline')).toEqual([]);
    const none = org(['Sales', 'Payables']);
    none.policy.baselines = [];
    expect(ofKind(findings(none, TEST_NOW), 'beyond-baseline')).toEqual([]);
  });

  it('a baseline key covers what it implies (a baseline edit covers a granted read)', () => {
    const o = org(['object:Lead:read']);
    o.policy.baselines[0]!.keys = ['object:Lead:edit'];
    expect(ofKind(findings(o, TEST_NOW), 'beyond-baseline')).toEqual([]);
  });

  const sod: SodRule = {
    id: 'sod1',
    connectionId: 'sf',
    name: 'Pay what you book',
    left: { bundleIds: ['Payables'] },
    right: { keys: ['object:Payment__c:edit'] },
    severity: 'critical',
  };
  it.each([
    [['Payables', 'Approvals'], 1],
    [['Payables'], 0],
    [['Approvals'], 0],
    [['Payables', 'object:Payment__c:edit'], 1],
  ])('SoD conflict when both sides are held: %j → %i', (held, n) => {
    const o = org(held);
    o.policy.sodRules = [sod];
    const fs = ofKind(findings(o, TEST_NOW), 'sod-conflict');
    expect(fs).toHaveLength(n);
    if (n) expect(fs[0]).toMatchObject({ severity: 'critical', bundleIds: ['Payables'], keys: ['object:Payment__c:edit'] });
  });

  it('high risk on a non-admin function (granted keys only; the admin function is exempt)', () => {
    const fs = findings(org(['Sales', 'Export']), TEST_NOW);
    expect(ofKind(fs, 'high-risk').map((f) => [f.keys, f.severity])).toEqual([[['system:ExportReport'], 'high']]);
    const admin = org(['Sales', 'Export']);
    admin.people[0] = testPerson('u', { department: 'IT', title: 'CRM Administrator' });
    expect(ofKind(findings(admin, TEST_NOW), 'high-risk')).toEqual([]);
    // ModifyAllData implies ViewAllData: only the granted one is a finding.
    expect(ofKind(findings(org(['MadOnly']), TEST_NOW), 'high-risk').map((f) => f.keys[0])).toEqual(['system:ModifyAllData']);
  });

  it('super-admin equivalent: ViewAllData + ModifyAllData + ManageUsers (critical; high on an admin function)', () => {
    const fs = ofKind(findings(org(['Admin']), TEST_NOW), 'super-admin');
    expect(fs.map((f) => [f.keys, f.severity])).toEqual([[['system:ManageUsers', 'system:ModifyAllData', 'system:ViewAllData'], 'critical']]);
    // ModifyAllData implies ViewAllData, so MAD + ManageUsers is enough.
    expect(ofKind(findings(org(['MadOnly', 'system:ManageUsers']), TEST_NOW), 'super-admin')).toHaveLength(1);
    expect(ofKind(findings(org(['MadOnly']), TEST_NOW), 'super-admin')).toHaveLength(0);
    const admin = org(['Admin']);
    admin.people[0] = testPerson('u', { department: 'IT', title: 'CRM Administrator' });
    expect(ofKind(findings(admin, TEST_NOW), 'super-admin')[0]!.severity).toBe('high');
  });

  describe('unused (window 90 days)', () => {
    const withUsage = (lastUsed: string | null, account: Partial<ReturnType<typeof testAccount>> = {}, grantedAt = daysBefore(400)) =>
      testOrg({
        people: [testPerson('u')],
        accounts: [testAccount('acc', 'u', account)],
        bundles,
        assignments: [testAssignment('as0', 'acc', 'Sales', { grantedAt })],
        usage: lastUsed ? [{ accountId: 'acc', key: 'object:Account:read', lastUsedAt: lastUsed, count: 3 }] : [],
      });
    it.each([
      ['never used', null, {}, daysBefore(400), 1],
      ['used 10 days ago', daysBefore(10), {}, daysBefore(400), 0],
      ['last used 91 days ago', daysBefore(91), {}, daysBefore(400), 1],
      ['used exactly at the window start', daysBefore(90), {}, daysBefore(400), 0],
      ['account younger than the window', null, { createdAt: daysBefore(89) }, daysBefore(89), 0],
      ['account exactly as old as the window', null, { createdAt: daysBefore(90) }, daysBefore(90), 1],
      ['assignment younger than the window', null, {}, daysBefore(30), 0],
    ] as const)('%s', (_name, lastUsed, account, grantedAt, n) => {
      const fs = ofKind(findings(withUsage(lastUsed, account, grantedAt), TEST_NOW), 'unused');
      expect(fs).toHaveLength(n);
      if (n && lastUsed) expect(fs[0]!.evidence).toMatchObject({ kind: 'unused', lastUsedAt: lastUsed, windowDays: 90 });
    });
    it('use of an implied key counts for the assignment that implies it', () => {
      const o = withUsage(null);
      o.usage = [{ accountId: 'acc', key: 'object:Opportunity:read', lastUsedAt: daysBefore(1), count: 1 }];
      expect(ofKind(findings(o, TEST_NOW), 'unused')).toHaveLength(0);
    });
  });

  it.each([
    ['logged in 29 days ago', daysBefore(29), daysBefore(500), 0],
    ['logged in exactly 30 days ago', daysBefore(30), daysBefore(500), 1],
    ['never logged in, created 10 days ago', null, daysBefore(10), 0],
    ['never logged in, created 40 days ago', null, daysBefore(40), 1],
  ])('dormant: %s', (_name, lastLoginAt, createdAt, n) => {
    const o = org(['Sales']);
    o.accounts[0] = testAccount('acc', 'u', { lastLoginAt, createdAt });
    expect(ofKind(findings(o, TEST_NOW), 'dormant')).toHaveLength(n);
  });

  describe('peer outliers (share < 10%, peer group >= 5)', () => {
    it.each([
      ['held by none of 6 peers', 6, ['Sales'], 1],
      ['held by all of 6 peers', 6, ['Sales', 'Payables'], 0],
      ['peer group of 4 (too small to judge)', 4, ['Sales'], 0],
      ['no peers at all (empty group)', 0, ['Sales'], 0],
    ])('%s', (_name, peers, peerHeld, n) => {
      const fs = ofKind(findings(org(['Sales', 'Payables'], {}, { peers, peerHeld }), TEST_NOW), 'peer-outlier');
      expect(fs).toHaveLength(n);
      if (n) expect(fs[0]).toMatchObject({ bundleIds: ['Payables'], evidence: { holders: 0, peers, share: 0 } });
    });
    it('the share is configurable', () => {
      // 1 of 10 peers hold it: 10%. Below 0.2 → outlier; below 0.1 → not (10% is not fewer than 10%).
      const o = org(['Sales', 'Payables'], {}, { peers: 10 });
      o.assignments.push(testAssignment('extra', 'pa0', 'Payables'));
      expect(ofKind(findings(o, TEST_NOW), 'peer-outlier')).toHaveLength(0);
      o.policy.thresholds.peerOutlierShare = 0.2;
      expect(ofKind(findings(o, TEST_NOW), 'peer-outlier')).toHaveLength(1);
    });
    it('departed and suspended people, and inactive accounts, are not peers', () => {
      const o = org(['Sales', 'Payables'], {}, { peers: 5 });
      expect(ofKind(findings(o, TEST_NOW), 'peer-outlier')).toHaveLength(1);
      o.people[1] = { ...o.people[1]!, status: 'departed' };
      expect(ofKind(findings(o, TEST_NOW), 'peer-outlier')).toHaveLength(0);
      o.people[1] = { ...o.people[1]!, status: 'active' };
      o.accounts[2] = { ...o.accounts[2]!, active: false };
      expect(ofKind(findings(o, TEST_NOW), 'peer-outlier')).toHaveLength(0);
    });
  });

  it.each([
    ['departed', 'critical'],
    ['suspended', 'high'],
  ] as const)('a %s person with an active account (%s)', (status, severity) => {
    const o = org(['Sales']);
    o.people[0] = testPerson('u', { status });
    const fs = findings(o, TEST_NOW);
    expect(kinds(fs)).toEqual([`inactive-person::${severity}`]);
    o.accounts[0] = { ...o.accounts[0]!, active: false };
    expect(findings(o, TEST_NOW)).toEqual([]);
  });

  it.each([
    ['expires exactly now', TEST_NOW.toISOString(), null, 1],
    ['expired yesterday', daysBefore(1), null, 1],
    ['expires 1 ms from now', new Date(TEST_NOW.getTime() + 1).toISOString(), null, 0],
    ['expired and revoked', daysBefore(1), daysBefore(1), 0],
    ['no expiry', null, null, 0],
  ])('expired grant still present: %s', (_name, expiresAt, revokedAt, n) => {
    const o = org(['Sales']);
    o.assignments.push(testAssignment('g', 'acc', 'object:Lead:read', { source: 'request', expiresAt, revokedAt }));
    const fs = ofKind(findings(o, TEST_NOW), 'expired-grant');
    expect(fs).toHaveLength(n);
    if (n) expect(fs[0]!.evidence).toMatchObject({ assignmentId: 'g', key: 'object:Lead:read' });
  });
});

describe('finding identity and accepted risk', () => {
  it('ids are stable across recomputation and derive from account + kind + subject', () => {
    const a = findings(org(['Sales', 'Payables', 'Export']), TEST_NOW)
      .map((f) => f.id)
      .sort();
    const b = findings(org(['Export', 'Payables', 'Sales']), TEST_NOW)
      .map((f) => f.id)
      .sort();
    expect(a).toEqual(b);
    expect(a).toContain(findingId('acc', 'high-risk', ['system:ExportReport']));
  });

  it('an accepted risk stays accepted until it expires, then reopens', () => {
    const id = findingId('acc', 'high-risk', ['system:ExportReport']);
    const o = org(['Sales', 'Export'], {
      acceptances: [{ findingId: id, reason: 'quarterly reporting', acceptedBy: 'boss', acceptedAt: daysBefore(5), expiresAt: daysAfter(10) }],
    });
    const engine = new OrgEngine(o, TEST_NOW);
    expect(engine.findingsOf('acc').find((f) => f.id === id)).toMatchObject({ status: 'accepted', reopened: false });
    const delta = engine.advanceTo(new Date(Date.parse(daysAfter(10))));
    const reopened = delta.updated.find((f) => f.id === id);
    expect(reopened).toMatchObject({ status: 'open', reopened: true, acceptance: { reason: 'quarterly reporting' } });
  });

  it('accepting and revoking acceptance report the finding as updated', () => {
    const engine = new OrgEngine(org(['Sales', 'Export']), TEST_NOW);
    const id = findingId('acc', 'high-risk', ['system:ExportReport']);
    expect(engine.acceptRisk({ findingId: id, reason: 'ok', acceptedBy: 'x', acceptedAt: daysBefore(0), expiresAt: daysAfter(1) }).updated[0]!.status).toBe(
      'accepted',
    );
    expect(engine.revokeAcceptance(id).updated[0]!.status).toBe('open');
  });
});

describe('incremental recompute', () => {
  it('an assignment change returns the findings it opens and resolves', () => {
    const engine = new OrgEngine(org(['Sales']), TEST_NOW);
    const grant = testAssignment('new', 'acc', 'Export', { grantedAt: daysBefore(1) });
    const opened = engine.applyAssignmentChange({ type: 'upsert', assignment: grant });
    expect(opened.opened.map((f) => f.kind).sort()).toEqual(['beyond-baseline', 'high-risk']);
    const resolved = engine.applyAssignmentChange({ type: 'remove', assignmentId: 'new' });
    expect(resolved.resolved.map((f) => f.id).sort()).toEqual(opened.opened.map((f) => f.id).sort());
    expect(resolved.opened).toEqual([]);
  });

  it("a peer's new grant recomputes that account and re-checks only the peers naming what changed (work counters)", () => {
    // acc holds Payables, which none of its 20 peers hold; the first change in the group gives it to pa0.
    const o = org(['Sales', 'Payables'], {}, { peers: 20 });
    const engine = new OrgEngine(o, TEST_NOW);
    const before = engine.workCounters;
    const grant = testAssignment('pa0-pay', 'pa0', 'Payables');
    const d = engine.applyAssignmentChange({ type: 'upsert', assignment: grant });
    const after = engine.workCounters;
    expect(after.accountsComputed - before.accountsComputed).toBe(1);
    // Only acc names Payables (or a key of its columns) among the other peers.
    expect(after.peerRechecks - before.peerRechecks).toBe(1);
    expect(ofKind(d.opened, 'peer-outlier', 'pa0')).toMatchObject([{ bundleIds: ['Payables'], evidence: { holders: 1, peers: 20 } }]);
    expect(ofKind(d.updated, 'peer-outlier')).toMatchObject([{ bundleIds: ['Payables'], evidence: { holders: 1, peers: 20, share: 0.05 } }]);
    // The same as a full recomputation.
    const byId = (fs: Finding[]) => [...fs].sort((x, y) => (x.id < y.id ? -1 : 1));
    expect(byId(engine.findings())).toEqual(byId(findings({ ...o, assignments: [...o.assignments, grant] }, TEST_NOW)));
  });

  it('a person change (department, status) recomputes their accounts and both peer groups', () => {
    const engine = new OrgEngine(org(['Sales', 'Payables'], {}, { peers: 6 }), TEST_NOW);
    expect(ofKind(engine.findings(), 'peer-outlier')).toHaveLength(1);
    const d = engine.applyPersonChange(testPerson('u', { status: 'departed' }));
    expect(d.opened.map((f) => f.kind)).toEqual(['inactive-person']);
    expect(d.resolved.map((f) => f.kind).sort()).toEqual(['beyond-baseline', 'peer-outlier']);
  });

  it('a bundle change reaches every account holding it through inheritance', () => {
    const o = org([]);
    o.bundles = [...bundles, testBundle('Group', [], ['Payables'], { kind: 'permissionSetGroup' })];
    o.assignments = [testAssignment('g', 'acc', 'Group')];
    o.policy.baselines[0]!.bundleIds = ['Group'];
    const engine = new OrgEngine(o, TEST_NOW);
    expect(ofKind(engine.findings(), 'high-risk')).toHaveLength(0);
    const d = engine.applyBundleChange(testBundle('Payables', ['object:Invoice__c:edit', 'system:ExportReport']));
    expect(d.opened.map((f) => `${f.kind}:${f.keys.join()}`)).toEqual(['high-risk:system:ExportReport']);
  });

  it('a bundle change reaches the accounts whose job baseline names it (through inclusion too), not only its holders', () => {
    // The rep's baseline is Group, which includes Payables; the rep holds Approvals, not Group.
    const o = org(['Approvals']);
    o.bundles = [...bundles, testBundle('Group', [], ['Payables'], { kind: 'permissionSetGroup' })];
    o.policy.baselines[0]!.bundleIds = ['Group'];
    const engine = new OrgEngine(o, TEST_NOW);
    expect(ofKind(engine.findings(), 'beyond-baseline').map((f) => f.keys)).toEqual([['object:Payment__c:edit']]);
    // Payables now lists Payment__c edit: the baseline covers Approvals, the finding resolves.
    const changed = testBundle('Payables', ['object:Invoice__c:edit', 'object:Payment__c:edit']);
    const d = engine.applyBundleChange(changed);
    expect(d.resolved.map((f) => f.kind)).toEqual(['beyond-baseline']);
    expect(snapshot(engine.findings())).toEqual(snapshot(findings({ ...o, bundles: o.bundles.map((b) => (b.id === 'Payables' ? changed : b)) }, TEST_NOW)));
  });

  it("a peer's outlier on a key that prerequisites keep from being allowed is judged again when peers come to hold the key", () => {
    // Record access without the object permission is not allowed (Control Who Sees What): the rep
    // and one peer name scope:Lead:read:team but hold it not; no peer holds it, so both are outliers.
    const o = org(['Sales', 'scope:Lead:read:team'], {}, { peers: 6 });
    o.assignments.push(testAssignment('p0-lead', 'pa0', 'scope:Lead:read:team'));
    const engine = new OrgEngine(o, TEST_NOW);
    const lead = (fs: Finding[]) => ofKind(fs, 'peer-outlier').filter((f) => f.keys[0] === 'scope:Lead:read:team');
    expect(lead(engine.findings()).map((f) => f.evidence.kind === 'peer-outlier' && f.evidence.holders)).toEqual([0]);
    // A peer comes to hold it, with the object permission: 1 of 6 peers is no outlier share (10 %).
    const added = [testAssignment('p1-obj', 'pa1', 'object:Lead:read'), testAssignment('p1-lead', 'pa1', 'scope:Lead:read:team')];
    const resolved = added.flatMap((a) => engine.applyAssignmentChange({ type: 'upsert', assignment: a }).resolved);
    expect(lead(resolved)).toHaveLength(1);
    expect(snapshot(engine.findings())).toEqual(snapshot(findings({ ...o, assignments: [...o.assignments, ...added] }, TEST_NOW)));
  });

  it('an assignment naming a bundle that arrives later counts from then on, for the account and against its peers', () => {
    const o = org(['Sales'], {}, { peers: 6 });
    o.assignments.push(testAssignment('late', 'acc', 'Late'));
    const engine = new OrgEngine(o, TEST_NOW);
    // Keys the org names already: the bundle arrives without rebuilding anything.
    const late = testBundle('Late', ['object:Opportunity:edit']);
    const rebuilds = engine.connection('sf')!.rebuilds;
    // Nobody else holds it: the rep is an outlier for it.
    expect(ofKind(engine.applyBundleChange(late).opened, 'peer-outlier').map((f) => f.bundleIds)).toEqual([['Late']]);
    expect(engine.connection('sf')!.rebuilds).toBe(rebuilds);
    // One of six peers comes to hold it: no longer an outlier (10 %).
    const grant = testAssignment('p0-late', 'pa0', 'Late');
    expect(ofKind(engine.applyAssignmentChange({ type: 'upsert', assignment: grant }).resolved, 'peer-outlier').map((f) => f.bundleIds)).toEqual([['Late']]);
    expect(snapshot(engine.findings())).toEqual(snapshot(findings({ ...o, bundles: [...o.bundles, late], assignments: [...o.assignments, grant] }, TEST_NOW)));
  });

  // ---- properties ----
  const holdings = fc.array(fc.constantFrom('Sales', 'Export', 'Payables', 'Approvals', 'Admin', 'MadOnly', 'object:Lead:read', 'system:ManageUsers'), {
    maxLength: 5,
  });
  const sodRules: SodRule[] = [
    { id: 's1', connectionId: 'sf', name: 's1', left: { bundleIds: ['Payables'] }, right: { bundleIds: ['Approvals'] }, severity: 'high' },
    { id: 's2', connectionId: 'sf', name: 's2', left: { keys: ['object:Invoice__c:read'] }, right: { keys: ['system:ExportReport'] }, severity: 'medium' },
  ];
  const orgOf = (held: string[], peerHeld: string[][]) => {
    const o = org([...new Set(held)], {}, {});
    o.policy.sodRules = sodRules;
    peerHeld.forEach((h, i) => {
      o.people.push(testPerson(`p${i}`));
      o.accounts.push(testAccount(`pa${i}`, `p${i}`));
      [...new Set(h)].forEach((x, j) => o.assignments.push(testAssignment(`pas${i}-${j}`, `pa${i}`, x)));
    });
    return o;
  };
  const snapshot = (fs: Finding[]) => fs.map((f) => `${f.id}:${f.severity}:${JSON.stringify(f.evidence)}`).sort();

  it('moving the clock makes a grant that starts later count, recomputing only the accounts it touches', () => {
    const engine = new OrgEngine(org(['Sales'], {}, { peers: 6 }), TEST_NOW);
    const later = new Date(TEST_NOW.getTime() + 60_000);
    const grant = testAssignment('new', 'acc', 'Export', { grantedAt: new Date(TEST_NOW.getTime() + 30_000).toISOString() });
    expect(engine.applyAssignmentChange({ type: 'upsert', assignment: grant })).toEqual({ opened: [], resolved: [], updated: [] });
    expect(engine.can('acc', 'system:ExportReport')).toBe(false);
    const moved = engine.moveClock(later);
    expect(engine.can('acc', 'system:ExportReport')).toBe(true);
    expect(moved.opened.map((f) => f.kind).sort()).toEqual(['beyond-baseline', 'high-risk', 'peer-outlier']);
    expect(moved.opened.every((f) => f.accountId === 'acc')).toBe(true);
  });

  it('when several accounts change at once, each is judged against its peers after all the changes', () => {
    // Found by the property below: a key held directly by "acc" and, through a bundle, by peer "pa0";
    // both grants take effect in one clock move. Judged one by one, "acc" looked like an outlier.
    const later = new Date(TEST_NOW.getTime() + 60_000);
    const startsAt = new Date(TEST_NOW.getTime() + 30_000).toISOString();
    const o = orgOf([], [[], [], [], [], []]);
    const engine = new OrgEngine(o, TEST_NOW);
    const grants = [
      testAssignment('chg0', 'acc', 'system:ManageUsers', { grantedAt: startsAt }),
      testAssignment('chg1', 'pa0', 'Admin', { grantedAt: startsAt }),
    ];
    grants.forEach((g) => engine.applyAssignmentChange({ type: 'upsert', assignment: g }));
    engine.moveClock(later);
    expect(ofKind(engine.findings(), 'peer-outlier')).toEqual([]);
    o.assignments.push(...grants);
    expect(snapshot(engine.findings())).toEqual(snapshot(findings(o, later)));
  });

  it('a grant made after the clock, then a clock move, equals a full recomputation at the new time (property)', () => {
    const later = new Date(TEST_NOW.getTime() + 60_000);
    const startsAt = new Date(TEST_NOW.getTime() + 30_000).toISOString();
    fc.assert(
      fc.property(holdings, fc.array(holdings, { maxLength: 7 }), holdings, (held, peers, change) => {
        const engine = new OrgEngine(orgOf(held, peers), TEST_NOW);
        const grants = change.map((x, i) => testAssignment(`chg${i}`, i % 2 === 0 || peers.length === 0 ? 'acc' : 'pa0', x, { grantedAt: startsAt }));
        grants.forEach((g) => engine.applyAssignmentChange({ type: 'upsert', assignment: g }));
        engine.moveClock(later);
        const expected = orgOf(held, peers);
        expected.assignments.push(...grants);
        expect(snapshot(engine.findings())).toEqual(snapshot(findings(expected, later)));
      }),
      { numRuns: 60 },
    );
  });

  it('incremental results equal a full recomputation (property)', () => {
    fc.assert(
      fc.property(holdings, fc.array(holdings, { maxLength: 7 }), holdings, (held, peers, change) => {
        const engine = new OrgEngine(orgOf(held, peers), TEST_NOW);
        change.forEach((x, i) =>
          engine.applyAssignmentChange({ type: 'upsert', assignment: testAssignment(`chg${i}`, i % 2 === 0 || peers.length === 0 ? 'acc' : 'pa0', x) }),
        );
        if (change.length > 0) engine.applyAssignmentChange({ type: 'remove', assignmentId: 'chg0' });
        const expected = orgOf(held, peers);
        change.forEach((x, i) => {
          if (i !== 0) expected.assignments.push(testAssignment(`chg${i}`, i % 2 === 0 || peers.length === 0 ? 'acc' : 'pa0', x));
        });
        expect(snapshot(engine.findings())).toEqual(snapshot(findings(expected, TEST_NOW)));
      }),
      { numRuns: 60 },
    );
  });

  it('bundle changes (keys and inclusions, held or named by a baseline) equal a full recomputation (property)', () => {
    const ids = ['Sales', 'Export', 'Payables', 'Approvals', 'Group'];
    const pool = [
      'object:Opportunity:edit',
      'object:Account:read',
      'system:ExportReport',
      'object:Invoice__c:edit',
      'object:Payment__c:edit',
      'object:Lead:read',
      'system:ModifyAllData',
      'scope:Account:edit:team',
      'scope:Lead:read:org',
    ];
    const change = fc.record({ bundle: fc.constantFrom(...ids), keys: fc.subarray(pool, { maxLength: 3 }), includes: fc.subarray(ids, { maxLength: 2 }) });
    fc.assert(
      fc.property(
        holdings,
        fc.array(holdings, { maxLength: 6 }),
        fc.array(change, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (held, peers, changes, viaGroup) => {
          const o = orgOf(held, peers);
          // The catalog names every key, so the objects org-wide keys reach stay the same (the
          // universe of an engine only grows; a fresh one knows only the objects named now).
          const known = new Set(o.catalog.map((e) => e.key));
          o.catalog = [...o.catalog, ...[...pool, ...bundles.flatMap((b) => b.permissions)].filter((k) => !known.has(k)).map((k) => testCatalog(k))];
          o.bundles = [...o.bundles, testBundle('Group', ['object:Lead:read'], ['Sales'], { kind: 'permissionSetGroup' })];
          if (viaGroup) o.policy.baselines[0]!.bundleIds = ['Group'];
          const engine = new OrgEngine(o, TEST_NOW);
          let current = o.bundles;
          for (const c of changes) {
            const b = testBundle(
              c.bundle,
              c.keys,
              c.includes.filter((x) => x !== c.bundle),
            );
            try {
              engine.applyBundleChange(b);
            } catch (e) {
              expect(e).toBeInstanceOf(BundleCycleError);
              continue;
            }
            current = current.map((x) => (x.id === b.id ? b : x));
          }
          expect(snapshot(engine.findings())).toEqual(snapshot(findings({ ...o, bundles: current }, TEST_NOW)));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('a finding disappears when its cause is removed (property)', () => {
    fc.assert(
      fc.property(holdings, (held) => {
        const o = orgOf(held, []);
        const engine = new OrgEngine(o, TEST_NOW);
        for (const f of engine.findings()) {
          const ev = f.evidence;
          const causes =
            ev.kind === 'beyond-baseline' || ev.kind === 'high-risk'
              ? ev.grantedBy.map((g) => g.assignmentId)
              : ev.kind === 'unused' || ev.kind === 'expired-grant'
                ? [ev.assignmentId]
                : null;
          if (!causes) continue;
          const probe = new OrgEngine(o, TEST_NOW);
          for (const id of causes) probe.applyAssignmentChange({ type: 'remove', assignmentId: id });
          expect(probe.findings().some((x) => x.id === f.id)).toBe(false);
          expect(findings({ ...o, assignments: o.assignments.filter((a) => !causes.includes(a.id)) }, TEST_NOW).some((x) => x.id === f.id)).toBe(false);
        }
        // SoD: removing every assignment on one side clears the conflict.
        for (const f of ofKind(engine.findings(), 'sod-conflict')) {
          const ev = f.evidence;
          if (ev.kind !== 'sod-conflict') continue;
          const rule = sodRules.find((r) => r.id === ev.ruleId)!;
          const after = findings({ ...o, assignments: o.assignments.filter((a) => a.accountId !== 'acc' || !engineGrantsSide(o, a.id, rule.left)) }, TEST_NOW);
          expect(after.some((x) => x.id === f.id)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('SoD is symmetric: swapping the sides finds the same conflicts (property)', () => {
    fc.assert(
      fc.property(holdings, (held) => {
        const o = orgOf(held, []);
        const swapped = { ...o, policy: { ...o.policy, sodRules: sodRules.map((r) => ({ ...r, left: r.right, right: r.left })) } };
        const a = ofKind(findings(o, TEST_NOW), 'sod-conflict');
        const b = ofKind(findings(swapped, TEST_NOW), 'sod-conflict');
        expect(a.map((f) => [f.id, f.keys, f.bundleIds])).toEqual(b.map((f) => [f.id, f.keys, f.bundleIds]));
        const e = new OrgEngine(o, TEST_NOW);
        const es = new OrgEngine(swapped, TEST_NOW);
        expect(e.sodConflicts('acc', ['object:Payment__c:edit']).map((c) => c.rule.id)).toEqual(
          es.sodConflicts('acc', ['object:Payment__c:edit']).map((c) => c.rule.id),
        );
      }),
    );
  });
});

/** Whether assignment `id` alone puts its account on `side`. */
function engineGrantsSide(o: OrgData, id: string, side: { bundleIds?: string[]; keys?: string[] }): boolean {
  const a = o.assignments.find((x) => x.id === id)!;
  const e = new OrgEngine({ ...o, assignments: [a], policy: { ...o.policy, sodRules: [] } }, TEST_NOW);
  const ix = e.connection('sf')!;
  const acc = ix.accountIndex(a.accountId);
  return (
    (side.keys ?? []).some((k) => e.can(a.accountId, k)) || (side.bundleIds ?? []).some((b) => ix.bundleIndex(b) >= 0 && ix.holdsBundle(acc, ix.bundleIndex(b)))
  );
}

describe('advancing the clock recomputes only the accounts with events, exactly at their boundaries', () => {
  const MIN = 60_000;
  const DAY = 86_400_000;
  const at = (ms: number) => new Date(TEST_NOW.getTime() + ms);
  const iso = (ms: number) => at(ms).toISOString();
  const full = (fs: Finding[]) =>
    fs.map((f) => `${f.id}|${f.severity}|${f.status}|${f.reopened}|${f.keys.join()}|${f.bundleIds.join()}|${JSON.stringify(f.evidence)}`).sort();
  /** "acc" as in `org`, plus six quiet peers (each held Sales, used yesterday, logged in yesterday). */
  const withPeers = (held: string[], extra: Partial<OrgData> = {}) => org(held, extra, { peers: 6 });
  const peersUsage = (o: OrgData) => {
    for (let i = 0; i < 6; i++) o.usage.push({ accountId: `pa${i}`, key: 'object:Opportunity:edit', lastUsedAt: daysBefore(1), count: 1 });
    return o;
  };

  it('dormant: opens the instant the threshold is reached, then its day count moves once a day', () => {
    const o = peersUsage(withPeers(['Sales']));
    o.accounts[0] = { ...o.accounts[0]!, lastLoginAt: iso(-30 * DAY + 5 * MIN) };
    const engine = new OrgEngine(o, TEST_NOW);
    expect(ofKind(engine.findings(), 'dormant')).toEqual([]);
    expect(engine.advanceTo(at(5 * MIN - 1)).opened).toEqual([]);
    const d = engine.advanceTo(at(5 * MIN));
    expect(d.opened.map((f) => [f.kind, (f.evidence as { daysSinceLogin: number }).daysSinceLogin])).toEqual([['dormant', 30]]);
    expect(engine.lastAdvanceRecomputed).toBe(1);
    expect(engine.advanceTo(at(DAY + 5 * MIN - 1)).updated).toEqual([]);
    const next = engine.advanceTo(at(DAY + 5 * MIN));
    expect(next.updated.map((f) => (f.evidence as { daysSinceLogin: number }).daysSinceLogin)).toEqual([31]);
    expect(full(engine.findings())).toEqual(full(findings(o, at(DAY + 5 * MIN))));
  });

  it('unused: a use stops counting 1 ms after lastUsedAt + unusedDays', () => {
    const o = peersUsage(withPeers(['Sales']));
    o.usage[0] = { ...o.usage[0]!, lastUsedAt: iso(-90 * DAY + 10 * MIN) };
    const engine = new OrgEngine(o, TEST_NOW);
    expect(engine.advanceTo(at(10 * MIN)).opened).toEqual([]);
    const d = engine.advanceTo(at(10 * MIN + 1));
    expect(d.opened.map((f) => f.kind)).toEqual(['unused']);
    expect(engine.lastAdvanceRecomputed).toBe(1);
  });

  it('unused: an assignment is judged from grantedAt + unusedDays', () => {
    const o = peersUsage(withPeers([]));
    o.assignments.push(testAssignment('late', 'acc', 'Sales', { grantedAt: iso(-90 * DAY + 10 * MIN) }));
    const engine = new OrgEngine(o, TEST_NOW);
    expect(engine.advanceTo(at(10 * MIN - 1)).opened).toEqual([]);
    expect(engine.advanceTo(at(10 * MIN)).opened.map((f) => f.kind)).toEqual(['unused']);
  });

  it('unused: an account is judged from createdAt + unusedDays', () => {
    const o = peersUsage(withPeers([]));
    o.accounts[0] = { ...o.accounts[0]!, createdAt: iso(-90 * DAY + 10 * MIN) };
    o.assignments.push(testAssignment('old', 'acc', 'Sales', { grantedAt: daysBefore(400) }));
    const engine = new OrgEngine(o, TEST_NOW);
    expect(engine.advanceTo(at(10 * MIN - 1)).opened).toEqual([]);
    expect(engine.advanceTo(at(10 * MIN)).opened.map((f) => f.kind)).toEqual(['unused']);
  });

  it('accepted risk: accepted until 1 ms before expiresAt, reopened at it (also when accepted after construction)', () => {
    const id = findingId('acc', 'high-risk', ['system:ExportReport']);
    const engine = new OrgEngine(peersUsage(withPeers(['Sales', 'Export'])), TEST_NOW);
    engine.acceptRisk({ findingId: id, reason: 'ok', acceptedBy: 'x', acceptedAt: daysBefore(0), expiresAt: iso(3 * MIN) });
    expect(engine.advanceTo(at(3 * MIN - 1)).updated).toEqual([]);
    const d = engine.advanceTo(at(3 * MIN));
    expect(d.updated.map((f) => [f.id, f.status, f.reopened])).toEqual([[id, 'open', true]]);
    expect(engine.lastAdvanceRecomputed).toBe(1);
  });

  it('expired grant and grant start: take effect exactly at expiresAt / grantedAt, with the peers', () => {
    const o = peersUsage(withPeers(['Sales']));
    o.assignments.push(testAssignment('exp', 'acc', 'Export', { source: 'request', grantedAt: daysBefore(1), expiresAt: iso(7 * MIN) }));
    o.assignments.push(testAssignment('start', 'pa0', 'Payables', { grantedAt: iso(9 * MIN) }));
    const engine = new OrgEngine(o, TEST_NOW);
    expect(engine.advanceTo(at(7 * MIN - 1)).opened).toEqual([]);
    const d = engine.advanceTo(at(7 * MIN));
    expect(d.opened.map((f) => f.kind)).toEqual(['expired-grant']);
    expect(d.resolved.map((f) => f.kind).sort()).toEqual(['beyond-baseline', 'high-risk', 'peer-outlier']);
    expect(engine.advanceTo(at(9 * MIN - 1)).opened).toEqual([]);
    expect(
      engine
        .advanceTo(at(9 * MIN))
        .opened.map((f) => `${f.accountId}:${f.kind}`)
        .sort(),
    ).toEqual(['pa0:beyond-baseline', 'pa0:peer-outlier']);
    expect(full(engine.findings())).toEqual(full(findings(o, at(9 * MIN))));
  });

  it('accepted risk on a peer outlier that opens through a peer change reopens at its expiry', () => {
    const id = findingId('acc', 'peer-outlier', ['bundle:Payables']);
    const o = peersUsage(withPeers(['Sales', 'Payables']));
    o.assignments.push(testAssignment('pp', 'pa0', 'Payables', { grantedAt: daysBefore(1), expiresAt: iso(5 * MIN) }));
    o.acceptances.push({ findingId: id, reason: 'r', acceptedBy: 'x', acceptedAt: daysBefore(1), expiresAt: iso(10 * MIN) });
    const engine = new OrgEngine(o, TEST_NOW);
    expect(engine.findingsOf('acc').some((f) => f.id === id)).toBe(false);
    expect(
      engine
        .advanceTo(at(5 * MIN))
        .opened.filter((f) => f.id === id)
        .map((f) => f.status),
    ).toEqual(['accepted']);
    expect(engine.advanceTo(at(10 * MIN)).updated.map((f) => [f.id, f.status, f.reopened])).toEqual([[id, 'open', true]]);
    expect(full(engine.findings())).toEqual(full(findings(o, at(10 * MIN))));
  });

  it('moving backwards recomputes everything and matches a full recomputation', () => {
    const o = peersUsage(withPeers(['Sales', 'Export']));
    o.accounts[0] = { ...o.accounts[0]!, lastLoginAt: iso(-30 * DAY + 5 * MIN) };
    const engine = new OrgEngine(o, TEST_NOW);
    engine.advanceTo(at(2 * DAY));
    engine.advanceTo(at(MIN));
    expect(engine.lastAdvanceRecomputed).toBe(7);
    expect(full(engine.findings())).toEqual(full(findings(o, at(MIN))));
    // A clock move backwards, then an advance forwards, also recomputes everything.
    engine.advanceTo(at(2 * DAY));
    engine.moveClock(at(MIN));
    engine.advanceTo(at(2 * MIN));
    expect(engine.lastAdvanceRecomputed).toBe(7);
    expect(full(engine.findings())).toEqual(full(findings(o, at(2 * MIN))));
  });

  // ---- property: random orgs with times near every threshold, advanced in random steps ----
  const targets = ['Sales', 'Export', 'Payables', 'Approvals', 'Admin', 'object:Lead:read', 'system:ManageUsers'];
  const usedKeys = [
    'object:Opportunity:edit',
    'system:ExportReport',
    'object:Invoice__c:edit',
    'object:Payment__c:edit',
    'system:ModifyAllData',
    'object:Lead:read',
    'system:ManageUsers',
  ];
  /** Milliseconds around 0: whole minutes within ±2 days, sometimes ±1 ms. */
  const near = fc.tuple(fc.integer({ min: -2 * 1440, max: 2 * 1440 }), fc.constantFrom(0, 0, 0, -1, 1)).map(([m, e]) => m * MIN + e);
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { freq: 2 });
  const accountArb = fc.record({
    login: fc.oneof(
      near.map((x) => -30 * DAY + x),
      fc.constant(null),
      fc.integer({ min: -60, max: 0 }).map((d) => d * DAY),
    ),
    created: fc.oneof(
      near.map((x) => -90 * DAY + x),
      fc.constant(-500 * DAY),
    ),
    department: fc.constantFrom('Sales', 'Sales', 'Finance'),
    status: fc.constantFrom('active', 'active', 'active', 'active', 'departed', 'suspended') as fc.Arbitrary<'active' | 'departed' | 'suspended'>,
    active: fc.constantFrom(true, true, true, true, false),
    grants: fc.array(
      fc.record({
        target: fc.constantFrom(...targets),
        granted: fc.oneof(
          near.map((x) => -90 * DAY + x),
          near.map((x) => Math.abs(x)),
          fc.constant(-400 * DAY),
        ),
        expires: maybe(near.map((x) => Math.abs(x) + 1)),
        revoked: maybe(near.map((x) => Math.abs(x) + 1)),
      }),
      { maxLength: 3 },
    ),
    usage: fc.array(
      fc.record({
        key: fc.constantFrom(...usedKeys),
        last: fc.oneof(
          near.map((x) => -90 * DAY + x),
          near.map((x) => -Math.abs(x)),
        ),
      }),
      { maxLength: 3 },
    ),
  });
  const stepArb = fc.oneof(
    fc.constantFrom(MIN, MIN, 60 * MIN, DAY, 3 * DAY).map((ms) => ({ kind: 'by' as const, ms, pick: 0, off: 0 })),
    fc.integer({ min: 1, max: 2 * DAY }).map((ms) => ({ kind: 'by' as const, ms, pick: 0, off: 0 })),
    fc.tuple(fc.nat(), fc.constantFrom(-1, 0, 0, 1)).map(([pick, off]) => ({ kind: 'boundary' as const, ms: 0, pick, off })),
    // A clock move for access only (as the server does for a grant made now), before the next advance.
    fc.integer({ min: 1, max: DAY }).map((ms) => ({ kind: 'move' as const, ms, pick: 0, off: 0 })),
  );
  type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
  const scenario = fc.record({
    accounts: fc.array(accountArb, { minLength: 1, maxLength: 7 }),
    accept: fc.array(
      fc.tuple(
        fc.nat(),
        near.map((x) => Math.abs(x) + 1),
      ),
      { maxLength: 4 },
    ),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
  });

  const build = (s: Scenario): { o: OrgData; boundaries: number[] } => {
    const o = org([]);
    o.people = [];
    o.accounts = [];
    o.usage = [];
    o.policy.sodRules = [];
    const boundaries: number[] = [];
    s.accounts.forEach((a, i) => {
      o.people.push(testPerson(`p${i}`, { department: a.department, status: a.status }));
      o.accounts.push(testAccount(`a${i}`, `p${i}`, { active: a.active, lastLoginAt: a.login === null ? null : iso(a.login), createdAt: iso(a.created) }));
      boundaries.push((a.login ?? a.created) + 30 * DAY, (a.login ?? a.created) + 31 * DAY, a.created + 90 * DAY);
      a.grants.forEach((g, j) => {
        o.assignments.push(
          testAssignment(`g${i}-${j}`, `a${i}`, g.target, {
            grantedAt: iso(g.granted),
            expiresAt: g.expires === null ? null : iso(g.expires),
            revokedAt: g.revoked === null ? null : iso(g.revoked),
          }),
        );
        boundaries.push(g.granted, g.granted + 90 * DAY, ...(g.expires === null ? [] : [g.expires]), ...(g.revoked === null ? [] : [g.revoked]));
      });
      const seen = new Set<string>();
      for (const u of a.usage) {
        if (seen.has(u.key)) continue;
        seen.add(u.key);
        o.usage.push({ accountId: `a${i}`, key: u.key, lastUsedAt: iso(u.last), count: 1 });
        boundaries.push(u.last + 90 * DAY, u.last + 90 * DAY + 1);
      }
    });
    // Acceptances for findings that exist now or later (picked by index), expiring near now.
    const ids = [...new Set([...findings(o, TEST_NOW), ...findings(o, at(3 * DAY))].map((f) => f.id))].sort();
    if (ids.length > 0)
      for (const [pick, exp] of s.accept) {
        o.acceptances.push({ findingId: ids[pick % ids.length]!, reason: 'r', acceptedBy: 'x', acceptedAt: daysBefore(1), expiresAt: iso(exp) });
        boundaries.push(exp);
      }
    return { o, boundaries: [...new Set(boundaries)].sort((x, y) => x - y) };
  };

  const runProperty = (seed: number) =>
    fc.assert(
      fc.property(scenario, (s) => {
        const { o, boundaries } = build(s);
        const engine = new OrgEngine(o, TEST_NOW);
        let t = 0;
        let before: string[] | null = full(findings(o, TEST_NOW));
        expect(full(engine.findings())).toEqual(before);
        for (const step of s.steps) {
          if (step.kind === 'move') {
            t += step.ms;
            engine.moveClock(at(t));
            before = null;
            continue;
          }
          if (step.kind === 'by') t += step.ms;
          else {
            const ahead = boundaries.filter((b) => b > t);
            if (ahead.length > 0) t = Math.max(t, ahead[step.pick % ahead.length]! + step.off);
            else t += MIN;
          }
          const delta = engine.advanceTo(at(t));
          const expected = findings(o, at(t));
          const after = full(expected);
          expect(full(engine.findings())).toEqual(after);
          // Access itself (rows) is current for every account, active or not.
          const fresh = new OrgEngine(o, at(t), { deferFindings: true });
          for (const acc of o.accounts) for (const k of usedKeys) expect(engine.can(acc.id, k)).toBe(fresh.can(acc.id, k));
          if (before === null) {
            before = after;
            continue;
          }
          // The delta names exactly what changed.
          const beforeById = new Map(before.map((x) => [x.split('|')[0]!, x]));
          const afterById = new Map(after.map((x) => [x.split('|')[0]!, x]));
          const ids = (fs: Finding[]) => [...new Set(fs.map((f) => f.id))].sort();
          expect(ids(delta.opened)).toEqual([...afterById.keys()].filter((id) => !beforeById.has(id)).sort());
          expect(ids(delta.resolved)).toEqual([...beforeById.keys()].filter((id) => !afterById.has(id)).sort());
          expect(ids(delta.updated)).toEqual([...afterById.keys()].filter((id) => beforeById.has(id) && beforeById.get(id) !== afterById.get(id)).sort());
          before = after;
        }
      }),
      { numRuns: 100, seed },
    );

  it.each(Array.from({ length: 20 }, (_, i) => 1000 + i * 7919))(
    'advancing in random steps equals a full recomputation at each step (property, seed %i)',
    (seed) => {
      runProperty(seed);
    },
  );
});
