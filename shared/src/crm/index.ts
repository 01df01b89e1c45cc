/**
 * Every CRM adapter, and the two questions the rest of AccessLens asks them: which page is this URL
 * (`detectPage`), and did the CRM refuse the user (`detectDenial`).
 */
import type { CrmKind } from '../constants.ts';
import { denialWith, detectWith, parseUrl } from './detect.ts';
import { dynamics } from './dynamics.ts';
import { fxiaoke } from './fxiaoke.ts';
import { detectGeneric, GENERIC_DENIAL_PHRASES } from './generic.ts';
import { hubspot } from './hubspot.ts';
import { salesforce } from './salesforce.ts';
import type { CrmAdapter, DetectedPage, PageRule } from './types.ts';
import { zoho } from './zoho.ts';

export * from './types.ts';
export * from './rules.ts';
export * from './kill-switch.ts';
export { denialWith, detectWith, userIdInLink } from './detect.ts';
export { userIdFromHref, userKey } from './user-links.ts';
export {
  isSalesforceId,
  salesforce,
  SALESFORCE_KEY_PREFIXES,
  SALESFORCE_USER_LINKS,
  salesforceUserIdFromHref,
  salesforceUserKey,
} from './salesforce.ts';
export { dynamics, DYNAMICS_MAX_REGION, DYNAMICS_USER_LINKS, DYNAMICS_USER_TABLE, dynamicsUserIdFromHref } from './dynamics.ts';
export {
  hubspot,
  HUBSPOT_USER_LINKS,
  hubspotUserIdFromHref,
  hubspotCatalogObject,
  HUBSPOT_HOSTS,
  HUBSPOT_OBJECT_TYPES,
  HUBSPOT_USER_OBJECT,
} from './hubspot.ts';
export { zoho, ZOHO_USER_LINKS, zohoUserIdFromHref, ZOHO_DOMAINS, ZOHO_HOSTS, ZOHO_MODULE_API_NAMES, ZOHO_USER_OBJECT } from './zoho.ts';
export { fxiaoke, FXIAOKE_USER_LINKS, fxiaokeUserIdFromHref, FXIAOKE_HOSTS, FXIAOKE_USER_OBJECT } from './fxiaoke.ts';
export {
  detectGeneric,
  genericAdapter,
  genericCatalogObject,
  genericDenialPhrases,
  genericSample,
  isGenericAdapter,
  GENERIC_DENIAL_PHRASES,
  GENERIC_SAMPLE_RULES,
  GENERIC_USER_LINKS,
  genericUserIdFromHref,
  type GenericAdapter,
} from './generic.ts';

/** The built-in adapters (in-house CRMs are read by page rules alone: `genericAdapter(rules)`). */
export const ADAPTERS: readonly CrmAdapter[] = [salesforce, dynamics, hubspot, zoho, fxiaoke];

export function adapterFor(kind: CrmKind): CrmAdapter | null {
  return ADAPTERS.find((a) => a.kind === kind) ?? null;
}

/**
 * Which CRM page `url` is: `{ crm, tenant, pageKind, object, recordId }`, or null for anything that is
 * not a CRM page (plain `http:` included, unless an admin's rule reads an in-house CRM served so).
 */
export function detectPage(url: string, options: { pageRules?: readonly PageRule[] } = {}): DetectedPage | null {
  const parsed = parseUrl(url);
  if (!parsed) return null;
  const rules = options.pageRules ?? [];
  for (const adapter of ADAPTERS) {
    const page = detectWith(adapter, parsed, rules);
    if (page) return page;
  }
  return rules.length > 0 ? detectGeneric(parsed, rules) : null;
}

/**
 * The CRM's own refusal phrase found in `pageText` (the phrases given first, e.g. a page rule's, then
 * every language the adapter knows; in-house CRMs: common refusal wording), or null. Only the known
 * phrase is returned, never page text.
 */
export function detectDenial(crm: CrmKind, pageText: string, extraPhrases: readonly string[] = []): string | null {
  const known = crm === 'generic' ? GENERIC_DENIAL_PHRASES : adapterFor(crm)?.denialPhrases;
  return denialWith({ denialPhrases: known ?? { en: [], 'zh-CN': [] } }, pageText, extraPhrases);
}
