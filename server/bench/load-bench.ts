/**
 * `pnpm bench:load`: 5,000 simulated extension clients against the real server on loopback (issue 10).
 * Each client holds an event stream (`GET /api/sync/events`), pulls once a minute (spread over the
 * minute) and again when poked; the occasional mutation (Ava asks for access, then withdraws it, one
 * every BENCH_LOAD_MUTATION_MS) pokes Ava's and her approver Ben's streams. Two runs:
 *   1. one server process on an embedded database file;
 *   2. two server processes on one libsql server (sqld), the clients split between them, mutations
 *      sent to the first — the second's streams hear of them through the change feed.
 * Prints, per run: poke delivery latency p50/p99 (from sending a mutation to each concerned stream's
 * poke), pokes missed, HTTP errors, pulls, and the peak resident memory of each server process and of
 * this client process. Goal: no errors, poke p99 under 1 s, under 1 GB.
 *
 * Loopback only: the servers bind 127.0.0.1 and the clients call nothing else. Sessions are made in the
 * database directly (5,000 argon2 sign-ins would measure argon2).
 *
 * BENCH_LOAD_CLIENTS (5000), BENCH_LOAD_SECONDS (60, after every stream is open), BENCH_LOAD_MUTATION_MS
 * (2000), BENCH_LOAD_RUNS (`one,two`). `BENCH_PROFILE=1` writes a CPU profile of each server process to
 * server/bench/profiles/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKey } from '../src/secrets.ts';

const CLIENTS = Number(process.env.BENCH_LOAD_CLIENTS ?? 5000);
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 60);
const MUTATION_MS = Number(process.env.BENCH_LOAD_MUTATION_MS ?? 2000);
const RUNS = (process.env.BENCH_LOAD_RUNS ?? 'one,two').split(',');
const POKE_TIMEOUT_MS = 5_000;
/** Active people of the demo org (p-jon has left: his sessions would be refused). */
const PEOPLE = ['p-ava', 'p-ben', 'p-cara', 'p-dan', 'p-eli', 'p-fay', 'p-gil', 'p-hal', 'p-ivy', 'p-kai'];
/** The people a mutation of Ava's concerns: herself and her manager, the approver. */
const POKED = new Set(['p-ava', 'p-ben']);

