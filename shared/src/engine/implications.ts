/**
 * Implications between permission keys, as data, per CRM kind.
 *
 * Each CRM kind's table lives beside its adapter (shared/src/crm/{kind}-permissions.ts) and says,
 * with the document and section each rule comes from, what holding a key also grants (one step) and
 * which keys a key needs before it can be used (its prerequisites). This module keeps the table type
 * and the algorithm:
 *
 * - The closure of a set of keys is the transitive result of the one-step rules. Org-wide system
 *   permissions imply a key on every object the org knows (`{ everyObject: 'modifyAll' }`), so their
 *   closure depends on the set of objects in the universe.
 * - Prerequisites are conjunctions ("Assign needs Assign, Write and Read"). The closure says what is
 *   *held* (what the roles contain: holding Assign at Global depth is holding it at Deep depth too);
 *   a held key is *allowed* only when every prerequisite is allowed as well (the largest such subset
 *   of the closure). So a key held without its prerequisites shows as not allowed, with the missing
 *   ones named. Allowed sets stay monotone (holding more never allows less) and idempotent.
 * - A wider record scope contains the narrower ones of the same object and action (the grammar
 *   defines the scopes as nested sets, docs/api.md "Permission keys"); a table lists the scopes its
 *   CRM has, and only those chain.
 * - Where a CRM's documentation says nothing, a key implies nothing else.
 */
import { parsePermissionKey, type AnyObjectAction, type FieldAction, type PermissionKey, type RecordAction, type RecordScope } from '../permissions.ts';
import type { CrmKind } from '../schemas.ts';
import { DYNAMICS_PERMISSIONS } from '../crm/dynamics-permissions.ts';
import { FXIAOKE_PERMISSIONS } from '../crm/fxiaoke-permissions.ts';
import { GENERIC_PERMISSIONS } from '../crm/generic-permissions.ts';
import { HUBSPOT_PERMISSIONS } from '../crm/hubspot-permissions.ts';
import { SALESFORCE_PERMISSIONS } from '../crm/salesforce-permissions.ts';
import { ZOHO_PERMISSIONS } from '../crm/zoho-permissions.ts';

/** Where a rule comes from: a document of the CRM's vendor (or our own grammar), the section, a URL. */
export interface RuleSource {
  document: string;
  section: string;
  url: string;
}

export type ImpliedTarget = { key: string } | { everyObject: AnyObjectAction };

export type ImplicationRule =
  /** object:X:{action} ⇒ object:X:{implies…} and scope:X:{scope.action}:{scope.scope}. */
  | {
      on: 'object';
      action: AnyObjectAction;
      implies: readonly AnyObjectAction[];
      scopes?: readonly { action: RecordAction; scope: RecordScope }[];
      source: RuleSource;
    }
  /** field:X.F:{action} ⇒ field:X.F:{implies…}. */
  | { on: 'field'; action: FieldAction; implies: readonly FieldAction[]; source: RuleSource }
  /** scope:X:{action}:{any scope} ⇒ object:X:{action}: the privilege at a depth is the privilege. */
  | { on: 'scope'; actions: readonly RecordAction[]; source: RuleSource }
  /** A whole key (system, app, feature) ⇒ keys, or an action on every object. */
  | { on: 'key'; key: string; implies: readonly ImpliedTarget[]; source: RuleSource };

export type Prerequisite =
  /** object:X:{action} is allowed only with object:X:{requires…}. */
  | { on: 'object'; action: AnyObjectAction; requires: readonly AnyObjectAction[]; source: RuleSource }
  /** scope:X:{action}:{S} is allowed only with scope:X:{requires…}:{S} (the same scope). */
  | { on: 'scope'; action: RecordAction; requires: readonly RecordAction[]; source: RuleSource }
  /** scope:X:{action}:{S} is allowed only with object:X:{action} (record access needs the object permission). */
  | { on: 'scopeObject'; actions: readonly RecordAction[]; source: RuleSource };

/** The keys a CRM kind has: what its rules may produce ("no rule implies a key of another CRM"). */
export interface Vocabulary {
  objectActions: readonly AnyObjectAction[];
  fieldActions: readonly FieldAction[];
  /** Actions that carry a record scope in this CRM. */
  scopeActions: readonly RecordAction[];
  /** The CRM's record scopes, narrowest first. */
  scopes: readonly RecordScope[];
  /** Names of system, app and feature keys this CRM uses (null = any name). */
  names: RegExp | null;
}

/** A label in both languages. */
export interface BilingualLabel {
  en: string;
  'zh-CN': string;
}

export interface ImplicationTable {
  crm: CrmKind;
  name: string;
  vocabulary: Vocabulary;
  /** The CRM's own words for scopes and actions where they differ from the generic labels. */
  labels?: {
    scopes?: Partial<Record<RecordScope, BilingualLabel>>;
    actions?: Partial<Record<AnyObjectAction, BilingualLabel>>;
  };
  /**
   * Source for "a wider scope of `vocabulary.scopes` implies the next narrower one, for the same
   * object and one of `vocabulary.scopeActions`"; null = no order.
   */
  scopeOrder: RuleSource | null;
  rules: readonly ImplicationRule[];
  prerequisites: readonly Prerequisite[];
}

