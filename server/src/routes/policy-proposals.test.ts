import {
  policyProposalApproved,
  policyProposalResponse,
  policyProposalsResponse,
  policyPutAccepted,
  policyResponse,
  type PolicyDocument,
} from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_POLICY } from '../seed/demo.ts';
import { harness, type Harness } from '../testing.ts';

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
  return policyResponse.parse(await (await h.get(cara, '/api/policy')).json());
}

async function propose(document: PolicyDocument, note = '', token = cara) {
  const res = await h.post(token, '/api/policy/proposals', { baseVersion: (await current()).version, document, note });
  expect(res.status).toBe(201);
  return policyProposalResponse.parse(await res.json()).proposal;
}

const approve = (token: string, id: string, note = '') => h.post(token, `/api/policy/proposals/${id}/approve`, { note });
const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string; field?: string; reason?: string; params?: Record<string, string | number> } }).error;

/** An auto-approval of Account deletes for one job function (or several). */
function autoApproveFor(document: PolicyDocument, requesters: { department?: string; title?: string }[]): PolicyDocument {
  const d = structuredClone(document);
  d.requestRules.unshift({
    id: 'rr-auto-delete',
    connectionId: 'sf-acme',
    name: 'Account deletes, self-service',
    match: { keys: ['object:Account:delete'] },
    requestable: true,
    stages: [],
    fallback: [{ kind: 'group', groupId: 'grp-admins' }],
    distinctApprovers: true,
    autoApprove: { maxRisk: 'high', maxDurationDays: 7, requesters },
    defaultDurationDays: 7,
    maxDurationDays: 7,
    prerequisites: {},
    justificationRequired: true,
    evidenceRequired: false,
  });
  return d;
}

