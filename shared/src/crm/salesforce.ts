/**
 * Salesforce page detection: pure checks on a URL, each with its example URLs beside it
 * (tests prove every check accepts its own examples and rejects the others').
 */

export interface SalesforcePage {
  kind: 'record' | 'object';
  object: string;
  recordId: string | null;
  /** record: view | edit | clone; object: home | list | new */
  view: string;
}

const HOST_SUFFIXES = [
  '.lightning.force.com',
  '.my.salesforce.com',
  '.my.salesforce-setup.com',
  '.sfcrmapps.cn',
  '.sfcrmproducts.cn',
];

/** Match patterns for the content script (manifest syntax). */
export const SALESFORCE_MATCHES = ['https://*.lightning.force.com/*', 'https://*.my.salesforce.com/*'];

export function isSalesforceHost(host: string): boolean {
  const h = host.toLowerCase();
  return HOST_SUFFIXES.some((s) => h.endsWith(s) && h.length > s.length);
}

const RECORD = /^\/lightning\/r\/([A-Za-z][A-Za-z0-9_]*)\/([A-Za-z0-9]{15}|[A-Za-z0-9]{18})\/(view|edit|clone)\/?$/;
export const recordPageExamples = [
  'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
  'https://acme.lightning.force.com/lightning/r/Account/001xx000003DGb2AAG/edit',
  'https://acme.lightning.force.com/lightning/r/Invoice__c/a01xx00000AbCdE/view',
];

const OBJECT = /^\/lightning\/o\/([A-Za-z][A-Za-z0-9_]*)\/(home|list|new)\/?$/;
export const objectPageExamples = [
  'https://acme.lightning.force.com/lightning/o/Opportunity/home',
  'https://acme.lightning.force.com/lightning/o/Contract/list?filterName=Recent',
  'https://acme.lightning.force.com/lightning/o/Quote/new',
];

export const unrecognisedPageExamples = [
  'https://acme.lightning.force.com/lightning/page/home',
  'https://acme.lightning.force.com/lightning/setup/ManageUsers/home',
  'https://acme.lightning.force.com/lightning/r/Contract/not-an-id/view',
  'https://example.com/lightning/r/Contract/800xx000001AbCdAAK/view',
];

export function parseSalesforceUrl(href: string): SalesforcePage | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || !isSalesforceHost(url.hostname)) return null;
  const record = RECORD.exec(url.pathname);
  if (record) return { kind: 'record', object: record[1]!, recordId: record[2]!, view: record[3]! };
  const object = OBJECT.exec(url.pathname);
  if (object) return { kind: 'object', object: object[1]!, recordId: null, view: object[2]! };
  return null;
}

/** The CRM's own denial messages, matched case-insensitively against the page's visible text. */
export const SALESFORCE_DENIAL_TEXTS = [
  'Insufficient Privileges',
  "You don't have access to this record.",
  'You do not have the level of access necessary to perform the operation you requested.',
] as const;
