/**
 * `connection add --kind dynamics|hubspot`, `connection test` and `import crm`, run in-process against a
 * database with the demo seed and the fake Dataverse / fake HubSpot on loopback. With
 * ACCESSLENS_TEST_DB=sqld (the `server-libsql` project) the database is a real libsql server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_DYNAMICS_APP, DEMO_DYNAMICS_APP_USER, DEMO_DYNAMICS_TENANT, demoDynamicsOrg } from '../../../test/fakes/dynamics-demo.ts';
import { startFakeDynamics, type FakeDynamics } from '../../../test/fakes/dynamics.ts';
import { DEMO_HUBSPOT_SETTINGS, DEMO_HUBSPOT_TOKEN, demoHubspotAccount } from '../../../test/fakes/hubspot-demo.ts';
import { startFakeHubspot, type FakeHubspot } from '../../../test/fakes/hubspot.ts';
import { openDatabase } from '../db.ts';
import { migrate } from '../migrate.ts';
import { generateKey } from '../secrets.ts';
import { seedDemoIfEmpty } from '../seed/demo.ts';
import { startSqld, type RunningSqld } from '../testing-sqld.ts';
import { runCli } from './run.ts';
import { disposeTestIos, testIo } from './testing.ts';

const NOW = new Date('2026-11-30T12:00:00Z');
const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  disposeTestIos();
});

/** A seeded database (a file, or a libsql server under `server-libsql`) and the env to reach it. */
async function seeded(): Promise<Record<string, string>> {
  let env: Record<string, string> = {};
  if (process.env.ACCESSLENS_TEST_DB === 'sqld') {
    const sqld: RunningSqld = await startSqld();
    cleanup.push(() => sqld.stop());
    env = { DATABASE_URL: sqld.url, ACCESSLENS_SECRET_KEY: generateKey().bytes.toString('base64') };
  }
  const t = testIo(env, () => NOW);
  const db = await openDatabase(t.io.env.DATABASE_URL!);
  await migrate(db);
  await seedDemoIfEmpty(db, NOW);
  db.close();
  return t.io.env as Record<string, string>;
}

async function cli(env: Record<string, string>, argv: string[], stdin?: string) {
  const t = testIo(env, () => NOW);
  if (stdin !== undefined) t.stdin.end(stdin);
  const code = await runCli(argv, t.io);
  return { code, out: t.out.join('\n'), err: t.err.join('\n') };
}

