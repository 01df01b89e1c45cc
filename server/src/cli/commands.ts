/** Every CLI command, in the order `--help` lists them. */
import type { CliCommand } from './command.ts';
import { adminCreate } from './commands/admin-create.ts';
import { backup, restore } from './commands/backup.ts';
import { connectionAdd } from './commands/connection-add.ts';
import { connectionList } from './commands/connection-list.ts';
import { connectionTest } from './commands/connection-test.ts';
import { importCrm } from './commands/import-crm.ts';
import { importPeople } from './commands/import-people.ts';
import { scimTokenCreate, scimTokenList, scimTokenRevoke } from './commands/scim-token.ts';
import { secretRotate } from './commands/secret-rotate.ts';
import { verifyAudit } from './commands/verify-audit.ts';

export const COMMANDS: readonly CliCommand[] = [
  verifyAudit,
  adminCreate,
  importPeople,
  connectionAdd,
  connectionList,
  connectionTest,
  importCrm,
  secretRotate,
  scimTokenCreate,
  scimTokenList,
  scimTokenRevoke,
  backup,
  restore,
];
