/**
 * Serves saved Salesforce Lightning fixture pages over HTTPS on loopback. Chromium maps the real
 * Salesforce hostnames here (--host-resolver-rules), so the content script runs under its production
 * match patterns. Nothing leaves the machine.
 */
import { createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

const fixtures = join(import.meta.dirname, '../fixtures/salesforce');

/** Objects the demo requester cannot read: their pages render Salesforce's denial. */
const DENIED_OBJECTS = new Set(['Contract', 'Quote', 'Order', 'Case']);

export interface CrmFixture {
  port: number;
  hosts: string[];
  close(): Promise<void>;
}

export async function startCrmFixture(): Promise<CrmFixture> {
  const pems = await generate([{ name: 'commonName', value: 'acme.lightning.force.com' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 2 * 86_400_000),
    algorithm: 'sha256',
  });
  const page = (name: string) => readFileSync(join(fixtures, name), 'utf8');
  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://acme.lightning.force.com');
    const record = /^\/lightning\/r\/([A-Za-z_]+)\/([A-Za-z0-9]+)\/(view|edit)$/.exec(url.pathname);
    const object = /^\/lightning\/o\/([A-Za-z_]+)\/(home|list|new)$/.exec(url.pathname);
    let html: string | null = null;
    if (record) html = DENIED_OBJECTS.has(record[1]!) ? page('record-denied.html') : page('record.html');
    else if (object) html = page('object-home.html');
    else if (url.pathname === '/lightning/page/home') html = page('record.html');
    if (html === null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hosts: ['acme.lightning.force.com', 'acme.my.salesforce.com'],
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
