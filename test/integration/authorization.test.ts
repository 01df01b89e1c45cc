/**
 * Authorization across the real server process over HTTP, as any client would meet it: an approver
 * decides only requests routed to them, and nobody decides their own request.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';

let server: RunningServer;
const ava = () => new ApiClient(server.url);

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.dispose();
});

async function createRequest(client: ApiClient, key: string) {
  const requestId = randomUUID();
  const res = await client.mutate({
    id: randomUUID(),
    name: 'request.create',
    args: {
      requestId,
      connectionId: 'sf-acme',
      permissions: [key],
      page: null,
      justification: 'Quarter-end contract review',
      durationDays: 7,
    },
  });
  expect(res.status).toBe(200);
  expect(res.json.results[0].status).toBe('applied');
  return requestId;
}

const decide = (client: ApiClient, requestId: string, outcome: 'approve' | 'deny', reason: string | null = null) =>
  client.mutate({ id: randomUUID(), name: 'decision.record', args: { requestId, outcome, reason, durationDays: null } });

describe('who may decide', () => {
  it('Ava cannot decide her own request', async () => {
    const client = ava();
    await client.signIn(DEMO.ava.email, DEMO.ava.password);
    const requestId = await createRequest(client, 'object:Contract:read');
    const res = await decide(client, requestId, 'approve');
    expect(res.json.results[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'forbidden', message: 'You cannot decide your own request.' },
    });
  });

  it('Dan, an approver, cannot decide a request routed to Ben; Ben can', async () => {
    const client = ava();
    await client.signIn(DEMO.ava.email, DEMO.ava.password);
    const requestId = await createRequest(client, 'object:Quote:read');

    const dan = new ApiClient(server.url);
    await dan.signIn(DEMO.dan.email, DEMO.dan.password);
    const danSees = (await dan.sync()).json.requests.map((r: any) => r.id);
    expect(danSees).not.toContain(requestId); // not in his slice either
    const refused = await decide(dan, requestId, 'deny', 'not mine to decide');
    expect(refused.json.results[0]).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });

    const ben = new ApiClient(server.url);
    await ben.signIn(DEMO.ben.email, DEMO.ben.password);
    const ok = await decide(ben, requestId, 'approve');
    expect(ok.json.results[0].status).toBe('applied');
  });

  it('a decision retried with the same id applies once', async () => {
    const client = ava();
    await client.signIn(DEMO.ava.email, DEMO.ava.password);
    const requestId = await createRequest(client, 'object:Order:read');
    const ben = new ApiClient(server.url);
    await ben.signIn(DEMO.ben.email, DEMO.ben.password);
    const mutation = { id: randomUUID(), name: 'decision.record', args: { requestId, outcome: 'deny', reason: 'Use the order desk.', durationDays: null } };
    const first = await ben.mutate(mutation);
    const again = await ben.mutate(mutation);
    expect(first.json.results[0].status).toBe('applied');
    expect(again.json.results[0].status).toBe('duplicate');
  });

  it('an unauthenticated call is refused with a JSON 401, an unknown route is a JSON 404', async () => {
    const anonymous = new ApiClient(server.url);
    expect((await anonymous.sync()).status).toBe(401);
    const missing = await anonymous.call('GET', '/api/nope');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('not_found');
  });
});
