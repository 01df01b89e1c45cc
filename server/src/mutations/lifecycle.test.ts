/**
 * The request lifecycle (issue 8): needs-info and answers, request again, bulk decisions, reminders and
 * escalation from the durable scheduler with the clock moved by the test, delegation, distinct approvers,
 * bundle requests, requests filed by a manager, access windows, extensions and expiry reminders, and
 * policy problems as codes.
 */
import { apiError, mutationsResponse, policyResponse, type AccessRequest, type MutationResult, type PolicyDocument } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LifecycleWorker } from '../lifecycle/worker.ts';
import { addStaff, MANAGER_ROUTED_KEYS, requestMutation } from '../lifecycle/testing.ts';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

const HOUR_MS = 3600_000;
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
async function requestOf(token: string, id: string): Promise<AccessRequest> {
  const r = (await h.pull(token)).requests.find((x) => x.id === id);
  if (!r) throw new Error(`request ${id} is not in the slice`);
  return r;
}
const answerMutation = (requestId: string, answer: string) => ({ id: crypto.randomUUID(), name: 'request.answer' as const, args: { requestId, answer } });
const kinds = (r: AccessRequest) => (r.timeline ?? []).map((e) => e.kind);
async function changePolicy(change: (d: PolicyDocument) => void): Promise<void> {
  const cara = await h.signIn('cara@acme.test');
  const current = policyResponse.parse(await (await h.get(cara, '/api/policy')).json());
  const document = structuredClone(current.document);
  change(document);
  // Four eyes: Cara proposes, a second administrator approves (the harness's changePolicy).
  const res = await h.changePolicy({ baseVersion: current.version, document, note: 'test' });
  expect(res.status, await res.clone().text()).toBe(200);
}
async function signInAs(email: string): Promise<string> {
  const res = await h.post(null, '/api/auth/sign-in', { email, password: 'ava-demo-2026' });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}
async function create(token: string, key: string, extra: Record<string, unknown> = {}): Promise<string> {
  const m = requestMutation(key, extra);
  const r = only((await h.mutate(token, [m])).results);
  expect(r, JSON.stringify(r)).toMatchObject({ status: 'applied' });
  return m.args.requestId;
}
async function outbox(requestId: string): Promise<{ event: string; channel: string; recipient: string; state: string }[]> {
  const r = await h.db.execute('SELECT event, channel, recipient, state FROM notification_outbox WHERE request_id = ? ORDER BY created_at, event, recipient', [
    requestId,
  ]);
  return r.rows.map((x) => ({ event: String(x.event), channel: String(x.channel), recipient: String(x.recipient), state: String(x.state) }));
}

describe('needs-info', () => {
  it('the approver asks, the request waits for the requester, the answer returns it to pending at the same stage', async () => {
    const id = await create(ava, 'object:Contract:read');
    // The question is required.
    const bad = await h.post(ben, '/api/mutations', { mutations: [decisionMutation(id, 'needs-info' as 'approve')] });
    expect(bad.status).toBe(400);
    expect(apiError.parse(await bad.json()).error).toMatchObject({ field: 'mutations.0.args.reason' });

    h.clock.advance(60_000);
    const asked = only((await h.mutate(ben, [decisionMutation(id, 'needs-info' as 'approve', { reason: 'Which renewal is this for?' })])).results);
    expect(asked.status).toBe('applied');
    const waiting = await requestOf(ava, id);
    expect(waiting).toMatchObject({ status: 'needs-info', needsInfo: { askedBy: 'p-ben', question: 'Which renewal is this for?', stage: 0 } });
    expect(waiting.timeline!.at(-1)).toMatchObject({ kind: 'needs-info', actorId: 'p-ben', personIds: ['p-ava'], text: 'Which renewal is this for?' });
    expect(waiting.stages[0]!.approvals).toEqual([]);
    // Nobody decides while it waits for the requester; only the requester answers.
    expect(only((await h.mutate(ben, [decisionMutation(id, 'approve')])).results)).toMatchObject({
      status: 'rejected',
      error: { code: 'conflict', reason: 'awaiting_answer', message: 'This request is waiting for the requester to answer a question.' },
    });
    expect(only((await h.mutate(ben, [answerMutation(id, 'me?')])).results)).toMatchObject({
      status: 'rejected',
      error: { code: 'forbidden', reason: 'answer_not_requester' },
    });

    h.clock.advance(60_000);
    expect(only((await h.mutate(ava, [answerMutation(id, 'Globex, renewal due Friday.')])).results).status).toBe('applied');
    const back = await requestOf(ben, id);
    expect(back).toMatchObject({ status: 'pending', needsInfo: null });
    expect(back.stages[0]!.waitingSince).toBe(h.clock.now().toISOString());
    expect(back.timeline!.at(-1)).toMatchObject({ kind: 'answered', actorId: 'p-ava', personIds: ['p-ben'], text: 'Globex, renewal due Friday.', stage: 0 });
    // A second answer is refused: nothing is asked.
    expect(only((await h.mutate(ava, [answerMutation(id, 'again')])).results)).toMatchObject({
      status: 'rejected',
      error: { code: 'conflict', reason: 'not_awaiting_answer', params: { status: 'pending' } },
    });

    expect(only((await h.mutate(ben, [decisionMutation(id, 'approve')])).results).status).toBe('applied');
    const approved = await requestOf(ava, id);
    expect(approved.status).toBe('approved');
    expect(kinds(approved)).toEqual(['submitted', 'needs-info', 'answered', 'approved']);
    // Audited, and each step was told (the question to Ava, the answer to Ben, the outcome to Ava).
    const actions = (await h.db.execute('SELECT action FROM audit_events WHERE subject_id = ? ORDER BY seq', [id])).rows.map((r) => String(r.action));
    expect(actions).toEqual(expect.arrayContaining(['request.needs_info', 'request.answered', 'decision.recorded']));
    const events = (await outbox(id)).filter((o) => o.channel === 'email').map((o) => `${o.event}>${o.recipient}`);
    expect(events).toEqual(expect.arrayContaining(['request.submitted>p-ben', 'request.needs-info>p-ava', 'request.answered>p-ben', 'request.approved>p-ava']));
  });
});

