import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRM_KINDS } from './constants.ts';
import { isAssignmentActive } from './engine/access.ts';
import { impliedKeys } from './engine/implications.ts';
import { OBJECT_ACTIONS } from './permissions.ts';
import { connectionForPage, decidePage, durationChoicesFor } from './page-decision.ts';
import { applySync, approverQueue, emptySlice, myRequests, openStage, pullChangesSlice, SLICE_LISTS, unchangedPull, type Slice } from './slice.ts';
import type { AccessRequest, CatalogEntry, CrmConnection, SyncResponse } from './schemas.ts';

const now = new Date('2026-06-01T12:00:00.000Z');
const host = 'acme.lightning.force.com';

const catalog = (key: string, maxDurationDays: number | null, requestable = true): CatalogEntry => ({
  connectionId: 'sf',
  key,
  labels: { en: key, 'zh-CN': key },
  risk: 'low',
  maxDurationDays,
  requestable,
});

function slice(): Slice {
  return {
    ...emptySlice(),
    me: {
      id: 'ava',
      email: 'ava@acme.test',
      name: 'Ava Chen',
      department: 'Sales',
      title: 'AE',
      managerId: 'ben',
      status: 'active',
      roles: ['requester'],
    },
    people: [{ id: 'ben', name: 'Ben Ortiz', email: 'ben@acme.test', title: 'Sales Manager' }],
    connections: [{ id: 'sf', kind: 'salesforce', name: 'Acme', hosts: [host] }],
    accounts: [{ id: 'acct', personId: 'ava', connectionId: 'sf', externalUserId: '005', username: 'ava', active: true, lastLoginAt: null }],
    catalog: [catalog('object:Contract:read', 90), catalog('object:Contract:delete', 7)],
    bundles: [
      { id: 'profile', connectionId: 'sf', kind: 'profile', name: 'Standard Sales User', includes: [], permissions: ['object:Account:edit'] },
      { id: 'cm', connectionId: 'sf', kind: 'permissionSet', name: 'Contract Manager', includes: [], permissions: ['object:Contract:edit'] },
    ],
    assignments: [
      {
        id: 'as1',
        accountId: 'acct',
        target: { type: 'bundle', bundleId: 'profile' },
        source: 'directory',
        requestId: null,
        grantedAt: '2026-01-01T00:00:00.000Z',
        expiresAt: null,
        revokedAt: null,
      },
    ],
    requests: [],
  };
}

const contractPage = {
  url: 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
  object: 'Contract',
  recordId: '800xx000001AbCdAAK',
  denialText: 'Insufficient Privileges',
  crm: 'salesforce' as const,
  tenant: 'acme',
  pageKind: 'record' as const,
};

const request = (over: Partial<AccessRequest>): AccessRequest => ({
  id: 'r1',
  requesterId: 'ava',
  connectionId: 'sf',
  accountId: 'acct',
  permissions: ['object:Contract:read'],
  page: null,
  justification: 'renewal',
  evidence: [],
  durationDays: 30,
  status: 'pending',
  stages: [{ kind: 'manager', label: 'Manager', keys: [], approverIds: ['ben'], required: 1, approvals: [], decision: null, escalated: false }],
  createdAt: '2026-06-01T11:00:00.000Z',
  updatedAt: '2026-06-01T11:00:00.000Z',
  decidedAt: null,
  grantedAt: null,
  expiresAt: null,
  ...over,
});

