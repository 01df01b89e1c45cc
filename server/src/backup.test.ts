import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKUP_FILE, backupFileName, runScheduledBackup } from './backup.ts';
import { harness, type Harness } from './testing.ts';

let h: Harness;
let dir: string;
beforeEach(async () => {
  h = await harness();
  dir = mkdtempSync(join(tmpdir(), 'accesslens-scheduled-'));
});
afterEach(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('scheduled backups', () => {
  it('are made once per interval across processes, and only the newest are kept', async () => {
    const schedule = { dir, intervalMs: 60 * 60 * 1000, keep: 2 };
    let t = new Date('2026-03-02T09:00:00.000Z');
    // Two processes find it due at the same moment: one makes it.
    const [a, b] = await Promise.all([runScheduledBackup(h.db, schedule, t), runScheduledBackup(h.db, schedule, t)]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([backupFileName(t)]);
    // Not again before the interval is up.
    expect(await runScheduledBackup(h.db, schedule, new Date(t.getTime() + 59 * 60 * 1000))).toBeNull();
    for (let i = 1; i <= 3; i++) {
      t = new Date(t.getTime() + 60 * 60 * 1000);
      expect(await runScheduledBackup(h.db, schedule, t)).not.toBeNull();
    }
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files.every((f) => BACKUP_FILE.test(f))).toBe(true);
    expect(files.at(-1)).toBe(backupFileName(t));
    const state = (await h.db.execute('SELECT last_file, last_error FROM backup_schedule')).rows[0]!;
    expect(state.last_file).toBe(join(dir, backupFileName(t)));
    expect(state.last_error).toBeNull();
  });
});
