/** Picks the command named by the first words of argv, runs it, and turns failures into exit codes. */
import { ConfigError, loadConfig } from '../config.ts';
import { openDatabase, type Db } from '../db.ts';
import { migrate } from '../migrate.ts';
import { adoptUnsignedHead, AuditSigner } from '../audit-checkpoint.ts';
import { UsageError, type CliCommand, type CliIo } from './command.ts';
import { secretBoxFor } from './secret-input.ts';
import { COMMANDS } from './commands.ts';

export const EXIT_USAGE = 64;

function help(io: CliIo, commands: readonly CliCommand[]): void {
  io.out('Usage: pnpm accesslens <command> [options]');
  io.out('');
  const width = Math.max(...commands.map((c) => c.usage.length));
  for (const c of commands) io.out(`  ${c.usage.padEnd(width)}  ${c.summary}`);
  io.out('');
  io.out('DATABASE_URL selects the database (default: the embedded file of `pnpm start`).');
}

export async function runCli(argv: string[], io: CliIo, commands: readonly CliCommand[] = COMMANDS): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    help(io, commands);
    return argv.length === 0 ? EXIT_USAGE : 0;
  }
  // The longest command name that argv starts with ("import people" before "import").
  const command = [...commands]
    .sort((a, b) => b.name.split(' ').length - a.name.split(' ').length)
    .find((c) => c.name.split(' ').every((word, i) => argv[i] === word));
  if (!command) {
    io.err(`Unknown command: ${argv.slice(0, 2).join(' ')}`);
    help(io, commands);
    return EXIT_USAGE;
  }
  const rest = argv.slice(command.name.split(' ').length);
  if (rest.includes('--help')) {
    io.out(`Usage: pnpm accesslens ${command.usage}`);
    io.out(command.summary);
    return 0;
  }
  let opened: Db | null = null;
  try {
    const config = loadConfig(io.env);
    const db = async () => {
      if (!opened) {
        // The key first: every writer signs the audit chain's head (audit-checkpoint.ts), so none may write without it.
        const box = secretBoxFor({ io, config });
        opened = await openDatabase(config.databaseUrl, config.databaseAuthToken);
        opened.auditSigner = new AuditSigner(() => box.currentKeyRing());
        await migrate(opened);
        // As the server does at start-up: a chain from before signed checkpoints gets its head signed.
        await adoptUnsignedHead(opened, opened.auditSigner, io.now());
      }
      return opened;
    };
    return await command.run(rest, { io, config, db });
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\nUsage: pnpm accesslens ${command.usage}`);
      return EXIT_USAGE;
    }
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 78;
    }
    io.err(`${command.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    (opened as Db | null)?.close();
  }
}
