import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db.ts';
import { parseArgs, UsageError, type CliCommand } from './command.ts';
import { EXIT_USAGE, runCli } from './run.ts';
import { disposeTestIos, testIo } from './testing.ts';

afterEach(disposeTestIos);

describe('runCli', () => {
  const echo: CliCommand = {
    name: 'import people',
    summary: 'test',
    usage: 'import people FILE',
    async run(argv, { io }) {
      const { positionals } = parseArgs(argv, {});
      if (positionals.length !== 1) throw new UsageError('name one file');
      io.out(`file=${positionals[0]}`);
      return 0;
    },
  };

  it('runs the command the first words name, with the rest as its arguments', async () => {
    const t = testIo();
    expect(await runCli(['import', 'people', 'a.csv'], t.io, [echo])).toBe(0);
    expect(t.out).toEqual(['file=a.csv']);
  });

  it('a usage problem exits 64 with the usage line; an unknown command lists the commands', async () => {
    const t = testIo();
    expect(await runCli(['import', 'people'], t.io, [echo])).toBe(EXIT_USAGE);
    expect(t.err.join('\n')).toContain('Usage: pnpm accesslens import people FILE');
    expect(await runCli(['import', 'cats'], t.io, [echo])).toBe(EXIT_USAGE);
    expect(t.err.join('\n')).toContain('Unknown command: import cats');
  });

  it('a bad DATABASE_URL is a configuration error, not a crash', async () => {
    const t = testIo({ DATABASE_URL: 'postgres://nope' });
    expect(await runCli(['verify-audit'], t.io)).toBe(78);
    expect(t.err.join('\n')).toContain('DATABASE_URL');
  });

  it('verify-audit checks the chain of a fresh database', async () => {
    const t = testIo();
    expect(await runCli(['verify-audit'], t.io)).toBe(0);
    expect(t.out.join('\n')).toMatch(/^ok: 0 audit events, chain intact; signed head at seq 0 /);
  });

  it('verify-audit finds the newest event removed by someone with the database file (issue 10)', async () => {
    const t = testIo();
    t.stdin.end('correct horse battery staple\n');
    expect(await runCli(['admin', 'create', '--email', 'root@example.com', '--name', 'Root', '--password-stdin'], t.io)).toBe(0);
    expect(await runCli(['verify-audit'], t.io)).toBe(0);
    expect(t.out.at(-1)).toMatch(/^ok: 2 audit events, chain intact; signed head at seq 2 /);
    const db = await openDatabase(t.io.env.DATABASE_URL!);
    await db.execute('DROP TRIGGER audit_events_refuse_delete');
    await db.execute('DELETE FROM audit_events');
    db.close();
    expect(await runCli(['verify-audit'], t.io)).toBe(1);
    expect(t.err.at(-1)).toMatch(/^audit log NOT intact: the signed head counts 2 events; the chain holds 0: 2 newest events were removed/);
  });

  it('parseArgs refuses unknown options and missing values', () => {
    expect(parseArgs(['--email', 'a@b', '--password-stdin', 'x'], { values: ['email'], flags: ['password-stdin'] })).toEqual({
      values: { email: 'a@b' },
      flags: new Set(['password-stdin']),
      positionals: ['x'],
    });
    expect(() => parseArgs(['--emial', 'a'], { values: ['email'] })).toThrow('unknown option --emial');
    expect(() => parseArgs(['--email'], { values: ['email'] })).toThrow('--email needs a value');
  });
});
