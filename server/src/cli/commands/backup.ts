import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient } from '@libsql/client';
import { verifyAudit, type AuditReport } from '../../audit-checkpoint.ts';
import { verifyAuditChain } from '../../audit.ts';
import { backupDatabase, restoreDatabase } from '../../backup.ts';
import { Db, openDatabase } from '../../db.ts';
import { runningProcesses } from '../../processes.ts';
import type { KeyRing } from '../../secrets.ts';
import { runWrite } from '../../write.ts';
import { parseArgs, UsageError, type CliCommand, type CliIo } from '../command.ts';
import { secretBoxFor } from '../secret-input.ts';

/** A backup file opened for reading only (openDatabase would switch it to WAL mode). */
function readOnly(file: string): Db {
  const url = `file:${file}`;
  return new Db(createClient({ url }), url);
}

/** The audit log of a backup file, checked with the configured key. */
async function verifyFile(file: string, ring: KeyRing): Promise<AuditReport> {
  const db = readOnly(file);
  try {
    const signed = await db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_head'");
    if (signed.rows.length > 0) return await verifyAudit(db, ring);
    // A backup from before signed checkpoints: the chain is all there is to check.
    const chain = await verifyAuditChain(db);
    return chain.ok
      ? { ok: true, events: chain.events, checkpoints: 0, head: { count: chain.events, hash: '', at: '' }, unverifiable: 0 }
      : { ok: false, events: chain.events, brokenSeq: chain.brokenSeq, problem: `the chain is broken at seq ${chain.brokenSeq}: ${chain.reason}` };
  } finally {
    db.close();
  }
}

function say(io: CliIo, report: AuditReport, what: string): void {
  if (report.ok) io.out(`${what}: ${report.events} audit events, chain intact${report.head.at ? `, signed head at seq ${report.head.count}` : ''}`);
  else io.err(`${what}: audit log NOT intact: ${report.problem}`);
}

export const backup: CliCommand = {
  name: 'backup',
  summary: 'write a consistent copy of the database (embedded file or libsql server) to FILE, while servers run',
  usage: 'backup FILE',
  async run(argv, ctx) {
    const { positionals } = parseArgs(argv, {});
    if (positionals.length !== 1) throw new UsageError('name one backup file');
    const file = resolve(positionals[0]!);
    const started = Date.now();
    const result = await backupDatabase(await ctx.db(), file);
    ctx.io.out(
      `ok: backed up to ${result.file} (${result.bytes} bytes, ${result.tables} tables${result.rows === null ? '' : `, ${result.rows} rows`}) in ${Date.now() - started} ms`,
    );
    const report = await verifyFile(file, secretBoxFor(ctx).currentKeyRing());
    say(ctx.io, report, 'the backup');
    return report.ok ? 0 : 1;
  },
};

export const restore: CliCommand = {
  name: 'restore',
  summary: 'replace the database with a backup FILE (refused while a server uses it); checks the audit log after',
  usage: 'restore FILE',
  async run(argv, ctx) {
    const { positionals } = parseArgs(argv, {});
    if (positionals.length !== 1) throw new UsageError('name one backup file');
    const { io, config } = ctx;
    const file = resolve(positionals[0]!);
    if (!existsSync(file)) {
      io.err(`no backup file at ${file}`);
      return 1;
    }
    const ring = secretBoxFor(ctx).currentKeyRing();

    // Not while a server uses the database: its next write would land in the middle of the restore.
    const current = await openDatabase(config.databaseUrl, config.databaseAuthToken);
    try {
      const running = await runningProcesses(current);
      if (running.length > 0) {
        io.err('refused: a server is running on this database. Stop every server first:');
        for (const p of running) io.err(`  ${p.url} (process ${p.pid} on ${p.host}, seen ${Math.round((Date.now() - p.seenAt.getTime()) / 1000)} s ago)`);
        return 1;
      }
    } finally {
      current.close();
    }

    const before = await verifyFile(file, ring);
    say(io, before, 'the backup');
    if (!before.ok) {
      io.err('refused: restoring this backup would bring back a damaged audit log (or the secret key is not the one that signed it).');
      return 1;
    }
    await restoreDatabase(file, config.databaseUrl, config.databaseAuthToken);

    const db = await ctx.db();
    await runWrite(db, io.now(), async (w) => {
      // A new instance id: every extension starts its slice over (a cursor from the lost timeline must not look current).
      await w.tx.execute('UPDATE meta SET instance_id = lower(hex(randomblob(16))) WHERE id = 1');
      // Sessions signed out after the backup must not come back: everyone signs in again.
      await w.tx.execute('DELETE FROM sessions');
      await w.tx.execute('DELETE FROM server_processes');
      await w.tx.execute('DELETE FROM sync_pokes');
      await w.audit({ actorId: null, action: 'database.restored', subjectType: 'database', subjectId: null, data: { file, events: before.events } });
    });
    const after = await verifyAudit(db, ring);
    say(io, after, 'the restored database');
    if (!after.ok) return 1;
    io.out(`ok: restored ${file}; everyone signs in again, and every extension reloads its data`);
    return 0;
  },
};
