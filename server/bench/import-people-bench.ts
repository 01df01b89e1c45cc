/**
 * `pnpm bench:import-people`: generates a people CSV file of BENCH_ROWS rows (default 100,000; a
 * manager tree, Chinese and quoted names, trainings), imports it into a temporary database through the
 * same path as the API and the CLI (with a findings engine, as a server process does), and prints the
 * figures: parse + check + write time, rows per second, peak RSS. Then re-imports it unchanged and
 * with 1 % of rows changed. Target (issue 7): 100,000 rows in under 10 s. CPU time is printed beside the
 * wall time: on a machine shared with other work, it says what the import itself costs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PEOPLE_CSV_HEADER } from '@accesslens/shared';
import { openDatabase } from '../src/db.ts';
import { importPeopleCsv } from '../src/directory/import.ts';
import { FindingsService } from '../src/findings/service.ts';
import { migrate } from '../src/migrate.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const DEPARTMENTS = ['Sales', 'Finance', 'Support', 'IT', '销售部', 'Marketing', 'Legal', 'Operations'];
const TITLES = ['Account Executive', 'Sales Manager', 'Analyst', 'Engineer', '客户经理', 'Director'];
const SURNAMES = ['王', '李', '张', '刘', '陈', 'Smith', 'García', "O'Neil"];

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

function generate(changedEvery = 0): Uint8Array {
  const lines: string[] = [PEOPLE_CSV_HEADER.join(',')];
  for (let i = 0; i < ROWS; i++) {
    // A tree: person i reports to (i - 1) / 8, so managers come before and after their reports.
    const manager = i === 0 ? '' : `person${Math.floor((i - 1) / 8)}@bench.test`;
    const surname = SURNAMES[i % SURNAMES.length]!;
    const name = i % 3 === 0 ? `${surname}${'伟芳娜敏静'[i % 5]}` : `"${surname}, Person ""${i}"""`;
    const changed = changedEvery > 0 && i % changedEvery === 0;
    const title = changed ? 'Senior Analyst' : TITLES[i % TITLES.length]!;
    const status = i % 97 === 0 ? 'suspended' : 'active';
    const trainings = i % 4 === 0 ? 'security-awareness-2025;sox-controls' : i % 4 === 1 ? 'security-awareness-2025' : '';
    const hire = `20${String(10 + (i % 15)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`;
    lines.push(`person${i}@bench.test,${name},${DEPARTMENTS[i % DEPARTMENTS.length]},${title},${manager},${hire},${status},${trainings}`);
  }
  return new TextEncoder().encode(`\uFEFF${lines.join('\r\n')}\r\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'accesslens-bench-import-'));
try {
  const db = await openDatabase(`file:${join(dir, 'bench.db')}`);
  await migrate(db);
  // As a server process: its findings engine is built at start-up, then follows each import.
  // BENCH_FINDINGS=0 leaves the engine out, to see what it costs.
  const findings = process.env.BENCH_FINDINGS === '0' ? undefined : new FindingsService(db);
  await findings?.start(new Date());
  const file = generate();
  console.log(`people CSV: ${ROWS.toLocaleString('en')} rows, ${(file.length / 1024 / 1024).toFixed(1)} MB`);

  const run = async (label: string, bytes: Uint8Array) => {
    const now = new Date();
    const started = performance.now();
    const cpu = process.cpuUsage();
    const result = await importPeopleCsv(db, bytes, { dryRun: false, source: { via: 'csv', actorId: null }, now, ...(findings ? { findings } : {}) });
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (!result.ok) throw new Error(`import refused: ${JSON.stringify(result.problems.slice(0, 5))}`);
    const c = result.counts;
    console.log(
      `${label.padEnd(22)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${Math.round(ROWS / (ms / 1000))
        .toLocaleString('en')
        .padStart(9)} rows/s  ` +
        `(CPU ${((used.user + used.system) / 1e6).toFixed(2)} s)  created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, ` +
        `moved ${c.moved}, deactivated ${c.deactivated}`,
    );
    return ms;
  };

  const first = await run('first import', file);
  await run('same file again', file);
  await run('1 % of titles changed', generate(100));
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const people = Number((await db.execute('SELECT COUNT(*) AS n FROM people')).rows[0]!.n);
  const audit = Number((await db.execute('SELECT COUNT(*) AS n FROM audit_events')).rows[0]!.n);
  console.log(
    `load average while measuring: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} CPUs`,
  );
  console.log(`people in the directory: ${people.toLocaleString('en')}; audit events: ${audit.toLocaleString('en')}`);
  console.log(`peak RSS: ${Math.round(peakRss / 1024 / 1024)} MB`);
  console.log(`target: ${ROWS.toLocaleString('en')} rows in under 10 s — first import ${(first / 1000).toFixed(2)} s: ${first < 10_000 ? 'met' : 'NOT met'}`);
  db.close();
} finally {
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
}
