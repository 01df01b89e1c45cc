/**
 * The scale path: several stateless AccessLens server processes on one libsql server (sqld), the same
 * code as the embedded default with a different DATABASE_URL. A request made through one process is
 * decided through the other, and each sees the other's writes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startSqld, type RunningSqld } from '@accesslens/server/testing-sqld';

let sqld: RunningSqld;
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
  sqld = await startSqld();
  // Both start at once against an empty database: migrations and the demo seed must happen exactly once.
  [a, b] = await Promise.all([startServer({ databaseUrl: sqld.url }), startServer({ databaseUrl: sqld.url })]);
});

afterAll(async () => {
  await Promise.allSettled([a?.dispose(), b?.dispose()]);
  await sqld?.stop();
});

describe('two server processes on a libsql server', () => {
  it('share one directory: request through one, decide through the other, see it everywhere', async () => {
    const avaA = new ApiClient(a.url);
    await avaA.signIn(DEMO.ava.email, DEMO.ava.password);
    const first = (await avaA.sync()).json;
    expect(first.me.name).toBe('Ava Chen');
    // The demo seed ran once: one Salesforce connection, one account for Ava.
    expect(first.connections.map((c: any) => c.id)).toContain('sf-acme');
    expect(first.accounts.filter((a: any) => a.connectionId === 'sf-acme')).toHaveLength(1);

    const requestId = randomUUID();
    const created = await avaA.mutate({
      id: randomUUID(),
      name: 'request.create',
      args: { requestId, connectionId: 'sf-acme', permissions: ['object:Contract:read'], page: null, justification: 'Contract renewal', durationDays: 30 },
    });
    expect(created.json.results[0].status).toBe('applied');

    const benB = new ApiClient(b.url);
    await benB.signIn(DEMO.ben.email, DEMO.ben.password);
    const queue = (await benB.sync()).json.requests.filter((r: any) => r.status === 'pending');
    expect(queue.map((r: any) => r.id)).toEqual([requestId]);
    const decided = await benB.mutate({
      id: randomUUID(),
      name: 'decision.record',
      args: { requestId, outcome: 'approve', reason: null, durationDays: 7 },
    });
    expect(decided.json.results[0].status).toBe('applied');

    const approved = (await avaA.sync(first.cursor)).json;
    expect(approved.reset).toBe(false);
    expect(approved.requests.find((r: any) => r.id === requestId)).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task' } });

    // The demo org has no credentials: an administrator makes the change and marks the task done (through B).
    const caraB = new ApiClient(b.url);
    await caraB.signIn(DEMO.cara.email, DEMO.cara.password);
    const task = (await caraB.call('GET', '/api/admin/tasks?status=open')).json.tasks.find((t: any) => t.requestId === requestId);
    expect((await caraB.call('POST', `/api/admin/tasks/${task.id}/done`, {})).status).toBe(200);

    const after = (await avaA.sync(approved.cursor)).json;
    expect(after.requests.find((r: any) => r.id === requestId).status).toBe('fulfilled');
    expect(after.assignments.some((g: any) => g.requestId === requestId && g.source === 'request')).toBe(true);

    // A session made on one process is honoured by the other (sessions live in the database).
    avaA.token && (benB.token = avaA.token);
    expect((await benB.call('GET', '/api/me')).json.person.email).toBe(DEMO.ava.email);
  });
});
