/**
 * SCIM PATCH (RFC 7644 §3.5.2) applied to a resource held as plain JSON, in the shapes providers send:
 *
 * - Okta (developer.okta.com, "SCIM 2.0 Protocol Reference"): deactivation as
 *   `{"op":"replace","value":{"active":false}}` (no path); group rename as
 *   `{"op":"replace","value":{"id":"…","displayName":"…"}}`; members as
 *   `{"op":"remove","path":"members[value eq \"…\"]"}`, `{"op":"add","path":"members","value":[{"value":"…","display":"…"}]}`
 *   and a full `{"op":"replace","path":"members","value":[…]}`.
 * - Microsoft Entra ID (learn.microsoft.com, "Tutorial: Develop and plan provisioning for a SCIM endpoint",
 *   and "Known issues and resolutions with SCIM 2.0 protocol compliance"): ops capitalised (`Add`, `Replace`,
 *   `Remove`); `{"op":"Replace","path":"active","value":"False"}` (a boolean as a string) or `false`;
 *   `{"op":"Replace","path":"emails[type eq \"work\"].value","value":"…"}`; `name.givenName` paths; several
 *   attributes in one path-less `replace` whose keys are paths (`"name.givenName"`,
 *   `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"`); the manager as
 *   `{"op":"Add","path":"urn:…:enterprise:2.0:User:manager","value":"<id>"}` (a bare id); member removal as
 *   `{"op":"Remove","path":"members","value":[{"value":"…"}]}` or with a `members[value eq "…"]` path.
 *
 * Attribute names match case-insensitively (RFC 7643 §2.1). Attributes AccessLens does not keep
 * (password, locale, phoneNumbers…) are accepted and dropped, so providers' full profiles apply.
 */
import { z } from 'zod';
import { matchesValue, parseAttrPath, parseFilter, type AttrPath, type Filter } from './filter.ts';
import { ScimError } from './protocol.ts';

export const patchOperation = z.object({
  op: z.string(),
  path: z.string().max(1000).optional(),
  value: z.unknown().optional(),
});

export const patchBody = z.object({
  schemas: z.array(z.string()).optional(),
  Operations: z.array(patchOperation).min(1, 'name at least one operation').max(1000),
});
export type PatchBody = z.infer<typeof patchBody>;

export type Json = Record<string, unknown>;

export interface PatchPath {
  path: AttrPath;
  /** `attr[filter]` */
  filter: Filter | null;
  /** `attr[filter].sub` */
  sub: string | null;
}

export function parsePatchPath(text: string): PatchPath {
  const open = text.indexOf('[');
  if (open < 0) {
    try {
      return { path: parseAttrPath(text), filter: null, sub: null };
    } catch {
      throw new ScimError(400, `path: "${text}" is not an attribute path`, 'invalidPath');
    }
  }
  const close = text.lastIndexOf(']');
  if (close < open) throw new ScimError(400, `path: "${text}" has an unclosed [`, 'invalidPath');
  const after = text.slice(close + 1);
  if (after !== '' && !/^\.[A-Za-z$][\w$-]*$/.test(after)) throw new ScimError(400, `path: "${text}" is not an attribute path`, 'invalidPath');
  let filter: Filter;
  try {
    filter = parseFilter(text.slice(open + 1, close));
  } catch (e) {
    throw new ScimError(400, `path: ${(e as Error).message}`, 'invalidPath');
  }
  return { path: parseAttrPath(text.slice(0, open)), filter, sub: after ? after.slice(1).toLowerCase() : null };
}

/** The key of `obj` matching `name` case-insensitively (or `name` itself when absent). */
export function keyOf(obj: Json, name: string): string {
  return Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
}

export const getCI = (obj: Json, name: string): unknown => obj[keyOf(obj, name)];

/** A SCIM boolean, also as Entra ID's "True" / "False" strings. */
export function scimBoolean(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw new ScimError(400, `${field}: must be true or false`, 'invalidValue');
}

export interface PatchTarget {
  /** Extension schemas the resource knows (lower-case URNs), whose attributes live in a nested object. */
  extensions: string[];
  /** Multi-valued attributes (lower-case names) whose values are `{value, …}` objects. */
  multiValued: string[];
}

const asArray = (v: unknown): Json[] =>
  (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).map((x) => (x && typeof x === 'object' ? (x as Json) : { value: x }));