describe('request again', () => {
  it('after a denial, a new request linked to the denied one; only a denied request can be requested again', async () => {
    const first = await create(ava, 'object:Contract:read');
    only((await h.mutate(ben, [decisionMutation(first, 'deny', { reason: 'Say which account.' })])).results);
    const denied = await requestOf(ava, first);
    expect(denied.status).toBe('denied');
    expect(denied.stages[0]!.decision?.reason).toBe('Say which account.');

    const again = requestMutation('object:Contract:read', { previousRequestId: first, justification: 'Globex renewal, contract 00412.' });
    expect(only((await h.mutate(ava, [again])).results).status).toBe('applied');
    expect(await requestOf(ben, again.args.requestId)).toMatchObject({ status: 'pending', previousRequestId: first });

    const notDenied = requestMutation('object:Order:read', { previousRequestId: again.args.requestId });
    expect(only((await h.mutate(ava, [notDenied])).results)).toMatchObject({
      status: 'rejected',
      error: { code: 'conflict', field: 'mutations.0.args.previousRequestId', reason: 'request_again_not_denied', params: { status: 'pending' } },
    });
  });
});

describe('overlapping requests', () => {
  it('a pending request for one key does not block another key; the same key is a duplicate', async () => {
    await create(ava, 'object:Contract:read');
    await create(ava, 'object:Contract:edit');
    const dup = only((await h.mutate(ava, [requestMutation('object:Contract:read')])).results);
    expect(dup).toMatchObject({ status: 'rejected', error: { code: 'duplicate_request' } });
  });
});

describe('bulk decisions', () => {
  it('50 approvals with one reason in one call: one result each, all applied, a duplicate retry changes nothing', async () => {
    const staff = await addStaff(h.db, h.clock.now(), 'p-ben', 5);
    const ids: string[] = [];
    for (const s of staff) {
      const token = await signInAs(s.email);
      const batch = MANAGER_ROUTED_KEYS.map((k) => requestMutation(k));
      const res = mutationsResponse.parse(await h.mutate(token, batch));
      expect(
        res.results.every((r) => r.status === 'applied'),
        JSON.stringify(res.results.find((r) => r.status !== 'applied')),
      ).toBe(true);
      ids.push(...batch.map((m) => m.args.requestId));
    }
    expect(ids).toHaveLength(50);
    const decisions = ids.map((id) => decisionMutation(id, 'approve', { reason: 'Quarter-end renewals' }));
    // One request that is not Ben's to decide is rejected alone; the others apply.
    const foreign = await create(await h.signIn('hal@acme.test'), 'object:Contract:read');
    const res = await h.mutate(ben, [...decisions.slice(0, 25), decisionMutation(foreign, 'approve'), ...decisions.slice(25)]);
    expect(res.results).toHaveLength(51);
    expect(res.results.filter((r) => r.status === 'applied')).toHaveLength(50);
    expect(res.results[25]).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });
    const slice = await h.pull(ben);
    const mine = slice.requests.filter((r) => ids.includes(r.id));
    expect(mine.map((r) => r.status)).toEqual(Array(50).fill('approved'));
    expect(mine.every((r) => r.stages[0]!.decision?.reason === 'Quarter-end renewals')).toBe(true);
    // Resent: duplicates, nothing applied twice.
    const again = await h.mutate(ben, decisions);
    expect(again.results.every((r) => r.status === 'duplicate')).toBe(true);
    expect(Number((await h.db.execute("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'decision.recorded'")).rows[0]!.n)).toBe(50);
    // The audit chain is intact after one transaction wrote 50 decisions.
    const { verifyAuditChain } = await import('../audit.ts');
    expect((await verifyAuditChain(h.db)).ok).toBe(true);
  });
});

