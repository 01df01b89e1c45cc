import type { ImportRunView } from '@accesslens/shared';
import { loadConnection, loadImportRun } from '../../connectors/connections.ts';
import { requestImport, runImport } from '../../connectors/import.ts';
import { parseArgs, UsageError, type CliCommand } from '../command.ts';
import { secretBoxFor } from '../secret-input.ts';

const line = (r: ImportRunView) =>
  `${r.status}${r.phase ? ` (${r.phase})` : ''}: ${r.read.users} users, ${r.read.bundles} bundles, ${r.read.assignments} assignments read`;

/** `import crm ID`: imports now in this process, printing progress; follows a server's run if one holds the import. */
export const importCrm: CliCommand = {
  name: 'import crm',
  summary: "import a connection's users, bundles and assignments now (progress lines; exit 0 only on success)",
  usage: 'import crm ID',
  async run(argv, ctx) {
    const { positionals } = parseArgs(argv, {});
    if (positionals.length !== 1) throw new UsageError('name one connection id');
    const id = positionals[0]!;
    const db = await ctx.db();
    const connection = await loadConnection(db, id);
    if (!connection) {
      ctx.io.err(`There is no connection "${id}".`);
      return 1;
    }
    const box = secretBoxFor(ctx);
    const queued = await requestImport(db, id, 'cli', null, ctx.io.now());
    ctx.io.out(`import ${queued.id} of ${connection.name}`);
    let last = '';
    const progress = (r: ImportRunView) => {
      const text = line(r);
      if (text !== last) ctx.io.out(text);
      last = text;
    };
    const deps = { db, box, now: ctx.io.now, ownerId: `cli-${process.pid}-${queued.id.slice(4, 12)}`, onProgress: progress };
    let run: ImportRunView;
    for (;;) {
      const current = (await loadImportRun(db, queued.id))!;
      if (current.status === 'succeeded' || current.status === 'failed') {
        run = current;
        break;
      }
      const result = await runImport(deps, id, { runId: queued.id, trigger: 'cli' });
      if (!result.busy) {
        run = result.run;
        break;
      }
      // A server process holds this connection's import: follow its run.
      progress(result.run);
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (run.status !== 'succeeded') {
      ctx.io.err(`import failed: ${run.error ?? 'unknown reason'} (the last good import stays in force)`);
      return 1;
    }
    const changes = Object.entries(run.changes).filter(([, n]) => n > 0);
    ctx.io.out(`changes: ${changes.length ? changes.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
    for (const w of run.warnings) ctx.io.out(`warning: ${w}`);
    return 0;
  },
};
