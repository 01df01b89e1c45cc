import { AccessIndex, implicationTableFor, mutationsResponse, type AccessRequest, type MutationResult } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepExpiredGrants } from '../expiry.ts';
import { DAY_MS, cancelMutation, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

let h: Harness;
let ava: string;
let ben: string;
beforeEach(async () => {
  h = await harness();
  ava = await h.signIn('ava@acme.test');
  ben = await h.signIn('ben@acme.test');
});
afterEach(async () => {
  await h.close();
});

const only = (results: MutationResult[]) => {
  expect(results).toHaveLength(1);
  return results[0]!;
};

async function requestById(id: string): Promise<AccessRequest | undefined> {
  const slice = await h.pull(ava);
  return slice.requests.find((r) => r.id === id);
}

async function avaCan(key: string, at = h.clock.now()): Promise<boolean> {
  const slice = await h.pull(ava);
  const account = slice.accounts.find((a) => a.connectionId === 'sf-acme')!;
  const index = new AccessIndex({
    connectionId: 'sf-acme',
    table: implicationTableFor('salesforce'),
    bundles: slice.bundles,
    accountIds: [account.id],
    assignments: slice.assignments.filter((a) => a.accountId === account.id),
    keys: [key],
    now: at,
  });
  return index.canKey(account.id, key);
}

describe('request.create', () => {
  it('creates a pending request routed to the manager, audited', async () => {
    const m = createMutation({ permissions: ['object:Contract:read'], durationDays: 30 });
    const res = mutationsResponse.parse(await h.mutate(ava, [m]));
    expect(only(res.results)).toEqual({ id: m.id, status: 'applied' });
    const r = await requestById(m.args.requestId);
    expect(r).toMatchObject({
      requesterId: 'p-ava',
      connectionId: 'sf-acme',
      accountId: 'acct-ava',
      permissions: ['object:Contract:read'],
      status: 'pending',
      durationDays: 30,
      stages: [{ kind: 'manager', approverIds: ['p-ben'], decision: null }],
      createdAt: h.clock.now().toISOString(),
      page: m.args.page,
      justification: m.args.justification,
    });
    const audit = await h.db.execute("SELECT actor_id, subject_id FROM audit_events WHERE action = 'request.created'");
    expect(audit.rows[0]).toMatchObject({ actor_id: 'p-ava', subject_id: m.args.requestId });
  });

  it('is idempotent: the same mutation id twice makes one request; the second is duplicate', async () => {
    const m = createMutation();
    expect(only((await h.mutate(ava, [m])).results).status).toBe('applied');
    expect(only((await h.mutate(ava, [m])).results)).toEqual({ id: m.id, status: 'duplicate' });
    const both = await h.mutate(ava, [m, m]);
    expect(both.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    const n = await h.db.execute('SELECT COUNT(*) AS n FROM requests');
    expect(Number(n.rows[0]!.n)).toBe(1);
  });

  it('rejects a second pending request for the same keys with duplicate_request naming the first', async () => {
    const first = createMutation();
    await h.mutate(ava, [first]);
    const second = createMutation();
    const r = only((await h.mutate(ava, [second])).results);
    expect(r.status).toBe('rejected');
    expect(r.error?.code).toBe('duplicate_request');
    expect(r.error?.message).toContain(first.args.requestId);
  });

  it('rejects keys the requester already holds (directly or by implication)', async () => {
    for (const key of ['object:Account:edit', 'object:Account:read', 'object:Campaign:read']) {
      const r = only((await h.mutate(ava, [createMutation({ permissions: [key] })])).results);
      expect(r.status).toBe('rejected');
      expect(r.error?.code).toBe('conflict');
      expect(r.error?.message).toContain(key);
      expect(r.error?.field).toBe('mutations.0.args.permissions.0');
    }
  });

  it('rejects keys outside the catalog, and keys that are not requestable', async () => {
    const outside = only((await h.mutate(ava, [createMutation({ permissions: ['object:Invoice__c:read'] })])).results);
    expect(outside).toMatchObject({ status: 'rejected', error: { code: 'not_found' } });
    const critical = only((await h.mutate(ava, [createMutation({ permissions: ['system:ModifyAllData'] })])).results);
    expect(critical).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });
  });

  it('rejects an unknown connection, and a caller without an active account on it', async () => {
    const unknown = only((await h.mutate(ava, [createMutation({ connectionId: 'sf-nowhere' })])).results);
    expect(unknown).toMatchObject({ status: 'rejected', error: { code: 'not_found' } });
    await h.db.execute("UPDATE crm_accounts SET active = 0 WHERE id = 'acct-ava'");
    const inactive = only((await h.mutate(ava, [createMutation()])).results);
    expect(inactive).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });
  });

  it('caps the duration at the smallest maxDurationDays of the keys', async () => {
    const quote = createMutation({ permissions: ['object:Quote:read'], durationDays: 90 });
    const mixed = createMutation({ permissions: ['object:Contract:edit', 'object:Contract:delete'], durationDays: 90 });
    // Campaign create has no catalog cap; its rule ("Other requestable permissions") allows 90 days.
    const uncapped = createMutation({ permissions: ['object:Campaign:create'], durationDays: 90 });
    await h.mutate(ava, [quote, mixed, uncapped]);
    expect((await requestById(quote.args.requestId))?.durationDays).toBe(30);
    expect((await requestById(mixed.args.requestId))?.durationDays).toBe(7);
    expect((await requestById(uncapped.args.requestId))?.durationDays).toBe(90);
  });

  it('falls back to the admins (never the requester) when there is no eligible manager', async () => {
    const dan = await h.signIn('dan@acme.test'); // no manager
    const m = createMutation({ permissions: ['object:Order:read'] });
    expect(only((await h.mutate(dan, [m])).results).status).toBe('applied');
    const slice = await h.pull(dan);
    // The manager stage escalates to the rule's fallback, the AccessLens administrators (Cara).
    expect(slice.requests[0]!.stages).toMatchObject([
      {
        kind: 'manager',
        label: 'Manager',
        keys: ['object:Order:read'],
        approverIds: ['p-cara'],
        required: 1,
        approvals: [],
        decision: null,
        escalated: true,
      },
    ]);

    // A departed manager is not eligible either (the directory change reaches the policy engine).
    await h.db.transaction(async (tx) => {
      const v = Number((await tx.execute('UPDATE meta SET version = version + 1 RETURNING version')).rows[0]!.version);
      await tx.execute({ sql: "UPDATE people SET status = 'departed', version = ? WHERE id = 'p-ben'", args: [v] });
    });
    const eli = await h.signIn('eli@acme.test');
    const m2 = createMutation({ permissions: ['object:Order:read'] });
    await h.mutate(eli, [m2]);
    expect((await h.pull(eli)).requests[0]!.stages[0]!.approverIds).toEqual(['p-cara']);
  });

  it('a batch applies each mutation on its own: one rejection does not undo the others', async () => {
    const ok = createMutation({ permissions: ['object:Quote:read'] });
    const bad = createMutation({ permissions: ['system:ModifyAllData'] });
    const ok2 = createMutation({ permissions: ['object:Order:read'] });
    const res = await h.mutate(ava, [ok, bad, ok2]);
    expect(res.results.map((r) => r.status)).toEqual(['applied', 'rejected', 'applied']);
    expect(res.results[1]!.error?.field).toBe('mutations.1.args.permissions.0');
  });
});

