import { adminPeopleResponse, adminPersonResponse, type AdminPersonDetail } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit.ts';
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

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; field?: string; message: string } }).error;

async function person(id: string): Promise<AdminPersonDetail> {
  const res = await h.get(cara, `/api/admin/people/${id}`);
  expect(res.status).toBe(200);
  return adminPersonResponse.parse(await res.json()).person;
}

async function events() {
  const r = await h.db.execute('SELECT person_id, kind, before, after, source, actor_id, processed_at FROM directory_events ORDER BY id');
  return r.rows.map((e) => ({
    personId: String(e.person_id),
    kind: String(e.kind),
    before: JSON.parse(String(e.before)) as Record<string, unknown>,
    after: JSON.parse(String(e.after)) as Record<string, unknown>,
    source: String(e.source),
    actorId: e.actor_id === null ? null : String(e.actor_id),
    processedAt: e.processed_at,
  }));
}

describe('GET /api/admin/people', () => {
  it('lists people in the contract shape, in email order', async () => {
    const res = await h.get(cara, '/api/admin/people');
    expect(res.status).toBe(200);
    const body = adminPeopleResponse.parse(await res.json());
    expect(body.total).toBe(11);
    expect(body.nextCursor).toBeNull();
    expect(body.people.map((p) => p.email)).toEqual([...body.people.map((p) => p.email)].sort());
    const ava = body.people.find((p) => p.email === 'ava@acme.test')!;
    expect(Object.keys(ava).sort()).toEqual(['department', 'email', 'hireDate', 'id', 'managerId', 'name', 'status', 'title', 'trainings']);
    expect(ava).toEqual({
      id: 'p-ava',
      email: 'ava@acme.test',
      name: 'Ava Chen',
      department: 'Sales',
      title: 'Account Executive',
      managerId: 'p-ben',
      hireDate: '2024-09-02',
      status: 'active',
      trainings: ['security-awareness-2025'],
    });
  });

  it('searches, filters and pages with a cursor', async () => {
    const get = async (query: string) => adminPeopleResponse.parse(await (await h.get(cara, `/api/admin/people?${query}`)).json());
    expect((await get('q=account%20exec')).people.map((p) => p.id)).toEqual(['p-ava', 'p-eli', 'p-jon']);
    expect((await get('status=departed')).people.map((p) => p.id)).toEqual(['p-jon']);
    expect((await get('department=Finance')).people.map((p) => p.id)).toEqual(['p-fay', 'p-gil']);
    expect((await get('managerId=p-ben')).people.map((p) => p.id)).toEqual(['p-ava', 'p-eli', 'p-jon']);
    expect((await get('role=admin')).people.map((p) => p.id)).toEqual(['p-cara']);
    // LIKE wildcards in the search are literal.
    expect((await get('q=%25')).total).toBe(0);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { people: { id: string }[]; nextCursor: string | null; total: number } = await get(
        `limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.total).toBe(11);
      seen.push(...page.people.map((p) => p.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(11);
    expect(new Set(seen).size).toBe(11);
  });

  it('400 naming the field for a bad filter, limit or cursor', async () => {
    expect(await errorOf(await h.get(cara, '/api/admin/people?status=gone'))).toMatchObject({ code: 'invalid_input', field: 'status' });
    expect(await errorOf(await h.get(cara, '/api/admin/people?limit=501'))).toMatchObject({ field: 'limit' });
    expect(await errorOf(await h.get(cara, '/api/admin/people?cursor=nonsense'))).toMatchObject({ field: 'cursor' });
  });
});

describe('GET /api/admin/people/:id', () => {
  it('one person in full: roles, manager, trainings with their dates', async () => {
    const ava = await person('p-ava');
    expect(ava).toMatchObject({
      roles: ['requester'],
      manager: { id: 'p-ben', name: 'Ben Ortiz' },
      trainingCompletions: [{ trainingId: 'security-awareness-2025', completedOn: '2024-10-02' }],
      scimUserName: null,
      externalId: null,
    });
    expect((await h.get(cara, '/api/admin/people/p-nobody')).status).toBe(404);
  });
});

describe('POST /api/admin/people', () => {
  it('adds a person, audited, with defaults; the email is stored in lower case', async () => {
    const res = await h.post(cara, '/api/admin/people', {
      email: 'Li.Wei@Acme.test',
      name: '李伟',
      department: 'Sales',
      title: 'Account Executive',
      managerId: 'p-ben',
      hireDate: '2026-03-01',
      trainings: ['security-awareness-2025'],
    });
    expect(res.status).toBe(201);
    const { person: li } = adminPersonResponse.parse(await res.json());
    expect(li).toMatchObject({ email: 'li.wei@acme.test', name: '李伟', status: 'active', roles: ['requester'], managerId: 'p-ben' });
    expect(li.trainingCompletions).toEqual([{ trainingId: 'security-awareness-2025', completedOn: '2026-03-02' }]);
    const audit = await h.db.execute("SELECT actor_id, subject_id, data FROM audit_events WHERE action = 'person.created'");
    expect(audit.rows.map((r) => [r.actor_id, r.subject_id])).toEqual([['p-cara', li.id]]);
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ via: 'api', email: 'li.wei@acme.test', managerId: 'p-ben' });
    expect(await verifyAuditChain(h.db)).toMatchObject({ ok: true });
  });

  it('409 for an email already in the directory; 400 naming the field for bad input and unknown managers', async () => {
    const base = { email: 'new@acme.test', name: 'New' };
    const dup = await h.post(cara, '/api/admin/people', { ...base, email: 'AVA@acme.test' });
    expect(dup.status).toBe(409);
    expect(await errorOf(dup)).toMatchObject({ code: 'conflict', field: 'email', reason: 'email_taken' });
    for (const [body, field] of [
      [{ ...base, email: 'not-an-email' }, 'email'],
      [{ ...base, name: '  ' }, 'name'],
      [{ ...base, name: 'Eve\u202Eevil' }, 'name'],
      [{ ...base, hireDate: '2026-02-30' }, 'hireDate'],
      [{ ...base, status: 'gone' }, 'status'],
      [{ ...base, trainings: ['a;b'] }, 'trainings.0'],
      [{ ...base, roles: ['owner'] }, 'roles.0'],
      [{ ...base, managerId: 'p-nobody' }, 'managerId'],
    ] as const) {
      const res = await h.post(cara, '/api/admin/people', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(res)).field).toBe(field);
    }
    expect((await h.db.execute("SELECT COUNT(*) AS n FROM people WHERE email = 'new@acme.test'")).rows[0]!.n).toBe(0);
  });
});

describe('PATCH /api/admin/people/:id', () => {
  it('a new manager resets the slices of the person and of both managers, and records a move', async () => {
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const dan = await h.signIn('dan@acme.test');
    const [a0, b0, d0, e0] = [await h.pull(ava), await h.pull(ben), await h.pull(dan), await h.pull(await h.signIn('eli@acme.test'))];
    h.clock.advance(1000);
    const res = await h.patch(cara, '/api/admin/people/p-ava', { managerId: 'p-dan' });
    expect(res.status).toBe(200);
    expect(adminPersonResponse.parse(await res.json()).person.manager?.id).toBe('p-dan');
    const a1 = await h.pull(ava, a0.cursor);
    expect(a1.reset).toBe(true);
    expect(a1.me?.managerId).toBe('p-dan');
    expect(a1.people.map((p) => p.id)).toContain('p-dan');
    expect((await h.pull(ben, b0.cursor)).reset).toBe(true);
    expect((await h.pull(dan, d0.cursor)).reset).toBe(true);
    // Someone the change does not concern keeps their cursor.
    expect((await h.pull(await h.signIn('eli@acme.test'), e0.cursor)).reset).toBe(false);
    expect(await events()).toEqual([
      {
        personId: 'p-ava',
        kind: 'moved',
        before: { status: 'active', department: 'Sales', title: 'Account Executive', managerId: 'p-ben' },
        after: { status: 'active', department: 'Sales', title: 'Account Executive', managerId: 'p-dan' },
        source: 'api',
        actorId: 'p-cara',
        processedAt: null,
      },
    ]);
    const audit = await h.db.execute("SELECT data FROM audit_events WHERE action = 'person.updated'");
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ via: 'api', changes: { managerId: { from: 'p-ben', to: 'p-dan' } } });
  });

  it('a departure signs the person out, records the event and reaches the findings engine', async () => {
    const ava = await h.signIn('ava@acme.test');
    const before = await h.get(cara, '/api/findings?personId=p-ava');
    expect(((await before.json()) as { findings: { kind: string }[] }).findings.map((f) => f.kind)).not.toContain('inactive-person');
    const res = await h.patch(cara, '/api/admin/people/p-ava', { status: 'departed' });
    expect(res.status).toBe(200);
    expect((await h.get(ava, '/api/me')).status).toBe(401);
    expect((await events()).map((e) => [e.kind, e.before.status, e.after.status])).toEqual([['departed', 'active', 'departed']]);
    // The engine learnt it in the same transaction: each of Ava's still-active CRM accounts is a finding.
    const row = await h.db.execute("SELECT kind, severity FROM findings WHERE person_id = 'p-ava' AND kind = 'inactive-person' AND status = 'open'");
    const accounts = await h.db.execute("SELECT COUNT(*) AS n FROM crm_accounts WHERE person_id = 'p-ava' AND active = 1");
    expect(row.rows.length).toBe(Number(accounts.rows[0]!.n));
    expect(row.rows.map((r) => [r.kind, r.severity])).toEqual(row.rows.map(() => ['inactive-person', 'critical']));
  });

  it('suspending is a deactivation; a title change alone is a move; unchanged fields write nothing', async () => {
    const version = async () => Number((await h.db.execute('SELECT version FROM meta')).rows[0]!.version);
    const v0 = await version();
    expect((await h.patch(cara, '/api/admin/people/p-eli', { title: 'Account Executive' })).status).toBe(200);
    expect(await version()).toBe(v0);
    expect((await h.patch(cara, '/api/admin/people/p-eli', { title: 'Senior Account Executive' })).status).toBe(200);
    expect((await h.patch(cara, '/api/admin/people/p-hal', { status: 'suspended' })).status).toBe(200);
    expect((await events()).map((e) => [e.personId, e.kind])).toEqual([
      ['p-eli', 'moved'],
      ['p-hal', 'deactivated'],
    ]);
  });

  it('refuses manager cycles and changes of one’s own roles or status', async () => {
    const cycle = await h.patch(cara, '/api/admin/people/p-dan', { managerId: 'p-ava' });
    expect(cycle.status).toBe(400);
    expect(await errorOf(cycle)).toEqual({
      code: 'invalid_input',
      field: 'managerId',
      message: 'This would make a manager cycle: dan@acme.test → ava@acme.test → ben@acme.test → dan@acme.test.',
      reason: 'manager_cycle',
      params: { cycle: 'dan@acme.test → ava@acme.test → ben@acme.test → dan@acme.test' },
    });
    expect(await errorOf(await h.patch(cara, '/api/admin/people/p-dan', { managerId: 'p-dan' }))).toMatchObject({ field: 'managerId' });
    const ownRoles = await h.patch(cara, '/api/admin/people/p-cara', { roles: ['requester', 'admin', 'auditor'] });
    expect(ownRoles.status).toBe(403);
    expect(await errorOf(ownRoles)).toMatchObject({ code: 'forbidden', reason: 'own_roles' });
    const ownStatus = await h.patch(cara, '/api/admin/people/p-cara', { status: 'suspended' });
    expect(ownStatus.status).toBe(403);
    expect(await errorOf(ownStatus)).toMatchObject({ code: 'forbidden', reason: 'own_status' });
    // Another administrator may: Kai, made one by Cara, takes Cara's role away; Cara's session then cannot administer.
    expect((await h.patch(cara, '/api/admin/people/p-kai', { roles: ['approver', 'admin'] })).status).toBe(200);
    expect((await person('p-kai')).roles).toEqual(['requester', 'approver', 'admin']);
    const kai = await h.signIn('kai@acme.test');
    expect((await h.patch(kai, '/api/admin/people/p-cara', { roles: ['requester'] })).status).toBe(200);
    expect((await h.get(cara, '/api/admin/people')).status).toBe(403);
    expect(await events()).toEqual([]);
  });

  it('404 for nobody; 409 for an email that is taken; 400 for unknown fields', async () => {
    expect((await h.patch(cara, '/api/admin/people/p-nobody', { title: 'x' })).status).toBe(404);
    const taken = await h.patch(cara, '/api/admin/people/p-eli', { email: 'ava@acme.test' });
    expect(taken.status).toBe(409);
    expect((await errorOf(taken)).field).toBe('email');
    expect((await errorOf(await h.patch(cara, '/api/admin/people/p-eli', { password: 'x' }))).code).toBe('invalid_input');
  });
});
