import { verifyAuditChain } from '../../audit.ts';
import { parseArgs, type CliCommand } from '../command.ts';

export const verifyAudit: CliCommand = {
  name: 'verify-audit',
  summary: 'check the audit log hash chain',
  usage: 'verify-audit',
  async run(argv, { io, db }) {
    parseArgs(argv, {});
    const result = await verifyAuditChain(await db());
    if (result.ok) {
      io.out(`ok: ${result.events} audit events, chain intact`);
      return 0;
    }
    io.err(`broken at seq ${result.brokenSeq}: ${result.reason} (${result.events} events verified before it)`);
    return 1;
  },
};