export { GRAMMAR_SOURCE } from './grammar-source.ts';

export const IMPLICATION_TABLES: Readonly<Record<CrmKind, ImplicationTable>> = {
  salesforce: SALESFORCE_PERMISSIONS,
  dynamics: DYNAMICS_PERMISSIONS,
  hubspot: HUBSPOT_PERMISSIONS,
  zoho: ZOHO_PERMISSIONS,
  fxiaoke: FXIAOKE_PERMISSIONS,
  generic: GENERIC_PERMISSIONS,
};

export { DYNAMICS_PERMISSIONS, FXIAOKE_PERMISSIONS, GENERIC_PERMISSIONS, HUBSPOT_PERMISSIONS, SALESFORCE_PERMISSIONS, ZOHO_PERMISSIONS };

/** Kept as names other code and tests use. */
export const SALESFORCE_IMPLICATIONS = SALESFORCE_PERMISSIONS;
export const DYNAMICS_IMPLICATIONS = DYNAMICS_PERMISSIONS;
export const GENERIC_IMPLICATIONS = GENERIC_PERMISSIONS;

export function implicationTableFor(kind: CrmKind): ImplicationTable {
  return IMPLICATION_TABLES[kind] ?? GENERIC_PERMISSIONS;
}

// ---------------- compiled form (indexed once per table) ----------------

interface Compiled {
  object: Map<AnyObjectAction, string[]>; // suffixes: ":read" or "scope" templates
  objectScopes: Map<AnyObjectAction, { action: RecordAction; scope: RecordScope }[]>;
  field: Map<FieldAction, FieldAction[]>;
  scopeToObject: Set<RecordAction>;
  scopeIndex: Map<RecordScope, number>;
  /** Actions whose scopes chain (the CRM's scope actions). */
  scopeActions: Set<RecordAction>;
  keys: Map<string, ImpliedTarget[]>;
  objectRequires: Map<AnyObjectAction, AnyObjectAction[]>;
  scopeRequires: Map<RecordAction, RecordAction[]>;
  scopeRequiresObject: Set<RecordAction>;
}

const compiledTables = new WeakMap<ImplicationTable, Compiled>();

function push<K, V>(m: Map<K, V[]>, k: K, vs: readonly V[]) {
  const list = m.get(k);
  if (list) {
    for (const v of vs) if (!list.includes(v)) list.push(v);
  } else m.set(k, [...vs]);
}

function compile(table: ImplicationTable): Compiled {
  const done = compiledTables.get(table);
  if (done) return done;
  const c: Compiled = {
    object: new Map(),
    objectScopes: new Map(),
    field: new Map(),
    scopeToObject: new Set(),
    scopeIndex: new Map(table.scopeOrder ? table.vocabulary.scopes.map((s, i) => [s, i] as const) : []),
    scopeActions: new Set(table.vocabulary.scopeActions),
    keys: new Map(),
    objectRequires: new Map(),
    scopeRequires: new Map(),
    scopeRequiresObject: new Set(),
  };
  for (const r of table.rules) {
    if (r.on === 'object') {
      push(c.object, r.action, r.implies);
      if (r.scopes) push(c.objectScopes, r.action, r.scopes);
    } else if (r.on === 'field') push(c.field, r.action, r.implies);
    else if (r.on === 'scope') for (const a of r.actions) c.scopeToObject.add(a);
    else push(c.keys, r.key, r.implies);
  }
  for (const p of table.prerequisites) {
    if (p.on === 'object') push(c.objectRequires, p.action, p.requires);
    else if (p.on === 'scope') push(c.scopeRequires, p.action, p.requires);
    else for (const a of p.actions) c.scopeRequiresObject.add(a);
  }
  compiledTables.set(table, c);
  return c;
}