describe('four eyes', () => {
  it('Cara proposes, Cara cannot approve, Dan as a second administrator approves and the change applies; all audited', async () => {
    const before = await current();
    const document = structuredClone(before.document);
    document.thresholds.dormantDays = 45;
    const proposal = await propose(document, 'Dormant after 45 days');
    expect(proposal).toMatchObject({ status: 'pending', beneficiaries: [], diff: [expect.objectContaining({ section: 'thresholds', change: 'changed' })] });
    expect((proposal.diff[0]!.before as { dormantDays: number }).dormantDays).toBe(30);
    expect((proposal.diff[0]!.after as { dormantDays: number }).dormantDays).toBe(45);

    const own = await approve(cara, proposal.id);
    expect(own.status).toBe(403);
    expect(await errorOf(own)).toEqual({
      code: 'forbidden',
      message: 'You proposed this change: another administrator must approve it.',
      reason: 'proposal_own_approve',
    });
    expect((await current()).version).toBe(1);

    // Dan is not an administrator yet: not even allowed to look.
    const dan = await h.signIn('dan@acme.test');
    const notAdmin = await approve(dan, proposal.id);
    expect(notAdmin.status).toBe(403);
    expect(await errorOf(notAdmin)).toEqual({
      code: 'forbidden',
      message: 'Only administrators can approve policy changes.',
      reason: 'admins_only',
      params: { action: 'approve_policy_changes' },
    });
    await h.makeAdmin('p-dan');
    const danAdmin = await h.signIn('dan@acme.test');
    // Dan was told a change waits for him.
    const notices = (await (await h.get(danAdmin, '/api/notices')).json()) as { notices: { kind: string; data: { proposalId: string } }[] };
    expect(notices.notices).toEqual([]);
    const res = await approve(danAdmin, proposal.id, 'Agreed in the access committee');
    expect(res.status).toBe(200);
    const body = policyProposalApproved.parse(await res.json());
    expect(body.proposal).toMatchObject({ status: 'applied', appliedVersion: 2, decidedBy: { id: 'p-dan' }, decisionNote: 'Agreed in the access committee' });
    expect(body.policy).toMatchObject({ version: 2, createdBy: 'p-dan' });
    expect((await current()).document.thresholds.dormantDays).toBe(45);
    // Once decided it cannot be decided again.
    const again = await approve(danAdmin, proposal.id);
    expect(again.status).toBe(409);
    expect(await errorOf(again)).toEqual({
      code: 'conflict',
      message: 'This proposal is already applied.',
      reason: 'proposal_not_pending',
      params: { proposalStatus: 'applied' },
    });
    const unknown = await approve(danAdmin, 'prop-nope');
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toEqual({ code: 'not_found', message: 'There is no such policy proposal.', reason: 'proposal_not_found' });

    const audit = await h.db.execute("SELECT actor_id, action, subject_id FROM audit_events WHERE action LIKE 'policy.%' ORDER BY seq");
    expect(audit.rows.map((r) => [r.actor_id, r.action, r.subject_id])).toEqual([
      ['p-cara', 'policy.proposed', proposal.id],
      ['p-dan', 'policy.changed', '2'],
      ['p-dan', 'policy.proposal_approved', proposal.id],
    ]);
  });

  it('other administrators are told a change waits for them', async () => {
    await h.makeAdmin('p-kai');
    const document = structuredClone((await current()).document);
    document.thresholds.unusedDays = 60;
    const proposal = await propose(document);
    const kai = await h.signIn('kai@acme.test');
    const { notices, unread } = (await (await h.get(kai, '/api/notices')).json()) as {
      notices: { kind: string; data: { proposalId: string } }[];
      unread: number;
    };
    expect(unread).toBe(1);
    expect(notices[0]).toMatchObject({ kind: 'policy.proposed', data: { proposalId: proposal.id, proposedBy: 'p-cara' } });
    const read = await h.post(kai, '/api/notices/read', {});
    expect(read.status).toBe(200);
    expect(((await (await h.get(kai, '/api/notices')).json()) as { unread: number }).unread).toBe(0);
  });

  it('nobody approves a change that auto-approves requests of their own job; an administrator it gives nothing may', async () => {
    await h.makeAdmin('p-kai');
    await h.makeAdmin('p-dan');
    const kai = await h.signIn('kai@acme.test');
    const dan = await h.signIn('dan@acme.test');
    // Kai (IT Director) proposes a self-service rule for the IT department: it covers his job and Cara's.
    const proposal = await propose(autoApproveFor((await current()).document, [{ department: 'IT' }]), 'IT self-service', kai);
    expect(proposal.beneficiaries.map((b) => [b.person.id, b.gains])).toEqual([
      ['p-cara', [{ kind: 'auto-approval', ruleId: 'rr-auto-delete', connectionId: 'sf-acme' }]],
      ['p-kai', [{ kind: 'auto-approval', ruleId: 'rr-auto-delete', connectionId: 'sf-acme' }]],
    ]);
    const byCara = await approve(cara, proposal.id);
    expect(byCara.status).toBe(403);
    const benefits = await errorOf(byCara);
    expect(benefits.message).toMatch(/gives you more through your own job \(auto-approval\)/);
    // The kinds of gain are keys the extension says in the reader's language.
    expect(benefits).toMatchObject({ code: 'forbidden', reason: 'proposal_benefits_you', params: { gains: 'auto-approval' } });
    expect((await approve(kai, proposal.id)).status).toBe(403);
    // Dan (Sales) gains nothing from it: he may let it through, and sees who gains.
    expect((await approve(dan, proposal.id)).status).toBe(200);
    expect((await current()).document.requestRules[0]!.id).toBe('rr-auto-delete');
  });

  it("a wider baseline or an admin function for one's own job counts as a gain too; a rule for everyone does not", async () => {
    await h.makeAdmin('p-dan');
    const base = (await current()).document;
    const wider = structuredClone(base);
    wider.baselines.find((b) => b.id === 'bl-sf-admin')!.bundleIds.push('ps-report-builder');
    wider.adminFunctions.push({ department: 'Sales', title: 'VP Sales' });
    const p1 = await propose(wider);
    expect(p1.beneficiaries.map((b) => [b.person.id, b.gains.map((g) => g.kind)])).toEqual([
      ['p-cara', ['baseline']],
      ['p-dan', ['admin-function']],
    ]);
    const dan = await h.signIn('dan@acme.test');
    expect((await approve(dan, p1.id)).status).toBe(403);
    await h.post(cara, `/api/policy/proposals/${p1.id}/withdraw`, {});

    // Self-service for everyone names no job: nobody's own gain (the diff shows it to whoever approves).
    const forEveryone = autoApproveFor(base, []);
    delete forEveryone.requestRules[0]!.autoApprove!.requesters;
    const everyone = await propose(forEveryone);
    expect(everyone.beneficiaries).toEqual([]);
    expect((await approve(dan, everyone.id)).status).toBe(200);
  });

  it('reject needs a reason and another administrator; withdraw only by the proposer; applying one supersedes the others', async () => {
    await h.makeAdmin('p-dan');
    const dan = await h.signIn('dan@acme.test');
    const base = (await current()).document;
    const a = structuredClone(base);
    a.thresholds.unusedDays = 60;
    const b = structuredClone(base);
    b.thresholds.unusedDays = 120;
    const c = structuredClone(base);
    c.thresholds.minPeerGroup = 8;
    const pa = await propose(a, 'sixty');
    const pb = await propose(b, 'one twenty');
    const pc = await propose(c, 'peers');

    expect((await h.post(cara, `/api/policy/proposals/${pa.id}/reject`, { note: 'no' })).status).toBe(403);
    const noReason = await h.post(dan, `/api/policy/proposals/${pa.id}/reject`, {});
    expect(noReason.status).toBe(400);
    expect((await errorOf(noReason)).field).toBe('note');
    const rejected = await h.post(dan, `/api/policy/proposals/${pa.id}/reject`, { note: 'Too short for quarterly roles' });
    expect(policyProposalResponse.parse(await rejected.json()).proposal).toMatchObject({ status: 'rejected', decisionNote: 'Too short for quarterly roles' });

    expect((await h.post(dan, `/api/policy/proposals/${pc.id}/withdraw`, {})).status).toBe(403);
    expect((await h.post(cara, `/api/policy/proposals/${pc.id}/withdraw`, {})).status).toBe(200);

    expect((await approve(dan, pb.id)).status).toBe(200);
    const all = policyProposalsResponse.parse(await (await h.get(cara, '/api/policy/proposals')).json()).proposals;
    expect(Object.fromEntries(all.map((p) => [p.note, p.status]))).toEqual({ sixty: 'rejected', 'one twenty': 'applied', peers: 'withdrawn' });

    // A pending proposal made against version 2 goes stale when another change applies first.
    const d1 = structuredClone((await current()).document);
    d1.thresholds.dormantDays = 20;
    const d2 = structuredClone((await current()).document);
    d2.thresholds.dormantDays = 40;
    const p1 = await propose(d1, 'twenty');
    const p2 = await propose(d2, 'forty');
    expect((await approve(dan, p1.id)).status).toBe(200);
    const superseded = policyProposalResponse.parse(await (await h.get(cara, `/api/policy/proposals/${p2.id}`)).json()).proposal;
    expect(superseded.status).toBe('superseded');
    expect((await approve(dan, p2.id)).status).toBe(409);
    const pending = policyProposalsResponse.parse(await (await h.get(cara, '/api/policy/proposals?status=pending')).json()).proposals;
    expect(pending).toEqual([]);
  });

  it('only administrators see and make proposals', async () => {
    const ava = await h.signIn('ava@acme.test');
    expect((await h.get(ava, '/api/policy/proposals')).status).toBe(403);
    expect((await h.post(ava, '/api/policy/proposals', { baseVersion: 1, document: (await current()).document })).status).toBe(403);
    expect((await h.get(null, '/api/policy/proposals')).status).toBe(401);
  });
});

