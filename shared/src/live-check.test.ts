import { describe, expect, it } from 'vitest';
import { dynamicsVerdict, liveCan, liveMismatches, salesforceApiHost, salesforceVerdict } from './live-check.ts';

describe('salesforceVerdict', () => {
  it('reads UserEntityAccess for the object and UserRecordAccess for the record', () => {
    const v = salesforceVerdict(
      { IsReadable: true, IsCreatable: false, IsEditable: true, IsDeletable: false, DurableId: 'Contract.005' },
      { RecordId: '800xx000001AbCdAAK', HasReadAccess: true, HasEditAccess: false, HasDeleteAccess: false, MaxAccessLevel: 'Read' },
    );
    expect(v).toEqual({
      method: 'salesforce-api',
      object: { read: true, create: false, edit: true, delete: false },
      record: { read: true, edit: false, delete: false },
    });
    // The record narrows the object: editable Contracts, but not this one.
    expect(liveCan(v, 'edit')).toBe(false);
    expect(liveCan(v, 'read')).toBe(true);
    expect(liveCan(v, 'create')).toBe(false);
  });

  it('leaves out what the CRM did not say (no rows, or non-boolean values)', () => {
    const v = salesforceVerdict(null, null);
    expect(v.object).toEqual({});
    expect(v.record).toBeNull();
    expect(liveCan(v, 'read')).toBeUndefined();
    expect(salesforceVerdict({ IsReadable: 'true' }, null).object).toEqual({});
  });
});

describe('dynamicsVerdict', () => {
  it('maps AccessRights members and the table privileges to the four actions', () => {
    const v = dynamicsVerdict('opportunity', 'ReadAccess, AppendAccess, AppendToAccess, ShareAccess', [
      'prvReadOpportunity',
      'prvWriteOpportunity',
      'prvReadAccount',
      'prvCreateAccount',
      'prvExportToExcel',
    ]);
    expect(v.method).toBe('dynamics-api');
    expect(v.object).toEqual({ read: true, create: false, edit: true, delete: false });
    expect(v.record).toEqual({ read: true, edit: false, delete: false });
    expect(liveCan(v, 'read')).toBe(true);
    expect(liveCan(v, 'edit')).toBe(false); // the role allows it, this record does not
  });

  it('compares privilege names to the table without case (schema names of custom tables)', () => {
    expect(dynamicsVerdict('new_project', null, ['prvReadnew_Project']).object.read).toBe(true);
    expect(dynamicsVerdict('account', null, ['prvReadAccountant']).object.read).toBe(false);
  });

  it('says nothing about what it was not asked', () => {
    const v = dynamicsVerdict('account', null, null);
    expect(v).toEqual({ method: 'dynamics-api', object: {}, record: null });
  });
});

describe('liveMismatches', () => {
  const rows = [
    { key: 'object:Contract:read', action: 'read' as const, state: 'granted' },
    { key: 'object:Contract:create', action: 'create' as const, state: 'missing' },
    { key: 'object:Contract:edit', action: 'edit' as const, state: 'pending' },
    { key: 'object:Contract:delete', action: 'delete' as const, state: 'allowed' },
  ];

  it('names each action where the CRM and AccessLens disagree, both ways', () => {
    const v = salesforceVerdict({ IsReadable: false, IsCreatable: true, IsEditable: false, IsDeletable: true }, null);
    expect(liveMismatches(rows, v)).toEqual([
      { key: 'object:Contract:read', action: 'read', crm: false, expected: true },
      { key: 'object:Contract:create', action: 'create', crm: true, expected: false },
    ]);
  });

  it('finds none when they agree, and ignores a record that is not shared', () => {
    const v = salesforceVerdict(
      { IsReadable: true, IsCreatable: false, IsEditable: false, IsDeletable: true },
      { HasReadAccess: false, HasEditAccess: false, HasDeleteAccess: false },
    );
    expect(liveMismatches(rows, v)).toEqual([]);
  });
});

describe('salesforceApiHost', () => {
  it.each([
    ['acme.lightning.force.com', 'acme.my.salesforce.com'],
    ['acme--uat.sandbox.lightning.force.com', 'acme--uat.sandbox.my.salesforce.com'],
    ['acme.my.salesforce-setup.com', 'acme.my.salesforce.com'],
    ['ACME.my.salesforce.com', 'acme.my.salesforce.com'],
    ['acme.lightning.sfcrmapps.cn', 'acme.my.sfcrmproducts.cn'],
  ])('%s → %s', (page, api) => expect(salesforceApiHost(page)).toBe(api));

  it('refuses other hosts and look-alikes', () => {
    expect(salesforceApiHost('app.hubspot.com')).toBeNull();
    expect(salesforceApiHost('evil.acme.lightning.force.com.attacker.io')).toBeNull();
    expect(salesforceApiHost('a.b.lightning.force.com')).toBeNull();
  });
});
