/**
 * CORS for the API: only the configured extensions (ACCESSLENS_EXTENSION_IDS) and origins
 * (ACCESSLENS_CORS_ORIGINS) get an answer; any other page or extension reads nothing.
 *
 * Hono's cors middleware would do, but it touches the response before the handler runs and sets a
 * header through `c.header()` after it, which makes Hono rebuild every response (a third of an unchanged
 * sync's cost): here the headers go on the finished response's own `Headers`.
 */
import type { MiddlewareHandler } from 'hono';

const ALLOW_METHODS = 'GET,POST,PUT,PATCH,DELETE,OPTIONS';
const ALLOW_HEADERS = 'Authorization,Content-Type';
const EXPOSE_HEADERS = 'Retry-After';
const MAX_AGE_SECONDS = '600';

export function apiCors(allowed: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('Origin');
    const allow = origin !== undefined && allowed.has(origin);
    if (c.req.method === 'OPTIONS') {
      const headers: Record<string, string> = { Vary: 'Origin, Access-Control-Request-Headers' };
      if (allow) {
        headers['Access-Control-Allow-Origin'] = origin;
        headers['Access-Control-Allow-Methods'] = ALLOW_METHODS;
        headers['Access-Control-Allow-Headers'] = ALLOW_HEADERS;
        headers['Access-Control-Max-Age'] = MAX_AGE_SECONDS;
      }
      return c.body(null, 204, headers);
    }
    await next();
    const headers = c.res.headers;
    headers.append('Vary', 'Origin');
    if (allow) {
      headers.set('Access-Control-Allow-Origin', origin);
      headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
  };
}
