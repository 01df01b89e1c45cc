import { syncResponse } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepExpiredGrants } from '../expiry.ts';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';
import { parseCursor } from './cursor.ts';

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

describe('full snapshot', () => {
  it("Ava's slice: herself, her account and grants, everyone's policy; names she needs", async () => {
    const s = syncResponse.parse(await h.pull(ava));
    expect(s.reset).toBe(true);
    expect(s.me).toMatchObject({ id: 'p-ava', email: 'ava@acme.test', managerId: 'p-ben' });
    expect(s.people.map((p) => p.id).sort()).toEqual(['p-ava', 'p-ben']);
    // Every connection goes to everyone (the overlay must know which CRM a page belongs to).
    expect(s.connections.find((c) => c.id === 'sf-acme')).toEqual({
      id: 'sf-acme',
      kind: 'salesforce',
      name: 'Acme Salesforce',
      hosts: ['acme.lightning.force.com', 'acme.my.salesforce.com'],
      tenant: 'acme',
    });
    expect(s.connections.map((c) => c.kind).sort()).toEqual(['dynamics', 'fxiaoke', 'generic', 'hubspot', 'salesforce', 'zoho']);
    // Her own accounts only: one per CRM.
    expect(s.accounts.map((a) => a.connectionId).sort()).toEqual(['desk-acme', 'dyn-acme', 'fx-acme', 'hs-acme', 'sf-acme', 'zoho-acme']);
    expect(s.accounts.every((a) => a.personId === 'p-ava')).toBe(true);
    const salesforceAccount = s.accounts.find((a) => a.connectionId === 'sf-acme')!;
    expect(salesforceAccount.id).toBe('acct-ava');
    expect(salesforceAccount.externalUserId).toMatch(/^005[A-Za-z0-9]{15}$/);
    expect(salesforceAccount.username).toBe('ava@acme.test.sf');
    const mine = new Set(s.accounts.map((a) => a.id));
    expect(s.assignments.every((a) => mine.has(a.accountId))).toBe(true);
    expect(s.assignments.map((a) => a.target)).toContainEqual({ type: 'bundle', bundleId: 'profile-standard-sales' });
    // The whole catalog and every bundle go to everyone.
    expect(s.catalog.find((c) => c.key === 'object:Contract:read')).toMatchObject({
      labels: { en: 'Read Contracts', 'zh-CN': '查看合同' },
      maxDurationDays: 90,
      requestable: true,
    });
    expect(s.catalog.find((c) => c.key === 'system:ModifyAllData')).toMatchObject({ risk: 'high', requestable: false });
    expect(s.bundles.map((b) => b.name)).toEqual(
      expect.arrayContaining(['Standard Sales User', 'System Administrator', 'Contract Manager', 'Quote Desk', 'Revenue Ops']),
    );
    expect(s.bundles.find((b) => b.name === 'Revenue Ops')).toMatchObject({
      kind: 'permissionSetGroup',
      includes: ['ps-contract-manager', 'ps-quote-desk'],
    });
    expect(s.requests).toEqual([]);
  });

  it('requests: Ava sees her own, not others; Ben sees those routed to him; Dan sees neither', async () => {
    const eli = await h.signIn('eli@acme.test');
    const fay = await h.signIn('fay@acme.test');
    const avaReq = createMutation({ permissions: ['object:Quote:read'] });
    const eliReq = createMutation({ permissions: ['object:Quote:read'] });
    const fayReq = createMutation({ permissions: ['object:Quote:edit'] });
    await h.mutate(ava, [avaReq]);
    await h.mutate(eli, [eliReq]);
    await h.mutate(fay, [fayReq]);

    const a = await h.pull(ava);
    expect(a.requests.map((r) => r.id)).toEqual([avaReq.args.requestId]);

    const b = await h.pull(ben);
    expect(b.requests.map((r) => r.id).sort()).toEqual([avaReq.args.requestId, eliReq.args.requestId].sort());
    // Ben can put names to his queue.
    expect(b.people.map((p) => p.id)).toEqual(expect.arrayContaining(['p-ava', 'p-eli', 'p-ben', 'p-dan']));
    expect(b.people.map((p) => p.id)).not.toContain('p-fay');

    const dan = await h.signIn('dan@acme.test');
    expect((await h.pull(dan)).requests).toEqual([]);
  });
});

