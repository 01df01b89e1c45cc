/**
 * The page a content script reported, decided from the local slice: one place for the three handlers
 * that need it (decide, preview, submit), so they can never judge a page differently.
 */
import {
  decidePage,
  pausingSwitch,
  type AccessIndexCache,
  type CrmKind,
  type ObservedPage,
  type PageRule,
  type PageVerdict,
  type Slice,
} from '@accesslens/shared';
import { chosenConnectionsItem } from './storage';

/** The access indexes built for the slice last decided against (slices are never changed in place). */
let cached: { slice: Slice; indexes: AccessIndexCache } | null = null;

/** The connections chosen in settings, read once and then kept up to date (this is on every page's path). */
let chosenConnections: Promise<Partial<Record<CrmKind, string>>> | null = null;
export function chosen(): Promise<Partial<Record<CrmKind, string>>> {
  if (!chosenConnections) {
    chosenConnections = chosenConnectionsItem.getValue();
    chosenConnectionsItem.watch((value) => (chosenConnections = Promise.resolve(value)));
  }
  return chosenConnections;
}

/** Decides a page against the person's slice, with the connections they chose where URLs name no tenant. */
export async function decideObserved(view: Slice, host: string, page: ObservedPage, now: Date): Promise<PageVerdict> {
  const chosen_ = await chosen();
  if (cached?.slice !== view) cached = { slice: view, indexes: new Map() };
  return decidePage(view, host, page, now, { chosen: chosen_, indexes: cached.indexes });
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
