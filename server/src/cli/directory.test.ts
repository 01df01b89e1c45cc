import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { verifyAuditChain } from '../audit.ts';
import { openDatabase, type Db } from '../db.ts';
import { migrate } from '../migrate.ts';
import { startServer } from '../server.ts';
import { runCli } from './run.ts';
import { disposeTestIos, testIo } from './testing.ts';

const opened: Db[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  disposeTestIos();
});

const HEADER = 'email,name,department,title,manager_email,hire_date,status,trainings';
const PASSWORD = 'correct horse battery staple';

async function dbOf(t: ReturnType<typeof testIo>) {
  const db = await openDatabase(t.io.env.DATABASE_URL!);
  opened.push(db);
  await migrate(db);
  return db;
}

async function adminCreate(t: ReturnType<typeof testIo>, password: string, args = ['--email', 'Root@Example.com', '--name', '周杰']) {
  t.stdin.end(password);
  return runCli(['admin', 'create', ...args, '--password-stdin'], t.io);
}

describe('pnpm accesslens admin create', () => {
  it('creates an administrator from a password on stdin, who can then sign in', async () => {
    const t = testIo();
    expect(await adminCreate(t, `${PASSWORD}\n`)).toBe(0);
    expect(t.out[0]).toMatch(/^ok: created administrator 周杰 <root@example\.com> \(id p-[0-9a-z]{25}\)$/);
    const db = await dbOf(t);
    const row = (await db.execute("SELECT roles, status, password_hash FROM people WHERE email = 'root@example.com'")).rows[0]!;
    expect(JSON.parse(String(row.roles))).toEqual(['requester', 'admin']);
    expect(String(row.password_hash)).toMatch(/^\$argon2id\$/);
    const app = createApp({ db, now: () => new Date('2026-11-30T12:00:00Z') });
    const res = await app.request('/api/auth/sign-in', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'root@example.com', password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect((await app.request('/api/admin/people', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    const audit = await db.execute('SELECT action FROM audit_events ORDER BY seq');
    expect(audit.rows.map((r) => r.action)).toEqual(['person.created', 'auth.password_set', 'auth.signed_in']);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true });
  });

  it.each([
    ['', 'the password is empty'],
    ['\n', 'the password is empty'],
    ['short-1', 'too short: use at least 12 characters (it has 7)'],
    ['aaaaaaaaaaaaaaaa', 'too repetitive'],
    ['Password1234', 'commonly used'],
    ['root-example-2026', 'must not contain the email'],
  ])('refuses the password %j with a clear message and creates nothing', async (password, message) => {
    const t = testIo();
    expect(await adminCreate(t, password)).toBe(1);
    expect(t.err.join('\n')).toContain(message);
    expect(t.err.join('\n')).toContain('Nothing was created.');
    expect((await (await dbOf(t)).execute('SELECT COUNT(*) AS n FROM people')).rows[0]!.n).toBe(0);
  });

  it('refuses an email already in the directory, a bad email, and a missing --password-stdin', async () => {
    const t = testIo();
    expect(await adminCreate(t, PASSWORD)).toBe(0);
    const again = testIo({ DATABASE_URL: t.io.env.DATABASE_URL });
    expect(await adminCreate(again, PASSWORD, ['--email', 'root@example.com', '--name', 'Other'])).toBe(1);
    expect(again.err.join('\n')).toMatch(
      /^refused: root@example\.com is already in the directory \(id p-.+, active, roles requester, admin\)\. Nothing was changed\./,
    );
    const bad = testIo();
    expect(await adminCreate(bad, PASSWORD, ['--email', 'not-an-email', '--name', 'X'])).toBe(1);
    expect(bad.err[0]).toBe('--email: must be an email address (got "not-an-email")');
    const noStdin = testIo();
    expect(await runCli(['admin', 'create', '--email', 'a@b.test', '--name', 'A'], noStdin.io)).toBe(64);
    expect(noStdin.err.join('\n')).toContain('--password-stdin is required');
    expect(noStdin.err.join('\n')).toContain('Usage: pnpm accesslens admin create --email EMAIL --name NAME --password-stdin');
  });
});

describe('pnpm accesslens import people', () => {
  it('imports a file and prints a summary; a dry run applies nothing', async () => {
    const t = testIo();
    const file = join(t.dir, 'people.csv');
    writeFileSync(
      file,
      `\uFEFF${HEADER}\r\nboss@acme.test,王芳,Sales,VP,,2020-01-01,active,\r\nrep@acme.test,李伟,Sales,Rep,boss@acme.test,2024-05-06,,security-awareness-2025\r\n`,
    );
    const dry = testIo({ DATABASE_URL: t.io.env.DATABASE_URL });
    expect(await runCli(['import', 'people', file, '--dry-run'], dry.io)).toBe(0);
    expect(dry.out[0]).toMatch(/^dry run \(nothing applied\): 2 rows — 2 created, 0 updated, 0 unchanged \(\d+\.\d s\)$/);
    expect(await runCli(['import', 'people', file], t.io)).toBe(0);
    expect(t.out[0]).toMatch(/^ok: 2 rows — 2 created, 0 updated, 0 unchanged/);
    expect(t.out[1]).toBe('directory events: 0 departed, 0 deactivated, 0 moved');
    const db = await dbOf(t);
    const rows = await db.execute(
      "SELECT name, manager_id, (SELECT id FROM people WHERE email = 'boss@acme.test') AS boss FROM people WHERE email = 'rep@acme.test'",
    );
    expect(rows.rows[0]).toMatchObject({ name: '李伟' });
    expect(rows.rows[0]!.manager_id).toBe(rows.rows[0]!.boss);
  });

  it('prints every problem with its line and field, exits 1 and applies nothing', async () => {
    const t = testIo();
    const file = join(t.dir, 'bad.csv');
    const lines = [HEADER];
    for (let i = 0; i < 1500; i++) lines.push(`p${i}@acme.test,P ${i},,,,2026-02-2${8 + (i % 2)},,`);
    lines.push('boss@acme.test,Boss,,,nobody@acme.test,,,');
    writeFileSync(file, lines.join('\n'));
    expect(await runCli(['import', 'people', file], t.io)).toBe(1);
    // Every problem, beyond the API's first 1,000.
    expect(t.err).toHaveLength(752);
    expect(t.err[0]).toBe('line 3, hire_date: must be a date written YYYY-MM-DD (got "2026-02-29")');
    expect(t.err[750]).toBe('line 1502, manager_email: no person has the email nobody@acme.test, in the file or the directory');
    expect(t.err[751]).toBe('refused: 751 problems in ' + file + '; nothing was applied.');
    expect((await (await dbOf(t)).execute('SELECT COUNT(*) AS n FROM people')).rows[0]!.n).toBe(0);
  });

  it('a missing file is an error, a missing argument a usage error', async () => {
    const t = testIo();
    expect(await runCli(['import', 'people', join(t.dir, 'nope.csv')], t.io)).toBe(1);
    expect(t.err[0]).toMatch(/^cannot read .*nope\.csv: ENOENT$/);
    expect(await runCli(['import', 'people'], t.io)).toBe(64);
  });
});

describe('pnpm accesslens scim token', () => {
  it('creates a token printed once, lists tokens without secrets, revokes', async () => {
    const t = testIo();
    expect(await runCli(['scim', 'token', 'create', '--name', 'okta'], t.io)).toBe(0);
    const token = t.out[0]!;
    expect(token).toMatch(/^alscim\.[a-z2-7]{16}\.[a-z2-7]{52}$/);
    expect(t.err.join('\n')).toContain('shown this once');
    const id = token.split('.')[1]!;
    const list = testIo({ DATABASE_URL: t.io.env.DATABASE_URL });
    expect(await runCli(['scim', 'token', 'list'], list.io)).toBe(0);
    expect(list.out).toEqual([expect.stringMatching(new RegExp(`^${id}  okta  created .+  last used never$`))]);
    expect(list.out.join('')).not.toContain(token.split('.')[2]);
    expect(await runCli(['scim', 'token', 'revoke', id], list.io)).toBe(0);
    expect(await runCli(['scim', 'token', 'revoke', id], list.io)).toBe(1);
    expect(list.err.at(-1)).toBe('refused: This SCIM token is already revoked.');
    expect(await runCli(['scim', 'token', 'create'], list.io)).toBe(64);
  });
});

describe('first run without the demo, as real processes', () => {
  it('ACCESSLENS_SEED=none: the CLI creates the first admin, who signs in to the real server', async () => {
    const t = testIo();
    const bin = fileURLToPath(new URL('../../bin/accesslens.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, 'admin', 'create', '--email', 'first@company.test', '--name', 'First Admin', '--password-stdin'], {
      env: { ...process.env, DATABASE_URL: t.io.env.DATABASE_URL, ACCESSLENS_SEED: 'none' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.end(`${PASSWORD}\n`);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('ok: created administrator First Admin <first@company.test>');

    const server = await startServer({ port: 0, hostname: '127.0.0.1', databaseUrl: t.io.env.DATABASE_URL!, seed: 'none' });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const res = await fetch(`${base}/api/auth/sign-in`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'first@company.test', password: PASSWORD }),
      });
      expect(res.status).toBe(200);
      const { token, person } = (await res.json()) as { token: string; person: { roles: string[] } };
      expect(person.roles).toEqual(['requester', 'admin']);
      const people = await fetch(`${base}/api/admin/people`, { headers: { Authorization: `Bearer ${token}` } });
      expect(((await people.json()) as { total: number }).total).toBe(1);
      // No demo organisation appeared.
      expect((await server.db.execute("SELECT COUNT(*) AS n FROM people WHERE email LIKE '%@acme.test'")).rows[0]!.n).toBe(0);
    } finally {
      await server.close();
    }
  }, 60_000);
});
