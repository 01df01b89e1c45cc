import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PEOPLE_CSV_HEADER } from '@accesslens/shared';
import { importPeopleCsv } from '../../directory/import.ts';
import { parseArgs, UsageError, type CliCommand } from '../command.ts';

export const importPeople: CliCommand = {
  name: 'import people',
  summary: `import people from a CSV file (header ${PEOPLE_CSV_HEADER.join(',')}); all or nothing`,
  usage: 'import people FILE.csv [--dry-run]',
  async run(argv, { io, db }) {
    const { flags, positionals } = parseArgs(argv, { flags: ['dry-run'] });
    if (positionals.length !== 1) throw new UsageError('name one CSV file');
    const path = resolve(positionals[0]!);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (error) {
      io.err(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return 1;
    }
    const dryRun = flags.has('dry-run');
    const started = performance.now();
    const result = await importPeopleCsv(await db(), bytes, {
      dryRun,
      source: { via: 'csv', actorId: null },
      now: io.now(),
      maxProblems: Number.POSITIVE_INFINITY,
    });
    if (!result.ok) {
      for (const p of result.problems) io.err(`line ${p.line}, ${p.field}: ${p.message}`);
      io.err(`refused: ${result.problemCount} ${result.problemCount === 1 ? 'problem' : 'problems'} in ${positionals[0]}; nothing was applied.`);
      return 1;
    }
    const c = result.counts;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    io.out(
      `${dryRun ? 'dry run (nothing applied)' : 'ok'}: ${c.rows} rows — ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged (${seconds} s)`,
    );
    io.out(`directory events: ${c.departed} departed, ${c.deactivated} deactivated, ${c.moved} moved`);
    return 0;
  },
};
