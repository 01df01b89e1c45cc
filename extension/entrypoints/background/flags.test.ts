/** Flags on CRM user pages, in the background: who may ask, how the slice and the queries' answers combine, the evidence in words. */
import { emptySlice, type Slice, type SyncedFinding } from '@accesslens/shared';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FlagsAnswer } from '../../utils/protocol';
import { evidenceWords, FlagsCache, flagged, mergedFindings } from './flags';
import { handleMessage, type RouterDeps } from './router';
import { SELF, type TestServer, createDeps, signInAs, useTestServer } from './test-server';

const USERS_URL = 'https://acme.my.salesforce.com/005';
const sender = {
  id: SELF.id,
  url: `${USERS_URL}?isUserEntityOverride=1&isdtp=p1`,
  tab: { id: 1, url: 'https://acme.lightning.force.com/lightning/setup/ManageUsers/home' },
};
const page = { url: USERS_URL, crm: 'salesforce' as const, tenant: 'acme', pageKind: 'user-list' as const };

const finding = (over: Partial<SyncedFinding>): SyncedFinding => ({
  id: 'f-1',
  kind: 'dormant',
  severity: 'medium',
  status: 'open',
  reopened: false,
  connectionId: 'sf-acme',
  accountId: 'acc-ivy',
  externalUserId: '005Hs0000000009AAA',
  personId: 'p-ivy',
  keys: [],
  bundleIds: [],
  evidence: { kind: 'dormant', lastLoginAt: '2026-10-20T00:00:00.000Z', daysSinceLogin: 41, thresholdDays: 30 },
  acceptance: null,
  temporary: null,
  updatedAt: '2026-11-01T00:00:00.000Z',
  ...over,
});

