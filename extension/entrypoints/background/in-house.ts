/**
 * In-house CRMs: their hosts are not in the manifest. An admin adds the CRM (a `generic` connection with
 * page rules) on the server; the person allows AccessLens on its hosts in settings (optional host
 * permissions, asked at run time); this keeps the in-house content script registered for exactly the
 * hosts that are both an in-house connection's and allowed.
 */
import { browser } from 'wxt/browser';
import type { CrmConnection, Slice } from '@accesslens/shared';

export const IN_HOUSE_SCRIPT_ID = 'accesslens-in-house';
const SCRIPT_FILE = 'content-scripts/generic.js';

export interface InHouseHost {
  connectionId: string;
  connectionName: string;
  /** As the connection names it (`crm.acme.internal`, `localhost:8788`). */
  host: string;
  /** The match pattern asked for and registered: match patterns carry no port. */
  origin: string;
  allowed: boolean;
}

/** Match pattern of an in-house host, with the protocols its page rules use (HTTPS unless a rule says HTTP). */
export function originsOf(connection: CrmConnection, view: Pick<Slice, 'pageRules'>): { host: string; origins: string[] }[] {
  return connection.hosts.map((host) => {
    const hostname = host.replace(/:\d+$/, '');
    const protocols = new Set(view.pageRules.filter((r) => !r.deleted && r.connectionId === connection.id && r.host === host).map((r) => r.protocol));
    if (protocols.size === 0) protocols.add('https');
    return { host, origins: [...protocols].sort().map((p) => `${p}://${hostname}/*`) };
  });
}

/** Every in-house host of the slice, and whether this browser lets AccessLens run there. */
export async function inHouseHosts(view: Slice | null): Promise<InHouseHost[]> {
  const out: InHouseHost[] = [];
  for (const c of view?.connections.filter((x) => x.kind === 'generic') ?? [])
    for (const { host, origins } of originsOf(c, view!))
      for (const origin of origins)
        out.push({
          connectionId: c.id,
          connectionName: c.name,
          host,
          origin,
          allowed: await browser.permissions.contains({ origins: [origin] }),
        });
  return out;
}

/** Registers the in-house content script for exactly the allowed in-house hosts (or removes it). */
export async function syncInHouseScripts(view: Slice | null): Promise<string[]> {
  const matches = [...new Set((await inHouseHosts(view)).filter((h) => h.allowed).map((h) => h.origin))].sort();
  const registered = await browser.scripting.getRegisteredContentScripts({ ids: [IN_HOUSE_SCRIPT_ID] });
  const current = registered[0];
  if (matches.length === 0) {
    if (current) await browser.scripting.unregisterContentScripts({ ids: [IN_HOUSE_SCRIPT_ID] });
    return matches;
  }
  const script = { id: IN_HOUSE_SCRIPT_ID, matches, js: [SCRIPT_FILE], runAt: 'document_start' as const, persistAcrossSessions: true };
  if (!current) await browser.scripting.registerContentScripts([script]);
  else if (JSON.stringify([...(current.matches ?? [])].sort()) !== JSON.stringify(matches)) await browser.scripting.updateContentScripts([script]);
  return matches;
}