interface Child {
  child: ChildProcess;
  base: string;
  peakRssMb: number;
  sampler: NodeJS.Timeout;
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function startServerProcess(databaseUrl: string, seed: 'demo' | 'none', env: Record<string, string>): Promise<Child> {
  const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(dirname(fileURLToPath(import.meta.url)), 'profiles')}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), 'server', databaseUrl, seed], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /port (\d+)/.exec(out);
      if (m) {
        const c: Child = {
          child,
          base: `http://127.0.0.1:${m[1]}`,
          peakRssMb: 0,
          sampler: setInterval(() => (c.peakRssMb = Math.max(c.peakRssMb, rssMb(child.pid!))), 500),
        };
        resolve(c);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

function stopProcess(c: Child | ChildProcess): Promise<void> {
  const child = 'child' in c ? c.child : c;
  if ('sampler' in c) clearInterval(c.sampler);
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function startSqldProcess(): Promise<{ url: string; stop: () => Promise<void> }> {
  const { startSqld } = await import('../src/testing-sqld.ts');
  return startSqld();
}

/** Sessions made in the database, as a sign-in would make them (server/src/auth/session.ts). */
async function makeSessions(databaseUrl: string): Promise<{ personId: string; token: string }[]> {
  const { openDatabase } = await import('../src/db.ts');
  const { createSession } = await import('../src/auth/session.ts');
  const db = await openDatabase(databaseUrl);
  const out: { personId: string; token: string }[] = [];
  try {
    for (let start = 0; start < CLIENTS; start += 500) {
      await db.transaction(async (tx) => {
        for (let i = start; i < Math.min(CLIENTS, start + 500); i++) {
          const personId = PEOPLE[i % PEOPLE.length]!;
          out.push({ personId, token: (await createSession(tx, personId, new Date())).token });
        }
      });
    }
  } finally {
    db.close();
  }
  return out;
}

interface Stats {
  pokeLatencies: number[];
  pokesMissed: number;
  httpErrors: number;
  /** Errors by what and status, e.g. "GET /api/sync 429". */
  errorKinds: Map<string, number>;
  pulls: number;
  streamsOpen: number;
  mutations: number;
  mutationErrors: number;
}

class Client {
  cursor: string | null = null;
  lastPokeAt = 0;
  private pulling = false;
  private pullAgain = false;
  stream: IncomingMessage | null = null;

  constructor(
    readonly base: string,
    readonly personId: string,
    readonly token: string,
    readonly agent: Agent,
    readonly stats: Stats,
  ) {}

  private call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    return new Promise((resolve) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${this.base}${path}`,
        { method, agent: this.agent, headers: { Authorization: `Bearer ${this.token}`, ...(payload ? { 'Content-Type': 'application/json' } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if ((res.statusCode ?? 0) >= 400) this.error(`${method} ${path.split('?')[0]} ${res.statusCode}: ${text.slice(0, 80)}`);
            let json: unknown = null;
            try {
              json = text ? JSON.parse(text) : null;
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('error', (e) => {
        this.error(`${method} ${path.split('?')[0]} ${e.message}`);
        resolve({ status: 0, json: null });
      });
      req.end(payload);
    });
  }

  private error(kind: string): void {
    this.stats.httpErrors++;
    this.stats.errorKinds.set(kind, (this.stats.errorKinds.get(kind) ?? 0) + 1);
  }

  async pull(): Promise<void> {
    if (this.pulling) {
      this.pullAgain = true;
      return;
    }
    this.pulling = true;
    do {
      this.pullAgain = false;
      const res = await this.call('GET', `/api/sync${this.cursor ? `?cursor=${encodeURIComponent(this.cursor)}` : ''}`);
      this.stats.pulls++;
      if (res.status === 200) this.cursor = res.json.cursor;
    } while (this.pullAgain);
    this.pulling = false;
  }

  mutate(mutations: unknown[]): Promise<{ status: number; json: any }> {
    return this.call('POST', '/api/mutations', { mutations });
  }

  /** Opens the event stream; resolves once the server answered it. */
  open(): Promise<void> {
    return new Promise((resolve) => {
      const req = request(
        `${this.base}/api/sync/events`,
        { agent: this.agent, headers: { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' } },
        (res) => {
          if (res.statusCode !== 200) {
            this.error(`GET /api/sync/events ${res.statusCode}`);
            res.resume();
            resolve();
            return;
          }
          this.stream = res;
          this.stats.streamsOpen++;
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let i: number;
            while ((i = buffer.indexOf('\n\n')) >= 0) {
              const event = buffer.slice(0, i);
              buffer = buffer.slice(i + 2);
              if (/^event: poke$/m.test(event)) {
                this.lastPokeAt = performance.now();
                // Pull after this turn of the event loop: 5,000 clients share this one process, and
                // opening a connection here would delay reading the pokes already waiting on other
                // streams — a delay of this process, not of the server (each real client is its own).
                setImmediate(() => void this.pull());
              }
            }
          });
          res.on('close', () => {
            this.stats.streamsOpen--;
            this.stream = null;
          });
          resolve();
        },
      );
      req.on('error', (e) => {
        this.error(`GET /api/sync/events ${e.message}`);
        resolve();
      });
      req.end();
    });
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(name: string, servers: Child[]): Promise<void> {
  const stats: Stats = { pokeLatencies: [], pokesMissed: 0, httpErrors: 0, errorKinds: new Map(), pulls: 0, streamsOpen: 0, mutations: 0, mutationErrors: 0 };
  // A connection per call: an idle kept-alive socket the server closes as it is reused would count as
  // an error here, where a browser retries it without telling anyone.
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const sessions = await makeSessions(process.env.BENCH_DB_URL!);
  const clients = sessions.map((s, i) => new Client(servers[i % servers.length]!.base, s.personId, s.token, agent, stats));
  let clientPeakMb = 0;
  const sampler = setInterval(() => (clientPeakMb = Math.max(clientPeakMb, process.memoryUsage().rss / 1048576)), 500);

  // Ramp up: every stream open and a first pull, 250 clients at a time.
  const ramp = performance.now();
  for (let i = 0; i < clients.length; i += 250) await Promise.all(clients.slice(i, i + 250).map(async (c) => (await c.open(), await c.pull())));
  console.log(`  ${name}: ${stats.streamsOpen} streams open in ${((performance.now() - ramp) / 1000).toFixed(1)} s; measuring for ${SECONDS} s…`);
  const errorsBeforeMeasure = stats.httpErrors;

  // A pull a minute each, spread over the minute.
  const timers: NodeJS.Timeout[] = [];
  for (const c of clients) {
    const first = setTimeout(() => {
      void c.pull();
      timers.push(setInterval(() => void c.pull(), 60_000));
    }, Math.random() * 60_000);
    timers.push(first);
  }

  // The occasional mutation: Ava (on the first server) asks for access, then withdraws it.
  const ava = clients.find((c) => c.personId === 'p-ava' && c.base === servers[0]!.base)!;
  const concerned = clients.filter((c) => POKED.has(c.personId));
  const end = performance.now() + SECONDS * 1000;
  let pending: string | null = null;
  const answers: number[] = [];
  while (performance.now() < end) {
    const tick = performance.now();
    const mutation: { id: string; name: string; args: Record<string, unknown> } = pending
      ? { id: crypto.randomUUID(), name: 'request.cancel', args: { requestId: pending } }
      : {
          id: crypto.randomUUID(),
          name: 'request.create',
          args: {
            requestId: crypto.randomUUID(),
            connectionId: 'sf-acme',
            permissions: ['object:Contract:read'],
            page: null,
            justification: 'Load test: renewal for Globex is due this week.',
            evidence: [],
            durationDays: 30,
          },
        };
    const sentAt = performance.now();
    const res = await ava.mutate([mutation]);
    answers.push(performance.now() - sentAt);
    stats.mutations++;
    const result = res.json?.results?.[0];
    if (res.status !== 200 || result?.status !== 'applied') {
      stats.mutationErrors++;
      pending = null;
    } else pending = mutation.name === 'request.create' ? String(mutation.args.requestId) : null;
    // Each concerned stream's first poke after the mutation was sent (latency counted from sending it);
    // missed: none within POKE_TIMEOUT_MS of the server's answer.
    const deadline = performance.now() + POKE_TIMEOUT_MS;
    const waiting = new Set(concerned.filter((c) => c.stream));
    while (waiting.size > 0 && performance.now() < deadline) {
      for (const c of waiting) {
        if (c.lastPokeAt >= sentAt) {
          stats.pokeLatencies.push(c.lastPokeAt - sentAt);
          waiting.delete(c);
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    stats.pokesMissed += waiting.size;
    const wait = MUTATION_MS - (performance.now() - tick);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  for (const t of timers) clearTimeout(t);
  clearInterval(sampler);
  for (const c of clients) c.stream?.destroy();
  agent.destroy();

  const sorted = stats.pokeLatencies.sort((a, b) => a - b);
  console.log(`  ${name}:`);
  const answered = answers.sort((a, b) => a - b);
  console.log(
    `    clients ${clients.length}, streams open at the end ${stats.streamsOpen}, mutations ${stats.mutations} (${stats.mutationErrors} not applied; answered p50 ${percentile(answered, 50).toFixed(1)} ms, p99 ${percentile(answered, 99).toFixed(1)} ms)`,
  );
  console.log(
    `    poke latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms over ${sorted.length} pokes; missed ${stats.pokesMissed}`,
  );
  console.log(`    HTTP errors ${stats.httpErrors} (${stats.httpErrors - errorsBeforeMeasure} while measuring), pulls ${stats.pulls}`);
  for (const [kind, n] of stats.errorKinds) console.log(`      ${n} × ${kind}`);
  console.log(`    peak RSS: ${servers.map((s, i) => `server ${i + 1} ${s.peakRssMb.toFixed(0)} MB`).join(', ')}, clients ${clientPeakMb.toFixed(0)} MB`);
  const ok =
    stats.httpErrors === 0 &&
    stats.pokesMissed === 0 &&
    stats.mutationErrors === 0 &&
    percentile(sorted, 99) < 1000 &&
    servers.every((s) => s.peakRssMb < 1024);
  console.log(`    goal (no errors, poke p99 < 1 s, < 1 GB per process): ${ok ? 'met' : 'NOT met'}`);
}

async function main() {
  console.log(
    `bench:load — ${CLIENTS} clients, ${SECONDS} s, a mutation every ${MUTATION_MS} ms; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}`,
  );
  const key = generateKey().bytes.toString('base64');
  const env = { ACCESSLENS_SECRET_KEY: key };
  if (RUNS.includes('one')) {
    const dir = mkdtempSync(join(tmpdir(), 'accesslens-load-'));
    const url = `file:${join(dir, 'load.db')}`;
    process.env.BENCH_DB_URL = url;
    const server = await startServerProcess(url, 'demo', env);
    try {
      await run('one process, embedded file', [server]);
    } finally {
      await stopProcess(server);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (RUNS.includes('two')) {
    const sqld = await startSqldProcess();
    process.env.BENCH_DB_URL = sqld.url;
    const a = await startServerProcess(sqld.url, 'demo', env);
    const b = await startServerProcess(sqld.url, 'none', env);
    try {
      await run('two processes, one libsql server', [a, b]);
    } finally {
      await Promise.all([stopProcess(a), stopProcess(b)]);
      await sqld.stop();
    }
  }
}

if (process.argv[2] === 'server') {
  const { startServer } = await import('../src/server.ts');
  const server = await startServer({ port: 0, hostname: '127.0.0.1', databaseUrl: process.argv[3]!, seed: process.argv[4] === 'demo' ? 'demo' : 'none' });
  console.log(`port ${server.port}`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
} else {
  await main();
}
