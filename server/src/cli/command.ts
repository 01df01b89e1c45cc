/**
 * One CLI command: `pnpm accesslens <name> [args]`. Commands print through `io` (never console) so
 * tests run them in-process, and return the exit code: 0 only on success.
 */
import type { Readable } from 'node:stream';
import type { Config } from '../config.ts';
import type { Db } from '../db.ts';

export interface CliIo {
  stdin: Readable;
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
  /** The clock; tests move it. */
  now: () => Date;
}

export interface CliContext {
  io: CliIo;
  config: Config;
  /** Opens (and migrates) the configured database once; closed by the runner after the command. */
  db: () => Promise<Db>;
}

export interface CliCommand {
  /** Words that select it, e.g. `connection add`. */
  name: string;
  summary: string;
  /** Shown on `--help` and on a usage error, after `pnpm accesslens `. */
  usage: string;
  run(argv: string[], ctx: CliContext): Promise<number>;
}

/** A usage problem: the runner prints the message and the command's usage, and exits 64. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Parses `--name value`, `--name=value` and bare `--flag` options; the rest are positionals.
 * Unknown options are refused, so a typo never silently does something else.
 */
export function parseArgs(
  argv: string[],
  spec: { values?: readonly string[]; flags?: readonly string[] },
): { values: Record<string, string>; flags: Set<string>; positionals: string[] } {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (spec.flags?.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    } else if (spec.values?.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      values[name] = value;
    } else throw new UsageError(`unknown option --${name}`);
  }
  return { values, flags, positionals };
}
