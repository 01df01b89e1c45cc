/**
 * The requester's lifecycle through the background: several keys in one request, a whole bundle, a start
 * date, a direct report, request again, extend, and answering an approver's question (request.answer).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { PageDecideAnswer, ReportsAnswer, RequestAnswer } from '../../utils/protocol';
import { handleMessage, type RouterDeps } from './router';
import { SELF, type TestServer, contentSender, contractPage, createDeps, signInAs, uuid, useTestServer } from './test-server';

let server: TestServer;
let deps: RouterDeps;

const send = (message: Record<string, unknown>) => handleMessage(deps, message, contentSender, SELF);
const submit = (extra: Record<string, unknown>) =>
  send({ type: 'request.submit', page: contractPage, permissions: [], justification: 'Renewal due Friday', durationDays: 7, ...extra });
const decide = () => send({ type: 'page.decide', page: contractPage }) as Promise<unknown> as Promise<PageDecideAnswer & { ok: true }>;
const sentMutations = () => server.sentMutations();
const flush = async () => {
  await vi.advanceTimersByTimeAsync(0);
  await (deps.replica as any).syncNow({ force: true });
};
const rowState = (page: PageDecideAnswer, key: string) =>
  page.verdict?.state === 'ready' ? page.verdict.decision.rows.find((r) => r.key === key)?.state : undefined;

// Contract create is approved automatically (test-server.ts, contractRules).
const testServer = useTestServer((s) => s.contractRules(), { fakeTimers: true });
beforeEach(() => {
  server = testServer();
  deps = createDeps(server);
});

describe('several keys, and one pending key does not block another', () => {
  it('two keys in one request; then a third while they wait; a waiting key is refused', async () => {
    await signInAs(deps, 'ava@acme.test');
    expect(await submit({ permissions: ['object:Contract:read', 'object:Contract:edit'] })).toMatchObject({ ok: true });
    await flush();
    const creates = sentMutations().filter((m) => m.name === 'request.create');
    expect(creates).toHaveLength(1);
    expect(creates[0]!.args.permissions).toEqual(['object:Contract:read', 'object:Contract:edit']);
    const page = await decide();
    expect(rowState(page, 'object:Contract:read')).toBe('pending');
    expect(rowState(page, 'object:Contract:edit')).toBe('pending');
    expect(rowState(page, 'object:Contract:delete')).toBe('missing');
    expect(await submit({ permissions: ['object:Contract:delete'] })).toMatchObject({ ok: true });
    expect(await submit({ permissions: ['object:Contract:read'] })).toMatchObject({ ok: false, error: { code: 'duplicate_request' } });
  });
});

describe('a whole bundle', () => {
  it('the page offers the permission sets that grant what is missing (never a profile), with what they add', async () => {
    await signInAs(deps, 'ava@acme.test');
    const page = await decide();
    // The demo's permission sets (server/src/seed/demo.ts): Contract Manager, and the Revenue Ops group that includes it.
    expect(page.bundles).toEqual([
      {
        id: 'ps-contract-manager',
        name: 'Contract Manager',
        kind: 'permissionSet',
        adds: ['object:Contract:read', 'object:Contract:create', 'object:Contract:edit'],
        total: 3,
      },
      {
        id: 'psg-revenue-ops',
        name: 'Revenue Ops',
        kind: 'permissionSetGroup',
        adds: ['object:Contract:read', 'object:Contract:create', 'object:Contract:edit'],
        total: 6,
      },
    ]);
  });

  it('is sent as bundleId with no keys; the optimistic request names what it adds; a profile is refused', async () => {
    await signInAs(deps, 'ava@acme.test');
    const answer = (await submit({ bundleId: 'ps-contract-manager' })) as unknown as RequestAnswer & { ok: true };
    expect(answer.request).toMatchObject({ bundleId: 'ps-contract-manager', status: 'pending' });
    expect(answer.request.permissions).toEqual(['object:Contract:read', 'object:Contract:create', 'object:Contract:edit']);
    await flush();
    expect(sentMutations().find((m) => m.name === 'request.create')!.args).toMatchObject({ bundleId: 'ps-contract-manager', permissions: [] });
    // The server's copy asks for the same keys the optimistic one named.
    expect((await server.request(answer.request.id))!.permissions.sort()).toEqual([...answer.request.permissions].sort());
    expect(await submit({ bundleId: 'profile-standard-sales' })).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'bundleId' } });
    expect(await submit({ bundleId: 'b-nope' })).toMatchObject({ ok: false, error: { field: 'bundleId' } });
  });
});

describe('options', () => {
  it('a start date in the future is sent; one in the past is refused before anything is queued', async () => {
    await signInAs(deps, 'ava@acme.test');
    const startsAt = new Date(Date.now() + 3 * 86_400_000).toISOString();
    expect(await submit({ permissions: ['object:Contract:read'], startsAt })).toMatchObject({ ok: true, request: { startsAt } });
    const past = new Date(Date.now() - 60_000).toISOString();
    expect(await submit({ permissions: ['object:Contract:edit'], startsAt: past })).toMatchObject({ ok: false, error: { field: 'startsAt' } });
    await flush();
    const creates = sentMutations().filter((m) => m.name === 'request.create');
    expect(creates.map((m) => m.args.startsAt)).toEqual([startsAt]);
  });

  it('a manager files for a direct report: onBehalfOf, no optimistic request of hers in his slice', async () => {
    await signInAs(deps, 'ben@acme.test');
    const reports = (await send({ type: 'people.reports' })) as unknown as ReportsAnswer & { ok: true };
    // Ben's active reports in the demo directory (Jon, who left, is not one to file for).
    expect(reports.people.map((p) => p.id)).toEqual(['p-ava', 'p-eli']);
    expect(await submit({ permissions: ['object:Contract:read'], onBehalfOf: 'p-ava' })).toMatchObject({
      ok: true,
      request: { requesterId: 'p-ava', filedBy: 'p-ben' },
    });
    await flush();
    expect(sentMutations().find((m) => m.name === 'request.create')!.args).toMatchObject({ onBehalfOf: 'p-ava' });
    // The report's request is in the filer's history (it is his to follow), not a row of his own.
    const page = await decide();
    expect(page.history?.map((r) => [r.requesterId, r.filedBy])).toEqual([['p-ava', 'p-ben']]);
    expect(rowState(page, 'object:Contract:read')).toBe('missing');
  });
});

describe('request again and extend', () => {
  it('request again only follows a denied request of mine, and is linked to it', async () => {
    await signInAs(deps, 'ava@acme.test');
    await submit({ permissions: ['object:Contract:read'] });
    await flush();
    const [first] = await server.requests();
    expect(await submit({ permissions: ['object:Contract:edit'], previousRequestId: first!.id })).toMatchObject({
      ok: false,
      error: { field: 'previousRequestId' },
    });
    // Ben denies it (from his browser).
    const denied = await server.mutate('ben@acme.test', [
      { id: uuid(), name: 'decision.record', args: { requestId: first!.id, outcome: 'deny', reason: 'Which customer?', durationDays: null } },
    ]);
    expect(denied.results[0]).toMatchObject({ status: 'applied' });
    await flush();
    expect(await submit({ permissions: ['object:Contract:read'], previousRequestId: first!.id })).toMatchObject({
      ok: true,
      request: { previousRequestId: first!.id },
    });
  });

  it('extend: a grant of mine, its keys by default though held, linked by extendsRequestId', async () => {
    await signInAs(deps, 'ava@acme.test');
    // Contract create is approved automatically (contractRules); the CRM confirms it (Cara grants it).
    await submit({ permissions: ['object:Contract:create'] });
    await flush();
    const [approved] = await server.requests();
    expect(approved).toMatchObject({ status: 'approved' });
    await server.fulfil(approved!.id);
    await flush();
    const grant = (await server.request(approved!.id))!;
    expect(grant.status).toBe('fulfilled');
    expect(rowState(await decide(), 'object:Contract:create')).toBe('granted');
    const answer = (await submit({ extendsRequestId: grant.id })) as unknown as RequestAnswer & { ok: true };
    expect(answer.request).toMatchObject({ extendsRequestId: grant.id, permissions: ['object:Contract:create'] });
    await flush();
    expect(
      sentMutations()
        .filter((m) => m.name === 'request.create')
        .at(-1)!.args,
    ).toMatchObject({
      extendsRequestId: grant.id,
      permissions: ['object:Contract:create'],
    });
    // Only a grant (fulfilled) of mine can be extended.
    expect(await submit({ extendsRequestId: 'r-unknown' })).toMatchObject({ ok: false, error: { field: 'extendsRequestId' } });
  });
});

describe('needs-info: request.answer', () => {
  it('answers a question on my request: sent once, pending again at once, refused when not asked', async () => {
    await signInAs(deps, 'ava@acme.test');
    await submit({ permissions: ['object:Contract:read'] });
    await flush();
    const id = (await server.requests())[0]!.id;
    expect(await send({ type: 'request.answer', requestId: id, answer: 'Globex' })).toMatchObject({ ok: false, error: { code: 'conflict' } });

    // Ben asks (from his browser, through the server).
    const question = await server.mutate('ben@acme.test', [
      { id: uuid(), name: 'decision.record', args: { requestId: id, outcome: 'needs-info', reason: 'Which account?', durationDays: null } },
    ]);
    expect(question.results[0]).toMatchObject({ status: 'applied' });
    await flush();
    const asked = await decide();
    expect(asked.history?.[0]).toMatchObject({ status: 'needs-info', needsInfo: { question: 'Which account?' } });
    expect(asked.names['p-ben']).toBe('Ben Ortiz');

    expect(await send({ type: 'request.answer', requestId: id, answer: '   ' })).toMatchObject({ ok: false, error: { field: 'answer' } });
    const answered = (await send({ type: 'request.answer', requestId: id, answer: 'Globex, renewal' })) as unknown as RequestAnswer;
    // Pending again before the server is reached (the outbox's replay).
    expect(answered.request.status).toBe('pending');
    await flush();
    expect(
      sentMutations()
        .filter((m) => m.name === 'request.answer')
        .map((m) => m.args),
    ).toEqual([{ requestId: id, answer: 'Globex, renewal' }]);
    expect((await server.request(id))!.status).toBe('pending');
  });

  it("nobody answers someone else's request", async () => {
    await signInAs(deps, 'ava@acme.test');
    expect(await send({ type: 'request.answer', requestId: 'r-someone', answer: 'x' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});

describe('previews at the trust boundary', () => {
  it('a bundle the page does not offer, or a grant not mine, cannot be previewed; an offered bundle can', async () => {
    await signInAs(deps, 'ava@acme.test');
    const preview = (extra: Record<string, unknown>) => send({ type: 'request.preview', page: contractPage, permissions: [], durationDays: 7, ...extra });
    expect(await preview({ bundleId: 'profile-standard-sales' })).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'bundleId' } });
    expect(await preview({ extendsRequestId: 'r-unknown' })).toMatchObject({ ok: false, error: { code: 'not_found', field: 'extendsRequestId' } });
    expect(await preview({})).toMatchObject({ ok: false, error: { code: 'invalid_message', field: 'permissions' } });
    expect(server.previewCalls()).toHaveLength(0);
    expect(await preview({ bundleId: 'ps-contract-manager' })).toMatchObject({ ok: true, offline: false, preview: { bundle: { id: 'ps-contract-manager' } } });
    expect(server.previewCalls().map((c) => c.body)).toEqual([{ connectionId: 'sf-acme', permissions: [], durationDays: 7, bundleId: 'ps-contract-manager' }]);
  });
});
