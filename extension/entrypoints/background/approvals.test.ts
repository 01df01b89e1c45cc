/**
 * Multi-stage approvals through the background, against the real server (in-process) with the demo policy
 * and the rules of test-server.ts's `contractRules`, set up through the policy API:
 * Contract edit = manager (Ben), then Deal Desk (Dan); Contract delete = 2 of Ben, Dan, Gil (Legal).
 * Each decision is checked twice: as the optimistic replay shows it (server down) and as the server
 * applied it after delivery — they must agree.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { AccessRequest } from '@accesslens/shared';
import type { PageDecideAnswer, PopupStateAnswer, RequestAnswer } from '../../utils/protocol';
import { applyDecision } from './outbox';
import { handleMessage, type RouterDeps } from './router';
import { type DemoEmail, SELF, type TestServer, contentSender, contractPage, createDeps, delivered, popupSender, signInAs, useTestServer } from './test-server';

let server: TestServer;
let deps: RouterDeps;

const signIn = (email: DemoEmail) => signInAs(deps, email);

async function signOut() {
  await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);
}

async function as(email: DemoEmail) {
  await signOut();
  await signIn(email);
}

async function request(key: string, durationDays = 7): Promise<AccessRequest> {
  const answer = await handleMessage(
    deps,
    { type: 'request.submit', page: contractPage, permissions: [key], justification: 'Renewal due Friday', durationDays },
    contentSender,
    SELF,
  );
  if (!answer.ok) throw new Error(answer.error.message);
  await delivered(deps);
  return (answer as unknown as RequestAnswer).request;
}

async function popup() {
  const answer = (await handleMessage(deps, { type: 'popup.state' }, popupSender, SELF)) as unknown as PopupStateAnswer;
  if (!answer.signedIn) throw new Error('signed out');
  return answer;
}

async function approve(id: string, durationDays: number | null = null) {
  return handleMessage(deps, { type: 'decision.submit', requestId: id, outcome: 'approve', reason: null, durationDays }, popupSender, SELF);
}

async function decide() {
  return (await handleMessage(deps, { type: 'page.decide', page: contractPage }, contentSender, SELF)) as unknown as PageDecideAnswer;
}

const rowOf = (a: PageDecideAnswer, key: string) => (a.verdict?.state === 'ready' ? a.verdict.decision.rows.find((r) => r.key === key) : undefined);

/** A request's stages without timestamps, to compare the client's guess with the server's copy. */
const shape = (r: AccessRequest) => ({
  status: r.status,
  // Approved is not held: neither side names a grant before the CRM confirms it.
  held: [r.grantedAt, r.expiresAt],
  stages: r.stages.map((s) => ({
    label: s.label,
    approverIds: s.approverIds,
    required: s.required,
    approvals: s.approvals.map((a) => [a.deciderId, a.outcome]),
    decision: s.decision && [s.decision.deciderId, s.decision.outcome],
  })),
});

/** Decides with the server down (so only the optimistic replay shows it), then delivers it. */
async function decideOfflineThenDeliver(id: string, decision: () => Promise<unknown>) {
  server.down = true;
  const answer = await decision();
  expect(answer).toMatchObject({ ok: true });
  const optimistic = (answer as RequestAnswer).request;
  server.down = false;
  await (deps.replica as any).syncNow({ force: true });
  const onServer = (await server.request(id))!;
  expect(shape(optimistic)).toEqual(shape(onServer));
  return optimistic;
}

const testServer = useTestServer((s) => s.contractRules(), { fakeTimers: true });
beforeEach(() => {
  server = testServer();
  deps = createDeps(server);
});