describe('decidePage', () => {
  it('on a denied Contract page: read is missing, nothing grants it, and the bundle that would is named', () => {
    const verdict = decidePage(slice(), host, contractPage, now);
    expect(verdict.state).toBe('ready');
    if (verdict.state !== 'ready') return;
    const d = verdict.decision;
    expect(d.focus).toBe('read');
    expect(d.rows.map((r) => [r.action, r.state])).toEqual([
      ['read', 'missing'],
      ['create', 'missing'],
      ['edit', 'missing'],
      ['delete', 'missing'],
    ]);
    const read = d.rows[0]!;
    expect(read.explanation.allowed).toBe(false);
    if (!read.explanation.allowed) expect(read.explanation.grantableBy.map((b) => b.name)).toEqual(['Contract Manager']);
    expect(d.approvers.map((p) => p.name)).toEqual(['Ben Ortiz']);
    expect(d.durationChoices).toEqual([1, 7, 30, 90]);
    expect(d.requestable).toBe(true);
  });

  it('shows allowed (with implication) on an object the profile grants', () => {
    const verdict = decidePage(slice(), host, { ...contractPage, object: 'Account', denialText: null }, now);
    if (verdict.state !== 'ready') throw new Error(verdict.state);
    expect(verdict.decision.rows.map((r) => r.state)).toEqual(['allowed', 'missing', 'allowed', 'missing']);
    expect(verdict.decision.summary).toEqual({ allowed: 2, missing: 2 });
  });

  it('shows pending while a request is open, granted with its end once approved, missing again after expiry', () => {
    const s = slice();
    s.requests = [request({})];
    let verdict = decidePage(s, host, contractPage, now);
    if (verdict.state !== 'ready') throw new Error(verdict.state);
    expect(verdict.decision.rows[0]).toMatchObject({ state: 'pending', request: { id: 'r1' } });

    s.requests = [request({ status: 'approved', grantedAt: '2026-06-01T11:30:00.000Z', expiresAt: '2026-06-08T11:30:00.000Z' })];
    s.assignments.push({
      id: 'g1',
      accountId: 'acct',
      target: { type: 'permission', key: 'object:Contract:read' },
      source: 'request',
      requestId: 'r1',
      grantedAt: '2026-06-01T11:30:00.000Z',
      expiresAt: '2026-06-08T11:30:00.000Z',
      revokedAt: null,
    });
    verdict = decidePage(s, host, contractPage, now);
    if (verdict.state !== 'ready') throw new Error(verdict.state);
    expect(verdict.decision.rows[0]).toMatchObject({ state: 'granted', grantExpiresAt: '2026-06-08T11:30:00.000Z' });

    verdict = decidePage(s, host, contractPage, new Date('2026-06-08T11:30:00.000Z'));
    if (verdict.state !== 'ready') throw new Error(verdict.state);
    expect(verdict.decision.rows[0]!.state).toBe('missing');
  });

  it('an approval the CRM does not hold yet is "approved" (being applied), not missing and not granted', () => {
    const s = slice();
    s.requests = [request({ status: 'approved' })];
    const verdict = decidePage(s, host, contractPage, now);
    if (verdict.state !== 'ready') throw new Error(verdict.state);
    expect(verdict.decision.rows[0]).toMatchObject({ state: 'approved', request: { id: 'r1' } });
    expect(verdict.decision.summary).toMatchObject({ allowed: 0 });
  });

  it('a denied request leaves the row missing but attached, so the reason can be shown', () => {
    const s = slice();
    s.requests = [request({ status: 'denied' })];
    const verdict = decidePage(s, host, contractPage, now);
    if (verdict.state !== 'ready') throw new Error(verdict.state);
    expect(verdict.decision.rows[0]).toMatchObject({ state: 'missing', request: { status: 'denied' } });
  });

  it('says when the host is not a known connection, or the viewer has no account there', () => {
    expect(decidePage(slice(), 'other.lightning.force.com', contractPage, now).state).toBe('no-connection');
    const s = slice();
    s.accounts = [];
    expect(decidePage(s, host, contractPage, now)).toEqual({ state: 'no-account', connectionId: 'sf' });
  });

  it('asks for create on a "new" page and edit on an edit page, when no denial is shown', () => {
    const newPage = { ...contractPage, recordId: null, denialText: null, pageKind: 'new' as const };
    const verdict = decidePage(slice(), host, newPage, now);
    if (verdict.state !== 'ready') throw new Error(verdict.state);
    expect(verdict.decision.focus).toBe('create');
    expect(verdict.decision.requestable).toBe(false); // not in the catalog
  });
});

