/**
 * The demo organisation's other CRMs, so every adapter can be seen working: Dynamics 365, HubSpot,
 * Zoho CRM (China), Fxiaoke, and Acme Desk, an in-house CRM read through admins' page rules (served by
 * `pnpm start` on localhost). Each has the same people in the same jobs as the Salesforce org: Ava (an
 * account executive) can read customers and leads but not deals, quotes or invoices; Ben (her manager)
 * and Dan can; Cara administers. External user ids match the fixture pages' user lists.
 */
import { OBJECT_ACTIONS, type BundleKind, type CrmKind, type ObjectAction, type PageRuleInput, type Risk } from '@accesslens/shared';
import type { WriteContext } from '../write.ts';

type Grants = Record<string, readonly ObjectAction[]>;

interface DemoCrm {
  connection: { id: string; kind: CrmKind; name: string; hosts: string[]; tenant: string | null };
  /** Catalog objects (the CRM's API names), their labels, and how risky reading them is. */
  objects: { name: string; en: string; zh: string; readRisk: Risk }[];
  /** `externalId`: the CRM's id of it (so an import of the CRM finds the seed's bundles). */
  bundles: { id: string; kind: BundleKind; name: string; grants: Grants; externalId?: string }[];
  /** Person → their user in this CRM and the bundles they hold. */
  users: Record<string, { externalUserId: string; username: string; bundles: string[] }>;
  /** Page rules an admin wrote (in-house CRMs). */
  pageRules?: (Omit<PageRuleInput, 'connectionId'> & { id: string })[];
}

const all: readonly ObjectAction[] = OBJECT_ACTIONS;
const rce: readonly ObjectAction[] = ['read', 'create', 'edit'];

/** The in-house CRM's port under `pnpm start` (its host is part of the demo connection). */
export const DEMO_DESK_PORT = 8788;
export const DEMO_DESK_CONNECTION_ID = 'desk-acme';

