/**
 * The benchmark's fake Salesforce org, deterministic: USERS users (each with a profile), BUNDLES bundles
 * (20 profiles, the rest permission sets, every tenth of those a group of three sets), ASSIGNMENTS
 * permission set assignments in all (the profile ones included). Run as its own process by
 * test/bench/import.ts, so the importer's memory is measured alone: prints the fake's URL, then serves.
 */
import { seededRandom } from '../../shared/src/index.ts';
import { OrgBuilder, sfDateTime, startFakeSalesforce, type FakeOrg } from '../fakes/salesforce.ts';

export const BENCH_CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret' } as const;

const id = (prefix: string, n: number) => `${prefix}Bn${String(n).padStart(10, '0')}AAA`;
export const benchEmail = (n: number) => `user${n}@bench.test`;

export function benchOrg(users: number, bundles: number, assignments: number): FakeOrg {
  const rnd = seededRandom(7);
  const b = new OrgBuilder('00DBn0000000001AAA');
  const objects = Array.from({ length: 200 }, (_, i) =>
    i < 40
      ? ['Account', 'Contact', 'Opportunity', 'Lead', 'Case', 'Campaign', 'Contract', 'Quote', 'Order', 'Product2'][i % 10]! + (i >= 10 ? `${i}__c` : '')
      : `Custom${i}__c`,
  );
  const actions = ['read', 'create', 'edit', 'delete', 'viewAll', 'modifyAll'];
  const systems = ['RunReports', 'ExportReport', 'ApiEnabled', 'ViewSetup', 'EditTask', 'EmailSingle', 'ScheduleReports', 'DataExport'];
  const grantsFor = (n: number) => {
    const g = new Set<string>();
    for (let i = 0; i < 12 + (n % 20); i++) {
      const o = objects[Math.floor(rnd() * objects.length)]!;
      g.add(`object:${o}:read`);
      if (rnd() < 0.5) g.add(`object:${o}:${actions[1 + Math.floor(rnd() * 5)]}`);
      if (rnd() < 0.3) g.add(`field:${o}.Field${Math.floor(rnd() * 30)}__c:${rnd() < 0.5 ? 'read' : 'edit'}`);
    }
    if (rnd() < 0.4) g.add(`system:${systems[Math.floor(rnd() * systems.length)]}`);
    return [...g];
  };
  const profiles = Array.from({ length: 20 }, (_, i) => b.profile(id('00e', i), `Profile ${i}`, grantsFor(i), id('0PS', 100_000 + i)));
  const sets: string[] = [];
  const groups: string[] = [];
  for (let i = 20; i < bundles; i++) {
    if ((i - 20) % 10 === 9 && sets.length >= 3) groups.push(b.group(id('0PG', i), `Group ${i}`, sets.slice(-3)));
    else sets.push(b.permissionSet(id('0PS', i), `Permission set ${i}`, grantsFor(i)));
  }
  const at = sfDateTime('2025-06-01T00:00:00Z');
  for (let u = 0; u < users; u++)
    b.user({
      id: id('005', u),
      username: `user${u}@bench.test.sf`,
      email: benchEmail(u),
      profileId: profiles[u % profiles.length]!,
      active: u % 50 !== 0,
      lastLoginAt: new Date(Date.parse('2026-03-01T00:00:00Z') - (u % 90) * 86_400_000).toISOString(),
      createdAt: '2024-01-01T00:00:00Z',
    });
  // The rest: permission sets and groups, spread over users, never the same one twice for a user.
  let left = assignments - users;
  let n = 0;
  for (let round = 0; left > 0; round++)
    for (let u = 0; u < users && left > 0; u++) {
      const pick = (u * 7 + round * 13) % (sets.length + groups.length);
      const group = pick >= sets.length;
      b.assign(id('005', u), group ? groups[pick - sets.length]! : sets[pick]!, { group, at, id: id('0Pa', n++) });
      left--;
    }
  return b.org;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [users, bundles, assignments] = process.argv.slice(2).map(Number) as [number, number, number];
  const sf = await startFakeSalesforce({ org: benchOrg(users, bundles, assignments), clients: [BENCH_CLIENT] });
  process.stdout.write(`${sf.url}\n`);
}