describe('validation', () => {
  it('a missing justification is a 400 naming the field', async () => {
    const m = createMutation() as { args: Record<string, unknown> };
    delete m.args.justification;
    const res = await h.post(ava, '/api/mutations', { mutations: [m] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; field: string; message: string; issues: { field: string }[] } };
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.field).toBe('mutations.0.args.justification');
    expect(body.error.issues.map((i) => i.field)).toContain('mutations.0.args.justification');
    expect(body.error.message).toContain('justification');
  });

  it('deny without a reason is a 400 for the whole batch', async () => {
    const m = createMutation();
    await h.mutate(ava, [m]);
    const res = await h.post(ben, '/api/mutations', { mutations: [decisionMutation(m.args.requestId, 'deny')] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { field: string } };
    expect(body.error.field).toBe('mutations.0.args.reason');
    expect((await requestById(m.args.requestId))?.status).toBe('pending');
  });

  it('an empty batch and a non-UUID mutation id are 400s', async () => {
    expect((await h.post(ava, '/api/mutations', { mutations: [] })).status).toBe(400);
    const res = await h.post(ava, '/api/mutations', { mutations: [{ ...createMutation(), id: 'x' }] });
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('mutations.0.id');
  });
});

describe('decision.record', () => {
  it('Ben approves: approved at once; granted only once the CRM holds it (an admin task on the read-only demo org), for the asked duration from then', async () => {
    const m = createMutation({ permissions: ['object:Contract:read', 'object:Quote:read'], durationDays: 30 });
    await h.mutate(ava, [m]);
    expect(await avaCan('object:Contract:read')).toBe(false);
    h.clock.advance(60_000);
    const d = decisionMutation(m.args.requestId, 'approve');
    expect(only((await h.mutate(ben, [d])).results).status).toBe('applied');

    const decidedAt = h.clock.now().toISOString();
    let r = (await requestById(m.args.requestId))!;
    // The smallest bundle granting both keys is the Revenue Ops group (Contract Manager + Quote Desk).
    expect(r).toMatchObject({
      status: 'approved',
      decidedAt,
      grantedAt: null,
      expiresAt: null,
      fulfilment: {
        state: 'admin-task',
        mode: 'task',
        reason: { code: 'read-only' },
        bundles: [{ id: 'psg-revenue-ops', name: 'Revenue Ops', kind: 'permissionSetGroup' }],
      },
    });
    expect(r.stages[0]!.decision).toEqual({ deciderId: 'p-ben', outcome: 'approve', reason: null, durationDays: 30, decidedAt });
    expect(await avaCan('object:Contract:read')).toBe(false);

    // Cara assigns it in Salesforce and marks the task done: the grant counts from now.
    h.clock.advance(3600_000);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const now = h.clock.now();
    const expiresAt = new Date(now.getTime() + 30 * DAY_MS).toISOString();
    const slice = await h.pull(ava);
    r = slice.requests.find((x) => x.id === m.args.requestId)!;
    expect(r).toMatchObject({ status: 'fulfilled', grantedAt: now.toISOString(), expiresAt, fulfilment: { state: 'active', doneBy: 'p-cara' } });
    const grants = slice.assignments.filter((a) => a.requestId === m.args.requestId);
    expect(grants).toMatchObject([
      {
        target: { type: 'bundle', bundleId: 'psg-revenue-ops' },
        source: 'request',
        accountId: 'acct-ava',
        grantedAt: now.toISOString(),
        expiresAt,
        revokedAt: null,
      },
    ]);
    expect(await avaCan('object:Contract:read')).toBe(true);
    expect(await avaCan('object:Quote:read')).toBe(true);

    const actions = (await h.db.execute('SELECT action FROM audit_events ORDER BY seq')).rows.map((x) => x.action);
    expect(actions.filter((a) => a === 'grant.created')).toHaveLength(1);
    expect(actions).toEqual(expect.arrayContaining(['decision.recorded', 'fulfilment.task', 'task.created', 'task.done', 'request.fulfilled']));
  });

  it('the approver may shorten the duration', async () => {
    const m = createMutation({ durationDays: 30 });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve', { durationDays: 7 })]);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const r = (await requestById(m.args.requestId))!;
    expect(r.expiresAt).toBe(new Date(h.clock.now().getTime() + 7 * DAY_MS).toISOString());
    expect(r.stages[0]!.decision?.durationDays).toBe(7);
  });

  it('the approver may not lengthen it', async () => {
    const m = createMutation({ durationDays: 7 });
    await h.mutate(ava, [m]);
    const r = only((await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve', { durationDays: 30 })])).results);
    expect(r.status).toBe('rejected');
    expect(r.error?.field).toBe('mutations.0.args.durationDays');
    expect((await requestById(m.args.requestId))?.status).toBe('pending');
  });

  it('deny with a reason', async () => {
    const m = createMutation();
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'deny', { reason: 'Ask Fay for the contract instead.' })]);
    const r = (await requestById(m.args.requestId))!;
    expect(r.status).toBe('denied');
    expect(r.stages[0]!.decision).toMatchObject({ outcome: 'deny', reason: 'Ask Fay for the contract instead.', durationDays: null });
    expect(await avaCan('object:Contract:read')).toBe(false);
  });

  it('nobody decides their own request', async () => {
    const m = createMutation();
    await h.mutate(ava, [m]);
    const r = only((await h.mutate(ava, [decisionMutation(m.args.requestId, 'approve')])).results);
    expect(r).toMatchObject({ status: 'rejected', error: { code: 'forbidden', message: 'You cannot decide your own request.', reason: 'own_request' } });
  });

  it('an approver the request is not routed to may not decide it', async () => {
    const m = createMutation();
    await h.mutate(ava, [m]);
    const dan = await h.signIn('dan@acme.test');
    const r = only((await h.mutate(dan, [decisionMutation(m.args.requestId, 'approve')])).results);
    expect(r).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });
    expect((await requestById(m.args.requestId))?.status).toBe('pending');
  });

  it('a decided request cannot be decided again (conflict)', async () => {
    const m = createMutation();
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    const r = only((await h.mutate(ben, [decisionMutation(m.args.requestId, 'deny', { reason: 'changed my mind' })])).results);
    expect(r).toMatchObject({ status: 'rejected', error: { code: 'conflict', reason: 'request_not_pending', params: { status: 'approved' } } });
  });

  it('an unknown request is not_found', async () => {
    const r = only((await h.mutate(ben, [decisionMutation(crypto.randomUUID(), 'approve')])).results);
    expect(r).toMatchObject({ status: 'rejected', error: { code: 'not_found', field: 'mutations.0.args.requestId' } });
  });
});

