import { peopleImportApplied, peopleImportRefused } from '@accesslens/shared';
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

const HEADER = 'email,name,department,title,manager_email,hire_date,status,trainings';

function upload(csv: string | Uint8Array, query = '', token: string | null = cara) {
  return h.app.request(`/api/admin/people/import${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/csv; charset=utf-8', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: typeof csv === 'string' ? csv : new Uint8Array(csv),
  });
}

const count = async (sql: string) => Number((await h.db.execute(sql)).rows[0]!.n);
const version = async () => Number((await h.db.execute('SELECT version FROM meta')).rows[0]!.version);

describe('POST /api/admin/people/import', () => {
  it('applies a UTF-8 file with BOM, CRLF, quotes and Chinese names: creates, updates, resolves managers in file and directory', async () => {
    const csv =
      `\uFEFF${HEADER}\r\n` +
      // A new person whose manager comes later in the file.
      `li.wei@acme.test,李伟,销售部,客户经理,"wang.fang@acme.test",2026-01-05,active,security-awareness-2025;sox-controls\r\n` +
      // A new person managed by someone already in the directory; a name with a comma and quotes.
      `wang.fang@acme.test,"王芳 ""Fang"", PhD",Sales,Sales Manager,dan@acme.test,,,\r\n` +
      // Ava: an existing person, new title (a move); her trainings kept.
      `AVA@acme.test,Ava Chen,Sales,Senior Account Executive,ben@acme.test,2024-09-02,active,security-awareness-2025\r\n` +
      // Eli exactly as stored: nothing to write.
      `eli@acme.test,Eli Brooks,Sales,Account Executive,ben@acme.test,2023-01-09,active,security-awareness-2025\r\n`;
    const res = await upload(csv);
    expect(res.status).toBe(200);
    expect(peopleImportApplied.parse(await res.json())).toEqual({
      ok: true,
      dryRun: false,
      counts: { rows: 4, created: 2, updated: 1, unchanged: 1, departed: 0, deactivated: 0, moved: 1 },
    });
    const people = await h.db.execute(
      "SELECT id, email, name, department, manager_id, trainings FROM people WHERE email IN ('li.wei@acme.test', 'wang.fang@acme.test') ORDER BY email",
    );
    const [li, wang] = people.rows;
    expect(li).toMatchObject({ name: '李伟', department: '销售部', manager_id: wang!.id });
    expect(JSON.parse(String(li!.trainings))).toEqual(['security-awareness-2025', 'sox-controls']);
    expect(wang).toMatchObject({ name: '王芳 "Fang", PhD', manager_id: 'p-dan' });
    expect((await h.db.execute("SELECT title FROM people WHERE id = 'p-ava'")).rows[0]!.title).toBe('Senior Account Executive');
    const ev = await h.db.execute('SELECT person_id, kind, source, actor_id FROM directory_events');
    expect(ev.rows.map((r) => [r.person_id, r.kind, r.source, r.actor_id])).toEqual([['p-ava', 'moved', 'csv', 'p-cara']]);
    const audit = await h.db.execute(
      "SELECT action, data FROM audit_events WHERE action IN ('person.created', 'person.updated', 'people.imported') ORDER BY seq",
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['person.created', 'person.created', 'person.updated', 'people.imported']);
    expect(JSON.parse(String(audit.rows[3]!.data))).toMatchObject({ via: 'csv', rows: 4, created: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await verifyAuditChain(h.db)).toMatchObject({ ok: true });
    // Trainings first seen in the file exist now, with who completed them.
    expect(await count("SELECT COUNT(*) AS n FROM training_completions WHERE training_id = 'sox-controls'")).toBe(3);

    // The same file again changes nothing.
    const v = await version();
    const again = peopleImportApplied.parse(await (await upload(csv)).json());
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 4 });
    expect(await version()).toBe(v);
  });

  it('a dry run counts what would change and applies nothing', async () => {
    const v = await version();
    const audits = await count('SELECT COUNT(*) AS n FROM audit_events');
    const res = await upload(
      `${HEADER}\nnew@acme.test,New,IT,Engineer,kai@acme.test,,,\nhal@acme.test,Hal Sato,Support,Customer Support Agent,ivy@acme.test,2023-07-17,departed,\n`,
      '?dryRun=true',
    );
    expect(res.status).toBe(200);
    expect(peopleImportApplied.parse(await res.json())).toEqual({
      ok: true,
      dryRun: true,
      counts: { rows: 2, created: 1, updated: 1, unchanged: 0, departed: 1, deactivated: 0, moved: 0 },
    });
    expect(await version()).toBe(v);
    expect(await count('SELECT COUNT(*) AS n FROM audit_events')).toBe(audits);
    expect(await count("SELECT COUNT(*) AS n FROM people WHERE email = 'new@acme.test'")).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM directory_events')).toBe(0);
  });

  it('refuses a file with any problem as a whole, reporting each with its line and column', async () => {
    const csv = [
      HEADER,
      'ok@acme.test,Fine,,,,,,',
      'bad-email,Name,,,,,,',
      'x@acme.test,X,,,,2026-13-01,retired,',
      'y@acme.test,Y,,,nobody@acme.test,,,',
      'ok@acme.test,Duplicate,,,,,,',
      'a@acme.test,A,,,b@acme.test,,,',
      'b@acme.test,B,,,a@acme.test,,,',
      '"unclosed@acme.test,Q,,,,,,',
    ].join('\r\n');
    const people = await count('SELECT COUNT(*) AS n FROM people');
    const res = await upload(csv);
    expect(res.status).toBe(400);
    const body = peopleImportRefused.parse(await res.json());
    expect(body.error).toMatchObject({ code: 'invalid_csv', field: 'email', message: expect.stringMatching(/^line 3, email: /) });
    expect(body.problems.map((p) => [p.line, p.field])).toEqual([
      [3, 'email'],
      [4, 'hire_date'],
      [4, 'status'],
      [5, 'manager_email'],
      [6, 'email'],
      [7, 'manager_email'],
      [8, 'manager_email'],
      [9, '(line)'],
    ]);
    expect(body.problems[3]!.message).toBe('no person has the email nobody@acme.test, in the file or the directory');
    expect(body.problems[5]!.message).toBe('makes a manager cycle: a@acme.test → b@acme.test → a@acme.test');
    expect(body.problemCount).toBe(8);
    expect(await count('SELECT COUNT(*) AS n FROM people')).toBe(people);
  });

  it('finds a manager cycle through the directory, and the last administrator leaving', async () => {
    // Ava → Ben → Dan in the directory: Dan reporting to Ava closes the loop.
    const res = await upload(
      `${HEADER}\ndan@acme.test,Dan Wu,Sales,VP Sales,ava@acme.test,2019-03-04,active,\ncara@acme.test,Cara Diaz,IT,Salesforce Administrator,kai@acme.test,,departed,\n`,
    );
    expect(res.status).toBe(400);
    const body = peopleImportRefused.parse(await res.json());
    expect(body.problems).toEqual([
      { line: 2, field: 'manager_email', message: 'makes a manager cycle: dan@acme.test → ava@acme.test → ben@acme.test → dan@acme.test' },
      { line: 3, field: 'status', message: 'would leave AccessLens without an active administrator' },
    ]);
  });

  it('departures in a file sign people out, record events and reach the findings engine', async () => {
    const jon = 'jon@acme.test,Jon Park,Sales,Account Executive,ben@acme.test,2021-05-10,departed,security-awareness-2024';
    const res = await upload(`${HEADER}\n${jon}\nhal@acme.test,Hal Sato,Support,Customer Support Agent,ivy@acme.test,2023-07-17,suspended,\n`);
    expect(res.status).toBe(200);
    expect(peopleImportApplied.parse(await res.json()).counts).toMatchObject({ updated: 1, unchanged: 1, deactivated: 1 });
    const hal = await h.db.execute("SELECT kind FROM findings WHERE person_id = 'p-hal' AND kind = 'inactive-person' AND status = 'open'");
    expect(hal.rows).toHaveLength(1);
  });

  it('takes files over the 1 MB limit of other routes', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 20_000; i++) lines.push(`person${i}@big.test,Person ${i},Department ${i % 50},Title ${i % 20},,2020-01-01,active,`);
    const csv = lines.join('\n');
    expect(csv.length).toBeGreaterThan(1024 * 1024);
    const res = await upload(csv, '?dryRun=1');
    expect(res.status).toBe(200);
    expect(peopleImportApplied.parse(await res.json()).counts.created).toBe(20_000);
    const big = await h.post(cara, '/api/admin/people', { email: 'x@big.test', name: 'x'.repeat(1024 * 1024 + 10) });
    expect(big.status).toBe(413);
  });

  it('a bad dryRun value is a 400 naming it; an empty body is a missing header', async () => {
    const bad = await upload(`${HEADER}\n`, '?dryRun=maybe');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('dryRun');
    const empty = peopleImportRefused.parse(await (await upload('')).json());
    expect(empty.problems).toEqual([{ line: 1, field: '(header)', message: expect.stringContaining('header') }]);
  });
});
