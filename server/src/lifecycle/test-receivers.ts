/**
 * Test support (not a test file): a local HTTP receiver that answers as each chat platform does and
 * checks each platform's signature independently of the server's code, and a local SMTP server
 * (`smtp-server`) that catches email, parsed with `mailparser`.
 *
 * Signatures, as the platforms document them:
 * - Feishu/Lark custom bot ("Custom bot usage guide", Signature verification): body `timestamp` (seconds)
 *   and `sign` = base64(HMAC-SHA256 with key `${timestamp}\n${secret}` over an empty message); a bad
 *   signature answers HTTP 200 `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`.
 * - DingTalk custom robot ("Custom robot security settings", 加签): URL `timestamp` (ms) and `sign` =
 *   urlencode(base64(HMAC-SHA256 with key `secret` over `${timestamp}\n${secret}`)); a bad one answers
 *   `{"errcode":310000,"errmsg":"sign not match"}`.
 * - WeCom group robot: `{"errcode":0,"errmsg":"ok"}`; Slack answers `ok`; a Teams workflow answers 202.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedPost {
  platform: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** Whether the signature (where the platform signs) checked out. */
  signatureOk: boolean | null;
}

export interface WebhookReceiver {
  url: string;
  posts: ReceivedPost[];
  /** Answer the next `n` posts to `platform` with HTTP 500 (a passing failure). */
  failNext(platform: string, n: number): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secrets: { feishu?: string; dingtalk?: string }): Promise<WebhookReceiver> {
  const posts: ReceivedPost[] = [];
  const failing = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const platform = url.pathname.split('/')[1] ?? '';
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end('bad json');
        return;
      }
      const left = failing.get(platform) ?? 0;
      if (left > 0) {
        failing.set(platform, left - 1);
        res.writeHead(500).end('try later');
        return;
      }
      let signatureOk: boolean | null = null;
      if (platform === 'feishu' && secrets.feishu) {
        const ts = String(body.timestamp ?? '');
        const expected = createHmac('sha256', `${ts}\n${secrets.feishu}`).update(Buffer.alloc(0)).digest('base64');
        signatureOk = body.sign === expected && Math.abs(Number(ts) * 1000 - Date.now()) < 3600_000 * 24 * 400;
      }
      if (platform === 'dingtalk' && secrets.dingtalk) {
        const ts = url.searchParams.get('timestamp') ?? '';
        const expected = createHmac('sha256', secrets.dingtalk).update(`${ts}\n${secrets.dingtalk}`, 'utf8').digest('base64');
        signatureOk = url.searchParams.get('sign') === expected;
      }
      posts.push({ platform, path: url.pathname, query: url.searchParams, body, signatureOk });
      const json = (o: unknown) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(o));
      switch (platform) {
        case 'slack':
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
          return;
        case 'teams':
          res.writeHead(202).end();
          return;
        case 'feishu':
          return signatureOk === false
            ? json({ code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' })
            : json({ code: 0, msg: 'success', data: {} });
        case 'dingtalk':
          return signatureOk === false ? json({ errcode: 310000, errmsg: 'sign not match' }) : json({ errcode: 0, errmsg: 'ok' });
        case 'wecom':
          return json({ errcode: 0, errmsg: 'ok' });
        default:
          res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    failNext: (platform, n) => void failing.set(platform, n),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SmtpCatcher {
  port: number;
  url: string;
  mails: ParsedMail[];
  close(): Promise<void>;
}

/** A local SMTP server (no TLS, no authentication) that keeps every message it receives. */
export async function startSmtpCatcher(): Promise<SmtpCatcher> {
  const mails: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
