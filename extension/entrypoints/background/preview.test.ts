/** The request preview: trust boundary, the server call, offline fallback, 401, and what submit predicts from it. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { PageDecideAnswer, PreviewAnswer, RequestAnswer } from '../../utils/protocol';
import { PREVIEW_TIMEOUT_MS } from './preview';
import { handleMessage, type RouterDeps } from './router';
import { type DemoEmail, SELF, type TestServer, contentSender, contractPage, createDeps, delivered, popupSender, signInAs, useTestServer } from './test-server';

let server: TestServer;
let deps: RouterDeps;

const signIn = (email: DemoEmail = 'ava@acme.test') => signInAs(deps, email);

const previewMessage = (key: string, durationDays: number | null = 7) => ({
  type: 'request.preview',
  page: contractPage,
  permissions: [key],
  durationDays,
});

async function preview(key: string, durationDays: number | null = 7) {
  return handleMessage(deps, previewMessage(key, durationDays), contentSender, SELF);
}

async function submit(key: string, extra: Record<string, unknown> = {}) {
  return handleMessage(
    deps,
    { type: 'request.submit', page: contractPage, permissions: [key], justification: 'Renewal due Friday', durationDays: 7, ...extra },
    contentSender,
    SELF,
  );
}

// Contract edit: the manager, then Deal Desk; Contract create: approved automatically for up to 7 days.
const testServer = useTestServer((s) => s.contractRules(), { fakeTimers: true });
beforeEach(() => {
  server = testServer();
  deps = createDeps(server);
});

describe('request.preview at the trust boundary', () => {
  it('a content script cannot preview for another host', async () => {
    await signIn();
    const other = { ...contractPage, url: 'https://globex.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view' };
    const answer = await handleMessage(deps, { ...previewMessage('object:Contract:edit'), page: other }, contentSender, SELF);
    expect(answer).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    // Nor from a tab on another host about this one.
    const globexTab = { id: SELF.id, url: other.url, tab: { id: 2, url: other.url } };
    expect(await handleMessage(deps, previewMessage('object:Contract:edit'), globexTab, SELF)).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
    expect(server.previewCalls()).toHaveLength(0);
  });

  it('only for permissions of the page, and only well-formed', async () => {
    await signIn();
    expect(await preview('object:Account:read')).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'permissions' } });
    const bad = [
      { ...previewMessage('object:Contract:edit'), durationDays: 5 },
      { ...previewMessage('object:Contract:edit'), permissions: [] },
      { ...previewMessage('object:Contract:edit'), permissions: ['not a key'] },
    ];
    for (const message of bad) expect(await handleMessage(deps, message, contentSender, SELF)).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    // Extension pages have no business previewing a page.
    expect(await handleMessage(deps, previewMessage('object:Contract:edit'), popupSender, SELF)).toMatchObject({ ok: false });
    expect(server.previewCalls()).toHaveLength(0);
  });

  it('answers signed-out without calling the server', async () => {
    expect(await preview('object:Contract:edit')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(server.previewCalls()).toHaveLength(0);
  });
});

describe('request.preview against the server', () => {
  it("asks the server with the session token and answers its preview: Ben, then Dan's Deal Desk", async () => {
    await signIn();
    const answer = await preview('object:Contract:edit', 30);
    expect(answer.ok).toBe(true);
    const { preview: p, offline } = answer as unknown as PreviewAnswer;
    expect(offline).toBe(false);
    expect(p?.stages.map((s) => [s.label, s.approvers.map((a) => a.name)])).toEqual([
      ['Manager', ['Ben Ortiz']],
      ['Deal Desk', ['Dan Wu']],
    ]);
    const call = server.previewCalls()[0]!;
    expect(call.method).toBe('POST');
    expect(call.auth).toBe(`Bearer ${await deps.tokens.get()}`);
    expect(call.body).toEqual({ connectionId: 'sf-acme', permissions: ['object:Contract:edit'], durationDays: 30 });
  });

  it('offline, failing or slow server → preview null and offline, so the form predicts locally', async () => {
    await signIn();
    server.down = true;
    expect(await preview('object:Contract:edit')).toEqual({ ok: true, preview: null, offline: true, error: null });
    server.down = false;
    server.failWith = { status: 503, times: 1 };
    expect(await preview('object:Contract:edit')).toEqual({ ok: true, preview: null, offline: true, error: null });
    server.slow = { path: '/api/requests/preview', ms: 10_000 };
    const slow = preview('object:Contract:edit');
    await vi.advanceTimersByTimeAsync(PREVIEW_TIMEOUT_MS + 10);
    expect(await slow).toEqual({ ok: true, preview: null, offline: true, error: null });
    // Still signed in: a preview that failed is not a session that ended.
    expect(((await handleMessage(deps, { type: 'page.decide', page: contractPage }, contentSender, SELF)) as unknown as PageDecideAnswer).signedIn).toBe(true);
  });

  it('a refusal (4xx) falls back too, and says why', async () => {
    await signIn();
    // Not the server's own: a proxy in front of it that does not know the path (the app answers every route).
    server.failWith = { status: 404, times: 1 };
    const answer = (await preview('object:Contract:edit')) as unknown as PreviewAnswer & { ok: true };
    expect(answer).toMatchObject({ ok: true, preview: null, offline: false, error: { code: 'http_404' } });
  });

  it('401 → signed out, like a failed pull', async () => {
    await signIn();
    await server.endSession((await deps.tokens.get())!);
    expect(await preview('object:Contract:edit')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    const page = (await handleMessage(deps, { type: 'page.decide', page: contractPage }, contentSender, SELF)) as unknown as PageDecideAnswer;
    expect(page.signedIn).toBe(false);
    expect(page.sync.lastError?.code).toBe('unauthenticated');
  });
});

describe('what submit predicts', () => {
  it('from the preview: both stages, named before the server answers', async () => {
    await signIn();
    await preview('object:Contract:edit');
    server.down = true;
    const submitted = (await submit('object:Contract:edit')) as unknown as RequestAnswer;
    expect(submitted.request.status).toBe('pending');
    expect(submitted.request.stages.map((s) => [s.kind, s.label, s.approverIds, s.required, s.decision])).toEqual([
      ['manager', 'Manager', ['p-ben'], 1, null],
      ['group', 'Deal Desk', ['p-dan'], 1, null],
    ]);
    const page = (await handleMessage(deps, { type: 'page.decide', page: contractPage }, contentSender, SELF)) as unknown as PageDecideAnswer;
    expect(page.names).toMatchObject({ 'p-ben': 'Ben Ortiz', 'p-dan': 'Dan Wu' });
  });

  it('without a preview (offline): one manager stage', async () => {
    await signIn();
    server.down = true;
    await preview('object:Contract:edit');
    const submitted = (await submit('object:Contract:edit')) as unknown as RequestAnswer;
    expect(submitted.request.stages).toEqual([
      { kind: 'manager', label: 'Manager', keys: [], approverIds: ['p-ben'], required: 1, approvals: [], decision: null, escalated: false },
    ]);
  });

  it('approved automatically: predicted approved (not yet held), then granted for the 7 days allowed once the CRM holds it', async () => {
    await signIn();
    const p = (await preview('object:Contract:create', 30)) as unknown as PreviewAnswer;
    expect(p.preview).toMatchObject({ autoApproved: true, durationChoices: [1, 7], duration: { requested: 30, granted: 7 } });
    await preview('object:Contract:create', 7);
    server.down = true;
    const submitted = (await submit('object:Contract:create')) as unknown as RequestAnswer;
    // Approved is not held yet: the server sets grantedAt and expiresAt when the CRM confirms (docs/api.md).
    expect(submitted.request).toMatchObject({ status: 'approved', stages: [], durationDays: 7, grantedAt: null, expiresAt: null });
    server.down = false;
    await (deps.replica as any).syncNow({ force: true });
    const row = async () => {
      const page = (await handleMessage(deps, { type: 'page.decide', page: contractPage }, contentSender, SELF)) as unknown as PageDecideAnswer;
      return page.verdict?.state === 'ready' ? page.verdict.decision.rows.find((r) => r.key === 'object:Contract:create') : undefined;
    };
    // Approved by the server at once, and held once the CRM has it (the demo connection is read-only: Cara grants it).
    expect(await row()).toMatchObject({ state: 'approved', request: { id: submitted.request.id, status: 'approved' } });
    // The prediction and the server agree: approved, not yet held (no grantedAt, no expiresAt).
    expect(await server.request(submitted.request.id)).toMatchObject({ status: 'approved', grantedAt: null, expiresAt: null, durationDays: 7 });
    await server.fulfil(submitted.request.id);
    const granted = (await server.request(submitted.request.id))!;
    expect(granted.status).toBe('fulfilled');
    expect(Date.parse(granted.expiresAt!) - Date.parse(granted.grantedAt!)).toBe(7 * 86_400_000);
    await (deps.replica as any).syncNow({ force: true });
    expect((await row())?.state).toBe('granted');
  });
});

describe('evidence links', () => {
  it('are sent with the request when they are http(s) links', async () => {
    await signIn();
    const ok = (await submit('object:Contract:read', { evidence: ['https://tickets.acme.test/OPS-1142'] })) as unknown as RequestAnswer;
    expect(ok.request.evidence).toEqual(['https://tickets.acme.test/OPS-1142']);
    await delivered(deps);
    expect((await server.request(ok.request.id))!.evidence).toEqual(['https://tickets.acme.test/OPS-1142']);
    const sent = server.mutationCalls()[0]!.body as { mutations: { args: { evidence: string[] } }[] };
    expect(sent.mutations[0]!.args.evidence).toEqual(['https://tickets.acme.test/OPS-1142']);
  });

  it.each([['javascript:alert(1)'], ['not a link'], ['ftp://files.acme.test/x']])('refuses %s, naming the field', async (link) => {
    await signIn();
    expect(await submit('object:Contract:read', { evidence: [link] })).toMatchObject({
      ok: false,
      error: { code: 'invalid_message', field: 'evidence.0' },
    });
    expect(server.mutationCalls()).toHaveLength(0);
  });

  it('default to none', async () => {
    await signIn();
    const ok = (await submit('object:Contract:read')) as unknown as RequestAnswer;
    expect(ok.request.evidence).toEqual([]);
  });
});
