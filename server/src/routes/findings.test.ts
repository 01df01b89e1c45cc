import { policyResponse } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findingResponse, findingsResponse, type FindingView } from '../findings/schemas.ts';
import { FindingsService } from '../findings/service.ts';
import { DAY_MS, createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

let h: Harness;
let cara: string;
beforeEach(async () => {
  h = await harness();
  cara = await h.signIn('cara@acme.test');
});
afterEach(async () => {
  await h.close();
});

async function list(query = '', token = cara, app = h.app): Promise<{ findings: FindingView[]; nextCursor: string | null }> {
  const res = await app.request(`/api/findings${query}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return findingsResponse.parse(await res.json());
}

const summary = (f: FindingView) => `${f.severity} ${f.kind} ${f.personId}`;
const find = (all: FindingView[], kind: string, personId: string) => all.find((f) => f.kind === kind && f.personId === personId);

async function accept(id: string, body: Record<string, unknown>, token = cara) {
  return h.post(token, `/api/findings/${id}/accept`, body);
}

const inDays = (days: number) => new Date(h.clock.now().getTime() + days * DAY_MS).toISOString();

describe('GET /api/findings', () => {
  it('lists the demo findings for admins, most severe first, with names to show', async () => {
    const { findings, nextCursor } = await list();
    expect(nextCursor).toBeNull();
    expect(findings.map(summary).sort()).toEqual(
      [
        'critical inactive-person p-jon',
        'high super-admin p-cara',
        'high super-admin p-kai',
        'high sod-conflict p-cara',
        'high sod-conflict p-kai',
        'high sod-conflict p-dan',
        'high expired-grant p-eli',
        'high high-risk p-dan',
        'high high-risk p-gil',
        'high high-risk p-ben',
        'high high-risk p-ben',
        'high beyond-baseline p-ben',
        'medium unused p-ben',
        'medium dormant p-ivy',
      ].sort(),
    );
    const rank = { critical: 3, high: 2, medium: 1, low: 0 };
    for (let i = 1; i < findings.length; i++) {
      const [a, b] = [findings[i - 1]!, findings[i]!];
      expect(rank[a.severity] > rank[b.severity] || (a.severity === b.severity && a.id < b.id)).toBe(true);
    }
    const jon = findings[0]!;
    expect(jon).toMatchObject({
      kind: 'inactive-person',
      status: 'open',
      personName: 'Jon Park',
      department: 'Sales',
      title: 'Account Executive',
      personStatus: 'departed',
      accountUsername: 'jon@acme.test.sf',
      connectionName: 'Acme Salesforce',
      evidence: { kind: 'inactive-person', personStatus: 'departed' },
      acceptance: null,
      resolvedAt: null,
    });
    const unused = find(findings, 'unused', 'p-ben')!;
    expect(unused.bundleIds).toEqual(['ps-sales-ops']);
    expect(unused.evidence).toMatchObject({ kind: 'unused', windowDays: 90, lastUsedAt: expect.any(String) });
    // Ava uses what she holds and holds what her job needs.
    expect(findings.filter((f) => f.personId === 'p-ava')).toEqual([]);
  });

  it('filters by kind, severity, department, connection, person and status; pages with a cursor', async () => {
    const all = (await list()).findings;
    expect((await list('?kind=sod-conflict')).findings.map((f) => f.personId).sort()).toEqual(['p-cara', 'p-dan', 'p-kai']);
    expect((await list('?severity=critical')).findings.map((f) => f.personId)).toEqual(['p-jon']);
    const sales = (await list('?department=Sales')).findings;
    expect(sales.length).toBeGreaterThan(0);
    expect(sales.every((f) => f.department === 'Sales')).toBe(true);
    expect(new Set(sales.map((f) => f.personId))).toEqual(new Set(['p-jon', 'p-ben', 'p-dan', 'p-eli']));
    expect((await list('?connectionId=sf-acme')).findings).toHaveLength(all.length);
    expect((await list('?connectionId=sf-other')).findings).toEqual([]);
    expect((await list('?personId=p-ben')).findings).toHaveLength(4);
    expect((await list('?kind=high-risk&department=Finance')).findings.map((f) => f.personId)).toEqual(['p-gil']);
    expect((await list('?status=remediated')).findings).toEqual([]);
    expect((await list('?status=accepted')).findings).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { findings: FindingView[]; nextCursor: string | null } = await list(`?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.findings.length).toBeLessThanOrEqual(4);
      seen.push(...page.findings.map((f) => f.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(Math.ceil(all.length / 4));
    expect(seen).toEqual(all.map((f) => f.id));
  });

  it('rejects bad filters with a 400 naming the field', async () => {
    for (const [query, field] of [
      ['?kind=nope', 'kind'],
      ['?severity=extreme', 'severity'],
      ['?status=closed', 'status'],
      ['?limit=0', 'limit'],
      ['?limit=501', 'limit'],
      ['?limit=ten', 'limit'],
      ['?cursor=not-a-cursor', 'cursor'],
    ] as const) {
      const res = await h.get(cara, `/api/findings${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { code: string; field: string } }).error).toMatchObject({ code: 'invalid_input', field });
    }
  });

  it('is for administrators and auditors only', async () => {
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    for (const token of [ava, ben]) {
      const res = await h.get(token, '/api/findings');
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    expect((await h.get(null, '/api/findings')).status).toBe(401);
    await h.db.execute(`UPDATE people SET roles = '["requester","approver","auditor"]' WHERE id = 'p-gil'`);
    const gil = await h.signIn('gil@acme.test');
    expect((await list('', gil)).findings.length).toBeGreaterThan(0);
    // Auditors read; they do not accept or reopen.
    const id = (await list('', gil)).findings[0]!.id;
    expect((await accept(id, { reason: 'fine', expiresAt: inDays(10) }, gil)).status).toBe(403);
    expect((await h.post(gil, `/api/findings/${id}/reopen`, {})).status).toBe(403);
    expect((await accept(id, { reason: 'fine', expiresAt: inDays(10) }, ava)).status).toBe(403);
  });
});

describe('accepting a risk', () => {
  it('accepted with a reason and an expiry, audited, and still accepted after an unrelated recompute', async () => {
    const dormant = find((await list()).findings, 'dormant', 'p-ivy')!;
    const expiresAt = inDays(30);
    const res = await accept(dormant.id, { reason: 'Ivy is on parental leave until April.', expiresAt });
    expect(res.status).toBe(200);
    const { finding } = findingResponse.parse(await res.json());
    expect(finding).toMatchObject({
      id: dormant.id,
      status: 'accepted',
      reopened: false,
      acceptance: { reason: 'Ivy is on parental leave until April.', acceptedBy: 'p-cara', acceptedByName: 'Cara Diaz', expiresAt, active: true },
    });
    const audit = await h.db.execute("SELECT actor_id, subject_id, data FROM audit_events WHERE action = 'finding.accepted'");
    expect(audit.rows.map((r) => [r.actor_id, r.subject_id])).toEqual([['p-cara', dormant.id]]);
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ reason: 'Ivy is on parental leave until April.', expiresAt, kind: 'dormant' });

    // An unrelated approval recomputes findings (Ava's new grant is beyond her baseline)…
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ permissions: ['object:Contract:read'] });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const after = (await list()).findings;
    // Approved for 30 days and inside its window: temporary, not an open finding.
    expect(find(after, 'beyond-baseline', 'p-ava')).toBeUndefined();
    expect(find((await list('?status=temporary')).findings, 'beyond-baseline', 'p-ava')).toMatchObject({
      status: 'temporary',
      keys: ['object:Contract:create', 'object:Contract:edit', 'object:Contract:read'],
      bundleIds: ['ps-contract-manager'],
      severity: 'medium',
      temporary: { requestId: m.args.requestId, approvedBy: ['p-ben'], approvedByNames: ['Ben Ortiz'], automatic: false },
    });
    // …and the accepted risk stays accepted; the default list shows open and accepted findings.
    expect(after.find((f) => f.id === dormant.id)?.status).toBe('accepted');
    expect((await list('?status=accepted')).findings.map((f) => f.id)).toEqual([dormant.id]);
    expect((await list('?status=open')).findings.map((f) => f.id)).not.toContain(dormant.id);
    // A full rebuild (e.g. a restart) agrees.
    h.findings.invalidate();
    expect((await list()).findings.find((f) => f.id === dormant.id)?.status).toBe('accepted');
  });

  it('validates the reason and the expiry; unknown findings are 404; remediated ones 409', async () => {
    const id = find((await list()).findings, 'dormant', 'p-ivy')!.id;
    const field = async (body: Record<string, unknown>) => {
      const res = await accept(id, body);
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: { field: string } }).error.field;
    };
    expect(await field({ reason: '  ', expiresAt: inDays(10) })).toBe('reason');
    expect(await field({ expiresAt: inDays(10) })).toBe('reason');
    expect(await field({ reason: 'ok' })).toBe('expiresAt');
    expect(await field({ reason: 'ok', expiresAt: 'tomorrow' })).toBe('expiresAt');
    expect(await field({ reason: 'ok', expiresAt: inDays(-1) })).toBe('expiresAt');
    expect(await field({ reason: 'ok', expiresAt: inDays(366) })).toBe('expiresAt');
    // What a schema cannot see is said by a reason too, naming the field.
    const past = await accept(id, { reason: 'ok', expiresAt: inDays(-1) });
    expect(((await past.json()) as { error: unknown }).error).toEqual({
      code: 'invalid_input',
      message: 'The expiry must be in the future.',
      field: 'expiresAt',
      reason: 'expiry_in_past',
    });
    const far = await accept(id, { reason: 'ok', expiresAt: inDays(366) });
    expect(((await far.json()) as { error: unknown }).error).toMatchObject({ field: 'expiresAt', reason: 'expiry_too_late', params: { days: 365 } });
    expect((await accept(id, { reason: 'ok', expiresAt: inDays(365) })).status).toBe(200);
    expect((await accept('f_0000000000000000', { reason: 'ok', expiresAt: inDays(10) })).status).toBe(404);

    // Jon's account is deactivated: his finding is remediated and cannot be accepted any more.
    const jon = find((await list()).findings, 'inactive-person', 'p-jon')!;
    await h.db.transaction(async (tx) => {
      const v = Number((await tx.execute('UPDATE meta SET version = version + 1 RETURNING version')).rows[0]!.version);
      await tx.execute({ sql: "UPDATE crm_accounts SET active = 0, version = ? WHERE id = 'acct-jon'", args: [v] });
    });
    const gone = (await list('?status=remediated')).findings;
    expect(gone.map((f) => f.id)).toEqual([jon.id]);
    expect(gone[0]!.resolvedAt).toBe(h.clock.now().toISOString());
    const res = await accept(jon.id, { reason: 'ok', expiresAt: inDays(10) });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: unknown }).error).toEqual({
      code: 'conflict',
      message: 'This finding is remediated: there is no risk left to accept.',
      reason: 'finding_remediated_no_risk',
    });
    // Nor anything left to take out.
    const remediate = await h.post(cara, `/api/findings/${jon.id}/remediate`, {});
    expect(remediate.status).toBe(409);
    expect(((await remediate.json()) as { error: unknown }).error).toEqual({
      code: 'conflict',
      message: 'This finding is already remediated.',
      reason: 'finding_already_remediated',
    });
  });

  it('an acceptance that expires opens the finding again', async () => {
    const id = find((await list()).findings, 'high-risk', 'p-gil')!.id;
    await accept(id, { reason: 'Gil exports the board pack each month.', expiresAt: inDays(30) });
    h.clock.advance(29 * DAY_MS);
    expect((await list()).findings.find((f) => f.id === id)).toMatchObject({ status: 'accepted', reopened: false });
    h.clock.advance(2 * DAY_MS);
    const reopened = (await list()).findings.find((f) => f.id === id)!;
    expect(reopened).toMatchObject({ status: 'open', reopened: true, acceptance: { reason: 'Gil exports the board pack each month.', active: false } });
    // It can be accepted again.
    const again = await accept(id, { reason: 'Renewed for the next quarter.', expiresAt: inDays(90) });
    expect(findingResponse.parse(await again.json()).finding).toMatchObject({ status: 'accepted', reopened: false });
  });

  it('reopen: an accepted finding is open again, audited; anything else is 409; unknown 404', async () => {
    const id = find((await list()).findings, 'unused', 'p-ben')!.id;
    const notAccepted = await h.post(cara, `/api/findings/${id}/reopen`, {});
    expect(notAccepted.status).toBe(409);
    // The status is a param: the extension says it in the reader's language.
    expect(((await notAccepted.json()) as { error: unknown }).error).toEqual({
      code: 'conflict',
      message: 'Only an accepted finding can be reopened (this one is open).',
      reason: 'finding_not_accepted',
      params: { findingStatus: 'open' },
    });
    await accept(id, { reason: 'Ben covers Sales Ops in March.', expiresAt: inDays(20) });
    const res = await h.post(cara, `/api/findings/${id}/reopen`, {});
    expect(res.status).toBe(200);
    expect(findingResponse.parse(await res.json()).finding).toMatchObject({ id, status: 'open', reopened: false, acceptance: null });
    const audit = await h.db.execute("SELECT actor_id, subject_id, data FROM audit_events WHERE action = 'finding.reopened'");
    expect(audit.rows.map((r) => [r.actor_id, r.subject_id])).toEqual([['p-cara', id]]);
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ acceptance: { reason: 'Ben covers Sales Ops in March.', acceptedBy: 'p-cara' } });
    expect((await h.post(cara, `/api/findings/${id}/reopen`, {})).status).toBe(409);
    const unknown = await h.post(cara, '/api/findings/f_0000000000000000/reopen', {});
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: unknown }).error).toEqual({
      code: 'not_found',
      message: 'There is no such finding.',
      reason: 'finding_not_found',
    });
  });
});

describe('remediation', () => {
  it('a grant beyond the baseline is remediated when it ends; the grant left behind in the CRM is a finding', async () => {
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ permissions: ['object:Contract:read'], durationDays: 7 });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    // Inside its window the grant is temporary: "approved by Ben Ortiz, until …".
    const beyond = find((await list('?status=temporary')).findings, 'beyond-baseline', 'p-ava')!;
    expect(beyond).toMatchObject({ status: 'temporary', temporary: { approvedByNames: ['Ben Ortiz'], automatic: false } });
    expect(beyond.temporary!.expiresAt).toBe(new Date(h.clock.now().getTime() + 7 * DAY_MS).toISOString());

    h.clock.advance(7 * DAY_MS + 60_000);
    await h.pull(ava); // the pull sweeps expired grants; the findings engine moves its clock with it
    const remediated = (await list('?status=remediated')).findings;
    expect(remediated.map((f) => f.id)).toContain(beyond.id);
    expect(remediated.find((f) => f.id === beyond.id)?.resolvedAt).toBe(h.clock.now().toISOString());
    const open = (await list()).findings;
    expect(open.map((f) => f.id)).not.toContain(beyond.id);
    expect(find(open, 'expired-grant', 'p-ava')).toMatchObject({ keys: [], bundleIds: ['ps-contract-manager'], severity: 'high' });
  });

  it('a grant made after the engine last moved its clock counts at once, without recomputing every account', async () => {
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    await list(); // the engine is built now, at the harness clock
    const { advances, builds } = h.findings.stats;
    h.clock.advance(10_000); // later than the engine's clock, sooner than its periodic full refresh
    const m = createMutation({ permissions: ['object:Contract:read'], durationDays: 7 });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    expect(find((await list('?status=temporary')).findings, 'beyond-baseline', 'p-ava')).toMatchObject({
      status: 'temporary',
      bundleIds: ['ps-contract-manager'],
    });
    expect(h.findings.stats.clockMoves).toBeGreaterThan(0);
    expect(h.findings.stats.advances).toBe(advances);
    expect(h.findings.stats.builds).toBe(builds);
  });

  it('a policy change remediates what the new baseline covers', async () => {
    const beyond = find((await list()).findings, 'beyond-baseline', 'p-ben')!;
    const current = policyResponse.parse(await (await h.get(cara, '/api/policy')).json());
    const document = structuredClone(current.document);
    document.baselines.find((b) => b.id === 'bl-sales-manager')!.bundleIds.push('ps-sales-ops');
    const put = await h.changePolicy({ baseVersion: current.version, document, note: 'Sales managers run Sales Ops' });
    expect(put.status).toBe(200);
    expect((await list()).findings.map((f) => f.id)).not.toContain(beyond.id);
    expect((await list('?status=remediated')).findings.map((f) => f.id)).toEqual([beyond.id]);
  });
});

describe('several server processes on one database', () => {
  it("another process's engine catches up with writes it did not make", async () => {
    const findings2 = new FindingsService(h.db);
    const app2 = h.newApp(findings2);
    expect((await list('', cara, app2)).findings).toHaveLength(14);
    expect(findings2.stats.builds).toBe(1);

    // Through the first app: Ava's Contract read approved and granted (a new finding, persisted by that process).
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ permissions: ['object:Contract:read'] });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);

    // The second process's engine learns of the grant incrementally: its preview knows Ava holds it.
    const preview = await app2.request('/api/requests/preview', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ava}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ connectionId: 'sf-acme', permissions: ['object:Contract:read'] }),
    });
    expect(((await preview.json()) as { keys: { alreadyHeld: boolean }[] }).keys[0]!.alreadyHeld).toBe(true);

    // A directory change by some other writer (here: plain SQL, versioned like every synced row).
    await h.db.transaction(async (tx) => {
      const v = Number((await tx.execute('UPDATE meta SET version = version + 1 RETURNING version')).rows[0]!.version);
      await tx.execute({ sql: "UPDATE crm_accounts SET active = 0, version = ? WHERE id = 'acct-jon'", args: [v] });
    });
    const seen2 = (await list('', cara, app2)).findings;
    expect(find(seen2, 'inactive-person', 'p-jon')).toBeUndefined();
    expect(find((await list('?status=temporary', cara, app2)).findings, 'beyond-baseline', 'p-ava')).toBeDefined();
    expect(findings2.stats.builds).toBe(1); // caught up incrementally, no rebuild
    expect((await list('?status=remediated', cara, app2)).findings.map((f) => f.personId)).toEqual(['p-jon']);

    // A policy change made through the first app: the second rebuilds on its next read.
    const current = policyResponse.parse(await (await h.get(cara, '/api/policy')).json());
    const document = structuredClone(current.document);
    document.adminFunctions.push({ department: 'Sales', title: 'VP Sales' });
    expect((await h.changePolicy({ baseVersion: current.version, document })).status).toBe(200);
    const seen3 = (await list('', cara, app2)).findings;
    expect(findings2.stats.builds).toBe(2);
    expect(find(seen3, 'high-risk', 'p-dan')).toBeUndefined();
    // Both processes agree on the table.
    expect((await list()).findings.map((f) => f.id)).toEqual(seen3.map((f) => f.id));
  });
});
