import { loadConnection } from '../../connectors/connections.ts';
import { testConnection } from '../../routes/connections.ts';
import { parseArgs, UsageError, type CliCommand } from '../command.ts';
import { secretBoxFor } from '../secret-input.ts';

export const connectionTest: CliCommand = {
  name: 'connection test',
  summary: "check what a connection's credentials can do in its CRM",
  usage: 'connection test ID',
  async run(argv, ctx) {
    const { positionals } = parseArgs(argv, {});
    if (positionals.length !== 1) throw new UsageError('name one connection id');
    const id = positionals[0]!;
    const db = await ctx.db();
    if (!(await loadConnection(db, id))) {
      ctx.io.err(`There is no connection "${id}".`);
      return 1;
    }
    const result = await testConnection(db, { box: secretBoxFor(ctx) }, id, ctx.io.now);
    if (result.identity) ctx.io.out(`signed in as ${result.identity.username ?? result.identity.userId} (org ${result.identity.tenant ?? 'unknown'})`);
    for (const c of result.checks) ctx.io.out(`${c.ok ? 'ok  ' : 'FAIL'} ${c.id}: ${c.message}`);
    ctx.io.out(`can read: ${result.canRead ? 'yes' : 'no'}; can change access: ${result.canProvision ? 'yes' : 'no'}`);
    if (!result.ok) ctx.io.err('the connection test failed');
    return result.ok ? 0 : 1;
  },
};
