/**
 * `console.api`: the admin console and the popup's reviews call the server through the background, the
 * only holder of the session token. The path was checked against CONSOLE_API_PREFIXES by the router's
 * schema; the server decides who may do what (403 "Only administrators can …" for others).
 */
import { apiError, type Result, type UiError } from '@accesslens/shared';
import { t } from '../../utils/i18n';
import { serverErrorText } from '../../utils/server-errors';
import type { ConsoleApiAnswer } from '../../utils/protocol';
import { normaliseServerUrl } from './api';
import type { AuthDeps } from './auth';

export async function consoleApi(deps: AuthDeps, msg: { method: 'GET' | 'POST' | 'PUT'; path: string; body?: unknown }): Promise<Result<ConsoleApiAnswer>> {
  const [token, serverUrl] = await Promise.all([deps.tokens.get(), deps.replica.serverUrl()]);
  if (!token || !serverUrl) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
  const headers: Record<string, string> = { Accept: 'application/json, text/csv', Authorization: `Bearer ${token}` };
  if (msg.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await deps.fetch(`${normaliseServerUrl(serverUrl)}${msg.path}`, {
      method: msg.method,
      headers,
      body: msg.body === undefined ? undefined : JSON.stringify(msg.body),
    });
  } catch {
    return { ok: false, error: { code: 'network', message: t('error.network', { url: normaliseServerUrl(serverUrl) }) } };
  }
  const contentType = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (!res.ok) {
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: fall back to the status
    }
    const parsed = apiError.safeParse(body);
    const error: UiError = parsed.success
      ? {
          code: parsed.data.error.code,
          // In the person's language, from the reason and params the server sent (the message is English), as callApi does.
          message: serverErrorText(parsed.data.error, res.status),
          ...(parsed.data.error.field ? { field: parsed.data.error.field } : {}),
        }
      : { code: res.status >= 500 ? 'internal' : `http_${res.status}`, message: t('error.server', { status: res.status }) };
    if (res.status === 401) await deps.replica.syncNow({ force: true }).catch(() => undefined);
    return { ok: false, error };
  }
  if (contentType.includes('json')) {
    try {
      return { ok: true, status: res.status, contentType, json: text ? (JSON.parse(text) as unknown) : null, text: null };
    } catch {
      return { ok: false, error: { code: 'bad_response', message: t('error.badResponse') } };
    }
  }
  return { ok: true, status: res.status, contentType, json: null, text };
}
