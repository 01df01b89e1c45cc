/** Helpers for commands that handle secrets: read them from stdin or a file (never argv), open the key ring. */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ConfigError } from '../config.ts';
import { loadKeyRing, SecretBox, SecretKeyError } from '../secrets.ts';
import { UsageError, type CliContext } from './command.ts';

export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON object of credentials from stdin (`--credentials-stdin`) or a file (`--credentials-file`). */
export async function readCredentials(ctx: CliContext, flags: Set<string>, values: Record<string, string>): Promise<Record<string, unknown> | null> {
  const fromStdin = flags.has('credentials-stdin');
  const file = values['credentials-file'];
  if (fromStdin && file) throw new UsageError('give credentials on stdin or in a file, not both');
  if (!fromStdin && !file) return null;
  const text = fromStdin ? await readAll(ctx.io.stdin) : readFileSync(file!, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(
      `the credentials ${fromStdin ? 'on stdin' : `in ${file}`} are not JSON (e.g. {"flow":"client_credentials","clientId":"…","clientSecret":"…"})`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('the credentials must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** The secret box for the configured database (ACCESSLENS_SECRET_KEY or the key file beside the database). */
export function secretBoxFor(ctx: Pick<CliContext, 'io' | 'config'>): SecretBox {
  try {
    return new SecretBox(loadKeyRing(ctx.io.env, ctx.config.databaseUrl));
  } catch (error) {
    if (error instanceof SecretKeyError) throw new ConfigError(error.message);
    throw error;
  }
}
