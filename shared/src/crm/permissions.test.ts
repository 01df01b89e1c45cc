/**
 * Every CRM kind's permission semantics: one example per documented rule, naming its source; the
 * Dynamics over-grants issue 12 found stay gone; property tests of `impliedKeys` (monotone,
 * idempotent, prerequisites respected, no rule implies a key of another CRM kind).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRM_KINDS, type CrmKind } from '../constants.ts';
import {
  IMPLICATION_TABLES,
  impliedKeys,
  implicationsOf,
  inVocabulary,
  prerequisitesOf,
  type ImplicationRule,
  type ImplicationTable,
  type Prerequisite,
  type RuleSource,
} from '../engine/implications.ts';
import { DATAVERSE_ACCESS_RIGHTS, DYNAMICS_PERMISSIONS } from './dynamics-permissions.ts';
import { FXIAOKE_PERMISSIONS } from './fxiaoke-permissions.ts';
import { GENERIC_PERMISSIONS } from './generic-permissions.ts';
import { HUBSPOT_PERMISSIONS } from './hubspot-permissions.ts';
import { SALESFORCE_PERMISSIONS } from './salesforce-permissions.ts';
import { ZOHO_PERMISSIONS } from './zoho-permissions.ts';

type AnyRule = ImplicationRule | Prerequisite | 'scopeOrder';

interface Example {
  table: ImplicationTable;
  rule: AnyRule;
  held: string[];
  objects?: string[];
  grants: string[];
  /** Keys the example must not grant (what the rule does not say, or a prerequisite missing). */
  not?: string[];
}

const rule = (table: ImplicationTable, pick: (r: ImplicationRule) => boolean): ImplicationRule => {
  const found = table.rules.filter(pick);
  if (found.length !== 1) throw new Error(`${table.crm}: ${found.length} rules match`);
  return found[0]!;
};
const prereq = (table: ImplicationTable, pick: (p: Prerequisite) => boolean): Prerequisite => {
  const found = table.prerequisites.filter(pick);
  if (found.length !== 1) throw new Error(`${table.crm}: ${found.length} prerequisites match`);
  return found[0]!;
};
const objectRule = (t: ImplicationTable, action: string, withScopes = false) =>
  rule(t, (r) => r.on === 'object' && r.action === action && (r.scopes !== undefined) === withScopes);
const keyRule = (t: ImplicationTable, key: string, first: string) =>
  rule(t, (r) => r.on === 'key' && r.key === key && JSON.stringify(r.implies[0]).includes(first));

const SF = SALESFORCE_PERMISSIONS;
const DY = DYNAMICS_PERMISSIONS;
const HS = HUBSPOT_PERMISSIONS;
const ZO = ZOHO_PERMISSIONS;
const FX = FXIAOKE_PERMISSIONS;

