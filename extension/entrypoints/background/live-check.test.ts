/**
 * The background's Salesforce check (live-check.ts) against the fake Salesforce org on loopback (real HTTP,
 * test/fakes/salesforce.ts: the documented current-user endpoints), reached as the browser would reach the
 * org's My Domain host: only the host differs. What it sends and what it answers the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedPage } from '@accesslens/shared';
import { demoSalesforceOrg } from '../../../test/fakes/salesforce-demo';
import { startFakeSalesforce, type FakeSalesforce } from '../../../test/fakes/salesforce';
import { LiveCheckMemory, pageCheck, type LiveCheckDeps } from './live-check';

/** Ava Chen's user in the demo org. */
let AVA = '';
const CONTRACT = '800xx000001AbCdAAK';
const page = (object: string, recordId: string | null): ObservedPage => ({
  url: `https://acme.lightning.force.com/lightning/r/${object}/${recordId ?? 'x'}/view`,
  object,
  recordId,
  denialText: null,
  crm: 'salesforce',
  tenant: 'acme',
  pageKind: 'record',
});

let sf: FakeSalesforce;
let sid: string;
const seen: { url: string; auth: string | null }[] = [];
const cookies = new Map<string, string>();

const deps = (): LiveCheckDeps => ({
  fetch: (input, init) => {
    const url = new URL(input);
    seen.push({ url: input, auth: new Headers(init?.headers).get('authorization') });
    if (url.host !== 'acme.my.salesforce.com') throw new TypeError('not the My Domain host');
    return fetch(`${sf.url}${url.pathname}${url.search}`, init);
  },
  cookie: async (url, name, storeId) => cookies.get(`${storeId ?? ''}${new URL(url).host} ${name}`) ?? null,
});

beforeAll(async () => {
  sf = await startFakeSalesforce({ org: demoSalesforceOrg(new Date()) });
  AVA = String(sf.org.objects.User!.find((u) => String(u.Username).startsWith('ava@'))!.Id);
  sid = sf.sessionFor(AVA);
});
afterAll(() => sf?.close());

describe('pageCheck (Salesforce)', () => {
  it('asks UserEntityAccess and UserRecordAccess with the My Domain session, and answers only booleans', async () => {
    expect(sf.org.objects.User!.some((u) => u.Id === AVA)).toBe(true);
    cookies.set('acme.my.salesforce.com sid', sid);
    seen.length = 0;
    const answer = await pageCheck(deps(), 'acme.lightning.force.com', page('Account', '001xx000003DGb2AAG'));
    expect(answer).toEqual({
      ok: true,
      unavailable: null,
      verdict: {
        method: 'salesforce-api',
        object: {
          read: sf.userCan(AVA, 'Account', 'read'),
          create: sf.userCan(AVA, 'Account', 'create'),
          edit: sf.userCan(AVA, 'Account', 'edit'),
          delete: sf.userCan(AVA, 'Account', 'delete'),
        },
        record: expect.objectContaining({ read: sf.userCan(AVA, 'Account', 'read') }),
      },
    });
    expect(seen.every((s) => s.auth === `Bearer ${sid}` && s.url.startsWith('https://acme.my.salesforce.com/services/data/v62.0/'))).toBe(true);
    // The session never appears in what goes back to the page.
    expect(JSON.stringify(answer)).not.toContain(sid.split('!')[1]!);
  });

  it("reads the cookie of the page's tab's store (Firefox containers, private windows)", async () => {
    cookies.clear();
    cookies.set('firefox-container-2acme.my.salesforce.com sid', sid);
    expect(await pageCheck(deps(), 'acme.lightning.force.com', page('Account', null))).toMatchObject({ verdict: null, unavailable: 'no-session' });
    const answer = await pageCheck(deps(), 'acme.lightning.force.com', page('Account', null), 'firefox-container-2');
    expect(answer).toMatchObject({ unavailable: null, verdict: { method: 'salesforce-api', record: null } });
  });

  it('a record not shared narrows the record, not the object', async () => {
    cookies.set('acme.my.salesforce.com sid', sid);
    sf.shareRecord(AVA, '001xx000003DGb2AAG', false);
    const answer = await pageCheck(deps(), 'acme.lightning.force.com', page('Account', '001xx000003DGb2AAG'));
    sf.shareRecord(AVA, '001xx000003DGb2AAG', null);
    expect(answer.ok && answer.verdict?.record).toEqual({ read: false, edit: false, delete: false });
    expect(answer.ok && answer.verdict?.object.read).toBe(sf.userCan(AVA, 'Account', 'read'));
  });

  it('no session cookie, a refused session, an unknown host or object: no verdict, and why', async () => {
    cookies.clear();
    expect(await pageCheck(deps(), 'acme.lightning.force.com', page('Contract', CONTRACT))).toEqual({ ok: true, verdict: null, unavailable: 'no-session' });
    cookies.set('acme.my.salesforce.com sid', '00Dxx0000001gPL!expired');
    expect(await pageCheck(deps(), 'acme.lightning.force.com', page('Contract', CONTRACT))).toEqual({ ok: true, verdict: null, unavailable: 'refused' });
    sf.fail({ path: /\/services\/data\/v62\.0\/$/, status: 403, body: [{ errorCode: 'API_CURRENTLY_DISABLED', message: 'API is disabled for this User' }] });
    cookies.set('acme.my.salesforce.com sid', sid);
    expect(await pageCheck(deps(), 'acme.lightning.force.com', page('Contract', CONTRACT))).toEqual({ ok: true, verdict: null, unavailable: 'refused' });
    expect(await pageCheck(deps(), 'app.hubspot.com', { ...page('Contract', CONTRACT), crm: 'hubspot' })).toEqual({
      ok: true,
      verdict: null,
      unavailable: 'unsupported',
    });
    // A name that would change the query is never sent.
    seen.length = 0;
    expect(await pageCheck(deps(), 'acme.lightning.force.com', page("Contract' OR Id != '", CONTRACT))).toEqual({
      ok: true,
      verdict: null,
      unavailable: 'unsupported',
    });
    expect(seen).toEqual([]);
  });
});

