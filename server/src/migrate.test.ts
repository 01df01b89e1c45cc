import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './db.ts';
import { policyDocument } from '@accesslens/shared';
import { createApp } from './app.ts';
import { createSession } from './auth/session.ts';
import { MIGRATIONS_DIR, migrate, readMigrations } from './migrate.ts';
import { requestFromRow, REQUEST_COLUMNS } from './model.ts';
import { loadOrg } from './policy/load.ts';

let dir: string;
let db: Db;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accesslens-migrate-'));
  db = await openDatabase(`file:${join(dir, 'db', 'test.db')}`);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrate', () => {
  it('applies every migration once, records it, and is idempotent', async () => {
    const all = readMigrations().map((m) => m.name);
    expect((await migrate(db)).applied).toEqual(all);
    expect((await migrate(db)).applied).toEqual([]);
    const rows = (await db.execute('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
    expect(rows.map((r) => r.name)).toEqual(all);
    const meta = (await db.execute('SELECT instance_id, version FROM meta')).rows[0]!;
    expect(String(meta.instance_id)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('uses WAL and enforces foreign keys on a file database', async () => {
    await migrate(db);
    expect((await db.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('wal');
    await expect(
      db.execute("INSERT INTO sessions (id, person_id, secret_hash, created_at, last_verified_at) VALUES ('s', 'nobody', x'00', 0, 0)"),
    ).rejects.toThrow(/FOREIGN KEY/);
  });

  it('refuses to run when an applied migration file has changed', async () => {
    const custom = join(dir, 'migrations');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(custom);
    copyFileSync(join(MIGRATIONS_DIR, '0001_init.sql'), join(custom, '0001_init.sql'));
    await migrate(db, custom);
    writeFileSync(join(custom, '0001_init.sql'), '-- edited\n', { flag: 'a' });
    await expect(migrate(db, custom)).rejects.toThrow(/0001_init\.sql was changed after it was applied/);
  });

  it('rolls back a failing migration as a whole', async () => {
    const custom = join(dir, 'migrations');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(custom);
    copyFileSync(join(MIGRATIONS_DIR, '0001_init.sql'), join(custom, '0001_init.sql'));
    writeFileSync(join(custom, '0002_broken.sql'), 'CREATE TABLE half_done (id INTEGER);\nTHIS IS NOT SQL;\n');
    await expect(migrate(db, custom)).rejects.toThrow();
    const tables = (await db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'")).rows;
    expect(tables).toEqual([]);
    expect((await db.execute('SELECT COUNT(*) AS n FROM schema_migrations')).rows[0]!.n).toBe(1);
  });

  it('0002 upgrades a database made by 0001 with an organisation in it: backfills, and a default policy', async () => {
    const custom = join(dir, 'migrations');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(custom);
    copyFileSync(join(MIGRATIONS_DIR, '0001_init.sql'), join(custom, '0001_init.sql'));
    await migrate(db, custom);
    // An organisation as the first seed wrote it: one-stage requests, one decision per stage.
    await db.transaction(async (tx) => {
      await tx.executeMultiple(`
        UPDATE meta SET version = 1;
        INSERT INTO people (id, email, name, department, title, manager_id, status, roles, hire_date, trainings, version) VALUES
          ('p-boss', 'boss@x.test', 'Boss', 'Sales', 'Manager', NULL, 'active', '["requester","approver"]', '2020-01-01', '[]', 1),
          ('p-rep', 'rep@x.test', 'Rep', 'Sales', 'Rep', 'p-boss', 'active', '["requester"]', '2024-02-01', '[]', 1),
          ('p-adm', 'adm@x.test', 'Adm', 'IT', 'Admin', NULL, 'active', '["requester","admin"]', '2019-01-01', '[]', 1);
        INSERT INTO crm_connections (id, kind, name, hosts, settings, version) VALUES ('sf', 'salesforce', 'SF', '[]', '{}', 1);
        INSERT INTO permission_catalog (connection_id, key, label_en, label_zh_cn, risk, max_duration_days, requestable, owner_id, version)
          VALUES ('sf', 'object:Quote:read', 'Read Quotes', '查看报价', 'medium', 30, 1, 'p-boss', 1),
                 ('sf', 'object:Lead:read', 'Read Leads', '查看潜在客户', 'low', NULL, 1, NULL, 1);
        INSERT INTO crm_accounts (id, person_id, connection_id, external_user_id, username, active, last_login_at, version) VALUES
          ('acct-rep', 'p-rep', 'sf', '005A', 'rep@sf', 1, '2026-03-01T00:00:00.000Z', 1),
          ('acct-boss', 'p-boss', 'sf', '005B', 'boss@sf', 1, NULL, 1);
        INSERT INTO requests (id, requester_id, connection_id, account_id, permissions, page, justification, duration_days, status, stages,
            created_at, updated_at, decided_at, granted_at, expires_at, version)
          VALUES ('11111111-1111-4111-8111-111111111111', 'p-rep', 'sf', 'acct-rep', '["object:Quote:read"]', NULL, 'why', 30, 'approved',
            '[{"kind":"manager","approverIds":["p-boss"],"decision":{"deciderId":"p-boss","outcome":"approve","reason":null,"durationDays":30,"decidedAt":"2026-02-01T00:00:00.000Z"}}]',
            '2026-02-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-03T00:00:00.000Z', 1);
        INSERT INTO decisions (request_id, position, decider_id, outcome, reason, duration_days, decided_at)
          VALUES ('11111111-1111-4111-8111-111111111111', 0, 'p-boss', 'approve', NULL, 30, '2026-02-01T00:00:00.000Z');
        INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version)
          VALUES ('asg-1', 'acct-rep', 'permission', NULL, 'object:Quote:read', 'request', '11111111-1111-4111-8111-111111111111',
            '2026-02-01T00:00:00.000Z', '2026-03-03T00:00:00.000Z', NULL, 1);
      `);
    });

    // 0002 and every later migration (later ones must not break on such a database either).
    expect((await migrate(db)).applied).toEqual(
      readMigrations()
        .slice(1)
        .map((m) => m.name),
    );

    const policy = (await db.execute('SELECT version, document, created_by FROM policy_versions')).rows;
    expect(policy).toHaveLength(1);
    expect(Number(policy[0]!.version)).toBe(1);
    const document = policyDocument.parse(JSON.parse(String(policy[0]!.document)));
    expect(document.requestRules).toMatchObject([
      {
        id: 'default-sf',
        connectionId: 'sf',
        requestable: true,
        match: {},
        stages: [{ kind: 'manager', mode: { type: 'any' }, label: 'Manager' }],
        fallback: [{ kind: 'group', groupId: 'grp-admins' }],
        defaultDurationDays: 30,
        maxDurationDays: 90,
      },
    ]);
    expect((await db.execute("SELECT member_ids FROM approver_groups WHERE id = 'grp-admins'")).rows[0]!.member_ids).toBe('["p-adm"]');
    const accounts = (await db.execute('SELECT id, created_at FROM crm_accounts ORDER BY id')).rows.map((r) => [r.id, r.created_at]);
    expect(accounts).toEqual([
      ['acct-boss', '2020-01-01T00:00:00.000Z'],
      ['acct-rep', '2026-02-01T00:00:00.000Z'],
    ]);
    const owner = (await db.execute("SELECT owner FROM permission_catalog WHERE key = 'object:Quote:read'")).rows[0]!.owner;
    expect(JSON.parse(String(owner))).toEqual({ type: 'person', personId: 'p-boss' });
    expect((await db.execute('SELECT stage, decider_id FROM request_decisions')).rows.map((r) => [Number(r.stage), r.decider_id])).toEqual([[0, 'p-boss']]);
    // Old stages read in the new shape.
    const row = (await db.execute(`SELECT ${REQUEST_COLUMNS} FROM requests r`)).rows[0]!;
    expect(requestFromRow(row)).toMatchObject({
      evidence: [],
      stages: [
        { kind: 'manager', label: '', keys: [], required: 1, escalated: false, approvals: [{ deciderId: 'p-boss' }], decision: { deciderId: 'p-boss' } },
      ],
    });
    // The engine loads it, and a request on it routes to the manager by the default policy.
    const { org } = await loadOrg(db, new Date('2026-03-02T00:00:00.000Z'));
    expect(org.policy.version).toBe(1);
    const now = new Date('2026-03-02T00:00:00.000Z');
    const app = createApp({ db, now: () => now });
    const { token } = await db.transaction((tx) => createSession(tx, 'p-rep', now));
    const res = await app.request('/api/requests/preview', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ connectionId: 'sf', permissions: ['object:Lead:read'] }),
    });
    expect(res.status).toBe(200);
    const preview = (await res.json()) as { ok: boolean; stages: { approvers: { id: string }[] }[]; durationChoices: number[] };
    expect(preview.ok).toBe(true);
    expect(preview.stages.map((s) => s.approvers.map((a) => a.id))).toEqual([['p-boss']]);
    expect(preview.durationChoices).toEqual([1, 7, 30, 90]);
  });

  it('0005 upgrades a database with connections and findings: read-only connections without credentials, findings kept', async () => {
    const custom = join(dir, 'migrations-0002');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(custom);
    for (const m of readMigrations().filter((x) => x.version <= 2)) copyFileSync(join(MIGRATIONS_DIR, m.name), join(custom, m.name));
    await migrate(db, custom);
    await db.transaction(async (tx) => {
      await tx.executeMultiple(`
        UPDATE meta SET version = 1;
        INSERT INTO people (id, email, name, department, title, manager_id, status, roles, version) VALUES
          ('p-rep', 'rep@x.test', 'Rep', 'Sales', 'Rep', NULL, 'active', '["requester"]', 1);
        INSERT INTO crm_connections (id, kind, name, hosts, settings, version) VALUES ('sf', 'salesforce', 'SF', '["globex.lightning.force.com"]', '{"orgId":"00D000000000001AAA"}', 1);
        INSERT INTO crm_accounts (id, person_id, connection_id, external_user_id, username, active, last_login_at, version) VALUES
          ('acct-rep', 'p-rep', 'sf', '005A', 'rep@sf', 1, NULL, 1);
        INSERT INTO findings (id, kind, connection_id, account_id, person_id, severity, severity_rank, keys, bundle_ids, evidence, status,
            reopened, first_seen_at, last_seen_at, resolved_at, updated_at, basis_version)
          VALUES ('f_1', 'dormant', 'sf', 'acct-rep', 'p-rep', 'medium', 1, '[]', '[]', '{}', 'open', 0, '2026-01-01T00:00:00.000Z',
            '2026-01-01T00:00:00.000Z', NULL, '2026-01-01T00:00:00.000Z', 1);
      `);
    });
    expect((await migrate(db)).applied).toContain('0005_connectors.sql');
    const c = (await db.execute('SELECT tenant, mode, schedule_minutes, enabled FROM crm_connections')).rows[0]!;
    // The tenant as the org's pages name it: its My Domain, the first host's first label.
    expect({ ...c }).toMatchObject({ tenant: 'globex', mode: 'read-only', schedule_minutes: 60, enabled: 1 });
    expect((await db.execute('SELECT connection_id, auth_status, next_import_at FROM connection_state')).rows.map((r) => ({ ...r }))).toEqual([
      { connection_id: 'sf', auth_status: 'ok', next_import_at: null },
    ]);
    expect((await db.execute('SELECT id, kind, status FROM findings')).rows.map((r) => ({ ...r }))).toEqual([{ id: 'f_1', kind: 'dormant', status: 'open' }]);
    // The new finding kind is accepted.
    await db.execute(
      `INSERT INTO findings (id, kind, connection_id, account_id, person_id, severity, severity_rank, keys, bundle_ids, evidence, status, first_seen_at,
         last_seen_at, updated_at, basis_version) VALUES ('f_2', 'outside-process', 'sf', 'acct-rep', 'p-rep', 'medium', 1, '[]', '[]', '{}', 'open', 'x', 'x', 'x', 1)`,
    );
  });

  it('0002 on an empty database leaves the policy to the seed', async () => {
    await migrate(db);
    expect((await db.execute('SELECT COUNT(*) AS n FROM policy_versions')).rows[0]!.n).toBe(0);
    expect((await db.execute('SELECT COUNT(*) AS n FROM approver_groups')).rows[0]!.n).toBe(0);
  });

  it('0003 upgrades a database with people in it: their trainings become completions, nothing else changes', async () => {
    const custom = join(dir, 'migrations');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(custom);
    for (const f of ['0001_init.sql', '0002_policy_findings.sql']) copyFileSync(join(MIGRATIONS_DIR, f), join(custom, f));
    await migrate(db, custom);
    await db.execute(`INSERT INTO people (id, email, name, department, title, manager_id, status, roles, hire_date, trainings, version) VALUES
      ('p-a', 'a@x.test', 'A', 'Sales', 'Rep', NULL, 'active', '["requester"]', NULL, '["sox","privacy"]', 1),
      ('p-b', 'b@x.test', 'B', 'Sales', 'Rep', 'p-a', 'departed', '["requester"]', NULL, '["sox"]', 1)`);
    await db.execute(`INSERT INTO crm_connections (id, kind, name, hosts, settings, version) VALUES ('sf', 'salesforce', 'SF', '[]', '{}', 1)`);
    await db.execute(`INSERT INTO licenses (id, connection_id, name, seats, version) VALUES ('lic', 'sf', 'Platform', 5, 1)`);
    expect((await migrate(db)).applied).toEqual(
      readMigrations()
        .map((m) => m.name)
        .slice(2),
    );
    expect((await db.execute('SELECT id, title FROM trainings ORDER BY id')).rows.map((r) => [r.id, r.title])).toEqual([
      ['privacy', 'privacy'],
      ['sox', 'sox'],
    ]);
    const done = await db.execute('SELECT person_id, training_id, completed_on FROM training_completions ORDER BY person_id, training_id');
    expect(done.rows.map((r) => [r.person_id, r.training_id])).toEqual([
      ['p-a', 'privacy'],
      ['p-a', 'sox'],
      ['p-b', 'sox'],
    ]);
    expect(String(done.rows[0]!.completed_on)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((await db.execute('SELECT license_type, term_end_date, deleted_at FROM licenses')).rows[0]).toMatchObject({
      license_type: 'user',
      term_end_date: null,
      deleted_at: null,
    });
    expect((await db.execute('SELECT COUNT(*) AS n FROM directory_events')).rows[0]!.n).toBe(0);
  });
});