export const DEMO_CRMS: DemoCrm[] = [
  {
    connection: { id: 'dyn-acme', kind: 'dynamics', name: 'Acme Dynamics 365', hosts: ['acme.crm4.dynamics.com'], tenant: 'acme' },
    objects: [
      { name: 'account', en: 'Accounts', zh: '客户', readRisk: 'low' },
      { name: 'contact', en: 'Contacts', zh: '联系人', readRisk: 'low' },
      { name: 'lead', en: 'Leads', zh: '潜在顾客', readRisk: 'low' },
      { name: 'opportunity', en: 'Opportunities', zh: '商机', readRisk: 'medium' },
      { name: 'quote', en: 'Quotes', zh: '报价单', readRisk: 'medium' },
    ],
    bundles: [
      // Dataverse privileges are independent: each role lists Read besides Write (Write implies nothing).
      // externalId: the root role's roleid in Dataverse.
      {
        id: 'dyn-salesperson',
        kind: 'securityRole',
        name: 'Salesperson',
        grants: { account: rce, contact: rce, lead: rce },
        externalId: 'c3a5e0b1-59b1-ef11-b8e8-000d3a4a1b01',
      },
      {
        id: 'dyn-sales-manager',
        kind: 'securityRole',
        name: 'Sales Manager',
        grants: { account: rce, contact: rce, lead: all, opportunity: rce, quote: rce },
        externalId: 'c3a5e0b1-59b1-ef11-b8e8-000d3a4a1b02',
      },
      {
        id: 'dyn-sysadmin',
        kind: 'securityRole',
        name: 'System Administrator',
        grants: { account: all, contact: all, lead: all, opportunity: all, quote: all },
        externalId: 'c3a5e0b1-59b1-ef11-b8e8-000d3a4a1b03',
      },
    ],
    users: {
      'p-ava': { externalUserId: '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c', username: 'ava@acme.onmicrosoft.com', bundles: ['dyn-salesperson'] },
      'p-ben': { externalUserId: '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2d', username: 'ben@acme.onmicrosoft.com', bundles: ['dyn-sales-manager'] },
      'p-dan': { externalUserId: '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b30', username: 'dan@acme.onmicrosoft.com', bundles: ['dyn-sales-manager'] },
      'p-cara': { externalUserId: '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b31', username: 'cara@acme.onmicrosoft.com', bundles: ['dyn-sysadmin'] },
    },
  },
  {
    connection: { id: 'hs-acme', kind: 'hubspot', name: 'Acme HubSpot', hosts: ['app.hubspot.com', 'app-eu1.hubspot.com'], tenant: '4242424' },
    objects: [
      { name: 'contact', en: 'Contacts', zh: '联系人', readRisk: 'low' },
      { name: 'company', en: 'Companies', zh: '公司', readRisk: 'low' },
      { name: 'deal', en: 'Deals', zh: '交易', readRisk: 'medium' },
      { name: 'ticket', en: 'Tickets', zh: '工单', readRisk: 'low' },
    ],
    bundles: [
      // externalId: the permission set's (role's) id in HubSpot; Super Admin is a user flag there, not a role.
      { id: 'hs-sales-rep', kind: 'role', name: 'Sales Rep', grants: { contact: rce, company: rce, ticket: ['read'] }, externalId: '8810001' },
      { id: 'hs-sales-manager', kind: 'role', name: 'Sales Manager', grants: { contact: all, company: all, deal: rce, ticket: rce }, externalId: '8810002' },
      { id: 'hs-super-admin', kind: 'role', name: 'Super Admin', grants: { contact: all, company: all, deal: all, ticket: all }, externalId: 'super-admin' },
    ],
    users: {
      'p-ava': { externalUserId: '61002', username: 'ava@acme.test', bundles: ['hs-sales-rep'] },
      'p-ben': { externalUserId: '61003', username: 'ben@acme.test', bundles: ['hs-sales-manager'] },
      'p-dan': { externalUserId: '61005', username: 'dan@acme.test', bundles: ['hs-sales-manager'] },
      'p-cara': { externalUserId: '61006', username: 'cara@acme.test', bundles: ['hs-super-admin'] },
    },
  },
  {
    connection: { id: 'zoho-acme', kind: 'zoho', name: 'Acme Zoho CRM (中国)', hosts: ['crm.zoho.com.cn', 'crm.zoho.com'], tenant: '7700001' },
    objects: [
      { name: 'Leads', en: 'Leads', zh: '线索', readRisk: 'low' },
      { name: 'Contacts', en: 'Contacts', zh: '联系人', readRisk: 'low' },
      { name: 'Accounts', en: 'Accounts', zh: '客户', readRisk: 'low' },
      { name: 'Deals', en: 'Deals', zh: '商机', readRisk: 'medium' },
      { name: 'Quotes', en: 'Quotes', zh: '报价', readRisk: 'medium' },
    ],
    bundles: [
      // On zoho.com.cn a profile is called 角色 (role), and a role 职位 (position). Every user holds one
      // profile (what they may do) and one role (where they sit in the hierarchy: it grants no keys).
      { id: 'zoho-standard', kind: 'profile', name: 'Standard', externalId: '770000100000026014', grants: { Leads: rce, Contacts: rce, Accounts: rce } },
      {
        id: 'zoho-sales-manager',
        kind: 'profile',
        name: 'Sales Manager',
        externalId: '770000100000026017',
        grants: { Leads: all, Contacts: rce, Accounts: rce, Deals: rce, Quotes: rce },
      },
      {
        id: 'zoho-administrator',
        kind: 'profile',
        name: 'Administrator',
        externalId: '770000100000026011',
        grants: { Leads: all, Contacts: all, Accounts: all, Deals: all, Quotes: all },
      },
      { id: 'zoho-role-ceo', kind: 'role', name: '首席执行官', externalId: '770000100000026005', grants: {} },
      { id: 'zoho-role-sales-vp', kind: 'role', name: '销售副总裁', externalId: '770000100000026021', grants: {} },
      { id: 'zoho-role-sales-manager', kind: 'role', name: '销售经理', externalId: '770000100000026022', grants: {} },
      { id: 'zoho-role-sales-rep', kind: 'role', name: '销售代表', externalId: '770000100000026023', grants: {} },
    ],
    users: {
      'p-ava': { externalUserId: '770000100000000301', username: 'ava@acme.test', bundles: ['zoho-standard', 'zoho-role-sales-rep'] },
      'p-ben': { externalUserId: '770000100000000302', username: 'ben@acme.test', bundles: ['zoho-sales-manager', 'zoho-role-sales-manager'] },
      'p-dan': { externalUserId: '770000100000000304', username: 'dan@acme.test', bundles: ['zoho-sales-manager', 'zoho-role-sales-vp'] },
      'p-cara': { externalUserId: '770000100000000305', username: 'cara@acme.test', bundles: ['zoho-administrator', 'zoho-role-ceo'] },
    },
  },
  {
    // Fxiaoke's web app URLs do not name the company: the connection is chosen by who has an account.
    connection: { id: 'fx-acme', kind: 'fxiaoke', name: 'Acme 纷享销客', hosts: ['www.fxiaoke.com', 'hws.fxiaoke.com'], tenant: null },
    objects: [
      { name: 'AccountObj', en: 'Customers', zh: '客户', readRisk: 'low' },
      { name: 'ContactObj', en: 'Contacts', zh: '联系人', readRisk: 'low' },
      { name: 'LeadsObj', en: 'Leads', zh: '销售线索', readRisk: 'low' },
      { name: 'SalesOrderObj', en: 'Sales orders', zh: '销售订单', readRisk: 'medium' },
      { name: 'ContractObj', en: 'Contracts', zh: '合同', readRisk: 'medium' },
    ],
    bundles: [
      // Role codes as Fxiaoke's role list gives them (invented for the demo).
      {
        id: 'fx-sales',
        kind: 'role',
        name: '销售人员',
        externalId: '00000000000000000000000000000015',
        grants: { AccountObj: rce, ContactObj: rce, LeadsObj: rce },
      },
      {
        id: 'fx-sales-manager',
        kind: 'role',
        name: '销售经理',
        externalId: '00000000000000000000000000000016',
        grants: { AccountObj: all, ContactObj: rce, LeadsObj: rce, SalesOrderObj: rce, ContractObj: rce },
      },
      {
        id: 'fx-admin',
        kind: 'role',
        name: 'CRM管理员',
        externalId: '00000000000000000000000000000006',
        grants: { AccountObj: all, ContactObj: all, LeadsObj: all, SalesOrderObj: all, ContractObj: all },
      },
    ],
    users: {
      'p-ava': { externalUserId: '1001', username: 'ava@acme.test', bundles: ['fx-sales'] },
      'p-ben': { externalUserId: '1002', username: 'ben@acme.test', bundles: ['fx-sales-manager'] },
      'p-dan': { externalUserId: '1004', username: 'dan@acme.test', bundles: ['fx-sales-manager'] },
      'p-cara': { externalUserId: '1005', username: 'cara@acme.test', bundles: ['fx-admin'] },
    },
  },
  {
    connection: {
      id: DEMO_DESK_CONNECTION_ID,
      kind: 'generic',
      name: 'Acme Desk (in-house CRM)',
      hosts: [`localhost:${DEMO_DESK_PORT}`],
      tenant: `localhost:${DEMO_DESK_PORT}`,
    },
    objects: [
      { name: 'Customer', en: 'Customers', zh: '客户', readRisk: 'low' },
      { name: 'Deal', en: 'Deals', zh: '交易', readRisk: 'low' },
      { name: 'Invoice', en: 'Invoices', zh: '发票', readRisk: 'medium' },
    ],
    bundles: [
      { id: 'desk-sales', kind: 'role', name: 'Desk Sales', grants: { Customer: rce, Deal: rce } },
      { id: 'desk-finance', kind: 'role', name: 'Desk Finance', grants: { Customer: ['read'], Deal: ['read'], Invoice: rce } },
      { id: 'desk-admin', kind: 'role', name: 'Desk Admin', grants: { Customer: all, Deal: all, Invoice: all } },
    ],
    users: {
      'p-ava': { externalUserId: 'u-ava', username: 'ava', bundles: ['desk-sales'] },
      'p-ben': { externalUserId: 'u-ben', username: 'ben', bundles: ['desk-sales', 'desk-finance'] },
      'p-dan': { externalUserId: 'u-dan', username: 'dan', bundles: ['desk-sales', 'desk-finance'] },
      'p-cara': { externalUserId: 'u-cara', username: 'cara', bundles: ['desk-admin'] },
    },
    // How Acme Desk's pages read: /records/{Object}, /records/{Object}/new, /records/{Object}/{id}(/edit).
    pageRules: [
      {
        id: 'pr-desk-new',
        host: `localhost:${DEMO_DESK_PORT}`,
        protocol: 'http',
        path: '/records/:object/new',
        hash: null,
        pageKind: 'new',
        object: { group: 'object' },
        recordId: null,
        denialPhrases: [],
        priority: 10,
      },
      {
        id: 'pr-desk-edit',
        host: `localhost:${DEMO_DESK_PORT}`,
        protocol: 'http',
        path: '/records/:object/:recordId/edit',
        hash: null,
        pageKind: 'record-edit',
        object: { group: 'object' },
        recordId: { group: 'recordId' },
        denialPhrases: [],
        priority: 20,
      },
      {
        id: 'pr-desk-record',
        host: `localhost:${DEMO_DESK_PORT}`,
        protocol: 'http',
        path: '/records/:object/:recordId',
        hash: null,
        pageKind: 'record',
        object: { group: 'object' },
        recordId: { group: 'recordId' },
        denialPhrases: ['You are not allowed to open this record', '您无权打开此记录'],
        priority: 30,
      },
      {
        id: 'pr-desk-list',
        host: `localhost:${DEMO_DESK_PORT}`,
        protocol: 'http',
        path: '/records/:object',
        hash: null,
        pageKind: 'list',
        object: { group: 'object' },
        recordId: null,
        denialPhrases: [],
        priority: 40,
      },
    ],
  },
];

