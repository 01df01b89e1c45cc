import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { canonicalJson, hashEvent, verifyAuditChain } from './audit.ts';
import { createMutation, decisionMutation, harness, type Harness } from './testing.ts';
import { runWrite } from './write.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
  const ava = await h.signIn('ava@acme.test');
  const ben = await h.signIn('ben@acme.test');
  const m = createMutation();
  await h.mutate(ava, [m]);
  await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
  await h.completeTask(m.args.requestId);
  await h.post(null, '/api/auth/sign-in', { email: 'ava@acme.test', password: 'wrong' });
});
afterEach(async () => {
  await h.close();
});

describe('audit chain', () => {
  it('records seeding, sign-ins, requests, decisions and grants, chained', async () => {
    const rows = (await h.db.execute('SELECT seq, action, prev_hash, hash FROM audit_events ORDER BY seq')).rows;
    expect(rows.map((r) => r.action)).toEqual([
      'org.seeded',
      'auth.signed_in',
      'auth.signed_in',
      'request.created',
      'decision.recorded',
      'task.created',
      'fulfilment.task',
      'auth.signed_in',
      'grant.created',
      'request.fulfilled',
      'task.done',
      'auth.sign_in_failed',
    ]);
    expect(rows[0]!.prev_hash).toBe('0'.repeat(64));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    expect(await verifyAuditChain(h.db)).toEqual({ ok: true, events: 12 });
  });

  it('events appended in bulk (imports) continue the same chain', async () => {
    await runWrite(h.db, h.clock.now(), (w) =>
      w.auditMany(Array.from({ length: 950 }, (_, i) => ({ actorId: null, action: 'assignment.found', subjectType: 'assignment', subjectId: `asg-${i}`, data: { n: i } }))),
    );
    await h.post(null, '/api/auth/sign-in', { email: 'ava@acme.test', password: 'wrong' });
    expect(await verifyAuditChain(h.db)).toEqual({ ok: true, events: 12 + 950 + 1 });
  });

  it('hashes exactly as before (SHA-256 of the previous hash and the canonical event), so old chains still verify', () => {
    const event = { seq: 7, at: '2026-03-02T09:00:00.000Z', actorId: null, action: 'x.y', subjectType: 'request', subjectId: '你好', data: { a: [1, 'é'] } };
    const body = canonicalJson({ seq: 7, at: event.at, actorId: null, action: 'x.y', subjectType: 'request', subjectId: '你好', data: event.data });
    expect(hashEvent('ab'.repeat(32), event)).toBe(encodeHexLowerCase(sha256(new TextEncoder().encode('ab'.repeat(32) + body))));
  });

  it('detects an edited event', async () => {
    await h.db.execute(`UPDATE audit_events SET data = '{"outcome":"deny"}' WHERE action = 'decision.recorded'`);
    const seq = Number((await h.db.execute("SELECT seq FROM audit_events WHERE action = 'decision.recorded'")).rows[0]!.seq);
    expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, brokenSeq: seq });
  });

  it('detects a deleted event', async () => {
    await h.db.execute('DELETE FROM audit_events WHERE seq = 3');
    expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, brokenSeq: 3 });
  });

  it('detects a recomputed hash that breaks the link to the next event', async () => {
    await h.db.execute("UPDATE audit_events SET actor_id = 'p-cara', hash = 'f'||substr(hash, 2) WHERE seq = 2");
    expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, brokenSeq: 2 });
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});
