import { AUDIT_CSV_HEADER, auditResponse, auditVerifyResponse, personAccessResponse, holdersResponse } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../testing.ts';

let h: Harness;
let cara: string;
beforeEach(async () => {
  h = await harness();
  cara = await h.signIn('cara@acme.test');
});
afterEach(async () => {
  await h.close();
});

const audit = async (query = '', token = cara) => {
  const res = await h.get(token, `/api/audit${query}`);
  expect(res.status).toBe(200);
  return auditResponse.parse(await res.json());
};

describe('/api/audit', () => {
  it('lists events newest first with who did them; filters by action (or prefix), actor, subject and time; searches', async () => {
    await h.signIn('ben@acme.test');
    h.clock.advance(60_000);
    await h.post(null, '/api/auth/sign-in', { email: 'ben@acme.test', password: 'wrong-password' });
    const all = await audit();
    expect(all.total).toBeGreaterThanOrEqual(4);
    expect(all.events[0]!.seq).toBeGreaterThan(all.events[1]!.seq);
    expect(all.events.find((e) => e.action === 'auth.signed_in' && e.actorId === 'p-ben')).toMatchObject({ actorName: 'Ben Ortiz' });

    const signIns = await audit('?action=auth.signed_in');
    expect(signIns.events.map((e) => e.actorId).sort()).toEqual(['p-ben', 'p-cara']);
    const auth = await audit('?action=auth.');
    expect(auth.events.map((e) => e.action)).toContain('auth.sign_in_failed');
    expect((await audit('?actorId=p-ben')).events.every((e) => e.actorId === 'p-ben')).toBe(true);
    expect((await audit(`?from=${encodeURIComponent(h.clock.now().toISOString())}`)).events.map((e) => e.action)).toEqual(['auth.sign_in_failed']);
    expect((await audit('?q=acme')).events.map((e) => e.action)).toContain('org.seeded');
    expect((await audit('?subjectType=organisation&subjectId=acme')).events.map((e) => e.action)).toEqual(['org.seeded']);

    const page1 = await audit('?limit=2');
    const page2 = await audit(`?limit=2&before=${page1.nextBefore}`);
    expect(page2.events[0]!.seq).toBeLessThan(page1.events[1]!.seq);

    const bad = await h.get(cara, '/api/audit?action=DROP TABLE');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('action');
  });

  it('exports CSV and JSON, oldest first, with the hashes', async () => {
    const csv = await h.get(cara, '/api/audit/export?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"/);
    const lines = (await csv.text())
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(AUDIT_CSV_HEADER.join(','));
    expect(lines[1]).toMatch(/^1,.*,org\.seeded,organisation,acme,/);
    const json = await h.get(cara, '/api/audit/export?format=json&action=auth.signed_in');
    const events = (await json.json()) as { seq: number; action: string; hash: string; prevHash: string }[];
    expect(events.map((e) => e.action)).toEqual(['auth.signed_in']);
    expect(events[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifies the chain in one call (and audits that it did); a tampered event is found', async () => {
    const ok = auditVerifyResponse.parse(await (await h.post(cara, '/api/audit/verify', {})).json());
    expect(ok).toMatchObject({ ok: true, brokenSeq: null, reason: null });
    expect(ok.events).toBeGreaterThanOrEqual(2);
    expect((await audit('?action=audit.verified')).events[0]).toMatchObject({ actorId: 'p-cara', data: { ok: true } });
    // Someone with raw access to the database file: the append-only trigger dropped first.
    await h.db.execute('DROP TRIGGER audit_events_refuse_update');
    await h.db.execute('UPDATE audit_events SET data = \'{"organisation":"Evil"}\' WHERE seq = 1');
    const broken = auditVerifyResponse.parse(await (await h.post(cara, '/api/audit/verify', {})).json());
    expect(broken).toMatchObject({ ok: false, brokenSeq: 1, reason: 'hash does not match the event' });
  });

  it('administrators and auditors only', async () => {
    const ava = await h.signIn('ava@acme.test');
    expect((await h.get(ava, '/api/audit')).status).toBe(403);
    expect((await h.get(ava, '/api/audit/export')).status).toBe(403);
    expect((await h.post(ava, '/api/audit/verify', {})).status).toBe(403);
    await h.db.execute(`UPDATE people SET roles = '["requester","auditor"]' WHERE id = 'p-hal'`);
    const hal = await h.signIn('hal@acme.test');
    expect((await h.get(hal, '/api/audit')).status).toBe(200);
  });
});

describe('/api/admin/access', () => {
  it("a person's accounts, what each holds and every path, from the engine", async () => {
    const res = await h.get(cara, '/api/admin/access/people/p-dan');
    expect(res.status).toBe(200);
    const body = personAccessResponse.parse(await res.json());
    expect(body.person).toMatchObject({ name: 'Dan Wu', department: 'Sales', title: 'VP Sales' });
    const sf = body.accounts.find((a) => a.connection.id === 'sf-acme')!;
    expect(sf.assignments.map((a) => (a.target.type === 'bundle' ? a.target.name : a.target.key)).sort()).toEqual([
      'Report Builder',
      'Revenue Ops',
      'Standard Sales User',
    ]);
    // Quote edit comes from the Quote Desk set inside the Revenue Ops group: the path names both.
    const quote = sf.permissions.find((p) => p.key === 'object:Quote:edit')!;
    expect(quote.paths.map((p) => p.bundles.map((b) => b.name))).toEqual([['Revenue Ops', 'Quote Desk']]);
    expect(quote.labels?.en).toBe('Edit Quotes');
    const quoteRead = sf.permissions.find((p) => p.key === 'object:Quote:read')!;
    expect(quoteRead.paths.some((p) => p.bundles.map((b) => b.name).join('>') === 'Revenue Ops>Quote Desk')).toBe(true);
    expect(sf.findingIds.length).toBeGreaterThan(0);
    expect((await h.get(cara, '/api/admin/access/people/p-nobody')).status).toBe(404);
  });

  it('who holds a permission, with the paths', async () => {
    const res = await h.get(cara, '/api/admin/access/holders?connectionId=sf-acme&key=system:ExportReport&limit=2');
    const body = holdersResponse.parse(await res.json());
    expect(body.total).toBeGreaterThanOrEqual(4);
    expect(body.holders).toHaveLength(2);
    expect(body.holders[0]!.paths.length).toBeGreaterThan(0);
    const next = holdersResponse.parse(
      await (await h.get(cara, `/api/admin/access/holders?connectionId=sf-acme&key=system:ExportReport&limit=500&cursor=${body.nextCursor}`)).json(),
    );
    const everyone = [...body.holders, ...next.holders].map((x) => x.person.id);
    expect(new Set(everyone).size).toBe(body.total);
    expect(everyone).toEqual(expect.arrayContaining(['p-ben', 'p-dan', 'p-gil', 'p-cara']));
    const bad = await h.get(cara, '/api/admin/access/holders?connectionId=sf-acme&key=nonsense');
    expect(bad.status).toBe(400);
    const ava = await h.signIn('ava@acme.test');
    expect((await h.get(ava, '/api/admin/access/people/p-ava')).status).toBe(403);
  });
});