describe('who is behind a session, remembered between pages (LiveCheckMemory: the org counts every API call)', () => {
  const OBJECT = 'Account';
  /** Which of the documented calls a check made: identity ("Resources by Version"), object (Tooling), record. */
  const calls = () =>
    seen.map((s) => {
      const path = new URL(s.url).pathname;
      return path.endsWith('/tooling/query/') ? 'object' : path.endsWith('/query/') ? 'record' : 'identity';
    });
  const remembering = (memory: LiveCheckMemory): LiveCheckDeps => ({ ...deps(), liveMemory: memory });

  it('asks who the user is once per session; what they may do every time, so a grant taken away shows at the next load', async () => {
    cookies.clear();
    cookies.set('acme.my.salesforce.com sid', sid);
    const memory = new LiveCheckMemory();
    seen.length = 0;
    const first = await pageCheck(remembering(memory), 'acme.lightning.force.com', page(OBJECT, '001xx000003DGb2AAG'));
    expect(calls().sort()).toEqual(['identity', 'object', 'record']);
    seen.length = 0;
    const again = await pageCheck(remembering(memory), 'acme.lightning.force.com', page(OBJECT, '001xx000003DGb2AAG'));
    expect(calls().sort()).toEqual(['object', 'record']);
    expect(again).toEqual(first);
    seen.length = 0;
    await pageCheck(remembering(memory), 'acme.lightning.force.com', page(OBJECT, null));
    expect(calls()).toEqual(['object']);
    // The same answers as without memory.
    expect(await pageCheck(deps(), 'acme.lightning.force.com', page(OBJECT, '001xx000003DGb2AAG'))).toEqual(first);
  });

  it("another session (another user, another tab's cookie store) is asked who it is, and gets its own answers", async () => {
    const ben = String(sf.org.objects.User!.find((u) => String(u.Username).startsWith('ben@'))!.Id);
    const benSid = sf.sessionFor(ben);
    const memory = new LiveCheckMemory();
    cookies.clear();
    cookies.set('acme.my.salesforce.com sid', sid);
    await pageCheck(remembering(memory), 'acme.lightning.force.com', page(OBJECT, null));
    cookies.set('acme.my.salesforce.com sid', benSid);
    seen.length = 0;
    const answer = await pageCheck(remembering(memory), 'acme.lightning.force.com', page(OBJECT, null));
    expect(calls()).toEqual(['identity', 'object']);
    expect(seen.every((s) => s.auth === `Bearer ${benSid}`)).toBe(true);
    expect(answer.ok && answer.verdict?.object).toEqual({
      read: sf.userCan(ben, OBJECT, 'read'),
      create: sf.userCan(ben, OBJECT, 'create'),
      edit: sf.userCan(ben, OBJECT, 'edit'),
      delete: sf.userCan(ben, OBJECT, 'delete'),
    });
    cookies.set('firefox-container-2acme.my.salesforce.com sid', sid);
    seen.length = 0;
    await pageCheck(remembering(memory), 'acme.lightning.force.com', page(OBJECT, null), 'firefox-container-2');
    expect(calls()).toEqual(['identity', 'object']);
  });
});
