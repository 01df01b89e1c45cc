import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createServer as createHttpServer, type Server } from 'node:http';
import { buildApp } from './app.ts';
import type { OidcSettings } from './auth/oidc.ts';
import type { Config } from './config.ts';
import { openDatabase, retryTakenLock, type Db } from './db.ts';
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
import { adoptUnsignedHead, AuditSigner } from './audit-checkpoint.ts';
import { TrustedProxies } from './client-address.ts';
import { isLoopbackHost } from './config.ts';
import { ChangeFeed, prunePokes } from './sync/feed.ts';
import { runScheduledBackup, type BackupSchedule } from './backup.ts';
import { ProcessRegistration } from './processes.ts';

export interface StartOptions {
  /** 0 picks a free port; the bound one is reported in `port` and `url`. */
  port?: number;
  /** Defaults to the local database file used by `pnpm start`. */
  databaseUrl: string;
  databaseAuthToken?: string;
  /** Default: the demo org on a loopback bind, none elsewhere (its passwords are published). */
  seed?: 'demo' | 'none';
  /** Extensions that may call (CORS); default: DEVELOPMENT_EXTENSION_ID. */
  extensionIds?: string[];
  corsOrigins?: string[];
  /** Reverse proxies whose forwarding headers name the client (addresses, CIDR ranges). */
  trustedProxies?: string[];
  /** Interface to bind: 127.0.0.1 (this machine only) by default. */
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
  /** Scheduled backups (ACCESSLENS_BACKUP_DIR); none when absent. */
  backup?: BackupSchedule;
}

export interface RunningServer {
  /** Where it listens, as bound (`http://127.0.0.1:8787`, `http://[::]:8787`). */
  url: string;
  port: number;
  /** The bound address (`127.0.0.1`, `::`, `0.0.0.0`). */
  address: string;
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
  const hostname = options.hostname ?? '127.0.0.1';
  const trustedProxies = options.trustedProxies?.length ? new TrustedProxies(options.trustedProxies) : null;
  const db = await openDatabase(options.databaseUrl, options.databaseAuthToken);
  const signer = new AuditSigner(() => box.currentKeyRing());
  db.auditSigner = signer;
  try {
    await migrate(db);
    // Each one transaction that checks again what it depends on: run again when sqld takes its lock away.
    if ((options.seed ?? (isLoopbackHost(hostname) ? 'demo' : 'none')) === 'demo') await retryTakenLock(() => seedDemoIfEmpty(db, now()));
    // A chain from before signed checkpoints: sign its head once it verifies.
    if ((await retryTakenLock(() => adoptUnsignedHead(db, signer, now()))) === 'refused')
      console.error('[accesslens] the audit chain does not verify or its signed head was removed: run `pnpm accesslens verify-audit`');
  } catch (error) {
    db.close();
    throw error;
  }
  const notifier = new Notifier();
  const findings = new FindingsService(db);
  const { app, unchangedPull } = buildApp({
    db,
    now,
    notifier,
    findings,
    corsOrigins: options.corsOrigins ?? [],
    ...(options.extensionIds ? { extensionIds: options.extensionIds } : {}),
    trustedProxies,
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
    // @hono/node-server's listener for the app, behind the unchanged pull's own (it answers or declines).
    const toApp = getRequestListener(app.fetch, { hostname });
    const s = createHttpServer((req, res) => {
      const answered = unchangedPull(req, res);
      if (answered === false) void toApp(req, res);
      else
        void answered.then((done) => {
          if (!done) void toApp(req, res);
        });
    });
    s.listen(options.port ?? 8787, hostname, () => resolve(s));
    s.once('error', reject);
  });
  const bound = server.address() as AddressInfo;
  const port = bound.port;
  // Other processes' (and the CLI's) writes: their pokes reach this process's streams.
  const feed = new ChangeFeed(db, notifier);
  await feed.start();
  const url = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${port}`;
  // Seen by `pnpm accesslens restore`, which refuses to replace a database in use.
  const registration = new ProcessRegistration(db);
  await registration.start(url);

  // The findings engine's first build and a full recompute of the findings table, in the background:
  // the server listens meanwhile (a findings read or a request waits for it).
  let running: Promise<unknown> = findings.start(now()).catch((error: unknown) => {
    console.error('[accesslens] findings start-up recompute failed:', error);
  });

  const sweep = async () => {
    try {
      await sweepExpiredGrants(db, now(), notifier, findings);
      await pruneSignInAttempts(db, now());
      await prunePokes(db, now());
      if (options.backup) {
        const made = await runScheduledBackup(db, options.backup, new Date());
        if (made) console.log(`[accesslens] scheduled backup written to ${made.file} (${made.bytes} bytes)`);
      }
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
    url,
    port,
    address: bound.address,
    db,
    notifier,
    findings,
    worker,
    consoleWorker,
    lifecycle,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        await feed.stop();
        await registration.stop();
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
    hostname: config.host,
    extensionIds: config.extensionIds,
    corsOrigins: config.corsOrigins,
    trustedProxies: config.trustedProxies,
    ...(config.oidc ? { oidc: config.oidc } : {}),
    leaseMs: config.leaseSeconds * 1000,
    ...(config.backup ? { backup: config.backup } : {}),
    ...extra,
  });
}
