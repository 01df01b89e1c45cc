/**
 * The lifecycle from the popup, through the background and its outbox against the real server (in-process): a question
 * asked offline is queued, shown at once and sent exactly once; the requester's answer likewise; "My
 * decisions" lists it; request again after a denial is linked to the denied request.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { PopupStateAnswer, RequestAnswer } from '../../utils/protocol';
import { handleMessage, type RouterDeps } from './router';
import { SELF, type TestServer, contentSender, contractPage, createDeps, delivered, popupSender, signInAs, useTestServer } from './test-server';

let server: TestServer;
let deps: RouterDeps;

async function as(email: 'ava@acme.test' | 'ben@acme.test') {
  await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);
  await signInAs(deps, email);
}

async function popup() {
  const answer = (await handleMessage(deps, { type: 'popup.state' }, popupSender, SELF)) as unknown as PopupStateAnswer;
  if (!answer.signedIn) throw new Error('signed out');
  return answer;
}

const send = (message: Record<string, unknown>) => handleMessage(deps, message, popupSender, SELF);
const posted = (name: string) =>
  server
    .mutationCalls()
    .flatMap((c) => (c.body as { mutations: { id: string; name: string }[] }).mutations)
    .filter((m) => m.name === name);

const testServer = useTestServer(undefined, { fakeTimers: true });
beforeEach(() => {
  server = testServer();
  deps = createDeps(server);
});

async function avaAsks(): Promise<string> {
  await signInAs(deps, 'ava@acme.test');
  const answer = await handleMessage(
    deps,
    { type: 'request.submit', page: contractPage, permissions: ['object:Contract:read'], justification: 'Renewal due Friday', durationDays: 7 },
    contentSender,
    SELF,
  );
  if (!answer.ok) throw new Error(answer.error.message);
  await delivered(deps);
  return (answer as unknown as RequestAnswer).request.id;
}

describe('needs-info from the popup', () => {
  it('asked offline: shown at once, queued, sent exactly once when back online; answered offline likewise', async () => {
    const id = await avaAsks();
    await as('ben@acme.test');
    expect((await popup()).queue.map((r) => r.id)).toEqual([id]);

    server.down = true;
    const empty = await send({ type: 'decision.submit', requestId: id, outcome: 'needs-info', reason: '  ', durationDays: null });
    expect(empty).toMatchObject({ ok: false, error: { field: 'reason' } });
    const asked = await send({ type: 'decision.submit', requestId: id, outcome: 'needs-info', reason: 'Which account is it for?', durationDays: null });
    expect(asked).toMatchObject({
      ok: true,
      request: { status: 'needs-info', needsInfo: { question: 'Which account is it for?', askedBy: 'p-ben', stage: 0 } },
    });
    let state = await popup();
    expect(state.queue).toEqual([]);
    expect(state.sync.outbox).toBe(1);
    expect(state.history).toMatchObject([{ requestId: id, outcome: 'needs-info', text: 'Which account is it for?' }]);
    // Several failed attempts while offline, then back: one application on the server.
    await vi.advanceTimersByTimeAsync(10_000);
    server.down = false;
    await deps.replica.syncNow({ force: true });
    await deps.replica.syncNow({ force: true });
    expect(new Set(posted('decision.record').map((m) => m.id)).size).toBe(1);
    expect(posted('decision.record').length).toBeGreaterThan(1); // retried while offline…
    const onServer = (await server.request(id))!;
    expect(onServer).toMatchObject({ status: 'needs-info', needsInfo: { question: 'Which account is it for?', askedBy: 'p-ben', stage: 0 } });
    expect(onServer.timeline!.filter((e) => e.kind === 'needs-info')).toHaveLength(1); // …applied once
    state = await popup();
    expect(state.sync.outbox).toBe(0);
    expect(state.history).toMatchObject([{ requestId: id, outcome: 'needs-info' }]);

    await as('ava@acme.test');
    expect((await popup()).myRequests[0]).toMatchObject({ id, status: 'needs-info' });
    expect(await send({ type: 'request.answer', requestId: id, answer: '' })).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    server.down = true;
    expect(await send({ type: 'request.answer', requestId: id, answer: 'Globex, the renewal' })).toMatchObject({ ok: true, request: { status: 'pending' } });
    server.down = false;
    await deps.replica.syncNow({ force: true });
    await deps.replica.syncNow({ force: true });
    // Every attempt carried the same mutation id (the server applies an id once).
    expect(new Set(posted('request.answer').map((m) => m.id)).size).toBe(1);
    const answered = (await server.request(id))!;
    expect(answered).toMatchObject({ status: 'pending', needsInfo: null });
    expect(answered.timeline!.filter((e) => e.kind === 'answered')).toMatchObject([{ text: 'Globex, the renewal' }]);
    // Answering a request that no longer waits for an answer is refused locally.
    expect(await send({ type: 'request.answer', requestId: id, answer: 'again' })).toMatchObject({ ok: false, error: { code: 'conflict' } });

    await as('ben@acme.test');
    expect((await popup()).queue.map((r) => r.id)).toEqual([id]);
  });

  it('request again after a denial: the same keys, linked to the denied request; only a denied one', async () => {
    const id = await avaAsks();
    expect(await send({ type: 'request.again', requestId: id, justification: 'x', durationDays: 7 })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    await as('ben@acme.test');
    await send({ type: 'decision.submit', requestId: id, outcome: 'deny', reason: 'Which customer?', durationDays: null });
    await deps.replica.syncNow({ force: true });
    await as('ava@acme.test');
    const again = await send({ type: 'request.again', requestId: id, justification: 'Globex renewal, contract 800xx', durationDays: 7 });
    expect(again).toMatchObject({ ok: true, request: { status: 'pending', previousRequestId: id, permissions: ['object:Contract:read'] } });
    await deps.replica.syncNow({ force: true });
    const create = server
      .mutationCalls()
      .flatMap((c) => (c.body as { mutations: { name: string; args: Record<string, unknown> }[] }).mutations)
      .filter((m) => m.name === 'request.create')
      .at(-1)!;
    expect(create.args).toMatchObject({ previousRequestId: id, permissions: ['object:Contract:read'], justification: 'Globex renewal, contract 800xx' });
  });

  it('extend a grant in force: a new request for its keys, linked to it; not before the CRM holds it, not for longer than allowed', async () => {
    const id = await avaAsks();
    await as('ben@acme.test');
    await send({ type: 'decision.submit', requestId: id, outcome: 'approve', reason: null, durationDays: null });
    await deps.replica.syncNow({ force: true });
    await as('ava@acme.test');
    // Approved, not yet held: nothing to extend.
    expect(await send({ type: 'request.extend', requestId: id, justification: 'More time', durationDays: 7 })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    // The CRM confirmed it (docs/api.md "Fulfilment": status fulfilled): Cara granted it in Salesforce.
    await server.fulfil(id);
    await deps.replica.syncNow({ force: true });
    expect(await send({ type: 'request.extend', requestId: id, justification: 'More time', durationDays: 365 })).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
    const extended = await send({ type: 'request.extend', requestId: id, justification: 'The renewal slipped a week', durationDays: 7 });
    expect(extended).toMatchObject({
      ok: true,
      request: { status: 'pending', extendsRequestId: id, previousRequestId: null, permissions: ['object:Contract:read'] },
    });
    await deps.replica.syncNow({ force: true });
    const create = server
      .mutationCalls()
      .flatMap((c) => (c.body as { mutations: { name: string; args: Record<string, unknown> }[] }).mutations)
      .filter((m) => m.name === 'request.create')
      .at(-1)!;
    expect(create.args).toMatchObject({ extendsRequestId: id, permissions: ['object:Contract:read'], durationDays: 7 });
  });
});
