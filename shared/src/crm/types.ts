/**
 * The contract every CRM adapter fulfils. An adapter is pure data and pure functions: which hosts are
 * its CRM's, how a URL of those hosts reads as a page (page kind, object, record id, tenant), the
 * CRM's own denial phrases, where on the page it shows them, and how its object names become catalog
 * keys. Each page check keeps its example URLs (with what they must detect) right beside it; one test
 * proves every check accepts its own examples and every adapter rejects every other adapter's.
 *
 * No zod here: content scripts import adapters and must stay small.
 */
import type { CrmKind, Locale } from '../constants.ts';
import type { ObjectAction } from '../permissions.ts';

export const PAGE_KINDS = ['record', 'record-edit', 'list', 'home', 'new', 'user-list', 'user-record', 'other'] as const;
/** `other` = a page of that CRM that is none of the others. */
export type PageKind = (typeof PAGE_KINDS)[number];

/** What a URL says about the page, and nothing the page shows. */
export interface DetectedPage {
  crm: CrmKind;
  /**
   * Which company's CRM: Salesforce My Domain (`acme`, `acme--uat`), Dynamics org (`contoso`), HubSpot
   * portal id, Zoho org id (or sandbox name), an in-house CRM's host. null where the URL does not say
   * (Fxiaoke: the connection chosen in settings decides).
   */
  tenant: string | null;
  pageKind: PageKind;
  /** The CRM's own API name of the object (`Opportunity`, `account`, `contact`, `Potentials`, `AccountObj`). */
  object: string | null;
  /** As the CRM writes it (Salesforce 15 or 18 characters; Dynamics lower-case GUID without braces). */
  recordId: string | null;
}

/** The part of a detection a page check decides (crm and tenant come from the adapter). */
export type PageMatch = Omit<DetectedPage, 'crm' | 'tenant'>;

/** One example URL and what detecting it must give (`null` = not a page of this CRM at all). */
export interface PageExample {
  url: string;
  expect: DetectedPage | null;
}

/**
 * One link on a CRM user page and the user id it names (`null`: not a link to one user), read as the
 * flags on user pages read rows: the href as written, resolved against the page's URL.
 */
export interface UserLinkExample {
  page: string;
  href: string;
  expect: string | null;
}

/** A pure URL check for one kind of page, with its examples beside it. */
export interface PageCheck {
  /** Stable id, e.g. `lightning-record`. */
  name: string;
  /** The page when `url` (already known to be on one of the adapter's hosts) is this kind of page. */
  match(url: URL): PageMatch | null;
  /** URLs this check must accept, with the detection each must give (crm and tenant included). */
  examples: readonly PageExample[];
}

/** Denial phrases per language: at least English and Simplified Chinese. */
export type DenialPhrases = Readonly<Record<Locale, readonly string[]>>;

export interface CrmAdapter {
  kind: CrmKind;
  /** Manifest match patterns of this CRM's content script (a test proves they cover every example host). */
  matches: readonly string[];
  /** True only for this CRM's own hosts; rejects look-alikes such as `crm.zoho.com.attacker.io`. */
  isHost(hostname: string): boolean;
  /** The tenant as far as the URL tells it. */
  tenantOf(url: URL): string | null;
  /** Checked in order; the first that matches wins. A page of the CRM's hosts that none matches is `other`. */
  checks: readonly PageCheck[];
  /**
   * Examples that are not any check's: pages of this CRM that are `other`, plain `http:` and
   * look-alike hosts (`null`). Also proved against every other adapter.
   */
  otherExamples: readonly PageExample[];
  denialPhrases: DenialPhrases;
  /**
   * CSS selectors of where the CRM renders a refusal (most specific first). The content script watches
   * only these regions (and newly added nodes), never the whole body's rendered text.
   */
  denialRegions: readonly string[];
  /** Single-page app routed by the URL's hash (Fxiaoke): the page changes on `hashchange`. */
  hashRouting: boolean;
  /** The catalog object name of a page object (e.g. Zoho `Potentials` → `Deals`); identity for most. */
  catalogObject(object: string): string;
}

/** The catalog key for an action on a page's object: `object:{catalog object}:{action}`. */
export function objectKeyFor(adapter: Pick<CrmAdapter, 'catalogObject'>, object: string, action: ObjectAction): string {
  return `object:${adapter.catalogObject(object)}:${action}`;
}

/**
 * An admin's page rule, synced to every extension: how to read one kind of page of an in-house CRM
 * (`crm: 'generic'`), or of a built-in CRM for one tenant, overriding the adapter's own checks where
 * the CRM changed its pages. Patterns are URLPattern-style (literal text, `:name` for one path
 * segment, `*` for any rest), never raw regular expressions, so no rule can make matching slow.
 */
export interface PageRule {
  id: string;
  connectionId: string;
  crm: CrmKind;
  /**
   * The connection's tenant: on a shared host (Zoho, HubSpot) an override applies only to pages of
   * that tenant. null = every page of the host.
   */
  tenant: string | null;
  /** Host as the browser shows it, lower-case, with `:port` when not the default (`crm.acme.internal`, `localhost:8788`). */
  host: string;
  /** Plain HTTP only for in-house CRMs on loopback or an intranet; built-in CRMs are always HTTPS. */
  protocol: 'https' | 'http';
  /** Pattern for the URL's path (`/records/:object/:recordId`). */
  path: string;
  /** Pattern for the URL's hash, for hash-routed apps (`#/records/:object/:recordId`); null = any. */
  hash: string | null;
  pageKind: PageKind;
  /** Where the object's name is: a named group of `path` or `hash`, or a fixed name; null = none. */
  object: { group: string } | { value: string } | null;
  /** The named group holding the record (or user) id; null = none. */
  recordId: { group: string } | null;
  /** The CRM's own refusal wording on these pages, matched case-insensitively. */
  denialPhrases: string[];
  /** Lower runs first among rules of the same host. */
  priority: number;
}

/**
 * Pauses an adapter (or one page kind of it) for extension versions below `fixedIn`, when a CRM
 * changed its pages and the installed version reads them wrongly. Lapses once `fixedIn` is installed.
 */
export interface KillSwitch {
  crm: CrmKind;
  /** null = every page kind of the adapter. */
  pageKind: PageKind | null;
  /** The first extension version that reads these pages correctly (`0.2.0`). */
  fixedIn: string;
  /** Shown to people beside "paused": why (`Salesforce changed its record pages`). */
  reason: string;
}
