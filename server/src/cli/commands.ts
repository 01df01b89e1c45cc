/** Every CLI command, in the order `--help` lists them. */
import type { CliCommand } from './command.ts';
import { connectionAdd } from './commands/connection-add.ts';
import { connectionList } from './commands/connection-list.ts';
import { connectionTest } from './commands/connection-test.ts';
import { importCrm } from './commands/import-crm.ts';
import { secretRotate } from './commands/secret-rotate.ts';
import { verifyAudit } from './commands/verify-audit.ts';

export const COMMANDS: readonly CliCommand[] = [verifyAudit, connectionAdd, connectionList, connectionTest, importCrm, secretRotate];
