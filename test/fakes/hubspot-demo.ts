/**
 * The demo organisation's HubSpot (server/src/seed/demo-crms.ts, connection `hs-acme`, portal 4242424) as a
 * fake HubSpot account: the same users (ids and emails), the same permission sets (ids are the seed's
 * external ids), Cara a Super Admin, and each user's last login three hours before `now`, as the seed
 * records it. Sales Manager has paid seats attached ("Sales Hub Professional", one left); Sales Rep takes a
 * free Core seat. An import of it links the seed's assignments and changes nothing the seed holds.
 */
import { DEMO_CRMS } from '@accesslens/server/seed/demo-crms';
import { DEMO_PEOPLE } from '@accesslens/server/seed/demo';
import { HsAccountBuilder, type HsAccount } from './hubspot.ts';

export const DEMO_HUBSPOT = DEMO_CRMS.find((c) => c.connection.id === 'hs-acme')!;
export const DEMO_HUBSPOT_TOKEN = 'pat-eu1-3f1c2b7a-9d8e-4f60-a1b2-c3d4e5f6a7b8';
export const DEMO_HUBSPOT_SEAT = 'Sales Hub Professional';
/** Settings a connection to the demo account uses (with `apiUrl` of the fake). */
export const DEMO_HUBSPOT_SETTINGS = { roleSeats: { 'Sales Manager': DEMO_HUBSPOT_SEAT } } as const;

export function demoHubspotRole(bundleId: string): string {
  return DEMO_HUBSPOT.bundles.find((b) => b.id === bundleId)!.externalId!;
}

export function demoHubspotUser(personId: string): string {
  return DEMO_HUBSPOT.users[personId]!.externalUserId;
}

export function demoHubspotAccount(now: Date): HsAccount {
  const b = new HsAccountBuilder(Number(DEMO_HUBSPOT.connection.tenant));
  b.seat(DEMO_HUBSPOT_SEAT, 1, 'Sales Hub Professional seat');
  b.seat('Core', 25, 'Core seat');
  b.role('Sales Rep', { id: demoHubspotRole('hs-sales-rep') });
  b.role('Sales Manager', { id: demoHubspotRole('hs-sales-manager'), seat: DEMO_HUBSPOT_SEAT });
  const lastLogin = new Date(now.getTime() - 3 * 3_600_000).toISOString();
  for (const [personId, u] of Object.entries(DEMO_HUBSPOT.users)) {
    const person = DEMO_PEOPLE.find((p) => p.id === personId)!;
    const superAdmin = u.bundles.includes('hs-super-admin');
    const role = u.bundles.find((x) => x !== 'hs-super-admin');
    b.user({ id: u.externalUserId, email: person.email, roleId: role ? demoHubspotRole(role) : null, superAdmin });
    b.login(u.externalUserId, lastLogin);
  }
  return b.account;
}
