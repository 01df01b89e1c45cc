import { policyProposalApproved, policyPutAccepted, policyResponse, type PolicyDocument } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_POLICY } from '../seed/demo.ts';
import { createMutation, harness, type Harness } from '../testing.ts';

let h: Harness;
let cara: string;
beforeEach(async () => {
  h = await harness();
  cara = await h.signIn('cara@acme.test');
});
afterEach(async () => {
  await h.close();
});

async function current() {
  const res = await h.get(cara, '/api/policy');
  expect(res.status).toBe(200);
  return policyResponse.parse(await res.json());
}

async function put(body: unknown, token = cara) {
  return h.put(token, '/api/policy', body);
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; field?: string; message: string } }).error;
}

describe('GET /api/policy', () => {
  it('the current version for administrators and auditors', async () => {
    const p = await current();
    expect(p).toMatchObject({ version: 1, createdBy: null, note: 'Demo policy' });
    expect(p.document).toEqual(DEMO_POLICY);
    expect(p.document.requestRules.map((r) => r.name)).toEqual([
      'Self-service case access',
      'Deal Desk changes',
      'Standard object access',
      'System permissions',
      'Other requestable permissions',
      'Acme Dynamics 365: requests',
      'Acme HubSpot: requests',
      'Acme Zoho CRM (中国): requests',
      'Acme 纷享销客: requests',
      'Acme Desk (in-house CRM): requests',
    ]);
    await h.db.execute(`UPDATE people SET roles = '["requester","auditor"]' WHERE id = 'p-hal'`);
    const hal = await h.signIn('hal@acme.test');
    expect((await h.get(hal, '/api/policy')).status).toBe(200);
    const ava = await h.signIn('ava@acme.test');
    expect((await h.get(ava, '/api/policy')).status).toBe(403);
    expect((await h.get(null, '/api/policy')).status).toBe(401);
  });
});

