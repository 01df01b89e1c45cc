/**
 * The administrators' connection API: validation naming the field, admins only, credentials
 * write-only (encrypted at rest, never returned), audited changes, disable instead of delete, the
 * credential test, and import progress. Also the mutations the extension adds: usage.report and
 * request.report-problem.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT, demoSalesforceOrg } from '../../../test/fakes/salesforce-demo.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../../../test/fakes/salesforce.ts';
import { createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

let h: Harness;
let sf: FakeSalesforce;
let cara: string;
let ava: string;

const SECRET = 'super-secret-client-value-123';
const body = (extra: Record<string, unknown> = {}) => ({
  kind: 'salesforce',
  name: 'Globex Salesforce',
  hosts: ['globex.lightning.force.com', 'globex.my.salesforce.com'],
  settings: { instanceUrl: sf.url },
  credentials: { flow: 'client_credentials', clientId: DEMO_CLIENT.clientId, clientSecret: SECRET },
  ...extra,
});
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; field?: string; message: string } }).error;

beforeEach(async () => {
  h = await harness();
  sf = await startFakeSalesforce({
    org: demoSalesforceOrg(h.clock.now()),
    clients: [{ clientId: DEMO_CLIENT.clientId, clientSecret: SECRET }, DEMO_CLIENT],
    now: h.clock.now,
  });
  cara = await h.signIn('cara@acme.test');
  ava = await h.signIn('ava@acme.test');
});

afterEach(async () => {
  await sf.close();
  await h.close();
});

describe('/api/admin/connections', () => {
  it('creates a connection; credentials are stored encrypted and never returned', async () => {
    const res = await h.post(cara, '/api/admin/connections', body({ id: 'sf-globex', scheduleMinutes: 30 }));
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain(SECRET);
    const { connection } = JSON.parse(text) as { connection: Record<string, unknown> };
    expect(connection).toMatchObject({
      id: 'sf-globex',
      kind: 'salesforce',
      mode: 'read-only',
      automaticChange: false,
      scheduleMinutes: 30,
      enabled: true,
      credentials: 'set',
      authStatus: 'ok',
      canProvision: true,
      nextImportAt: h.clock.now().toISOString(),
      settings: { instanceUrl: sf.url, apiVersion: '62.0' },
    });
    const stored = await h.db.execute("SELECT ciphertext FROM connection_secrets WHERE connection_id = 'sf-globex'");
    expect(String(stored.rows[0]!.ciphertext)).toMatch(/^v1\./);
    expect(String(stored.rows[0]!.ciphertext)).not.toContain(SECRET);
    const all = await (await h.get(cara, '/api/admin/connections')).text();
    expect(all).not.toContain(SECRET);
    const audit = await h.db.execute("SELECT actor_id, data FROM audit_events WHERE action = 'connection.created'");
    expect(audit.rows[0]!.actor_id).toBe('p-cara');
    expect(String(audit.rows[0]!.data)).not.toContain(SECRET);
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ credentials: 'set', name: 'Globex Salesforce' });
    // Clients see the new connection (without anything secret).
    const slice = await h.pull(ava);
    expect(slice.connections.map((c) => c.id)).toContain('sf-globex');
  });

  it('refuses bad input with a 400 naming the field', async () => {
    const field = async (b: unknown) => {
      const res = await h.post(cara, '/api/admin/connections', b);
      expect(res.status).toBe(400);
      return (await errorOf(res)).field;
    };
    expect(await field(body({ kind: 'oracle' }))).toBe('kind');
    expect(await field(body({ name: '  ' }))).toBe('name');
    expect(await field(body({ hosts: ['https://globex.my.salesforce.com/'] }))).toBe('hosts.0');
    expect(await field(body({ hosts: ['globex.my.salesforce.com:99999999'] }))).toBe('hosts.0');
    expect(await field(body({ mode: 'write' }))).toBe('mode');
    expect(await field(body({ scheduleMinutes: -5 }))).toBe('scheduleMinutes');
    expect(await field(body({ automaticChange: true }))).toBe('automaticChange');
    expect(await field(body({ settings: {} }))).toBe('settings.instanceUrl');
    expect(await field(body({ settings: { instanceUrl: 'http://globex.my.salesforce.com' } }))).toBe('settings.instanceUrl');
    expect(await field(body({ credentials: { flow: 'client_credentials', clientId: 'x' } }))).toBe('credentials.clientSecret');
    expect(await field(body({ credentials: { flow: 'password' } }))).toBe('credentials.flow');
    // Zoho may switch automatic change on; a duplicate id is a 409 on `id`.
    expect((await h.post(cara, '/api/admin/connections', { kind: 'zoho', name: 'Zoho', automaticChange: true })).status).toBe(201);
    const dup = await h.post(cara, '/api/admin/connections', body({ id: 'sf-acme' }));
    expect(dup.status).toBe(409);
    expect((await errorOf(dup)).field).toBe('id');
  });

  it('an in-house CRM on its own port: the host keeps the port, as pages show it', async () => {
    const res = await h.post(cara, '/api/admin/connections', { kind: 'generic', name: 'Ops Desk', hosts: ['Desk.Acme.Internal:8443'] });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { connection: { hosts: string[] } }).connection.hosts).toEqual(['desk.acme.internal:8443']);
  });

  it('is for administrators only', async () => {
    for (const path of ['/api/admin/connections', '/api/admin/connections/sf-acme', '/api/admin/tasks']) {
      expect((await h.get(ava, path)).status).toBe(403);
      expect((await h.get(null, path)).status).toBe(401);
    }
    expect((await h.post(ava, '/api/admin/connections', body())).status).toBe(403);
    expect((await h.patch(ava, '/api/admin/connections/sf-acme', { name: 'x' })).status).toBe(403);
    expect((await h.del(ava, '/api/admin/connections/sf-acme')).status).toBe(403);
    expect((await h.post(ava, '/api/admin/connections/sf-acme/import', {})).status).toBe(403);
  });

  it('updates what is given (credentials replaced or removed), audits it, and disables instead of deleting', async () => {
    const upd = await h.patch(cara, '/api/admin/connections/sf-acme', {
      name: 'Acme SF',
      settings: { instanceUrl: sf.url },
      credentials: { flow: 'client_credentials', ...DEMO_CLIENT },
    });
    expect(upd.status).toBe(200);
    expect(((await upd.json()) as { connection: Record<string, unknown> }).connection).toMatchObject({
      name: 'Acme SF',
      credentials: 'set',
      mode: 'read-only',
    });
    expect((await errorOf(await h.patch(cara, '/api/admin/connections/sf-acme', {}))).field).toBe('(body)');
    expect((await errorOf(await h.patch(cara, '/api/admin/connections/sf-acme', { settings: { apiVersion: 'latest' } }))).field).toBe('settings.apiVersion');
    const removed = await h.patch(cara, '/api/admin/connections/sf-acme', { credentials: null });
    expect(((await removed.json()) as { connection: Record<string, unknown> }).connection).toMatchObject({ credentials: 'not set', nextImportAt: null });
    const audit = await h.db.execute("SELECT data FROM audit_events WHERE action = 'connection.updated' ORDER BY seq");
    expect(audit.rows.map((r) => JSON.parse(String(r.data)).credentials)).toEqual(['replaced', 'removed']);

    const del = await h.del(cara, '/api/admin/connections/sf-acme');
    expect(del.status).toBe(200);
    expect(((await del.json()) as { connection: Record<string, unknown> }).connection).toMatchObject({ enabled: false });
    expect((await h.db.execute("SELECT COUNT(*) AS n FROM crm_connections WHERE id = 'sf-acme'")).rows[0]!.n).toBe(1);
    expect((await h.post(cara, '/api/admin/connections/sf-acme/import', {})).status).toBe(409);
    expect((await h.patch(cara, '/api/admin/connections/sf-acme', { enabled: true })).status).toBe(200);
    expect((await h.get(cara, '/api/admin/connections/nope')).status).toBe(404);
  });

  it('tests what the credentials can do, and reports refused ones', async () => {
    const none = (await (await h.post(cara, '/api/admin/connections/sf-acme/test', {})).json()) as { ok: boolean; checks: { id: string; message: string }[] };
    expect(none.ok).toBe(false);
    expect(none.checks[0]!.message).toContain('not fully set up');
    await h.patch(cara, '/api/admin/connections/sf-acme', { settings: { instanceUrl: sf.url }, credentials: { flow: 'client_credentials', ...DEMO_CLIENT } });
    const good = (await (await h.post(cara, '/api/admin/connections/sf-acme/test', {})).json()) as {
      ok: boolean;
      canRead: boolean;
      canProvision: boolean;
      identity: { tenant: string };
    };
    expect(good).toMatchObject({ ok: true, canRead: true, canProvision: true, identity: { tenant: '00DHs000000AcmeMAA' } });
    await h.patch(cara, '/api/admin/connections/sf-acme', {
      credentials: { flow: 'client_credentials', clientId: DEMO_CLIENT.clientId, clientSecret: 'wrong' },
    });
    const bad = (await (await h.post(cara, '/api/admin/connections/sf-acme/test', {})).json()) as {
      ok: boolean;
      checks: { id: string; ok: boolean; message: string }[];
    };
    expect(bad.ok).toBe(false);
    expect(bad.checks.find((c) => c.id === 'sign-in')?.message).toContain('invalid_client');
  });

  it('imports on demand with progress and history; the run is visible while it is queued', async () => {
    await h.patch(cara, '/api/admin/connections/sf-acme', { settings: { instanceUrl: sf.url }, credentials: { flow: 'client_credentials', ...DEMO_CLIENT } });
    const res = await h.post(cara, '/api/admin/connections/sf-acme/import', {});
    expect(res.status).toBe(202);
    const { run } = (await res.json()) as { run: { id: string; status: string; trigger: string; requestedBy: string } };
    expect(run).toMatchObject({ status: 'queued', trigger: 'admin', requestedBy: 'p-cara' });
    // Asking again while it is queued returns the same run.
    expect(((await (await h.post(cara, '/api/admin/connections/sf-acme/import', {})).json()) as { run: { id: string } }).run.id).toBe(run.id);
    await h.worker.runDue();
    const list = (await (await h.get(cara, '/api/admin/connections/sf-acme/imports')).json()) as {
      runs: { id: string; status: string; read: Record<string, number> }[];
      lastGood: { id: string };
    };
    expect(list.runs[0]).toMatchObject({ id: run.id, status: 'succeeded', read: { users: 11, bundles: 10, assignments: 20 } });
    expect(list.lastGood.id).toBe(run.id);
    expect((await h.get(cara, `/api/admin/connections/sf-acme/imports/${run.id}`)).status).toBe(200);
    expect((await h.get(cara, '/api/admin/connections/sf-acme/imports/imp-nope')).status).toBe(404);
  });
});

describe('usage.report', () => {
  it('adds per-day counts and moves last use; never more than keys, a day and counts', async () => {
    const day = h.clock.now().toISOString().slice(0, 10);
    const res = await h.mutate(ava, [
      {
        id: crypto.randomUUID(),
        name: 'usage.report',
        args: {
          connectionId: 'sf-acme',
          day,
          counts: [
            { key: 'object:Account:read', count: 4 },
            { key: 'object:Lead:create', count: 1 },
          ],
        },
      },
    ]);
    expect(res.results[0]!.status).toBe('applied');
    const again = crypto.randomUUID();
    await h.mutate(ava, [{ id: again, name: 'usage.report', args: { connectionId: 'sf-acme', day, counts: [{ key: 'object:Account:read', count: 2 }] } }]);
    // A retried report (same mutation id) is not counted twice.
    expect(
      (await h.mutate(ava, [{ id: again, name: 'usage.report', args: { connectionId: 'sf-acme', day, counts: [{ key: 'object:Account:read', count: 2 }] } }]))
        .results[0]!.status,
    ).toBe('duplicate');
    const rows = await h.db.execute("SELECT key, count FROM usage_reports WHERE account_id = 'acct-ava' ORDER BY key");
    expect(rows.rows.map((r) => [r.key, Number(r.count)])).toEqual([
      ['object:Account:read', 6],
      ['object:Lead:create', 1],
    ]);
    const agg = await h.db.execute("SELECT last_used_at FROM usage_aggregates WHERE account_id = 'acct-ava' AND key = 'object:Account:read'");
    expect(agg.rows[0]!.last_used_at).toBe(h.clock.now().toISOString());

    const bad = async (args: Record<string, unknown>) => (await h.mutate(ava, [{ id: crypto.randomUUID(), name: 'usage.report', args }])).results[0]!;
    const tomorrow = new Date(h.clock.now().getTime() + 86_400_000).toISOString().slice(0, 10);
    expect(await bad({ connectionId: 'sf-acme', day: tomorrow, counts: [{ key: 'object:Account:read', count: 1 }] })).toMatchObject({
      status: 'rejected',
      error: { field: 'mutations.0.args.day' },
    });
    expect(await bad({ connectionId: 'nope', day, counts: [{ key: 'object:Account:read', count: 1 }] })).toMatchObject({
      status: 'rejected',
      error: { code: 'forbidden', field: 'mutations.0.args.connectionId' },
    });
    const malformed = await h.post(ava, '/api/mutations', {
      mutations: [
        { id: crypto.randomUUID(), name: 'usage.report', args: { connectionId: 'sf-acme', day, counts: [{ key: 'object:Account:read', count: 0 }] } },
      ],
    });
    expect((await errorOf(malformed)).field).toBe('mutations.0.args.counts.0.count');
  });
});

describe('request.report-problem', () => {
  it('the requester reports a grant that does not work: the admins get a task with what the page showed', async () => {
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ permissions: ['object:Contract:read'] });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    const page = {
      url: 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
      object: 'Contract',
      recordId: '800xx000001AbCdAAK',
      denialText: 'Insufficient Privileges',
    };
    const report = (args: Record<string, unknown>, token = ava) => h.mutate(token, [{ id: crypto.randomUUID(), name: 'request.report-problem', args }]);
    // Not before it is granted.
    expect((await report({ requestId: m.args.requestId, page })).results[0]).toMatchObject({ status: 'rejected', error: { code: 'conflict' } });
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    expect((await report({ requestId: m.args.requestId, page }, ben)).results[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'forbidden', field: 'mutations.0.args.requestId' },
    });
    expect((await report({ requestId: m.args.requestId, page })).results[0]!.status).toBe('applied');

    const r = (await h.pull(ava)).requests.find((x) => x.id === m.args.requestId)!;
    expect(r).toMatchObject({
      status: 'fulfilled',
      fulfilment: { state: 'problem-reported', problem: { url: page.url, recordId: page.recordId, denialText: 'Insufficient Privileges' } },
    });
    // Ben, as approver, follows it too.
    expect((await h.pull(ben)).requests.find((x) => x.id === m.args.requestId)?.fulfilment?.state).toBe('problem-reported');
    const tasks = (await (await h.get(cara, '/api/admin/tasks?status=open')).json()) as {
      tasks: { id: string; kind: string; page: unknown; check: string; account: { username: string } }[];
    };
    const task = tasks.tasks.find((t) => t.kind === 'problem')!;
    expect(task).toMatchObject({ page, account: { username: 'ava@acme.test.sf' }, check: 'AccessLens cannot read this CRM to check.' });
    expect((await report({ requestId: m.args.requestId, page })).results[0]).toMatchObject({ status: 'rejected', error: { code: 'conflict' } });
    const done = await h.post(cara, `/api/admin/tasks/${task.id}/done`, { note: 'Record was owned by another team; shared it.' });
    expect(done.status).toBe(200);
    expect((await h.pull(ava)).requests.find((x) => x.id === m.args.requestId)?.fulfilment).toMatchObject({ state: 'active', problem: null });
  });
});
