import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CHROMIUM_EXTENSION_ID, DEVELOPMENT_EXTENSION_ID, FIREFOX_EXTENSION_UUID } from '@accesslens/shared';
import { isLoopbackUrl, type OidcSettings } from './auth/oidc.ts';
import { trustedProxyProblem } from './client-address.ts';

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
  /** The interface to listen on: loopback unless told otherwise (0.0.0.0 or :: for every interface). */
  HOST: z
    .string()
    .trim()
    .refine((h) => isIP(h.replace(/^\[|\]$/g, '')) !== 0 || /^[a-z0-9.-]+$/i.test(h), 'must be an IP address or a host name (0.0.0.0 for every interface)')
    .default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|https?:\/\/|libsql:\/\/|wss?:\/\/)/, 'must be a file:, http(s)://, libsql:// or ws(s):// URL')
    .default(`file:${DEFAULT_DATABASE_PATH}`),
  DATABASE_AUTH_TOKEN: z.string().optional(),
  /** Default: the demo org on a loopback bind only — its passwords are published. */
  ACCESSLENS_SEED: z.enum(['demo', 'none']).optional(),
  ACCESSLENS_EXTENSION_IDS: z
    .string()
    .default(DEVELOPMENT_EXTENSION_ID)
    .transform((s) =>
      s
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .refine(
            (id) => CHROMIUM_EXTENSION_ID.test(id) || FIREFOX_EXTENSION_UUID.test(id),
            'each entry must be an extension id (32 letters a–p, as chrome://extensions shows it) or a Firefox installation UUID',
          ),
      ),
    ),
  /** Scheduled backups into this folder (none when unset), every ACCESSLENS_BACKUP_INTERVAL_HOURS, the newest ACCESSLENS_BACKUP_KEEP kept. */
  ACCESSLENS_BACKUP_DIR: z.string().trim().min(1).optional(),
  ACCESSLENS_BACKUP_INTERVAL_HOURS: z.coerce
    .number({ message: 'must be a number of hours' })
    .min(0.25, 'must be at least 0.25 hours')
    .max(24 * 30, 'must be at most 720 hours')
    .default(24),
  ACCESSLENS_BACKUP_KEEP: z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(7),
  ACCESSLENS_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().superRefine((p, ctx) => {
          const problem = trustedProxyProblem(p);
          if (problem) ctx.addIssue({ code: 'custom', message: `${p}: ${problem}` });
        }),
      ),
    ),
  /** Acme Desk, the demo's in-house CRM: a port (0 = any free one), or `off`. Only with the demo seed. */
  ACCESSLENS_DEMO_CRM_PORT: z
    .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)], { message: 'must be a port number (0-65535) or off' })
    .default(8788),
  ACCESSLENS_LEASE_SECONDS: z.coerce
    .number({ message: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(3600, 'must be at most 3600 seconds')
    .default(120),
  ACCESSLENS_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(origin)),
  ACCESSLENS_OIDC_ISSUER: z
    .string()
    .refine((s) => {
      try {
        const u = new URL(s);
        return (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackUrl(u))) && !u.search && !u.hash;
      } catch {
        return false;
      }
    }, "must be the provider's https:// issuer URL (http:// only for a provider on this machine)")
    .optional(),
  ACCESSLENS_OIDC_CLIENT_ID: z.string().max(500).optional(),
  ACCESSLENS_OIDC_CLIENT_SECRET: z.string().max(2000).optional(),
  ACCESSLENS_OIDC_NAME: z.string().trim().min(1).max(60, 'must be at most 60 characters').default('SSO'),
  ACCESSLENS_OIDC_EMAIL_DOMAINS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((d) => d.trim().toLowerCase().replace(/^@/, ''))
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/, 'each entry must be a domain like acme.com'))),
  ACCESSLENS_OIDC_REQUIRE_VERIFIED_EMAIL: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
});

