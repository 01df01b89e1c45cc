/**
 * A deterministic synthetic org for benchmarks and property tests: same seed, same org.
 *
 * Shape (defaults): one Salesforce connection, 2,000 permission keys (150 objects × 6 actions and
 * 4 scopes, 200 fields × read/edit, system, app and feature keys — closed under implication),
 * 300 bundles in five inheritance levels (a level-4 bundle reaches level 0 through four includes),
 * departments × titles with baselines, ~4 bundles and ~1.5 direct grants per account, 90 days of
 * usage aggregates, 50 SoD rules, request rules, licenses and owner groups.
 */
import type { Assignment, Bundle, BundleKind, Risk } from '../schemas.ts';
import { SALESFORCE_PERMISSIONS } from '../crm/salesforce-permissions.ts';
import { SALESFORCE_HIGH_RISK_PERMISSIONS } from './catalog/salesforce.ts';
import { defaultLabels } from './catalog/labels.ts';
import type { ApproverGroup, Baseline, CatalogMeta, License, OrgAccount, OrgData, OrgPerson, RequestRule, SodRule, UsageAggregate } from './types.ts';
import { DEFAULT_THRESHOLDS } from './types.ts';

export interface SyntheticOptions {
  seed?: number;
  accounts?: number;
  objects?: number;
  fields?: number;
  bundles?: number;
  sodRules?: number;
  departments?: number;
  titles?: number;
  usageDays?: number;
  now?: Date;
}

/** mulberry32: small, fast, deterministic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEPARTMENTS = ['Sales', 'Service', 'Marketing', 'Finance', 'Legal', 'Operations', 'IT', 'HR', 'Support', 'Partners', 'Procurement', 'Analytics'];
const TITLES = ['Associate', 'Specialist', 'Senior Specialist', 'Lead', 'Manager', 'Senior Manager', 'Director', 'Vice President'];
/** Relative head count per title: many associates, few VPs (so some peer groups are tiny). */
const TITLE_WEIGHTS = [30, 25, 15, 10, 10, 5, 3, 0.3];
export const SYNTHETIC_ADMIN_TITLE = 'CRM Administrator';
const DAY = 86_400_000;

export interface SyntheticOrg {
  org: OrgData;
  now: Date;
  connectionId: string;
  /** Every key of the generated universe (catalog order). */
  keys: string[];
  stats: Record<string, number>;
}