const EXAMPLES: Example[] = [
  // ---------------- Salesforce ----------------
  { table: SF, rule: objectRule(SF, 'create'), held: ['object:Account:create'], grants: ['object:Account:read'], not: ['object:Account:edit'] },
  { table: SF, rule: objectRule(SF, 'edit'), held: ['object:Account:edit'], grants: ['object:Account:read'], not: ['object:Account:delete'] },
  {
    table: SF,
    rule: objectRule(SF, 'delete'),
    held: ['object:Account:delete'],
    grants: ['object:Account:read', 'object:Account:edit'],
    not: ['object:Account:viewAll'],
  },
  { table: SF, rule: objectRule(SF, 'viewAll'), held: ['object:Account:viewAll'], grants: ['object:Account:read'], not: ['object:Account:edit'] },
  {
    table: SF,
    rule: objectRule(SF, 'modifyAll'),
    held: ['object:Account:modifyAll'],
    grants: ['object:Account:read', 'object:Account:edit', 'object:Account:delete', 'object:Account:viewAll'],
    not: ['object:Account:create'],
  },
  {
    table: SF,
    rule: objectRule(SF, 'viewAll', true),
    held: ['object:Case:viewAll'],
    grants: ['scope:Case:read:org', 'scope:Case:read:hierarchy', 'scope:Case:read:team', 'scope:Case:read:own'],
    not: ['scope:Case:edit:own'],
  },
  {
    table: SF,
    rule: objectRule(SF, 'modifyAll', true),
    held: ['object:Case:modifyAll'],
    grants: ['scope:Case:read:org', 'scope:Case:edit:org', 'scope:Case:delete:org', 'scope:Case:assign:org'],
    not: ['scope:Case:share:org'],
  },
  { table: SF, rule: rule(SF, (r) => r.on === 'field'), held: ['field:Account.Phone:edit'], grants: ['field:Account.Phone:read'] },
  {
    table: SF,
    rule: keyRule(SF, 'system:ModifyAllData', 'everyObject'),
    held: ['system:ModifyAllData'],
    objects: ['Account', 'Invoice__c'],
    grants: [
      ...['read', 'create', 'edit', 'delete', 'viewAll', 'modifyAll'].flatMap((a) => [`object:Account:${a}`, `object:Invoice__c:${a}`]),
      'system:ViewSetup',
      'system:RunReports',
    ],
    not: ['system:ManageUsers', 'system:CustomizeApplication'],
  },
  { table: SF, rule: keyRule(SF, 'system:ModifyAllData', 'ViewAllData'), held: ['system:ModifyAllData'], grants: ['system:ViewAllData'] },
  {
    table: SF,
    rule: keyRule(SF, 'system:ViewAllData', 'everyObject'),
    held: ['system:ViewAllData'],
    objects: ['Account', 'Invoice__c'],
    grants: ['object:Account:read', 'object:Account:viewAll', 'object:Invoice__c:read', 'object:Invoice__c:viewAll'],
    not: ['object:Account:edit', 'object:Invoice__c:create'],
  },
  {
    table: SF,
    rule: keyRule(SF, 'system:ManageUsers', 'ViewAllUsers'),
    held: ['system:ManageUsers'],
    grants: ['system:ViewAllUsers'],
    not: ['system:ModifyAllData'],
  },
  { table: SF, rule: 'scopeOrder', held: ['scope:Lead:edit:org'], objects: [], grants: [], not: ['scope:Lead:edit:org'] },
  {
    table: SF,
    rule: 'scopeOrder',
    held: ['object:Lead:edit', 'scope:Lead:edit:org'],
    grants: ['scope:Lead:edit:hierarchy', 'scope:Lead:edit:team', 'scope:Lead:edit:own'],
    not: ['scope:Lead:edit:businessUnit'],
  },
  {
    table: SF,
    rule: prereq(SF, (p) => p.on === 'scopeObject'),
    held: ['scope:Account:read:org', 'scope:Account:edit:team', 'object:Account:read'],
    grants: ['scope:Account:read:org'],
    not: ['scope:Account:edit:team', 'scope:Account:edit:own'],
  },

  // ---------------- Dynamics 365 ----------------
  {
    table: DY,
    rule: rule(DY, (r) => r.on === 'scope'),
    held: ['scope:account:read:team', 'scope:account:appendTo:org'],
    grants: ['object:account:read'],
    not: ['object:account:edit'],
  },
  {
    table: DY,
    rule: 'scopeOrder',
    held: ['scope:account:read:org'],
    grants: ['scope:account:read:hierarchy', 'scope:account:read:businessUnit', 'scope:account:read:team'],
    not: ['scope:account:read:own', 'scope:account:edit:org'],
  },
  ...(['object', 'scope'] as const).flatMap((on): Example[] => {
    const k = (a: string, s = 'org') => (on === 'object' ? `object:account:${a}` : `scope:account:${a}:${s}`);
    const p = (action: string) => prereq(DY, (x) => x.on === on && x.action === action);
    return [
      { table: DY, rule: p('share'), held: [k('share')], grants: [], not: [k('share')] },
      { table: DY, rule: p('share'), held: [k('share'), k('read')], grants: [k('share')] },
      { table: DY, rule: p('assign'), held: [k('assign'), k('read')], grants: [], not: [k('assign')] },
      { table: DY, rule: p('assign'), held: [k('assign'), k('read'), k('edit')], grants: [k('assign')] },
      { table: DY, rule: p('append'), held: [k('append'), k('edit')], grants: [], not: [k('append')] },
      { table: DY, rule: p('append'), held: [k('append'), k('edit'), k('read')], grants: [k('append')] },
      { table: DY, rule: p('appendTo'), held: [k('appendTo'), k('read')], grants: [], not: [k('appendTo')] },
      { table: DY, rule: p('appendTo'), held: [k('appendTo'), k('edit'), k('read')], grants: [k('appendTo')] },
    ];
  }),

  // ---------------- HubSpot ----------------
  {
    table: HS,
    rule: rule(HS, (r) => r.on === 'scope'),
    held: ['scope:deal:edit:own'],
    grants: ['object:deal:edit'],
    not: ['object:deal:read', 'object:deal:delete'],
  },
  { table: HS, rule: 'scopeOrder', held: ['scope:contact:read:org'], grants: ['scope:contact:read:team', 'scope:contact:read:own', 'object:contact:read'] },

  // ---------------- Zoho CRM ----------------
  { table: ZO, rule: rule(ZO, (r) => r.on === 'field'), held: ['field:Leads.Phone:edit'], grants: ['field:Leads.Phone:read'] },
  {
    table: ZO,
    rule: prereq(ZO, (p) => p.on === 'scopeObject'),
    held: ['scope:Leads:read:hierarchy', 'scope:Leads:edit:hierarchy', 'object:Leads:read'],
    grants: ['scope:Leads:read:hierarchy', 'scope:Leads:read:team'],
    not: ['scope:Leads:edit:hierarchy', 'object:Leads:edit'],
  },
  {
    table: ZO,
    rule: 'scopeOrder',
    held: ['scope:Deals:delete:org'],
    grants: ['scope:Deals:delete:hierarchy', 'scope:Deals:delete:own'],
    not: ['object:Deals:delete'],
  },

  // ---------------- Fxiaoke ----------------
  { table: FX, rule: rule(FX, (r) => r.on === 'field'), held: ['field:AccountObj.tel:edit'], grants: ['field:AccountObj.tel:read'] },
  {
    table: FX,
    rule: 'scopeOrder',
    held: ['scope:AccountObj:read:hierarchy'],
    grants: ['scope:AccountObj:read:businessUnit', 'scope:AccountObj:read:own'],
    not: ['scope:AccountObj:read:org', 'object:AccountObj:read'],
  },

  // ---------------- generic (in-house) ----------------
  {
    table: GENERIC_PERMISSIONS,
    rule: 'scopeOrder',
    held: ['scope:Ticket:read:org'],
    grants: ['scope:Ticket:read:hierarchy', 'scope:Ticket:read:businessUnit', 'scope:Ticket:read:team', 'scope:Ticket:read:own'],
    not: ['object:Ticket:read'],
  },
];

