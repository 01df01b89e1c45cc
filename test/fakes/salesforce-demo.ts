/**
 * The demo org (server/src/seed/demo.ts) as a fake Salesforce org: the same users (ids, usernames,
 * emails, last logins), profiles, permission sets and groups (with the same Salesforce ids the seed
 * records), and assignments. An import of it changes nothing the seed wrote — except what a test
 * changes on purpose.
 */
import {
  ACTIVE_DESPITE_STATUS,
  DEMO_BUNDLES,
  DEMO_ORG_ID,
  DEMO_PEOPLE,
  STALE_GRANTS,
  demoBundleExternalId,
  demoLastLoginAt,
  salesforceUserId,
} from '@accesslens/server/seed/demo';
import { OrgBuilder, type FakeOrg } from './salesforce.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export function demoSalesforceOrg(now: Date): FakeOrg {
  const b = new OrgBuilder(DEMO_ORG_ID);
  for (const bundle of DEMO_BUNDLES) {
    const id = demoBundleExternalId(bundle.id);
    if (bundle.kind === 'profile') b.profile(id, bundle.name, bundle.permissions);
    else if (bundle.kind === 'permissionSet') b.permissionSet(id, bundle.name, bundle.permissions);
  }
  for (const bundle of DEMO_BUNDLES)
    if (bundle.kind === 'permissionSetGroup') b.group(demoBundleExternalId(bundle.id), bundle.name, bundle.includes.map(demoBundleExternalId));
  for (const [n, p] of DEMO_PEOPLE.entries()) {
    const first = p.email.split('@')[0]!;
    const profile = p.bundles.find((x) => DEMO_BUNDLES.find((d) => d.id === x)?.kind === 'profile')!;
    const userId = salesforceUserId(n + 1);
    b.user({
      id: userId,
      username: `${first}@acme.test.sf`,
      email: p.email,
      profileId: demoBundleExternalId(profile),
      active: p.status === 'active' || ACTIVE_DESPITE_STATUS.has(p.id),
      lastLoginAt: demoLastLoginAt(n, now),
      createdAt: `${p.hireDate}T09:00:00.000Z`,
    });
    for (const bundleId of p.bundles) {
      const kind = DEMO_BUNDLES.find((d) => d.id === bundleId)!.kind;
      if (kind === 'profile') continue;
      b.assign(userId, demoBundleExternalId(bundleId), { group: kind === 'permissionSetGroup', at: `${p.hireDate}T09:00:00.000Z` });
    }
    for (const [, bundleId, grantedDaysAgo, expiredDaysAgo] of STALE_GRANTS.filter(([id]) => id === p.id))
      b.assign(userId, demoBundleExternalId(bundleId), {
        at: new Date(now.getTime() - grantedDaysAgo * DAY_MS).toISOString(),
        expiresAt: new Date(now.getTime() - expiredDaysAgo * DAY_MS).toISOString(),
      });
  }
  return b.org;
}

export const DEMO_CLIENT = { clientId: 'accesslens-demo-client', clientSecret: 'demo-client-secret-2026' } as const;