describe('bulk decisions: the same effects as one by one', () => {
  it('a mixed batch: approvals and denials, a question, a stage that opens the next, an access window, a request decided twice', async () => {
    const approve = await create(ava, 'object:Contract:read');
    const ask = await create(ava, 'object:Contract:edit');
    const twoStage = await create(ava, 'object:Quote:edit');
    const deny = await create(ava, 'object:Order:read');
    const later = await create(ava, 'object:Order:create', { startsAt: new Date(h.clock.now().getTime() + 2 * DAY_MS).toISOString() });
    h.clock.advance(60_000);
    const batch = [
      decisionMutation(approve, 'approve', { reason: 'Renewals' }),
      decisionMutation(ask, 'needs-info' as 'approve', { reason: 'Which contract?' }),
      // Waiting for Ava's answer now (the question above went first in the same transaction).
      decisionMutation(ask, 'approve'),
      decisionMutation(twoStage, 'approve'),
      decisionMutation(deny, 'deny', { reason: 'Not for orders.' }),
      // Decided a moment ago, in this very batch.
      decisionMutation(approve, 'deny', { reason: 'changed my mind' }),
      decisionMutation(later, 'approve', { durationDays: 7 }),
      // Stage 2 of the quote is Dan's.
      decisionMutation(twoStage, 'approve'),
    ];
    const res = await h.mutate(ben, batch);
    expect(res.results.map((r) => (r.status === 'rejected' ? `rejected:${r.error?.code}` : r.status))).toEqual([
      'applied',
      'applied',
      'rejected:conflict',
      'applied',
      'applied',
      'rejected:conflict',
      'applied',
      'rejected:forbidden',
    ]);

    const approved = await requestOf(ava, approve);
    expect(approved).toMatchObject({ status: 'approved', fulfilment: { state: 'admin-task', mode: 'task' } });
    expect(approved.stages[0]!.decision).toMatchObject({ deciderId: 'p-ben', outcome: 'approve', reason: 'Renewals', durationDays: 30 });
    expect(kinds(approved)).toEqual(['submitted', 'approved']);
    expect((await requestOf(ava, ask)).status).toBe('needs-info');
    const quote = await requestOf(ava, twoStage);
    expect(quote.status).toBe('pending');
    expect(quote.stages[0]!.decision).toMatchObject({ deciderId: 'p-ben', outcome: 'approve' });
    expect((await h.pull(await h.signIn('dan@acme.test'))).requests.map((r) => r.id)).toContain(twoStage);
    const denied = await requestOf(ava, deny);
    expect(denied).toMatchObject({ status: 'denied', fulfilment: null });
    expect(denied.stages[0]!.decision).toMatchObject({ outcome: 'deny', reason: 'Not for orders.' });
    expect(kinds(denied)).toEqual(['submitted', 'denied']);
    // The later's grant waits for its start (nothing in the CRM yet).
    expect(await requestOf(ava, later)).toMatchObject({ status: 'approved', fulfilment: null });
    expect((await h.db.execute("SELECT COUNT(*) AS n FROM scheduled_work WHERE kind = 'grant.start' AND subject_id = ?", [later])).rows[0]!.n).toBe(1);

    // One grant job (an admin task here: the demo connection has no credentials) for the approval alone.
    const jobs = await h.db.execute('SELECT request_id, action, state FROM fulfilment_jobs WHERE request_id IN (?, ?, ?, ?, ?)', [
      approve,
      ask,
      twoStage,
      deny,
      later,
    ]);
    expect(jobs.rows.map((r) => `${String(r.request_id)}:${String(r.action)}:${String(r.state)}`)).toEqual([`${approve}:grant:task`]);
    expect(
      (await h.db.execute("SELECT COUNT(*) AS n FROM admin_tasks WHERE request_id = ? AND kind = 'grant' AND status = 'open'", [approve])).rows[0]!.n,
    ).toBe(1);
    const decisions = await h.db.execute('SELECT request_id, outcome FROM request_decisions WHERE decider_id = ? ORDER BY rowid', ['p-ben']);
    expect(decisions.rows.map((r) => `${String(r.request_id)}:${String(r.outcome)}`)).toEqual([
      `${approve}:approve`,
      `${twoStage}:approve`,
      `${deny}:deny`,
      `${later}:approve`,
    ]);

    // Each told once, in Ava's language.
    expect((await outbox(approve)).filter((o) => o.channel === 'email' && o.event !== 'request.submitted').map((o) => `${o.event}>${o.recipient}`)).toEqual([
      'request.approved>p-ava',
    ]);
    expect((await outbox(deny)).filter((o) => o.event === 'request.denied').map((o) => o.recipient)).toEqual(['p-ava']);
    expect((await outbox(ask)).filter((o) => o.event === 'request.needs-info').map((o) => o.recipient)).toEqual(['p-ava']);
    // Audited in the order the mutations came; the chain holds; every applied id is stored once.
    const audit = await h.db.execute(
      "SELECT action, subject_id FROM audit_events WHERE action IN ('decision.recorded', 'request.needs_info') AND subject_id IN (?, ?, ?, ?, ?) ORDER BY seq",
      [approve, ask, twoStage, deny, later],
    );
    expect(audit.rows.map((r) => String(r.subject_id))).toEqual([approve, ask, twoStage, deny, later]);
    const { verifyAuditChain } = await import('../audit.ts');
    expect((await verifyAuditChain(h.db)).ok).toBe(true);
    const applied = await h.db.execute('SELECT id FROM applied_mutations WHERE id IN (SELECT value FROM json_each(?))', [
      JSON.stringify(batch.map((m) => m.id)),
    ]);
    expect(applied.rows.map((r) => String(r.id)).sort()).toEqual([batch[0]!, batch[1]!, batch[3]!, batch[4]!, batch[6]!].map((m) => m.id).sort());
    // The same batch again: the applied ones are duplicates and nothing changes.
    const again = await h.mutate(ben, batch);
    expect(again.results.filter((r) => r.status === 'duplicate')).toHaveLength(5);
    expect((await h.db.execute("SELECT COUNT(*) AS n FROM request_decisions WHERE decider_id = 'p-ben'")).rows[0]!.n).toBe(4);
  });

  it('what one approval and one denial write is the same whether they come alone or in a batch', async () => {
    const staff = await addStaff(h.db, h.clock.now(), 'p-ben', 2);
    const [alone, batched] = await Promise.all(staff.map((s) => signInAs(s.email)));
    const make = async (token: string) => ({ grant: await create(token, 'object:Contract:read'), refuse: await create(token, 'object:Order:read') });
    const a = await make(alone!);
    const b = await make(batched!);
    h.clock.advance(60_000);
    // One by one: each decision in a call of its own (routing.ts, fulfilment.queueGrant and outbox.notify).
    for (const m of [decisionMutation(a.grant, 'approve', { reason: 'ok', durationDays: 14 }), decisionMutation(a.refuse, 'deny', { reason: 'no' })]) {
      const { runWrite } = await import('../write.ts');
      const { recordDecision } = await import('./decision-record.ts');
      const { personFromRow, PERSON_COLUMNS } = await import('../model.ts');
      const me = personFromRow((await h.db.execute(`SELECT ${PERSON_COLUMNS} FROM people p WHERE p.id = 'p-ben'`)).rows[0]!);
      await runWrite(h.db, h.clock.now(), (w) => recordDecision(w, me, m.args, (f) => f));
    }
    // Together (decision-bulk.ts).
    const res = await h.mutate(ben, [
      decisionMutation(b.grant, 'approve', { reason: 'ok', durationDays: 14 }),
      decisionMutation(b.refuse, 'deny', { reason: 'no' }),
    ]);
    expect(res.results.map((r) => r.status)).toEqual(['applied', 'applied']);

    const shape = async (id: string, requester: string) => {
      const r = await requestOf(ben, id);
      const job = await h.db.execute('SELECT action, state, plan FROM fulfilment_jobs WHERE request_id = ?', [id]);
      const task = await h.db.execute('SELECT kind, reason_code, reason, status FROM admin_tasks WHERE request_id = ?', [id]);
      const audit = await h.db.execute('SELECT action, actor_id, data FROM audit_events WHERE subject_id = ? OR data LIKE ? ORDER BY seq', [id, `%${id}%`]);
      const messages = await h.db.execute(
        "SELECT event, channel, recipient, payload FROM notification_outbox WHERE request_id = ? AND event <> 'request.submitted' ORDER BY event, recipient",
        [id],
      );
      const swap = (v: unknown) =>
        JSON.parse(
          JSON.stringify(v)
            .replaceAll(id, 'ID')
            .replaceAll(requester, 'ME')
            .replace(/job-[0-9a-f-]{36}/g, 'JOB')
            .replace(/task-[0-9a-f-]{36}/g, 'TASK')
            .replace(/acct-staff-\d/g, 'ACCT')
            .replace(/005Zz\d+sta/g, 'EXT')
            .replace(/staff\d@acme\.test/g, 'EMAIL')
            .replace(/Staff staff \d/g, 'NAME'),
        ) as unknown;
      return swap({
        status: r.status,
        stages: r.stages,
        decidedAt: r.decidedAt,
        timeline: r.timeline,
        fulfilment: r.fulfilment,
        jobs: job.rows.map((x) => ({ action: x.action, state: x.state, plan: JSON.parse(String(x.plan)) as unknown })),
        tasks: task.rows.map((x) => ({ ...x })),
        audit: audit.rows.map((x) => ({ action: x.action, actor: x.actor_id, data: JSON.parse(String(x.data)) as unknown })),
        messages: messages.rows.map((x) => ({ event: x.event, channel: x.channel, recipient: x.recipient, payload: JSON.parse(String(x.payload)) as unknown })),
      });
    };
    const me = (i: number) => staff[i]!.id;
    const aGrant = await shape(a.grant, me(0));
    expect(aGrant).toMatchObject({
      status: 'approved',
      fulfilment: { state: 'admin-task' },
      jobs: [{ action: 'grant', state: 'task' }],
      tasks: [{ kind: 'grant', status: 'open' }],
    });
    expect(await shape(b.grant, me(1))).toEqual(aGrant);
    const aRefuse = await shape(a.refuse, me(0));
    expect(aRefuse).toMatchObject({ status: 'denied', jobs: [], messages: [{ event: 'request.denied' }] });
    expect(await shape(b.refuse, me(1))).toEqual(aRefuse);
  });
});

