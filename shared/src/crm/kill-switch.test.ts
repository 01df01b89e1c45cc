import { describe, expect, it } from 'vitest';
import { compareVersions, pausingSwitch } from './kill-switch.ts';

describe('kill switches', () => {
  it('compare versions numerically', () => {
    expect(compareVersions('0.10.0', '0.9.2')).toBe(1);
    expect(compareVersions('0.1', '0.1.0')).toBe(0);
    expect(compareVersions('1.2.3', '1.2.4')).toBe(-1);
  });

  const zohoRecord = { crm: 'zoho' as const, pageKind: 'record' as const, fixedIn: '0.2.0', reason: 'Zoho changed its record pages' };
  const dynamics = { crm: 'dynamics' as const, pageKind: null, fixedIn: '0.3.0', reason: 'x' };

  it('pause one page kind, or every page of an adapter, below the fixed version only', () => {
    expect(pausingSwitch([zohoRecord], 'zoho', 'record', '0.1.0')).toBe(zohoRecord);
    expect(pausingSwitch([zohoRecord], 'zoho', 'list', '0.1.0')).toBeNull();
    expect(pausingSwitch([zohoRecord], 'hubspot', 'record', '0.1.0')).toBeNull();
    expect(pausingSwitch([dynamics], 'dynamics', 'list', '0.2.9')).toBe(dynamics);
    // Lapses once the fixed version is installed.
    expect(pausingSwitch([zohoRecord], 'zoho', 'record', '0.2.0')).toBeNull();
    expect(pausingSwitch([{ ...zohoRecord, deleted: true }], 'zoho', 'record', '0.1.0')).toBeNull();
  });
});
