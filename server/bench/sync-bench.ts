/**
 * `pnpm bench:sync`: the hot path against the framework under it, in one run. Two child processes on
 * loopback — the real AccessLens server (fresh database, demo seed; Ava signed in, one pull done) and a
 * bare Hono hello-world on the same @hono/node-server — each loaded by autocannon from this process
 * with the same load (BENCH_CONNECTIONS = 50 connections, BENCH_SECONDS = 10 s): first the bare app,
 * then an unchanged `GET /api/sync?cursor=…`, then `GET /api/me`. Prints each run's requests per second
 * and latency percentiles, and the ratio of sync to bare (goal, issue 10: ≥ 50 %, p99 ≤ 10 ms).
 *
 * `BENCH_PROFILE=1` writes a CPU profile of the server process to server/bench/profiles/ (with
 * `BENCH_RUNS=sync`, of the unchanged pull alone). `BENCH_RUNS` (`bare,sync,me`): the runs to make;
 * the ratio needs `bare` and `sync`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = (process.env.BENCH_RUNS ?? 'bare,sync,me').split(',');
const role = process.argv[2];
const here = dirname(fileURLToPath(import.meta.url));

if (role === 'bare') {
  // The baseline: Hono's hello-world on the same adapter, nothing else.
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono().get('/', (c) => c.text('Hello Hono!'));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`port ${info.port}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else if (role === 'real') {
  const { startServer } = await import('../src/server.ts');
  const dir = mkdtempSync(join(tmpdir(), 'accesslens-bench-'));
  const server = await startServer({ port: 0, hostname: '127.0.0.1', databaseUrl: `file:${join(dir, 'bench.db')}`, seed: 'demo' });
  console.log(`port ${server.port}`);
  process.on('SIGTERM', () => {
    void server.close().then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
} else {
  await main();
}

function start(kind: 'bare' | 'real'): Promise<{ child: ChildProcess; base: string }> {
  const profile = kind === 'real' && process.env.BENCH_PROFILE === '1';
  const profiles = join(here, 'profiles');
  if (profile) mkdirSync(profiles, { recursive: true });
  const child = spawn(
    process.execPath,
    [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []), '--import', 'tsx', fileURLToPath(import.meta.url), kind],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve({ child, base: `http://127.0.0.1:${m[1]}` });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}: ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

interface Run {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
}

async function load(name: string, url: string, headers: Record<string, string> = {}): Promise<Run> {
  // A short warm-up (JIT, connection pools), not counted.
  await autocannon({ url, connections: CONNECTIONS, duration: 1, headers });
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers });
  return {
    name,
    requestsPerSecond: Math.round(r.requests.average),
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

async function main() {
  console.log(`bench:sync — ${CONNECTIONS} connections, ${SECONDS} s each; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}`);
  const bare = await start('bare');
  const real = await start('real');
  try {
    const signIn = await fetch(`${real.base}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ava@acme.test', password: 'ava-demo-2026' }),
    });
    if (signIn.status !== 200) throw new Error(`sign-in failed: ${signIn.status} ${await signIn.text()}`);
    const { token } = (await signIn.json()) as { token: string };
    const auth = { Authorization: `Bearer ${token}` };
    const first = (await (await fetch(`${real.base}/api/sync`, { headers: auth })).json()) as { cursor: string };
    const syncUrl = `${real.base}/api/sync?cursor=${encodeURIComponent(first.cursor)}`;
    // The unchanged pull really is unchanged (the same cursor, nothing in it).
    const check = (await (await fetch(syncUrl, { headers: auth })).json()) as { cursor: string; reset: boolean; requests: unknown[] };
    if (check.cursor !== first.cursor || check.reset || check.requests.length !== 0) throw new Error(`not an unchanged pull: ${JSON.stringify(check)}`);

    const runs: Run[] = [];
    if (RUNS.includes('bare')) runs.push(await load('bare Hono hello-world', `${bare.base}/`));
    if (RUNS.includes('sync')) runs.push(await load('GET /api/sync (unchanged)', syncUrl, auth));
    if (RUNS.includes('me')) runs.push(await load('GET /api/me', `${real.base}/api/me`, auth));
    console.log('');
    console.log('run                          req/s    p50 ms  p90 ms  p99 ms  max ms  non-2xx  errors');
    for (const r of runs)
      console.log(
        `${r.name.padEnd(27)}${String(r.requestsPerSecond).padStart(7)}${String(r.p50).padStart(10)}${String(r.p90).padStart(8)}${String(r.p99).padStart(8)}${String(r.max).padStart(8)}${String(r.non2xx).padStart(9)}${String(r.errors).padStart(8)}`,
      );
    const b = runs.find((r) => r.name.startsWith('bare'));
    const s = runs.find((r) => r.name.startsWith('GET /api/sync'));
    const ratio = b && s ? s.requestsPerSecond / b.requestsPerSecond : Number.NaN;
    console.log('');
    if (b && s) console.log(`sync / bare = ${(ratio * 100).toFixed(1)} % (goal ≥ 50 %); sync p99 = ${s.p99} ms (goal ≤ 10 ms)`);
    console.log(`load average after the runs ${loadavg()[0]!.toFixed(2)}`);
    console.log(JSON.stringify({ connections: CONNECTIONS, seconds: SECONDS, runs, syncToBare: Math.round(ratio * 1000) / 1000 }));
    if (runs.some((r) => !r.name.startsWith('bare') && (r.non2xx > 0 || r.errors > 0))) process.exitCode = 1;
  } finally {
    await Promise.all([stop(bare.child), stop(real.child)]);
  }
}
