import type { CrmKind } from './constants.ts';
import { adapterFor } from './crm/index.ts';
import { genericCatalogObject } from './crm/generic.ts';
import type { PageKind } from './crm/types.ts';
import type { AccessRequest, CatalogEntry, CrmConnection, PageContext, PersonRef } from './schemas.ts';
import { DURATION_CHOICES } from './schemas.ts';
import { OBJECT_ACTIONS, objectPermissionKey, type ObjectAction } from './permissions.ts';
import { AccessIndex, type EngineExplanation } from './engine/access.ts';
import { implicationTableFor } from './engine/implications.ts';
import type { Slice } from './slice.ts';

/**
 * allowed: held through the person's bundles or direct grants; granted: held only through an approved
 * request; approved: approved, but the CRM does not hold it yet (being applied, or an admin's task);
 * pending: a request for it waits for a decision; missing: nothing grants it.
 */
export type RowState = 'allowed' | 'missing' | 'pending' | 'approved' | 'granted';

export interface PermissionRow {
  key: string;
  action: ObjectAction;
  state: RowState;
  label: CatalogEntry['labels'] | null;
  /** The engine's explanation (allowed: every path; not allowed: bundles that would grant it, missing prerequisites …). */
  explanation: EngineExplanation;
  /** The newest request of the viewer that covers this key (any status), if any. */
  request: AccessRequest | null;
  /** When the grant that makes this row `granted` ends. */
  grantExpiresAt: string | null;
}

export interface PageDecision {
  connectionId: string;
  accountId: string;
  object: string;
  /** The object's name for people, from the catalog (null: show `object`). */
  objectLabels: CatalogEntry['labels'] | null;
  recordId: string | null;
  denialText: string | null;
  /** The action the page needs: what the viewer was blocked from, or is about to do. */
  focus: ObjectAction;
  rows: PermissionRow[];
  summary: { allowed: number; missing: number };
  /** Who a new request would wait for, as far as the client can tell (the manager). */
  approvers: PersonRef[];
  /** Duration choices for a request of the focus permission, after the catalog's cap. */
  durationChoices: number[];
  requestable: boolean;
}

export type PageVerdict =
  | { state: 'no-connection' }
  /** Several connections of this CRM could be the page's (its URL names no tenant): the person picks one in settings. */
  | { state: 'choose-connection'; connections: { id: string; name: string }[] }
  | { state: 'no-account'; connectionId: string }
  | { state: 'ready'; decision: PageDecision };

/** A page as a content script reported it (`ObservedPage`): what its URL says, and the denial seen. */
export interface PageToDecide extends PageContext {
  crm: CrmKind;
  tenant: string | null;
  pageKind: PageKind;
}

/** Which action a page is about: record edit → edit, a new record → create, otherwise read. */
export function focusAction(pageKind: PageKind): ObjectAction {
  if (pageKind === 'record-edit') return 'edit';
  if (pageKind === 'new') return 'create';
  return 'read';
}

/** The catalog's name of a page's object (Zoho `Potentials` → `Deals`; most CRMs: the same). */
export function catalogObjectOf(crm: CrmKind, object: string): string {
  return adapterFor(crm)?.catalogObject(object) ?? genericCatalogObject(object);
}

