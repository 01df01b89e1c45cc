import { afterEach, describe, expect, it } from 'vitest';
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
    expect(t.out.join('\n')).toMatch(/^ok: 0 audit events, chain intact$/);
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
