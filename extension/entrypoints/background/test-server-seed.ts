/**
 * The extension project's global setup (extension/vitest.config.ts): one database with the migrations and
 * the demo seed for the whole run, which every test file's ServerTemplate (test-server.ts) copies — the
 * seed's argon2 hashing of the demo passwords is then paid once per run, not once per file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { harness } from '../../../server/src/testing.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder holding the seeded database (accesslens.db) the test files copy. */
    accesslensSeededDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'accesslens-ext-seed-'));
  // Seeded at the time the tests read (their `Date`), as each test's server is: not at the harness's T0.
  const h = await harness({ dir, clock: { now: () => new Date(), set: () => undefined, advance: () => undefined } });
  await h.close();
  project.provide('accesslensSeededDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
