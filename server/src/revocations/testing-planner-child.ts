/**
 * Test support (not a test file): a server process's revocation planner, stopped just before its
 * planning transaction commits, for revocations.test.ts to kill there (as a crash would).
 * Usage: node --import tsx testing-planner-child.ts DATABASE_URL NOW_ISO
 */
import { openDatabase } from '../db.ts';
import { planDirectoryEvents } from './planner.ts';

const [url, now] = process.argv.slice(2);
const db = await openDatabase(url!);
// Keeps the process alive while it waits to be killed.
setInterval(() => {}, 60_000);
await planDirectoryEvents({
  db,
  now: () => new Date(now!),
  beforeCommit: async (eventIds) => {
    process.stdout.write(`planning ${eventIds.join(',')}\n`);
    await new Promise(() => {});
  },
});
