/**
 * What the Dynamics and HubSpot fakes share: a loopback HTTP server, JSON answers, request logging and
 * fault injection (a status, body and headers given instead of the real answer, e.g. 429 with
 * `Retry-After`, which RFC 9110 §10.2.3 defines and both CRMs' rate-limit pages describe).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A response the fake gives instead of the real one. */
export interface Fault {
  method?: string;
  /** Matched against the path with its query string. */
  path: RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many times (default once). */
  times?: number;
}

export interface FakeServer {
  url: string;
  /** Every request: method and path (with the query string, decoded). */
  log: { method: string; path: string }[];
  fail(fault: Fault): void;
  close(): Promise<void>;
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers });
  res.end(text);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function decodedPath(req: IncomingMessage): string {
  const raw = req.url ?? '/';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Starts a loopback server: every request is logged, then answered by a matching fault, else by `handle`
 * (which gets the server's base URL for links it builds).
 */
export async function startFakeServer(
  handle: (req: IncomingMessage, res: ServerResponse, base: string) => Promise<void>,
  onError: (res: ServerResponse, error: unknown) => void,
): Promise<FakeServer> {
  const log: FakeServer['log'] = [];
  const faults: (Fault & { left: number })[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const path = decodedPath(req);
    log.push({ method: req.method ?? 'GET', path });
    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === req.method) && f.path.test(path));
    if (fault) {
      fault.left--;
      // Drain the body first, so the client sees the answer rather than a reset connection.
      void readBody(req).then(() => send(res, fault.status, fault.body, fault.headers));
      return;
    }
    handle(req, res, base).catch((error: unknown) => onError(res, error));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    log,
    fail: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
