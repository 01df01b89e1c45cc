/**
 * The API described by an OpenAPI 3.1 document generated from the zod schemas (@hono/zod-openapi):
 * every route is declared with `createRoute` (path, request and response schemas) and registered with
 * `.openapi(route, handler)` on a sub-app made by `apiRoutes()`.
 *
 * Why our own `.openapi`: @hono/zod-openapi's would answer a body sent with another Content-Type
 * with 415, where our routes validate it as an empty body and answer 400 naming the first missing
 * field — the one error shape every client knows. `apiRoutes()` keeps the library's route types, its
 * registry and its document generator, and validates with `zValidator` and the shared hook exactly as
 * `validate()` does.
 */
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import { zValidator } from '@hono/zod-validator';
import { apiError } from '@accesslens/shared';
import type { Context, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { invalidInputHook, type Env } from './env.ts';

type ValidationHook = (result: { success: true } | { success: false; error: unknown }, c: Context) => Response | undefined;

const JSON_MEDIA = /^application\/([a-z-.]+\+)?json$/i;

/** A sub-app whose `.openapi(route, handler)` documents the route and validates like `validate()`. */
export function apiRoutes(hook: ValidationHook = invalidInputHook): OpenAPIHono<Env> {
  const app = new OpenAPIHono<Env>({ defaultHook: hook as never });
  const openapi = ((config: RouteConfig & { hide?: boolean }, handler: MiddlewareHandler) => {
    const { middleware, hide, ...route } = config;
    if (!hide) app.openAPIRegistry.registerPath(route);
    const steps: MiddlewareHandler[] = middleware ? (Array.isArray(middleware) ? [...middleware] : [middleware]) : [];
    const request = route.request;
    const v = (target: 'query' | 'param' | 'header' | 'json', schema: z.ZodType) => zValidator(target, schema, hook as never) as unknown as MiddlewareHandler;
    if (request?.query) steps.push(v('query', request.query as z.ZodType));
    if (request?.params) steps.push(v('param', request.params as z.ZodType));
    if (request?.headers && !Array.isArray(request.headers)) steps.push(v('header', request.headers as z.ZodType));
    const content = request?.body?.content ?? {};
    const jsonType = Object.keys(content).find((m) => JSON_MEDIA.test(m));
    const media = jsonType ? content[jsonType] : undefined;
    const schema = media && 'schema' in media ? media.schema : undefined;
    if (schema && typeof (schema as z.ZodType).safeParse === 'function') steps.push(v('json', schema as z.ZodType));
    app.on([route.method.toUpperCase()], [route.path.replaceAll(/\/{(.+?)}/g, '/:$1')], ...steps, handler);
    return app;
  }) as unknown as OpenAPIHono<Env>['openapi'];
  app.openapi = openapi;
  return app;
}

/** A JSON body or response. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

const ERROR_TEXT = {
  400: 'Invalid input: `field` names the first bad field (`invalid_input`), or the body is not JSON (`invalid_json`).',
  401: 'No session, or an invalid or expired one (`unauthenticated`).',
  403: 'Signed in but not allowed (`forbidden`); the message says who may.',
  404: 'No such entity (`not_found`).',
  409: 'Conflicts with the current state (`conflict`).',
  413: 'The body is too large (`payload_too_large`).',
  429: 'Too many attempts (`rate_limited`), with Retry-After.',
} as const;
type ErrorStatus = keyof typeof ERROR_TEXT;

/** The API error shape for each status given. */
export function errors<S extends ErrorStatus>(...statuses: S[]): { [K in S]: ReturnType<typeof json<typeof apiError>> } {
  return Object.fromEntries(statuses.map((s) => [s, json(apiError, ERROR_TEXT[s])])) as never;
}

/** Routes behind `requireSession`. */
export const bearer = [{ bearerAuth: [] }];

/** The document: every route the app registered, with the bearer scheme. */
export function openApiDocument(app: OpenAPIHono<Env>) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token `<id>.<secret>` from POST /api/auth/sign-in.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'scimBearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A SCIM token created by an administrator (POST /api/admin/scim-tokens or `pnpm accesslens scim token create`).',
  });
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'AccessLens API',
      version: '1',
      description: 'Access governance on the CRM page: sync, requests, policy, findings, the directory and SCIM. See docs/api.md.',
    },
  });
}