describe("decidePage uses the engine with the CRM kind's semantics", () => {
  const withBundle = (kind: Slice['connections'][number]['kind'], permissions: string[]) => {
    const s = slice();
    s.connections = [{ ...s.connections[0]!, kind }];
    s.bundles.push({ id: 'extra', connectionId: 'sf', kind: 'permissionSet', name: 'Extra', includes: [], permissions });
    s.assignments.push({ ...s.assignments[0]!, id: 'as-extra', target: { type: 'bundle', bundleId: 'extra' } });
    return s;
  };
  const states = (s: Slice, object: string) => {
    const v = decidePage(s, host, { ...contractPage, crm: s.connections[0]!.kind, object, denialText: null }, now);
    if (v.state !== 'ready') throw new Error(v.state);
    return v.decision.rows.map((r) => r.state);
  };

  it('a Modify All holder is shown Delete as allowed (Salesforce: Modify All requires Delete)', () => {
    expect(states(withBundle('salesforce', ['object:Contract:modifyAll']), 'Contract')).toEqual(['allowed', 'missing', 'allowed', 'allowed']);
  });

  it('View All Data and Modify All Data reach objects no bundle names', () => {
    expect(states(withBundle('salesforce', ['system:ViewAllData']), 'Invoice__c')).toEqual(['allowed', 'missing', 'missing', 'missing']);
    expect(states(withBundle('salesforce', ['system:ModifyAllData']), 'Invoice__c')).toEqual(['allowed', 'allowed', 'allowed', 'allowed']);
  });

  it('Dynamics: Write does not grant Read, Delete does not grant Write', () => {
    expect(states(withBundle('dynamics', ['object:account:edit', 'object:account:delete']), 'account')).toEqual(['missing', 'missing', 'allowed', 'allowed']);
  });

  it('for every CRM kind, each row is allowed exactly when the engine grants its key (property)', () => {
    const keys = [
      'object:Contract:read',
      'object:Contract:edit',
      'object:Contract:delete',
      'object:Contract:modifyAll',
      'object:Contract:viewAll',
      'object:Contract:create',
      'scope:Contract:read:team',
      'system:ModifyAllData',
      'system:ViewAllData',
      'object:Contract:assign',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...CRM_KINDS),
        fc.array(fc.subarray(keys, { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        fc.subarray(keys, { maxLength: 2 }),
        fc.boolean(),
        (kind, bundlePerms, direct, expired) => {
          const s = slice();
          s.connections = [{ ...s.connections[0]!, kind }];
          s.bundles = bundlePerms.map((permissions, i) => ({
            id: `b${i}`,
            connectionId: 'sf',
            kind: 'permissionSet',
            name: `B${i}`,
            includes: i > 0 ? [`b${i - 1}`] : [],
            permissions,
          }));
          s.assignments = [
            {
              ...s.assignments[0]!,
              id: 'top',
              target: { type: 'bundle', bundleId: `b${bundlePerms.length - 1}` },
              expiresAt: expired ? now.toISOString() : null,
            },
            ...direct.map((key, i) => ({ ...s.assignments[0]!, id: `d${i}`, target: { type: 'permission' as const, key }, source: 'request' as const })),
          ];
          const v = decidePage(s, host, { ...contractPage, crm: kind, denialText: null }, now);
          if (v.state !== 'ready') throw new Error(v.state);
          const granted = s.assignments
            .filter((a) => isAssignmentActive(a, now))
            .flatMap((a) => (a.target.type === 'permission' ? [a.target.key] : s.bundles.flatMap((b) => b.permissions)));
          const engine = impliedKeys(kind, granted, ['Contract']);
          for (const [i, row] of v.decision.rows.entries()) {
            expect(row.key).toBe(`object:Contract:${OBJECT_ACTIONS[i]}`);
            expect(row.state === 'allowed' || row.state === 'granted', `${kind} ${row.key}`).toBe(engine.has(row.key));
          }
        },
      ),
    );
  });
});

describe('durationChoicesFor', () => {
  it('caps by the smallest maximum of the keys', () => {
    const c = [catalog('a', 90), catalog('b', 7), catalog('c', null)];
    expect(durationChoicesFor(['a'], c, 'sf')).toEqual([1, 7, 30, 90]);
    expect(durationChoicesFor(['a', 'b'], c, 'sf')).toEqual([1, 7]);
    expect(durationChoicesFor(['c'], c, 'sf')).toEqual([1, 7, 30, 90]);
    expect(durationChoicesFor(['d'], [catalog('d', 3)], 'sf')).toEqual([1]);
  });
});

describe('slice', () => {
  const pull = (over: Partial<SyncResponse>): SyncResponse => ({ ...unchangedPull('c'), ...over });

  it('upserts by id on an incremental pull and replaces on a reset', () => {
    const base = slice();
    base.requests = [request({})];
    const updated = applySync(base, pull({ requests: [request({ status: 'approved' })] }));
    expect(updated.requests).toHaveLength(1);
    expect(updated.requests[0]!.status).toBe('approved');
    expect(updated.me?.id).toBe('ava');
    expect(updated.catalog).toHaveLength(2);

    const reset = applySync(base, pull({ reset: true, me: base.me, catalog: [catalog('object:Lead:read', null)] }));
    expect(reset.requests).toHaveLength(0);
    expect(reset.catalog.map((c) => c.key)).toEqual(['object:Lead:read']);
  });

  it('the approver queue follows stage order and N-of-M: only the open stage, only approvers yet to approve', () => {
    const approval = (deciderId: string) => ({
      deciderId,
      outcome: 'approve' as const,
      reason: null,
      durationDays: null,
      decidedAt: '2026-06-01T11:10:00.000Z',
    });
    const twoStage = request({
      id: 'r9',
      stages: [
        { kind: 'manager', label: 'Manager', keys: [], approverIds: ['ben'], required: 1, approvals: [], decision: null, escalated: false },
        { kind: 'group', label: 'Deal Desk', keys: [], approverIds: ['dan', 'eve', 'fay'], required: 2, approvals: [], decision: null, escalated: false },
      ],
    });
    const s = { ...emptySlice(), requests: [twoStage] };
    expect(approverQueue(s, 'ben').map((r) => r.id)).toEqual(['r9']);
    expect(approverQueue(s, 'dan')).toEqual([]); // stage 2 is not open yet

    const afterBen = {
      ...twoStage,
      stages: [
        { ...twoStage.stages[0]!, approvals: [approval('ben')], decision: approval('ben') },
        { ...twoStage.stages[1]!, approvals: [approval('dan')] },
      ],
    };
    const s2 = { ...emptySlice(), requests: [afterBen] };
    expect(approverQueue(s2, 'ben')).toEqual([]);
    expect(approverQueue(s2, 'dan')).toEqual([]); // already approved; one more of eve/fay is needed
    expect(approverQueue(s2, 'eve').map((r) => r.id)).toEqual(['r9']);
    expect(openStage(afterBen)?.label).toBe('Deal Desk');
  });

  it('the approver queue holds open requests routed to the viewer, never their own', () => {
    const s = { ...emptySlice(), requests: [request({}), request({ id: 'r2', requesterId: 'ben' }), request({ id: 'r3', status: 'approved' })] };
    expect(approverQueue(s, 'ben').map((r) => r.id)).toEqual(['r1']);
    expect(approverQueue(s, 'dan')).toEqual([]);
    expect(
      myRequests(s, 'ava')
        .map((r) => r.id)
        .sort(),
    ).toEqual(['r1', 'r3']);
  });
});

describe('which connection a page belongs to', () => {
  const conn = (id: string, kind: CrmConnection['kind'], hosts: string[], tenant: string | null = null): CrmConnection => ({
    id,
    kind,
    name: id,
    hosts,
    tenant,
  });
  const me = slice().me!;
  const account = (connectionId: string) => ({
    id: `acct-${connectionId}`,
    personId: me.id,
    connectionId,
    externalUserId: 'u',
    username: 'u',
    active: true,
    lastLoginAt: null,
  });

  it('by (kind, tenant) on a shared host: two Zoho orgs on crm.zoho.com.cn are told apart', () => {
    const s = {
      me,
      connections: [conn('zoho-a', 'zoho', ['crm.zoho.com.cn'], '7700001'), conn('zoho-b', 'zoho', ['crm.zoho.com.cn'], '7700002')],
      accounts: [],
    };
    expect(connectionForPage(s, { crm: 'zoho', tenant: '7700002' }, 'crm.zoho.com.cn')).toEqual({ connection: s.connections[1] });
    expect(connectionForPage(s, { crm: 'zoho', tenant: '9999999' }, 'crm.zoho.com.cn')).toBeNull();
    // Same tenant string, other CRM kind: not this connection.
    expect(connectionForPage(s, { crm: 'hubspot', tenant: '7700001' }, 'app.hubspot.com')).toBeNull();
  });

  it('by host for a connection that names no tenant', () => {
    const s = { me, connections: [conn('sf', 'salesforce', ['acme.lightning.force.com'])], accounts: [] };
    expect(connectionForPage(s, { crm: 'salesforce', tenant: 'acme' }, 'acme.lightning.force.com')).toEqual({ connection: s.connections[0] });
    expect(connectionForPage(s, { crm: 'salesforce', tenant: 'globex' }, 'globex.lightning.force.com')).toBeNull();
  });

  it('where the URL names no tenant (Fxiaoke): the one the person has an account on, or the one chosen, or ask', () => {
    const a = conn('fx-a', 'fxiaoke', ['www.fxiaoke.com']);
    const b = conn('fx-b', 'fxiaoke', ['www.fxiaoke.com']);
    expect(connectionForPage({ me, connections: [a, b], accounts: [account('fx-b')] }, { crm: 'fxiaoke', tenant: null }, 'www.fxiaoke.com')).toEqual({
      connection: b,
    });
    const both = { me, connections: [a, b], accounts: [account('fx-a'), account('fx-b')] };
    expect(connectionForPage(both, { crm: 'fxiaoke', tenant: null }, 'www.fxiaoke.com')).toEqual({ choose: [a, b] });
    expect(connectionForPage(both, { crm: 'fxiaoke', tenant: null }, 'www.fxiaoke.com', { fxiaoke: 'fx-a' })).toEqual({ connection: a });
  });

  it("an in-house CRM by its host; a page's object by the catalog's name (Zoho Potentials → Deals)", () => {
    const desk = conn('desk', 'generic', ['localhost:8788']);
    expect(connectionForPage({ me, connections: [desk], accounts: [] }, { crm: 'generic', tenant: 'localhost:8788' }, 'localhost:8788')).toEqual({
      connection: desk,
    });
    const s = slice();
    s.connections = [conn('sf', 'zoho', ['crm.zoho.com.cn'], '7700001')];
    s.catalog = [{ ...s.catalog[0]!, key: 'object:Deals:read' }];
    const v = decidePage(s, 'crm.zoho.com.cn', { ...contractPage, crm: 'zoho', tenant: '7700001', object: 'Potentials' }, now);
    if (v.state !== 'ready') throw new Error(v.state);
    expect(v.decision.object).toBe('Deals');
    expect(v.decision.rows.map((r) => r.key)).toEqual(['object:Deals:read', 'object:Deals:create', 'object:Deals:edit', 'object:Deals:delete']);
  });

  it('reuses the access index kept for the same slice, and sees a new slice', () => {
    const s = slice();
    const indexes = new Map();
    const first = decidePage(s, host, contractPage, now, { indexes });
    expect(indexes.size).toBe(1);
    const again = decidePage(s, host, contractPage, now, { indexes });
    expect(again).toEqual(first);
  });
});

describe('sync of a slice', () => {
  it('a pull with news in any list changes the slice, and applying it keeps them (none forgotten)', () => {
    const lists = Object.keys(emptySlice()).filter((k) => k !== 'me');
    expect(lists.sort()).toEqual([...SLICE_LISTS].sort());
    for (const list of SLICE_LISTS) {
      const item = { id: `x-${list}`, connectionId: 'c', key: 'k' };
      const pull = { ...unchangedPull('c1'), [list]: [item] } as unknown as SyncResponse;
      expect(pullChangesSlice(pull), list).toBe(true);
      expect((applySync(emptySlice(), pull)[list] as unknown[]).length, list).toBe(1);
    }
    expect(pullChangesSlice(unchangedPull('c1'))).toBe(false);
  });
});
