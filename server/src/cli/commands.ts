/** Every CLI command, in the order `--help` lists them. */
import type { CliCommand } from './command.ts';
import { adminCreate } from './commands/admin-create.ts';
import { importPeople } from './commands/import-people.ts';
import { scimTokenCreate, scimTokenList, scimTokenRevoke } from './commands/scim-token.ts';
import { verifyAudit } from './commands/verify-audit.ts';

export const COMMANDS: readonly CliCommand[] = [verifyAudit, adminCreate, importPeople, scimTokenCreate, scimTokenList, scimTokenRevoke];
