/**
 * Acme Desk: a small in-house CRM for the demo, so a newcomer sees the overlay right after
 * `pnpm start`, and the generic (page-rule) adapter is exercised for real. It is deliberately plain:
 * its own pages (`/records/{Object}`, `/records/{Object}/{id}`, `…/edit`, `…/new`), its own sign-in (a
 * person picker, demo only), and its own refusal ("You are not allowed to open this record"). What a
 * person may do is the demo org's directory for this connection — as if AccessLens had imported it
 * from Desk — decided by the same engine.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessIndex, implicationTableFor, type ObjectAction } from '@accesslens/shared';
import type { Db } from './db.ts';
import { ACCOUNT_COLUMNS, ASSIGNMENT_COLUMNS, BUNDLE_COLUMNS, accountFromRow, assignmentFromRow, bundleFromRow } from './model.ts';
import { DEMO_DESK_CONNECTION_ID } from './seed/demo-crms.ts';

interface DeskRecord {
  id: string;
  title: string;
  fields: [string, string][];
}

const RECORDS: Record<string, DeskRecord[]> = {
  Customer: [
    {
      id: 'CUS-1001',
      title: 'Globex Corporation',
      fields: [
        ['Industry', 'Manufacturing'],
        ['Owner', 'Ava Chen'],
        ['Phone', '+1 555 0100'],
      ],
    },
    {
      id: 'CUS-1002',
      title: 'Initech',
      fields: [
        ['Industry', 'Software'],
        ['Owner', 'Ben Ortiz'],
        ['Phone', '+1 555 0142'],
      ],
    },
  ],
  Deal: [
    {
      id: 'DEAL-2001',
      title: 'Globex renewal 2027',
      fields: [
        ['Stage', 'Negotiation'],
        ['Amount', '$420,000'],
        ['Customer', 'Globex Corporation'],
      ],
    },
    {
      id: 'DEAL-2002',
      title: 'Initech expansion',
      fields: [
        ['Stage', 'Proposal'],
        ['Amount', '$96,000'],
        ['Customer', 'Initech'],
      ],
    },
  ],
  Invoice: [
    {
      id: 'INV-3001',
      title: 'Invoice INV-3001',
      fields: [
        ['Customer', 'Globex Corporation'],
        ['Total', '$105,000'],
        ['Status', 'Overdue'],
      ],
    },
    {
      id: 'INV-3002',
      title: 'Invoice INV-3002',
      fields: [
        ['Customer', 'Initech'],
        ['Total', '$24,000'],
        ['Status', 'Paid'],
      ],
    },
  ],
};

const PEOPLE = [
  { user: 'ava', personId: 'p-ava', name: 'Ava Chen' },
  { user: 'ben', personId: 'p-ben', name: 'Ben Ortiz' },
  { user: 'dan', personId: 'p-dan', name: 'Dan Wu' },
  { user: 'cara', personId: 'p-cara', name: 'Cara Diaz' },
];

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, user: string | null, body: string, zh: boolean): string {
  const who = PEOPLE.find((p) => p.user === user);
  const nav = Object.keys(RECORDS)
    .map((o) => `<a href="/records/${o}">${esc(o)}s</a>`)
    .join('');
  return `<!doctype html>
<html lang="${zh ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><title>${esc(title)} · Acme Desk</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2433}
header{background:#23395d;color:#fff;padding:10px 18px;display:flex;gap:18px;align-items:center}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;opacity:.85}
main{max-width:760px;margin:28px auto;background:#fff;border-radius:8px;padding:22px 26px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
table{border-collapse:collapse;width:100%}td,th{padding:8px;border-bottom:1px solid #e4e7ec;text-align:left}
.denied{border:1px solid #f1b0aa;background:#fff4f3;padding:16px;border-radius:6px}
dl{display:grid;grid-template-columns:160px 1fr;gap:6px 12px}dt{color:#5b6478}
</style></head><body>
<header><strong>Acme Desk</strong>${nav}<span class="who">${who ? `${esc(who.name)} · <a href="/login">${zh ? '切换' : 'switch'}</a>` : `<a href="/login">${zh ? '登录' : 'Sign in'}</a>`}</span></header>
<main>${body}</main></body></html>`;
}

/** What a Desk user may do on an object, from the demo org's directory for this connection. */
async function allowed(db: Db, personId: string, object: string, action: ObjectAction, now: Date): Promise<boolean> {
  const [accounts, bundles] = await db.readBatch([
    {
      sql: `SELECT ${ACCOUNT_COLUMNS} FROM crm_accounts ac WHERE ac.connection_id = ? AND ac.person_id = ? AND ac.active = 1`,
      args: [DEMO_DESK_CONNECTION_ID, personId],
    },
    { sql: `SELECT ${BUNDLE_COLUMNS} FROM bundles b WHERE b.connection_id = ?`, args: [DEMO_DESK_CONNECTION_ID] },
  ]);
  const account = accounts!.rows[0] ? accountFromRow(accounts!.rows[0]) : null;
  if (!account) return false;
  const assignments = await db.execute(`SELECT ${ASSIGNMENT_COLUMNS} FROM assignments a WHERE a.account_id = ?`, [account.id]);
  const index = new AccessIndex({
    connectionId: DEMO_DESK_CONNECTION_ID,
    table: implicationTableFor('generic'),
    bundles: bundles!.rows.map(bundleFromRow),
    accountIds: [account.id],
    assignments: assignments.rows.map(assignmentFromRow),
    now,
  });
  return index.canKey(account.id, `object:${object}:${action}`);
}

