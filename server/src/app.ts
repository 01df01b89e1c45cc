import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { primeDummyHash } from './auth/password.ts';
import type { Db } from './db.ts';
import type { ConnectorServices, Env } from './env.ts';
import { ApiFailure } from './errors.ts';
import { FindingsService } from './findings/service.ts';
import { Notifier } from './notifier.ts';
import { auth } from './routes/auth.ts';
import { connectionRoutes } from './routes/connections.ts';
import { taskRoutes } from './routes/tasks.ts';
import { generateKey, KeyRing, SecretBox } from './secrets.ts';
import { health } from './routes/health.ts';
import { findingsRoutes } from './routes/findings.ts';
import { me } from './routes/me.ts';
import { mutations } from './routes/mutations.ts';
import { policyRoutes } from './routes/policy.ts';
import { requestRoutes } from './routes/requests.ts';
import { sync } from './routes/sync.ts';

export interface AppOptions {
  db: Db;
  /** The clock; tests move it. */
  now?: () => Date;
  notifier?: Notifier;
  /** This process's findings engine; one per process (tests give each app its own to act as another process). */
  findings?: FindingsService;
  /** Extra origins allowed besides browser extensions (ACCESSLENS_CORS_ORIGINS). */
  corsOrigins?: string[];
  /**
   * Encrypts CRM credentials (server/src/secrets.ts). startServer loads the configured key; without one
   * (tests), a throwaway key is used — secrets stored with it cannot be read by another process.
   */
  secrets?: SecretBox;
  /** Replaces the global fetch for CRM calls. */
  crmFetch?: typeof fetch;
}

const EXTENSION_ORIGIN = /^(chrome-extension|moz-extension):\/\/[A-Za-z0-9-]+$/;
const MAX_BODY_BYTES = 1024 * 1024;

export function createApp({
  db,
  now = () => new Date(),
  notifier = new Notifier(),
  findings = new FindingsService(db),
  corsOrigins = [],
  secrets = new SecretBox(new KeyRing(generateKey())),
  crmFetch,
}: AppOptions) {
  const connectors: ConnectorServices = { box: secrets, ...(crmFetch ? { fetch: crmFetch } : {}) };
  const allowed = new Set(corsOrigins);
  primeDummyHash();
  const app = new Hono<Env>();

  app.onError((err, c) => {
    if (err instanceof ApiFailure) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json(err.body, err.status);
    }
    if (err instanceof HTTPException && err.status === 400 && /malformed json/i.test(err.message))
      return c.json({ error: { code: 'invalid_json', message: 'The request body is not valid JSON.' } }, 400);
    if (err instanceof HTTPException && err.status < 500)
      return c.json({ error: { code: 'bad_request', message: err.message || 'Bad request.' } }, err.status);
    console.error(`[accesslens] ${c.req.method} ${new URL(c.req.url).pathname} failed:`, err);
    return c.json({ error: { code: 'internal', message: 'Something went wrong on the server.' } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}.` } }, 404));

  app.use(
    '/api/*',
    cors({
      origin: (origin) => (EXTENSION_ORIGIN.test(origin) || allowed.has(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type'],
      exposeHeaders: ['Retry-After'],
      maxAge: 600,
    }),
  );
  app.use('/api/*', async (c, next) => {
    c.set('db', db);
    c.set('now', now);
    c.set('notifier', notifier);
    c.set('findings', findings);
    c.set('connectors', connectors);
    await next();
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: { code: 'payload_too_large', message: 'The request body is larger than 1 MB.' } }, 413),
    }),
  );

  return app
    .route('/api/health', health)
    .route('/api/auth', auth)
    .route('/api/me', me)
    .route('/api/sync', sync)
    .route('/api/mutations', mutations)
    .route('/api/requests', requestRoutes)
    .route('/api/findings', findingsRoutes)
    .route('/api/policy', policyRoutes)
    .route('/api/admin/connections', connectionRoutes)
    .route('/api/admin/tasks', taskRoutes);
}

export type AppType = ReturnType<typeof createApp>;
export { Notifier, FindingsService };

// The package's entry points, for tests and tools.
export { startServer, createServer, type RunningServer, type StartOptions } from './server.ts';
export { openDatabase, Db } from './db.ts';
export { migrate } from './migrate.ts';
export { loadConfig, type Config } from './config.ts';
export { seedDemoIfEmpty, DEMO_PASSWORDS, DEMO_CONNECTION_ID } from './seed/demo.ts';
export { verifyAuditChain } from './audit.ts';
export { sweepExpiredGrants } from './expiry.ts';
export { ConnectorWorker } from './connectors/worker.ts';
export { SecretBox, KeyRing, generateKey, loadKeyRing } from './secrets.ts';
