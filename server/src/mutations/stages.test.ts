import { awaitsDecisionBy, approverQueue, applySync, policyResponse, type AccessRequest, type MutationResult } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

let h: Harness;
let ava: string;
let ben: string;
let dan: string;
beforeEach(async () => {
  h = await harness();
  ava = await h.signIn('ava@acme.test');
  ben = await h.signIn('ben@acme.test');
  dan = await h.signIn('dan@acme.test');
});
afterEach(async () => {
  await h.close();
});

const only = (results: MutationResult[]) => {
  expect(results).toHaveLength(1);
  return results[0]!;
};

async function requestOf(token: string, id: string): Promise<AccessRequest | undefined> {
  return (await h.pull(token)).requests.find((r) => r.id === id);
}

async function actions(): Promise<string[]> {
  return (await h.db.execute('SELECT action FROM audit_events ORDER BY seq')).rows.map((r) => String(r.action));
}

describe('ordered stages', () => {
  it('Quote edit: Dan cannot decide before Ben; Ben approves, the request reaches Dan; Dan approves: approved and granted', async () => {
    const m = createMutation({ permissions: ['object:Quote:edit'], durationDays: 30 });
    expect(only((await h.mutate(ava, [m])).results).status).toBe('applied');
    const id = m.args.requestId;
    const created = (await requestOf(ava, id))!;
    expect(created.stages).toMatchObject([
      { kind: 'manager', label: 'Manager', keys: ['object:Quote:edit'], approverIds: ['p-ben'], required: 1, approvals: [], decision: null, escalated: false },
      { kind: 'group', label: 'Deal Desk', keys: ['object:Quote:edit'], approverIds: ['p-dan'], required: 1, approvals: [], decision: null, escalated: false },
    ]);
    // Ava's slice names everyone who will be asked, the later stage included.
    expect((await h.pull(ava)).people.map((p) => p.id)).toEqual(expect.arrayContaining(['p-ben', 'p-dan']));

    // Not Dan's turn: he does not have it yet, and may not decide it.
    const dan0 = await h.pull(dan);
    expect(dan0.requests.map((r) => r.id)).not.toContain(id);
    expect(only((await h.mutate(dan, [decisionMutation(id, 'approve')])).results)).toMatchObject({
      status: 'rejected',
      error: { code: 'forbidden', message: 'This request is not waiting for you.' },
    });

    // Ben approves for 7 days: stage 1 concludes, stage 2 opens.
    h.clock.advance(60_000);
    expect(only((await h.mutate(ben, [decisionMutation(id, 'approve', { durationDays: 7 })])).results).status).toBe('applied');
    const afterBen = (await requestOf(ava, id))!;
    expect(afterBen.status).toBe('pending');
    expect(afterBen.stages[0]!.approvals.map((a) => a.deciderId)).toEqual(['p-ben']);
    expect(afterBen.stages[0]!.decision).toMatchObject({ deciderId: 'p-ben', outcome: 'approve', durationDays: 7 });
    expect(afterBen.stages[1]!.decision).toBeNull();
    // Ben is done with it.
    expect(awaitsDecisionBy(afterBen, 'p-ben')).toBe(false);
    expect(only((await h.mutate(ben, [decisionMutation(id, 'approve')])).results).error?.message).toBe('This request is not waiting for you.');

    // Dan's next pull (from his old cursor) carries it, with the requester's name; it is in his queue.
    const dan1 = await h.pull(dan, dan0.cursor);
    expect(dan1.reset).toBe(false);
    expect(dan1.requests.map((r) => r.id)).toEqual([id]);
    expect(dan1.people.map((p) => p.id)).toContain('p-ava');
    const danSlice = applySync(applySync(null, dan0), dan1);
    expect(approverQueue(danSlice, 'p-dan').map((r) => r.id)).toEqual([id]);

    // Dan approves: the request is approved; once the CRM holds it (an admin task on the read-only demo
    // org), it is granted for the shortest duration any approver gave, counted from then.
    h.clock.advance(60_000);
    expect(only((await h.mutate(dan, [decisionMutation(id, 'approve')])).results).status).toBe('applied');
    const approved = (await requestOf(ava, id))!;
    expect(approved).toMatchObject({ status: 'approved', decidedAt: h.clock.now().toISOString(), grantedAt: null, expiresAt: null });
    expect(approved.stages[1]!.decision).toMatchObject({ deciderId: 'p-dan', outcome: 'approve', durationDays: 30 });
    h.clock.advance(60_000);
    expect((await h.completeTask(id)).status).toBe(200);
    const done = (await requestOf(ava, id))!;
    const now = h.clock.now();
    expect(done).toMatchObject({
      status: 'fulfilled',
      grantedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 7 * DAY_MS).toISOString(),
    });
    const grants = (await h.pull(ava)).assignments.filter((a) => a.requestId === id);
    expect(grants.map((g) => g.target)).toEqual([{ type: 'bundle', bundleId: 'ps-quote-desk' }]);

    const log = await actions();
    expect(log.filter((a) => a === 'decision.recorded')).toHaveLength(2);
    expect(log.filter((a) => a === 'grant.created')).toHaveLength(1);
    const rows = await h.db.execute('SELECT stage, decider_id FROM request_decisions WHERE request_id = ? ORDER BY stage', [id]);
    expect(rows.rows.map((r) => [Number(r.stage), r.decider_id])).toEqual([
      [0, 'p-ben'],
      [1, 'p-dan'],
    ]);
  });

  it('a denial at the second stage ends the request; that stage holds the denial', async () => {
    const m = createMutation({ permissions: ['object:Quote:edit'] });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    const r = only((await h.mutate(dan, [decisionMutation(m.args.requestId, 'deny', { reason: 'The Deal Desk edits quotes for Sales.' })])).results);
    expect(r.status).toBe('applied');
    const denied = (await requestOf(ava, m.args.requestId))!;
    expect(denied.status).toBe('denied');
    expect(denied.stages[0]!.decision?.outcome).toBe('approve');
    expect(denied.stages[1]!.decision).toMatchObject({ deciderId: 'p-dan', outcome: 'deny', reason: 'The Deal Desk edits quotes for Sales.' });
    expect(denied.stages[1]!.approvals).toEqual([]);
    expect((await h.pull(ava)).assignments.filter((a) => a.requestId === m.args.requestId)).toEqual([]);
    // Nothing more to decide.
    expect(only((await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')])).results).error?.code).toBe('conflict');
  });

  it('N of M: a stage that needs two approvals of three stays open after the first', async () => {
    const cara = await h.signIn('cara@acme.test');
    // A reviewers group (directory data; versioned like every synced row).
    await h.db.transaction(async (tx) => {
      const v = Number((await tx.execute('UPDATE meta SET version = version + 1 RETURNING version')).rows[0]!.version);
      await tx.execute({
        sql: "INSERT INTO approver_groups (id, name, member_ids, version) VALUES ('grp-reviewers', 'Quote reviewers', ?, ?)",
        args: [JSON.stringify(['p-kai', 'p-gil', 'p-ivy']), v],
      });
    });
    const current = policyResponse.parse(await (await h.get(cara, '/api/policy')).json());
    const document = structuredClone(current.document);
    const rule = document.requestRules.find((r) => r.id === 'rr-deal-desk')!;
    rule.stages = [{ kind: 'group', groupId: 'grp-reviewers', mode: { type: 'nOfM', n: 2 }, label: 'Quote reviewers' }];
    const put = await h.changePolicy({ baseVersion: current.version, document, note: 'Two reviewers for quote changes' });
    expect(put.status).toBe(200);

    const m = createMutation({ permissions: ['object:Quote:create'] });
    expect(only((await h.mutate(ava, [m])).results).status).toBe('applied');
    const r0 = (await requestOf(ava, m.args.requestId))!;
    expect(r0.stages).toMatchObject([{ kind: 'group', label: 'Quote reviewers', approverIds: ['p-kai', 'p-gil', 'p-ivy'], required: 2 }]);

    const kai = await h.signIn('kai@acme.test');
    const gil = await h.signIn('gil@acme.test');
    expect(only((await h.mutate(kai, [decisionMutation(m.args.requestId, 'approve')])).results).status).toBe('applied');
    const r1 = (await requestOf(ava, m.args.requestId))!;
    expect(r1.status).toBe('pending');
    expect(r1.stages[0]!.approvals.map((a) => a.deciderId)).toEqual(['p-kai']);
    expect(r1.stages[0]!.decision).toBeNull();
    // Kai has had his say; Gil and Ivy still may.
    expect(only((await h.mutate(kai, [decisionMutation(m.args.requestId, 'approve')])).results).error?.message).toBe('This request is not waiting for you.');
    expect(awaitsDecisionBy(r1, 'p-gil')).toBe(true);
    expect(only((await h.mutate(gil, [decisionMutation(m.args.requestId, 'approve')])).results).status).toBe('applied');
    const r2 = (await requestOf(ava, m.args.requestId))!;
    expect(r2.status).toBe('approved');
    expect(r2.stages[0]!.approvals.map((a) => a.deciderId)).toEqual(['p-kai', 'p-gil']);
    expect(r2.stages[0]!.decision?.deciderId).toBe('p-gil');
  });
});

describe('auto-approval', () => {
  it("Ava's Case read is approved at once by the policy, granted for at most 7 days once the CRM holds it, and audited", async () => {
    const m = createMutation({ permissions: ['object:Case:read'], durationDays: 30 });
    expect(only((await h.mutate(ava, [m])).results).status).toBe('applied');
    const decided = h.clock.now();
    const r = (await requestOf(ava, m.args.requestId))!;
    expect(r).toMatchObject({
      status: 'approved',
      durationDays: 7,
      stages: [],
      decidedAt: decided.toISOString(),
      grantedAt: null,
      expiresAt: null,
      fulfilment: { state: 'admin-task', bundles: [{ id: 'ps-case-viewer', name: 'Case Viewer', kind: 'permissionSet' }] },
    });
    h.clock.advance(60_000);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const now = h.clock.now();
    expect(await requestOf(ava, m.args.requestId)).toMatchObject({
      status: 'fulfilled',
      grantedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 7 * DAY_MS).toISOString(),
    });
    const grants = (await h.pull(ava)).assignments.filter((a) => a.requestId === m.args.requestId);
    expect(grants).toMatchObject([{ target: { type: 'bundle', bundleId: 'ps-case-viewer' }, source: 'request', grantedAt: now.toISOString() }]);
    expect(await actions()).toEqual(expect.arrayContaining(['request.created', 'request.auto_approved', 'grant.created']));
    const audit = await h.db.execute("SELECT actor_id, data FROM audit_events WHERE action = 'request.auto_approved'");
    expect(audit.rows[0]!.actor_id).toBeNull();
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ ruleIds: ['rr-self-service-case'], durationDays: 7 });
    // Nobody was asked.
    expect((await h.pull(ben)).requests.map((x) => x.id)).not.toContain(m.args.requestId);
  });
});

describe('evidence links', () => {
  it('are stored with the request and synced', async () => {
    const m = createMutation({ permissions: ['object:Order:read'], evidence: ['https://tickets.acme.test/SALES-4411'] });
    await h.mutate(ava, [m]);
    expect((await requestOf(ava, m.args.requestId))?.evidence).toEqual(['https://tickets.acme.test/SALES-4411']);
    expect((await requestOf(ben, m.args.requestId))?.evidence).toEqual(['https://tickets.acme.test/SALES-4411']);
  });
});
