import { describe, expect, it } from 'vitest';
import { OrgEngine } from './org.ts';
import { evaluateRequest, keyPatternMatches } from './policy.ts';
import { daysBefore, TEST_NOW, testAccount, testAssignment, testBundle, testCatalog, testOrg, testPerson, testPolicy } from './testkit.ts';
import type { OrgData, RequestRule } from './types.ts';

const rule = (r: Partial<RequestRule> & { id: string }): RequestRule => ({
  connectionId: 'sf',
  name: r.id,
  match: {},
  requestable: true,
  stages: [],
  fallback: [{ kind: 'person', personId: 'fb' }],
  autoApprove: null,
  defaultDurationDays: 30,
  maxDurationDays: 60,
  prerequisites: {},
  justificationRequired: true,
  evidenceRequired: false,
  ...r,
});

const RULES: RequestRule[] = [
  rule({ id: 'critical', match: { risks: ['critical'] }, requestable: false }),
  rule({
    id: 'low-read',
    match: { keys: ['object:*:read'], risks: ['low'] },
    stages: [{ kind: 'manager', mode: { type: 'any' } }],
    autoApprove: { maxRisk: 'low', maxDurationDays: 14 },
    maxDurationDays: 90,
  }),
  rule({
    id: 'high',
    match: { risks: ['high'] },
    stages: [
      { kind: 'manager', mode: { type: 'any' } },
      { kind: 'owner', mode: { type: 'any' } },
      { kind: 'group', groupId: 'sec', mode: { type: 'nOfM', n: 2 } },
    ],
    prerequisites: { trainings: ['sec-101'], minTenureDays: 90 },
    maxDurationDays: 30,
  }),
  rule({ id: 'silent', match: { keys: ['app:*'] } }),
  rule({
    id: 'std',
    stages: [
      { kind: 'manager', mode: { type: 'any' } },
      { kind: 'owner', mode: { type: 'any' } },
    ],
  }),
];

function setup(change: (o: OrgData) => void = () => {}) {
  const o = testOrg({
    people: [
      testPerson('u', { managerId: 'm', completedTrainings: ['sec-101'] }),
      testPerson('m', { name: 'Ben Ortiz', title: 'Manager' }),
      testPerson('o', { name: 'Olga Owner' }),
      testPerson('o2', { name: 'Otto Owner' }),
      testPerson('s1'),
      testPerson('s2'),
      testPerson('s3'),
      testPerson('fb', { name: 'Fallback Fran' }),
      testPerson('other'),
    ],
    groups: [{ id: 'sec', name: 'Security team', memberIds: ['s1', 's2', 's3'] }],
    accounts: [testAccount('acc', 'u'), testAccount('acc2', 'other')],
    bundles: [testBundle('Payables', ['object:Invoice__c:edit'])],
    assignments: [testAssignment('a1', 'acc', 'Payables')],
    catalog: [
      testCatalog('object:Lead:read'),
      testCatalog('object:Lead:edit', { owner: { type: 'person', personId: 'o' } }),
      testCatalog('object:Case:edit', { owner: { type: 'person', personId: 'o2' } }),
      testCatalog('object:Quote:edit', { owner: { type: 'person', personId: 'o' }, maxDurationDays: 7 }),
      testCatalog('system:ExportReport', { risk: 'high', owner: { type: 'group', groupId: 'sec' } }),
      testCatalog('system:AuthorApex', { risk: 'critical' }),
      testCatalog('object:Payment__c:edit', { owner: { type: 'person', personId: 'o' } }),
      testCatalog('app:Cpq', { license: 'cpq' }),
      testCatalog('object:Secret__c:read', { requestable: false }),
    ],
    licenses: [{ id: 'cpq', connectionId: 'sf', name: 'CPQ', seats: 1 }],
    policy: testPolicy({
      requestRules: RULES,
      sodRules: [
        {
          id: 'sod',
          connectionId: 'sf',
          name: 'Book and pay',
          left: { bundleIds: ['Payables'] },
          right: { keys: ['object:Payment__c:edit'] },
          severity: 'high',
        },
      ],
    }),
  });
  change(o);
  return new OrgEngine(o, TEST_NOW);
}
const ask = (engine: OrgEngine, keys: string[], days: number | null = 30, who = 'u', account = 'acc') =>
  evaluateRequest(engine, who, account, keys, days, TEST_NOW);
