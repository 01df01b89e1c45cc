import { connectionCreateBody, issuesOf } from '@accesslens/shared';
import { createConnection } from '../../connectors/connections.ts';
import { ApiFailure } from '../../errors.ts';
import { parseArgs, UsageError, type CliCommand } from '../command.ts';
import { readCredentials, secretBoxFor } from '../secret-input.ts';

export const EXIT_DATA = 65;

export const connectionAdd: CliCommand = {
  name: 'connection add',
  summary: 'add a CRM connection (credentials as JSON on stdin or in a file, never on the command line)',
  usage:
    'connection add --kind KIND --name NAME [--id ID] [--hosts HOST,HOST] [--tenant ORG_ID] [--mode read-only|provision] ' +
    '[--schedule MINUTES] [--automatic-change] [--settings JSON] [--credentials-stdin | --credentials-file FILE]',
  async run(argv, ctx) {
    const { values, flags, positionals } = parseArgs(argv, {
      values: ['kind', 'name', 'id', 'hosts', 'tenant', 'mode', 'schedule', 'settings', 'credentials-file'],
      flags: ['automatic-change', 'credentials-stdin'],
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    let settings: unknown = {};
    if (values.settings !== undefined) {
      try {
        settings = JSON.parse(values.settings);
      } catch {
        throw new UsageError('--settings must be a JSON object, e.g. \'{"instanceUrl":"https://acme.my.salesforce.com"}\'');
      }
    }
    const credentials = await readCredentials(ctx, flags, values);
    const parsed = connectionCreateBody.safeParse({
      ...(values.id !== undefined ? { id: values.id } : {}),
      kind: values.kind,
      name: values.name,
      hosts:
        values.hosts === undefined
          ? []
          : values.hosts
              .split(',')
              .map((h) => h.trim())
              .filter(Boolean),
      tenant: values.tenant ?? null,
      ...(values.mode !== undefined ? { mode: values.mode } : {}),
      automaticChange: flags.has('automatic-change'),
      ...(values.schedule !== undefined ? { scheduleMinutes: Number(values.schedule) } : {}),
      settings,
      credentials,
    });
    if (!parsed.success) {
      for (const issue of issuesOf(parsed.error)) ctx.io.err(`invalid ${issue.field}: ${issue.message}`);
      return EXIT_DATA;
    }
    const db = await ctx.db();
    let id: string;
    try {
      id = await createConnection(db, secretBoxFor(ctx), parsed.data, { actorId: null, now: ctx.io.now(), via: 'cli' });
    } catch (error) {
      if (error instanceof ApiFailure) {
        ctx.io.err(`invalid ${error.field ?? '(input)'}: ${error.message.replace(/^[\w.]+: /, '')}`);
        return EXIT_DATA;
      }
      throw error;
    }
    const d = parsed.data;
    ctx.io.out(`created connection ${id}: ${d.name} (${d.kind}, ${d.mode}), credentials ${credentials ? 'set' : 'not set'}`);
    if (credentials && d.scheduleMinutes > 0)
      ctx.io.out(`its first import is due now; run \`pnpm accesslens import crm ${id}\` to watch it, or let the server run it`);
    else if (!credentials) ctx.io.out('add credentials through the admin API (PATCH /api/admin/connections/:id) before it can import');
    return 0;
  },
};
