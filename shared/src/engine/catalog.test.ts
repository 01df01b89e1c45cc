import { describe, expect, it } from 'vitest';
import { isValidPermissionKey } from '../permissions.ts';
import { impliedKeys } from './implications.ts';
import {
  builtInCatalog,
  defaultLabels,
  mapDynamicsPrivilege,
  salesforceSharingKeys,
  scopeLabel,
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
    expect(c.map((e) => e.key)).toContain('object:role:assign');
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
    expect(defaultLabels('scope:Case:read:org').en).toBe('Case: Read — all records');
    expect(defaultLabels('object:account:edit', 'dynamics').en).toBe('Write account');
  });

  it('says what a Dynamics Basic depth covers: own records, records shared with the user or their teams, team-owned records', () => {
    const basic = defaultLabels('scope:account:read:team', 'dynamics');
    expect(basic.en).toBe('account: Read — Basic (user): own records, records shared with the user or their teams, and records their teams own');
    expect(basic['zh-CN']).toContain('基本（用户）');
    expect(scopeLabel('hierarchy', 'dynamics').en).toBe("Deep: records in the user's business unit and every unit below it");
    expect(scopeLabel('team', 'hubspot').en).toBe("Their team's records (the user or a teammate is the owner)");
  });
});

describe('Dynamics prv{Action}{Entity} mapping: the depth per privilege', () => {
  it.each([
    ['prvReadAccount', 'Global', ['object:account:read', 'scope:account:read:org']],
    ['prvWriteOpportunity', 'Basic', ['object:opportunity:edit', 'scope:opportunity:edit:team']],
    ['prvCreateLead', 'Local', ['object:lead:create', 'scope:lead:create:businessUnit']],
    ['prvDeleteContact', 'Deep', ['object:contact:delete', 'scope:contact:delete:hierarchy']],
    ['prvAppendToAccount', 'Local', ['object:account:appendTo', 'scope:account:appendTo:businessUnit']],
    ['prvAppendAccount', 'Local', ['object:account:append', 'scope:account:append:businessUnit']],
    ['prvAssignAccount', 'Basic', ['object:account:assign', 'scope:account:assign:team']],
    ['prvShareSalesOrder', 'Global', ['object:salesorder:share', 'scope:salesorder:share:org']],
    ['prvReadnew_Project', 8, ['object:new_project:read', 'scope:new_project:read:org']],
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

  it('maps a RetrieveUserPrivileges answer keeping each privilege at its own depth (Read Global, Write Basic)', () => {
    const r = mapDynamicsPrivileges([
      { PrivilegeName: 'prvReadAccount', Depth: 'Global' },
      { PrivilegeName: 'prvWriteAccount', Depth: 'Basic' },
      { PrivilegeName: 'bad', Depth: 'Basic' },
    ]);
    expect(r.keys).toEqual(['object:account:edit', 'object:account:read', 'scope:account:edit:team', 'scope:account:read:org']);
    expect(r.errors).toHaveLength(1);
    // Before, the widest depth of any privilege won: Write Basic became org-wide. It stays Basic.
    const held = impliedKeys('dynamics', r.keys, []);
    expect(held.has('scope:account:read:org')).toBe(true);
    expect(held.has('scope:account:edit:org')).toBe(false);
    expect(held.has('scope:account:edit:businessUnit')).toBe(false);
    expect(held.has('scope:account:edit:team')).toBe(true);
  });
});

describe('Salesforce record access onto scope keys', () => {
  it.each([
    ['OrgWideDefault', 'Read', ['scope:Account:read:org']],
    ['OrgWideDefault', 'Edit', ['scope:Account:read:org', 'scope:Account:edit:org']],
    ['SharingRule', 'Read', ['scope:Account:read:team']],
    ['Manual', 'Edit', ['scope:Account:read:team', 'scope:Account:edit:team']],
    ['Owner', 'Read', ['scope:Account:read:own', 'scope:Account:edit:own', 'scope:Account:delete:own', 'scope:Account:assign:own', 'scope:Account:share:own']],
    [
      'RoleHierarchy',
      'Read',
      [
        'scope:Account:read:hierarchy',
        'scope:Account:edit:hierarchy',
        'scope:Account:delete:hierarchy',
        'scope:Account:assign:hierarchy',
        'scope:Account:share:hierarchy',
      ],
    ],
  ] as const)('%s with %s access', (source, level, keys) => {
    expect(salesforceSharingKeys('Account', source, level)).toEqual(keys);
  });

  it('record access without the object permission is not allowed (Control Who Sees What)', () => {
    const owd = salesforceSharingKeys('Account', 'OrgWideDefault', 'Edit');
    expect(impliedKeys('salesforce', owd, []).has('scope:Account:read:org')).toBe(false);
    const withRead = impliedKeys('salesforce', [...owd, 'object:Account:read'], []);
    expect(withRead.has('scope:Account:read:org')).toBe(true);
    expect(withRead.has('scope:Account:edit:org')).toBe(false);
  });
});