describe('reminders and escalation (durable scheduler, the clock moved by the test)', () => {
  it('reminds the approver after 24 h (capped), escalates to the fallback after 72 h, shown on the timeline and audited', async () => {
    const id = await create(ava, 'object:Contract:read');
    const work = await h.db.execute("SELECT due_at, state FROM scheduled_work WHERE kind = 'request.timer' AND subject_id = ?", [id]);
    expect(work.rows[0]).toMatchObject({ due_at: new Date(h.clock.now().getTime() + 24 * HOUR_MS).toISOString(), state: 'queued' });

    h.clock.advance(23 * HOUR_MS);
    await h.lifecycle.runDue();
    expect(kinds(await requestOf(ava, id))).toEqual(['submitted']);

    h.clock.advance(2 * HOUR_MS);
    // Another process (a new worker) does it: the schedule lives in the database.
    const other = new LifecycleWorker({ db: h.db, box: h.secrets, now: h.clock.now });
    await other.runDue();
    await other.stop();
    const reminded = await requestOf(ava, id);
    expect(reminded.timeline!.at(-1)).toMatchObject({ kind: 'reminded', actorId: null, personIds: ['p-ben'], stage: 0, at: h.clock.now().toISOString() });
    expect(reminded.stages[0]).toMatchObject({ reminders: 1, lastRemindedAt: h.clock.now().toISOString() });
    expect((await outbox(id)).filter((o) => o.event === 'request.reminder')).toEqual([
      { event: 'request.reminder', channel: 'email', recipient: 'p-ben', state: 'skipped' },
    ]);
    // Running again at the same time does nothing more.
    await h.lifecycle.runDue();
    expect(kinds(await requestOf(ava, id)).filter((k) => k === 'reminded')).toHaveLength(1);

    h.clock.advance(48 * HOUR_MS); // 73 h: the second reminder (48 h) and the escalation (72 h) are both due
    await h.lifecycle.runDue();
    const escalated = await requestOf(ava, id);
    expect(kinds(escalated).slice(1)).toEqual(['reminded', 'escalated']);
    expect(escalated.timeline!.at(-1)).toMatchObject({ kind: 'escalated', personIds: ['p-cara'] });
    expect(escalated.stages[0]).toMatchObject({ escalated: true, approverIds: ['p-ben', 'p-cara'], required: 1 });
    const actions = (await h.db.execute('SELECT action FROM audit_events WHERE subject_id = ? ORDER BY seq', [id])).rows.map((r) => String(r.action));
    expect(actions.filter((a) => a === 'request.reminded')).toHaveLength(1);
    expect(actions).toContain('request.escalated');
    // Cara now has it in her queue and may decide.
    const cara = await h.signIn('cara@acme.test');
    expect(only((await h.mutate(cara, [decisionMutation(id, 'approve')])).results).status).toBe('applied');
    expect((await requestOf(ava, id)).status).toBe('approved');
    // The next reminder would have been at 96 h (the 48 h one was covered by the escalation); decided, the
    // timer is done: nothing more happens however long we wait.
    h.clock.advance(20 * DAY_MS);
    await h.lifecycle.runDue();
    expect(kinds(await requestOf(ava, id)).filter((k) => k === 'reminded')).toHaveLength(1);
  });

  it('two workers at once (two processes: each its own database connection on a libsql server) remind each approver exactly once', async () => {
    const staff = await addStaff(h.db, h.clock.now(), 'p-ben', 4);
    const ids: string[] = [];
    for (const s of staff) {
      const token = await signInAs(s.email);
      for (const key of MANAGER_ROUTED_KEYS.slice(0, 5)) ids.push(await create(token, key));
    }
    h.clock.advance(25 * HOUR_MS);
    // On a libsql server the second worker has a connection of its own, as another process would; a file
    // database is shared through one handle per process (db.ts), so there both use this one.
    const { openDatabase } = await import('../db.ts');
    const secondDb = h.url.startsWith('file:') ? h.db : await openDatabase(h.url);
    const one = new LifecycleWorker({ db: h.db, box: h.secrets, now: h.clock.now, ownerId: 'proc-one' });
    const two = new LifecycleWorker({ db: secondDb, box: h.secrets, now: h.clock.now, ownerId: 'proc-two' });
    try {
      const [a, b] = await Promise.all([one.runDue(), two.runDue()]);
      // Between them every timer ran once (and every message was delivered once: 20 submitted + 20 reminders).
      expect(a.work + b.work).toBeGreaterThanOrEqual(ids.length);
    } finally {
      await one.stop();
      await two.stop();
      if (secondDb !== h.db) secondDb.close();
    }
    for (const id of ids) {
      const r = await requestOf(ben, id);
      expect(
        kinds(r).filter((k) => k === 'reminded'),
        id,
      ).toHaveLength(1);
      expect(r.stages[0]!.reminders).toBe(1);
    }
    const audited = await h.db.execute("SELECT subject_id, COUNT(*) AS n FROM audit_events WHERE action = 'request.reminded' GROUP BY subject_id");
    expect(audited.rows).toHaveLength(ids.length);
    expect(audited.rows.every((r) => Number(r.n) === 1)).toBe(true);
    const messages = await h.db.execute(
      "SELECT state, COUNT(*) AS n FROM notification_outbox WHERE event = 'request.reminder' AND request_id IN (SELECT value FROM json_each(?)) GROUP BY state",
      [JSON.stringify(ids)],
    );
    expect(messages.rows.map((r) => `${String(r.state)}:${Number(r.n)}`)).toEqual([`skipped:${ids.length}`]);
    const { verifyAuditChain } = await import('../audit.ts');
    expect((await verifyAuditChain(h.db)).ok).toBe(true);
  });

  it('reminders are capped; the policy can deny after T hours (timed out), per rule', async () => {
    await changePolicy((d) => {
      d.lifecycle = { remindAfterHours: 4, maxReminders: 2, escalateAfterHours: null, denyAfterHours: 30, expiryReminderDays: 3 };
    });
    const id = await create(ava, 'object:Contract:read');
    for (let i = 0; i < 7; i++) {
      h.clock.advance(4 * HOUR_MS);
      await h.lifecycle.runDue();
    }
    expect(kinds(await requestOf(ava, id))).toEqual(['submitted', 'reminded', 'reminded']);
    h.clock.advance(3 * HOUR_MS);
    await h.lifecycle.runDue();
    const r = await requestOf(ava, id);
    expect(r.status).toBe('denied');
    expect(r.timeline!.at(-1)).toMatchObject({ kind: 'timed-out', personIds: ['p-ben'] });
    expect((await outbox(id)).map((o) => o.event)).toContain('request.timed-out');
    // An invalid setting is refused, naming the field.
    const cara = await h.signIn('cara@acme.test');
    const current = policyResponse.parse(await (await h.get(cara, '/api/policy')).json());
    const bad = structuredClone(current.document);
    bad.lifecycle = { ...bad.lifecycle, escalateAfterHours: 48, denyAfterHours: 24 };
    const res = await h.put(cara, '/api/policy', { baseVersion: current.version, document: bad, note: '' });
    expect(res.status).toBe(400);
    expect(apiError.parse(await res.json()).error.field).toBe('document.lifecycle.denyAfterHours');
  });

  it('needs-info pauses the timer; the answer restarts it', async () => {
    const id = await create(ava, 'object:Contract:read');
    only((await h.mutate(ben, [decisionMutation(id, 'needs-info' as 'approve', { reason: 'Which account?' })])).results);
    h.clock.advance(30 * HOUR_MS);
    await h.lifecycle.runDue();
    expect(kinds(await requestOf(ava, id))).toEqual(['submitted', 'needs-info']);
    only((await h.mutate(ava, [answerMutation(id, 'Globex')])).results);
    h.clock.advance(25 * HOUR_MS);
    await h.lifecycle.runDue();
    expect(kinds(await requestOf(ava, id))).toEqual(['submitted', 'needs-info', 'answered', 'reminded']);
  });
});

