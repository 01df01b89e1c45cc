import { plainText } from '@accesslens/shared';
import { createScimToken, listScimTokens, revokeScimToken } from '../../scim/tokens.ts';
import { ApiFailure } from '../../errors.ts';
import { runWrite } from '../../write.ts';
import { parseArgs, UsageError, type CliCommand } from '../command.ts';

export const scimTokenCreate: CliCommand = {
  name: 'scim token create',
  summary: 'create a SCIM bearer token for an identity provider (printed once)',
  usage: 'scim token create --name NAME',
  async run(argv, { io, db }) {
    const { values, positionals } = parseArgs(argv, { values: ['name'] });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.name === undefined) throw new UsageError('--name is required (the identity provider, e.g. okta or entra)');
    const name = plainText(100, { required: true }).safeParse(values.name);
    if (!name.success) {
      io.err(`--name: ${name.error.issues[0]?.message ?? 'is invalid'}`);
      return 1;
    }
    const created = await runWrite(await db(), io.now(), (w) => createScimToken(w, name.data, null));
    io.out(created.token);
    io.err(`ok: SCIM token ${created.scimToken.id} for "${name.data}". It is shown this once: paste it into the identity provider now.`);
    io.err('SCIM base URL: https://<this server>/scim/v2 (authentication: HTTP header, Bearer token).');
    return 0;
  },
};

export const scimTokenList: CliCommand = {
  name: 'scim token list',
  summary: 'list SCIM tokens (never their secrets)',
  usage: 'scim token list',
  async run(argv, { io, db }) {
    const { positionals } = parseArgs(argv, {});
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const tokens = await listScimTokens(await db());
    if (tokens.length === 0) io.out('no SCIM tokens');
    for (const t of tokens)
      io.out(`${t.id}  ${t.name}  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`);
    return 0;
  },
};

export const scimTokenRevoke: CliCommand = {
  name: 'scim token revoke',
  summary: 'revoke a SCIM token at once',
  usage: 'scim token revoke ID',
  async run(argv, { io, db }) {
    const { positionals } = parseArgs(argv, {});
    if (positionals.length !== 1) throw new UsageError('name one token id (see `scim token list`)');
    try {
      const t = await runWrite(await db(), io.now(), (w) => revokeScimToken(w, positionals[0]!, null));
      io.out(`ok: revoked SCIM token ${t.id} ("${t.name}")`);
      return 0;
    } catch (error) {
      if (error instanceof ApiFailure) {
        io.err(`refused: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
