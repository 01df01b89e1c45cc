import { connectionView, listConnections } from '../../connectors/connections.ts';
import { parseArgs, type CliCommand } from '../command.ts';

export const connectionList: CliCommand = {
  name: 'connection list',
  summary: 'list CRM connections with their mode, credentials and last import',
  usage: 'connection list',
  async run(argv, ctx) {
    parseArgs(argv, {});
    const db = await ctx.db();
    const all = await listConnections(db);
    if (all.length === 0) {
      ctx.io.out('no connections yet: add one with `pnpm accesslens connection add`');
      return 0;
    }
    for (const c of all) {
      const v = await connectionView(db, c);
      const last = v.lastImport ? `${v.lastImport.status} ${v.lastImport.finishedAt ?? v.lastImport.createdAt}` : 'never imported';
      ctx.io.out(
        `${v.id}\t${v.kind}\t${v.name}\t${v.enabled ? v.mode : 'disabled'}\tcredentials ${v.credentials}${v.authStatus === 'ok' ? '' : ' (needs re-authorisation)'}\t${last}`,
      );
    }
    return 0;
  },
};
