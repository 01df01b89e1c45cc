import { verifyAudit as verify } from '../../audit-checkpoint.ts';
import { parseArgs, type CliCommand } from '../command.ts';
import { secretBoxFor } from '../secret-input.ts';

export const verifyAudit: CliCommand = {
  name: 'verify-audit',
  summary: 'check the audit log: its hash chain and its checkpoints signed with the secret key',
  usage: 'verify-audit',
  async run(argv, ctx) {
    parseArgs(argv, {});
    const { io } = ctx;
    const result = await verify(await ctx.db(), secretBoxFor(ctx).currentKeyRing());
    if (result.ok) {
      io.out(
        `ok: ${result.events} audit events, chain intact; signed head at seq ${result.head.count} (${result.head.at}); ` +
          `${result.checkpoints} signed checkpoint${result.checkpoints === 1 ? '' : 's'} match` +
          (result.unverifiable > 0 ? `; ${result.unverifiable} signed with a key no longer held were not checked` : ''),
      );
      return 0;
    }
    io.err(`audit log NOT intact: ${result.problem} (${result.events} events in the chain)`);
    return 1;
  },
};
