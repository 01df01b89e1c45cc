/**
 * Findings as the console and the CRM user pages' flags use them: by CRM user id (watched accounts,
 * then kept current in the admin's sync slice, never in a requester's), search, sorts, paging, the
 * summary and trend, and the CSV export.
 */
import { FINDINGS_CSV_HEADER, findingsByAccountsResponse, findingsResponse, findingsSummaryResponse, syncResponse, type FindingView } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleWorker } from '../console/worker.ts';
import { FindingsService } from '../findings/service.ts';
import { salesforceUserId } from '../seed/demo.ts';
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

// Demo people in seed order: Dan 1, Ben 2, Ava 3, Eli 4, Kai 5, Cara 6, Gil 7, Fay 8, Ivy 9, Hal 10, Jon 11.
const USER = {
  dan: salesforceUserId(1),
  ben: salesforceUserId(2),
  ava: salesforceUserId(3),
  eli: salesforceUserId(4),
  ivy: salesforceUserId(9),
  jon: salesforceUserId(11),
};

async function byAccounts(ids: string[], token = cara) {
  const res = await h.post(token, '/api/findings/by-accounts', { connectionId: 'sf-acme', externalUserIds: ids });
  expect(res.status).toBe(200);
  return findingsByAccountsResponse.parse(await res.json());
}

async function list(query = ''): Promise<{ findings: FindingView[]; nextCursor: string | null; total: number }> {
  const res = await h.get(cara, `/api/findings${query}`);
  expect(res.status).toBe(200);
  return findingsResponse.parse(await res.json());
}