describe('Dynamics 365 from the CLI', () => {
  let dv: FakeDynamics;

  async function add(env: Record<string, string>, credentials: unknown) {
    return cli(
      env,
      [
        'connection',
        'add',
        '--id',
        'dyn-globex',
        '--kind',
        'dynamics',
        '--name',
        'Globex Dynamics',
        '--hosts',
        'globex.crm4.dynamics.com',
        '--tenant',
        'globex',
        '--mode',
        'provision',
        '--settings',
        JSON.stringify({ orgUrl: dv.url, tenantId: DEMO_DYNAMICS_TENANT, tokenUrl: dv.tokenUrl(DEMO_DYNAMICS_TENANT) }),
        '--credentials-stdin',
      ],
      JSON.stringify(credentials),
    );
  }

  it('adds, tests and imports a Dynamics connection; exit codes say whether it worked', async () => {
    dv = await startFakeDynamics({ org: demoDynamicsOrg(NOW), clients: [DEMO_DYNAMICS_APP], appUserId: DEMO_DYNAMICS_APP_USER, now: () => NOW });
    cleanup.push(() => dv.close());
    const env = await seeded();
    const added = await add(env, { clientId: DEMO_DYNAMICS_APP.clientId, clientSecret: DEMO_DYNAMICS_APP.clientSecret });
    expect(added.code).toBe(0);
    expect(added.out).toContain('created connection dyn-globex: Globex Dynamics (dynamics, provision), credentials set');
    expect(added.out + added.err).not.toContain(DEMO_DYNAMICS_APP.clientSecret);

    const tested = await cli(env, ['connection', 'test', 'dyn-globex']);
    expect(tested.code).toBe(0);
    expect(tested.out).toContain('signed in as accesslens-app@acme.onmicrosoft.com');
    expect(tested.out).toContain('can read: yes; can change access: yes');

    const run = await cli(env, ['import', 'crm', 'dyn-globex']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('succeeded: 5 users, 3 bundles, 5 assignments read');
    expect(run.out).toContain('accountsCreated 4');
    expect(run.out).toContain('warning: 1 CRM users match no person');

    dv.fail({ path: /teamrolescollection/, status: 403, body: { error: { code: '0x80040220', message: 'Principal user is missing prvReadTeam privilege' } } });
    const failed = await cli(env, ['import', 'crm', 'dyn-globex']);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('import failed');
    expect(failed.err).toContain('prvReadTeam');
  });

  it("names the wrong field; a refused secret fails the test with Entra ID's words", async () => {
    dv = await startFakeDynamics({ org: demoDynamicsOrg(NOW), clients: [DEMO_DYNAMICS_APP], appUserId: DEMO_DYNAMICS_APP_USER, now: () => NOW });
    cleanup.push(() => dv.close());
    const env = await seeded();
    const bad = await cli(
      env,
      ['connection', 'add', '--kind', 'dynamics', '--name', 'G', '--settings', JSON.stringify({ orgUrl: dv.url }), '--credentials-stdin'],
      '{"clientId":"x","clientSecret":"y"}',
    );
    expect(bad.code).toBe(65);
    expect(bad.err).toContain('settings.tenantId: is required');
    expect((await add(env, { clientId: DEMO_DYNAMICS_APP.clientId, clientSecret: 'wrong' })).code).toBe(0);
    const tested = await cli(env, ['connection', 'test', 'dyn-globex']);
    expect(tested.code).toBe(1);
    expect(tested.out).toContain('FAIL sign-in');
    expect(tested.out).toContain('AADSTS7000215');
  });
});

describe('HubSpot from the CLI', () => {
  let hs: FakeHubspot;

  async function add(env: Record<string, string>, credentials: unknown) {
    return cli(
      env,
      [
        'connection',
        'add',
        '--id',
        'hs-globex',
        '--kind',
        'hubspot',
        '--name',
        'Globex HubSpot',
        '--hosts',
        'app.hubspot.com,app-eu1.hubspot.com',
        '--tenant',
        '4242424',
        '--mode',
        'provision',
        '--settings',
        JSON.stringify({ apiUrl: hs.url, ...DEMO_HUBSPOT_SETTINGS }),
        '--credentials-stdin',
      ],
      JSON.stringify(credentials),
    );
  }

  it('adds, tests and imports a HubSpot connection; exit codes say whether it worked', async () => {
    hs = await startFakeHubspot({ account: demoHubspotAccount(NOW), privateApps: [{ token: DEMO_HUBSPOT_TOKEN }], now: () => NOW });
    cleanup.push(() => hs.close());
    const env = await seeded();
    const added = await add(env, { flow: 'private_app', accessToken: DEMO_HUBSPOT_TOKEN });
    expect(added.code).toBe(0);
    expect(added.out).toContain('created connection hs-globex: Globex HubSpot (hubspot, provision), credentials set');
    expect(added.out + added.err).not.toContain(DEMO_HUBSPOT_TOKEN);

    const tested = await cli(env, ['connection', 'test', 'hs-globex']);
    expect(tested.code).toBe(0);
    expect(tested.out).toContain('(org 4242424)');
    expect(tested.out).toContain('can read: yes; can change access: yes');

    const run = await cli(env, ['import', 'crm', 'hs-globex']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('succeeded: 4 users, 3 bundles, 4 assignments read');
    expect(run.out).toContain('accountsCreated 4');
    expect(run.out).toContain('licencesAdded 1');

    hs.revokePrivateApp(DEMO_HUBSPOT_TOKEN);
    const failed = await cli(env, ['import', 'crm', 'hs-globex']);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('INVALID_AUTHENTICATION');
  });

  it('a revoked token fails the test and says why', async () => {
    hs = await startFakeHubspot({ account: demoHubspotAccount(NOW), privateApps: [], now: () => NOW });
    cleanup.push(() => hs.close());
    const env = await seeded();
    expect((await add(env, { flow: 'private_app', accessToken: DEMO_HUBSPOT_TOKEN })).code).toBe(0);
    const tested = await cli(env, ['connection', 'test', 'hs-globex']);
    expect(tested.code).toBe(1);
    expect(tested.out).toContain('FAIL sign-in');
  });
});
