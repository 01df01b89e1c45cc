/**
 * `pnpm --filter @accesslens/server bench:sync`: the hot path. Starts the real server on a random
 * port with a fresh database and the demo seed, signs in as Ava, pulls once, then times N unchanged
 * pulls over HTTP, one after another.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_PASSWORDS } from '../src/seed/demo.ts';
import { startServer } from '../src/server.ts';

const N = Number(process.env.BENCH_N ?? 2000);
const WARMUP = 100;

const dir = mkdtempSync(join(tmpdir(), 'accesslens-bench-'));
const server = await startServer({ port: 0, hostname: '127.0.0.1', databaseUrl: `file:${join(dir, 'bench.db')}`, seed: 'demo' });
const base = `http://127.0.0.1:${server.port}`;
try {
  const signIn = await fetch(`${base}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'ava@acme.test', password: DEMO_PASSWORDS['ava@acme.test'] }),
  });
  const { token } = (await signIn.json()) as { token: string };
  const headers = { Authorization: `Bearer ${token}` };
  const first = (await (await fetch(`${base}/api/sync`, { headers })).json()) as { cursor: string };
  const url = `${base}/api/sync?cursor=${encodeURIComponent(first.cursor)}`;

  const pull = async () => {
    const res = await fetch(url, { headers });
    const body = (await res.json()) as { cursor: string; requests: unknown[] };
    if (res.status !== 200 || body.cursor !== first.cursor || body.requests.length !== 0)
      throw new Error(`unexpected pull: ${res.status} ${JSON.stringify(body)}`);
  };
  for (let i = 0; i < WARMUP; i++) await pull();

  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await pull();
    times.push(performance.now() - t);
  }
  const total = performance.now() - started;
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  console.log(
    JSON.stringify({
      n: N,
      median_ms: round(at(0.5)),
      p95_ms: round(at(0.95)),
      p99_ms: round(at(0.99)),
      requests_per_s: Math.round((N / total) * 1000),
    }),
  );
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
