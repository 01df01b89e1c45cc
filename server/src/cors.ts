/**
 * Every response's headers, in one middleware: Hono's secure-headers defaults, CORS for the API, and
 * `Cache-Control: no-store` on API answers that set none.
 *
 * CORS for the API: only the configured extensions (ACCESSLENS_EXTENSION_IDS) and origins
 * (ACCESSLENS_CORS_ORIGINS) get an answer; any other page or extension reads nothing.
 *
 * Why one middleware and not Hono's `secureHeaders()` + `cors()`: each of those sets its headers one by
 * one on the finished response's `Headers` (or through `c.header()`, which makes Hono rebuild the whole
 * response), and that — materialising a `Headers` object, then @hono/node-server turning it back into
 * a plain object — was most of an unchanged sync's cost (issue 10). Here the whole set for a request is
 * one frozen plain object chosen once per origin; the hot routes build their response with it directly
 * (`fastJson`), and @hono/node-server writes a plain-object response without copying. Any other
 * response gets the same headers set on it after the handler, as before.
 */
import type { Context, MiddlewareHandler, TypedResponse } from 'hono';
import type { JSONParsed } from 'hono/utils/types';
import type { Env } from './env.ts';

const ALLOW_METHODS = 'GET,POST,PUT,PATCH,DELETE,OPTIONS';
const ALLOW_HEADERS = 'Authorization,Content-Type';
const EXPOSE_HEADERS = 'Retry-After';
const MAX_AGE_SECONDS = '600';

/**
 * Hono's `secureHeaders()` defaults (hono/middleware/secure-headers: HEADERS_MAP filtered by
 * DEFAULT_OPTIONS), which this app used before; cors.test.ts checks the two stay the same.
 */
export const SECURE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Frame-Options': 'SAMEORIGIN',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-XSS-Protection': '0',
});

type HeaderSet = Readonly<Record<string, string>>;

/** Responses built by `fastJson`: they already carry every header. */
const complete = new WeakSet<Response>();

/**
 * A JSON answer with the request's whole header set (Content-Type included) as one plain object:
 * for the hot routes (unchanged sync, /api/me). Falls back to `c.json` outside `responseHeaders`.
 */
// `any`: any route's context (its path and input types do not matter here)
export function fastJson<T>(c: Context<Env, any, any>, body: T): Response & TypedResponse<JSONParsed<T>, 200, 'json'> {
  return fastJsonText(c, JSON.stringify(body) as JsonText<T>);
}

/** JSON text of a `T` (made with JSON.stringify). */
export type JsonText<T> = string & { readonly __json: T };

/** `fastJson` for a body already serialised (e.g. shared by several pulls). */
// `any`: as fastJson
export function fastJsonText<T>(c: Context<Env, any, any>, text: JsonText<T>): Response & TypedResponse<JSONParsed<T>, 200, 'json'> {
  const headers = c.get('jsonHeaders');
  const res = headers ? new Response(text, { status: 200, headers }) : c.body(text, 200, { 'Content-Type': 'application/json' });
  if (headers) complete.add(res);
  return res as never;
}

/** The whole header set of a JSON answer on `/api/*` for a request from `origin`. */
export type JsonHeadersFor = (origin: string | undefined) => HeaderSet;

/**
 * The header sets of JSON answers on `/api/*`, made once: without CORS, and for each allowed origin
 * (the one rule for both the middleware below and the unchanged pull's own path, routes/sync.ts).
 */
export function jsonHeaderSets(allowed: ReadonlySet<string>): JsonHeadersFor {
  const json = (extra: Record<string, string>): HeaderSet =>
    Object.freeze({ ...SECURE_HEADERS, Vary: 'Origin', ...extra, 'Cache-Control': 'no-store', 'Content-Type': 'application/json' });
  const plainJson = json({});
  const byOrigin = new Map<string, HeaderSet>();
  for (const origin of allowed) byOrigin.set(origin, json({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSE_HEADERS }));
  return (origin) => (origin === undefined ? plainJson : (byOrigin.get(origin) ?? plainJson));
}

/**
 * The middleware for every path. `allowed`: the origins that get a CORS answer on `/api/*` (API
 * answers also get `Cache-Control: no-store` unless they set their own).
 */
export function responseHeaders(allowed: ReadonlySet<string>, headersFor: JsonHeadersFor = jsonHeaderSets(allowed)): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (!c.req.path.startsWith('/api/')) {
      await next();
      applySecure(c.res.headers);
      return;
    }
    const origin = c.req.header('Origin');
    const allow = origin !== undefined && allowed.has(origin);
    if (c.req.method === 'OPTIONS') {
      const headers: Record<string, string> = { ...SECURE_HEADERS, Vary: 'Origin, Access-Control-Request-Headers' };
      if (allow) {
        headers['Access-Control-Allow-Origin'] = origin;
        headers['Access-Control-Allow-Methods'] = ALLOW_METHODS;
        headers['Access-Control-Allow-Headers'] = ALLOW_HEADERS;
        headers['Access-Control-Max-Age'] = MAX_AGE_SECONDS;
      }
      return new Response(null, { status: 204, headers });
    }
    c.set('jsonHeaders', headersFor(origin));
    await next();
    const res = c.res;
    if (complete.has(res)) return;
    const headers = res.headers;
    applySecure(headers);
    headers.append('Vary', 'Origin');
    if (allow) {
      headers.set('Access-Control-Allow-Origin', origin);
      headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
    if (!headers.has('Cache-Control')) headers.set('Cache-Control', 'no-store');
  };
}

function applySecure(headers: Headers): void {
  for (const name in SECURE_HEADERS) headers.set(name, SECURE_HEADERS[name]!);
  headers.delete('X-Powered-By');
}
