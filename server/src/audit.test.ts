import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { canonicalJson, GENESIS_HASH, hashEvent, verifyAuditChain } from './audit.ts';
import { verifyAudit } from './audit-checkpoint.ts';
import { generateKey, KeyRing } from './secrets.ts';
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

/** What someone with the file and SHA-256 but not the key can do: change an event and recompute the chain after it. */
async function rewriteFrom(seq: number, change: (row: Record<string, unknown>) => Record<string, unknown>) {
  const rows = (await h.db.execute('SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq', [seq])).rows;
  let prev = seq === 1 ? GENESIS_HASH : String((await h.db.execute('SELECT hash FROM audit_events WHERE seq = ?', [seq - 1])).rows[0]!.hash);
  for (const [i, original] of rows.entries()) {
    const row = i === 0 ? change({ ...original }) : { ...original };
    const hash = hashEvent(prev, {
      seq: Number(row.seq),
      at: String(row.at),
      actorId: row.actor_id === null ? null : String(row.actor_id),
      action: String(row.action),
      subjectType: String(row.subject_type),
      subjectId: row.subject_id === null ? null : String(row.subject_id),
      data: JSON.parse(String(row.data)) as Record<string, unknown>,
    });
    await h.db.execute('UPDATE audit_events SET actor_id = ?, prev_hash = ?, hash = ? WHERE seq = ?', [
      row.actor_id as string | null,
      prev,
      hash,
      Number(row.seq),
    ]);
    prev = hash;
  }
}

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
      w.auditMany(
        Array.from({ length: 950 }, (_, i) => ({
          actorId: null,
          action: 'assignment.found',
          subjectType: 'assignment',
          subjectId: `asg-${i}`,
          data: { n: i },
        })),
      ),
    );
    await h.post(null, '/api/auth/sign-in', { email: 'ava@acme.test', password: 'wrong' });
    expect(await verifyAuditChain(h.db)).toEqual({ ok: true, events: 12 + 950 + 1 });
  });

  it('events a bulk write defers until just before commit still move the signed head (verify-audit stays intact)', async () => {
    await runWrite(h.db, h.clock.now(), async (w) => {
      w.deferAudit();
      for (let i = 0; i < 3; i++) await w.audit({ actorId: null, action: 'test.deferred', subjectType: 'request', subjectId: `r-${i}`, data: { i } });
    });
    // Without the head moving with them, the newest events would look appended without the key.
    expect(await verifyAudit(h.db, h.secrets.keyRing)).toMatchObject({ ok: true, events: 12 + 3 });
  });

  it('hashes exactly as before (SHA-256 of the previous hash and the canonical event), so old chains still verify', () => {
    const event = { seq: 7, at: '2026-03-02T09:00:00.000Z', actorId: null, action: 'x.y', subjectType: 'request', subjectId: '你好', data: { a: [1, 'é'] } };
    const body = canonicalJson({ seq: 7, at: event.at, actorId: null, action: 'x.y', subjectType: 'request', subjectId: '你好', data: event.data });
    expect(hashEvent('ab'.repeat(32), event)).toBe(encodeHexLowerCase(sha256(new TextEncoder().encode('ab'.repeat(32) + body))));
  });

  it('the database refuses to change or remove an audit event (or a checkpoint)', async () => {
    await expect(h.db.execute(`UPDATE audit_events SET data = '{}' WHERE seq = 2`)).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(h.db.execute('DELETE FROM audit_events WHERE seq = 3')).rejects.toThrow(/append-only: DELETE refused/);
    await expect(h.db.execute('DELETE FROM audit_events')).rejects.toThrow(/append-only: DELETE refused/);
    await expect(h.db.execute('DELETE FROM audit_checkpoints')).rejects.toThrow(/append-only: DELETE refused/);
    expect(await verifyAudit(h.db, h.secrets.keyRing)).toMatchObject({ ok: true, events: 12 });
  });

  // Someone with the database file itself can drop the triggers: the chain and the signed checkpoints still tell.
  describe('with the triggers dropped (raw access to the database)', () => {
    beforeEach(async () => {
      for (const t of ['audit_events_refuse_update', 'audit_events_refuse_delete', 'audit_checkpoints_refuse_update', 'audit_checkpoints_refuse_delete'])
        await h.db.execute(`DROP TRIGGER ${t}`);
    });

    it('detects an edited event', async () => {
      await h.db.execute(`UPDATE audit_events SET data = '{"outcome":"deny"}' WHERE action = 'decision.recorded'`);
      const seq = Number((await h.db.execute("SELECT seq FROM audit_events WHERE action = 'decision.recorded'")).rows[0]!.seq);
      expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, brokenSeq: seq });
      expect(await verifyAudit(h.db, h.secrets.keyRing)).toMatchObject({ ok: false, brokenSeq: seq });
    });

    it('detects a deleted event', async () => {
      await h.db.execute('DELETE FROM audit_events WHERE seq = 3');
      expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, brokenSeq: 3 });
    });

    it('detects a recomputed hash that breaks the link to the next event', async () => {
      await h.db.execute("UPDATE audit_events SET actor_id = 'p-cara', hash = 'f'||substr(hash, 2) WHERE seq = 2");
      expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, brokenSeq: 2 });
    });

    it('detects the newest event deleted (issue 10: the chain alone said "intact")', async () => {
      await h.db.execute('DELETE FROM audit_events WHERE seq = 12');
      expect(await verifyAuditChain(h.db)).toEqual({ ok: true, events: 11 });
      const report = await verifyAudit(h.db, h.secrets.keyRing);
      expect(report).toMatchObject({ ok: false });
      expect(report.ok ? '' : report.problem).toMatch(/counts 12 events; the chain holds 11: 1 newest events were removed/);
    });

    it('detects every event deleted', async () => {
      await h.db.execute('DELETE FROM audit_events');
      expect(await verifyAuditChain(h.db)).toEqual({ ok: true, events: 0 });
      expect(await verifyAudit(h.db, h.secrets.keyRing)).toMatchObject({ ok: false, problem: expect.stringMatching(/events were removed/) });
    });

    it('detects an event edited with every later hash recomputed', async () => {
      await rewriteFrom(2, (row) => ({ ...row, actor_id: 'p-cara' }));
      expect(await verifyAuditChain(h.db)).toEqual({ ok: true, events: 12 });
      expect(await verifyAudit(h.db, h.secrets.keyRing)).toMatchObject({ ok: false, problem: expect.stringMatching(/rewritten/) });
    });

    it('detects a checkpoint forged without the key, and events appended without it', async () => {
      await h.db.execute('UPDATE audit_head SET count = 11, hash = (SELECT hash FROM audit_events WHERE seq = 11) WHERE id = 1');
      await h.db.execute('DELETE FROM audit_events WHERE seq = 12');
      expect(await verifyAudit(h.db, h.secrets.keyRing)).toMatchObject({ ok: false, problem: expect.stringMatching(/not signed by this server's key/) });
    });

    it('detects an old signed head put back after the chain was cut short (the hourly checkpoints remember)', async () => {
      const old = (await h.db.execute('SELECT * FROM audit_head')).rows[0]!;
      h.clock.advance(2 * 60 * 60 * 1000);
      for (let i = 0; i < 3; i++) await h.post(null, '/api/auth/sign-in', { email: 'nobody@acme.test', password: 'x' });
      expect(await verifyAudit(h.db, h.secrets.keyRing)).toMatchObject({ ok: true, events: 15 });
      await h.db.execute('DELETE FROM audit_events WHERE seq > ?', [Number(old.count)]);
      await h.db.execute('UPDATE audit_head SET count = ?, hash = ?, at = ?, key_id = ?, mac = ? WHERE id = 1', [
        old.count!,
        old.hash!,
        old.at!,
        old.key_id!,
        old.mac!,
      ]);
      expect(await verifyAudit(h.db, h.secrets.keyRing)).toMatchObject({ ok: false, problem: expect.stringMatching(/events were removed/) });
    });
  });

  it('a database signed with another key does not verify with this one', async () => {
    expect(await verifyAudit(h.db, new KeyRing(generateKey()))).toMatchObject({ ok: false, problem: expect.stringMatching(/does not hold/) });
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});