export function generateSyntheticOrg(opts: SyntheticOptions = {}): SyntheticOrg {
  const rnd = seededRandom(opts.seed ?? 42);
  const nAccounts = opts.accounts ?? 100_000;
  const nObjects = opts.objects ?? 150;
  const nFields = opts.fields ?? 200;
  const nBundles = opts.bundles ?? 300;
  const nSod = opts.sodRules ?? 50;
  const nDepts = Math.min(opts.departments ?? 10, DEPARTMENTS.length);
  const nTitles = Math.min(opts.titles ?? 8, TITLES.length);
  const usageDays = opts.usageDays ?? 90;
  const now = opts.now ?? new Date('2026-06-01T00:00:00.000Z');
  const nowMs = now.getTime();
  const conn = 'sf';
  const iso = (ms: number) => new Date(ms).toISOString();
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const sample = <T>(xs: readonly T[], n: number): T[] => {
    const copy = [...xs];
    const out: T[] = [];
    for (let i = 0; i < n && copy.length > 0; i++) out.push(copy.splice(Math.floor(rnd() * copy.length), 1)[0]!);
    return out;
  };
  const weighted = (weights: number[]) => {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = rnd() * total;
    for (let i = 0; i < weights.length; i++) if ((r -= weights[i]!) < 0) return i;
    return weights.length - 1;
  };

  // ---------------- keys ----------------
  const objects = Array.from({ length: nObjects }, (_, i) =>
    i < 10 ? ['Account', 'Contact', 'Opportunity', 'Lead', 'Case', 'Contract', 'Quote', 'Order', 'Product2', 'Campaign'][i]! : `Obj${i}__c`,
  );
  // A Salesforce org: its six object actions and its record scopes (of read access).
  const objectKeys = (o: string) => [
    ...SALESFORCE_PERMISSIONS.vocabulary.objectActions.map((a) => `object:${o}:${a}`),
    ...SALESFORCE_PERMISSIONS.vocabulary.scopes.map((s) => `scope:${o}:read:${s}`),
  ];
  const fieldKeys: string[] = [];
  for (let i = 0; i < nFields; i++) {
    const o = objects[i % nObjects]!;
    fieldKeys.push(`field:${o}.Field${i}__c:read`, `field:${o}.Field${i}__c:edit`);
  }
  const risky = SALESFORCE_HIGH_RISK_PERMISSIONS.map((p) => `system:${p.name}`);
  const plainSystem = Array.from({ length: 36 }, (_, i) => `system:Perm${i}`);
  const apps = Array.from({ length: 20 }, (_, i) => `app:App${i}`);
  const features = Array.from({ length: 20 }, (_, i) => `feature:Feature${i}`);
  const keys = [...objects.flatMap(objectKeys), ...fieldKeys, ...risky, ...plainSystem, ...apps, ...features];

  // Each department works mostly on its own objects.
  const deptObjects = Array.from({ length: nDepts }, () => sample(objects, 25));
  const everyday = (o: string) => [`object:${o}:read`, `object:${o}:create`, `object:${o}:edit`, `scope:${o}:read:team`];
  const deptKeyPool = deptObjects.map((os) => [
    ...os.flatMap(everyday),
    ...fieldKeys.filter((f) => os.includes(f.slice(6, f.indexOf('.')))),
    ...sample(plainSystem, 4),
    ...sample(apps, 3),
    ...sample(features, 3),
  ]);
  const strongKeys = (os: string[]) => os.flatMap((o) => [`object:${o}:delete`, `object:${o}:viewAll`, `object:${o}:modifyAll`, `scope:${o}:read:org`]);

  // ---------------- bundles ----------------
  const levelSizes = [0.4, 0.27, 0.17, 0.1, 0.06].map((f) => Math.round(f * nBundles));
  levelSizes[0]! += nBundles - levelSizes.reduce((a, b) => a + b, 0);
  const bundles: Bundle[] = [];
  const byLevel: number[][] = [];
  const deptOfBundle: number[] = [];
  const kinds: BundleKind[] = ['permissionSet', 'permissionSet', 'permissionSetGroup', 'profile', 'role'];
  for (let level = 0; level < levelSizes.length; level++) {
    byLevel.push([]);
    for (let i = 0; i < levelSizes[level]!; i++) {
      const idx = bundles.length;
      const dept = idx % nDepts;
      const pool = deptKeyPool[dept]!;
      const own = level === 0 ? sample(pool, int(8, 20)) : sample(pool, int(2, 6));
      if (rnd() < 0.15) own.push(...sample(strongKeys(deptObjects[dept]!), int(1, 3)));
      if (rnd() < 0.05) own.push(pick(risky));
      const includes: string[] = [];
      if (level > 0) {
        const below = byLevel[level - 1]!.filter((b) => deptOfBundle[b] === dept && b !== 0);
        includes.push(`b${pick(below.length > 0 ? below : byLevel[level - 1]!)}`);
        for (let j = int(0, 2); j > 0; j--) {
          const lower = byLevel[int(0, level - 1)]!.filter((b) => b !== 0);
          const cand = `b${pick(lower)}`;
          if (!includes.includes(cand)) includes.push(cand);
        }
      }
      bundles.push({
        id: `b${idx}`,
        connectionId: conn,
        kind: kinds[level]!,
        name: `Bundle ${idx} (${DEPARTMENTS[dept]} L${level})`,
        includes,
        permissions: [...new Set(own)],
      });
      byLevel[level]!.push(idx);
      deptOfBundle.push(dept);
    }
  }
  // The admin bundle: super-admin equivalent, for the CRM administrators.
  const admin = bundles[0]!;
  admin.name = 'System Administrator';
  admin.kind = 'profile';
  admin.permissions = [
    ...new Set([...admin.permissions, 'system:ModifyAllData', 'system:ViewAllData', 'system:ManageUsers', 'system:CustomizeApplication', 'system:ApiEnabled']),
  ];
  const deptBundles = Array.from({ length: nDepts }, (_, d) => bundles.map((_, i) => i).filter((i) => deptOfBundle[i] === d && i !== 0));

  // ---------------- directory ----------------
  const groups: ApproverGroup[] = [];
  const people: OrgPerson[] = [];
  const accounts: OrgAccount[] = [];
  const deptTitles = Array.from({ length: nDepts }, (_, d) =>
    DEPARTMENTS[d] === 'IT' ? [...TITLES.slice(0, nTitles), SYNTHETIC_ADMIN_TITLE] : TITLES.slice(0, nTitles),
  );
  const managersByDept: string[][] = Array.from({ length: nDepts }, () => []);
  const personDept: number[] = [];
  const personTitle: number[] = [];
  for (let i = 0; i < nAccounts; i++) {
    const d = i % nDepts;
    const titles = deptTitles[d]!;
    const ti = titles.length > nTitles && rnd() < 0.01 ? titles.length - 1 : weighted(TITLE_WEIGHTS.slice(0, nTitles));
    const r = rnd();
    const status = r < 0.01 ? 'departed' : r < 0.025 ? 'suspended' : 'active';
    const hire = nowMs - int(20, 3650) * DAY;
    const mgrs = managersByDept[d]!;
    const id = `p${i}`;
    people.push({
      id,
      email: `user${i}@example.com`,
      name: `User ${i}`,
      department: DEPARTMENTS[d]!,
      title: titles[ti]!,
      managerId: mgrs.length > 0 && rnd() < 0.97 ? pick(mgrs) : null,
      status,
      roles: ['requester'],
      hireDate: iso(hire),
      completedTrainings: rnd() < 0.7 ? ['crm-basics'] : rnd() < 0.5 ? ['crm-basics', 'crm-admin-security'] : [],
    });
    if (ti >= 4 && mgrs.length < 200) mgrs.push(id);
    personDept.push(d);
    personTitle.push(ti);
    const created = Math.max(hire, nowMs - int(30, 2000) * DAY);
    const loginR = rnd();
    const lastLogin = loginR < 0.01 ? null : loginR < 0.9 ? nowMs - int(0, 20) * DAY - int(0, DAY) : nowMs - int(21, 200) * DAY;
    accounts.push({
      id: `a${i}`,
      personId: id,
      connectionId: conn,
      externalUserId: `005${String(i).padStart(12, '0')}`,
      username: `user${i}@example.com.crm`,
      active: !(status === 'departed' && rnd() < 0.5),
      lastLoginAt: lastLogin === null ? null : iso(Math.max(lastLogin, created)),
      createdAt: iso(created),
    });
  }
  for (let d = 0; d < nDepts; d++) groups.push({ id: `g-owners-${d}`, name: `${DEPARTMENTS[d]} access owners`, memberIds: sample(managersByDept[d]!, 3) });
  groups.push({ id: 'g-security', name: 'Security team', memberIds: sample(managersByDept[Math.min(6, nDepts - 1)]!, 4) });
  groups.push({ id: 'g-crm-admins', name: 'CRM administrators', memberIds: sample(managersByDept[0]!, 3) });

  // ---------------- baselines ----------------
  const baselines: Baseline[] = [];
  const titleBaseline = new Map<string, number[]>();
  const deptCommon: number[][] = [];
  for (let d = 0; d < nDepts; d++) {
    const common = sample(deptBundles[d]!, 6);
    deptCommon.push(common);
    baselines.push({
      id: `bl-${d}`,
      connectionId: conn,
      name: `${DEPARTMENTS[d]} common`,
      match: { department: DEPARTMENTS[d]! },
      bundleIds: common.map((b) => `b${b}`),
      keys: [],
    });
    for (let t = 0; t < deptTitles[d]!.length; t++) {
      const title = deptTitles[d]![t]!;
      const isAdmin = title === SYNTHETIC_ADMIN_TITLE;
      const own = isAdmin ? [0, ...sample(deptBundles[d]!, 2)] : sample(deptBundles[d]!, 3);
      titleBaseline.set(`${d}/${t}`, own);
      baselines.push({
        id: `bl-${d}-${t}`,
        connectionId: conn,
        name: `${DEPARTMENTS[d]} ${title}`,
        match: { department: DEPARTMENTS[d]!, title },
        bundleIds: own.map((b) => `b${b}`),
        keys: sample(deptKeyPool[d]!, 3),
      });
    }
  }

  // ---------------- assignments and usage ----------------
  const flatKeys = new Map<number, string[]>();
  const flatten = (b: number): string[] => {
    const done = flatKeys.get(b);
    if (done) return done;
    const out = new Set(bundles[b]!.permissions);
    for (const inc of bundles[b]!.includes) for (const k of flatten(Number(inc.slice(1)))) out.add(k);
    const list = [...out];
    flatKeys.set(b, list);
    return list;
  };
  const assignments: Assignment[] = [];
  const usage: UsageAggregate[] = [];
  let aid = 0;
  for (let i = 0; i < nAccounts; i++) {
    const acct = accounts[i]!;
    const d = personDept[i]!;
    const created = Date.parse(acct.createdAt);
    const chosen = new Set(titleBaseline.get(`${d}/${personTitle[i]}`)!);
    const r = rnd();
    const extra = r < 0.6 ? pick(deptCommon[d]!) : r < 0.85 ? pick(deptBundles[d]!) : int(1, nBundles - 1);
    chosen.add(extra);
    if (rnd() < 0.05) chosen.delete([...chosen][0]!);
    const usedKeys = new Map<string, number>();
    const use = (k: string, dormant: boolean) => {
      const last = dormant ? nowMs - int(usageDays + 1, usageDays + 200) * DAY : nowMs - int(0, usageDays - 1) * DAY - int(0, DAY - 1);
      usedKeys.set(k, Math.max(usedKeys.get(k) ?? 0, Math.max(last, created)));
    };
    for (const b of chosen) {
      const grantedAt = created + int(0, 30) * DAY;
      assignments.push({
        id: `as${aid++}`,
        accountId: acct.id,
        target: { type: 'bundle', bundleId: `b${b}` },
        source: rnd() < 0.9 ? 'directory' : 'baseline',
        requestId: null,
        grantedAt: iso(Math.min(grantedAt, nowMs - DAY)),
        expiresAt: null,
        revokedAt: null,
      });
      const u = rnd();
      if (u < 0.88) for (const k of sample(flatten(b), int(1, 3))) use(k, false);
      else if (u < 0.94) use(pick(flatten(b)), true);
    }
    const nDirect = weighted([25, 35, 25, 10, 5]);
    for (let j = 0; j < nDirect; j++) {
      const key = rnd() < 0.7 ? pick(deptKeyPool[d]!) : pick(keys);
      const grantedAt = nowMs - int(1, 300) * DAY;
      const timed = rnd() < 0.6;
      const expires = timed ? grantedAt + pick([7, 30, 90]) * DAY : null;
      const expired = expires !== null && expires <= nowMs;
      const revoked = expired && rnd() < 0.8 ? iso(expires) : null;
      assignments.push({
        id: `as${aid++}`,
        accountId: acct.id,
        target: { type: 'permission', key },
        source: 'request',
        requestId: `rq${aid}`,
        grantedAt: iso(Math.max(grantedAt, created)),
        expiresAt: expires === null ? null : iso(expires),
        revokedAt: revoked,
      });
      if (rnd() < 0.7) use(key, false);
    }
    for (const [key, last] of usedKeys) usage.push({ accountId: acct.id, key, lastUsedAt: iso(last), count: int(1, 400) });
  }

  // ---------------- catalog, licenses ----------------
  const highRisk = new Map(SALESFORCE_HIGH_RISK_PERMISSIONS.map((p) => [`system:${p.name}`, p]));
  const catalog: CatalogMeta[] = keys.map((key) => {
    const hr = highRisk.get(key);
    const risk: Risk = hr
      ? hr.risk
      : key.endsWith(':modifyAll')
        ? 'high'
        : key.endsWith(':delete') || key.endsWith(':viewAll') || key.endsWith(':org')
          ? 'medium'
          : 'low';
    const labels = hr ? { en: hr.en, 'zh-CN': hr.zh } : defaultLabels(key, 'salesforce');
    return {
      connectionId: conn,
      key,
      labels,
      risk,
      owner: rnd() < 0.5 ? { type: 'group' as const, groupId: `g-owners-${int(0, nDepts - 1)}` } : null,
      license: key === 'app:App0' || key === 'app:App1' ? 'lic-cpq' : key === 'app:App2' ? 'lic-analytics' : null,
      requiredTrainings: risk === 'critical' ? ['crm-admin-security'] : [],
      maxDurationDays: risk === 'critical' ? 7 : risk === 'high' ? 30 : risk === 'medium' ? 90 : null,
      requestable: risk !== 'critical',
    };
  });
  const licenses: License[] = [
    { id: 'lic-cpq', connectionId: conn, name: 'CPQ', seats: Math.round(nAccounts * 0.3) },
    { id: 'lic-analytics', connectionId: conn, name: 'Analytics', seats: Math.round(nAccounts * 0.2) },
  ];

  // ---------------- SoD ----------------
  const sodRules: SodRule[] = [];
  for (let i = 0; i < nSod; i++) {
    const d1 = int(0, nDepts - 1);
    const d2 = (d1 + int(1, nDepts - 1)) % nDepts;
    if (i % 10 < 7) {
      sodRules.push({
        id: `sod${i}`,
        connectionId: conn,
        name: `SoD ${i}: ${DEPARTMENTS[d1]} vs ${DEPARTMENTS[d2]}`,
        left: { bundleIds: [`b${pick(deptBundles[d1]!)}`] },
        right: { bundleIds: [`b${pick(deptBundles[d2]!)}`] },
        severity: pick(['medium', 'high', 'critical'] as const),
      });
    } else {
      sodRules.push({
        id: `sod${i}`,
        connectionId: conn,
        name: `SoD ${i}: keys`,
        left: { keys: [pick(strongKeys(deptObjects[d1]!))] },
        right: { keys: [`object:${pick(deptObjects[d2]!)}:edit`] },
        severity: 'high',
      });
    }
  }

  // ---------------- request rules ----------------
  const requestRules: RequestRule[] = [
    {
      id: 'rr-critical',
      connectionId: conn,
      name: 'Critical permissions',
      match: { risks: ['critical'] },
      requestable: false,
      stages: [],
      fallback: [{ kind: 'group', groupId: 'g-security' }],
      autoApprove: null,
      defaultDurationDays: 1,
      maxDurationDays: 7,
      prerequisites: {},
      justificationRequired: true,
      evidenceRequired: true,
    },
    {
      id: 'rr-high',
      connectionId: conn,
      name: 'High-risk permissions',
      match: { risks: ['high'] },
      requestable: true,
      stages: [
        { kind: 'manager', mode: { type: 'any' } },
        { kind: 'owner', mode: { type: 'any' } },
        { kind: 'group', groupId: 'g-security', mode: { type: 'nOfM', n: 2 } },
      ],
      fallback: [{ kind: 'group', groupId: 'g-crm-admins' }],
      autoApprove: null,
      defaultDurationDays: 7,
      maxDurationDays: 30,
      prerequisites: { trainings: ['crm-basics'], minTenureDays: 90 },
      justificationRequired: true,
      evidenceRequired: true,
    },
    {
      id: 'rr-low',
      connectionId: conn,
      name: 'Low-risk reads',
      match: { keys: ['object:*:read', 'field:*:read'], risks: ['low'] },
      requestable: true,
      stages: [{ kind: 'manager', mode: { type: 'any' } }],
      fallback: [{ kind: 'group', groupId: 'g-crm-admins' }],
      autoApprove: { maxRisk: 'low', maxDurationDays: 30 },
      defaultDurationDays: 30,
      maxDurationDays: 90,
      prerequisites: {},
      justificationRequired: true,
      evidenceRequired: false,
    },
    {
      id: 'rr-default',
      connectionId: conn,
      name: 'Everything else',
      match: {},
      requestable: true,
      stages: [
        { kind: 'manager', mode: { type: 'any' } },
        { kind: 'owner', mode: { type: 'any' } },
      ],
      fallback: [{ kind: 'group', groupId: 'g-crm-admins' }],
      autoApprove: null,
      defaultDurationDays: 30,
      maxDurationDays: 90,
      prerequisites: { trainings: ['crm-basics'] },
      justificationRequired: true,
      evidenceRequired: false,
    },
  ];

  const org: OrgData = {
    people,
    groups,
    connections: [{ id: conn, kind: 'salesforce', name: 'Synthetic Salesforce' }],
    accounts,
    catalog,
    licenses,
    bundles,
    assignments,
    usage,
    policy: {
      version: 1,
      baselines,
      sodRules,
      requestRules,
      adminFunctions: [{ department: 'IT', title: SYNTHETIC_ADMIN_TITLE }],
      thresholds: { ...DEFAULT_THRESHOLDS, unusedDays: usageDays, peerOutlierShare: 0.05 },
      sodAtRequest: 'warn',
    },
    acceptances: [],
  };
  return {
    org,
    now,
    connectionId: conn,
    keys,
    stats: {
      accounts: accounts.length,
      keys: keys.length,
      bundles: bundles.length,
      maxInheritanceDepth: levelSizes.length - 1,
      assignments: assignments.length,
      bundleAssignments: assignments.filter((a) => a.target.type === 'bundle').length,
      directGrants: assignments.filter((a) => a.target.type === 'permission').length,
      usageAggregates: usage.length,
      sodRules: sodRules.length,
      baselines: baselines.length,
    },
  };
}