describe('who may ask', () => {
  let server: TestServer;
  let deps: RouterDeps;
  const testServer = useTestServer();
  beforeEach(() => {
    server = testServer();
    deps = createDeps(server);
  });

  it('answers nothing to someone who is not an administrator, without asking the server', async () => {
    await signInAs(deps, 'ava@acme.test');
    const before = server.calls.length;
    const answer = (await handleMessage(deps, { type: 'flags.query', page, externalUserIds: ['005Hs0000000009'] }, sender, SELF)) as { ok: true } & FlagsAnswer;
    expect(answer).toMatchObject({ ok: true, admin: false, users: [] });
    expect(server.calls.slice(before).some((c) => c.path.startsWith('/api/findings'))).toBe(false);
    const accept = await handleMessage(
      deps,
      { type: 'flags.accept', page, findingId: 'f-1', reason: 'ok', expiresAt: '2027-01-01T00:00:00.000Z' },
      sender,
      SELF,
    );
    expect(accept).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it("an administrator gets the server's findings for the users on the page, and their evidence in words", async () => {
    await signInAs(deps, 'cara@acme.test');
    // The demo org's Salesforce users (server/src/seed/demo.ts): Ivy (9th) has not signed in for 41 days; Jon
    // (11th) left the company with his user still active; Ava (3rd) has nothing to flag.
    const ivy = '005Hs0000000009AAA';
    const jon = '005Hs0000000011AAA';
    const ava = '005Hs0000000003AAA';
    const answer = (await handleMessage(deps, { type: 'flags.query', page, externalUserIds: [ivy, jon, ava] }, sender, SELF)) as { ok: true } & FlagsAnswer;
    expect(answer).toMatchObject({ ok: true, admin: true, connectionId: 'sf-acme', offline: false });
    expect(answer.users.map((u) => u.externalUserId).sort()).toEqual([ivy, jon]);
    expect(server.calls.some((c) => c.path === '/api/findings/by-accounts')).toBe(true);
    const detail = await handleMessage(deps, { type: 'flags.detail', page, externalUserId: ivy }, sender, SELF);
    expect(detail).toMatchObject({ ok: true, offline: false, user: { externalUserId: ivy, person: { personName: 'Ivy Lund' } } });
    const findings = (detail as unknown as { user: { findings: { kind: string; evidence: string[] }[] } }).user.findings;
    expect(findings).toMatchObject([{ kind: 'dormant', evidence: ['no sign-in for 41 days (the limit is 30)'] }]);
  });

  it('refuses a page that is not the sender’s own, and an accepted risk without a reason', async () => {
    await signInAs(deps, 'ava@acme.test');
    const elsewhere = await handleMessage(deps, { type: 'flags.query', page: { ...page, url: 'https://evil.example/005' }, externalUserIds: [] }, sender, SELF);
    expect(elsewhere).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    const blank = await handleMessage(
      deps,
      { type: 'flags.accept', page, findingId: 'f-1', reason: '   ', expiresAt: '2027-01-01T00:00:00.000Z' },
      sender,
      SELF,
    );
    expect(blank).toMatchObject({ ok: false, error: { code: 'invalid_message', field: 'reason' } });
  });
});

describe('what the flags show', () => {
  it('keeps the newer copy of each finding, from the slice or a query; only open ones are flagged', () => {
    const cache = new FlagsCache().forPerson('p-cara');
    cache.put(finding({ id: 'f-1', status: 'accepted', updatedAt: '2026-11-02T00:00:00.000Z' }));
    cache.put(finding({ id: 'f-2', kind: 'unused', updatedAt: '2026-11-01T00:00:00.000Z' }));
    const slice: Slice = {
      ...emptySlice(),
      findings: [finding({ id: 'f-1', status: 'open' }), finding({ id: 'f-2', status: 'remediated', updatedAt: '2026-11-03T00:00:00.000Z' })],
    };
    const merged = mergedFindings(slice, cache, 'sf-acme');
    expect(merged.map((f) => [f.id, f.status]).sort()).toEqual([
      ['f-1', 'accepted'],
      ['f-2', 'remediated'],
    ]);
    expect(merged.filter(flagged)).toEqual([]);
    expect(mergedFindings(slice, cache, 'other')).toEqual([]);
    // Another person signs in: nothing of the last one's is kept.
    expect(cache.forPerson('p-dan').queried.size).toBe(0);
  });

  it('says the evidence in words', () => {
    const now = new Date('2026-12-01T00:00:00.000Z');
    const slice: Slice = {
      ...emptySlice(),
      bundles: [
        { id: 'ps-vendor', connectionId: 'sf-acme', kind: 'permissionSet', name: 'Create Vendor', includes: [], permissions: [] },
        { id: 'ps-pay', connectionId: 'sf-acme', kind: 'permissionSet', name: 'Approve Payment', includes: [], permissions: [] },
      ],
    };
    const account = { personName: 'Ivy Lund', department: 'Sales', title: 'Account Executive' };
    const words = (over: Partial<SyncedFinding>) => evidenceWords(finding(over), slice, account, now);
    expect(words({})).toEqual(['no sign-in for 41 days (the limit is 30)']);
    expect(
      words({
        kind: 'peer-outlier',
        evidence: { kind: 'peer-outlier', department: 'Sales', title: 'Account Executive', holders: 2, peers: 38, share: 0.05, threshold: 0.1 },
      }),
    ).toEqual(['held by 2 of 38 peers in Sales / Account Executive']);
    expect(
      words({
        kind: 'unused',
        evidence: { kind: 'unused', assignmentId: 'a', windowDays: 90, grantedAt: '2025-01-01T00:00:00.000Z', lastUsedAt: '2026-08-26T00:00:00.000Z' },
      }),
    ).toEqual(['not used for 97 days']);
    expect(
      words({
        kind: 'sod-conflict',
        evidence: {
          kind: 'sod-conflict',
          ruleId: 'r',
          ruleName: 'Vendors vs payments',
          left: { keys: [], bundleIds: ['ps-vendor'] },
          right: { keys: [], bundleIds: ['ps-pay'] },
        },
      }),
    ).toEqual(['separation of duties: Create Vendor + Approve Payment']);
    expect(words({ kind: 'inactive-person', evidence: { kind: 'inactive-person', personStatus: 'departed' } })).toEqual([
      'the person has left; the account is still active',
    ]);
  });
});
