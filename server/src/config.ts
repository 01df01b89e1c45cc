import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const DEFAULT_DATABASE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'accesslens.db');

const origin = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.origin === s || `${u.origin}/` === s;
  } catch {
    return false;
  }
}, 'each origin must look like https://example.com (scheme, host and optional port; no path)');

const envSchema = z.object({
  PORT: z.coerce
    .number({ message: 'must be a port number (0-65535)' })
    .int('must be a port number (0-65535)')
    .min(0, 'must be a port number (0-65535)')
    .max(65535, 'must be a port number (0-65535)')
    .default(8787),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|https?:\/\/|libsql:\/\/|wss?:\/\/)/, 'must be a file:, http(s)://, libsql:// or ws(s):// URL')
    .default(`file:${DEFAULT_DATABASE_PATH}`),
  DATABASE_AUTH_TOKEN: z.string().optional(),
  ACCESSLENS_SEED: z.enum(['demo', 'none']).default('demo'),
  ACCESSLENS_LEASE_SECONDS: z.coerce
    .number({ message: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(3600, 'must be at most 3600 seconds')
    .default(120),
  ACCESSLENS_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(origin)),
});

export interface Config {
  port: number;
  databaseUrl: string;
  databaseAuthToken?: string;
  seed: 'demo' | 'none';
  corsOrigins: string[];
  /** How long a process holds a fulfilment job or an import before another may take over (a crashed one's). */
  leaseSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as shells and .env files commonly produce them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    ...(e.DATABASE_AUTH_TOKEN ? { databaseAuthToken: e.DATABASE_AUTH_TOKEN } : {}),
    seed: e.ACCESSLENS_SEED,
    corsOrigins: e.ACCESSLENS_CORS_ORIGINS.map((o) => o.replace(/\/$/, '')),
    leaseSeconds: e.ACCESSLENS_LEASE_SECONDS,
  };
}
