/**
 * `pnpm bench:import`: imports a Salesforce org of 100,000 users, 300 bundles and 500,000 permission set
 * assignments from the fake Salesforce (its own process, real HTTP on loopback, 2,000 records a page)
 * into an empty AccessLens database file whose directory knows the 100,000 people. Every change is
 * applied and audited as in production. Then imports again (nothing changed: the diff alone).
 *
 * Prints one JSON document with the figures; exits non-zero over 60 s or 1.5 GB (peak RSS of this,
 * the importing process, which `pnpm bench:import` runs with a 1 GB V8 heap). Wall time depends on
 * what else the machine runs: CPU time and the load average are printed beside it.
 * USERS=10000 ASSIGNMENTS=50000 pnpm bench:import for a quicker run; REIMPORT=0 skips the second
 * import; FINDINGS=1 also times the findings engine's first build over the imported org.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createConnection } from '../../server/src/connectors/connections.ts';
import { runImport } from '../../server/src/connectors/import.ts';
import { openDatabase } from '../../server/src/db.ts';
import { FindingsService } from '../../server/src/findings/service.ts';
import { migrate } from '../../server/src/migrate.ts';
import { generateKey, KeyRing, SecretBox } from '../../server/src/secrets.ts';
import { BENCH_CLIENT, benchEmail } from './import-org.ts';

const USERS = Number(process.env.USERS ?? 100_000);
const BUNDLES = Number(process.env.BUNDLES ?? 300);
const ASSIGNMENTS = Number(process.env.ASSIGNMENTS ?? 500_000);
const LIMIT_MS = 60_000;
const LIMIT_MB = 1536;

const root = resolve(import.meta.dirname, '../..');
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
const seconds = (ms: number) => Math.round(ms / 100) / 10;

const fake = spawn(
  process.execPath,
  ['--max-old-space-size=4096', '--import', 'tsx', 'test/bench/import-org.ts', String(USERS), String(BUNDLES), String(ASSIGNMENTS)],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const url = await new Promise<string>((ok, fail) => {
  fake.once('exit', (code) => fail(new Error(`the fake Salesforce exited with ${code}`)));
  createInterface({ input: fake.stdout! }).once('line', ok);
});

// Where the memory is: V8's heap, and what lives outside it (buffers, SQLite).
const peaks = { heapUsedMb: 0, externalMb: 0, arrayBuffersMb: 0 };
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peaks.heapUsedMb = Math.max(peaks.heapUsedMb, Math.round(m.heapUsed / 1048576));
  peaks.externalMb = Math.max(peaks.externalMb, Math.round(m.external / 1048576));
  peaks.arrayBuffersMb = Math.max(peaks.arrayBuffersMb, Math.round(m.arrayBuffers / 1048576));
  if (process.env.BENCH_TRACE)
    console.error(JSON.stringify({ rss: Math.round(m.rss / 1048576), heap: Math.round(m.heapUsed / 1048576), ext: Math.round(m.external / 1048576) }));
}, 250);
sampler.unref();

const dir = mkdtempSync(join(tmpdir(), 'accesslens-bench-import-'));
try {
  const db = await openDatabase(`file:${join(dir, 'bench.db')}`);
  await migrate(db);
  // The directory: one person per CRM user (as `import people` would have made them).
  await db.transaction(async (tx) => {
    const v = Number((await tx.execute('UPDATE meta SET version = version + 1 RETURNING version')).rows[0]!.version);
    for (let i = 0; i < USERS; i += 1000) {
      const rows = Array.from({ length: Math.min(1000, USERS - i) }, (_, k) => i + k);
      await tx.execute({
        sql: `INSERT INTO people (id, email, name, department, title, manager_id, status, roles, version) VALUES ${rows.map(() => "(?, ?, ?, ?, ?, NULL, 'active', '[\"requester\"]', ?)").join(', ')}`,
        args: rows.flatMap((n) => [`p-${n}`, benchEmail(n), `Person ${n}`, `Dept ${n % 25}`, `Title ${n % 40}`, v]),
      });
    }
  });
  const box = new SecretBox(new KeyRing(generateKey()));
  const now = () => new Date();
  await createConnection(
    db,
    box,
    {
      id: 'sf-bench',
      kind: 'salesforce',
      name: 'Bench Salesforce',
      hosts: [],
      tenant: null,
      mode: 'read-only',
      automaticChange: false,
      scheduleMinutes: 60,
      settings: { instanceUrl: url },
      credentials: { flow: 'client_credentials', ...BENCH_CLIENT },
    },
    { actorId: null, now: now() },
  );

  const importOnce = async () => {
    const phases: Record<string, number> = {};
    let phase = '';
    let since = performance.now();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const { run } = await runImport(
      {
        db,
        box,
        now,
        ownerId: 'bench',
        onProgress: (r) => {
          const p = r.phase ?? r.status;
          if (p !== phase) {
            if (phase) phases[phase] = seconds(performance.now() - since);
            phase = p;
            since = performance.now();
          }
        },
      },
      'sf-bench',
    );
    if (phase) phases[phase] = seconds(performance.now() - since);
    const cpu = process.cpuUsage(cpu0);
    // CPU time of this process: on a busy machine wall time grows, CPU time does not.
    return { run, seconds: seconds(performance.now() - t0), cpuSeconds: seconds((cpu.user + cpu.system) / 1000), phases };
  };

  const first = await importOnce();
  const firstRss = peakRssMb();
  const audit = Number((await db.execute('SELECT COUNT(*) AS n FROM audit_events')).rows[0]!.n);
  const second = process.env.REIMPORT === '0' ? null : await importOnce();
  // The findings engine's first build over the imported org: its own figure (bench:engine measures the engine).
  let findingsAfterImport: { seconds: number; open: number } | 'skipped (FINDINGS=1 to measure)' = 'skipped (FINDINGS=1 to measure)';
  if (process.env.FINDINGS === '1') {
    const findingsStart = performance.now();
    await new FindingsService(db).ensureCurrent(now());
    const open = Number((await db.execute("SELECT COUNT(*) AS n FROM findings WHERE status = 'open'")).rows[0]!.n);
    findingsAfterImport = { seconds: seconds(performance.now() - findingsStart), open };
  }

  const result = {
    org: { users: USERS, bundles: BUNDLES, assignments: ASSIGNMENTS },
    firstImport: {
      status: first.run.status,
      error: first.run.error,
      seconds: first.seconds,
      cpuSeconds: first.cpuSeconds,
      phases: first.phases,
      read: first.run.read,
      changes: first.run.changes,
      auditEvents: audit,
      peakRssMb: firstRss,
      peaks: { ...peaks },
    },
    reimportNoChanges: second && {
      status: second.run.status,
      seconds: second.seconds,
      cpuSeconds: second.cpuSeconds,
      incremental: second.run.incremental,
      read: second.run.read,
      changed: Object.fromEntries(Object.entries(second.run.changes).filter(([, n]) => n > 0)),
    },
    findingsAfterImport,
    peakRssMb: peakRssMb(),
    limits: { seconds: LIMIT_MS / 1000, peakRssMb: LIMIT_MB },
    machine: { cpus: availableParallelism(), loadAverage: loadavg().map((x) => Math.round(x * 10) / 10) },
  };
  console.log(JSON.stringify(result, null, 2));
  db.close();
  const ok = first.run.status === 'succeeded' && first.seconds * 1000 <= LIMIT_MS && firstRss <= LIMIT_MB;
  if (!ok) {
    console.error(`bench:import over its limits (or failed): ${first.seconds} s, ${firstRss} MB`);
    process.exitCode = 1;
  }
} finally {
  fake.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