const sameText = (a: string | null | undefined, b: string | null | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/**
 * Which connection a page belongs to: by (CRM kind, tenant) — a shared host (HubSpot, Zoho, Fxiaoke)
 * does not identify the company — else by host for connections that name no tenant. Where the URL
 * names no tenant and several connections of the kind are the person's, the one chosen in settings.
 */
export function connectionForPage(
  slice: Pick<Slice, 'connections' | 'accounts' | 'me'>,
  page: Pick<PageToDecide, 'crm' | 'tenant'>,
  host: string,
  chosen: Partial<Record<CrmKind, string>> = {},
): { connection: CrmConnection } | { choose: CrmConnection[] } | null {
  const ofKind = slice.connections.filter((c) => c.kind === page.crm);
  const byHost = ofKind.filter((c) => c.hosts.some((x) => sameText(x, host)));
  if (page.crm === 'generic') return byHost[0] ? { connection: byHost[0] } : null;
  if (page.tenant !== null) {
    const byTenant = ofKind.find((c) => c.tenant != null && sameText(c.tenant, page.tenant));
    if (byTenant) return { connection: byTenant };
    const untenanted = byHost.find((c) => c.tenant == null);
    return untenanted ? { connection: untenanted } : null;
  }
  const pick = ofKind.find((c) => c.id === chosen[page.crm]);
  if (pick) return { connection: pick };
  const mine = slice.me ? ofKind.filter((c) => slice.accounts.some((a) => a.connectionId === c.id && a.personId === slice.me!.id && a.active)) : [];
  const candidates = mine.length > 0 ? mine : byHost;
  if (candidates.length === 1) return { connection: candidates[0]! };
  return candidates.length > 1 ? { choose: candidates } : null;
}

/**
 * Access indexes a caller keeps for one slice (by connection and account), so deciding page after page
 * builds each once and only moves its clock. The caller drops it when the slice changes.
 */
export type AccessIndexCache = Map<string, AccessIndex>;

function indexFor(slice: Slice, connection: CrmConnection, accountId: string, now: Date, cache: AccessIndexCache | null): AccessIndex {
  const id = `${connection.id}\u0000${accountId}`;
  let index = cache?.get(id);
  if (!index) {
    index = new AccessIndex({
      connectionId: connection.id,
      table: implicationTableFor(connection.kind),
      bundles: slice.bundles.filter((b) => b.connectionId === connection.id),
      accountIds: [accountId],
      assignments: slice.assignments.filter((a) => a.accountId === accountId),
      // Every object the connection's catalog knows joins the universe, so org-wide permissions reach it.
      keys: slice.catalog.filter((c) => c.connectionId === connection.id).map((c) => c.key),
      now,
    });
    cache?.set(id, index);
  } else if (index.now !== now.getTime()) index.setNow(now);
  return index;
}

export interface DecideOptions {
  /** Per CRM kind, the connection the person chose for pages whose URL names no tenant. */
  chosen?: Partial<Record<CrmKind, string>>;
  /** Indexes kept for this very slice (see AccessIndexCache). */
  indexes?: AccessIndexCache;
}

/** The duration choices (of DURATION_CHOICES) a cap allows; null = no cap. */
export function durationChoicesWithin(cap: number | null): number[] {
  const limit = cap ?? Infinity;
  const choices = DURATION_CHOICES.filter((d) => d <= limit);
  // A cap below the shortest choice still allows the shortest grant the cap permits.
  return choices.length > 0 ? [...choices] : [Math.max(1, Math.floor(limit))];
}

export function durationChoicesFor(keys: string[], catalog: CatalogEntry[], connectionId: string): number[] {
  let cap = Infinity;
  for (const key of keys) {
    const entry = catalog.find((c) => c.connectionId === connectionId && c.key === key);
    if (entry?.maxDurationDays != null) cap = Math.min(cap, entry.maxDurationDays);
  }
  return durationChoicesWithin(Number.isFinite(cap) ? cap : null);
}

const OPEN: ReadonlySet<AccessRequest['status']> = new Set(['pending', 'needs-info']);

/**
 * Decides a page from the locally synced slice: for the page's object, each action allowed or
 * missing and why, with the viewer's requests for them. No network involved. The decision is the
 * engine's (`AccessIndex` with the implication table of the connection's CRM kind), the same one the
 * server uses for "already held".
 */
export function decidePage(slice: Slice, host: string, page: PageToDecide, now: Date, options: DecideOptions = {}): PageVerdict {
  const found = page.object ? connectionForPage(slice, page, host, options.chosen) : null;
  if (!found || !page.object) return { state: 'no-connection' };
  if ('choose' in found) return { state: 'choose-connection', connections: found.choose.map((c) => ({ id: c.id, name: c.name })) };
  const { connection } = found;
  const object = catalogObjectOf(page.crm, page.object);
  const me = slice.me;
  const account = me ? slice.accounts.find((a) => a.connectionId === connection.id && a.personId === me.id && a.active) : undefined;
  if (!me || !account) return { state: 'no-account', connectionId: connection.id };

  const pageKeys = OBJECT_ACTIONS.map((action) => objectPermissionKey(object, action));
  const index = indexFor(slice, connection, account.id, now, options.indexes ?? null);
  const mine = slice.requests.filter((r) => r.requesterId === me.id && r.connectionId === connection.id).sort((a, b) => b.createdAt.localeCompare(a.createdAt));

  const rows: PermissionRow[] = OBJECT_ACTIONS.map((action, i) => {
    const key = pageKeys[i]!;
    const explanation = index.explain(account.id, key);
    const request = mine.find((r) => r.permissions.includes(key)) ?? null;
    let state: RowState;
    let grantExpiresAt: string | null = null;
    if (explanation.allowed) {
      const viaRequestOnly = explanation.paths.every((p) => p.source === 'request');
      state = viaRequestOnly ? 'granted' : 'allowed';
      if (viaRequestOnly) {
        const ends = explanation.paths.map((p) => p.expiresAt);
        grantExpiresAt = ends.includes(null) ? null : (ends.sort().at(-1) ?? null);
      }
    } else if (request && OPEN.has(request.status)) state = 'pending';
    // Approved and never yet held: being applied in the CRM (an ended grant is not "approved" again).
    else if (request?.status === 'approved' && !slice.assignments.some((a) => a.requestId === request.id)) state = 'approved';
    else state = 'missing';
    const label = slice.catalog.find((c) => c.connectionId === connection.id && c.key === key)?.labels ?? null;
    return { key, action, state, label, explanation, request, grantExpiresAt };
  });

  const focus = page.denialText ? 'read' : focusAction(page.pageKind);
  const focusKey = objectPermissionKey(object, focus);
  const catalogEntry = slice.catalog.find((c) => c.connectionId === connection.id && c.key === focusKey);
  const manager = me.managerId ? slice.people.find((p) => p.id === me.managerId) : undefined;

  return {
    state: 'ready',
    decision: {
      connectionId: connection.id,
      accountId: account.id,
      object,
      objectLabels: slice.catalog.find((c) => c.connectionId === connection.id && c.objectLabels && pageKeys.includes(c.key))?.objectLabels ?? null,
      recordId: page.recordId,
      denialText: page.denialText,
      focus,
      rows,
      summary: {
        allowed: rows.filter((r) => r.state === 'allowed' || r.state === 'granted').length,
        missing: rows.filter((r) => r.state === 'missing' || r.state === 'pending' || r.state === 'approved').length,
      },
      approvers: manager ? [manager] : [],
      durationChoices: durationChoicesFor([focusKey], slice.catalog, connection.id),
      requestable: catalogEntry?.requestable ?? false,
    },
  };
}