describe('the first policy of an organisation with one administrator', () => {
  beforeEach(async () => {
    // An organisation before its first policy: version 0.
    await h.db.execute('DELETE FROM policy_versions');
    expect((await current()).version).toBe(0);
  });

  it('applies at once (there is nobody to ask yet), audited as such', async () => {
    // The demo's policy: it sets the baseline of Cara's own job, but its self-service rule is for Sales.
    const document = structuredClone(DEMO_POLICY);
    const res = await h.put(cara, '/api/policy', { baseVersion: 0, document, note: 'First policy' });
    expect(res.status).toBe(200);
    expect(policyResponse.parse(await res.json())).toMatchObject({ version: 1, createdBy: 'p-cara', note: 'First policy' });
    const audit = await h.db.execute("SELECT data FROM audit_events WHERE action = 'policy.changed'");
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ fromVersion: 0, toVersion: 1, bootstrap: true });
  });

  it("but not when it would approve that administrator's own requests: then it waits for a second one", async () => {
    const document = autoApproveFor((await current()).document, [{ department: 'IT', title: 'Salesforce Administrator' }]);
    const res = await h.put(cara, '/api/policy', { baseVersion: 0, document, note: 'First policy' });
    expect(res.status).toBe(202);
    const { proposal } = policyPutAccepted.parse(await res.json());
    expect(proposal.beneficiaries.map((b) => b.person.id)).toEqual(['p-cara']);
    expect((await current()).version).toBe(0);
    await h.makeAdmin('p-dan');
    expect((await approve(await h.signIn('dan@acme.test'), proposal.id)).status).toBe(200);
    expect((await current()).version).toBe(1);
  });

  it('with two administrators the first policy takes four eyes too', async () => {
    await h.makeAdmin('p-dan');
    const res = await h.put(cara, '/api/policy', { baseVersion: 0, document: (await current()).document, note: 'First' });
    expect(res.status).toBe(202);
  });
});
