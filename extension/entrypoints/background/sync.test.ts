import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { setTestLocale } from '../../locales/testing';
import type { PageDecideAnswer, PopupStateAnswer, RequestAnswer } from '../../utils/protocol';
import { ALARM_THRESHOLD_MS, argsField, backoffDelay } from './outbox';
import { handleMessage, type RouterDeps } from './router';
import { RETRY_ALARM } from './sync';
import { SELF, type TestServer, contentSender, contractPage, createDeps, popupSender, signInAs, until, useTestServer } from './test-server';

async function decide(deps: RouterDeps) {
  const answer = await handleMessage(deps, { type: 'page.decide', page: contractPage }, contentSender, SELF);
  if (!answer.ok) throw new Error(answer.error.message);
  return answer as unknown as PageDecideAnswer;
}

async function submit(deps: RouterDeps, justification = 'I own the renewal') {
  return handleMessage(
    deps,
    { type: 'request.submit', page: contractPage, permissions: ['object:Contract:read'], justification, durationDays: 7 },
    contentSender,
    SELF,
  );
}

const readRow = (a: PageDecideAnswer) => (a.verdict?.state === 'ready' ? a.verdict.decision.rows.find((r) => r.key === 'object:Contract:read') : undefined);

describe('backoff', () => {
  it('doubles from 2 s and caps at 60 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(backoffDelay)).toEqual([2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });
});

describe('argsField', () => {
  it("keeps a rejected mutation's field relative to its own arguments, not to the batch it was sent in", () => {
    expect(argsField('mutations.0.args.permissions.0')).toBe('permissions.0');
    expect(argsField('mutations.12.args.justification')).toBe('justification');
    expect(argsField('mutations.3.id')).toBe('id');
    expect(argsField('durationDays')).toBe('durationDays');
  });
});

describe('sync and outbox', () => {
  let server: TestServer;
  let deps: RouterDeps;

  const testServer = useTestServer(undefined, { fakeTimers: true });
  beforeEach(() => {
    server = testServer();
    deps = createDeps(server);
  });

  it('decides a page from the synced slice after sign-in', async () => {
    await signInAs(deps, 'ava@acme.test');
    const answer = await decide(deps);
    expect(answer.signedIn).toBe(true);
    expect(answer.verdict?.state).toBe('ready');
    if (answer.verdict?.state !== 'ready') return;
    const d = answer.verdict.decision;
    expect(d.focus).toBe('read');
    expect(d.rows.map((r) => r.state)).toEqual(['missing', 'missing', 'missing', 'missing']);
    expect(d.approvers.map((p) => p.name)).toEqual(['Ben Ortiz']);
    // The demo catalog caps Contract read at 90 days (server/src/seed/demo.ts).
    expect(d.durationChoices).toEqual([1, 7, 30, 90]);
    const row = readRow(answer)!;
    expect(row.explanation.allowed ? [] : row.explanation.grantableBy.map((b) => b.name)).toEqual([
      'Contract Manager',
      'Revenue Ops',
      'Finance User',
      'System Administrator',
    ]);
  });

  it('answers signed-out when there is no session', async () => {
    const answer = await decide(deps);
    expect(answer).toMatchObject({ signedIn: false, verdict: null });
  });

  it('shows a request as pending at once, and delivers it exactly once after the server comes back', async () => {
    await signInAs(deps, 'ava@acme.test');
    server.down = true;
    const before = server.calls.length;

    const submitted = await submit(deps);
    expect(submitted.ok).toBe(true);
    const request = (submitted as unknown as RequestAnswer).request;
    // Optimistic: pending, routed to the manager, without any network answer.
    const pending = await decide(deps);
    expect(readRow(pending)?.state).toBe('pending');
    expect(readRow(pending)?.request?.id).toBe(request.id);
    expect(pending.names['p-ben']).toBe('Ben Ortiz');

    await vi.advanceTimersByTimeAsync(0);
    expect(server.calls.length).toBeGreaterThan(before);
    // Retries: 2 s, then 4 s, then 8 s.
    await vi.advanceTimersByTimeAsync(2000);
    await vi.advanceTimersByTimeAsync(4000);
    await vi.advanceTimersByTimeAsync(8000);
    const failedAttempts = server.mutationCalls().length;
    expect(failedAttempts).toBe(4);
    expect(await server.requests()).toHaveLength(0);
    const status = (await decide(deps)).sync;
    expect(status.outbox).toBe(1);
    expect(status.lastError?.code).toBe('network');

    server.down = false;
    await vi.advanceTimersByTimeAsync(16000);
    await until(async () => (await server.requests()).length === 1);
    expect((await server.requests()).map((r) => r.id)).toEqual([request.id]);

    // Every attempt carried the same mutation id; the server applied it once.
    const ids = server.mutationCalls().map((c) => (c.body as { mutations: { id: string }[] }).mutations.map((m) => m.id));
    expect(new Set(ids.flat()).size).toBe(1);
    expect(await server.requests()).toHaveLength(1);

    // Nothing left to send, and the server's copy replaced the guess.
    const after = await decide(deps);
    expect(after.sync.outbox).toBe(0);
    expect(after.sync.lastError).toBeNull();
    expect(readRow(after)?.state).toBe('pending');
    await (deps.replica as any).syncNow({ force: true });
    expect(await server.requests()).toHaveLength(1);
    expect(server.mutationCalls().length).toBe(failedAttempts + 1);
  });

  it('re-sending after a lost response gets "duplicate" and creates nothing twice', async () => {
    await signInAs(deps, 'ava@acme.test');
    const first = await submit(deps);
    expect(first.ok).toBe(true);
    await until(() => server.mutationCalls().length === 1);
    await until(async () => (await server.requests()).length === 1);
    const sent = server.mutationCalls()[0]!.body as { mutations: { id: string }[] };
    // The same mutation again (as after a response lost in transit):
    const res = await server.fetch('http://localhost:8787/api/mutations', {
      method: 'POST',
      headers: { Authorization: server.mutationCalls()[0]!.auth!, 'Content-Type': 'application/json' },
      body: JSON.stringify(sent),
    });
    expect((await res.json()).results[0].status).toBe('duplicate');
    expect(await server.requests()).toHaveLength(1);
  });

  it('retries server errors, and schedules long waits with an alarm that survives the worker', async () => {
    await signInAs(deps, 'ava@acme.test');
    server.failWith = { status: 503, times: 100 };
    await submit(deps);
    await vi.advanceTimersByTimeAsync(0);
    for (const ms of [2000, 4000, 8000, 16000]) await vi.advanceTimersByTimeAsync(ms);
    // Attempt 5 failed: next wait is 32 s > threshold → alarm, not a timer.
    expect(backoffDelay(5)).toBeGreaterThan(ALARM_THRESHOLD_MS);
    const alarm = await fakeBrowser.alarms.get(RETRY_ALARM);
    expect(alarm).toBeDefined();
    const calls = server.mutationCalls().length;
    await vi.advanceTimersByTimeAsync(40000);
    expect(server.mutationCalls().length).toBe(calls); // nothing fires without the alarm
    server.failWith = null;
    await fakeBrowser.alarms.onAlarm.trigger(alarm!);
    await vi.advanceTimersByTimeAsync(0);
    await (deps.replica as any).syncNow(); // the alarm handler (index.ts) calls syncNow
    expect(await server.requests()).toHaveLength(1);
    expect(await fakeBrowser.alarms.get(RETRY_ALARM)).toBeUndefined();
  });

  it('drops a rejected mutation and tells the user, in their language', async () => {
    setTestLocale('zh-CN');
    await signInAs(deps, 'ava@acme.test');
    // After this browser's pull, Ava was granted the key from another browser: the server refuses what her
    // slice still allows (already held), with a reason the extension says in her language.
    const grantId = await server.grant('ava@acme.test', 'ben@acme.test', 'object:Contract:read');
    const submitted = await submit(deps);
    expect(submitted.ok).toBe(true);
    await until(() => server.mutationCalls().length === 1);
    await until(async () => (await decide(deps)).failures.length === 1);
    expect((await server.requests()).map((r) => r.id)).toEqual([grantId]);
    const answer = await decide(deps);
    expect(answer.sync.outbox).toBe(0);
    expect(readRow(answer)?.state).toBe('granted'); // the optimistic request is gone; the grant from the other browser shows
    expect(answer.failures).toHaveLength(1);
    // Said from the reason in the person's language, not the server's English sentence.
    // The server names the field by its place in the batch (mutations.0.args.permissions.0; the fake named none):
    // the failure keeps the field of the request's own arguments.
    expect(answer.failures[0]!.error).toEqual({ code: 'conflict', message: '您已拥有 object:Contract:read。', field: 'permissions.0' });
    // Not retried.
    const calls = server.mutationCalls().length;
    await vi.advanceTimersByTimeAsync(120000);
    await (deps.replica as any).syncNow({ force: true });
    expect(server.mutationCalls().length).toBe(calls);
    const popup = (await handleMessage(deps, { type: 'popup.state' }, popupSender, SELF)) as unknown as PopupStateAnswer;
    expect(popup.failures.map((f) => f.requestId)).toEqual([(submitted as unknown as RequestAnswer).request.id]);
  });

  it('refuses a second request while one is pending, and a duration beyond the cap', async () => {
    await signInAs(deps, 'ava@acme.test');
    const tooLong = await handleMessage(
      deps,
      { type: 'request.submit', page: contractPage, permissions: ['object:Contract:read'], justification: 'x', durationDays: 365 },
      contentSender,
      SELF,
    );
    expect(tooLong).toMatchObject({ ok: false, error: { field: 'durationDays' } });
    expect((await submit(deps)).ok).toBe(true);
    expect(await submit(deps)).toMatchObject({ ok: false, error: { code: 'duplicate_request' } });
  });

  it('goes to the signed-out state on 401', async () => {
    await signInAs(deps, 'ava@acme.test');
    await server.endSession((await deps.tokens.get())!);
    await (deps.replica as any).syncNow();
    const answer = await decide(deps);
    expect(answer.signedIn).toBe(false);
    const status = await handleMessage(deps, { type: 'auth.status' }, popupSender, SELF);
    expect(status).toMatchObject({ ok: true, signedIn: false });
  });

  it('carries the whole story: Ava requests, Ben approves a shorter grant, Ava sees it granted', async () => {
    await signInAs(deps, 'ava@acme.test');
    const request = ((await submit(deps)) as unknown as RequestAnswer).request;
    await vi.advanceTimersByTimeAsync(0);
    await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);

    await signInAs(deps, 'ben@acme.test');
    const popup = (await handleMessage(deps, { type: 'popup.state' }, popupSender, SELF)) as unknown as PopupStateAnswer;
    if (!popup.signedIn) throw new Error('not signed in');
    expect(popup.queue.map((r) => r.id)).toEqual([request.id]);
    expect(popup.queue[0]!.page?.recordId).toBe('800xx000001AbCdAAK');
    const decided = await handleMessage(
      deps,
      { type: 'decision.submit', requestId: request.id, outcome: 'approve', reason: null, durationDays: 1 },
      popupSender,
      SELF,
    );
    expect(decided).toMatchObject({ ok: true, request: { status: 'approved' } });
    await until(async () => (await server.request(request.id))?.status === 'approved');
    await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);

    await signInAs(deps, 'ava@acme.test');
    // Approved is not yet held: the demo connection is read-only, so an administrator grants it in Salesforce.
    const approved = await decide(deps);
    expect(readRow(approved)?.state).toBe('approved');
    expect(readRow(approved)?.request?.status).toBe('approved');
    await server.fulfil(request.id);
    await (deps.replica as any).syncNow({ force: true });
    const answer = await decide(deps);
    expect(readRow(answer)?.state).toBe('granted');
    expect(readRow(answer)?.request?.status).toBe('fulfilled');
    // For the day Ben allowed, not the seven Ava asked for.
    const granted = (await server.request(request.id))!;
    expect(Date.parse(granted.expiresAt!) - Date.parse(granted.grantedAt!)).toBe(86_400_000);
  });

  it('needs a reason to deny, and never approves longer than asked', async () => {
    await signInAs(deps, 'ava@acme.test');
    const request = ((await submit(deps)) as unknown as RequestAnswer).request;
    await vi.advanceTimersByTimeAsync(0);
    await handleMessage(deps, { type: 'auth.signOut' }, popupSender, SELF);
    await signInAs(deps, 'ben@acme.test');
    const deny = (reason: string | null) =>
      handleMessage(deps, { type: 'decision.submit', requestId: request.id, outcome: 'deny', reason, durationDays: null }, popupSender, SELF);
    expect(await deny(null)).toMatchObject({ ok: false, error: { field: 'reason' } });
    expect(await deny('   ')).toMatchObject({ ok: false, error: { field: 'reason' } });
    expect(
      await handleMessage(deps, { type: 'decision.submit', requestId: request.id, outcome: 'approve', reason: null, durationDays: 30 }, popupSender, SELF),
    ).toMatchObject({ ok: false, error: { field: 'durationDays' } });
    expect(await deny('Use the shared folder')).toMatchObject({ ok: true, request: { status: 'denied' } });
  });
});
