/**
 * The demo organisation's Dynamics 365 (server/src/seed/demo-crms.ts, connection `dyn-acme`) as a fake
 * Dataverse environment: the same users (systemuserids, domain names, emails), the same security roles
 * (their root role ids are the seed's external ids) granting the seed's object permissions — Salesperson at
 * Basic depth, Sales Manager at Local, System Administrator at Global —, the same user roles, and each user's
 * last sign-in (a user access audit) three hours before `now`, as the seed records it. An import of it
 * links the seed's assignments to Dataverse and adds only what Dataverse says beyond the seed: the depth
 * of each privilege (`scope:{entity}:{action}:{depth}` keys).
 */
import { DEMO_CRMS } from '@accesslens/server/seed/demo-crms';
import { DEMO_PEOPLE } from '@accesslens/server/seed/demo';
import { DvOrgBuilder, type DvOrg } from './dynamics.ts';

export const DEMO_DYNAMICS = DEMO_CRMS.find((c) => c.connection.id === 'dyn-acme')!;
export const DEMO_DYNAMICS_APP = { clientId: '5f1e8c2a-0b7d-4c3e-9a61-2d4e6f8a9b10', clientSecret: 'demo-dataverse-secret~2026' } as const;
export const DEMO_DYNAMICS_TENANT = 'acme.onmicrosoft.com';
/** The application user AccessLens signs in as. */
export const DEMO_DYNAMICS_APP_USER = '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1bff';

const ACTIONS = { read: 'Read', create: 'Create', edit: 'Write', delete: 'Delete' } as const;
const DEPTH: Record<string, 'Basic' | 'Local' | 'Global'> = { 'dyn-salesperson': 'Basic', 'dyn-sales-manager': 'Local', 'dyn-sysadmin': 'Global' };

/** The root role id of a seed bundle (`dyn-sales-manager` → its Dataverse roleid). */
export function demoDynamicsRole(bundleId: string): string {
  return DEMO_DYNAMICS.bundles.find((b) => b.id === bundleId)!.externalId!;
}

/** The demo user of a person (`p-ava` → Ava's systemuserid). */
export function demoDynamicsUser(personId: string): string {
  return DEMO_DYNAMICS.users[personId]!.externalUserId;
}

export function demoDynamicsOrg(now: Date): DvOrg {
  const b = new DvOrgBuilder('acme', '0a1b2c3d-59b1-ef11-b8e8-000d3a4a0000');
  for (const bundle of DEMO_DYNAMICS.bundles) {
    const depth = DEPTH[bundle.id] ?? 'Basic';
    const privileges = Object.entries(bundle.grants).flatMap(([entity, actions]) =>
      actions.map((a) => [`prv${ACTIONS[a]}${entity[0]!.toUpperCase()}${entity.slice(1)}`, depth] as [string, typeof depth]),
    );
    b.role(bundle.name, privileges, bundle.externalId!);
  }
  const lastLogin = new Date(now.getTime() - 3 * 3_600_000).toISOString();
  for (const [personId, u] of Object.entries(DEMO_DYNAMICS.users)) {
    const person = DEMO_PEOPLE.find((p) => p.id === personId)!;
    b.user({ id: u.externalUserId, domainname: u.username, email: person.email, createdon: `${person.hireDate}T09:00:00Z` });
    for (const bundleId of u.bundles) b.assign(u.externalUserId, demoDynamicsRole(bundleId));
    b.login(u.externalUserId, lastLogin);
  }
  // The application user: a service principal, not a person (it matches nobody in the directory).
  b.user({ id: DEMO_DYNAMICS_APP_USER, domainname: 'accesslens-app@acme.onmicrosoft.com', email: null, applicationid: DEMO_DYNAMICS_APP.clientId });
  b.assign(DEMO_DYNAMICS_APP_USER, demoDynamicsRole('dyn-sysadmin'));
  return b.org;
}
