import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { DEVELOPMENT_EXTENSION_ID, extensionOrigin } from '@accesslens/shared';
import { bodyLimit } from 'hono/body-limit';
import { AuditSigner } from './audit-checkpoint.ts';
import { jsonHeaderSets, responseHeaders } from './cors.ts';
import type { TrustedProxies } from './client-address.ts';
import { HTTPException } from 'hono/http-exception';
import { OidcClient, type OidcSettings } from './auth/oidc.ts';
import { primeDummyHash } from './auth/password.ts';
import type { Db } from './db.ts';
import type { ConnectorServices, Env } from './env.ts';
import { ApiFailure } from './errors.ts';
import { FindingsService } from './findings/service.ts';
import { Notifier } from './notifier.ts';
import { apiRoutes, json, openApiDocument } from './openapi.ts';
import { adminGroups } from './routes/admin-groups.ts';
import { adminLicenses } from './routes/admin-licenses.ts';
import { adminPeople, PEOPLE_IMPORT_PATH } from './routes/admin-people.ts';
import { adminRevocations } from './routes/admin-revocations.ts';
import { adminScimTokens } from './routes/admin-scim-tokens.ts';
import { adminTrainings } from './routes/admin-trainings.ts';
import { auth } from './routes/auth.ts';
import { connectionRoutes } from './routes/connections.ts';
import { taskRoutes } from './routes/tasks.ts';
import { noticeRoutes } from './routes/notices.ts';
import { auditRoutes } from './routes/audit.ts';
import { adminAccessRoutes } from './routes/admin-access.ts';
import { reviewRoutes } from './routes/reviews.ts';
import { licenseSeatRoutes } from './routes/license-seats.ts';
import { delegationRoutes, notificationRoutes, preferencesRoutes, webhookRoutes } from './routes/lifecycle.ts';
import { generateKey, KeyRing, SecretBox } from './secrets.ts';
import { health } from './routes/health.ts';
import { findingsRoutes } from './routes/findings.ts';
import { me } from './routes/me.ts';
import { mutations } from './routes/mutations.ts';
import { killSwitchRoutes, pageRuleRoutes } from './routes/page-config.ts';
import { policyRoutes } from './routes/policy.ts';
import { requestRoutes } from './routes/requests.ts';
import { ssoRoutes } from './routes/sso.ts';
import { scim, SCIM_BASE_PATH } from './routes/scim.ts';
import { ERROR_SCHEMA, SCIM_CONTENT_TYPE } from './scim/protocol.ts';
import { sync, unchangedPullListener } from './routes/sync.ts';
import { z } from 'zod';

export interface AppOptions {
  db: Db;
  /** The clock; tests move it. */
  now?: () => Date;
  notifier?: Notifier;
  /** This process's findings engine; one per process (tests give each app its own to act as another process). */
  findings?: FindingsService;
  /**
   * The browser extensions that may call (ACCESSLENS_EXTENSION_IDS): Chromium ids and Firefox
   * installation UUIDs. Default: the id of this repository's builds (DEVELOPMENT_EXTENSION_ID).
   */
  extensionIds?: readonly string[];
  /** Other origins allowed (ACCESSLENS_CORS_ORIGINS), e.g. an admin console on its own host. */
  corsOrigins?: string[];
  /** Reverse proxies whose forwarding headers name the client (ACCESSLENS_TRUSTED_PROXIES). */
  trustedProxies?: TrustedProxies | null;
  /** Single sign-on with this OpenID Connect provider; none when absent. */
  oidc?: OidcSettings;
  /**
   * Encrypts CRM credentials (server/src/secrets.ts). startServer loads the configured key; without one
   * (tests), a throwaway key is used — secrets stored with it cannot be read by another process.
   */
  secrets?: SecretBox;
  /** Replaces the global fetch for CRM calls. */
  crmFetch?: typeof fetch;
}

const MAX_BODY_BYTES = 1024 * 1024;

export function createApp(options: AppOptions) {
  return buildApp(options).app;
}

/**
 * The app, and the unchanged pull's own listener in front of it (routes/sync.ts), made from the same
 * database, clock and header sets: startServer serves both.
 */