const sourceOf = (e: Example): RuleSource => (e.rule === 'scopeOrder' ? e.table.scopeOrder! : e.rule.source);
const title = (e: Example) => {
  const s = sourceOf(e);
  return `${e.table.crm}: ${e.held.join(' + ')} (${s.document} — ${s.section})`;
};

describe('every documented rule, by example, with its source', () => {
  it.each(EXAMPLES.map((e) => [title(e), e] as const))('%s', (_t, e) => {
    const granted = impliedKeys(e.table.crm, e.held, e.objects ?? []);
    for (const k of e.grants) expect(granted, `grants ${k}`).toContain(k);
    for (const k of e.not ?? []) expect(granted, `does not grant ${k}`).not.toContain(k);
  });

  it('every rule, prerequisite and scope order of every table carries a source and has an example', () => {
    const covered = new Set<AnyRule>(EXAMPLES.map((e) => e.rule));
    const scopeOrders = new Set(EXAMPLES.filter((e) => e.rule === 'scopeOrder').map((e) => e.table));
    for (const t of Object.values(IMPLICATION_TABLES)) {
      for (const r of [...t.rules, ...t.prerequisites]) {
        expect(covered.has(r), `${t.crm} rule ${JSON.stringify(r).slice(0, 120)} has an example`).toBe(true);
        for (const field of ['document', 'section', 'url'] as const) expect(r.source[field].length).toBeGreaterThan(0);
        expect(r.source.url).toMatch(/^(https?:\/\/|docs\/)/);
      }
      if (t.scopeOrder) expect(scopeOrders.has(t), `${t.crm} scope order has an example`).toBe(true);
    }
  });
});

describe('Dynamics 365: the over-grants of issue 12 stay gone (Data operations and access rights)', () => {
  const source = `${DATAVERSE_ACCESS_RIGHTS.document} — ${DATAVERSE_ACCESS_RIGHTS.section}`;
  it.each([
    ['object:account:edit', 'object:account:read'],
    ['object:account:create', 'object:account:read'],
    ['object:account:delete', 'object:account:edit'],
    ['object:account:delete', 'object:account:read'],
    ['scope:account:edit:org', 'scope:account:read:team'],
  ])(`%s does not grant %s (${source})`, (held, not) => {
    expect(impliedKeys('dynamics', [held], ['account'])).not.toContain(not);
  });

  it('the depth is per privilege: Read Global with Write Basic does not write org-wide (Security roles and privileges)', () => {
    const held = impliedKeys('dynamics', ['scope:account:read:org', 'scope:account:edit:team'], []);
    expect(held).toContain('scope:account:read:businessUnit');
    expect(held).toContain('scope:account:edit:team');
    expect(held).not.toContain('scope:account:edit:businessUnit');
    expect(held).not.toContain('scope:account:edit:org');
  });

  it('Assign at Global with Write and Read at Deep assigns within Deep only (the effective depth is the smallest)', () => {
    const held = impliedKeys('dynamics', ['scope:account:assign:org', 'scope:account:edit:hierarchy', 'scope:account:read:hierarchy'], []);
    expect(held).not.toContain('scope:account:assign:org');
    expect(held).toContain('scope:account:assign:hierarchy');
    expect(held).toContain('scope:account:assign:team');
    expect(held).toContain('object:account:assign');
  });
});

