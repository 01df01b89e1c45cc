/**
 * The CRM fixture server serves every CRM's pages under its real hostnames (picked by the Host
 * header), and AccessLens's detectPage reads every fixture URL as the page the fixture claims to be.
 * The server routes with its own rules, so this proves the adapters and the fixtures agree.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectDenial, detectPage } from '@accesslens/shared';
import {
  CRM_FIXTURE_HOSTS,
  FIXTURE_CRMS,
  FIXTURE_HOSTS,
  FIXTURE_PAGES,
  FIXTURE_TENANTS,
  startCrmFixture,
  type CrmFixture,
  type FixturePage,
} from '../support/crm-fixture.ts';

let crm: CrmFixture;
beforeAll(async () => {
  crm = await startCrmFixture();
});
afterAll(async () => {
  await crm?.close();
});

/** GET `pathAndQuery` from the fixture server as the browser would ask `host` for it. */
function get(fixture: CrmFixture, host: string, pathAndQuery: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: fixture.port, path: pathAndQuery, method: 'GET', headers: { host }, servername: host, rejectUnauthorized: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** What the browser loads for a fixture URL: the document, and for hash routes the page the app renders. */
async function load(fixture: CrmFixture, page: FixturePage) {
  const url = new URL(page.url);
  const doc = await get(fixture, url.hostname, url.pathname + url.search);
  const hash = url.hash.replace(/^#/, '');
  const rendered = hash ? await get(fixture, url.hostname, `${url.pathname}?__route=${encodeURIComponent(hash)}`) : doc;
  return { doc, rendered };
}

/** The text a person sees (tags, scripts and styles stripped), enough for phrase matching. */
const text = (html: string) =>
  html
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]+>/g, ' ');

