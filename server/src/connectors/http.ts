/**
 * HTTP for connectors: one place for the rules every CRM call follows.
 * - A 429 or 503, or an error body naming a request limit, waits as `Retry-After` says (seconds or an
 *   HTTP date) when that is short, else fails `rate-limited` with the wait, so the caller reschedules.
 * - A 401 (or a body the connector says means an invalid token) refreshes the OAuth token once and
 *   repeats the call; a second one (or a refused refresh) fails `auth` and reports the connection as
 *   needing re-authorisation.
 * - Network failures and 5xx are retried a few times with backoff for calls that are safe to repeat
 *   (GET, DELETE); a POST is never repeated blindly (the caller checks the CRM first, then retries).
 * - Every call has a time-out and follows the caller's AbortSignal.
 */
import { CrmError } from './types.ts';

export interface TokenSource {
  /** The current access token, refreshed first if it is about to expire. */
  token(): Promise<string>;
  /** A new token (after a 401). Throws CrmError('auth') when the CRM refuses the credentials. */
  refresh(): Promise<string>;
  /** Called once the CRM refused even a fresh token. */
  rejected(message: string): Promise<void>;
}

export interface CrmHttpOptions {
  signal: AbortSignal;
  fetch?: typeof fetch;
  /** Per request. */
  timeoutMs?: number;
  /** The longest Retry-After waited inside one call; longer waits fail `rate-limited` instead. */
  maxWaitMs?: number;
  /** Repeats of one call for rate limits and passing failures. */
  maxRetries?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Bodies of these error responses mean "too many requests" (e.g. Salesforce REQUEST_LIMIT_EXCEEDED on a 403). */
  isRateLimitBody?: (status: number, body: unknown) => boolean;
  /** Bodies of these responses mean "the token is not valid" although the status is not 401 (Fxiaoke: 200 with errorCode 20016). */
  isAuthFailureBody?: (status: number, body: unknown) => boolean;
  /** The Authorization header for a token (default `Bearer {token}`). */
  authorization?: (accessToken: string) => string;
}

export interface CrmResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text when not JSON, null when empty. */
  body: unknown;
}

export interface CrmRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  /**
   * Headers worked out for each attempt, after the token is fetched or refreshed (Fxiaoke's
   * `x-fs-ea` comes with its token).
   */
  attemptHeaders?: () => Promise<Record<string, string>>;
  /** JSON body (or a prepared string / URLSearchParams). */
  body?: unknown;
  /** Without the token (e.g. the token endpoint itself). */
  anonymous?: boolean;
}

const RETRYABLE_METHODS = new Set(['GET', 'DELETE', 'PUT']);

export function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `Retry-After` as milliseconds from `now` (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class CrmHttp {
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxWaitMs: number;
  readonly #maxRetries: number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Requests made (for tests and progress). */
  calls = 0;

  constructor(
    readonly options: CrmHttpOptions,
    private tokens: TokenSource | null = null,
  ) {
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#maxWaitMs = options.maxWaitMs ?? 60_000;
    this.#maxRetries = options.maxRetries ?? 4;
    this.#sleep = options.sleep ?? sleepFor;
  }

  /** Sets where tokens come from (after construction, as the token source itself may use this client). */
  useTokens(tokens: TokenSource): void {
    this.tokens = tokens;
  }

  /**
   * One call with the rules above. Returns every response that is not a rate limit, an auth failure
   * or a passing failure — the caller reads the CRM's own error body.
   */
  async request(target: string | (() => Promise<string>), req: CrmRequest = {}): Promise<CrmResponse> {
    const method = req.method ?? 'GET';
    let refreshed = false;
    let token = req.anonymous || !this.tokens ? null : await this.tokens.token();
    for (let attempt = 0; ; attempt++) {
      // A URL worked out once the token is there (Zoho's API domain comes with its token).
      const url = typeof target === 'string' ? target : await target();
      let response: Response;
      try {
        response = await this.#send(url, method, req, token);
      } catch (error) {
        if (this.options.signal.aborted) throw this.options.signal.reason;
        const message = `${method} ${new URL(url).pathname} failed: ${error instanceof Error ? error.message : String(error)}`;
        if (RETRYABLE_METHODS.has(method) && attempt < this.#maxRetries) {
          await this.#sleep(backoff(attempt), this.options.signal);
          continue;
        }
        throw new CrmError('unavailable', message);
      }
      const body = await readBody(response);
      const status = response.status;

      const unauthorised = status === 401 || (this.options.isAuthFailureBody?.(status, body) ?? false);
      if (unauthorised && token !== null && this.tokens) {
        if (!refreshed) {
          refreshed = true;
          token = await this.tokens.refresh();
          continue;
        }
        const message = `The CRM refused a freshly issued token (${describe(body)}).`;
        await this.tokens.rejected(message);
        throw new CrmError('auth', message, { status });
      }

      const limited = status === 429 || status === 503 || (this.options.isRateLimitBody?.(status, body) ?? false);
      if (limited) {
        const wait = retryAfterMs(response.headers.get('retry-after')) ?? backoff(attempt);
        if (wait <= this.#maxWaitMs && attempt < this.#maxRetries) {
          await this.#sleep(wait, this.options.signal);
          continue;
        }
        throw new CrmError('rate-limited', `The CRM asked AccessLens to slow down (${describe(body)}); retry in ${Math.ceil(wait / 1000)} s.`, {
          status,
          retryAfterMs: wait,
        });
      }

      if (status >= 500) {
        if (RETRYABLE_METHODS.has(method) && attempt < this.#maxRetries) {
          await this.#sleep(backoff(attempt), this.options.signal);
          continue;
        }
        throw new CrmError('unavailable', `The CRM answered ${status} (${describe(body)}).`, { status });
      }
      return { status, headers: response.headers, body };
    }
  }

  async #send(url: string, method: string, req: CrmRequest, token: string | null): Promise<Response> {
    this.calls++;
    const headers: Record<string, string> = { Accept: 'application/json', ...req.headers, ...(req.attemptHeaders ? await req.attemptHeaders() : {}) };
    if (token) headers.Authorization = this.options.authorization ? this.options.authorization(token) : `Bearer ${token}`;
    let body: string | URLSearchParams | undefined;
    if (req.body instanceof URLSearchParams) body = req.body;
    else if (typeof req.body === 'string') body = req.body;
    else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const signal = AbortSignal.any([this.options.signal, AbortSignal.timeout(this.#timeoutMs)]);
    return this.#fetch(url, { method, headers, body, signal, redirect: 'error' });
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** 1 s, 2 s, 4 s, 8 s … with jitter, at most 30 s. */
export function backoff(attempt: number): number {
  const base = Math.min(30_000, 1000 * 2 ** attempt);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** A short description of an error body for messages (the CRM's own words, truncated). */
export function describe(body: unknown): string {
  if (body === null || body === undefined) return 'no details';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
