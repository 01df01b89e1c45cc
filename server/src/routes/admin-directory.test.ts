import {
  approverGroupResponse,
  approverGroupsResponse,
  licenseResponse,
  licensesResponse,
  scimTokenCreatedResponse,
  scimTokensResponse,
  trainingCompletionsResponse,
  trainingResponse,
  trainingsResponse,
} from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../testing.ts';

let h: Harness;
let cara: string;
beforeEach(async () => {
  h = await harness();
  cara = await h.signIn('cara@acme.test');
});
afterEach(async () => {
  await h.close();
});

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; field?: string; message: string; reason?: string; params?: Record<string, string | number> } }).error;
const actions = async (prefix: string) =>
  (await h.db.execute('SELECT action FROM audit_events WHERE action LIKE ? ORDER BY seq', [`${prefix}%`])).rows.map((r) => r.action);

/** Every admin route of this area, with a body that would be valid. */
const ROUTES: [method: 'get' | 'post' | 'patch' | 'put' | 'del', path: string, body?: unknown][] = [
  ['get', '/api/admin/people'],
  ['get', '/api/admin/people/p-ava'],
  ['post', '/api/admin/people', { email: 'z@acme.test', name: 'Z' }],
  ['patch', '/api/admin/people/p-eli', { title: 'X' }],
  ['post', '/api/admin/people/import?dryRun=true', 'email,name,department,title,manager_email,hire_date,status,trainings\n'],
  ['get', '/api/admin/approver-groups'],
  ['get', '/api/admin/approver-groups/grp-deal-desk'],
  ['post', '/api/admin/approver-groups', { name: 'G' }],
  ['patch', '/api/admin/approver-groups/grp-deal-desk', { name: 'Deal Desk EMEA' }],
  ['del', '/api/admin/approver-groups/grp-deal-desk'],
  ['post', '/api/admin/approver-groups/grp-deal-desk/members', { personId: 'p-ava' }],
  ['del', '/api/admin/approver-groups/grp-deal-desk/members/p-dan'],
  ['get', '/api/admin/trainings'],
  ['post', '/api/admin/trainings', { id: 'new-training', title: 'New' }],
  ['patch', '/api/admin/trainings/sox-controls', { title: 'SOX' }],
  ['del', '/api/admin/trainings/sox-controls'],
  ['get', '/api/admin/trainings/sox-controls/completions'],
  ['put', '/api/admin/trainings/sox-controls/completions/p-ava', { completedOn: '2026-01-01' }],
  ['del', '/api/admin/trainings/sox-controls/completions/p-fay'],
  ['get', '/api/admin/licenses'],
  ['get', '/api/admin/licenses/lic-sf-platform'],
  ['post', '/api/admin/licenses', { connectionId: 'sf-acme', name: 'L', seats: 1 }],
  ['patch', '/api/admin/licenses/lic-sf-platform', { seats: 20 }],
  ['del', '/api/admin/licenses/lic-sf-platform'],
  ['get', '/api/admin/scim-tokens'],
  ['post', '/api/admin/scim-tokens', { name: 'okta' }],
  ['post', '/api/admin/scim-tokens/abc/revoke'],
];