describe('POST /api/findings/by-accounts', () => {
  it("answers with the findings of the accounts on screen, by the CRM's user ids; unknown ids are left out", async () => {
    const body = await byAccounts([USER.ben, USER.ivy, USER.ava, '005Hs00000NOBODYAAA']);
    expect(body.accounts.map((a) => [a.externalUserId, a.personName])).toEqual(
      [
        [USER.ben, 'Ben Ortiz'],
        [USER.ava, 'Ava Chen'],
        [USER.ivy, 'Ivy Lund'],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    const summary = body.findings
      .map((f) => `${f.externalUserId === USER.ben ? 'ben' : f.externalUserId === USER.ivy ? 'ivy' : 'ava'} ${f.kind} ${f.severity}`)
      .sort();
    expect(summary).toEqual(['ben beyond-baseline high', 'ben high-risk high', 'ben high-risk high', 'ben unused medium', 'ivy dormant medium']);
    expect(body.findings.every((f) => f.status === 'open' && f.connectionId === 'sf-acme')).toBe(true);
  });

  it('validates the body and is for administrators only', async () => {
    const bad = await h.post(cara, '/api/findings/by-accounts', { connectionId: 'sf-acme', externalUserIds: [] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('externalUserIds');
    const many = await h.post(cara, '/api/findings/by-accounts', { connectionId: 'sf-acme', externalUserIds: Array.from({ length: 501 }, (_, i) => `u${i}`) });
    expect(many.status).toBe(400);
    expect((await h.post(cara, '/api/findings/by-accounts', { connectionId: 'sf-nowhere', externalUserIds: ['x'] })).status).toBe(404);
    const ben = await h.signIn('ben@acme.test');
    expect((await h.post(ben, '/api/findings/by-accounts', { connectionId: 'sf-acme', externalUserIds: [USER.ava] })).status).toBe(403);
  });
});

describe("findings in admins' sync slices", () => {
  it('carries the findings of watched accounts, incrementally; never every finding; never to a requester', async () => {
    const first = syncResponse.parse(await h.pull(cara));
    expect(first.findings).toEqual([]); // nothing watched yet: no finding is pushed
    await byAccounts([USER.ivy, USER.ava]);
    // A snapshot now carries the watched accounts' findings.
    const snapshot = syncResponse.parse(await h.pull(cara));
    expect(snapshot.findings.map((f) => f.kind)).toEqual(['dormant']);
    const unchanged = syncResponse.parse(await h.pull(cara, snapshot.cursor));
    expect(unchanged.findings).toEqual([]);

    // Ava gets Contract read for 7 days: her new finding reaches Cara's next pull as temporary.
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation({ permissions: ['object:Contract:read'], durationDays: 7 });
    await h.mutate(ava, [m]);
    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    expect((await h.completeTask(m.args.requestId)).status).toBe(200);
    const delta = syncResponse.parse(await h.pull(cara, snapshot.cursor));
    expect(delta.reset).toBe(false);
    expect(delta.findings).toEqual([
      expect.objectContaining({
        kind: 'beyond-baseline',
        externalUserId: USER.ava,
        status: 'temporary',
        temporary: expect.objectContaining({ requestId: m.args.requestId, approvedBy: ['p-ben'], automatic: false }),
      }),
    ]);
    // Eli is not watched: his change never reaches Cara's slice.
    expect(delta.findings.some((f) => f.externalUserId === USER.eli)).toBe(false);

    // Accepting Ivy's dormancy: the change comes as an update of the same finding.
    const dormant = snapshot.findings[0]!;
    await h.post(cara, `/api/findings/${dormant.id}/accept`, { reason: 'On leave', expiresAt: new Date(h.clock.now().getTime() + 30 * DAY_MS).toISOString() });
    const after = syncResponse.parse(await h.pull(cara, delta.cursor));
    expect(after.findings).toEqual([
      expect.objectContaining({ id: dormant.id, status: 'accepted', acceptance: expect.objectContaining({ reason: 'On leave' }) }),
    ]);

    // The grant ends: the temporary finding comes once more as remediated, the expired grant as open.
    h.clock.advance(7 * DAY_MS + 60_000);
    await h.pull(ava); // sweeps expired grants
    const ended = syncResponse.parse(await h.pull(cara, after.cursor));
    const kinds = ended.findings
      .filter((f) => f.externalUserId === USER.ava)
      .map((f) => `${f.kind} ${f.status}`)
      .sort();
    expect(kinds).toEqual(['beyond-baseline remediated', 'expired-grant open']);

    // Requesters and approvers never get findings, however much changes.
    for (const token of [ava, ben]) {
      const s = syncResponse.parse(await h.pull(token));
      expect(s.findings).toEqual([]);
    }
  });

  it('a reset snapshot leaves out remediated findings', async () => {
    await byAccounts([USER.jon]);
    await h.db.transaction(async (tx) => {
      const v = Number((await tx.execute('UPDATE meta SET version = version + 1 RETURNING version')).rows[0]!.version);
      await tx.execute({ sql: "UPDATE crm_accounts SET active = 0, version = ? WHERE id = 'acct-jon'", args: [v] });
    });
    await list(); // the findings engine catches up
    expect(syncResponse.parse(await h.pull(cara)).findings).toEqual([]);
  });
});

describe('GET /api/findings for the console', () => {
  it('searches names, usernames, departments and permissions; counts the matches', async () => {
    const all = await list();
    expect(all.total).toBe(14);
    expect((await list('?q=ortiz')).findings.every((f) => f.personName === 'Ben Ortiz')).toBe(true);
    expect((await list('?q=ortiz')).total).toBe(4);
    expect((await list('?q=ExportReport')).findings.map((f) => f.personId).sort()).toEqual(['p-ben', 'p-dan', 'p-gil']);
    expect((await list('?q=%25')).total).toBe(0); // a LIKE wildcard is text here
    expect((await list('?q=support')).findings.map((f) => f.kind)).toEqual(['dormant']);
  });

  it('sorts by person, department, kind and newest, and pages through without skipping or repeating', async () => {
    for (const sort of ['severity', 'person', 'department', 'kind', 'newest'] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { findings: FindingView[]; nextCursor: string | null } = await list(
          `?sort=${sort}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        seen.push(...page.findings.map((f) => f.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(new Set(seen).size, sort).toBe(14);
      const whole = (await list(`?sort=${sort}&limit=500`)).findings.map((f) => f.id);
      expect(seen, sort).toEqual(whole);
    }
    const byPerson = (await list('?sort=person')).findings.map((f) => f.personName);
    expect(byPerson).toEqual([...byPerson].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const severityCursor = (await list('?limit=2')).nextCursor!;
    const wrong = await h.get(cara, `/api/findings?sort=person&cursor=${severityCursor}`);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { field: string } }).error.field).toBe('cursor');
  });

  it('summary: open findings by severity, department and kind; the daily counts make the trend', async () => {
    const s = findingsSummaryResponse.parse(await (await h.get(cara, '/api/findings/summary?days=7')).json());
    expect(s.total).toBe(14);
    expect(s.bySeverity).toEqual({ low: 0, medium: 2, high: 11, critical: 1 });
    expect(s.byDepartment.map((d) => [d.department, d.total])).toEqual([
      ['Sales', 8],
      ['IT', 4],
      ['Finance', 1],
      ['Support', 1],
    ]);
    expect(s.trend.map((t) => t.day)).toEqual([h.clock.now().toISOString().slice(0, 10)]);

    // The schedule records each day once (whichever process claims it); the trend shows recorded days.
    await h.consoleWorker.runDue();
    const day1 = h.clock.now().toISOString().slice(0, 10);
    expect(Number((await h.db.execute('SELECT SUM(open) AS n FROM findings_daily WHERE day = ?', [day1])).rows[0]!.n)).toBe(14);
    h.clock.advance(DAY_MS);
    // Two processes' workers at once: the day is claimed and recorded once.
    const other = new ConsoleWorker({ db: h.db, now: h.clock.now, findings: new FindingsService(h.db) });
    const [a, b] = await Promise.all([h.consoleWorker.runDue(), other.runDue()]);
    expect(a + b).toBe(1);
    const days = await h.db.execute("SELECT subject, state FROM console_schedule WHERE kind = 'findings.daily' ORDER BY subject");
    expect(days.rows.map((r) => String(r.state))).toEqual(['done', 'done']);
    const week = findingsSummaryResponse.parse(await (await h.get(cara, '/api/findings/summary?days=7&department=Sales')).json());
    expect(week.trend.map((t) => [t.day, t.total])).toEqual([
      [day1, 8],
      [h.clock.now().toISOString().slice(0, 10), week.total],
    ]);
  });

  it('exports every matching finding as CSV with the documented header', async () => {
    const res = await h.get(cara, '/api/findings/export?department=Sales');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = (await res.text()).replace(/^\uFEFF/, '');
    const lines = text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(FINDINGS_CSV_HEADER.join(','));
    expect(lines).toHaveLength(1 + 8);
    expect(lines[1]).toMatch(/^f_[^,]+,inactive-person,critical,open,Jon Park,Sales,Account Executive,Acme Salesforce,jon@acme.test.sf,/);
    const ava = await h.signIn('ava@acme.test');
    expect((await h.get(ava, '/api/findings/export')).status).toBe(403);
  });
});
