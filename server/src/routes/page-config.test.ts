import type { SyncedKillSwitch, SyncedPageRule } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../testing.ts';

let h: Harness;
let cara: string;
let ava: string;
beforeEach(async () => {
  h = await harness();
  // An in-house CRM, as an admin would connect it.
  await h.db.execute(
    `INSERT INTO crm_connections (id, kind, name, hosts, settings, version)
     VALUES ('desk', 'generic', 'Acme Desk', '["crm.acme.internal","localhost:8788"]', '{}', 1)`,
  );
  [cara, ava] = await Promise.all([h.signIn('cara@acme.test'), h.signIn('ava@acme.test')]);
});
afterEach(async () => {
  await h.close();
});

const RULE = {
  connectionId: 'desk',
  host: 'crm.acme.internal',
  path: '/records/:object/:recordId',
  pageKind: 'record',
  object: { group: 'object' },
  recordId: { group: 'recordId' },
  denialPhrases: ['You may not see this record', '您无权查看此记录'],
};

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; field?: string; message: string } }).error;

describe('page rules', () => {
  it('an admin adds a rule; everyone gets it by sync, with the CRM kind of its connection', async () => {
    const created = await h.post(cara, '/api/admin/page-rules', RULE);
    expect(created.status).toBe(201);
    const rule = (await created.json()) as SyncedPageRule;
    expect(rule).toMatchObject({ crm: 'generic', protocol: 'https', hash: null, priority: 100, deleted: false, ...RULE });

    const slice = await h.pull(ava);
    expect(slice.pageRules.filter((r) => r.connectionId === 'desk')).toEqual([rule]);
    // The demo org's own in-house CRM (Acme Desk) came with its rules.
    expect(slice.pageRules.filter((r) => r.connectionId === 'desk-acme').map((r) => r.path)).toContain('/records/:object/:recordId');
    const audit = await h.db.execute("SELECT actor_id, subject_id FROM audit_events WHERE action = 'page_rule.created'");
    expect(audit.rows.map((r) => [r.actor_id, r.subject_id])).toEqual([['p-cara', rule.id]]);
  });

  it('an edit and a removal reach clients that already hold the rule', async () => {
    const rule = (await (await h.post(cara, '/api/admin/page-rules', RULE)).json()) as SyncedPageRule;
    const first = await h.pull(ava);
    const edited = await h.put(cara, `/api/admin/page-rules/${rule.id}`, { ...RULE, path: '/r/:object/:recordId' });
    expect(edited.status).toBe(200);
    const delta = await h.pull(ava, first.cursor);
    expect(delta.pageRules).toMatchObject([{ id: rule.id, path: '/r/:object/:recordId', deleted: false }]);

    expect((await h.del(cara, `/api/admin/page-rules/${rule.id}`)).status).toBe(204);
    const removed = await h.pull(ava, delta.cursor);
    expect(removed.pageRules).toMatchObject([{ id: rule.id, deleted: true }]);
    // A fresh client never hears of it.
    expect((await h.pull(ava)).pageRules.filter((r) => r.id === rule.id)).toEqual([]);
    expect((await h.del(cara, `/api/admin/page-rules/${rule.id}`)).status).toBe(404);
  });

  it.each([
    [{ path: 'records/:id' }, 'path', 'must start with "/"'],
    [{ path: '/records/(.*)' }, 'path', 'looks like a regular expression'],
    [{ hash: 'deals/:id' }, 'hash', 'must start with "#"'],
    [{ object: { group: 'obj' } }, 'object.group', 'is not a group of the path or hash pattern (object, recordId)'],
    [{ recordId: { group: 'id' } }, 'recordId.group', 'is not a group'],
    [{ host: 'CRM.acme.internal' }, 'host', 'lower-case host name'],
    [{ pageKind: 'detail' }, 'pageKind', ''],
    [{ denialPhrases: [''] }, 'denialPhrases.0', 'is empty'],
  ])('refuses %j with a 400 naming %s', async (change, field, message) => {
    const res = await h.post(cara, '/api/admin/page-rules', { ...RULE, ...change });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('checks the host against the connection: an in-house host, or a host of the CRM a rule overrides', async () => {
    let res = await h.post(cara, '/api/admin/page-rules', { ...RULE, host: 'other.acme.internal' });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ field: 'host', reason: 'host_not_of_connection' });
    res = await h.post(cara, '/api/admin/page-rules', { ...RULE, connectionId: 'nope' });
    expect(await errorOf(res)).toMatchObject({ field: 'connectionId', reason: 'connection_not_found', params: { connectionId: 'nope' } });

    // An override of the Salesforce adapter: only Salesforce hosts, only HTTPS.
    const override = { ...RULE, connectionId: 'sf-acme', host: 'acme.lightning.force.com', path: '/lightning/cmp/c__Invoice' };
    res = await h.post(cara, '/api/admin/page-rules', { ...override, object: { value: 'Invoice__c' }, recordId: null });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ crm: 'salesforce' });
    res = await h.post(cara, '/api/admin/page-rules', { ...override, host: 'crm.acme.internal', object: { value: 'X' }, recordId: null });
    expect(await errorOf(res)).toMatchObject({
      field: 'host',
      message: 'This is not a salesforce host.',
      reason: 'not_crm_host',
      params: { crm: 'salesforce' },
    });
    res = await h.post(cara, '/api/admin/page-rules', { ...override, protocol: 'http', object: { value: 'X' }, recordId: null });
    expect(await errorOf(res)).toMatchObject({ field: 'protocol', reason: 'https_only', params: { crm: 'salesforce' } });
    // Plain HTTP is for in-house CRMs.
    res = await h.post(cara, '/api/admin/page-rules', { ...RULE, host: 'localhost:8788', protocol: 'http' });
    expect(res.status).toBe(201);
  });

  it('only administrators manage rules', async () => {
    expect((await h.post(ava, '/api/admin/page-rules', RULE)).status).toBe(403);
    expect((await h.get(ava, '/api/admin/page-rules')).status).toBe(403);
    expect((await h.post(null, '/api/admin/page-rules', RULE)).status).toBe(401);
    expect((await h.get(cara, '/api/admin/page-rules')).status).toBe(200);
  });
});