describe('CRM fixture server', () => {
  it('lists every hostname to map, each CRM under its own', () => {
    expect(crm.hosts).toEqual([...CRM_FIXTURE_HOSTS]);
    for (const c of FIXTURE_CRMS) for (const host of FIXTURE_HOSTS[c]) expect(crm.hosts).toContain(host);
    // The existing end-to-end tests rely on these two.
    expect(crm.hosts).toEqual(expect.arrayContaining(['acme.lightning.force.com', 'acme.my.salesforce.com']));
  });

  it('has, for every CRM, an allowed record, a denied record, a list, a user list and a user page', () => {
    for (const c of FIXTURE_CRMS) {
      const pages = FIXTURE_PAGES.filter((p) => p.crm === c);
      expect(
        pages.some((p) => p.kind === 'record' && !p.denied),
        c,
      ).toBe(true);
      expect(
        pages.some((p) => p.kind === 'record' && p.denied),
        c,
      ).toBe(true);
      expect(
        pages.some((p) => p.kind === 'list'),
        c,
      ).toBe(true);
      expect(
        pages.some((p) => p.kind === 'user-list'),
        c,
      ).toBe(true);
      expect(
        pages.some((p) => p.kind === 'user-record'),
        c,
      ).toBe(true);
    }
  });

  it.each(FIXTURE_PAGES.map((p) => [p.url, p] as const))('serves %s as the page it claims, and detectPage agrees', async (_url, page) => {
    const { doc, rendered } = await load(crm, page);
    expect(doc.status).toBe(200);
    expect(doc.type).toContain('text/html');
    expect(rendered.status).toBe(200);
    expect(rendered.body).toContain(`data-fixture-page="${page.kind}"`);
    const tenant = FIXTURE_TENANTS[page.crm];
    expect(detectPage(page.url)).toEqual({ crm: page.crm, tenant, pageKind: page.kind, object: page.object, recordId: page.recordId });
    // Denied pages show the CRM's own denial (a moment after load); allowed pages show none.
    if (page.denied) {
      expect(detectDenial(page.crm, text(rendered.body.replace(/<\/?template[^>]*>/g, ' '))), page.url).not.toBeNull();
      if (!page.url.startsWith('https://acme.my.salesforce.com/')) expect(rendered.body).toContain('data-fixture-delay');
    } else {
      expect(detectDenial(page.crm, text(rendered.body)), page.url).toBeNull();
    }
  });

  it('speaks Chinese on the China data centre and on Fxiaoke, English elsewhere', async () => {
    const zhZoho = await get(crm, 'crm.zoho.com.cn', '/crm/org7700001/tab/Potentials/770000100000245007');
    expect(zhZoho.body).toContain('lang="zh-CN"');
    expect(zhZoho.body).toContain('您没有权限查看此记录');
    const enZoho = await get(crm, 'crm.zoho.com', '/crm/org7700001/tab/Potentials/770000100000245007');
    expect(enZoho.body).toContain('lang="en"');
    expect(enZoho.body).toContain('You do not have permission to view this record.');
    const fx = await get(crm, 'www.fxiaoke.com', '/XV/UI/Home');
    expect(fx.body).toContain('lang="zh-CN"');
    expect(fx.body).toContain('"hashRouting":true');
  });

  it('lists users with a link carrying each user id, beside names and emails', async () => {
    const cases: [string, string, RegExp][] = [
      ['acme.my.salesforce.com', '/005?isUserEntityOverride=1', /href="\/005xx000001SvHa\?noredirect=1&amp;isUserEntityOverride=1">Chen, Ava</],
      [
        'acme.crm4.dynamics.com',
        '/main.aspx?pagetype=entitylist&etn=systemuser',
        /etn=systemuser&amp;id=7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c" data-spa>Ava Chen</,
      ],
      ['app.hubspot.com', '/settings/4242424/users', /href="\/settings\/4242424\/users\/user\/61002"[^>]*>Ava Chen</],
      ['crm.zoho.com.cn', '/crm/org7700001/settings/users', /href="\/crm\/org7700001\/settings\/users\/770000100000000301"[^>]*>Ava Chen</],
      ['www.fxiaoke.com', '/XV/UI/Home?__route=crm%2Flist%2F%3D%2FPersonnelObj', /href="#profile\/=\/empid-1001"[^>]*>陈艾娃</],
    ];
    for (const [host, path, link] of cases) {
      const res = await get(crm, host, path);
      expect(res.body, host).toMatch(link);
      expect(res.body, host).toContain('ava.chen@acme.example');
    }
  });

  it("frames Setup's Classic user list from the My Domain host, as Lightning does", async () => {
    const setup = await get(crm, 'acme.lightning.force.com', '/lightning/setup/ManageUsers/home');
    expect(setup.body).toMatch(
      /<force-aloha-page>[\s\S]*<iframe [^>]*src="https:\/\/acme\.my\.salesforce\.com\/005\?isUserEntityOverride=1&amp;isdtp=p1&amp;sfdcIFrameOrigin=https%3A%2F%2Facme\.lightning\.force\.com/,
    );
    expect(setup.body).not.toContain('ava.chen@acme.example'); // the rows live in the framed document
    const user = await get(crm, 'acme.lightning.force.com', '/lightning/setup/ManageUsers/page?address=%2F005xx000001SvHaAAK%3Fnoredirect%3D1');
    expect(user.body).toContain('src="https://acme.my.salesforce.com/005xx000001SvHa?noredirect=1&amp;isUserEntityOverride=1&amp;isdtp=p1');
  });

  it('serves the single-page script, and 404 for unknown paths, hosts and look-alikes', async () => {
    const spa = await get(crm, 'app.hubspot.com', '/__fixture/spa.js');
    expect(spa.status).toBe(200);
    expect(spa.type).toContain('javascript');
    expect((await get(crm, 'app.hubspot.com', '/contacts/4242424/nowhere')).status).toBe(404);
    expect((await get(crm, 'example.com', '/')).status).toBe(404);
    expect((await get(crm, 'crm.zoho.com.attacker.io', '/crm/org7700001/tab/Leads/770000100000231001')).status).toBe(404);
  });

  it('takes the denied objects per CRM from its options', async () => {
    const custom = await startCrmFixture({ denied: { hubspot: ['contact'], fxiaoke: [] } });
    try {
      const contact = await get(custom, 'app.hubspot.com', '/contacts/4242424/record/0-1/51');
      expect(detectDenial('hubspot', text(contact.body.replace(/<\/?template[^>]*>/g, ' ')))).not.toBeNull();
      const deal = await get(custom, 'app.hubspot.com', '/contacts/4242424/record/0-3/18273645501');
      expect(detectDenial('hubspot', text(deal.body))).toBeNull();
      const order = await get(custom, 'www.fxiaoke.com', `/XV/UI/Home?__route=${encodeURIComponent('crm/detail/=/SalesOrderObj/65a1f0c2e4b0a1b2c3d4e6a0')}`);
      expect(detectDenial('fxiaoke', text(order.body))).toBeNull();
      // Other CRMs keep their defaults.
      const contract = await get(custom, 'acme.lightning.force.com', '/lightning/r/Contract/800xx000001AbCdAAK/view');
      expect(contract.body).toContain('Insufficient Privileges');
    } finally {
      await custom.close();
    }
  });
});