export interface Config {
  port: number;
  /** The interface the server listens on (HOST). */
  host: string;
  databaseUrl: string;
  databaseAuthToken?: string;
  seed: 'demo' | 'none';
  /** The demo in-house CRM's port (with the demo seed); null = not served. */
  demoCrmPort: number | null;
  /** Extensions that may call (CORS): Chromium ids and Firefox installation UUIDs. */
  extensionIds: string[];
  corsOrigins: string[];
  /** Reverse proxies whose forwarding headers name the client. */
  trustedProxies: string[];
  /** Scheduled backups; absent when ACCESSLENS_BACKUP_DIR is not set. */
  backup?: { dir: string; intervalMs: number; keep: number };
  /** Single sign-on (OpenID Connect); absent when ACCESSLENS_OIDC_ISSUER is not set. */
  oidc?: OidcSettings;
  /** How long a process holds a fulfilment job or an import before another may take over (a crashed one's). */
  leaseSeconds: number;
}

/** Whether a HOST value binds this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
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
  // Any ACCESSLENS_OIDC_* variable means single sign-on is meant to be on: then issuer and client id are required.
  const oidcSet = Object.keys(present).some((k) => k.startsWith('ACCESSLENS_OIDC_'));
  if (oidcSet && (!e.ACCESSLENS_OIDC_ISSUER || !e.ACCESSLENS_OIDC_CLIENT_ID)) {
    const missing = !e.ACCESSLENS_OIDC_ISSUER ? 'ACCESSLENS_OIDC_ISSUER' : 'ACCESSLENS_OIDC_CLIENT_ID';
    throw new ConfigError(
      `Invalid configuration:\n  ${missing}: is required for single sign-on (set both ACCESSLENS_OIDC_ISSUER and ACCESSLENS_OIDC_CLIENT_ID, or no ACCESSLENS_OIDC_* variable)`,
    );
  }
  const oidc: OidcSettings | undefined =
    oidcSet && e.ACCESSLENS_OIDC_ISSUER && e.ACCESSLENS_OIDC_CLIENT_ID
      ? {
          issuer: e.ACCESSLENS_OIDC_ISSUER,
          clientId: e.ACCESSLENS_OIDC_CLIENT_ID,
          ...(e.ACCESSLENS_OIDC_CLIENT_SECRET ? { clientSecret: e.ACCESSLENS_OIDC_CLIENT_SECRET } : {}),
          name: e.ACCESSLENS_OIDC_NAME,
          emailDomains: e.ACCESSLENS_OIDC_EMAIL_DOMAINS,
          requireVerifiedEmail: e.ACCESSLENS_OIDC_REQUIRE_VERIFIED_EMAIL === 'true',
        }
      : undefined;
  // The demo org's passwords are in the README: only on this machine unless asked for by name.
  const seed = e.ACCESSLENS_SEED ?? (isLoopbackHost(e.HOST) ? 'demo' : 'none');
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    ...(e.DATABASE_AUTH_TOKEN ? { databaseAuthToken: e.DATABASE_AUTH_TOKEN } : {}),
    seed,
    demoCrmPort: seed === 'demo' && e.ACCESSLENS_DEMO_CRM_PORT !== 'off' ? e.ACCESSLENS_DEMO_CRM_PORT : null,
    extensionIds: e.ACCESSLENS_EXTENSION_IDS,
    corsOrigins: e.ACCESSLENS_CORS_ORIGINS.map((o) => o.replace(/\/$/, '')),
    trustedProxies: e.ACCESSLENS_TRUSTED_PROXIES,
    ...(e.ACCESSLENS_BACKUP_DIR
      ? {
          backup: {
            dir: resolve(e.ACCESSLENS_BACKUP_DIR),
            intervalMs: Math.round(e.ACCESSLENS_BACKUP_INTERVAL_HOURS * 3_600_000),
            keep: e.ACCESSLENS_BACKUP_KEEP,
          },
        }
      : {}),
    ...(oidc ? { oidc } : {}),
    leaseSeconds: e.ACCESSLENS_LEASE_SECONDS,
  };
}