describe('kill switches', () => {
  it('pause an adapter for older versions, synced to everyone, and can be lifted', async () => {
    const res = await h.post(cara, '/api/admin/kill-switches', {
      crm: 'zoho',
      pageKind: 'record',
      fixedIn: '0.2.0',
      reason: 'Zoho changed its record pages',
    });
    expect(res.status).toBe(201);
    const ks = (await res.json()) as SyncedKillSwitch;
    const slice = await h.pull(ava);
    expect(slice.killSwitches).toEqual([
      { id: ks.id, crm: 'zoho', pageKind: 'record', fixedIn: '0.2.0', reason: 'Zoho changed its record pages', deleted: false },
    ]);
    expect((await h.del(cara, `/api/admin/kill-switches/${ks.id}`)).status).toBe(204);
    expect((await h.pull(ava, slice.cursor)).killSwitches).toMatchObject([{ id: ks.id, deleted: true }]);
  });

  it('refuses a bad version or a missing reason, naming the field; admins only', async () => {
    const bad = await h.post(cara, '/api/admin/kill-switches', { crm: 'zoho', fixedIn: 'soon', reason: 'x' });
    expect(await errorOf(bad)).toMatchObject({ field: 'fixedIn' });
    const noReason = await h.post(cara, '/api/admin/kill-switches', { crm: 'zoho', fixedIn: '1.0.0', reason: ' ' });
    expect(await errorOf(noReason)).toMatchObject({ field: 'reason' });
    expect((await h.post(ava, '/api/admin/kill-switches', { crm: 'zoho', fixedIn: '1.0.0', reason: 'x' })).status).toBe(403);
  });
});
