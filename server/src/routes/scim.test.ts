/**
 * SCIM 2.0 with the requests identity providers really send. Shapes are taken from:
 * - Okta: developer.okta.com "SCIM 2.0 Protocol Reference" (okta/okta-developer-docs,
 *   docs/reference/scim/scim-20): user lookup, create, PUT update, PATCH deactivate, group push, rename,
 *   membership PATCH.
 * - Microsoft Entra ID: learn.microsoft.com "Tutorial: Develop and plan provisioning for a SCIM endpoint"
 *   (entra-docs, app-provisioning/use-scim-to-provision-users-and-groups.md, "SCIM protocol requests and
 *   responses") and "Known issues and resolutions with SCIM 2.0 protocol compliance"
 *   (application-provisioning-config-problem-scim-compatibility.md): requests with and without the
 *   aadOptscim062020 flag; the enterprise `manager` given as a bare id (the schema example there).
 */
import { adminPersonResponse, scimTokenCreatedResponse } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit.ts';
import { harness, type Harness } from '../testing.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let h: Harness;
let cara: string;
let token: string;
beforeEach(async () => {
  h = await harness();
  cara = await h.signIn('cara@acme.test');
  token = scimTokenCreatedResponse.parse(await (await h.post(cara, '/api/admin/scim-tokens', { name: 'okta' })).json()).token;
});
afterEach(async () => {
  await h.close();
});

type Json = Record<string, any>;

