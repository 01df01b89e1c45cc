import { describe, expect, it } from 'vitest';
import { salesforce } from '@accesslens/shared';
import { findDenialText, observedPageOf } from './page-watch';

describe('observedPageOf', () => {
  it('sends identifiers only: no query, no fragment', () => {
    expect(
      observedPageOf('https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view?ws=secret#frag'),
    ).toEqual({
      url: 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
      object: 'Contract',
      recordId: '800xx000001AbCdAAK',
      view: 'view',
      denialText: null,
    });
  });

  it('recognises record and object pages, and nothing else', () => {
    const checks = salesforce.checks.filter((c) => c.name === 'lightning-record' || c.name === 'lightning-object');
    for (const { url } of checks.flatMap((c) => c.examples).filter((e) => e.expect?.pageKind !== 'user-record')) expect(observedPageOf(url), url).not.toBeNull();
    for (const { url } of salesforce.otherExamples) expect(observedPageOf(url), url).toBeNull();
  });
});

describe('findDenialText', () => {
  it('returns the known phrase, never the surrounding page text', () => {
    expect(findDenialText('Acme Renewal 2026\nInsufficient   Privileges\nYour account: 12345')).toBe('Insufficient Privileges');
    expect(findDenialText('You don’t have access to this record. Ask your admin.')).toBe("You don't have access to this record.");
    expect(findDenialText('Contract 0042 — Total $1,200,000')).toBeNull();
  });
});
