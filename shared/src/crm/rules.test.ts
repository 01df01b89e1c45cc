import { describe, expect, it } from 'vitest';
import { detectPage } from './index.ts';
import { compilePattern, matchPattern, matchRules } from './rules.ts';
import type { PageRule } from './types.ts';

const rule = (over: Partial<PageRule>): PageRule => ({
  id: 'r1',
  connectionId: 'c-desk',
  crm: 'generic',
  tenant: null,
  host: 'crm.acme.internal',
  protocol: 'https',
  path: '/records/:object/:recordId',
  hash: null,
  pageKind: 'record',
  object: { group: 'object' },
  recordId: { group: 'recordId' },
  denialPhrases: ['Not allowed'],
  priority: 0,
  ...over,
});

describe('page rule patterns', () => {
  it('compiles literal, captured, prefixed and rest segments', () => {
    const c = compilePattern('/crm/org:orgId/tab/:module/*', '/');
    expect(c.ok && c.value.names).toEqual(['orgId', 'module']);
    expect(c.ok && matchPattern(c.value, '/crm/org123/tab/Leads/custom-view/9/list')).toEqual({ orgId: '123', module: 'Leads' });
    expect(c.ok && matchPattern(c.value, '/crm/tab/Leads/x')).toBeNull();
  });

  it('refuses bad patterns with a reason', () => {
    expect(compilePattern('records/:id', '/')).toEqual({ ok: false, error: 'must start with "/"' });
    expect(compilePattern('/a/*/b', '/')).toEqual({ ok: false, error: '"*" may only be the last segment' });
    expect(compilePattern('/a/:id/:id', '/')).toMatchObject({ ok: false, error: 'group "id" is named twice' });
    expect(compilePattern('/a/:1x', '/')).toMatchObject({ ok: false });
    expect(compilePattern(`/${'a/'.repeat(20)}`, '/')).toMatchObject({ ok: false });
    expect(compilePattern('/(a+)+$', '/')).toMatchObject({ ok: false });
  });

  it('matches whole paths only, and captured values are bounded identifiers', () => {
    const c = compilePattern('/records/:object/:recordId', '/');
    if (!c.ok) throw new Error(c.error);
    expect(matchPattern(c.value, '/records/Account/42')).toEqual({ object: 'Account', recordId: '42' });
    expect(matchPattern(c.value, '/records/Account/42/')).toEqual({ object: 'Account', recordId: '42' });
    expect(matchPattern(c.value, '/records/Account/42/edit')).toBeNull();
    expect(matchPattern(c.value, '/records/Account')).toBeNull();
    expect(matchPattern(c.value, `/records/Account/${'x'.repeat(200)}`)).toBeNull();
    expect(matchPattern(c.value, '/records/Account/%3Cscript%3E')).toBeNull();
  });

  it('reads pages of an in-house CRM by host, protocol, path and hash', () => {
    const rules = [
      rule({ id: 'list', path: '/records/:object', recordId: null, pageKind: 'list', priority: 1 }),
      rule({ id: 'rec' }),
      rule({ id: 'hash', host: 'localhost:8788', protocol: 'http', path: '/app', hash: '#/deals/:recordId', object: { value: 'Deal' } }),
    ];
    expect(matchRules(rules, new URL('https://crm.acme.internal/records/Account'))?.rule.id).toBe('list');
    expect(detectPage('https://crm.acme.internal/records/Account/42', { pageRules: rules })).toEqual({
      crm: 'generic',
      tenant: 'crm.acme.internal',
      pageKind: 'record',
      object: 'Account',
      recordId: '42',
    });
    expect(detectPage('http://localhost:8788/app#/deals/7', { pageRules: rules })).toMatchObject({ object: 'Deal', recordId: '7' });
    // The rule says https: the same path over http is not this CRM.
    expect(detectPage('http://crm.acme.internal/records/Account/42', { pageRules: rules })).toBeNull();
    expect(detectPage('https://crm.acme.internal.attacker.io/records/Account/42', { pageRules: rules })).toBeNull();
  });

  it("overrides a built-in adapter's checks for the rule's tenant only", () => {
    const override = rule({
      crm: 'salesforce',
      tenant: 'acme',
      host: 'acme.lightning.force.com',
      path: '/lightning/cmp/c__InvoiceView',
      hash: null,
      object: { value: 'Invoice__c' },
      recordId: null,
      pageKind: 'record',
    });
    expect(detectPage('https://acme.lightning.force.com/lightning/cmp/c__InvoiceView', { pageRules: [override] })).toEqual({
      crm: 'salesforce',
      tenant: 'acme',
      pageKind: 'record',
      object: 'Invoice__c',
      recordId: null,
    });
    expect(detectPage('https://acme.lightning.force.com/lightning/cmp/c__InvoiceView')).toMatchObject({ pageKind: 'other' });
    const otherTenant = { ...override, tenant: 'globex' };
    expect(detectPage('https://acme.lightning.force.com/lightning/cmp/c__InvoiceView', { pageRules: [otherTenant] })).toMatchObject({
      pageKind: 'other',
    });
  });
});
