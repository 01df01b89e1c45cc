import { defineConfig } from 'vitest/config';
import { WxtVitest } from 'wxt/testing/vitest-plugin';

export default defineConfig({
  // Root explicit: the workspace's vitest runs this project from the repository root.
  plugins: [WxtVitest({ root: import.meta.dirname })],
  test: {
    name: 'extension',
    include: ['**/*.test.ts', '**/*.test.tsx'],
    exclude: ['node_modules/**', '.output/**', '.wxt/**'],
    environment: 'node',
    setupFiles: ['./vitest.setup.ts'],
    // One seeded database for the run, copied by the background's tests (entrypoints/background/test-server.ts).
    globalSetup: ['./entrypoints/background/test-server-seed.ts'],
    // The background's tests run the real server in-process (entrypoints/background/test-server.ts): seeding
    // a template database and argon2 sign-ins take longer than vitest's defaults on a loaded two-core machine.
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
