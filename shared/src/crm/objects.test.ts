/**
 * Page objects → catalog keys, and the in-house (page-rule) adapter's own behaviour.
 */
import { describe, expect, it } from 'vitest';
import { parsePermissionKey } from '../permissions.ts';
import {
  ADAPTERS,
  adapterFor,
  detectDenial,
  detectGeneric,
  denialWith,
  detectPage,
  detectWith,
  dynamics,
  fxiaoke,
  genericAdapter,
  genericCatalogObject,
  genericDenialPhrases,
  GENERIC_SAMPLE_RULES,
  hubspot,
  objectKeyFor,
  salesforce,
  zoho,
  type PageRule,
} from './index.ts';

describe('catalogObject', () => {
  it('maps Zoho URL module names to module API names', () => {
    expect(zoho.catalogObject('Potentials')).toBe('Deals');
    expect(zoho.catalogObject('SalesOrders')).toBe('Sales_Orders');
    expect(zoho.catalogObject('PurchaseOrders')).toBe('Purchase_Orders');
    expect(zoho.catalogObject('PriceBooks')).toBe('Price_Books');
    expect(zoho.catalogObject('Leads')).toBe('Leads');
    expect(zoho.catalogObject('CustomModule4')).toBe('CustomModule4');
    expect(zoho.catalogObject('Users')).toBe('Users');
  });

  it('gives HubSpot type ids valid names: custom_2_… for custom objects, type_0_… for unnamed standard ones', () => {
    expect(hubspot.catalogObject('contact')).toBe('contact');
    expect(hubspot.catalogObject('line_item')).toBe('line_item');
    expect(hubspot.catalogObject('2-1234567')).toBe('custom_2_1234567');
    expect(hubspot.catalogObject('0-999')).toBe('type_0_999');
    expect(objectKeyFor(hubspot, '2-1234567', 'read')).toBe('object:custom_2_1234567:read');
    expect(parsePermissionKey(objectKeyFor(hubspot, '2-1234567', 'edit'))).toMatchObject({ ok: true });
  });

  it('keeps Salesforce, Dynamics and Fxiaoke API names as they are', () => {
    expect(salesforce.catalogObject('Invoice__c')).toBe('Invoice__c');
    expect(dynamics.catalogObject('new_project')).toBe('new_project');
    expect(fxiaoke.catalogObject('object_x1__c')).toBe('object_x1__c');
    expect(objectKeyFor(fxiaoke, 'AccountObj', 'delete')).toBe('object:AccountObj:delete');
  });

  it('turns captured in-house object names into valid key names', () => {
    expect(genericCatalogObject('Account')).toBe('Account');
    expect(genericCatalogObject('sales.order')).toBe('sales_order');
    expect(genericCatalogObject('2024-deals')).toBe('o_2024_deals');
    expect(genericCatalogObject('a~b@c')).toBe('a_b_c');
    expect(genericCatalogObject('x'.repeat(120))).toHaveLength(80);
    for (const name of ['sales.order', '2024-deals', '_x', '{id}'])
      expect(parsePermissionKey(`object:${genericCatalogObject(name)}:read`), name).toMatchObject({ ok: true });
  });

  it('every built-in adapter maps the objects of all its examples to keys the grammar accepts', () => {
    for (const adapter of ADAPTERS)
      for (const check of adapter.checks)
        for (const { expect: page } of check.examples)
          if (page?.object)
            expect(parsePermissionKey(objectKeyFor(adapter, page.object, 'read')), `${adapter.kind} ${page.object}`).toMatchObject({ ok: true });
  });
});

describe('one adapter alone (what a CRM content script imports)', () => {
  it('detectWith and denialWith read pages and denials without the registry', () => {
    expect(detectWith(zoho, 'https://crm.zoho.com.cn/crm/org7700001/tab/Potentials/770000100000245007')).toMatchObject({
      tenant: '7700001',
      object: 'Potentials',
    });
    expect(detectWith(zoho, 'https://app.hubspot.com/contacts/4242424/record/0-1/51')).toBeNull();
    expect(denialWith(zoho, '商机 · 您没有权限查看此记录。请联系管理员')).toBe('您没有权限');
    expect(denialWith(zoho, 'Deal closed', ['Deal closed'])).toBe('Deal closed');
    expect(denialWith(fxiaoke, '客户名称 环球科技')).toBeNull();
  });
});

describe('user pages', () => {
  it('name the user object of each CRM and carry the user id', () => {
    expect(detectPage('https://acme.crm4.dynamics.com/main.aspx?pagetype=entityrecord&etn=systemuser&id=%7B7D2A0F4E-59B1-EF11-B8E8-000D3A4A1B2C%7D')).toEqual({
      crm: 'dynamics',
      tenant: 'acme',
      pageKind: 'user-record',
      object: 'systemuser',
      recordId: '7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c',
    });
    expect(detectPage('https://app.hubspot.com/settings/4242424/users/user/61002')).toMatchObject({ object: 'user', recordId: '61002' });
    expect(detectPage('https://crm.zoho.com.cn/crm/org7700001/settings/users/770000100000000301')).toMatchObject({
      object: 'Users',
      recordId: '770000100000000301',
      tenant: '7700001',
    });
    expect(detectPage('https://www.fxiaoke.com/XV/UI/Home#profile/=/empid-1001')).toMatchObject({ object: 'PersonnelObj', recordId: '1001', tenant: null });
  });
});

