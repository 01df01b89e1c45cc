/** The server's HTTP API (docs/api.md), with every failure turned into a UiError a UI can show. */
import { apiError, serverUrlProblem, type UiError } from '@accesslens/shared';
import type { z } from 'zod';
import { t } from '../../utils/i18n';
import { serverErrorText } from '../../utils/server-errors';

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export class ApiFailure extends Error {
  constructor(
    /** 0 when the server could not be reached. */
    readonly status: number,
    readonly error: UiError,
    readonly retryAfterMs: number | null = null,
  ) {
    super(error.message);
    this.name = 'ApiFailure';
  }

  /** Worth retrying later: unreachable, overloaded or failing server. */
  get transient(): boolean {
    if (this.error.code === 'insecure_server') return false;
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }

  get unauthenticated(): boolean {
    return this.status === 401;
  }
}

export function normaliseServerUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/**
 * How long a call waits for the server's whole answer. A server (or a proxy in front of it) that takes
 * the connection and never answers would otherwise leave a sign-in or a sync waiting for good; past
 * this the call fails as unreachable, which sync retries later and a form shows.
 */
export const API_TIMEOUT_MS = 30_000;

interface ApiCall<S extends z.ZodType | null> {
  method?: 'GET' | 'POST';
  token?: string | null;
  body?: unknown;
  schema: S;
  signal?: AbortSignal;
  /** Default API_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** Aborts when `signal` does or after `ms`, whichever comes first. */
function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

export async function callApi<S extends z.ZodType | null>(
  fetchFn: Fetch,
  serverUrl: string,
  path: string,
  call: ApiCall<S>,
): Promise<S extends z.ZodType ? z.infer<S> : null> {
  // Never send a token over plain HTTP beyond this computer, whatever URL was stored before.
  const problem = serverUrlProblem(normaliseServerUrl(serverUrl));
  if (problem) throw new ApiFailure(0, { code: 'insecure_server', message: t('error.insecureServer'), field: 'serverUrl' });
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (call.token) headers.Authorization = `Bearer ${call.token}`;
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  const timeoutMs = call.timeoutMs ?? API_TIMEOUT_MS;
  const signal = withTimeout(call.signal, timeoutMs);
  // The caller's own abort is theirs to handle; the timeout is the server not answering.
  const timedOut = () =>
    new ApiFailure(0, { code: 'timeout', message: t('error.timeout', { url: normaliseServerUrl(serverUrl), seconds: Math.round(timeoutMs / 1000) }) });
  let res: Response;
  try {
    res = await fetchFn(`${normaliseServerUrl(serverUrl)}${path}`, {
      method: call.method ?? 'GET',
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal,
    });
  } catch (e) {
    if (call.signal?.aborted) throw e;
    if (signal.aborted) throw timedOut();
    throw new ApiFailure(0, { code: 'network', message: t('error.network', { url: normaliseServerUrl(serverUrl) }) });
  }
  if (!res.ok) {
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      // not JSON: fall back to the status
    }
    const parsed = apiError.safeParse(body);
    const error: UiError = parsed.success
      ? {
          code: parsed.data.error.code,
          // In the person's language, from the reason and params the server sent (the message is English).
          message: serverErrorText(parsed.data.error, res.status),
          ...(parsed.data.error.field ? { field: parsed.data.error.field } : {}),
        }
      : { code: res.status >= 500 ? 'internal' : `http_${res.status}`, message: t('error.server', { status: res.status }) };
    const retryAfter = Number(res.headers.get('Retry-After'));
    throw new ApiFailure(res.status, error, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null);
  }
  if (call.schema === null || res.status === 204) return null as never;
  let json: unknown;
  try {
    json = await res.json();
  } catch (e) {
    if (call.signal?.aborted) throw e;
    if (signal.aborted) throw timedOut();
    throw new ApiFailure(res.status, { code: 'bad_response', message: t('error.badResponse') });
  }
  const parsed = call.schema.safeParse(json);
  if (!parsed.success) throw new ApiFailure(res.status, { code: 'bad_response', message: t('error.badResponse') });
  return parsed.data as never;
}
