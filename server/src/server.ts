import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { createApp } from './app.ts';
import type { OidcSettings } from './auth/oidc.ts';
import type { Config } from './config.ts';
import { openDatabase, type Db } from './db.ts';
import { sweepExpiredGrants } from './expiry.ts';
import { FindingsService } from './findings/service.ts';
import { migrate } from './migrate.ts';
import { Notifier } from './notifier.ts';
import { pruneSignInAttempts } from './auth/rate-limit.ts';
import { seedDemoIfEmpty } from './seed/demo.ts';
import { ConnectorWorker } from './connectors/worker.ts';
import { ConsoleWorker } from './console/worker.ts';
import { loadKeyRing, SecretBox } from './secrets.ts';
import { LifecycleWorker } from './lifecycle/worker.ts';
import { Mailer, mailSettingsFromEnv, type MailSettings } from './lifecycle/mail.ts';

export interface StartOptions {
  /** 0 picks a free port; the bound one is reported in `port` and `url`. */
  port?: number;
  /** Defaults to the local database file used by `pnpm start`. */
  databaseUrl: string;
  databaseAuthToken?: string;
  seed?: 'demo' | 'none';
  corsOrigins?: string[];
  /** Interface to bind; all interfaces by default. */
  hostname?: string;
  now?: () => Date;
  /** Single sign-on (OpenID Connect); none when absent. */
  oidc?: OidcSettings;
  /** Where ACCESSLENS_SECRET_KEY (and _PREVIOUS) are read from; process.env by default. */
  env?: Record<string, string | undefined>;
  /** How long a process holds a fulfilment job or an import before another may take it over (ms). */
  leaseMs?: number;
  /** Replaces the global fetch for CRM calls. */
  crmFetch?: typeof fetch;
  /** Email over SMTP; default from ACCESSLENS_SMTP_URL and ACCESSLENS_MAIL_FROM (none when unset). */
  mail?: MailSettings | null;
}

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  notifier: Notifier;
  findings: FindingsService;
  worker: ConnectorWorker;
  /** Reviews' due dates and reminders, licence reminders, daily findings counts (the console's schedule). */
  consoleWorker: ConsoleWorker;
  /** Reminders, escalation, time-outs, access-window starts, delegation starts; the notification outbox. */
  lifecycle: LifecycleWorker;
  close(): Promise<void>;
}

const SWEEP_EVERY_MS = 60_000;

/** Opens and migrates the database, seeds it if asked, and serves the API. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const now = options.now ?? (() => new Date());
  // The secret key first: a libsql server without ACCESSLENS_SECRET_KEY must not start at all.
  const box = new SecretBox(loadKeyRing(options.env ?? process.env, options.databaseUrl));
  // SMTP settings are checked before anything starts: a bad URL stops the server with a clear message.
  const mail = options.mail === undefined ? mailSettingsFromEnv(options.env ?? process.env) : options.mail;
  const db = await openDatabase(options.databaseUrl, options.databaseAuthToken);
  try {
    await migrate(db);
    if ((options.seed ?? 'demo') === 'demo') await seedDemoIfEmpty(db, now());
  } catch (error) {
    db.close();
    throw error;
  }
  const notifier = new Notifier();
  const findings = new FindingsService(db);
  const app = createApp({
    db,
    now,
    notifier,
    findings,
    corsOrigins: options.corsOrigins ?? [],
    secrets: box,
    ...(options.oidc ? { oidc: options.oidc } : {}),
    ...(options.crmFetch ? { crmFetch: options.crmFetch } : {}),
  });
  const worker = new ConnectorWorker({
    db,
    box,
    now,
    findings,
    notifier,
    ...(options.crmFetch ? { fetch: options.crmFetch } : {}),
    ...(options.leaseMs ? { jobLeaseMs: options.leaseMs, importLeaseMs: options.leaseMs } : {}),
  });

  const consoleWorker = new ConsoleWorker({ db, now, findings, notifier, ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}) });
  const mailer = mail ? new Mailer(mail) : null;
  const lifecycle = new LifecycleWorker({ db, box, now, notifier, mailer, ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}) });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 8787, ...(options.hostname ? { hostname: options.hostname } : {}) }, () =>
      resolve(s as Server),
    ) as Server;
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;

  // The findings engine's first build and a full recompute of the findings table, in the background:
  // the server listens meanwhile (a findings read or a request waits for it).
  let running: Promise<unknown> = findings.start(now()).catch((error: unknown) => {
    console.error('[accesslens] findings start-up recompute failed:', error);
  });

  const sweep = async () => {
    try {
      await sweepExpiredGrants(db, now(), notifier, findings);
      await pruneSignInAttempts(db, now());
      // Keeps the findings table current with the clock (dormancy, expiries) and other processes' writes.
      await findings.ensureCurrent(now());
    } catch (error) {
      console.error('[accesslens] periodic sweep failed:', error);
    }
  };
  const timer = setInterval(() => void (running = running.then(sweep)), SWEEP_EVERY_MS);
  timer.unref();
  running = running.then(sweep);
  // Fulfilment jobs and imports left by a previous run (or another process) are picked up from here.
  worker.start();
  consoleWorker.start();
  lifecycle.start();

  let closing: Promise<void> | undefined;
  return {
    url: `http://localhost:${port}`,
    port,
    db,
    notifier,
    findings,
    worker,
    consoleWorker,
    lifecycle,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        await worker.stop();
        await consoleWorker.stop();
        await lifecycle.stop();
        mailer?.close();
        await running;
        notifier.closeAll();
        await new Promise<void>((resolve) => {
          // Ended event streams leave keep-alive connections behind as they finish: close those as they
          // go idle, and cut whatever is still busy after a second.
          const idle = setInterval(() => server.closeIdleConnections(), 10);
          const cut = setTimeout(() => server.closeAllConnections(), 1000);
          server.close(() => {
            clearInterval(idle);
            clearTimeout(cut);
            resolve();
          });
          server.closeIdleConnections();
        });
        db.close();
      })()),
  };
}

export function createServer(config: Config, extra: Partial<StartOptions> = {}): Promise<RunningServer> {
  return startServer({
    port: config.port,
    databaseUrl: config.databaseUrl,
    ...(config.databaseAuthToken ? { databaseAuthToken: config.databaseAuthToken } : {}),
    seed: config.seed,
    corsOrigins: config.corsOrigins,
    ...(config.oidc ? { oidc: config.oidc } : {}),
    leaseMs: config.leaseSeconds * 1000,
    ...extra,
  });
}