describe('hash-routed pages', () => {
  it('Fxiaoke: the same path reads as another page when only the hash changes', () => {
    const base = 'https://www.fxiaoke.com/XV/UI/Home';
    expect(detectPage(`${base}#crm/index`)?.pageKind).toBe('home');
    expect(detectPage(`${base}#crm/list/=/AccountObj`)?.pageKind).toBe('list');
    expect(detectPage(`${base}#crm/detail/=/AccountObj/65a1f0c2e4b0a1b2c3d4e5f6`)?.pageKind).toBe('record');
    expect(fxiaoke.hashRouting).toBe(true);
    expect(adapterFor('fxiaoke')).toBe(fxiaoke);
  });
});

describe('in-house CRMs (page rules)', () => {
  const rule = (over: Partial<PageRule>): PageRule => ({
    id: 'r1',
    connectionId: 'c1',
    crm: 'generic',
    tenant: null,
    host: 'crm.acme.internal',
    protocol: 'https',
    path: '/records/:object/:recordId',
    hash: null,
    pageKind: 'record',
    object: { group: 'object' },
    recordId: { group: 'recordId' },
    denialPhrases: ['Not yours to see'],
    priority: 0,
    ...over,
  });

  it('a page of the CRM that no rule reads is `other`; another host, port or protocol is not the CRM', () => {
    const rules = [rule({})];
    expect(detectGeneric('https://crm.acme.internal/dashboard', rules)).toEqual({
      crm: 'generic',
      tenant: 'crm.acme.internal',
      pageKind: 'other',
      object: null,
      recordId: null,
    });
    expect(detectGeneric('http://crm.acme.internal/records/A/1', rules)).toBeNull();
    expect(detectGeneric('https://crm.acme.internal:8443/records/A/1', rules)).toBeNull();
    expect(detectGeneric('https://other.internal/records/A/1', rules)).toBeNull();
    expect(detectGeneric('ftp://crm.acme.internal/records/A/1', rules)).toBeNull();
  });

  it('ignores rules that override a built-in CRM', () => {
    const sf = rule({ crm: 'salesforce', host: 'acme.lightning.force.com', path: '/x/:recordId', object: { value: 'Account' } });
    expect(detectGeneric('https://acme.lightning.force.com/x/1', [sf])).toBeNull();
    expect(genericAdapter([sf]).matches).toEqual([]);
  });

  it('builds match patterns, host check and tenant from the rules', () => {
    const adapter = genericAdapter([
      rule({ tenant: 'desk' }),
      rule({ id: 'r2', host: 'localhost:8788', protocol: 'http', path: '/app', hash: '#/d/:recordId', object: { value: 'Deal' } }),
    ]);
    expect(adapter.matches).toEqual(['https://crm.acme.internal/*', 'http://localhost:8788/*']);
    expect(adapter.isHost('crm.acme.internal')).toBe(true);
    expect(adapter.isHost('crm.acme.internal.attacker.io')).toBe(false);
    expect(adapter.tenantOf(new URL('https://crm.acme.internal/records/A/1'))).toBe('desk');
    expect(adapter.tenantOf(new URL('http://localhost:8788/app#/d/3'))).toBe('localhost:8788');
    expect(adapter.tenantOf(new URL('https://elsewhere.io/'))).toBeNull();
    expect(adapter.hashRouting).toBe(true);
    expect(genericAdapter([rule({})]).hashRouting).toBe(false);
  });

  it("finds the rule's own refusal wording first, then the common wording", () => {
    const rules = [rule({}), rule({ id: 'r2', path: '/lists/:object', recordId: null, pageKind: 'list', denialPhrases: ['List hidden'] })];
    expect(genericDenialPhrases('https://crm.acme.internal/records/A/1', rules)).toEqual(['Not yours to see']);
    expect(genericDenialPhrases('https://crm.acme.internal/elsewhere', rules)).toEqual(['Not yours to see', 'List hidden']);
    expect(genericDenialPhrases('https://other.io/records/A/1', rules)).toEqual([]);
    const extra = genericDenialPhrases('https://crm.acme.internal/records/A/1', rules);
    expect(detectDenial('generic', 'Record 1: NOT YOURS TO SEE. Access denied.', extra)).toBe('Not yours to see');
    expect(detectDenial('generic', 'Error 403: Access denied')).toBe('Access denied');
    expect(detectDenial('generic', 'Account: Globex, revenue 4,200,000')).toBeNull();
  });

  it('the sample rules are valid page rules for the in-house CRM', () => {
    for (const r of GENERIC_SAMPLE_RULES) expect(r.crm).toBe('generic');
    expect(detectPage('https://crm.acme.internal/records/Invoice/new', { pageRules: GENERIC_SAMPLE_RULES })).toMatchObject({
      pageKind: 'new',
      object: 'Invoice',
    });
  });
});