const MANAGER = { kind: 'manager' as const, mode: { type: 'any' as const }, label: 'Manager' };

/** Request rules of the demo's other CRMs: the manager approves, admins are the fallback. */
export function demoCrmRequestRules(fallback: { kind: 'group'; groupId: string }[]) {
  return DEMO_CRMS.map(({ connection }) => ({
    id: `rr-${connection.id}`,
    connectionId: connection.id,
    name: `${connection.name}: requests`,
    match: {},
    stages: [MANAGER],
    fallback,
    defaultDurationDays: 30,
    maxDurationDays: 90,
  }));
}

/** Job baselines of the other CRMs: what each of Ava's, Ben's and Dan's jobs holds there. */
export function demoCrmBaselines() {
  const jobs = [
    { person: 'p-ava', name: 'Account Executive', match: { department: 'Sales', title: 'Account Executive' } },
    { person: 'p-ben', name: 'Sales Manager', match: { department: 'Sales', title: 'Sales Manager' } },
    { person: 'p-dan', name: 'VP Sales', match: { department: 'Sales', title: 'VP Sales' } },
    { person: 'p-cara', name: 'Salesforce Administrator', match: { department: 'IT', title: 'Salesforce Administrator' } },
  ];
  return DEMO_CRMS.flatMap(({ connection, users }) =>
    jobs
      .filter((j) => users[j.person])
      .map((j) => ({ id: `bl-${connection.id}-${j.person}`, connectionId: connection.id, name: j.name, match: j.match, bundleIds: users[j.person]!.bundles })),
  );
}

