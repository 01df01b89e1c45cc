/**
 * Starts the real AccessLens server as a child process (real migrations, real database file), on a
 * random port the first time and on the same port when restarted, so a test can stop it and bring it
 * back with the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');

export interface RunningServer {
  url: string;
  port: number;
  /** Acme Desk, the demo's in-house CRM (demo seed only), on its own free port. */
  deskPort: number | null;
  databaseUrl: string;
  /** Stops the process (SIGTERM, then SIGKILL) and keeps the database. */
  stop(): Promise<void>;
  /** Kills the process at once (SIGKILL: no clean-up, as a crash would), keeping the database. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same database. */
  restart(): Promise<void>;
  /** Stops it and deletes the temporary database folder. */
  dispose(): Promise<void>;
  output(): string;
}

/** A secret key every process on the same libsql server shares in a test (derived from its URL). */
export const testSecretKey = (databaseUrl: string) => createHash('sha256').update(`accesslens-test:${databaseUrl}`).digest('base64');

export async function startServer(
  options: { seed?: 'demo' | 'none'; databaseUrl?: string /** Extra environment (e.g. ACCESSLENS_OIDC_*). */; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'accesslens-test-'));
  const databaseUrl = options.databaseUrl ?? `file:${join(dir, 'accesslens.db')}`;
  let port = 0;
  let deskPort: number | null = null;
  let child: ChildProcess | null = null;
  let log = '';

  const launch = () =>
    new Promise<void>((resolvePromise, reject) => {
      // One process (node with tsx's loader, not the tsx CLI, which runs the server in a second
      // process): a kill reaches the server itself, as a crash would.
      child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
        cwd: repoRoot,
        env: {
          ...process.env,
          PORT: String(port),
          DATABASE_URL: databaseUrl,
          ACCESSLENS_SEED: options.seed ?? 'demo',
          // The demo's in-house CRM on any free port: tests run side by side.
          ACCESSLENS_DEMO_CRM_PORT: '0',
          NODE_ENV: 'test',
          // A libsql server needs the key in the environment; a file database keeps its key file beside it.
          ...(databaseUrl.startsWith('file:') ? {} : { ACCESSLENS_SECRET_KEY: testSecretKey(databaseUrl) }),
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${log}`)), 30_000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(log);
        const desk = /Acme Desk \(the demo's in-house CRM\) on http:\/\/[^:\s]+:(\d+)/.exec(log);
        if (m && (desk || (options.seed ?? 'demo') === 'none')) {
          port = Number(m[1]);
          deskPort = desk ? Number(desk[1]) : null;
          clearTimeout(timer);
          resolvePromise();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before listening:\n${log}`));
      });
    });

  const stop = async () => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const timeout = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timeout);
    child = null;
  };

  const kill = async () => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
    child = null;
  };

  await launch();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get deskPort() {
      return deskPort;
    },
    databaseUrl,
    stop,
    kill,
    restart: launch,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => log,
  };
}

/** A small typed client for tests that act through the HTTP API, as another client would. */
export class ApiClient {
  token: string | null = null;
  constructor(readonly baseUrl: string) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  async signIn(email: string, password: string) {
    const res = await this.call('POST', '/api/auth/sign-in', { email, password });
    if (res.status !== 200) throw new Error(`sign-in failed ${res.status} ${JSON.stringify(res.json)}`);
    this.token = res.json.token;
    return res.json;
  }

  sync(cursor?: string) {
    return this.call('GET', `/api/sync${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
  }

  mutate(...mutations: unknown[]) {
    return this.call('POST', '/api/mutations', { mutations });
  }
}

export const DEMO = {
  ava: { email: 'ava@acme.test', password: 'ava-demo-2026', name: 'Ava Chen' },
  ben: { email: 'ben@acme.test', password: 'ben-demo-2026', name: 'Ben Ortiz' },
  cara: { email: 'cara@acme.test', password: 'cara-demo-2026', name: 'Cara Diaz' },
  dan: { email: 'dan@acme.test', password: 'dan-demo-2026', name: 'Dan Wu' },
} as const;