describe('ordered stages', () => {
  it("two stages: Ben's approval concludes stage 1 only; Dan's approval grants", async () => {
    await signIn('ava@acme.test');
    const r = await request('object:Contract:edit');
    expect((await server.request(r.id))!.stages.map((s) => s.label)).toEqual(['Manager', 'Deal Desk']);

    await as('dan@acme.test');
    expect((await popup()).queue).toEqual([]); // stage 2 is not open yet

    await as('ben@acme.test');
    expect((await popup()).queue.map((q) => q.id)).toEqual([r.id]);
    const afterBen = await decideOfflineThenDeliver(r.id, () => approve(r.id));
    expect(afterBen.status).toBe('pending'); // stage 1 approved does not approve the request
    expect(afterBen.stages[0]!.decision?.deciderId).toBe('p-ben');
    expect(afterBen.stages[1]!.decision).toBeNull();
    expect((await popup()).queue).toEqual([]);

    await as('ava@acme.test');
    expect(rowOf(await decide(), 'object:Contract:edit')?.state).toBe('pending');
    const mine = (await popup()).myRequests.find((m) => m.id === r.id)!;
    expect(mine.stages.map((s) => s.decision?.outcome ?? null)).toEqual(['approve', null]);

    await as('dan@acme.test');
    const queue = (await popup()).queue;
    expect(queue.map((q) => q.id)).toEqual([r.id]);
    const afterDan = await decideOfflineThenDeliver(r.id, () => approve(r.id, 1));
    expect(afterDan.status).toBe('approved');

    await as('ava@acme.test');
    // Approved; held once the CRM has it (the demo connection is read-only: Cara grants it in Salesforce).
    expect(rowOf(await decide(), 'object:Contract:edit')?.state).toBe('approved');
    await server.fulfil(r.id);
    await (deps.replica as any).syncNow({ force: true });
    expect(rowOf(await decide(), 'object:Contract:edit')?.state).toBe('granted');
    // For the day Dan gave, the shortest any approver gave.
    const granted = (await server.request(r.id))!;
    expect(Date.parse(granted.expiresAt!) - Date.parse(granted.grantedAt!)).toBe(86_400_000);
  });

  it('a denial in a later stage ends the request', async () => {
    await signIn('ava@acme.test');
    const r = await request('object:Contract:edit');
    await as('ben@acme.test');
    await decideOfflineThenDeliver(r.id, () => approve(r.id));
    await as('dan@acme.test');
    const denied = await decideOfflineThenDeliver(r.id, () =>
      handleMessage(deps, { type: 'decision.submit', requestId: r.id, outcome: 'deny', reason: 'Not this quarter', durationDays: null }, popupSender, SELF),
    );
    expect(denied.status).toBe('denied');
    expect(denied.stages[1]!.decision).toMatchObject({ deciderId: 'p-dan', outcome: 'deny', reason: 'Not this quarter' });
  });

  it('an approver of a later stage cannot decide before it opens', async () => {
    await signIn('ava@acme.test');
    const r = await request('object:Contract:edit');
    await as('dan@acme.test');
    const sent = server.mutationCalls().length;
    expect(await approve(r.id)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    await (deps.replica as any).syncNow({ force: true });
    expect(server.mutationCalls()).toHaveLength(sent);
  });
});

describe('N of M', () => {
  it('needs 2 of Ben, Dan and Gil; whoever approved no longer sees it', async () => {
    await signIn('ava@acme.test');
    const r = await request('object:Contract:delete');
    expect((await server.request(r.id))!.stages).toMatchObject([{ label: 'Legal', required: 2, approverIds: ['p-ben', 'p-dan', 'p-gil'] }]);

    await as('ben@acme.test');
    const one = await decideOfflineThenDeliver(r.id, () => approve(r.id));
    expect(one.status).toBe('pending');
    expect(one.stages[0]!.approvals.map((a) => a.deciderId)).toEqual(['p-ben']);
    expect(one.stages[0]!.decision).toBeNull();
    expect((await popup()).queue).toEqual([]); // Ben approved: no longer his to decide
    expect(await approve(r.id)).toMatchObject({ ok: false, error: { code: 'not_found' } });

    await as('gil@acme.test');
    expect((await popup()).queue.map((q) => q.id)).toEqual([r.id]);
    const two = await decideOfflineThenDeliver(r.id, () => approve(r.id));
    expect(two.status).toBe('approved');
    expect(two.stages[0]!.decision?.deciderId).toBe('p-gil');

    await as('dan@acme.test');
    expect((await popup()).queue).toEqual([]); // concluded without him
  });

  it('the server refuses a second approval by the same person', async () => {
    await signIn('ava@acme.test');
    const r = await request('object:Contract:delete');
    await as('ben@acme.test');
    await approve(r.id);
    await delivered(deps);
    const token = server.mutationCalls().at(-1)!.auth!;
    const again = await server.fetch('http://localhost:8787/api/mutations', {
      method: 'POST',
      headers: { Authorization: token, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        mutations: [
          {
            id: '00000000-0000-4000-8000-999999999999',
            name: 'decision.record',
            args: { requestId: r.id, outcome: 'approve', reason: null, durationDays: null },
          },
        ],
      }),
    });
    // The real server answers forbidden (the stage no longer waits for him); the fake said conflict.
    expect((await again.json()).results[0]).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });
    expect((await server.request(r.id))!.stages[0]!.approvals).toHaveLength(1);
  });
});

describe('applyDecision (the optimistic rule)', () => {
  const base: AccessRequest = {
    id: 'r1',
    requesterId: 'p-ava',
    connectionId: 'c-acme',
    accountId: 'a-p-ava',
    permissions: ['object:Contract:edit'],
    page: null,
    justification: 'x',
    evidence: [],
    durationDays: 30,
    status: 'pending',
    stages: [
      { kind: 'manager', label: 'Manager', keys: [], approverIds: ['p-ben'], required: 1, approvals: [], decision: null, escalated: false },
      { kind: 'group', label: 'Legal', keys: [], approverIds: ['p-dan', 'p-eve', 'p-ben'], required: 2, approvals: [], decision: null, escalated: false },
    ],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    decidedAt: null,
    grantedAt: null,
    expiresAt: null,
  };
  const d = (deciderId: string, outcome: 'approve' | 'deny' = 'approve', durationDays: number | null = null) => ({
    deciderId,
    outcome,
    reason: outcome === 'deny' ? 'no' : null,
    durationDays,
    decidedAt: '2026-01-02T00:00:00.000Z',
  });

  it('only the open stage, only its approvers, once each; approved is not yet held', () => {
    expect(applyDecision(base, 'p-dan', d('p-dan'))).toBeNull(); // stage 2 not open
    const s1 = applyDecision(base, 'p-ben', d('p-ben', 'approve', 7))!;
    expect(s1.status).toBe('pending');
    const s2a = applyDecision(s1, 'p-ben', d('p-ben'))!; // Ben is in stage 2 too: a new stage, a new approval
    expect(s2a.stages[1]!.approvals).toHaveLength(1);
    expect(applyDecision(s2a, 'p-ben', d('p-ben'))).toBeNull(); // but not twice in one stage
    const done = applyDecision(s2a, 'p-eve', d('p-eve'))!;
    // Approved, not held: the server sets grantedAt and expiresAt (the shortest duration any approver gave —
    // see the two-stage test above) when the CRM confirms.
    expect(done).toMatchObject({ status: 'approved', decidedAt: '2026-01-02T00:00:00.000Z', grantedAt: null, expiresAt: null });
    expect(applyDecision(done, 'p-dan', d('p-dan'))).toBeNull();
  });

  it('a denial ends the request whatever stage it is in', () => {
    const denied = applyDecision(base, 'p-ben', d('p-ben', 'deny'))!;
    expect(denied.status).toBe('denied');
    expect(denied.stages[1]!.decision).toBeNull();
  });
});
