/**
 * The flags on CRM user pages match rows by the user id in each row's link: one reader per adapter
 * (each in its adapter's file, with its examples), and how ids of one CRM compare. Pure: the content
 * script passes hrefs and the page's URL, never a link's text.
 */
import type { CrmKind } from '../constants.ts';
import { dynamicsUserIdFromHref } from './dynamics.ts';
import { fxiaokeUserIdFromHref } from './fxiaoke.ts';
import { genericUserIdFromHref } from './generic.ts';
import { hubspotUserIdFromHref } from './hubspot.ts';
import { salesforceUserIdFromHref, salesforceUserKey } from './salesforce.ts';
import type { PageRule } from './types.ts';
import { zohoUserIdFromHref } from './zoho.ts';

const READERS: Record<Exclude<CrmKind, 'generic'>, (href: string, pageUrl: string | URL) => string | null> = {
  salesforce: salesforceUserIdFromHref,
  dynamics: dynamicsUserIdFromHref,
  hubspot: hubspotUserIdFromHref,
  zoho: zohoUserIdFromHref,
  fxiaoke: fxiaokeUserIdFromHref,
};

/** The user id `href` names on a page of this CRM (in-house CRMs: through their page rules), or null. */
export function userIdFromHref(crm: CrmKind, href: string, pageUrl: string | URL, pageRules: readonly PageRule[] = []): string | null {
  if (crm === 'generic') return genericUserIdFromHref(href, pageUrl, pageRules);
  return READERS[crm](href, pageUrl);
}

/**
 * What two ids of one CRM's users are compared by: Salesforce by the case-sensitive 15-character id
 * (links write 15, the API 18), Dynamics GUIDs case-insensitively, the others as written.
 */
export function userKey(crm: CrmKind, id: string): string {
  if (crm === 'salesforce') return salesforceUserKey(id);
  if (crm === 'dynamics') return id.toLowerCase();
  return id;
}