describe('impliedKeys (properties)', () => {
  const objects = fc.constantFrom('Account', 'account', 'Invoice__c', 'Leads');
  const vocabKey = (t: ImplicationTable) => {
    const v = t.vocabulary;
    const names =
      t.crm === 'salesforce'
        ? ['ModifyAllData', 'ViewAllData', 'ManageUsers', 'ViewAllUsers', 'ViewSetup', 'RunReports', 'ApiEnabled']
        : t.crm === 'dynamics'
          ? ['prvExportToExcel', 'prvBulkDelete', 'prvActOnBehalfOfAnotherUser']
          : ['ModifyAllData', 'Forecasts'];
    const gens = [
      fc.tuple(objects, fc.constantFrom(...v.objectActions)).map(([o, a]) => `object:${o}:${a}`),
      fc.tuple(objects, fc.constantFrom(...v.fieldActions)).map(([o, a]) => `field:${o}.Amount:${a}`),
      fc.constantFrom(...names).map((n) => `system:${n}`),
    ];
    if (v.scopeActions.length > 0 && v.scopes.length > 0)
      gens.push(fc.tuple(objects, fc.constantFrom(...v.scopeActions), fc.constantFrom(...v.scopes)).map(([o, a, s]) => `scope:${o}:${a}:${s}`));
    return fc.oneof(...gens);
  };
  const anyKindKey = fc.oneof(...Object.values(IMPLICATION_TABLES).map(vocabKey));
  const objectList = fc.subarray(['Account', 'Case', 'Invoice__c']);
  const kind = fc.constantFrom<CrmKind>(...CRM_KINDS);

  it('is monotone: holding more never grants less', () => {
    fc.assert(
      fc.property(kind, fc.array(anyKindKey, { maxLength: 8 }), fc.array(anyKindKey, { maxLength: 8 }), objectList, (k, a, b, os) => {
        const small = impliedKeys(k, a, os);
        const big = impliedKeys(k, [...a, ...b], os);
        for (const key of small) expect(big.has(key)).toBe(true);
      }),
    );
  });

  it('is idempotent: what is granted grants nothing more', () => {
    fc.assert(
      fc.property(kind, fc.array(anyKindKey, { maxLength: 10 }), objectList, (k, held, os) => {
        const once = impliedKeys(k, held, os);
        expect(impliedKeys(k, [...once], os)).toEqual(once);
      }),
    );
  });

  it('grants no key without its prerequisites, and every held key that has them', () => {
    fc.assert(
      fc.property(kind, fc.array(anyKindKey, { maxLength: 10 }), objectList, (k, held, os) => {
        const table = IMPLICATION_TABLES[k];
        const granted = impliedKeys(k, held, os);
        for (const key of granted) for (const r of prerequisitesOf(key, table)) expect(granted.has(r)).toBe(true);
        for (const key of held) if (prerequisitesOf(key, table).length === 0) expect(granted.has(key)).toBe(true);
      }),
    );
  });

  it("no rule implies a key of a different CRM kind: whatever is held, everything implied is in the kind's vocabulary", () => {
    fc.assert(
      fc.property(kind, fc.array(anyKindKey, { maxLength: 10 }), objectList, (k, held, os) => {
        const table = IMPLICATION_TABLES[k];
        const heldSet = new Set(held);
        for (const key of impliedKeys(k, held, os)) if (!heldSet.has(key)) expect(inVocabulary(key, table), `${k}: ${key}`).toBe(true);
      }),
    );
  });

  it('each rule, applied to a key of its own kind, yields keys of that kind only', () => {
    for (const t of Object.values(IMPLICATION_TABLES)) {
      const samples = fc.sample(vocabKey(t), { numRuns: 300, seed: 7 });
      for (const key of samples)
        for (const next of implicationsOf(key, t, ['Account', 'Invoice__c'])) expect(inVocabulary(next, t), `${t.crm}: ${key} ⇒ ${next}`).toBe(true);
    }
  });
});
