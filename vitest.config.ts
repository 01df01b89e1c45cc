import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Vitest's default (cores − 1) is one worker on a two-core machine: the server tests, which mostly wait
    // on a database, sqld or a child process, would then run strictly one file after another.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      // Property tests run hundreds of random orgs: give them time on a loaded two-core machine.
      { test: { name: 'shared', include: ['shared/src/**/*.test.ts'], environment: 'node', testTimeout: 30_000 } },
      { test: { name: 'server', include: ['server/src/**/*.test.ts'], environment: 'node', testTimeout: 20_000 } },
      {
        // The same route and domain tests against a real libsql server (sqld) instead of a file.
        test: {
          name: 'server-libsql',
          include: [
            'server/src/{auth,connectors,directory,mutations,revocations,routes,sync}/**/*.test.ts',
            'server/src/audit.test.ts',
            'server/src/cli/crm-connectors.test.ts',
            'server/src/**/*.libsql-test.ts',
          ],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
          env: { ACCESSLENS_TEST_DB: 'sqld' },
        },
      },
      'extension/vitest.config.{ts,mts}',
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          // Starting sqld, an OIDC provider and two server processes takes more than vitest's 10 s on a busy machine.
          hookTimeout: 60_000,
        },
      },
      {
        // The store packages (`pnpm zip`) and a rebuild from the Firefox sources zip: minutes of builds, run
        // alone after `pnpm build` (`pnpm test:packages`) rather than beside the integration tests.
        test: {
          name: 'packages',
          include: ['test/packages/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Each file launches Chromium; two cores run them best one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
