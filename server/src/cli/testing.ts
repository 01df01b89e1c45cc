/** In-process CLI runs for tests: captured output, a writable stdin, a temporary database file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliIo } from './command.ts';

const dirs: string[] = [];

/** Call from afterEach: removes the temporary folders of every testIo made since. */
export function disposeTestIos(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function testIo(env: Record<string, string | undefined> = {}, now = () => new Date('2026-11-30T12:00:00Z')) {
  const dir = mkdtempSync(join(tmpdir(), 'accesslens-cli-'));
  dirs.push(dir);
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough();
  const io: CliIo = {
    stdin,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { DATABASE_URL: `file:${join(dir, 'cli.db')}`, ...env },
    now,
  };
  return { io, out, err, stdin, dir };
}