describe('delegation', () => {
  it('an approver away names a delegate: waiting requests and new ones go to the delegate, never to the requester', async () => {
    const waiting = await create(ava, 'object:Contract:read');
    const start = h.clock.now();
    const res = await h.post(ben, '/api/delegations', {
      delegateId: 'p-dan',
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 7 * DAY_MS).toISOString(),
      note: 'On leave',
    });
    expect(res.status).toBe(201);
    const { delegation } = (await res.json()) as { delegation: { id: string; active: boolean } };
    expect(delegation.active).toBe(true);
    const moved = await requestOf(ava, waiting);
    expect(moved.stages[0]).toMatchObject({ approverIds: ['p-dan'], delegates: [{ approverId: 'p-ben', delegateId: 'p-dan' }] });
    expect(moved.timeline!.at(-1)).toMatchObject({ kind: 'delegated', actorId: 'p-ben', personIds: ['p-dan'] });

    const eli = await h.signIn('eli@acme.test');
    const fresh = await create(eli, 'object:Order:read');
    expect((await requestOf(eli, fresh)).stages[0]!.approverIds).toEqual(['p-dan']);
    const dan = await h.signIn('dan@acme.test');
    expect(only((await h.mutate(dan, [decisionMutation(fresh, 'approve')])).results).status).toBe('applied');
    // Ben no longer decides what went to Dan.
    expect(only((await h.mutate(ben, [decisionMutation(waiting, 'approve')])).results)).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });
    const audit = (await h.db.execute("SELECT action FROM audit_events WHERE action LIKE 'delegation.%' OR action = 'request.delegated'")).rows.map((r) =>
      String(r.action),
    );
    expect(audit).toEqual(expect.arrayContaining(['delegation.created', 'request.delegated']));

    // Ended: new requests go to Ben again.
    expect((await h.post(ben, `/api/delegations/${delegation.id}/end`, {})).status).toBe(200);
    const later = await create(eli, 'object:Contract:read');
    expect((await requestOf(eli, later)).stages[0]!.approverIds).toEqual(['p-ben']);
  });

  it('a delegate who is the requester is skipped (the approver keeps it); a future period starts from the scheduler', async () => {
    const now = h.clock.now();
    expect(
      (await h.post(ben, '/api/delegations', { delegateId: 'p-ava', startsAt: now.toISOString(), endsAt: new Date(now.getTime() + DAY_MS).toISOString() }))
        .status,
    ).toBe(201);
    const id = await create(ava, 'object:Contract:read');
    expect((await requestOf(ava, id)).stages[0]!.approverIds).toEqual(['p-ben']);
    const eli = await h.signIn('eli@acme.test');
    const eliId = await create(eli, 'object:Contract:read');
    expect((await requestOf(eli, eliId)).stages[0]!.approverIds).toEqual(['p-ava']);

    // Kai (no reports' requests) — use Dan: he delegates to Gil from tomorrow; Ben's stage-two requests wait on Dan until then.
    const dan = await h.signIn('dan@acme.test');
    const from = new Date(now.getTime() + DAY_MS);
    expect(
      (await h.post(dan, '/api/delegations', { delegateId: 'p-gil', startsAt: from.toISOString(), endsAt: new Date(from.getTime() + DAY_MS).toISOString() }))
        .status,
    ).toBe(201);
    const quote = await create(ava, 'object:Quote:edit');
    // Ben delegated to Ava, who requested this: Ben keeps stage one.
    only((await h.mutate(ben, [decisionMutation(quote, 'approve')])).results);
    expect((await requestOf(ava, quote)).stages[1]!.approverIds).toEqual(['p-dan']);
    h.clock.set(new Date(from.getTime() + 60_000));
    await h.lifecycle.runDue();
    expect((await requestOf(ava, quote)).stages[1]).toMatchObject({ approverIds: ['p-gil'], delegates: [{ approverId: 'p-dan', delegateId: 'p-gil' }] });
    // Someone else's delegation: only administrators.
    const forOther = await h.post(ava, '/api/delegations', { personId: 'p-ben', delegateId: 'p-eli', startsAt: now.toISOString(), endsAt: from.toISOString() });
    expect(forOther.status).toBe(403);
    const backwards = await h.post(ava, '/api/delegations', { delegateId: 'p-eli', startsAt: from.toISOString(), endsAt: now.toISOString() });
    expect(backwards.status).toBe(400);
    expect(apiError.parse(await backwards.json()).error.field).toBe('endsAt');
  });
});