describe('request.cancel', () => {
  it('the requester cancels a pending request', async () => {
    const m = createMutation();
    await h.mutate(ava, [m]);
    expect(only((await h.mutate(ava, [cancelMutation(m.args.requestId)])).results).status).toBe('applied');
    expect((await requestById(m.args.requestId))?.status).toBe('cancelled');
    // The keys may be requested again.
    expect(only((await h.mutate(ava, [createMutation()])).results).status).toBe('applied');
  });

  it('nobody else may cancel it', async () => {
    const m = createMutation();
    await h.mutate(ava, [m]);
    const r = only((await h.mutate(ben, [cancelMutation(m.args.requestId)])).results);
    expect(r).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });
    const dan = await h.signIn('dan@acme.test');
    expect(only((await h.mutate(dan, [cancelMutation(m.args.requestId)])).results).error?.code).toBe('forbidden');
  });

  it('only while pending', async () => {
    const m = createMutation();
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    const r = only((await h.mutate(ava, [cancelMutation(m.args.requestId)])).results);
    expect(r).toMatchObject({ status: 'rejected', error: { code: 'conflict' } });
  });
});

describe('grant expiry', () => {
  it('a grant stops counting exactly at expiresAt; the sweep then has it removed, and the request is expired', async () => {
    const m = createMutation({ durationDays: 7 });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const expiresAt = new Date(h.clock.now().getTime() + 7 * DAY_MS);

    expect(await avaCan('object:Contract:read', new Date(expiresAt.getTime() - 1))).toBe(true);
    expect(await avaCan('object:Contract:read', expiresAt)).toBe(false);

    h.clock.set(new Date(expiresAt.getTime() - 1));
    expect(await sweepExpiredGrants(h.db, h.clock.now())).toBe(0);
    const cursor = (await h.pull(ava)).cursor;
    h.clock.set(new Date(expiresAt.getTime() + 60_000));
    // The next pull sweeps (at most once a minute): the grant is being removed (a task on the read-only org).
    const delta = await h.pull(ava, cursor);
    expect(delta.requests.map((r) => [r.id, r.status, r.fulfilment?.state])).toEqual([[m.args.requestId, 'fulfilled', 'removing']]);
    expect(await sweepExpiredGrants(h.db, h.clock.now())).toBe(0);
    // Once expired it may be requested again, even before the CRM change is confirmed.
    expect(only((await h.mutate(ava, [createMutation()])).results).status).toBe('applied');

    expect((await h.completeTask(m.args.requestId, 'revoke')).status).toBe(200);
    expect((await requestById(m.args.requestId))?.status).toBe('expired');
    const audit = await h.db.execute("SELECT subject_id FROM audit_events WHERE action = 'request.expired'");
    expect(audit.rows.map((r) => r.subject_id)).toEqual([m.args.requestId]);
    const grant = await h.db.execute('SELECT revoked_at FROM assignments WHERE request_id = ?', [m.args.requestId]);
    expect(grant.rows[0]!.revoked_at).toBe(h.clock.now().toISOString());
  });
});

describe('concurrency', () => {
  it('parallel batches, pulls and sign-ins neither fail nor double-apply', async () => {
    const keys = ['object:Contract:read', 'object:Quote:read', 'object:Order:read', 'object:Contact:delete', 'object:Lead:delete'];
    const muts = keys.map((k) => createMutation({ permissions: [k] }));
    const results = await Promise.all([
      ...muts.map((m) => h.mutate(ava, [m])),
      ...muts.map((m) => h.mutate(ava, [m])), // the same ids again, concurrently
      ...Array.from({ length: 5 }, () => h.pull(ben)),
      h.signIn('dan@acme.test'),
    ]);
    const statuses = (results.slice(0, 10) as { results: MutationResult[] }[]).map((r) => r.results[0]!.status);
    expect(statuses.filter((s) => s === 'applied')).toHaveLength(5);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(5);
    const n = await h.db.execute('SELECT COUNT(*) AS n FROM requests');
    expect(Number(n.rows[0]!.n)).toBe(5);
    expect((await h.pull(ben)).requests).toHaveLength(5);
  });
});
