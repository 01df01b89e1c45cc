/** Every CLI command, in the order `--help` lists them. */
import type { CliCommand } from './command.ts';
import { verifyAudit } from './commands/verify-audit.ts';

export const COMMANDS: readonly CliCommand[] = [verifyAudit];
