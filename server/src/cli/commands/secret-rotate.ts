import { rotateSecrets, SecretKeyError } from '../../secrets.ts';
import { ConfigError } from '../../config.ts';
import { parseArgs, type CliCommand } from '../command.ts';

export const secretRotate: CliCommand = {
  name: 'secret rotate',
  summary: 're-encrypt every stored CRM credential and token under a new key',
  usage: 'secret rotate',
  async run(argv, ctx) {
    parseArgs(argv, {});
    const db = await ctx.db();
    let result;
    try {
      result = await rotateSecrets(db, ctx.io.env, ctx.config.databaseUrl, ctx.io.now());
    } catch (error) {
      if (error instanceof SecretKeyError) throw new ConfigError(error.message);
      throw error;
    }
    ctx.io.out(`re-encrypted ${result.rewritten} of ${result.total} secrets under key ${result.keyId}`);
    if (result.mode === 'file') ctx.io.out(`the new key is in ${result.file} (mode 0600); running servers use it from now on`);
    else ctx.io.out('every server can drop ACCESSLENS_SECRET_KEY_PREVIOUS once it runs with the new ACCESSLENS_SECRET_KEY');
    return 0;
  },
};
