/**
 * A loopback HTTP proxy in front of the real server that a test can make lose answers: the request
 * reaches the server and is applied, but the caller's connection is cut before the answer arrives —
 * the case an outbox must survive without applying a mutation twice. Everything else (event streams
 * included) is piped through untouched; while the server is down, connections are cut as a refused
 * connection would be.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MutationDelivery {
  /** The ids of the mutations in the body. */
  ids: string[];
  /** The server's status, or null when it could not be reached. */
  status: number | null;
  /** The answer was cut off on purpose: the caller never saw it. */
  lost: boolean;
}

export interface LossyProxy {
  url: string;
  /** Every POST /api/mutations that went through, in order. */
  deliveries: MutationDelivery[];
  /** Every request for /api/mutations (CORS preflights included) and the server's status, null when down. */
  mutationCalls: { method: string; status: number | null }[];
  /** The answer to the next POST /api/mutations that the server accepts is lost. */
  loseNextMutationAnswer(): void;
  close(): Promise<void>;
}

export async function startLossyProxy(target: string): Promise<LossyProxy> {
  const upstream = new URL(target);
  const deliveries: MutationDelivery[] = [];
  const mutationCalls: { method: string; status: number | null }[] = [];
  let loseNext = false;

  const readBody = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const server: Server = createServer(async (req, res) => {
    const isMutation = req.method === 'POST' && req.url === '/api/mutations';
    const call = req.url === '/api/mutations' ? { method: req.method ?? '', status: null as number | null } : null;
    if (call) mutationCalls.push(call);
    const body = isMutation ? await readBody(req) : null;
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        if (call) call.status = answer.statusCode ?? null;
        if (!isMutation) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          res.on('close', () => answer.destroy());
          return;
        }
        const ids = mutationIds(body!);
        const lose = loseNext && (answer.statusCode ?? 0) < 300;
        void readBody(answer).then((text) => {
          deliveries.push({ ids, status: answer.statusCode ?? null, lost: lose });
          if (lose) {
            loseNext = false;
            res.destroy(); // applied on the server; the caller sees a dropped connection
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(text);
        });
      },
    );
    forward.on('error', () => {
      if (isMutation) deliveries.push({ ids: mutationIds(body!), status: null, lost: false });
      res.destroy(); // the server is down: as a refused connection
    });
    if (body) forward.end(body);
    else req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    mutationCalls,
    loseNextMutationAnswer() {
      loseNext = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function mutationIds(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { mutations?: { id?: unknown }[] };
    return (parsed.mutations ?? []).map((m) => String(m.id));
  } catch {
    return [];
  }
}