const approvers = (r: ReturnType<typeof ask>) =>
  r.stages.map((s) => `${s.label}:${s.approvers.map((a) => a.id).join('+')}:${s.required}${s.escalated ? ':escalated' : ''}`);

describe('evaluateRequest', () => {
  it("auto-approves a low-risk read, always with the rule's maximum duration", () => {
    const r = ask(setup(), ['object:Lead:read'], 30);
    expect(r).toMatchObject({ ok: true, autoApproved: true, autoApprovalRuleIds: ['low-read'], stages: [], willNotify: [] });
    expect(r.duration).toEqual({ requested: 30, granted: 14, cappedBy: ['auto-approval:low-read'], max: 14 });
  });

  it('resolves manager and permission owner stages to concrete people ("will notify")', () => {
    const r = ask(setup(), ['object:Lead:edit']);
    expect(r.ok).toBe(true);
    expect(approvers(r)).toEqual(['manager:m:1', 'permission owner:o:1']);
    expect(r.willNotify.map((n) => `${n.person.name} (${n.roles.join(', ')})`)).toEqual(['Ben Ortiz (manager)', 'Olga Owner (permission owner)']);
  });

  it('splits the owner stage per owner when keys have different owners', () => {
    const r = ask(setup(), ['object:Lead:edit', 'object:Case:edit']);
    expect(approvers(r)).toEqual(['manager:m:1', 'permission owner:o:1', 'permission owner:o2:1']);
    expect(r.stages[1]!.keys).toEqual(['object:Lead:edit']);
  });

  it('never makes the requester their own approver: the owner is excluded, the stage escalates to the fallback', () => {
    const engine = setup((o) => (o.catalog.find((c) => c.key === 'object:Lead:edit')!.owner = { type: 'person', personId: 'u' }));
    const r = ask(engine, ['object:Lead:edit']);
    expect(r.ok).toBe(true);
    expect(approvers(r)).toEqual(['manager:m:1', 'permission owner:fb:1:escalated']);
    expect(r.stages[1]).toMatchObject({ requesterExcluded: true, escalationReason: 'permission owner resolves to nobody eligible' });
    expect(r.willNotify.map((n) => n.person.id)).not.toContain('u');
  });

  it('a stage that resolves to nobody (no manager) escalates to the fallback, never passes silently', () => {
    const r = ask(
      setup((o) => (o.people[0]!.managerId = null)),
      ['object:Lead:edit'],
    );
    expect(approvers(r)[0]).toBe('manager:fb:1:escalated');
  });

  it('a departed manager is not eligible', () => {
    const r = ask(
      setup((o) => (o.people[1]!.status = 'departed')),
      ['object:Lead:edit'],
    );
    expect(approvers(r)[0]).toBe('manager:fb:1:escalated');
  });

  it('when the fallback resolves to nobody too, the request is blocked', () => {
    const r = ask(
      setup((o) => ((o.people[0]!.managerId = null), (o.people[7]!.status = 'departed'))),
      ['object:Lead:edit'],
    );
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.message)).toContain('manager resolves to nobody eligible, and the fallback of rule "std" too');
  });

  it('a rule with no stage and no auto-approval asks its fallback', () => {
    const r = ask(setup(), ['app:Console']);
    expect(approvers(r)).toEqual(['fallback approver:fb:1:escalated']);
  });

  it('N of M: two of the security group; the requester in the group is excluded', () => {
    const high = ask(setup(), ['system:ExportReport']);
    expect(approvers(high)).toEqual(['manager:m:1', 'permission owner:s1+s2+s3:1', 'Security team:s1+s2+s3:2']);
    const inGroup = ask(
      setup((o) => (o.groups[0]!.memberIds = ['u', 's1', 's2'])),
      ['system:ExportReport'],
    );
    expect(inGroup.stages[2]).toMatchObject({ required: 2, requesterExcluded: true, escalated: false });
    expect(inGroup.stages[2]!.approvers.map((a) => a.id)).toEqual(['s1', 's2']);
  });

  it('N of M with fewer eligible than N escalates', () => {
    const r = ask(
      setup((o) => (o.groups[0]!.memberIds = ['u', 's1', 's2'])),
      ['object:Lead:edit', 'system:ExportReport'],
    );
    const security = r.stages.find((s) => s.label === 'Security team')!;
    expect(security).toMatchObject({ escalated: false, required: 2 });
    const fewer = ask(
      setup((o) => (o.groups[0]!.memberIds = ['u', 's1'])),
      ['system:ExportReport'],
    );
    // s1 alone must approve the owner stage (the group owns the key), so cannot satisfy the Security team stage too.
    expect(fewer.stages[2]).toMatchObject({ escalated: true, escalationReason: 'Security team resolves to nobody eligible' });
    expect(fewer.stages[2]!.approvers.map((a) => a.id)).toEqual(['fb']);
  });

  it('distinct approvers: one person is not asked to satisfy two stages, unless the rule allows it', () => {
    const sameOwner = (o: OrgData) => {
      o.catalog.find((c) => c.key === 'object:Lead:edit')!.owner = { type: 'person', personId: 'm' };
    };
    const distinct = ask(setup(sameOwner), ['object:Lead:edit']);
    expect(approvers(distinct)).toEqual(['manager:m:1', 'permission owner:fb:1:escalated']);
    expect(distinct.stages[1]!.escalationReason).toBe('permission owner resolves to nobody eligible');
    expect(distinct.stages.every((s) => s.distinctApprovers)).toBe(true);
    const allowed = ask(
      setup((o) => {
        sameOwner(o);
        o.policy.requestRules.find((r) => r.id === 'std')!.distinctApprovers = false;
      }),
      ['object:Lead:edit'],
    );
    expect(approvers(allowed)).toEqual(['manager:m:1', 'permission owner:m:1']);
    expect(allowed.stages[1]!.distinctApprovers).toBe(false);
    // Every stage knows its fallback (for escalation when it waits too long).
    expect(allowed.stages[0]!.fallback.map((p) => p.id)).toEqual(['fb']);
  });

  it('a manager filing for a report is excluded like the requester; held keys may be asked for again to extend', () => {
    const engine = setup();
    const filed = evaluateRequest(engine, 'u', 'acc', ['object:Lead:edit'], 30, TEST_NOW, { excludeApprovers: ['m'] });
    expect(filed.stages[0]).toMatchObject({ kind: 'manager', escalated: true, requesterExcluded: true });
    expect(filed.stages[0]!.approvers.map((a) => a.id)).toEqual(['fb']);
    const held = ask(engine, ['object:Invoice__c:edit']);
    expect(held.problems.map((p) => [p.code, p.params.key])).toContainEqual(['already-held', 'object:Invoice__c:edit']);
    const extend = evaluateRequest(engine, 'u', 'acc', ['object:Invoice__c:edit'], 30, TEST_NOW, { allowHeld: true });
    expect(extend.problems.map((p) => p.code)).not.toContain('already-held');
  });

  it('"all" needs every eligible approver', () => {
    const engine = setup((o) => (o.policy.requestRules = [rule({ id: 'all', stages: [{ kind: 'group', groupId: 'sec', mode: { type: 'all' } }] })]));
    expect(approvers(ask(engine, ['object:Lead:edit']))).toEqual(['Security team:s1+s2+s3:3']);
  });

  it('lists missing prerequisites: training and tenure', () => {
    const r = ask(
      setup((o) => ((o.people[0]!.completedTrainings = []), (o.people[0]!.hireDate = daysBefore(30)))),
      ['system:ExportReport'],
    );
    expect(r.ok).toBe(false);
    expect(r.missingPrerequisites.map((m) => m.message)).toEqual(['training "sec-101" not completed', 'tenure 30 days, needs 90']);
    const unknown = ask(
      setup((o) => (o.people[0]!.hireDate = null)),
      ['system:ExportReport'],
    );
    expect(unknown.missingPrerequisites.map((m) => m.message)).toEqual(['tenure unknown (needs 90 days)']);
  });

  it('predicts the SoD conflicts the grant would create (warn or block by policy)', () => {
    const warn = ask(setup(), ['object:Payment__c:edit']);
    expect(warn.ok).toBe(true);
    expect(warn.sodConflicts).toEqual([
      { ruleId: 'sod', name: 'Book and pay', severity: 'high', left: ['bundle:Payables'], right: ['object:Payment__c:edit'] },
    ]);
    expect(warn.warnings.map((p) => p.message)).toEqual(['would create separation-of-duties conflict "Book and pay"']);
    const block = ask(
      setup((o) => (o.policy.sodAtRequest = 'block')),
      ['object:Payment__c:edit'],
    );
    expect(block.ok).toBe(false);
  });

  it('reports license seats left, and blocks when none is left for a new holder', () => {
    const free = ask(setup(), ['app:Cpq']);
    expect(free.licenses).toEqual([{ licenseId: 'cpq', name: 'CPQ', seats: 1, used: 0, left: 1, needsSeat: true, keys: ['app:Cpq'] }]);
    const full = ask(
      setup((o) => o.assignments.push(testAssignment('x', 'acc2', 'app:Cpq'))),
      ['app:Cpq'],
    );
    expect(full.licenses[0]).toMatchObject({ used: 1, left: 0, needsSeat: true });
    expect(full.problems.map((p) => p.message)).toContain('no CPQ license seats left');
  });

  it('caps the duration by rule and catalog, and uses the rule default when none is asked', () => {
    expect(ask(setup(), ['object:Quote:edit'], 90).duration).toEqual({
      requested: 90,
      granted: 7,
      cappedBy: ['rule:std', 'catalog:object:Quote:edit'],
      max: 7,
    });
    expect(ask(setup(), ['object:Lead:edit'], null).duration).toEqual({ requested: 30, granted: 30, cappedBy: [], max: 60 });
  });

  it.each([
    ['system:AuthorApex', 'request rule "critical" does not allow requesting it'],
    ['object:Invoice__c:read', 'already held'],
    ['object:Secret__c:read', 'the catalog marks it as not requestable'],
    ['object:Account:bogus', 'action must be one of'],
  ])('says why %s may not be requested', (key, reason) => {
    const r = ask(setup(), [key]);
    expect(r.ok).toBe(false);
    expect(r.keys[0]!.requestable).toBe(false);
    expect(r.keys[0]!.reason).toContain(reason);
  });

  it('a key no rule covers is not requestable', () => {
    const r = ask(
      setup((o) => (o.policy.requestRules = [])),
      ['object:Lead:edit'],
    );
    expect(r.keys[0]!.reason).toBe('no request rule covers this permission');
  });

  it("refuses requests from inactive people or for someone else's account", () => {
    expect(
      ask(
        setup((o) => (o.people[0]!.status = 'suspended')),
        ['object:Lead:edit'],
      ).problems.map((p) => p.message),
    ).toEqual(['requester is suspended']);
    expect(ask(setup(), ['object:Lead:edit'], 30, 'u', 'acc2').problems.map((p) => p.message)).toEqual(['the account belongs to someone else']);
  });

  it('checks justification and evidence when the caller passes them', () => {
    const engine = setup();
    expect(evaluateRequest(engine, 'u', 'acc', ['object:Lead:edit'], 30, TEST_NOW, { justification: ' ' }).problems.map((p) => p.code)).toContain(
      'justification-required',
    );
    expect(evaluateRequest(engine, 'u', 'acc', ['object:Lead:edit'], 30, TEST_NOW, { justification: 'renewals' }).ok).toBe(true);
  });

  it('matches key patterns one segment per *', () => {
    expect(keyPatternMatches('object:*:read', 'object:Lead:read')).toBe(true);
    expect(keyPatternMatches('object:*:read', 'object:Lead:edit')).toBe(false);
    expect(keyPatternMatches('field:*:read', 'field:Lead.Email:read')).toBe(true);
    expect(keyPatternMatches('object:*', 'object:Lead:read')).toBe(false);
  });
});