describe('incremental pulls', () => {
  it('an unchanged pull returns empty lists, me null and the same cursor', async () => {
    const first = await h.pull(ava);
    const again = syncResponse.parse(await h.pull(ava, first.cursor));
    expect(again).toEqual({
      cursor: first.cursor,
      reset: false,
      me: null,
      people: [],
      connections: [],
      accounts: [],
      catalog: [],
      bundles: [],
      assignments: [],
      requests: [],
      pageRules: [],
      findings: [],
      killSwitches: [],
    });
  });

  it('returns only what changed, for each party', async () => {
    const a0 = await h.pull(ava);
    const b0 = await h.pull(ben);
    const m = createMutation();
    const res = await h.mutate(ava, [m]);

    const a1 = await h.pull(ava, a0.cursor);
    expect(a1.reset).toBe(false);
    expect(a1.requests.map((r) => r.id)).toEqual([m.args.requestId]);
    expect(a1.catalog).toEqual([]);
    expect(a1.bundles).toEqual([]);
    expect(a1.assignments).toEqual([]);
    expect(a1.me).toBeNull();
    expect(a1.cursor).toBe(res.cursor);
    expect(parseCursor(a1.cursor)!.version).toBeGreaterThan(parseCursor(a0.cursor)!.version);

    const b1 = await h.pull(ben, b0.cursor);
    expect(b1.requests.map((r) => r.id)).toEqual([m.args.requestId]);
    expect(b1.people.map((p) => p.id)).toContain('p-ava');

    h.clock.advance(1000);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    const approved = await h.pull(ava, a1.cursor);
    expect(approved.requests.map((r) => [r.id, r.status, r.fulfilment?.state])).toEqual([[m.args.requestId, 'approved', 'admin-task']]);
    expect(approved.assignments).toEqual([]);
    // Once the CRM holds it (the admin task is done), the grant reaches her.
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const a2 = await h.pull(ava, approved.cursor);
    expect(a2.requests.map((r) => [r.id, r.status])).toEqual([[m.args.requestId, 'fulfilled']]);
    expect(a2.assignments.map((x) => x.target)).toEqual([{ type: 'bundle', bundleId: 'ps-contract-manager' }]);
    expect(a2.catalog).toEqual([]);

    // Someone else's change moves the database version but leaves Ava's slice alone.
    const eli = await h.signIn('eli@acme.test');
    await h.mutate(eli, [createMutation({ permissions: ['object:Quote:read'] })]);
    const a3 = await h.pull(ava, a2.cursor);
    expect(a3.requests).toEqual([]);
    expect(a3.assignments).toEqual([]);
    expect(a3.cursor).not.toBe(a2.cursor);
  });

  it('a changed person row reaches them as me', async () => {
    const a0 = await h.pull(ava);
    await h.db.transaction(async (tx) => {
      const v = await tx.execute('UPDATE meta SET version = version + 1 RETURNING version');
      await tx.execute({ sql: "UPDATE people SET title = 'Senior Account Executive', version = ? WHERE id = 'p-ava'", args: [Number(v.rows[0]!.version)] });
    });
    const a1 = await h.pull(ava, a0.cursor);
    expect(a1.me?.title).toBe('Senior Account Executive');
    expect(a1.people.find((p) => p.id === 'p-ava')?.title).toBe('Senior Account Executive');
  });

  it.each([
    ['malformed', 'not-a-cursor'],
    ['from another database', '0123456789abcdef0123456789abcdef.1'],
    ['ahead of the server', null],
  ])('a cursor %s gets a reset with the full snapshot', async (_label, given) => {
    const first = await h.pull(ava);
    const cursor = given ?? `${parseCursor(first.cursor)!.instanceId}.${parseCursor(first.cursor)!.version + 5}`;
    const s = await h.pull(ava, cursor);
    expect(s.reset).toBe(true);
    expect(s.me?.id).toBe('p-ava');
    expect(s.catalog.length).toBeGreaterThan(50);
    expect(s.cursor).toBe(first.cursor);
  });

  it('a cursor older than the caller’s last slice-membership change gets a reset', async () => {
    const a0 = await h.pull(ava);
    await h.db.transaction(async (tx) => {
      const v = Number((await tx.execute('UPDATE meta SET version = version + 1 RETURNING version')).rows[0]!.version);
      await tx.execute({ sql: "UPDATE people SET manager_id = 'p-dan', slice_version = ?, version = ? WHERE id = 'p-ava'", args: [v, v] });
    });
    const a1 = await h.pull(ava, a0.cursor);
    expect(a1.reset).toBe(true);
    expect(a1.me?.managerId).toBe('p-dan');
    const a2 = await h.pull(ava, a1.cursor);
    expect(a2.reset).toBe(false);
  });

  it('a too-long cursor is a 400 naming the field', async () => {
    const res = await h.get(ava, `/api/sync?cursor=${'x'.repeat(201)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('cursor');
  });

  it('sync needs a session', async () => {
    expect((await h.get(null, '/api/sync')).status).toBe(401);
  });
});

describe('expiry sweep', () => {
  it('has a fulfilled grant removed exactly at its expiresAt, once', async () => {
    const m = createMutation({ durationDays: 1 });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const end = new Date(h.clock.now().getTime() + DAY_MS);
    expect(await sweepExpiredGrants(h.db, new Date(end.getTime() - 1))).toBe(0);
    expect(await sweepExpiredGrants(h.db, end)).toBe(1);
    expect(await sweepExpiredGrants(h.db, end)).toBe(0);
  });
});
