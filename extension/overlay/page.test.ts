// @vitest-environment happy-dom
import { genericAdapter, salesforce, type PageRule } from '@accesslens/shared/crm';
import { afterEach, describe, expect, it } from 'vitest';
import { detect, observedPageOf, watchForDenial } from './page';

const read = (href: string, rules: PageRule[] = []) => observedPageOf(detect(salesforce, href, rules), href);

describe('observedPageOf', () => {
  it('sends identifiers only: no query, no fragment', () => {
    expect(read('https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view?ws=secret#frag')).toEqual({
      url: 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
      crm: 'salesforce',
      tenant: 'acme',
      pageKind: 'record',
      object: 'Contract',
      recordId: '800xx000001AbCdAAK',
      denialText: null,
    });
  });

  it("explains pages about an object's records, not user pages or other pages", () => {
    const kinds = new Set(['record', 'record-edit', 'new', 'home', 'list']);
    for (const check of salesforce.checks)
      for (const { url, expect: page } of check.examples) {
        const explained = page !== null && page.object !== null && kinds.has(page.pageKind);
        expect(read(url) !== null, url).toBe(explained);
      }
    for (const { url } of salesforce.otherExamples) expect(read(url), url).toBeNull();
  });

  it('reads an in-house CRM by its rules alone', () => {
    const rule: PageRule = {
      id: 'r',
      connectionId: 'desk',
      crm: 'generic',
      tenant: null,
      host: 'localhost:8788',
      protocol: 'http',
      path: '/records/:object/:recordId',
      hash: null,
      pageKind: 'record',
      object: { group: 'object' },
      recordId: { group: 'recordId' },
      denialPhrases: [],
      priority: 0,
    };
    expect(
      observedPageOf(detect(genericAdapter([rule]), 'http://localhost:8788/records/Invoice/INV-1', []), 'http://localhost:8788/records/Invoice/INV-1'),
    ).toMatchObject({
      crm: 'generic',
      object: 'Invoice',
      recordId: 'INV-1',
      url: 'http://localhost:8788/records/Invoice/INV-1',
    });
    expect(detect(genericAdapter([]), 'http://localhost:8788/records/Invoice/INV-1', [])).toBeNull();
  });
});

describe('watchForDenial', () => {
  const controllers: AbortController[] = [];
  afterEach(() => {
    for (const c of controllers.splice(0)) c.abort();
    document.body.innerHTML = '';
  });
  const watch = (phrases: string[] = []) => {
    const controller = new AbortController();
    controllers.push(controller);
    const found: string[] = [];
    watchForDenial(controller.signal, { adapter: salesforce, phrases }, (p) => found.push(p));
    return found;
  };
  const settle = () => new Promise((r) => setTimeout(r, 0));

  it('finds a denial already on the page, returning only the known phrase', () => {
    document.body.innerHTML = '<main><div class="slds-illustration"><h2>Insufficient   Privileges</h2><p>Account 42: SECRET</p></div></main>';
    expect(watch()).toEqual(['Insufficient Privileges']);
  });

  it('finds one rendered later into a denial region, once', async () => {
    document.body.innerHTML = '<main id="app">Loading…</main>';
    const found = watch();
    document.getElementById('app')!.innerHTML = '<div role="alert"><h2>Insufficient Privileges</h2></div>';
    await settle();
    document.getElementById('app')!.insertAdjacentHTML('beforeend', '<div role="alert">Insufficient Privileges</div>');
    await settle();
    expect(found).toEqual(['Insufficient Privileges']);
  });

  it('ignores the phrase outside the denial regions (record contents are not read)', async () => {
    document.body.innerHTML = '<main id="app"></main>';
    const found = watch();
    document.getElementById('app')!.innerHTML = '<p>Note: Insufficient Privileges were reported by the customer</p>';
    await settle();
    expect(found).toEqual([]);
  });

  it("matches an in-house CRM's own phrases from its page rules", async () => {
    document.body.innerHTML = '<main id="app"></main>';
    const found = watch(['您无权查看此记录']);
    document.getElementById('app')!.innerHTML = '<div role="dialog">抱歉，您无权查看此记录。</div>';
    await settle();
    expect(found).toEqual(['您无权查看此记录']);
  });

  it('stops when aborted', async () => {
    document.body.innerHTML = '<main id="app"></main>';
    const found = watch();
    controllers[0]!.abort();
    document.getElementById('app')!.innerHTML = '<div role="alert">Insufficient Privileges</div>';
    await settle();
    expect(found).toEqual([]);
  });
});