/** The permission keys a demo bundle grants. */
export const keysOf = (grants: Grants) => Object.entries(grants).flatMap(([object, actions]) => actions.map((a) => `object:${object}:${a}`));

const ACTION_LABELS: Record<ObjectAction, { en: string; zh: string }> = {
  read: { en: 'Read', zh: '查看' },
  create: { en: 'Create', zh: '创建' },
  edit: { en: 'Edit', zh: '编辑' },
  delete: { en: 'Delete', zh: '删除' },
};

/** Writes the other CRMs into the demo org, in the seed's transaction and version. */
export async function seedDemoCrms(w: WriteContext, version: number): Promise<void> {
  const { tx, now } = w;
  // These CRMs were connected three weeks ago: too recently for "unused" to be judged over a whole window.
  const since = new Date(now.getTime() - 21 * 86_400_000).toISOString();
  for (const crm of DEMO_CRMS) {
    const c = crm.connection;
    // Read-only without credentials, as the Salesforce org: approved grants become admin tasks.
    await tx.execute({
      sql: `INSERT INTO crm_connections (id, kind, name, hosts, settings, tenant, mode, schedule_minutes, enabled, created_at, updated_at, version)
            VALUES (?, ?, ?, ?, '{}', ?, 'read-only', 60, 1, ?, ?, ?)`,
      args: [c.id, c.kind, c.name, JSON.stringify(c.hosts), c.tenant, w.nowIso, w.nowIso, version],
    });
    await tx.execute({ sql: 'INSERT INTO connection_state (connection_id) VALUES (?)', args: [c.id] });
    for (const o of crm.objects)
      for (const action of OBJECT_ACTIONS)
        await tx.execute({
          sql: `INSERT INTO permission_catalog (connection_id, key, label_en, label_zh_cn, risk, max_duration_days, requestable, owner_id,
                  owner, license_id, required_trainings, object_label_en, object_label_zh_cn, version)
                VALUES (?, ?, ?, ?, ?, ?, 1, NULL, NULL, NULL, '[]', ?, ?, ?)`,
          args: [
            c.id,
            `object:${o.name}:${action}`,
            `${ACTION_LABELS[action].en} ${o.en}`,
            `${ACTION_LABELS[action].zh}${o.zh}`,
            action === 'read' ? o.readRisk : 'medium',
            action === 'delete' ? 7 : null,
            o.en,
            o.zh,
            version,
          ],
        });
    for (const b of crm.bundles) {
      await tx.execute({
        sql: 'INSERT INTO bundles (id, connection_id, kind, name, external_id, version) VALUES (?, ?, ?, ?, ?, ?)',
        args: [b.id, c.id, b.kind, b.name, b.externalId ?? null, version],
      });
      for (const [i, key] of keysOf(b.grants).entries())
        await tx.execute({ sql: 'INSERT INTO bundle_permissions (bundle_id, key, position) VALUES (?, ?, ?)', args: [b.id, key, i] });
    }
    for (const [personId, u] of Object.entries(crm.users)) {
      const accountId = `acct-${c.id}-${personId.replace(/^p-/, '')}`;
      await tx.execute({
        sql: `INSERT INTO crm_accounts (id, person_id, connection_id, external_user_id, username, active, last_login_at, created_at, version)
              VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`,
        args: [accountId, personId, c.id, u.externalUserId, u.username, new Date(now.getTime() - 3 * 3_600_000).toISOString(), since, version],
      });
      for (const [i, bundleId] of u.bundles.entries())
        await tx.execute({
          sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version)
                VALUES (?, ?, 'bundle', ?, NULL, 'directory', NULL, ?, NULL, NULL, ?)`,
          args: [`asg-${accountId}-${i + 1}`, accountId, bundleId, since, version],
        });
    }
    for (const r of crm.pageRules ?? [])
      await tx.execute({
        sql: `INSERT INTO page_rules (id, connection_id, host, protocol, path, hash, page_kind, object, record_id_group, denial_phrases,
                priority, deleted, created_by, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?)`,
        args: [
          r.id,
          c.id,
          r.host,
          r.protocol,
          r.path,
          r.hash,
          r.pageKind,
          r.object === null ? null : JSON.stringify(r.object),
          r.recordId?.group ?? null,
          JSON.stringify(r.denialPhrases),
          r.priority,
          version,
        ],
      });
  }
}
