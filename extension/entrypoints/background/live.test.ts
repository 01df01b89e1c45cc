import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import type { RequestAnswer } from '../../utils/protocol';
import { LiveUpdates, parseSse, type LivePort } from './live';
import { handleMessage } from './router';
import { SELF, type TestServer, contentSender, contractPage, createDeps, delivered, signInAs, startTestServer, until, uuid } from './test-server';

describe('parseSse', () => {
  it('finds complete poke events and keeps the unfinished rest', () => {
    expect(parseSse('event: poke\ndata: {}\n\n: keep-alive\n\nevent: po')).toEqual({ events: ['poke'], rest: 'event: po' });
    expect(parseSse('event: poke\r\ndata: 1\r\n\r\n')).toEqual({ events: ['poke'], rest: '' });
    expect(parseSse('data: x\n\n')).toEqual({ events: ['message'], rest: '' });
  });
});

describe("live updates from the real server's event stream", () => {
  let server: TestServer;
  beforeEach(async () => {
    fakeBrowser.reset();
    // Fake timers: the 10 s fallback poll never fires, so only a poke can bring the change.
    vi.useFakeTimers();
    server = await startTestServer();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await server.close();
  });

  it("Ben decides in his browser; Ava's open popup pulls on the server's poke", async () => {
    const deps = createDeps(server);
    await signInAs(deps, 'ava@acme.test');
    const submitted = await handleMessage(
      deps,
      { type: 'request.submit', page: contractPage, permissions: ['object:Contract:read'], justification: 'Renewal due Friday', durationDays: 7 },
      contentSender,
      SELF,
    );
    const id = (submitted as unknown as RequestAnswer).request.id;
    await delivered(deps);

    const live = new LiveUpdates({ fetch: deps.fetch, tokens: deps.tokens, replica: deps.replica });
    const disconnected: (() => void)[] = [];
    const port: LivePort = { name: 'popup', postMessage: () => undefined, onDisconnect: { addListener: (cb) => void disconnected.push(cb) } };
    live.attach(port);
    const syncCalls = () => server.calls.filter((c) => c.path.startsWith('/api/sync?') || c.path === '/api/sync').length;
    await until(() => server.calls.some((c) => c.path === '/api/sync/events'), 'the event stream to open');
    const afterConnect = syncCalls();
    // The pulls on attaching and on connecting are done before Ben decides.
    await until(async () => (await deps.replica.view())?.requests.some((r) => r.id === id && r.timeline !== undefined) ?? false);

    const decided = await server.mutate('ben@acme.test', [
      { id: uuid(), name: 'decision.record', args: { requestId: id, outcome: 'approve', reason: null, durationDays: null } },
    ]);
    expect(decided.results[0]).toMatchObject({ status: 'applied' });
    await until(async () => (await deps.replica.view())?.requests.find((r) => r.id === id)?.status === 'approved', "the poke's pull");
    expect(syncCalls()).toBeGreaterThan(afterConnect);
    expect(live.connected).toBe(1);

    for (const cb of disconnected) cb();
    expect(live.connected).toBe(0);
  });
});
