/**
 * The connector commands, run in-process against a temporary database file and the fake Salesforce:
 * connection add (credentials from stdin or a file only), connection test, import crm (progress,
 * exit 0 only on success), secret rotate.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT, demoSalesforceOrg } from '../../../test/fakes/salesforce-demo.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../../../test/fakes/salesforce.ts';
import { openDatabase } from '../db.ts';
import { migrate } from '../migrate.ts';
import { seedDemoIfEmpty } from '../seed/demo.ts';
import { generateKey } from '../secrets.ts';
import { runCli } from './run.ts';
import { disposeTestIos, testIo } from './testing.ts';

let sf: FakeSalesforce;
const NOW = new Date('2026-11-30T12:00:00Z');

async function seeded(env: Record<string, string> = {}) {
  const t = testIo(env, () => NOW);
  const db = await openDatabase(t.io.env.DATABASE_URL!);
  await migrate(db);
  await seedDemoIfEmpty(db, NOW);
  db.close();
  return t;
}

async function add(t: Awaited<ReturnType<typeof seeded>>, credentials: unknown, extra: string[] = []) {
  t.stdin.end(JSON.stringify(credentials));
  return runCli(
    [
      'connection',
      'add',
      '--id',
      'sf-globex',
      '--kind',
      'salesforce',
      '--name',
      'Globex Salesforce',
      '--hosts',
      'globex.my.salesforce.com',
      '--mode',
      'provision',
      '--settings',
      JSON.stringify({ instanceUrl: sf.url }),
      '--credentials-stdin',
      ...extra,
    ],
    t.io,
  );
}

beforeEach(async () => {
  sf = await startFakeSalesforce({ org: demoSalesforceOrg(NOW), clients: [DEMO_CLIENT], now: () => NOW });
});

afterEach(async () => {
  await sf.close();
  disposeTestIos();
});

describe('connection add / test / list', () => {
  it('adds a connection with credentials from stdin, encrypted under a key file created with mode 0600', async () => {
    const t = await seeded();
    expect(await add(t, { flow: 'client_credentials', ...DEMO_CLIENT })).toBe(0);
    expect(t.out.join('\n')).toContain('created connection sf-globex: Globex Salesforce (salesforce, provision), credentials set');
    expect(t.out.join('\n') + t.err.join('\n')).not.toContain(DEMO_CLIENT.clientSecret);
    const keyFile = join(t.dir, 'cli.db.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    const tested = testIo(t.io.env, () => NOW);
    expect(await runCli(['connection', 'test', 'sf-globex'], tested.io)).toBe(0);
    expect(tested.out.join('\n')).toContain('signed in as accesslens@acme.test.sf (org 00DHs000000AcmeMAA)');
    expect(tested.out.join('\n')).toContain('can read: yes; can change access: yes');

    const listed = testIo(t.io.env, () => NOW);
    expect(await runCli(['connection', 'list'], listed.io)).toBe(0);
    expect(listed.out.join('\n')).toMatch(/sf-globex\tsalesforce\tGlobex Salesforce\tprovision\tcredentials set/);
  });

  it('reads credentials from a file; refuses them on the command line; names what is wrong', async () => {
    const t = await seeded();
    const file = join(t.dir, 'creds.json');
    writeFileSync(file, JSON.stringify({ flow: 'client_credentials', clientId: 'x' }), { mode: 0o600 });
    expect(
      await runCli(
        ['connection', 'add', '--kind', 'salesforce', '--name', 'G', '--settings', JSON.stringify({ instanceUrl: sf.url }), '--credentials-file', file],
        t.io,
      ),
    ).toBe(65);
    expect(t.err.join('\n')).toContain('invalid credentials.clientSecret: is required');
    expect(await runCli(['connection', 'add', '--kind', 'salesforce', '--name', 'G', '--client-secret', 'oops'], t.io)).toBe(64);
    expect(t.err.join('\n')).toContain('unknown option --client-secret');
    expect(await runCli(['connection', 'add', '--kind', 'nope', '--name', 'G'], t.io)).toBe(65);
    expect(t.err.join('\n')).toContain('invalid kind');
  });

  it('a connection test with refused credentials exits 1 and says why', async () => {
    const t = await seeded();
    expect(await add(t, { flow: 'client_credentials', clientId: DEMO_CLIENT.clientId, clientSecret: 'wrong' })).toBe(0);
    const tested = testIo(t.io.env, () => NOW);
    expect(await runCli(['connection', 'test', 'sf-globex'], tested.io)).toBe(1);
    expect(tested.out.join('\n')).toContain('FAIL sign-in');
    expect(tested.out.join('\n')).toContain('invalid_client');
  });

  it('a libsql server URL without ACCESSLENS_SECRET_KEY is a configuration error', async () => {
    const t = testIo({ DATABASE_URL: 'http://127.0.0.1:9' }, () => NOW);
    t.stdin.end('{}');
    expect(await runCli(['secret', 'rotate'], t.io)).not.toBe(0);
  });
});

describe('import crm', () => {
  it('imports with progress lines and exits 0 on success, 1 on failure', async () => {
    const t = await seeded();
    expect(await add(t, { flow: 'client_credentials', ...DEMO_CLIENT })).toBe(0);
    const run = testIo(t.io.env, () => NOW);
    expect(await runCli(['import', 'crm', 'sf-globex'], run.io)).toBe(0);
    const out = run.out.join('\n');
    expect(out).toMatch(/import imp-[\w-]+ of Globex Salesforce/);
    expect(out).toContain('running (users)');
    expect(out).toContain('succeeded: 11 users, 10 bundles, 20 assignments read');
    expect(out).toContain('accountsCreated 11');

    sf.fail({ path: /FieldPermissions/, status: 400, body: [{ message: 'No such column', errorCode: 'INVALID_FIELD' }] });
    const failed = testIo(t.io.env, () => NOW);
    expect(await runCli(['import', 'crm', 'sf-globex'], failed.io)).toBe(1);
    expect(failed.err.join('\n')).toContain('import failed');
    expect(failed.err.join('\n')).toContain('INVALID_FIELD');
    expect(failed.err.join('\n')).toContain('the last good import stays in force');
    expect(await runCli(['import', 'crm', 'nope'], testIo(t.io.env, () => NOW).io)).toBe(1);
  });
});

describe('secret rotate', () => {
  it('re-encrypts every secret under a new key file; the connection still works', async () => {
    const t = await seeded();
    expect(await add(t, { flow: 'client_credentials', ...DEMO_CLIENT })).toBe(0);
    const before = (await import('node:fs')).readFileSync(join(t.dir, 'cli.db.key'), 'utf8');
    const rot = testIo(t.io.env, () => NOW);
    expect(await runCli(['secret', 'rotate'], rot.io)).toBe(0);
    expect(rot.out.join('\n')).toMatch(/re-encrypted 1 of 1 secrets under key [0-9a-f]{16}/);
    const after = (await import('node:fs')).readFileSync(join(t.dir, 'cli.db.key'), 'utf8');
    expect(after).not.toBe(before);
    expect(statSync(join(t.dir, 'cli.db.key')).mode & 0o777).toBe(0o600);
    expect(await runCli(['connection', 'test', 'sf-globex'], testIo(t.io.env, () => NOW).io)).toBe(0);
  });

  it('with ACCESSLENS_SECRET_KEY: old secrets are read with ACCESSLENS_SECRET_KEY_PREVIOUS and rewritten', async () => {
    const oldKey = generateKey().bytes.toString('base64');
    const newKey = generateKey().bytes.toString('base64');
    const t = await seeded({ ACCESSLENS_SECRET_KEY: oldKey });
    expect(await add(t, { flow: 'client_credentials', ...DEMO_CLIENT })).toBe(0);
    // Only the new key: the stored credentials cannot be read.
    const lost = testIo({ ...t.io.env, ACCESSLENS_SECRET_KEY: newKey }, () => NOW);
    expect(await runCli(['connection', 'test', 'sf-globex'], lost.io)).not.toBe(0);
    const rot = testIo({ ...t.io.env, ACCESSLENS_SECRET_KEY: newKey, ACCESSLENS_SECRET_KEY_PREVIOUS: oldKey }, () => NOW);
    expect(await runCli(['secret', 'rotate'], rot.io)).toBe(0);
    expect(rot.out.join('\n')).toContain('re-encrypted 1 of 1 secrets');
    expect(await runCli(['connection', 'test', 'sf-globex'], testIo({ ...t.io.env, ACCESSLENS_SECRET_KEY: newKey }, () => NOW).io)).toBe(0);
    const bad = testIo({ ...t.io.env, ACCESSLENS_SECRET_KEY: 'short' }, () => NOW);
    expect(await runCli(['secret', 'rotate'], bad.io)).toBe(78);
    expect(bad.err.join('\n')).toContain('ACCESSLENS_SECRET_KEY must be the base64 of exactly 32 random bytes');
  });
});