function call(token: string | null, [method, path, body]: (typeof ROUTES)[number]) {
  if (method === 'get') return h.get(token, path);
  if (method === 'del') return h.del(token, path);
  if (typeof body === 'string')
    return h.app.request(path, { method: 'POST', headers: { 'Content-Type': 'text/csv', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body });
  if (method === 'post') return h.post(token, path, body ?? {});
  if (method === 'put') return h.put(token, path, body);
  return h.patch(token, path, body);
}

describe('authorization', () => {
  it('every directory route: 401 anonymous, 403 for requesters and approvers, allowed for administrators; nothing changes when refused', async () => {
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const audits = Number((await h.db.execute('SELECT COUNT(*) AS n FROM audit_events')).rows[0]!.n);
    const version = Number((await h.db.execute('SELECT version FROM meta')).rows[0]!.version);
    for (const route of ROUTES) {
      const label = `${route[0]} ${route[1]}`;
      expect((await call(null, route)).status, `anonymous ${label}`).toBe(401);
      const asAva = await call(ava, route);
      expect(asAva.status, `requester ${label}`).toBe(403);
      const refusal = await errorOf(asAva);
      expect(refusal.message).toMatch(/^Only administrators can /);
      // The role check's reason and the action it guards, as a key the extension says in its own words.
      expect(refusal, label).toMatchObject({ code: 'forbidden', reason: 'admins_only', params: { action: expect.stringMatching(/^manage_/) } });
      expect((await call(ben, route)).status, `approver ${label}`).toBe(403);
    }
    expect(Number((await h.db.execute('SELECT COUNT(*) AS n FROM audit_events')).rows[0]!.n)).toBe(audits);
    expect(Number((await h.db.execute('SELECT version FROM meta')).rows[0]!.version)).toBe(version);
    // An auditor reads findings and policy, not the directory.
    await h.db.execute(`UPDATE people SET roles = '["requester","auditor"]' WHERE id = 'p-hal'`);
    expect((await call(await h.signIn('hal@acme.test'), ROUTES[0]!)).status).toBe(403);
    for (const route of ROUTES) {
      const res = await call(cara, route);
      // Allowed: whatever the route says about this entity, it is not an authorization refusal.
      expect([401, 403], `admin ${route[0]} ${route[1]} → ${res.status} ${res.status >= 400 ? JSON.stringify(await errorOf(res)) : ''}`).not.toContain(
        res.status,
      );
    }
  });
});

describe('/api/admin/approver-groups', () => {
  it('creates, renames, replaces and adds members, deletes: each audited and rebuilding the findings engine', async () => {
    const list = approverGroupsResponse.parse(await (await h.get(cara, '/api/admin/approver-groups')).json());
    expect(list.groups.map((g) => g.name)).toEqual(['AccessLens administrators', 'Deal Desk', 'Salesforce Admins']);
    expect(list.groups.find((g) => g.id === 'grp-sf-admins')!.members.map((m) => m.name)).toEqual(['Cara Diaz', 'Kai Rossi']);

    const created = await h.post(cara, '/api/admin/approver-groups', { name: 'Revenue Desk', memberIds: ['p-gil', 'p-gil', 'p-fay'] });
    expect(created.status).toBe(201);
    const group = approverGroupResponse.parse(await created.json()).group;
    expect(group).toMatchObject({ name: 'Revenue Desk', memberIds: ['p-gil', 'p-fay'], externalId: null });
    const builds = h.findings.stats.builds;
    const renamed = await h.patch(cara, `/api/admin/approver-groups/${group.id}`, { name: 'Revenue Desk EMEA', memberIds: ['p-gil'] });
    expect(approverGroupResponse.parse(await renamed.json()).group).toMatchObject({ name: 'Revenue Desk EMEA', memberIds: ['p-gil'] });
    expect(h.findings.stats.builds).toBeGreaterThan(builds);
    const added = await h.post(cara, `/api/admin/approver-groups/${group.id}/members`, { personId: 'p-ava' });
    expect(approverGroupResponse.parse(await added.json()).group.memberIds).toEqual(['p-gil', 'p-ava']);
    const again = await h.post(cara, `/api/admin/approver-groups/${group.id}/members`, { personId: 'p-ava' });
    expect(approverGroupResponse.parse(await again.json()).group.memberIds).toEqual(['p-gil', 'p-ava']);
    const removed = await h.del(cara, `/api/admin/approver-groups/${group.id}/members/p-gil`);
    expect(approverGroupResponse.parse(await removed.json()).group.memberIds).toEqual(['p-ava']);
    expect((await h.del(cara, `/api/admin/approver-groups/${group.id}`)).status).toBe(204);
    expect((await h.get(cara, `/api/admin/approver-groups/${group.id}`)).status).toBe(404);
    expect(await actions('group.')).toEqual(['group.created', 'group.updated', 'group.updated', 'group.updated', 'group.deleted']);
  });

  it('400 naming an unknown member; 404 for no group; 409 deleting a group the policy names', async () => {
    expect(await errorOf(await h.post(cara, '/api/admin/approver-groups', { name: 'G', memberIds: ['p-ava', 'p-nobody'] }))).toMatchObject({
      code: 'invalid_input',
      field: 'memberIds.1',
    });
    expect(await errorOf(await h.post(cara, '/api/admin/approver-groups/grp-deal-desk/members', { personId: 'p-nobody' }))).toMatchObject({
      field: 'personId',
    });
    const missing = await h.patch(cara, '/api/admin/approver-groups/grp-nope', { name: 'x' });
    expect(missing.status).toBe(404);
    expect(await errorOf(missing)).toEqual({ code: 'not_found', message: 'There is no such approver group.', reason: 'approver_group_not_found' });
    const inUse = await h.del(cara, '/api/admin/approver-groups/grp-deal-desk');
    expect(inUse.status).toBe(409);
    expect(await errorOf(inUse)).toEqual({
      code: 'conflict',
      message: 'The group "Deal Desk" is named by request rules "Deal Desk changes": change those first.',
      reason: 'group_in_rules',
      params: { name: 'Deal Desk', rules: '"Deal Desk changes"' },
    });
    const owner = await h.del(cara, '/api/admin/approver-groups/grp-sf-admins');
    expect(owner.status).toBe(409);
    expect(await errorOf(owner)).toMatchObject({
      code: 'conflict',
      reason: 'group_owns_entries',
      params: { name: 'Salesforce Admins', count: expect.any(Number) },
    });
    expect((await errorOf(await h.del(cara, '/api/admin/approver-groups/grp-sf-admins'))).message).toMatch(
      /^The group "Salesforce Admins" is the owner of \d+ catalog entries: change them first\.$/,
    );
  });
});

describe('/api/admin/trainings', () => {
  it('lists trainings with completions; records, re-dates and removes completions through the person', async () => {
    const list = trainingsResponse.parse(await (await h.get(cara, '/api/admin/trainings')).json());
    expect(list.trainings.find((t) => t.id === 'security-awareness-2025')).toEqual({
      id: 'security-awareness-2025',
      title: 'security-awareness-2025',
      completedCount: 9,
    });
    const created = await h.post(cara, '/api/admin/trainings', { id: 'gdpr-2026', title: 'GDPR 2026' });
    expect(created.status).toBe(201);
    expect(trainingResponse.parse(await created.json()).training).toEqual({ id: 'gdpr-2026', title: 'GDPR 2026', completedCount: 0 });
    expect(await errorOf(await h.post(cara, '/api/admin/trainings', { id: 'gdpr-2026', title: 'x' }))).toMatchObject({
      code: 'conflict',
      field: 'id',
      reason: 'training_exists',
      params: { trainingId: 'gdpr-2026' },
    });

    const put = await h.put(cara, '/api/admin/trainings/gdpr-2026/completions/p-ava', { completedOn: '2026-02-10' });
    expect(trainingCompletionsResponse.parse(await put.json()).completions).toEqual([
      { personId: 'p-ava', name: 'Ava Chen', email: 'ava@acme.test', completedOn: '2026-02-10' },
    ]);
    expect(JSON.parse(String((await h.db.execute("SELECT trainings FROM people WHERE id = 'p-ava'")).rows[0]!.trainings))).toContain('gdpr-2026');
    // Re-dating changes the date only.
    const redate = await h.put(cara, '/api/admin/trainings/gdpr-2026/completions/p-ava', { completedOn: '2026-02-11' });
    expect(trainingCompletionsResponse.parse(await redate.json()).completions[0]!.completedOn).toBe('2026-02-11');
    expect((await h.del(cara, '/api/admin/trainings/gdpr-2026')).status).toBe(409);
    expect((await h.del(cara, '/api/admin/trainings/gdpr-2026/completions/p-ava')).status).toBe(204);
    expect(trainingCompletionsResponse.parse(await (await h.get(cara, '/api/admin/trainings/gdpr-2026/completions')).json()).completions).toEqual([]);
    expect((await h.del(cara, '/api/admin/trainings/gdpr-2026')).status).toBe(204);
    expect(await actions('training.')).toEqual(['training.created', 'training.completion_dated', 'training.deleted']);
    expect(await actions('person.updated')).toHaveLength(2);
  });

  it('a training a request rule requires cannot be deleted; bad dates and unknown people are refused', async () => {
    await h.db.execute("DELETE FROM training_completions WHERE training_id = 'sfdc-security-101'");
    const res = await h.del(cara, '/api/admin/trainings/sfdc-security-101');
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toContain('System permissions');
    expect(await errorOf(await h.put(cara, '/api/admin/trainings/sox-controls/completions/p-ava', { completedOn: '2026-02-30' }))).toMatchObject({
      field: 'completedOn',
    });
    expect((await h.put(cara, '/api/admin/trainings/sox-controls/completions/p-nobody', { completedOn: '2026-02-01' })).status).toBe(404);
    expect((await h.get(cara, '/api/admin/trainings/nope/completions')).status).toBe(404);
  });
});

describe('/api/admin/licenses', () => {
  it('lists licences with seats in use; creates, changes and deletes them, audited', async () => {
    const list = licensesResponse.parse(await (await h.get(cara, '/api/admin/licenses')).json());
    expect(list.licenses).toEqual([
      { id: 'lic-sf-platform', connectionId: 'sf-acme', name: 'Salesforce Platform', type: 'user', seats: 13, used: expect.any(Number), termEndDate: null },
    ]);
    expect(list.licenses[0]!.used).toBeGreaterThan(0);
    const created = await h.post(cara, '/api/admin/licenses', {
      connectionId: 'sf-acme',
      name: 'CRM Analytics',
      type: 'permission-set',
      seats: 5,
      termEndDate: '2027-01-31',
    });
    expect(created.status).toBe(201);
    const lic = licenseResponse.parse(await created.json()).license;
    expect(lic).toMatchObject({ name: 'CRM Analytics', type: 'permission-set', seats: 5, used: 0, termEndDate: '2027-01-31' });
    const changed = await h.patch(cara, `/api/admin/licenses/${lic.id}`, { seats: 8, termEndDate: null });
    expect(licenseResponse.parse(await changed.json()).license).toMatchObject({ seats: 8, termEndDate: null });
    expect(licensesResponse.parse(await (await h.get(cara, '/api/admin/licenses?connectionId=sf-acme')).json()).licenses).toHaveLength(2);
    expect((await h.del(cara, `/api/admin/licenses/${lic.id}`)).status).toBe(204);
    expect((await h.get(cara, `/api/admin/licenses/${lic.id}`)).status).toBe(404);
    expect(await actions('license.')).toEqual(['license.created', 'license.updated', 'license.deleted']);
  });

  it('400 naming the field; 409 deleting a licence the catalog consumes', async () => {
    expect(await errorOf(await h.post(cara, '/api/admin/licenses', { connectionId: 'sf-nope', name: 'L', seats: 1 }))).toMatchObject({
      field: 'connectionId',
    });
    expect(await errorOf(await h.post(cara, '/api/admin/licenses', { connectionId: 'sf-acme', name: 'L', seats: -1 }))).toMatchObject({ field: 'seats' });
    expect(await errorOf(await h.post(cara, '/api/admin/licenses', { connectionId: 'sf-acme', name: 'L', seats: 1, type: 'site' }))).toMatchObject({
      field: 'type',
    });
    expect((await h.del(cara, '/api/admin/licenses/lic-sf-platform')).status).toBe(409);
  });
});

describe('/api/admin/scim-tokens', () => {
  it('creates a token shown once and stored hashed; lists without secrets; revokes', async () => {
    const res = await h.post(cara, '/api/admin/scim-tokens', { name: 'okta' });
    expect(res.status).toBe(201);
    const created = scimTokenCreatedResponse.parse(await res.json());
    expect(created.token).toMatch(/^alscim\.[a-z2-7]{16}\.[a-z2-7]{52}$/);
    const stored = await h.db.execute('SELECT * FROM scim_tokens');
    expect(JSON.stringify(stored.rows)).not.toContain(created.token.split('.')[2]);
    const list = scimTokensResponse.parse(await (await h.get(cara, '/api/admin/scim-tokens')).json());
    expect(list.tokens).toEqual([created.scimToken]);
    expect(JSON.stringify(list)).not.toContain(created.token);
    const revoked = await h.post(cara, `/api/admin/scim-tokens/${created.scimToken.id}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect((await h.post(cara, `/api/admin/scim-tokens/${created.scimToken.id}/revoke`, {})).status).toBe(409);
    expect((await h.post(cara, '/api/admin/scim-tokens/nope/revoke', {})).status).toBe(404);
    expect(await actions('scim_token.')).toEqual(['scim_token.created', 'scim_token.revoked']);
  });
});