async function scim(method: string, path: string, body?: unknown, bearer: string | null = token) {
  const res = await h.app.request(`http://accesslens.test/scim/v2${path}`, {
    method,
    headers: {
      ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/scim+json; charset=utf-8' } : {}),
      'User-Agent': 'Okta SCIM Client 1.0.0',
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Json };
}

const q = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}`;
const person = async (id: string) => adminPersonResponse.parse(await (await h.get(cara, `/api/admin/people/${id}`)).json()).person;
const events = async () =>
  (await h.db.execute('SELECT person_id, kind, source, actor_id, before, after FROM directory_events ORDER BY id')).rows.map((r) => ({
    personId: String(r.person_id),
    kind: String(r.kind),
    source: String(r.source),
    actorId: r.actor_id,
    before: JSON.parse(String(r.before)) as Json,
    after: JSON.parse(String(r.after)) as Json,
  }));

/** Okta's create request, as its reference shows it. */
const OKTA_CREATE = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName: 'test.user@okta.local',
  name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
  displayName: 'Test User',
  locale: 'en-US',
  externalId: '00ujl29u0le5T6Aj10h7',
  groups: [],
  password: '1mz050nq',
  active: true,
};

/** Entra ID's create request, as its tutorial shows it (userName a UPN, the work email apart). */
const ENTRA_CREATE = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
  active: true,
  emails: [{ primary: true, type: 'work', value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com' }],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
};

describe('discovery', () => {
  it('ServiceProviderConfig, ResourceTypes and Schemas answer without a token, as SCIM JSON', async () => {
    const spc = await scim('GET', '/ServiceProviderConfig', undefined, null);
    expect(spc.status).toBe(200);
    expect(spc.headers.get('Content-Type')).toContain('application/scim+json');
    expect(spc.body).toMatchObject({ patch: { supported: true }, filter: { supported: true, maxResults: 1000 }, bulk: { supported: false } });
    const types = await scim('GET', '/ResourceTypes', undefined, null);
    expect(types.body.Resources.map((r: Json) => [r.id, r.endpoint])).toEqual([
      ['User', '/Users'],
      ['Group', '/Groups'],
    ]);
    expect((await scim('GET', '/ResourceTypes/User', undefined, null)).body.schemaExtensions).toEqual([{ schema: ENTERPRISE, required: false }]);
    const schemas = await scim('GET', '/Schemas', undefined, null);
    expect(schemas.body.totalResults).toBe(3);
    const enterprise = await scim('GET', `/Schemas/${ENTERPRISE}`, undefined, null);
    expect(enterprise.body.attributes.map((a: Json) => a.name)).toEqual(['department', 'manager']);
  });
});

describe('authentication', () => {
  it('needs a live SCIM token of this server: 401 with a SCIM error otherwise', async () => {
    for (const bearer of [null, 'alscim.aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', cara, `${token}x`]) {
      const res = await scim('GET', '/Users', undefined, bearer);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
      expect(res.headers.get('WWW-Authenticate')).toContain('Bearer');
    }
    expect((await scim('GET', '/Users')).status).toBe(200);
    const used = await h.db.execute('SELECT last_used_at FROM scim_tokens');
    expect(used.rows[0]!.last_used_at).toBe(h.clock.now().toISOString());
    const id = String((await h.db.execute('SELECT id FROM scim_tokens')).rows[0]!.id);
    expect((await h.post(cara, `/api/admin/scim-tokens/${id}/revoke`, {})).status).toBe(200);
    expect((await scim('GET', '/Users')).status).toBe(401);
  });
});

describe('Users as Okta sends them', () => {
  it('looks up, creates, reads, updates by PUT, deactivates and reactivates by PATCH', async () => {
    const lookup = await scim('GET', '/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100');
    expect(lookup.status).toBe(200);
    expect(lookup.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    const created = await scim('POST', '/Users', OKTA_CREATE);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.headers.get('Location')).toBe(`http://accesslens.test/scim/v2/Users/${id}`);
    expect(created.body).toMatchObject({
      userName: 'test.user@okta.local',
      externalId: '00ujl29u0le5T6Aj10h7',
      displayName: 'Test User',
      name: { givenName: 'Test', familyName: 'User' },
      active: true,
      emails: [{ value: 'test.user@okta.local', type: 'work', primary: true }],
      meta: { resourceType: 'User', location: `http://accesslens.test/scim/v2/Users/${id}` },
    });
    expect(await person(id)).toMatchObject({ email: 'test.user@okta.local', name: 'Test User', status: 'active', roles: ['requester'] });
    const audit = await h.db.execute("SELECT actor_id, data FROM audit_events WHERE action = 'person.created'");
    expect(audit.rows[0]!.actor_id).toBeNull();
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ via: 'scim', provider: 'okta' });

    const found = await scim('GET', '/Users?filter=userName%20eq%20%22TEST.USER%40okta.local%22&startIndex=1&count=100');
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(id);

    const again = await scim('POST', '/Users', OKTA_CREATE);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: '409', scimType: 'uniqueness' });

    expect((await scim('GET', `/Users/${id}`)).body.userName).toBe('test.user@okta.local');

    // Okta's update: GET, then PUT the whole resource back with its changes.
    const put = await scim('PUT', `/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id,
      userName: 'test.user@okta.local',
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work', display: 'test.user@okta.local' }],
      title: 'Account Executive',
      [ENTERPRISE]: { department: 'Sales', manager: { value: 'p-ben' } },
      active: true,
      groups: [],
      meta: { resourceType: 'User' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' }, title: 'Account Executive' });
    expect(put.body[ENTERPRISE]).toMatchObject({ department: 'Sales', manager: { value: 'p-ben' } });
    // A PUT without displayName names the person from the name parts.
    expect(await person(id)).toMatchObject({ name: 'Another User', title: 'Account Executive', department: 'Sales', managerId: 'p-ben' });

    // Okta PUTs back what it read (our displayName included) with its change: the change wins.
    const read = (await scim('GET', `/Users/${id}`)).body;
    const renamed = await scim('PUT', `/Users/${id}`, { ...read, name: { ...read.name, familyName: 'Userson' } });
    expect(renamed.status).toBe(200);
    expect(await person(id)).toMatchObject({ name: 'Another Userson', department: 'Sales', managerId: 'p-ben' });

    const off = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await person(id)).status).toBe('suspended');
    // A suspended User is still a User (providers restore them with active: true).
    expect((await scim('GET', `/Users/${id}`)).status).toBe(200);
    const on = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(on.body.active).toBe(true);
    expect((await events()).map((e) => [e.kind, e.source, e.actorId])).toEqual([
      ['moved', 'scim', null],
      ['deactivated', 'scim', null],
    ]);
    expect(await verifyAuditChain(h.db)).toMatchObject({ ok: true });
  });
});

describe('Users as Entra ID sends them', () => {
  it('keeps a userName that is not the email; finds by userName, externalId and work email', async () => {
    const created = await scim('POST', '/Users', ENTRA_CREATE);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body.userName).toBe(ENTRA_CREATE.userName);
    expect(await person(id)).toMatchObject({
      email: 'test_user_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com',
      name: 'givenName familyName',
      scimUserName: ENTRA_CREATE.userName,
      externalId: ENTRA_CREATE.externalId,
    });
    for (const filter of [
      `userName eq "${ENTRA_CREATE.userName}"`,
      `externalId eq "${ENTRA_CREATE.externalId}"`,
      'emails[type eq "work"].value eq "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"',
      `userName eq "${ENTRA_CREATE.userName}" and active eq true`,
    ]) {
      const res = await scim('GET', q(filter));
      expect(res.status, filter).toBe(200);
      expect(
        res.body.Resources.map((r: Json) => r.id),
        filter,
      ).toEqual([id]);
    }
    expect((await scim('GET', q('userName eq "non-existent user"'))).body).toMatchObject({ totalResults: 0, Resources: [] });
    // The email alone is no userName when the userName is another name.
    expect((await scim('GET', q('userName eq "test_user_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"'))).body.totalResults).toBe(0);
  });

  it('applies PATCH in both of its shapes: disable, multi-valued, manager, department, path-less replace, removal', async () => {
    const id = (await scim('POST', '/Users', ENTRA_CREATE)).body.id as string;
    const ava = await h.signIn('ava@acme.test');

    // "Update User [Multi-valued properties]"
    const multi = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ],
    });
    expect(multi.status).toBe(200);
    expect(multi.body.emails).toEqual([{ value: 'updatedemail@microsoft.com', type: 'work', primary: true }]);
    expect(multi.body.name).toMatchObject({ familyName: 'updatedFamilyName', givenName: 'givenName' });
    // The displayName it echoes back is unchanged: the new family name decides the shown name.
    expect((await person(id)).name).toBe('givenName updatedFamilyName');

    // The manager as a bare id, the department by its extension path: both moves.
    await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Add', path: `${ENTERPRISE}:manager`, value: 'p-ben' },
        { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Sales' },
        { op: 'Replace', path: 'title', value: 'Account Executive' },
      ],
    });
    expect(await person(id)).toMatchObject({ managerId: 'p-ben', department: 'Sales', title: 'Account Executive' });

    // With aadOptscim062020: several attributes in one path-less replace, keys being paths.
    const flat = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'replace',
          value: {
            displayName: 'Bjfe',
            'name.givenName': 'Kkom',
            'name.familyName': 'Unua',
            [`${ENTERPRISE}:employeeNumber`]: 'Aklq',
            [`${ENTERPRISE}:department`]: 'Sales Operations',
          },
        },
      ],
    });
    expect(flat.status).toBe(200);
    expect(await person(id)).toMatchObject({ name: 'Bjfe', department: 'Sales Operations' });

    // Without the flag, disabling sends the boolean as a string.
    const disabled = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect(disabled.body.active).toBe(false);
    await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] });

    const removed = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: `${ENTERPRISE}:manager` }] });
    expect(removed.body[ENTERPRISE].manager).toBeUndefined();
    expect((await person(id)).managerId).toBeNull();

    expect((await events()).map((e) => [e.kind, e.before.managerId ?? null, e.after.managerId ?? null, e.after.department])).toEqual([
      ['moved', null, 'p-ben', 'Sales'],
      ['moved', 'p-ben', 'p-ben', 'Sales Operations'],
      ['deactivated', 'p-ben', 'p-ben', 'Sales Operations'],
      ['moved', 'p-ben', null, 'Sales Operations'],
    ]);
    // Ben's slice changed (a new report, then none): his cursor resets; Ava's did not.
    expect((await h.pull(ava, (await h.pull(ava)).cursor)).reset).toBe(false);
  });

  it('DELETE marks the person departed: gone from SCIM, kept in the directory, a departure event', async () => {
    const id = (await scim('POST', '/Users', ENTRA_CREATE)).body.id as string;
    const del = await scim('DELETE', `/Users/${id}`);
    expect(del.status).toBe(204);
    expect((await scim('GET', `/Users/${id}`)).status).toBe(404);
    expect((await scim('GET', q(`userName eq "${ENTRA_CREATE.userName}"`))).body.totalResults).toBe(0);
    expect((await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] })).status).toBe(404);
    expect((await person(id)).status).toBe('departed');
    expect((await events()).map((e) => e.kind)).toEqual(['departed']);
    // Creating them again is refused until an administrator reactivates them.
    const back = await scim('POST', '/Users', ENTRA_CREATE);
    expect(back.status).toBe(409);
    expect(back.body.detail).toContain('departed');
  });

  it('names people from their name parts, family name first for Chinese names', async () => {
    const res = await scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'li.wei@acme.test',
      name: { givenName: '伟', familyName: '李' },
      active: true,
    });
    expect(res.status).toBe(201);
    expect(await person(res.body.id)).toMatchObject({ name: '李伟', email: 'li.wei@acme.test', scimUserName: null });
  });
});

describe('Users: lists and errors', () => {
  it('pages with startIndex and count in a stable order; count=0 gives the total only', async () => {
    const all = await scim('GET', '/Users?startIndex=1&count=100');
    // Jon has departed: not a User.
    expect(all.body.totalResults).toBe(10);
    const ids = all.body.Resources.map((r: Json) => r.id);
    const pages: string[] = [];
    for (let start = 1; start <= 10; start += 3) {
      const page = await scim('GET', `/Users?startIndex=${start}&count=3`);
      expect(page.body).toMatchObject({ totalResults: 10, startIndex: start });
      pages.push(...page.body.Resources.map((r: Json) => r.id));
    }
    expect(pages).toEqual(ids);
    expect((await scim('GET', '/Users?count=0')).body).toMatchObject({ totalResults: 10, itemsPerPage: 0, Resources: [] });
    expect((await scim('GET', '/Users?startIndex=0&count=1')).body.startIndex).toBe(1);
    const only = await scim('GET', '/Users?count=1&attributes=userName');
    expect(Object.keys(only.body.Resources[0]).sort()).toEqual(['id', 'meta', 'schemas', 'userName']);
  });

  it('filters: operators, and/or/not, the enterprise department; bad filters are 400 invalidFilter', async () => {
    const ids = async (f: string) => (await scim('GET', q(f))).body.Resources.map((r: Json) => r.id).sort();
    expect(await ids('userName sw "ava@"')).toEqual(['p-ava']);
    expect(await ids(`${ENTERPRISE}:department eq "finance"`)).toEqual(['p-fay', 'p-gil']);
    expect(await ids('title eq "Account Executive" and not (userName eq "eli@acme.test")')).toEqual(['p-ava']);
    expect(await ids('userName eq "ava@acme.test" or userName eq "ben@acme.test"')).toEqual(['p-ava', 'p-ben']);
    expect(await ids('manager.value eq "p-ivy"')).toEqual(['p-hal']);
    for (const bad of ['userName eq', 'userName xx "a"', 'password eq "x"', 'userName eq "a" and', '(userName eq "a"']) {
      const res = await scim('GET', q(bad));
      expect(res.status, bad).toBe(400);
      expect(res.body.scimType, bad).toBe('invalidFilter');
    }
  });

  it('SCIM errors for unknown users, bad JSON, bad operations, unknown managers and cycles, unknown endpoints', async () => {
    expect(await scim('GET', '/Users/p-nobody')).toMatchObject({ status: 404, body: { status: '404', detail: 'No such User.' } });
    expect((await scim('POST', '/Users', '{"userName":')).body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
    expect((await scim('POST', '/Users', { name: { givenName: 'x' } })).body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    // Text that is not text (an unpaired surrogate): refused naming the attribute, as on every route (it was a 500 on sqld).
    const lone = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Sales', externalId: '\ud800' });
    expect(lone).toMatchObject({ status: 400, body: { status: '400', scimType: 'invalidValue' } });
    expect(lone.body.detail).toMatch(/^externalId: /);
    const loneUser = await scim('PATCH', '/Users/p-ava', { Operations: [{ op: 'replace', path: 'title', value: 'a\udc00b' }] });
    expect(loneUser).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
    expect((await scim('POST', '/Users', { userName: 'no-email-anywhere' })).body.detail).toContain('email');
    expect((await scim('PATCH', '/Users/p-ava', { Operations: [{ op: 'move', path: 'title' }] })).body.scimType).toBe('invalidSyntax');
    expect((await scim('PATCH', '/Users/p-ava', { Operations: [{ op: 'remove' }] })).body.scimType).toBe('noTarget');
    const unknownManager = await scim('PATCH', '/Users/p-ava', { Operations: [{ op: 'replace', path: `${ENTERPRISE}:manager`, value: 'nobody' }] });
    expect(unknownManager.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const cycle = await scim('PATCH', '/Users/p-dan', { Operations: [{ op: 'replace', path: `${ENTERPRISE}:manager`, value: { value: 'p-ava' } }] });
    expect(cycle.body.detail).toContain('cycle');
    expect((await scim('PATCH', '/Users/p-ava', { Operations: [{ op: 'replace', path: 'userName', value: 'ben@acme.test' }] })).body.scimType).toBe(
      'uniqueness',
    );
    expect(await scim('GET', '/Bulk')).toMatchObject({ status: 404, body: { status: '404' } });
  });
});

describe('Groups (approver groups)', () => {
  it('Entra ID: create, get without members, find by displayName, add and remove members in both shapes, rename, delete', async () => {
    const created = await scim('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'Revenue Desk',
      meta: { resourceType: 'Group' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ displayName: 'Revenue Desk', externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', members: [] });
    const get = await scim('GET', `/Groups/${id}?excludedAttributes=members`);
    expect(get.body.members).toBeUndefined();
    expect(get.body.displayName).toBe('Revenue Desk');
    const byName = await scim('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "revenue desk"')}`);
    expect(byName.body.Resources.map((g: Json) => g.id)).toEqual([id]);

    const add = await scim('PATCH', `/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'Add',
          path: 'members',
          value: [
            { $ref: null, value: 'p-gil' },
            { $ref: null, value: 'p-fay' },
          ],
        },
      ],
    });
    expect(add.status).toBe(204);
    const admin = async () =>
      ((await (await h.get(cara, `/api/admin/approver-groups/${id}`)).json()) as { group: { memberIds: string[]; name: string } }).group;
    expect((await admin()).memberIds).toEqual(['p-gil', 'p-fay']);
    // Without the flag: Remove with the members in the value. With it: a filtered path.
    await scim('PATCH', `/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: 'members', value: [{ value: 'p-gil' }] }] });
    expect((await admin()).memberIds).toEqual(['p-fay']);
    await scim('PATCH', `/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members[value eq "p-fay"]' }] });
    expect((await admin()).memberIds).toEqual([]);
    await scim('PATCH', `/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: 'Revenue Desk EMEA' }] });
    expect((await admin()).name).toBe('Revenue Desk EMEA');
    const members = await scim('GET', `/Groups?filter=${encodeURIComponent('members[value eq "p-fay"]')}`);
    expect(members.body.totalResults).toBe(0);

    expect((await scim('DELETE', `/Groups/${id}`)).status).toBe(204);
    expect((await scim('GET', `/Groups/${id}`)).status).toBe(404);
    const audit = await h.db.execute('SELECT action, data FROM audit_events WHERE subject_id = ? ORDER BY seq', [id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['group.created', 'group.updated', 'group.updated', 'group.updated', 'group.updated', 'group.deleted']);
    expect(JSON.parse(String(audit.rows[0]!.data))).toMatchObject({ via: 'scim', provider: 'okta' });
  });

  it('Okta: push a group, rename with a path-less replace, replace and patch membership', async () => {
    const pushed = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Test SCIMv2', members: [] });
    const id = pushed.body.id as string;
    const rename = await scim('PATCH', `/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { id, displayName: 'Test SCIMv20' } }],
    });
    expect(rename.status).toBe(204);
    await scim('PATCH', `/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'replace',
          path: 'members',
          value: [
            { value: 'p-ava', display: 'ava@acme.test' },
            { value: 'p-eli', display: 'eli@acme.test' },
          ],
        },
      ],
    });
    await scim('PATCH', `/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'remove', path: 'members[value eq "p-ava"]' },
        { op: 'add', path: 'members', value: [{ value: 'p-hal', display: 'hal@acme.test' }] },
      ],
    });
    const group = await scim('GET', `/Groups/${id}`);
    expect(group.body).toMatchObject({ displayName: 'Test SCIMv20' });
    expect(group.body.members.map((m: Json) => [m.value, m.display])).toEqual([
      ['p-eli', 'Eli Brooks'],
      ['p-hal', 'Hal Sato'],
    ]);
    const list = await scim('GET', '/Groups?startIndex=1&count=100');
    expect(list.body.totalResults).toBe(4);
  });

  it('refuses duplicate names (409 uniqueness), unknown members, and deleting a group the policy names', async () => {
    const dup = await scim('POST', '/Groups', { displayName: 'deal desk' });
    expect(dup.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const unknown = await scim('POST', '/Groups', { displayName: 'X', members: [{ value: 'p-nobody' }] });
    expect(unknown.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const departed = await scim('PATCH', '/Groups/grp-admins', { Operations: [{ op: 'add', path: 'members', value: [{ value: 'p-jon' }] }] });
    expect(departed.body.detail).toContain('p-jon');
    const inUse = await scim('DELETE', '/Groups/grp-deal-desk');
    expect(inUse).toMatchObject({ status: 409, body: { status: '409' } });
  });
});