describe('PUT /api/policy', () => {
  it('a proposal for a second administrator, who makes it the new version, audited; requests follow it at once', async () => {
    const before = await current();
    const document: PolicyDocument = structuredClone(before.document);
    const rule = document.requestRules.find((r) => r.id === 'rr-standard-objects')!;
    rule.maxDurationDays = 7;
    rule.defaultDurationDays = 7;
    h.clock.advance(1000);
    const res = await put({ baseVersion: 1, document, note: 'Shorter object grants' });
    // One administrator alone changes nothing: the change waits for another.
    expect(res.status).toBe(202);
    const { proposal } = policyPutAccepted.parse(await res.json());
    expect(proposal).toMatchObject({ status: 'pending', baseVersion: 1, proposedBy: { id: 'p-cara' }, note: 'Shorter object grants', stale: false });
    expect(proposal.diff).toEqual([
      expect.objectContaining({ section: 'requestRules', id: 'rr-standard-objects', change: 'changed', fields: ['defaultDurationDays', 'maxDurationDays'] }),
    ]);
    expect((await current()).version).toBe(1);

    await h.makeAdmin('p-kai');
    const kai = await h.signIn('kai@acme.test');
    h.clock.advance(1000);
    const approved = await h.post(kai, `/api/policy/proposals/${proposal.id}/approve`, { note: 'Fine by me' });
    expect(approved.status).toBe(200);
    const { policy: saved } = policyProposalApproved.parse(await approved.json());
    expect(saved).toMatchObject({ version: 2, createdBy: 'p-kai', createdAt: h.clock.now().toISOString(), note: 'Shorter object grants' });
    expect(await current()).toEqual(saved);
    // Every version is kept.
    const versions = await h.db.execute('SELECT version FROM policy_versions ORDER BY version');
    expect(versions.rows.map((r) => Number(r.version))).toEqual([1, 2]);
    const audit = await h.db.execute("SELECT actor_id, subject_id, data FROM audit_events WHERE action = 'policy.changed'");
    expect(audit.rows.map((r) => [r.actor_id, r.subject_id])).toEqual([['p-kai', '2']]);
    expect(JSON.parse(String(audit.rows[0]!.data))).toEqual({
      fromVersion: 1,
      toVersion: 2,
      note: 'Shorter object grants',
      proposalId: proposal.id,
      proposedBy: 'p-cara',
    });

    const ava = await h.signIn('ava@acme.test');
    const preview = await h.post(ava, '/api/requests/preview', { connectionId: 'sf-acme', permissions: ['object:Contract:read'] });
    expect(((await preview.json()) as { durationChoices: number[] }).durationChoices).toEqual([1, 7]);
    const m = createMutation({ permissions: ['object:Contract:read'], durationDays: 90 });
    await h.mutate(ava, [m]);
    const r = (await h.pull(ava)).requests.find((x) => x.id === m.args.requestId);
    expect(r?.durationDays).toBe(7);
    const created = await h.db.execute("SELECT data FROM audit_events WHERE action = 'request.created'");
    expect(JSON.parse(String(created.rows[0]!.data))).toMatchObject({ policyVersion: 2, ruleIds: ['rr-standard-objects'] });
  });

  it('a stale baseVersion is 409 and changes nothing', async () => {
    const { document } = await current();
    expect((await h.changePolicy({ baseVersion: 1, document, note: 'first' })).status).toBe(200);
    const stale = await put({ baseVersion: 1, document, note: 'second' });
    expect(stale.status).toBe(409);
    expect(await errorOf(stale)).toMatchObject({ code: 'conflict', field: 'baseVersion', reason: 'policy_changed' });
    expect((await current()).version).toBe(2);
    const n = await h.db.execute("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'policy.changed'");
    expect(Number(n.rows[0]!.n)).toBe(1);
  });

  it('an invalid document is a 400 naming the field', async () => {
    const base = (await current()).document;
    const cases: [string, (d: PolicyDocument) => void, string][] = [
      ['N of M with n = 0', (d) => (d.requestRules[1]!.stages[1]!.mode = { type: 'nOfM', n: 0 }), 'document.requestRules.1.stages.1.mode.n'],
      ['a default above the maximum', (d) => (d.requestRules[0]!.defaultDurationDays = 120), 'document.requestRules.0.defaultDurationDays'],
      ['a malformed key pattern', (d) => (d.requestRules[2]!.match.keys = ['object:*']), 'document.requestRules.2.match.keys.0'],
      ['a duplicate rule id', (d) => (d.requestRules[4]!.id = 'rr-deal-desk'), 'document.requestRules.4.id'],
      ['an unknown stage kind', (d) => ((d.requestRules[0]!.stages[0] as { kind: string }).kind = 'committee'), 'document.requestRules.0.stages.0.kind'],
      ['a share above 1', (d) => (d.thresholds.peerOutlierShare = 2), 'document.thresholds.peerOutlierShare'],
      ['an empty SoD side', (d) => (d.sodRules[0]!.left = {}), 'document.sodRules.0.left'],
      [
        'an unknown approver group',
        (d) => ((d.requestRules[1]!.stages[1] as { groupId: string }).groupId = 'grp-nobody'),
        'document.requestRules.1.stages.1.groupId',
      ],
      ['a bundle of no connection', (d) => d.baselines[0]!.bundleIds.push('ps-nowhere'), 'document.baselines.0.bundleIds.1'],
      ['an unknown connection', (d) => (d.sodRules[1]!.connectionId = 'sf-nowhere'), 'document.sodRules.1.connectionId'],
    ];
    for (const [label, change, field] of cases) {
      const document = structuredClone(base);
      change(document);
      const res = await put({ baseVersion: 1, document });
      expect(res.status, label).toBe(400);
      expect(await errorOf(res), label).toMatchObject({ code: 'invalid_input', field });
    }
    // What the schema cannot see (references to what the server holds) is said by a reason, with what was named.
    const unknownGroup = structuredClone(base);
    (unknownGroup.requestRules[1]!.stages[1] as { groupId: string }).groupId = 'grp-nobody';
    expect(await errorOf(await put({ baseVersion: 1, document: unknownGroup }))).toMatchObject({
      message: 'There is no approver group "grp-nobody".',
      reason: 'approver_group_id_not_found',
      params: { groupId: 'grp-nobody' },
    });
    const missing = await put({ baseVersion: 1 });
    expect(await errorOf(missing)).toMatchObject({ field: 'document' });
    expect((await current()).version).toBe(1);
  });

  it('only administrators change the policy', async () => {
    const { document } = await current();
    for (const email of ['ben@acme.test', 'ava@acme.test'] as const) {
      const res = await put({ baseVersion: 1, document }, await h.signIn(email));
      expect(res.status).toBe(403);
    }
    expect((await current()).version).toBe(1);
  });
});
