import { requestPreviewResponse, type RequestPreviewResponse } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMutation, harness, type Harness } from '../testing.ts';

let h: Harness;
let ava: string;
beforeEach(async () => {
  h = await harness();
  ava = await h.signIn('ava@acme.test');
});
afterEach(async () => {
  await h.close();
});

async function preview(token: string, body: Record<string, unknown>): Promise<RequestPreviewResponse> {
  const res = await h.post(token, '/api/requests/preview', { connectionId: 'sf-acme', ...body });
  expect(res.status).toBe(200);
  return requestPreviewResponse.parse(await res.json());
}

const BEN = { id: 'p-ben', name: 'Ben Ortiz', email: 'ben@acme.test', title: 'Sales Manager' };
const DAN = { id: 'p-dan', name: 'Dan Wu', email: 'dan@acme.test', title: 'VP Sales' };

describe('POST /api/requests/preview', () => {
  it('Ava, Contract read: one manager stage with Ben alone; choices 1, 7, 30 and 90 days', async () => {
    const p = await preview(ava, { permissions: ['object:Contract:read'] });
    expect(p).toMatchObject({ ok: true, autoApproved: false, problems: [], warnings: [], justificationRequired: true, evidenceRequired: false });
    expect(p.stages).toEqual([
      { index: 0, kind: 'manager', label: 'Manager', keys: ['object:Contract:read'], required: 1, approvers: [BEN], escalated: false, escalationReason: null },
    ]);
    expect(p.willNotify).toEqual([{ person: BEN, stages: [0], roles: ['Manager'] }]);
    expect(p.durationChoices).toEqual([1, 7, 30, 90]);
    // No duration asked: the rule's default.
    expect(p.duration).toEqual({ requested: 30, granted: 30, cappedBy: [] });
    expect(p.keys).toEqual([{ key: 'object:Contract:read', requestable: true, reason: null, alreadyHeld: false }]);
    // Ava already holds a Salesforce Platform seat (through her profile's object permissions).
    expect(p.licenses).toEqual([{ licenseId: 'lic-sf-platform', name: 'Salesforce Platform', seats: 13, used: 11, left: 2, needsSeat: false }]);
  });

  it('Quote and Order read go to Ben alone too, with their catalog caps', async () => {
    const quote = await preview(ava, { permissions: ['object:Quote:read'], durationDays: 90 });
    expect(quote.stages.map((s) => s.approvers.map((a) => a.id))).toEqual([['p-ben']]);
    expect(quote.duration).toEqual({ requested: 90, granted: 30, cappedBy: ['catalog:object:Quote:read'] });
    expect(quote.durationChoices).toEqual([1, 7, 30]);
    const order = await preview(ava, { permissions: ['object:Order:read'] });
    expect(order.stages.map((s) => [s.label, s.approvers.map((a) => a.id)])).toEqual([['Manager', ['p-ben']]]);
  });

  it('Quote edit: two stages in order, Ben (manager) then the Deal Desk (Dan); at most 30 days', async () => {
    const p = await preview(ava, { permissions: ['object:Quote:edit'], durationDays: 90 });
    expect(p.ok).toBe(true);
    expect(p.stages.map((s) => ({ index: s.index, kind: s.kind, label: s.label, approvers: s.approvers, required: s.required }))).toEqual([
      { index: 0, kind: 'manager', label: 'Manager', approvers: [BEN], required: 1 },
      { index: 1, kind: 'group', label: 'Deal Desk', approvers: [DAN], required: 1 },
    ]);
    expect(p.willNotify.map((n) => [n.person.id, n.stages])).toEqual([
      ['p-ben', [0]],
      ['p-dan', [1]],
    ]);
    expect(p.duration.granted).toBe(30);
    expect(p.durationChoices).toEqual([1, 7, 30]);
  });

  it('Case read for someone in Sales: approved automatically, for at most 7 days', async () => {
    const p = await preview(ava, { permissions: ['object:Case:read'], durationDays: 30 });
    expect(p).toMatchObject({ ok: true, autoApproved: true, stages: [], willNotify: [] });
    expect(p.duration.granted).toBeLessThanOrEqual(7);
    expect(p.duration).toEqual({ requested: 30, granted: 7, cappedBy: ['auto-approval:rr-self-service-case'] });
    expect(p.durationChoices).toEqual([1, 7]);
    // Outside Sales the same rule asks the manager.
    const fay = await h.signIn('fay@acme.test');
    const q = await preview(fay, { permissions: ['object:Case:read'] });
    expect(q.autoApproved).toBe(false);
    expect(q.stages.map((s) => s.approvers.map((a) => a.id))).toEqual([['p-gil']]);
  });

  it('a system permission needs the security training: not ok, and request.create is rejected policy_blocked', async () => {
    const p = await preview(ava, { permissions: ['system:ApiEnabled'] });
    expect(p.ok).toBe(false);
    expect(p.missingPrerequisites).toEqual([
      { kind: 'training', training: 'sfdc-security-101', keys: ['system:ApiEnabled'], message: 'training "sfdc-security-101" not completed' },
    ]);
    expect(p.problems).toEqual(['prerequisite missing: training "sfdc-security-101" not completed']);
    // Who would be asked all the same: her manager, then every Salesforce admin (mode all).
    expect(p.stages.map((s) => [s.kind, s.label, s.approvers.map((a) => a.id), s.required])).toEqual([
      ['manager', 'Manager', ['p-ben'], 1],
      ['owner', 'Salesforce Admins', ['p-cara', 'p-kai'], 2],
    ]);
    expect(p).toMatchObject({ evidenceRequired: true, durationChoices: [1, 7], duration: { granted: 7 } });

    const m = createMutation({ permissions: ['system:ApiEnabled'], durationDays: 7 });
    const res = await h.mutate(ava, [m]);
    expect(res.results[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'policy_blocked', field: 'mutations.0.args.permissions.0', message: expect.stringContaining('sfdc-security-101') },
    });
    expect((await h.db.execute('SELECT COUNT(*) AS n FROM requests')).rows[0]!.n).toBe(0);
  });

  it('held keys, keys outside the catalog and a pending duplicate are problems in the preview, not errors', async () => {
    const held = await preview(ava, { permissions: ['object:Account:read'] });
    expect(held.ok).toBe(false);
    expect(held.keys[0]).toMatchObject({ key: 'object:Account:read', requestable: false, alreadyHeld: true, reason: 'already held' });
    expect(held.durationChoices).toEqual([]);

    const outside = await preview(ava, { permissions: ['object:Invoice__c:read'] });
    expect(outside.keys[0]).toMatchObject({ requestable: false, reason: 'not in the permission catalog of Acme Salesforce' });
    expect(outside.ok).toBe(false);

    const m = createMutation({ permissions: ['object:Contract:read'] });
    await h.mutate(ava, [m]);
    const dup = await preview(ava, { permissions: ['object:Contract:read'] });
    expect(dup.ok).toBe(false);
    expect(dup.problems.join(' ')).toContain(m.args.requestId);
  });

  it('validates its body, knows the connection, needs an account on it and a session', async () => {
    const bad = await h.post(ava, '/api/requests/preview', { connectionId: 'sf-acme', permissions: ['nope'] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('permissions.0');
    const days = await h.post(ava, '/api/requests/preview', { connectionId: 'sf-acme', permissions: ['object:Contract:read'], durationDays: 45 });
    expect(((await days.json()) as { error: { field: string } }).error.field).toBe('durationDays');
    const unknown = await h.post(ava, '/api/requests/preview', { connectionId: 'sf-nowhere', permissions: ['object:Contract:read'] });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { field: string } }).error.field).toBe('connectionId');
    await h.db.execute("UPDATE crm_accounts SET active = 0 WHERE id = 'acct-ava'");
    const noAccount = await h.post(ava, '/api/requests/preview', { connectionId: 'sf-acme', permissions: ['object:Contract:read'] });
    expect(noAccount.status).toBe(403);
    expect((await h.post(null, '/api/requests/preview', { connectionId: 'sf-acme', permissions: ['object:Contract:read'] })).status).toBe(401);
  });
});
