import { describe, expect, it } from 'vitest';
import { OrgEngine } from './org.ts';
import { TEST_NOW, testAccount, testAssignment, testBundle, testOrg, testPerson } from './testkit.ts';

/**
 * `peerHolding`: what an approver's card shows as "held by N of M peers" — the requester's peers are the
 * other active people with the same department and title, counted on the requester's connection.
 */
describe('peerHolding', () => {
  const bundles = [testBundle('Sales', ['object:Opportunity:edit', 'object:Account:read']), testBundle('Export', ['system:ExportReport'])];
  function engine(): OrgEngine {
    const people = [
      testPerson('u'),
      ...['a', 'b', 'c', 'd'].map((id) => testPerson(id)),
      testPerson('gone', { status: 'departed' }),
      testPerson('fin', { department: 'Finance' }),
    ];
    const accounts = people.map((p) => testAccount(`acc-${p.id}`, p.id));
    const assignments = [
      // The requester holds Sales; peers a, b, c hold Sales, a and b Export; d nothing.
      testAssignment('u1', 'acc-u', 'Sales'),
      ...['a', 'b', 'c'].map((id) => testAssignment(`${id}1`, `acc-${id}`, 'Sales')),
      ...['a', 'b'].map((id) => testAssignment(`${id}2`, `acc-${id}`, 'Export')),
      // Neither a departed person nor someone in another department is a peer.
      testAssignment('g1', 'acc-gone', 'Export'),
      testAssignment('f1', 'acc-fin', 'Export'),
      // An expired grant is not held.
      testAssignment('d1', 'acc-d', 'Export', { expiresAt: new Date(TEST_NOW.getTime() - 1000).toISOString() }),
    ];
    return new OrgEngine(testOrg({ people, accounts, bundles, assignments }), TEST_NOW);
  }

  it('counts, for each key, the peers who can use it now (the requester not counted)', () => {
    const e = engine();
    const p = e.peerHolding('acc-u', ['system:ExportReport', 'object:Account:read', 'object:Nothing__c:read']);
    expect(p).toMatchObject({ peers: 4, holders: { 'system:ExportReport': 2, 'object:Account:read': 3, 'object:Nothing__c:read': 0 } });
    expect(p!.department).toBe(e.person('u')!.department);
    expect(p!.title).toBe(e.person('u')!.title);
    // From a peer's side the requester is a peer, and that peer is not counted.
    expect(e.peerHolding('acc-a', ['object:Account:read'])).toMatchObject({ peers: 4, holders: { 'object:Account:read': 3 } });
  });

  it('follows changes: a new grant to a peer is counted', () => {
    const e = engine();
    e.applyAssignmentChange({ type: 'upsert', assignment: testAssignment('d2', 'acc-d', 'Export') });
    expect(e.peerHolding('acc-u', ['system:ExportReport'])!.holders['system:ExportReport']).toBe(3);
  });

  it('null for an unknown account or one without a peer group', () => {
    const e = engine();
    expect(e.peerHolding('nope', ['system:ExportReport'])).toBeNull();
    expect(e.peerHolding('acc-gone', ['system:ExportReport'])).toBeNull();
  });
});
