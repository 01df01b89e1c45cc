import { describe, expect, it } from 'vitest';
import {
  isSalesforceHost,
  objectPageExamples,
  parseSalesforceUrl,
  recordPageExamples,
  unrecognisedPageExamples,
} from './salesforce.ts';
import { matchDenialText } from '../denial.ts';
import { SALESFORCE_DENIAL_TEXTS } from './salesforce.ts';

describe('Salesforce page checks', () => {
  it('accepts every record example and rejects every other example', () => {
    for (const url of recordPageExamples) expect(parseSalesforceUrl(url)?.kind, url).toBe('record');
    for (const url of [...objectPageExamples, ...unrecognisedPageExamples])
      expect(parseSalesforceUrl(url)?.kind, url).not.toBe('record');
  });

  it('accepts every object-page example and rejects every other example', () => {
    for (const url of objectPageExamples) expect(parseSalesforceUrl(url)?.kind, url).toBe('object');
    for (const url of [...recordPageExamples, ...unrecognisedPageExamples])
      expect(parseSalesforceUrl(url)?.kind, url).not.toBe('object');
  });

  it('extracts object, record id and view', () => {
    expect(parseSalesforceUrl('https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view')).toEqual({
      kind: 'record',
      object: 'Contract',
      recordId: '800xx000001AbCdAAK',
      view: 'view',
    });
    expect(parseSalesforceUrl('https://acme.lightning.force.com/lightning/o/Quote/new')).toEqual({
      kind: 'object',
      object: 'Quote',
      recordId: null,
      view: 'new',
    });
  });

  it('knows Salesforce hosts, and not look-alikes', () => {
    expect(isSalesforceHost('acme.lightning.force.com')).toBe(true);
    expect(isSalesforceHost('acme--uat.sandbox.my.salesforce.com')).toBe(true);
    expect(isSalesforceHost('lightning.force.com.evil.test')).toBe(false);
    expect(isSalesforceHost('.my.salesforce.com')).toBe(false);
  });
});

describe('denial text matching', () => {
  it('returns the known phrase, never the surrounding page text', () => {
    const page = 'Acme Corp secret pipeline\n  INSUFFICIENT   privileges \nYou do not have the level of access';
    expect(matchDenialText(page, SALESFORCE_DENIAL_TEXTS)).toBe('Insufficient Privileges');
  });
  it('matches curly apostrophes', () => {
    expect(matchDenialText('You don\u2019t have access to this record. Ask your administrator for help.', SALESFORCE_DENIAL_TEXTS)).toBe(
      "You don't have access to this record.",
    );
  });
  it('finds nothing on an ordinary page', () => {
    expect(matchDenialText('Opportunity: Big Deal, Amount 1,000,000', SALESFORCE_DENIAL_TEXTS)).toBeNull();
  });
});