describe('distinct approvers', () => {
  it('one person cannot satisfy two stages of one request unless the rule says so', async () => {
    // Ben is in the Deal Desk group too: he approves as manager, so the Deal Desk stage asks Dan only.
    await h.db.transaction(async (tx) => {
      const v = Number((await tx.execute('UPDATE meta SET version = version + 1 RETURNING version')).rows[0]!.version);
      await tx.execute({
        sql: "UPDATE approver_groups SET member_ids = ?, version = ? WHERE id = 'grp-deal-desk'",
        args: [JSON.stringify(['p-dan', 'p-ben']), v],
      });
    });
    const id = await create(ava, 'object:Quote:edit');
    expect((await requestOf(ava, id)).stages.map((s) => s.approverIds)).toEqual([['p-ben'], ['p-dan']]);
    only((await h.mutate(ben, [decisionMutation(id, 'approve')])).results);
    expect(only((await h.mutate(ben, [decisionMutation(id, 'approve')])).results)).toMatchObject({
      status: 'rejected',
      error: { code: 'forbidden', reason: 'not_waiting_for_you' },
    });

    await changePolicy((d) => {
      d.requestRules.find((r) => r.id === 'rr-deal-desk')!.distinctApprovers = false;
    });
    const allowed = await create(ava, 'object:Quote:create');
    expect((await requestOf(ava, allowed)).stages.map((s) => s.approverIds)).toEqual([['p-ben'], ['p-dan', 'p-ben']]);
    only((await h.mutate(ben, [decisionMutation(allowed, 'approve')])).results);
    expect(only((await h.mutate(ben, [decisionMutation(allowed, 'approve')])).results).status).toBe('applied');
    expect((await requestOf(ava, allowed)).status).toBe('approved');
  });
});

describe('bundles', () => {
  it('a whole permission set: the preview and the request name what it adds beyond what is held; a profile is refused', async () => {
    const preview = await h.post(ava, '/api/requests/preview', { connectionId: 'sf-acme', bundleId: 'ps-quote-desk', durationDays: 30 });
    expect(preview.status).toBe(200);
    const p = (await preview.json()) as { bundle: { adds: string[]; alreadyHeld: string[] }; stages: { label: string }[]; ok: boolean };
    expect(p.bundle).toMatchObject({ adds: ['object:Quote:create', 'object:Quote:edit', 'object:Quote:read'], alreadyHeld: [] });
    expect(p.stages.map((s) => s.label)).toEqual(['Manager', 'Deal Desk']);
    const m = requestMutation('x', { permissions: [], bundleId: 'ps-quote-desk' });
    expect(only((await h.mutate(ava, [m])).results).status).toBe('applied');
    const r = await requestOf(ben, m.args.requestId);
    expect(r).toMatchObject({ bundleId: 'ps-quote-desk', permissions: ['object:Quote:create', 'object:Quote:edit', 'object:Quote:read'] });
    // Fay holds Contract Manager (and Quote read, in her profile) already: Revenue Ops adds only Quote create and edit.
    const fay = await h.signIn('fay@acme.test');
    const rev = (await (await h.post(fay, '/api/requests/preview', { connectionId: 'sf-acme', bundleId: 'psg-revenue-ops' })).json()) as {
      bundle: { adds: string[]; alreadyHeld: string[] };
    };
    expect(rev.bundle.alreadyHeld).toEqual(['object:Contract:create', 'object:Contract:edit', 'object:Contract:read', 'object:Quote:read']);
    expect(rev.bundle.adds).toEqual(['object:Quote:create', 'object:Quote:edit']);
    const profile = only((await h.mutate(ava, [requestMutation('x', { permissions: [], bundleId: 'profile-sysadmin' })])).results);
    expect(profile).toMatchObject({ status: 'rejected', error: { code: 'invalid_input', field: 'mutations.0.args.bundleId' } });
  });
});