/** Applies one operation's value at a path inside `resource` (mutates it). */
function applyAt(resource: Json, target: PatchTarget, op: 'add' | 'replace' | 'remove', p: PatchPath, value: unknown): void {
  // Attributes of an extension live under the extension's URN.
  let container = resource;
  if (p.path.schema !== null && target.extensions.includes(p.path.schema)) {
    const urnKey = Object.keys(resource).find((k) => k.toLowerCase() === p.path.schema) ?? p.path.schema;
    if (!resource[urnKey] || typeof resource[urnKey] !== 'object') resource[urnKey] = {};
    container = resource[urnKey] as Json;
  }
  const attr = keyOf(container, p.path.attr);
  const multi = target.multiValued.includes(p.path.attr);

  if (p.filter) {
    if (!multi) throw new ScimError(400, `path: ${p.path.attr} has no values to filter`, 'invalidPath');
    const items = asArray(container[attr]);
    const matching = items.filter((i) => matchesValue(i, p.filter!));
    if (op === 'remove') {
      container[attr] = p.sub
        ? items.map((i) => (matching.includes(i) ? Object.fromEntries(Object.entries(i).filter(([k]) => k.toLowerCase() !== p.sub)) : i))
        : items.filter((i) => !matching.includes(i));
      return;
    }
    if (matching.length === 0) {
      // `emails[type eq "work"].value` on a resource without a work email: add one with what the filter says.
      const created: Json = {};
      if (p.filter.type === 'compare' && p.filter.op === 'eq' && p.filter.path.sub === null) created[p.filter.path.attr] = p.filter.value;
      if (p.sub) created[p.sub] = value;
      else if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(created, value);
      else throw new ScimError(400, `path: no value matches ${p.path.attr}[…]`, 'noTarget');
      container[attr] = [...items, created];
      return;
    }
    for (const item of matching) {
      if (p.sub) item[keyOf(item, p.sub)] = value;
      else if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(item, value);
      else throw new ScimError(400, `value: must be an object for ${p.path.attr}[…]`, 'invalidValue');
    }
    container[attr] = items;
    return;
  }

  if (p.path.sub) {
    const parent = container[attr] && typeof container[attr] === 'object' && !Array.isArray(container[attr]) ? (container[attr] as Json) : {};
    if (op === 'remove') delete parent[keyOf(parent, p.path.sub)];
    else parent[keyOf(parent, p.path.sub)] = value;
    container[attr] = parent;
    return;
  }

  if (multi) {
    const items = asArray(container[attr]);
    if (op === 'replace') container[attr] = asArray(value);
    else if (op === 'add') {
      const added = asArray(value).filter((v) => !items.some((i) => getCI(i, 'value') !== undefined && getCI(i, 'value') === getCI(v, 'value')));
      container[attr] = [...items, ...added];
    } else if (value === undefined) container[attr] = [];
    else {
      // Entra ID without its compliance flag: remove members listed in the value.
      const gone = new Set(asArray(value).map((v) => String(getCI(v, 'value'))));
      container[attr] = items.filter((i) => !gone.has(String(getCI(i, 'value'))));
    }
    return;
  }

  if (op === 'remove') {
    delete container[attr];
    return;
  }
  const current = container[attr];
  if (op === 'add' && current && typeof current === 'object' && !Array.isArray(current) && value && typeof value === 'object' && !Array.isArray(value))
    container[attr] = { ...(current as Json), ...(value as Json) };
  else container[attr] = value;
}

/** Applies PATCH operations to a copy of `resource`; errors are SCIM errors (400 invalidPath/invalidValue/noTarget). */
export function applyPatch(resource: Json, body: PatchBody, target: PatchTarget): Json {
  const out = structuredClone(resource);
  for (const [i, operation] of body.Operations.entries()) {
    const op = operation.op.toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove')
      throw new ScimError(400, `Operations.${i}.op: must be add, replace or remove (got "${operation.op}")`, 'invalidSyntax');
    if (operation.path === undefined || operation.path === '') {
      if (op === 'remove') throw new ScimError(400, `Operations.${i}.path: remove needs a path`, 'noTarget');
      const value = operation.value;
      if (!value || typeof value !== 'object' || Array.isArray(value))
        throw new ScimError(400, `Operations.${i}.value: without a path the value is an object of attributes`, 'invalidValue');
      for (const [key, v] of Object.entries(value as Json)) {
        // A whole extension object, or a key that is itself a path (Entra ID: "name.givenName", "urn:…:User:department").
        const lower = key.toLowerCase();
        if (target.extensions.includes(lower) && v && typeof v === 'object' && !Array.isArray(v)) {
          for (const [k, x] of Object.entries(v as Json)) applyAt(out, target, op, parsePatchPath(`${key}:${k}`), x);
          continue;
        }
        applyAt(out, target, op, parsePatchPath(key), v);
      }
      continue;
    }
    applyAt(out, target, op, parsePatchPath(operation.path), operation.value);
  }
  return out;
}
