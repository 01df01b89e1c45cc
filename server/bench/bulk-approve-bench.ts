/**
 * `pnpm bench:bulk-approve`: an approver's bulk decision. Starts the real server on a random port with a
 * fresh database file and the demo seed, adds 50 Account Executives reporting to Ben, has each ask for 10
 * permissions (500 pending requests, each routed to Ben), then Ben approves all 500 with one reason in one
 * POST /api/mutations. Prints the server's own time for applying them (its `Server-Timing` header) and
 * the round trip. Goal: under 1 s of server time. BENCH_PEOPLE changes how many staff (×10 requests).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addStaff, MANAGER_ROUTED_KEYS, requestMutation } from '../src/lifecycle/testing.ts';
import { DEMO_PASSWORDS } from '../src/seed/demo.ts';
import { startServer } from '../src/server.ts';

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'accesslens-bench-'));
const server = await startServer({ port: 0, hostname: '127.0.0.1', databaseUrl: `file:${join(dir, 'bench.db')}`, seed: 'demo', mail: null });
const base = `http://127.0.0.1:${server.port}`;

async function signIn(email: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}
async function mutate(token: string, mutations: unknown[]): Promise<{ results: { status: string; error?: unknown }[]; serverMs: number; roundTripMs: number }> {
  const t = performance.now();
  const res = await fetch(`${base}/api/mutations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ mutations }),
  });
  const body = (await res.json()) as { results: { status: string; error?: unknown }[] };
  const roundTripMs = performance.now() - t;
  if (res.status !== 200) throw new Error(`mutations: ${res.status} ${JSON.stringify(body)}`);
  const serverMs = Number(/apply;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1] ?? NaN);
  return { ...body, serverMs, roundTripMs };
}

try {
  const staff = await addStaff(server.db, new Date(), 'p-ben', PEOPLE, 'bench');
  const ids: string[] = [];
  const setup = performance.now();
  for (const s of staff) {
    const token = await signIn(s.email, DEMO_PASSWORDS['ava@acme.test']);
    const batch = MANAGER_ROUTED_KEYS.map((k) => requestMutation(k));
    const r = await mutate(token, batch);
    const bad = r.results.find((x) => x.status !== 'applied');
    if (bad) throw new Error(`request not applied: ${JSON.stringify(bad)}`);
    ids.push(...batch.map((m) => m.args.requestId));
  }
  const setupMs = performance.now() - setup;
  // Let the server settle first: the 500 "new request" messages of the setup are delivered (skipped: no
  // SMTP here) by the lifecycle worker, so what is timed is the approvals alone.
  for (;;) {
    const left = await server.db.execute("SELECT COUNT(*) AS n FROM notification_outbox WHERE state IN ('queued', 'sending')");
    if (Number(left.rows[0]!.n) === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await server.findings.ensureCurrent(new Date());
  const ben = await signIn('ben@acme.test', DEMO_PASSWORDS['ben@acme.test']);
  const decisions = ids.map((requestId) => ({
    id: randomUUID(),
    name: 'decision.record',
    args: { requestId, outcome: 'approve', reason: 'Quarter-end renewals', durationDays: null },
  }));
  const r = await mutate(ben, decisions);
  const applied = r.results.filter((x) => x.status === 'applied').length;
  if (applied !== ids.length)
    throw new Error(`only ${applied} of ${ids.length} approvals applied: ${JSON.stringify(r.results.find((x) => x.status !== 'applied'))}`);
  const round = (x: number) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      approvals: applied,
      serverMs: round(r.serverMs),
      roundTripMs: round(r.roundTripMs),
      perApprovalMs: round(r.serverMs / applied),
      goalServerMs: 1000,
      setup: { requests: ids.length, ms: round(setupMs) },
    }),
  );
  console.log(`${applied} approvals in one call: ${round(r.serverMs)} ms of server time (goal < 1000 ms), ${round(r.roundTripMs)} ms round trip.`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
