/**
 * The page a content script reported, decided from the local slice: one place for the three handlers
 * that need it (decide, preview, submit), so they can never judge a page differently.
 */
import { decidePage, pausingSwitch, type ObservedPage, type PageRule, type PageVerdict, type Slice } from '@accesslens/shared';

/** Which action a page is about, as the decision names it. */
const VIEW_OF_KIND: Partial<Record<ObservedPage['pageKind'], string>> = {
  record: 'view',
  'record-edit': 'edit',
  new: 'new',
  home: 'home',
  list: 'list',
};

/** Page kinds the overlay explains (the object's record actions); user pages and others get no panel. */
export const OBJECT_PAGE_KINDS: ReadonlySet<ObservedPage['pageKind']> = new Set(Object.keys(VIEW_OF_KIND) as ObservedPage['pageKind'][]);

export function decideObserved(view: Slice, host: string, page: ObservedPage, now: Date): PageVerdict {
  return decidePage(view, host, { ...page, view: VIEW_OF_KIND[page.pageKind] ?? null }, now);
}

/** The admins' page rules for one host (with port), as content scripts read pages with them. */
export function pageRules(view: Slice | null, host: string): PageRule[] {
  return (view?.pageRules ?? []).filter((r) => !r.deleted && r.host === host).map(({ deleted: _deleted, ...rule }) => rule);
}

/** Why AccessLens is paused on this page for the installed version, if a kill switch says so. */
export function pausedOn(view: Slice | null, page: Pick<ObservedPage, 'crm' | 'pageKind'>, installedVersion: string) {
  const s = pausingSwitch(view?.killSwitches ?? [], page.crm, page.pageKind, installedVersion);
  return s ? { fixedIn: s.fixedIn, reason: s.reason } : null;
}