/** Keys directly implied by a parsed key under `table`; `objects` is the org's object universe. */
export function impliedByParsed(p: PermissionKey, key: string, table: ImplicationTable, objects: Iterable<string>): string[] {
  const c = compile(table);
  switch (p.kind) {
    case 'object': {
      const out = (c.object.get(p.action) ?? []).map((a) => `object:${p.object}:${a}`);
      for (const s of c.objectScopes.get(p.action) ?? []) out.push(`scope:${p.object}:${s.action}:${s.scope}`);
      return out;
    }
    case 'field':
      return (c.field.get(p.action) ?? []).map((a) => `field:${p.object}.${p.field}:${a}`);
    case 'scope': {
      const out: string[] = [];
      const i = c.scopeActions.has(p.action) ? (c.scopeIndex.get(p.scope) ?? -1) : -1;
      if (i > 0) out.push(`scope:${p.object}:${p.action}:${table.vocabulary.scopes[i - 1]}`);
      if (c.scopeToObject.has(p.action)) out.push(`object:${p.object}:${p.action}`);
      return out;
    }
    case 'system':
    case 'app':
    case 'feature': {
      const targets = c.keys.get(key);
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

/** The keys a parsed key needs, besides itself, before it is allowed (one step). */
export function prerequisitesOfParsed(p: PermissionKey, table: ImplicationTable): string[] {
  const c = compile(table);
  if (p.kind === 'object') return (c.objectRequires.get(p.action) ?? []).map((a) => `object:${p.object}:${a}`);
  if (p.kind === 'scope') {
    const out = (c.scopeRequires.get(p.action) ?? []).map((a) => `scope:${p.object}:${a}:${p.scope}`);
    if (c.scopeRequiresObject.has(p.action)) out.push(`object:${p.object}:${p.action}`);
    return out;
  }
  return [];
}

/** The keys `key` needs before it is allowed (one step); malformed keys need nothing. */
export function prerequisitesOf(key: string, table: ImplicationTable): string[] {
  const parsed = parsePermissionKey(key);
  return parsed.ok ? prerequisitesOfParsed(parsed.value, table) : [];
}

/** Keys directly implied by `key` (one step) under `table`. Malformed keys imply nothing. */
export function implicationsOf(key: string, table: ImplicationTable, objects: Iterable<string> = []): string[] {
  const parsed = parsePermissionKey(key);
  return parsed.ok ? impliedByParsed(parsed.value, key, table, objects) : [];
}

/** The object a key is about (object, field and scope keys), else null. */
export function objectOf(p: PermissionKey): string | null {
  return p.kind === 'object' || p.kind === 'field' || p.kind === 'scope' ? p.object : null;
}

/**
 * Drops, from a closed set, every key whose prerequisites are not all in the (resulting) set.
 * Mutates and returns `keys`.
 */
export function applyPrerequisites(keys: Set<string>, table: ImplicationTable): Set<string> {
  for (let changed = true; changed; ) {
    changed = false;
    for (const k of keys) {
      const reqs = prerequisitesOf(k, table);
      if (reqs.length > 0 && !reqs.every((r) => keys.has(r))) {
        keys.delete(k);
        changed = true;
      }
    }
  }
  return keys;
}

/** Every key `held` implies under `table` (closure, `held` included; no prerequisites applied). */
export function closureOf(held: Iterable<string>, table: ImplicationTable, objects: Iterable<string> = []): Set<string> {
  const parsedHeld: [string, PermissionKey][] = [];
  const universe = new Set(objects);
  for (const k of held) {
    const p = parsePermissionKey(k);
    if (!p.ok) continue;
    parsedHeld.push([k, p.value]);
    const o = objectOf(p.value);
    if (o !== null) universe.add(o);
  }
  const out = new Set<string>();
  const queue: [string, PermissionKey][] = [];
  for (const [k, p] of parsedHeld) if (!out.has(k)) out.add(k), queue.push([k, p]);
  for (let i = 0; i < queue.length; i++) {
    const [k, p] = queue[i]!;
    // Implied keys name only objects already in the universe, so it does not grow here.
    for (const next of impliedByParsed(p, k, table, universe)) {
      if (out.has(next)) continue;
      out.add(next);
      const np = parsePermissionKey(next);
      if (np.ok) queue.push([next, np.value]);
    }
  }
  return out;
}

/**
 * **Contract:** the set of keys that holding `held` grants in CRM `crm`: the closure under that
 * CRM's implication table, with every key whose prerequisites are not all granted removed.
 * `objects` are the object names org-wide permissions (Modify All Data …) expand over; the objects
 * named by `held` are added to them. Malformed keys grant nothing.
 */
export function impliedKeys(crm: CrmKind, held: string[], objects: string[]): Set<string> {
  const table = implicationTableFor(crm);
  return applyPrerequisites(closureOf(held, table, objects), table);
}

/**
 * The shortest implication chain from `from` to `to` (both included), or null when `from` does not
 * imply `to`. `[from]` when they are equal. (Prerequisites are not considered here.)
 */
export function implicationChain(from: string, to: string, table: ImplicationTable, objects: Iterable<string> = []): string[] | null {
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

/** Whether `key` is one of the CRM kind's own keys (its vocabulary). */
export function inVocabulary(key: string, table: ImplicationTable): boolean {
  const parsed = parsePermissionKey(key);
  if (!parsed.ok) return false;
  const p = parsed.value;
  const v = table.vocabulary;
  switch (p.kind) {
    case 'object':
      return v.objectActions.includes(p.action);
    case 'field':
      return v.fieldActions.includes(p.action);
    case 'scope':
      return v.scopeActions.includes(p.action) && v.scopes.includes(p.scope);
    default:
      return v.names === null || v.names.test(p.name);
  }
}
