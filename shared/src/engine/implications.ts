/**
 * Implications between permission keys, as data, per CRM kind.
 *
 * A table says, for each shape of key, which keys holding it also grants (one step). The closure is
 * the transitive result. Org-wide system permissions imply a key on every object the org knows
 * (`{ everyObject: 'modifyAll' }`), so their closure depends on the set of objects in the universe.
 */
import {
  parsePermissionKey,
  type AnyObjectAction,
  type FieldAction,
  type PermissionKey,
  type RecordScope,
} from '../permissions.ts';
import type { CrmKind } from '../schemas.ts';

export type ImpliedTarget = { key: string } | { everyObject: AnyObjectAction };

export interface ImplicationTable {
  name: string;
  /** Object action → object actions on the same object it grants. */
  object: Readonly<Record<AnyObjectAction, readonly AnyObjectAction[]>>;
  /** Field action → field actions on the same field it grants. */
  field: Readonly<Record<FieldAction, readonly FieldAction[]>>;
  /** Record scopes from narrowest to widest; each scope grants the one before it. */
  scopeOrder: readonly RecordScope[];
  /** Whole keys (system, app, feature) → what they grant. */
  keys: Readonly<Record<string, readonly ImpliedTarget[]>>;
}

const ORG_WIDE: Record<string, readonly ImpliedTarget[]> = {
  'system:ModifyAllData': [{ key: 'system:ViewAllData' }, { everyObject: 'modifyAll' }],
  'system:ViewAllData': [{ everyObject: 'viewAll' }],
};

/** The generic table: the rules every CRM shares. */
export const GENERIC_IMPLICATIONS: ImplicationTable = {
  name: 'generic',
  object: {
    read: [],
    create: ['read'],
    edit: ['read'],
    delete: ['edit'],
    viewAll: ['read'],
    modifyAll: ['viewAll', 'edit', 'read'],
  },
  field: { read: [], edit: ['read'] },
  scopeOrder: ['own', 'team', 'businessUnit', 'org'],
  keys: ORG_WIDE,
};

/** Salesforce: "Modify All" also switches on Delete; Modify All Data requires View All Data. */
export const SALESFORCE_IMPLICATIONS: ImplicationTable = {
  ...GENERIC_IMPLICATIONS,
  name: 'salesforce',
  object: { ...GENERIC_IMPLICATIONS.object, modifyAll: ['viewAll', 'delete', 'edit', 'read'] },
  keys: {
    ...ORG_WIDE,
    // Customize Application depends on View Setup and Configuration.
    'system:CustomizeApplication': [{ key: 'system:ViewSetup' }],
  },
};

/**
 * Dynamics 365: privileges are independent (Delete does not need Write); Write is only useful with
 * Read, so edit ⇒ read stays. Record depth maps onto scopes (see catalog/dynamics.ts).
 */
export const DYNAMICS_IMPLICATIONS: ImplicationTable = {
  ...GENERIC_IMPLICATIONS,
  name: 'dynamics',
  object: { read: [], create: [], edit: ['read'], delete: [], viewAll: ['read'], modifyAll: ['viewAll', 'edit', 'read'] },
};

export const IMPLICATION_TABLES: Readonly<Record<CrmKind, ImplicationTable>> = {
  salesforce: SALESFORCE_IMPLICATIONS,
  dynamics: DYNAMICS_IMPLICATIONS,
  hubspot: GENERIC_IMPLICATIONS,
  zoho: GENERIC_IMPLICATIONS,
  fxiaoke: GENERIC_IMPLICATIONS,
  generic: GENERIC_IMPLICATIONS,
};

export function implicationTableFor(kind: CrmKind): ImplicationTable {
  return IMPLICATION_TABLES[kind] ?? GENERIC_IMPLICATIONS;
}

/** Keys directly implied by a parsed key under `table`; `objects` is the org's object universe. */
export function impliedByParsed(p: PermissionKey, key: string, table: ImplicationTable, objects: Iterable<string>): string[] {
  switch (p.kind) {
    case 'object':
      return (table.object[p.action] ?? []).map((a) => `object:${p.object}:${a}`);
    case 'field':
      return (table.field[p.action] ?? []).map((a) => `field:${p.object}.${p.field}:${a}`);
    case 'scope': {
      const i = table.scopeOrder.indexOf(p.scope);
      return i > 0 ? [`scope:${p.object}:${table.scopeOrder[i - 1]}`] : [];
    }
    case 'system':
    case 'app':
    case 'feature': {
      const targets = table.keys[key];
      if (!targets) return [];
      const out: string[] = [];
      for (const t of targets) {
        if ('key' in t) out.push(t.key);
        else for (const o of objects) out.push(`object:${o}:${t.everyObject}`);
      }
      return out;
    }
  }
}

/** Keys directly implied by `key` (one step) under `table`. Malformed keys imply nothing. */
export function implicationsOf(key: string, table: ImplicationTable, objects: Iterable<string> = []): string[] {
  const parsed = parsePermissionKey(key);
  return parsed.ok ? impliedByParsed(parsed.value, key, table, objects) : [];
}

/**
 * Keys directly implied by `key` (one step) by the generic table, without org-wide expansion
 * (ModifyAllData ⇒ every object's modifyAll needs the org's objects: use `implicationsOf`).
 */
export function directImplications(key: string): string[] {
  return implicationsOf(key, GENERIC_IMPLICATIONS);
}

/** The object a key is about (object, field and scope keys), else null. */
export function objectOf(p: PermissionKey): string | null {
  return p.kind === 'object' || p.kind === 'field' || p.kind === 'scope' ? p.object : null;
}

/**
 * The shortest implication chain from `from` to `to` (both included), or null when `from` does not
 * imply `to`. `[from]` when they are equal.
 */
export function implicationChain(
  from: string,
  to: string,
  table: ImplicationTable,
  objects: Iterable<string> = [],
): string[] | null {
  if (from === to) return [from];
  const target = parsePermissionKey(to);
  const universe = new Set(objects);
  if (target.ok) {
    const o = objectOf(target.value);
    if (o) universe.add(o);
  }
  const parent = new Map<string, string>([[from, '']]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    const k = queue[i]!;
    for (const next of implicationsOf(k, table, universe)) {
      if (parent.has(next)) continue;
      parent.set(next, k);
      if (next === to) {
        const chain = [to];
        for (let c = k; c !== ''; c = parent.get(c)!) chain.push(c);
        return chain.reverse();
      }
      queue.push(next);
    }
  }
  return null;
}
