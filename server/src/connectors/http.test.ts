/** The rules every CRM call follows (connectors/http.ts), against a scripted fetch. */
import { describe, expect, it } from 'vitest';
import { CrmHttp, retryAfterMs, type TokenSource } from './http.ts';
import { CrmError } from './types.ts';

type Step = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

function scripted(steps: Step[]) {
  const calls: { method: string; auth: string | null }[] = [];
  const fetchFn = (async (_url: string, init: RequestInit) => {
    calls.push({ method: String(init.method), auth: (init.headers as Record<string, string>).Authorization ?? null });
    const step = steps.shift();
    if (!step) throw new Error('no more steps');
    if (step instanceof Error) throw step;
    return new Response(step.body === undefined ? null : JSON.stringify(step.body), { status: step.status, headers: step.headers });
  }) as unknown as typeof fetch;
  const waits: number[] = [];
  const sleep = async (ms: number) => void waits.push(ms);
  return { fetchFn, calls, waits, sleep };
}

function tokens() {
  let n = 0;
  const rejected: string[] = [];
  const source: TokenSource = {
    token: async () => `t${n}`,
    refresh: async () => `t${++n}`,
    rejected: async (m) => void rejected.push(m),
  };
  return { source, rejected };
}

describe('CrmHttp', () => {
  it('waits as Retry-After says (seconds or a date), then goes on', async () => {
    const s = scripted([
      { status: 429, headers: { 'Retry-After': '3' } },
      { status: 503, headers: { 'Retry-After': new Date(Date.now() + 2000).toUTCString() } },
      { status: 200, body: { ok: 1 } },
    ]);
    const http = new CrmHttp({ signal: new AbortController().signal, fetch: s.fetchFn, sleep: s.sleep });
    const res = await http.request('https://crm.test/x');
    expect(res.body).toEqual({ ok: 1 });
    expect(s.waits[0]).toBe(3000);
    expect(s.waits[1]).toBeGreaterThan(0);
    expect(s.waits[1]).toBeLessThanOrEqual(2000);
  });

  it('a long Retry-After fails rate-limited with the wait, so the work is rescheduled', async () => {
    const s = scripted([{ status: 429, headers: { 'Retry-After': '600' } }]);
    const http = new CrmHttp({ signal: new AbortController().signal, fetch: s.fetchFn, sleep: s.sleep, maxWaitMs: 60_000 });
    const error = await http.request('https://crm.test/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrmError);
    expect(error).toMatchObject({ kind: 'rate-limited', details: { retryAfterMs: 600_000 } });
  });

  it('an error body naming a request limit counts as a rate limit', async () => {
    const s = scripted([
      { status: 403, body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }] },
      { status: 200, body: {} },
    ]);
    const http = new CrmHttp({
      signal: new AbortController().signal,
      fetch: s.fetchFn,
      sleep: s.sleep,
      isRateLimitBody: (status, body) => status === 403 && JSON.stringify(body).includes('REQUEST_LIMIT_EXCEEDED'),
    });
    expect((await http.request('https://crm.test/x')).status).toBe(200);
    expect(s.waits).toHaveLength(1);
  });

  it('retries passing failures of a GET with backoff, never a POST', async () => {
    const get = scripted([new TypeError('fetch failed'), { status: 502 }, { status: 200, body: {} }]);
    const http = new CrmHttp({ signal: new AbortController().signal, fetch: get.fetchFn, sleep: get.sleep });
    expect((await http.request('https://crm.test/x')).status).toBe(200);
    expect(get.waits).toHaveLength(2);
    const post = scripted([{ status: 502 }]);
    const http2 = new CrmHttp({ signal: new AbortController().signal, fetch: post.fetchFn, sleep: post.sleep });
    await expect(http2.request('https://crm.test/x', { method: 'POST', body: {} })).rejects.toMatchObject({ kind: 'unavailable' });
    expect(post.calls).toHaveLength(1);
  });

  it('a 401 refreshes the token once and repeats; a second 401 reports the credentials refused', async () => {
    const ok = scripted([
      { status: 401, body: [{ errorCode: 'INVALID_SESSION_ID' }] },
      { status: 200, body: {} },
    ]);
    const t1 = tokens();
    const http = new CrmHttp({ signal: new AbortController().signal, fetch: ok.fetchFn, sleep: ok.sleep }, t1.source);
    expect((await http.request('https://crm.test/x')).status).toBe(200);
    expect(ok.calls.map((c) => c.auth)).toEqual(['Bearer t0', 'Bearer t1']);

    const bad = scripted([{ status: 401 }, { status: 401 }, { status: 200 }]);
    const t2 = tokens();
    const http2 = new CrmHttp({ signal: new AbortController().signal, fetch: bad.fetchFn, sleep: bad.sleep }, t2.source);
    await expect(http2.request('https://crm.test/x')).rejects.toMatchObject({ kind: 'auth' });
    expect(bad.calls).toHaveLength(2);
    expect(t2.rejected).toHaveLength(1);
  });

  it('reads Retry-After', () => {
    expect(retryAfterMs('120')).toBe(120_000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(60_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('a body the connector names as a refused token counts as a 401: one refresh, then auth', async () => {
    const s = scripted([
      { status: 200, body: { errorCode: 20016 } },
      { status: 200, body: { errorCode: 0, data: [] } },
      { status: 200, body: { errorCode: 20016 } },
      { status: 200, body: { errorCode: 20016 } },
    ]);
    const t = tokens();
    const http = new CrmHttp(
      {
        signal: new AbortController().signal,
        fetch: s.fetchFn,
        sleep: s.sleep,
        isAuthFailureBody: (_status, body) => (body as { errorCode?: number }).errorCode === 20016,
      },
      t.source,
    );
    expect((await http.request('https://crm.test/x', { method: 'POST', body: {} })).body).toEqual({ errorCode: 0, data: [] });
    expect(s.calls.map((c) => c.auth)).toEqual(['Bearer t0', 'Bearer t1']);
    const error = await http.request('https://crm.test/x', { method: 'POST', body: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'auth' });
    expect(t.rejected).toHaveLength(1);
  });

  it("sends the connector's Authorization scheme and headers worked out for each attempt", async () => {
    const seen: Record<string, string>[] = [];
    const fetchFn = (async (_url: string, init: RequestInit) => {
      seen.push({ ...(init.headers as Record<string, string>) });
      return new Response(JSON.stringify({}), { status: seen.length === 1 ? 401 : 200 });
    }) as unknown as typeof fetch;
    const t = tokens();
    const http = new CrmHttp({ signal: new AbortController().signal, fetch: fetchFn, authorization: (token) => `Zoho-oauthtoken ${token}` }, t.source);
    let n = 0;
    await http.request('https://crm.test/x', { attemptHeaders: async () => ({ 'x-attempt': String(++n) }) });
    expect(seen.map((h) => [h.Authorization, h['x-attempt']])).toEqual([
      ['Zoho-oauthtoken t0', '1'],
      ['Zoho-oauthtoken t1', '2'],
    ]);
  });
});
