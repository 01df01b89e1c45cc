import { describe, expect, it } from 'vitest';
import {
  DYNAMICS_USER_LINKS,
  FXIAOKE_USER_LINKS,
  GENERIC_SAMPLE_RULES,
  GENERIC_USER_LINKS,
  HUBSPOT_USER_LINKS,
  SALESFORCE_USER_LINKS,
  ZOHO_USER_LINKS,
  userIdFromHref,
  userKey,
  type UserLinkExample,
} from './index.ts';
import type { CrmKind } from '../constants.ts';

const CASES: [CrmKind, readonly UserLinkExample[]][] = [
  ['salesforce', SALESFORCE_USER_LINKS],
  ['dynamics', DYNAMICS_USER_LINKS],
  ['hubspot', HUBSPOT_USER_LINKS],
  ['zoho', ZOHO_USER_LINKS],
  ['fxiaoke', FXIAOKE_USER_LINKS],
  ['generic', GENERIC_USER_LINKS],
];

describe.each(CASES)('%s user links', (crm, examples) => {
  it('has examples naming a user and examples naming nobody', () => {
    expect(examples.some((e) => e.expect !== null)).toBe(true);
    expect(examples.some((e) => e.expect === null)).toBe(true);
  });
  it.each(examples.map((e) => [e.href, e] as const))('%s', (_href, e) => {
    expect(userIdFromHref(crm, e.href, e.page, crm === 'generic' ? GENERIC_SAMPLE_RULES : [])).toBe(e.expect);
  });
  it("reads no other CRM's user links", () => {
    for (const [other, links] of CASES) {
      if (other === crm || crm === 'generic' || other === 'generic') continue;
      for (const e of links) expect(userIdFromHref(crm, e.href, e.page)).toBeNull();
    }
  });
});

describe('userKey', () => {
  it('compares Salesforce ids by their 15 case-sensitive characters', () => {
    expect(userKey('salesforce', '005Hs0000000002AAA')).toBe(userKey('salesforce', '005Hs0000000002'));
    expect(userKey('salesforce', '005hs0000000002')).not.toBe(userKey('salesforce', '005Hs0000000002'));
  });
  it('compares Dynamics GUIDs case-insensitively and others as written', () => {
    expect(userKey('dynamics', '7D2A0F4E-59B1-EF11-B8E8-000D3A4A1B2C')).toBe('7d2a0f4e-59b1-ef11-b8e8-000d3a4a1b2c');
    expect(userKey('hubspot', '61002')).toBe('61002');
  });
});
