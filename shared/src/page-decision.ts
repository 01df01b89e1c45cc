import type { AccessRequest, CatalogEntry, PageContext, PersonRef } from './schemas.ts';
import { DURATION_CHOICES } from './schemas.ts';
import { OBJECT_ACTIONS, objectPermissionKey, type ObjectAction } from './permissions.ts';
import { AccessIndex, type EngineExplanation } from './engine/access.ts';
import { implicationTableFor } from './engine/implications.ts';
import type { Slice } from './slice.ts';

export type RowState = 'allowed' | 'missing' | 'pending' | 'granted';

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
  | { state: 'no-account'; connectionId: string }
  | { state: 'ready'; decision: PageDecision };

/** Which action a page is about: record edit → edit, object new → create, otherwise read. */
export function focusAction(view: string | null): ObjectAction {
  if (view === 'edit') return 'edit';
  if (view === 'new' || view === 'clone') return 'create';
  return 'read';
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
export function decidePage(
  slice: Slice,
  host: string,
  page: PageContext & { view: string | null },
  now: Date,
): PageVerdict {
  const h = host.toLowerCase();
  const connection = slice.connections.find((c) => c.hosts.some((x) => x.toLowerCase() === h));
  if (!connection || !page.object) return { state: 'no-connection' };
  const me = slice.me;
  const account = me
    ? slice.accounts.find((a) => a.connectionId === connection.id && a.personId === me.id && a.active)
    : undefined;
  if (!me || !account) return { state: 'no-account', connectionId: connection.id };

  const pageKeys = OBJECT_ACTIONS.map((action) => objectPermissionKey(page.object!, action));
  const index = new AccessIndex({
    connectionId: connection.id,
    table: implicationTableFor(connection.kind),
    bundles: slice.bundles.filter((b) => b.connectionId === connection.id),
    accountIds: [account.id],
    assignments: slice.assignments.filter((a) => a.accountId === account.id),
    // The page's object joins the universe, so org-wide permissions (Modify All Data …) reach it.
    keys: pageKeys,
    now,
  });
  const mine = slice.requests
    .filter((r) => r.requesterId === me.id && r.connectionId === connection.id)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));

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
        grantExpiresAt = ends.includes(null) ? null : ends.sort().at(-1) ?? null;
      }
    } else {
      state = request && OPEN.has(request.status) ? 'pending' : 'missing';
    }
    const label = slice.catalog.find((c) => c.connectionId === connection.id && c.key === key)?.labels ?? null;
    return { key, action, state, label, explanation, request, grantExpiresAt };
  });

  const focus = page.denialText ? 'read' : focusAction(page.view);
  const focusKey = objectPermissionKey(page.object, focus);
  const catalogEntry = slice.catalog.find((c) => c.connectionId === connection.id && c.key === focusKey);
  const manager = me.managerId ? slice.people.find((p) => p.id === me.managerId) : undefined;

  return {
    state: 'ready',
    decision: {
      connectionId: connection.id,
      accountId: account.id,
      object: page.object,
      recordId: page.recordId,
      denialText: page.denialText,
      focus,
      rows,
      summary: {
        allowed: rows.filter((r) => r.state === 'allowed' || r.state === 'granted').length,
        missing: rows.filter((r) => r.state === 'missing' || r.state === 'pending').length,
      },
      approvers: manager ? [manager] : [],
      durationChoices: durationChoicesFor([focusKey], slice.catalog, connection.id),
      requestable: catalogEntry?.requestable ?? false,
    },
  };
}
