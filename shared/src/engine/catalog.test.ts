import { describe, expect, it } from 'vitest';
import { isValidPermissionKey } from '../permissions.ts';
import {
  builtInCatalog,
  defaultLabels,
  mapDynamicsPrivilege,
  mapDynamicsPrivileges,
  mergeCatalogs,
  SALESFORCE_HIGH_RISK_PERMISSIONS,
} from './catalog/index.ts';

describe('built-in catalog', () => {
  it('ships the Salesforce high-risk system permissions with labels in both languages', () => {
    const c = builtInCatalog('salesforce', 'sf');
    expect(c).toHaveLength(SALESFORCE_HIGH_RISK_PERMISSIONS.length);
    const mad = c.find((e) => e.key === 'system:ModifyAllData')!;
    expect(mad).toMatchObject({ risk: 'high', labels: { en: 'Modify All Data', 'zh-CN': '修改所有数据' }, maxDurationDays: 30 });
    const apex = c.find((e) => e.key === 'system:AuthorApex')!;
    expect(apex).toMatchObject({ risk: 'critical', requestable: false, requiredTrainings: ['crm-admin-security'] });
    expect(c.find((e) => e.key === 'system:RunReports')!.risk).toBe('medium');
    for (const e of c) expect(isValidPermissionKey(e.key)).toBe(true);
  });

  it('ships Dynamics high-risk privileges as valid keys', () => {
    const c = builtInCatalog('dynamics', 'd365');
    expect(c.map((e) => e.key)).toContain('feature:prvAssignRole');
    for (const e of c) expect(isValidPermissionKey(e.key)).toBe(true);
    expect(builtInCatalog('hubspot', 'hs')).toEqual([]);
  });

  it('merges catalogs, later entries overriding', () => {
    const base = builtInCatalog('salesforce', 'sf');
    const merged = mergeCatalogs(base, [{ ...base[0]!, risk: 'low' }]);
    expect(merged).toHaveLength(base.length);
    expect(merged.find((e) => e.key === base[0]!.key)!.risk).toBe('low');
  });

  it('labels keys without an entry', () => {
    expect(defaultLabels('object:Account:modifyAll')).toEqual({ en: 'Modify all Account', 'zh-CN': '修改全部 Account' });
    expect(defaultLabels('scope:Case:org').en).toBe('Case: all records');
  });
});

describe('Dynamics prv{Action}{Entity} mapping', () => {
  it.each([
    ['prvReadAccount', 'Global', ['object:account:read', 'scope:account:org']],
    ['prvWriteOpportunity', 'Basic', ['object:opportunity:edit', 'scope:opportunity:own']],
    ['prvCreateLead', 'Local', ['object:lead:create', 'scope:lead:team']],
    ['prvDeleteContact', 'Deep', ['object:contact:delete', 'scope:contact:businessUnit']],
    ['prvAppendToAccount', 'Local', ['feature:prvAppendToAccount', 'scope:account:team']],
    ['prvAppendAccount', 'Local', ['feature:prvAppendAccount', 'scope:account:team']],
    ['prvShareSalesOrder', 'Global', ['feature:prvShareSalesOrder', 'scope:salesorder:org']],
    ['prvReadnew_Project', 8, ['object:new_project:read', 'scope:new_project:org']],
    ['prvExportToExcel', 'Global', ['system:prvExportToExcel']],
    ['prvBulkDelete', 'Global', ['system:prvBulkDelete']],
  ] as const)('%s at %s', (privilege, depth, keys) => {
    const m = mapDynamicsPrivilege(privilege, depth);
    expect(m.ok).toBe(true);
    if (m.ok) expect(m.keys).toEqual(keys);
    if (m.ok) for (const k of m.keys) expect(isValidPermissionKey(k)).toBe(true);
  });

  it.each([
    ['prvReadAccount', 'Everything', 'is not a depth'],
    ['ReadAccount', 'Basic', 'is not a privilege name'],
    ['prv', 'Basic', 'is not a privilege name'],
  ])('rejects %s / %s', (privilege, depth, message) => {
    const m = mapDynamicsPrivilege(privilege, depth);
    expect(m.ok).toBe(false);
    if (!m.ok) expect(m.error).toContain(message);
  });

  it('maps a RetrieveUserPrivileges answer', () => {
    const r = mapDynamicsPrivileges([
      { PrivilegeName: 'prvReadAccount', Depth: 'Global' },
      { PrivilegeName: 'prvWriteAccount', Depth: 'Basic' },
      { PrivilegeName: 'bad', Depth: 'Basic' },
    ]);
    expect(r.keys).toEqual(['object:account:edit', 'object:account:read', 'scope:account:org', 'scope:account:own']);
    expect(r.errors).toHaveLength(1);
  });
});