describe('on behalf of a direct report', () => {
  it('the manager files, the report is the requester of record; neither approves it', async () => {
    const m = requestMutation('object:Contract:read', { onBehalfOf: 'p-ava' });
    expect(only((await h.mutate(ben, [m])).results).status).toBe('applied');
    const r = await requestOf(ava, m.args.requestId);
    expect(r).toMatchObject({ requesterId: 'p-ava', filedBy: 'p-ben' });
    // The manager stage would ask Ben, who filed it: the rule's fallback decides instead.
    expect(r.stages[0]).toMatchObject({ kind: 'manager', escalated: true, approverIds: ['p-cara'] });
    expect((await requestOf(ben, m.args.requestId)).id).toBe(m.args.requestId);
    expect(only((await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')])).results)).toMatchObject({
      status: 'rejected',
      error: { code: 'forbidden', reason: 'filed_by_you', message: 'You cannot decide a request you filed.' },
    });
    // Not a report of the caller.
    const notMine = only((await h.mutate(ben, [requestMutation('object:Contract:read', { onBehalfOf: 'p-fay' })])).results);
    expect(notMine).toMatchObject({
      status: 'rejected',
      error: { code: 'forbidden', field: 'mutations.0.args.onBehalfOf', reason: 'not_your_report', params: { name: 'Fay Okafor' } },
    });
  });
});

describe('access windows, extensions and expiry reminders', () => {
  it('a start date: approved now, applied at the start; the grant counts from then', async () => {
    const starts = new Date(h.clock.now().getTime() + 2 * DAY_MS).toISOString();
    const id = await create(ava, 'object:Case:read', { startsAt: starts, durationDays: 7 });
    const approved = await requestOf(ava, id);
    expect(approved).toMatchObject({ status: 'approved', startsAt: starts, fulfilment: null });
    h.clock.advance(DAY_MS);
    await h.lifecycle.runDue();
    expect((await requestOf(ava, id)).fulfilment).toBeNull();
    h.clock.advance(DAY_MS);
    await h.lifecycle.runDue();
    const started = await requestOf(ava, id);
    expect(started.fulfilment).toMatchObject({ state: 'admin-task' });
    expect(kinds(started)).toEqual(['submitted', 'auto-approved', 'started']);
    const past = only(
      (await h.mutate(ava, [requestMutation('object:Order:read', { startsAt: new Date(h.clock.now().getTime() - 1000).toISOString() })])).results,
    );
    expect(past).toMatchObject({ status: 'rejected', error: { field: 'mutations.0.args.startsAt' } });
  });

  it('a reminder N days before the end, once; "extend" routes a new request and moves the end', async () => {
    const id = await create(ava, 'object:Case:read', { durationDays: 7 });
    expect((await h.completeTask(id)).status).toBe(200);
    const granted = await requestOf(ava, id);
    expect(granted).toMatchObject({ status: 'fulfilled' });
    expect(granted.timeline!.at(-1)).toMatchObject({ kind: 'fulfilled', expiresAt: granted.expiresAt });
    const end = Date.parse(granted.expiresAt!);
    h.clock.set(new Date(end - 3 * DAY_MS - HOUR_MS));
    await h.lifecycle.runDue();
    expect(kinds(await requestOf(ava, id))).not.toContain('expiring');
    h.clock.advance(2 * HOUR_MS);
    await h.lifecycle.runDue();
    await h.lifecycle.runDue();
    const reminded = await requestOf(ava, id);
    expect(kinds(reminded).filter((k) => k === 'expiring')).toHaveLength(1);
    expect(reminded.timeline!.at(-1)).toMatchObject({ kind: 'expiring', personIds: ['p-ava'], expiresAt: granted.expiresAt });
    expect((await outbox(id)).map((o) => o.event)).toContain('grant.expiring');

    // Extend: a new request for the same keys, linked to the grant, routed the same way (auto-approved here).
    const ext = requestMutation('x', { permissions: [], extendsRequestId: id, durationDays: 7 });
    expect(only((await h.mutate(ava, [ext])).results).status).toBe('applied');
    const newEnd = new Date(end + 7 * DAY_MS).toISOString();
    expect(await requestOf(ava, ext.args.requestId)).toMatchObject({
      status: 'fulfilled',
      extendsRequestId: id,
      permissions: ['object:Case:read'],
      expiresAt: newEnd,
    });
    const extended = await requestOf(ava, id);
    expect(extended).toMatchObject({ status: 'fulfilled', expiresAt: newEnd });
    expect(extended.timeline!.at(-1)).toMatchObject({ kind: 'extended', requestId: ext.args.requestId, expiresAt: newEnd });
    const assignments = (await h.pull(ava)).assignments.filter((a) => a.requestId === id);
    expect(assignments.map((a) => a.expiresAt)).toEqual([newEnd]);
    // History stays after the end: the grant expires (an admin task removes it) and both requests stay in the slice.
    h.clock.set(new Date(Date.parse(newEnd) + 60_000));
    const { sweepExpiredGrants } = await import('../expiry.ts');
    await sweepExpiredGrants(h.db, h.clock.now());
    expect((await h.completeTask(id, 'revoke')).status).toBe(200);
    const slice = await h.pull(ava);
    expect(slice.requests.find((r) => r.id === id)).toMatchObject({ status: 'expired' });
    expect(slice.requests.find((r) => r.id === ext.args.requestId)).toMatchObject({ status: 'expired' });
    expect(kinds(slice.requests.find((r) => r.id === id)!)).toContain('expired');
  });
});

describe("an approver's decision history", () => {
  it("every request an approver decided stays in their slice with their decision — after expiry, in a fresh snapshot, and a delegate's own", async () => {
    const granted = await create(ava, 'object:Contract:read', { durationDays: 7 });
    const refused = await create(ava, 'object:Order:read');
    h.clock.advance(60_000);
    expect(
      (
        await h.mutate(ben, [decisionMutation(granted, 'approve', { reason: 'renewals' }), decisionMutation(refused, 'deny', { reason: 'not now' })])
      ).results.map((r) => r.status),
    ).toEqual(['applied', 'applied']);
    expect((await h.completeTask(granted)).status).toBe(200);
    // Ben is away; Dan decides for him meanwhile.
    const dan = await h.signIn('dan@acme.test');
    const away = await h.post(ben, '/api/delegations', {
      delegateId: 'p-dan',
      startsAt: h.clock.now().toISOString(),
      endsAt: new Date(h.clock.now().getTime() + 3 * DAY_MS).toISOString(),
    });
    expect(away.status, await away.clone().text()).toBe(201);
    const delegated = await create(ava, 'object:Campaign:create');
    expect((await h.mutate(dan, [decisionMutation(delegated, 'approve')])).results[0]!.status).toBe('applied');

    // The grant ends and is removed.
    h.clock.advance(8 * DAY_MS);
    await h.pull(ava);
    expect((await h.completeTask(granted, 'revoke')).status).toBe(200);
    expect((await requestOf(ava, granted)).status).toBe('expired');

    const decidedBy = async (token: string, person: string) =>
      (await h.pull(token)).requests
        .flatMap((r) =>
          r.stages.flatMap((st) =>
            [...st.approvals, ...(st.decision && st.decision.outcome === 'deny' ? [st.decision] : [])]
              .filter((d) => d.deciderId === person)
              .map((d) => `${r.id}:${r.status}:${d.outcome}:${d.reason ?? ''}`),
          ),
        )
        .sort();
    expect(await decidedBy(ben, 'p-ben')).toEqual([`${granted}:expired:approve:renewals`, `${refused}:denied:deny:not now`].sort());
    expect(await decidedBy(dan, 'p-dan')).toEqual([`${delegated}:approved:approve:`]);
    // A request submitted while Ben was away went to Dan alone: it is Dan's history, not Ben's.
    expect((await h.pull(ben)).requests.map((r) => r.id)).not.toContain(delegated);
  });
});

describe('what helps an approver decide', () => {
  it("each request carries its risk, the SoD rules it would break and how the requester's peers hold its keys, as at submission", async () => {
    // Two of five more Account Executives hold Contract Manager (Contract read, create, edit).
    const staff = await addStaff(h.db, h.clock.now(), 'p-ben', 5);
    const { runWrite } = await import('../write.ts');
    await runWrite(h.db, h.clock.now(), async (w) => {
      const v = await w.version();
      for (const i of [1, 2])
        await w.tx.execute({
          sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version)
                VALUES (?, ?, 'bundle', 'ps-contract-manager', NULL, 'directory', NULL, '2024-01-10T09:00:00.000Z', NULL, NULL, ?)`,
          args: [`asg-cm-${i}`, `acct-staff-${i}`, v],
        });
    });
    // A rule that editing contracts conflicts with reading accounts (which Ava holds): warned at request.
    await changePolicy((d) => {
      d.sodAtRequest = 'warn';
      d.sodRules.push({
        id: 'sod-test',
        connectionId: 'sf-acme',
        name: 'Accounts vs contracts',
        left: { keys: ['object:Account:read'] },
        right: { keys: ['object:Contract:edit'] },
        severity: 'medium',
      });
    });
    const id = await create(ava, 'object:Contract:edit');
    const seen = await requestOf(ben, id);
    const peers = await h.db.execute(
      `SELECT COUNT(DISTINCT p.id) AS n FROM people p JOIN crm_accounts a ON a.person_id = p.id AND a.connection_id = 'sf-acme' AND a.active = 1
       WHERE p.department = 'Sales' AND p.title = 'Account Executive' AND p.status = 'active' AND p.id <> 'p-ava'`,
    );
    expect(staff).toHaveLength(5);
    expect(seen.insight).toEqual({
      risk: expect.stringMatching(/^(low|medium|high|critical)$/),
      sodConflicts: [{ ruleId: 'sod-test', name: 'Accounts vs contracts', severity: 'medium' }],
      peers: { department: 'Sales', title: 'Account Executive', count: Number(peers.rows[0]!.n), keys: [{ key: 'object:Contract:edit', holders: 2 }] },
    });
    const risk = await h.db.execute("SELECT risk FROM permission_catalog WHERE connection_id = 'sf-acme' AND key = 'object:Contract:edit'");
    expect(seen.insight!.risk).toBe(String(risk.rows[0]!.risk));
    expect(seen.insight!.peers!.count).toBeGreaterThanOrEqual(5);
  });
});

describe('policy problems as codes', () => {
  it('policy_blocked carries { code, params } for every problem, and the preview too', async () => {
    // System permissions need the security training Ava has not completed, and an evidence link.
    const m = createMutation({ permissions: ['system:ViewSetup'], durationDays: 7 });
    const r = only((await h.mutate(ava, [m])).results);
    expect(r).toMatchObject({ status: 'rejected', error: { code: 'policy_blocked', field: 'mutations.0.args.permissions.0' } });
    expect(r.error!.problems).toEqual(
      expect.arrayContaining([
        {
          code: 'training-missing',
          params: { training: 'sfdc-security-101', keys: ['system:ViewSetup'] },
          message: 'prerequisite missing: training "sfdc-security-101" not completed',
        },
        { code: 'evidence-required', params: {}, message: 'evidence (a ticket or document link) is required' },
      ]),
    );
    const preview = (await (
      await h.post(ava, '/api/requests/preview', { connectionId: 'sf-acme', permissions: ['system:ViewSetup', 'object:Account:read'] })
    ).json()) as {
      problems: string[];
      problemDetails: { code: string; params: Record<string, unknown>; message: string }[];
    };
    expect(preview.problemDetails.map((p) => p.code)).toEqual(expect.arrayContaining(['already-held', 'training-missing']));
    expect(preview.problems).toEqual(preview.problemDetails.map((p) => p.message));
    expect(preview.problemDetails.find((p) => p.code === 'already-held')!.params).toEqual({ key: 'object:Account:read' });
  });
});