function cookieUser(req: IncomingMessage): string | null {
  const m = /(?:^|;\s*)desk_user=([a-z]+)/.exec(req.headers.cookie ?? '');
  return m && PEOPLE.some((p) => p.user === m[1]) ? m[1]! : null;
}

export interface DemoDesk {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves Acme Desk on `port` (0 = any free port), reading permissions from `db`. */
export async function startDemoDesk(options: { db: Db; port: number; hostname?: string; now?: () => Date }): Promise<DemoDesk> {
  const now = options.now ?? (() => new Date());
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://desk.local');
    const zh = /^zh\b/i.test(req.headers['accept-language'] ?? '');
    const send = (status: number, html: string, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(html);
    if (url.pathname === '/') return send(302, '', { location: '/records/Customer' });
    if (url.pathname === '/login') {
      const as = url.searchParams.get('as');
      if (as && PEOPLE.some((p) => p.user === as))
        return send(302, '', { location: '/records/Customer', 'set-cookie': `desk_user=${as}; Path=/; SameSite=Lax` });
      const links = PEOPLE.map((p) => `<li><a href="/login?as=${p.user}">${esc(p.name)}</a></li>`).join('');
      return send(200, page('Sign in', null, `<h1>${zh ? '选择登录身份（演示）' : 'Sign in as (demo)'}</h1><ul>${links}</ul>`, zh));
    }
    const user = cookieUser(req);
    const m = /^\/records\/([A-Za-z]+)(?:\/([A-Za-z0-9-]+))?(?:\/(edit))?\/?$/.exec(url.pathname);
    const object = m?.[1];
    if (!m || !object || !RECORDS[object]) return send(404, page('Not found', user, '<h1>Not found</h1>', zh));
    if (!user) return send(302, '', { location: '/login' });
    const person = PEOPLE.find((p) => p.user === user)!;
    const id = m[2];
    const action: ObjectAction = id === 'new' ? 'create' : m[3] ? 'edit' : 'read';
    if (!(await allowed(options.db, person.personId, object, action, now()))) {
      const denial = zh
        ? '<h1>无法打开</h1><div class="denied" role="alert">您无权打开此记录。请联系 Acme Desk 管理员。</div>'
        : '<h1>Cannot open</h1><div class="denied" role="alert">You are not allowed to open this record. Ask your Acme Desk administrator.</div>';
      return send(403, page(object, user, denial, zh));
    }
    if (!id) {
      const rows = RECORDS[object]!.map((r) => `<tr><td><a href="/records/${object}/${r.id}">${esc(r.id)}</a></td><td>${esc(r.title)}</td></tr>`).join('');
      return send(
        200,
        page(
          `${object}s`,
          user,
          `<h1>${esc(object)}s</h1><table><tbody>${rows}</tbody></table><p><a href="/records/${object}/new">New ${esc(object)}</a></p>`,
          zh,
        ),
      );
    }
    if (id === 'new') return send(200, page(`New ${object}`, user, `<h1>New ${esc(object)}</h1><form><label>Name <input name="name"></label></form>`, zh));
    const record = RECORDS[object]!.find((r) => r.id === id);
    if (!record) return send(404, page('Not found', user, '<h1>Not found</h1>', zh));
    const fields = record.fields.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
    return send(200, page(record.title, user, `<h1>${esc(record.title)}</h1><dl>${fields}</dl><p><a href="/records/${object}/${id}/edit">Edit</a></p>`, zh));
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('[accesslens] demo desk:', error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Acme Desk failed');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.hostname ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