export function buildApp({
  db,
  now = () => new Date(),
  notifier = new Notifier(),
  findings = new FindingsService(db),
  extensionIds = [DEVELOPMENT_EXTENSION_ID],
  corsOrigins = [],
  trustedProxies = null,
  oidc,
  secrets = new SecretBox(new KeyRing(generateKey())),
  crmFetch,
}: AppOptions) {
  const connectors: ConnectorServices = { box: secrets, ...(crmFetch ? { fetch: crmFetch } : {}) };
  // Only the configured extensions and origins: any other extension or page gets no CORS answer.
  const allowed = new Set([...extensionIds.flatMap((id) => extensionOrigin(id) ?? []), ...corsOrigins]);
  // Whoever holds the secret key signs the audit chain's head (audit-checkpoint.ts).
  db.auditSigner ??= new AuditSigner(() => secrets.currentKeyRing());
  const oidcClient = oidc ? new OidcClient(oidc) : null;
  primeDummyHash();
  const app = new OpenAPIHono<Env>();

  app.onError((err, c) => {
    if (err instanceof ApiFailure) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json(err.body, err.status);
    }
    if (err instanceof HTTPException && err.status === 400 && /malformed json/i.test(err.message))
      return c.json(ApiFailure.of(400, 'invalid_json', 'invalid_json', {}, { field: '(body)' }).body, 400);
    if (err instanceof HTTPException && err.status < 500)
      return c.json(
        { error: { code: 'bad_request', message: err.message || 'Bad request.', ...(err.status === 400 ? { field: '(request)' } : {}) } },
        err.status,
      );
    console.error(`[accesslens] ${c.req.method} ${new URL(c.req.url).pathname} failed:`, err);
    return c.json(ApiFailure.of(500, 'internal', 'internal').body, 500);
  });
  app.notFound((c) => c.json(ApiFailure.of(404, 'not_found', 'route_not_found', { method: c.req.method, path: c.req.path }).body, 404));

  // Hono's secure-headers defaults (nosniff, X-Frame-Options, no referrer, COOP/CORP, HSTS …) on every
  // response; CORS and no-store on the API's (cors.ts).
  const headersFor = jsonHeaderSets(allowed);
  app.use('*', responseHeaders(allowed, headersFor));
  const setVariables = (c: Context<Env>) => {
    c.set('db', db);
    c.set('now', now);
    c.set('notifier', notifier);
    c.set('findings', findings);
    c.set('connectors', connectors);
    c.set('trustedProxies', trustedProxies);
  };
  app.use('/api/*', (c, next) => {
    setVariables(c);
    return next();
  });
  app.use(`${SCIM_BASE_PATH}/*`, async (c, next) => {
    setVariables(c);
    await next();
    // On the response's own headers: c.header() after the handler would rebuild the whole response.
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
  app.use(
    `${SCIM_BASE_PATH}/*`,
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json({ schemas: [ERROR_SCHEMA], status: '413', detail: 'The request body is larger than 1 MB.' }, 413, {
          'Content-Type': SCIM_CONTENT_TYPE,
        }),
    }),
  );
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json(ApiFailure.of(413, 'payload_too_large', 'payload_too_large').body, 413),
  });
  // The people CSV import has its own, larger limit (on its route).
  // (A GET or HEAD has no body to limit: skipping them keeps the hot path from building a full Request.)
  app.use('/api/*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.path === PEOPLE_IMPORT_PATH ? next() : limit(c, next)));

  // The document describes every route, this one included; built once, on first request.
  let document: ReturnType<typeof openApiDocument> | undefined;
  const docs = apiRoutes().openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['meta'],
      summary: 'This API as an OpenAPI 3.1 document',
      responses: { 200: json(z.record(z.string(), z.unknown()), 'The OpenAPI 3.1 document.') },
    }),
    (c) => c.json((document ??= openApiDocument(app)) as unknown as Record<string, unknown>, 200),
  );

  const routed = app
    .route('/api/health', health)
    .route('/api/auth', auth)
    .route('/api/auth', ssoRoutes(oidcClient))
    .route('/api/me', me)
    .route('/api/sync', sync)
    .route('/api/mutations', mutations)
    .route('/api/requests', requestRoutes)
    .route('/api/findings', findingsRoutes)
    .route('/api/policy', policyRoutes)
    .route('/api/admin/page-rules', pageRuleRoutes)
    .route('/api/admin/kill-switches', killSwitchRoutes)
    .route('/api/admin/people', adminPeople)
    .route('/api/admin/approver-groups', adminGroups)
    .route('/api/admin/trainings', adminTrainings)
    .route('/api/admin/licenses', adminLicenses)
    .route('/api/admin/scim-tokens', adminScimTokens)
    .route(SCIM_BASE_PATH, scim)
    .route('/api/admin/connections', connectionRoutes)
    .route('/api/admin/tasks', taskRoutes)
    .route('/api/notices', noticeRoutes)
    .route('/api/audit', auditRoutes)
    .route('/api/admin/access', adminAccessRoutes)
    .route('/api/reviews', reviewRoutes)
    .route('/api/admin/license-seats', licenseSeatRoutes)
    .route('/api/delegations', delegationRoutes)
    .route('/api/me/preferences', preferencesRoutes)
    .route('/api/admin/webhooks', webhookRoutes)
    .route('/api/admin/notifications', notificationRoutes)
    .route('/api/admin/revocations', adminRevocations)
    .route('/api/openapi.json', docs);
  return { app: routed, unchangedPull: unchangedPullListener({ db, now, headersFor }) };
}

export type AppType = ReturnType<typeof createApp>;
export { Notifier, FindingsService };

// The package's entry points, for tests and tools.
export { startServer, createServer, type RunningServer, type StartOptions } from './server.ts';
export { openDatabase, Db } from './db.ts';
export { migrate } from './migrate.ts';
export { loadConfig, type Config } from './config.ts';
export type { OidcSettings } from './auth/oidc.ts';
export { seedDemoIfEmpty, DEMO_PASSWORDS, DEMO_CONNECTION_ID } from './seed/demo.ts';
export { verifyAuditChain } from './audit.ts';
export { sweepExpiredGrants } from './expiry.ts';
export { ConnectorWorker } from './connectors/worker.ts';
export { SecretBox, KeyRing, generateKey, loadKeyRing } from './secrets.ts';
