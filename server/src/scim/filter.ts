/**
 * SCIM filters (RFC 7644 §3.4.2.2): parsed into a tree, then compiled to SQL over the attributes a
 * resource maps (`AttributeMap`), or evaluated in memory over a multi-valued attribute's values (PATCH
 * paths such as `members[value eq "…"]`, `emails[type eq "work"]`).
 *
 * What providers send: Okta `userName eq "…"` (and `displayName eq "…"` for groups); Entra ID
 * `userName eq "…"`, `externalId eq "…"`, `emails[type eq "work"].value eq "…"` and `displayName eq "…"`,
 * joined with `and`. The full grammar — eq ne co sw ew gt ge lt le pr, and, or, not, parentheses,
 * value paths — is accepted.
 */
import { ScimError } from './protocol.ts';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type Literal = string | number | boolean | null;

/** An attribute path: optional schema URN, attribute, optional sub-attribute; names lower-cased. */
export interface AttrPath {
  schema: string | null;
  attr: string;
  sub: string | null;
}

export type Filter =
  | { type: 'and' | 'or'; left: Filter; right: Filter }
  | { type: 'not'; filter: Filter }
  | { type: 'compare'; path: AttrPath; op: CompareOp; value: Literal }
  | { type: 'present'; path: AttrPath }
  /** `attr[filter]`, optionally followed by `.sub op value` (a form Entra ID sends). */
  | { type: 'valuePath'; path: AttrPath; filter: Filter; then: { sub: string; op: CompareOp | 'pr'; value: Literal } | null };

const OPS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Token = { kind: 'word'; text: string } | { kind: 'string'; text: string } | { kind: 'punct'; text: '(' | ')' | '[' | ']' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: 'punct', text: c });
      i++;
      continue;
    }
    if (c === '"') {
      // A JSON string (RFC 7644 §3.4.2.2: values are JSON).
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1;
      if (j >= input.length) throw invalidFilter('a string is not closed');
      try {
        tokens.push({ kind: 'string', text: JSON.parse(input.slice(i, j + 1)) as string });
      } catch {
        throw invalidFilter(`bad string ${input.slice(i, j + 1)}`);
      }
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < input.length && !/[\s()[\]"]/.test(input[j]!)) j++;
    tokens.push({ kind: 'word', text: input.slice(i, j) });
    i = j;
  }
  return tokens;
}

export const invalidFilter = (detail: string) => new ScimError(400, `filter: ${detail}`, 'invalidFilter');

/** `urn:…:User:manager.value` → schema, `manager`, `value`; `name.givenName` → `name`, `givengame`. */
export function parseAttrPath(text: string): AttrPath {
  let schema: string | null = null;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const colon = text.lastIndexOf(':');
    schema = text.slice(0, colon).toLowerCase();
    rest = text.slice(colon + 1);
  }
  const [attr, sub, ...more] = rest.split('.');
  if (!attr || more.length > 0 || !/^[A-Za-z$][\w$-]*$/.test(attr) || (sub !== undefined && !/^[A-Za-z$][\w$-]*$/.test(sub)))
    throw invalidFilter(`"${text}" is not an attribute path`);
  return { schema, attr: attr.toLowerCase(), sub: sub === undefined ? null : sub.toLowerCase() };
}

export function parseFilter(input: string): Filter {
  const tokens = tokenize(input);
  let pos = 0;
  const peek = () => tokens[pos];
  const word = (t: Token | undefined, w: string) => t?.kind === 'word' && t.text.toLowerCase() === w;
  const expect = (text: string) => {
    const t = tokens[pos++];
    if (!t || t.text !== text) throw invalidFilter(`expected "${text}"`);
  };

  const literal = (): Literal => {
    const t = tokens[pos++];
    if (!t) throw invalidFilter('a comparison needs a value');
    if (t.kind === 'string') return t.text;
    if (t.kind === 'word') {
      const w = t.text.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
      if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t.text)) return Number(t.text);
    }
    throw invalidFilter(`"${t.text}" is not a value (strings are in double quotes)`);
  };

  const comparison = (): Filter => {
    const t = tokens[pos++];
    if (!t || t.kind !== 'word') throw invalidFilter('expected an attribute');
    if (peek()?.text === '[') {
      pos++;
      const inner = or();
      expect(']');
      const path = parseAttrPath(t.text);
      // `emails[type eq "work"].value eq "…"`: the tokenizer keeps `.value` as one word.
      const next = peek();
      if (next?.kind === 'word' && next.text.startsWith('.')) {
        pos++;
        const sub = next.text.slice(1).toLowerCase();
        const op = tokens[pos++];
        if (!op || op.kind !== 'word') throw invalidFilter('expected an operator');
        const o = op.text.toLowerCase();
        if (o === 'pr') return { type: 'valuePath', path, filter: inner, then: { sub, op: 'pr', value: null } };
        if (!OPS.has(o)) throw invalidFilter(`"${op.text}" is not an operator`);
        return { type: 'valuePath', path, filter: inner, then: { sub, op: o as CompareOp, value: literal() } };
      }
      return { type: 'valuePath', path, filter: inner, then: null };
    }
    const path = parseAttrPath(t.text);
    const op = tokens[pos++];
    if (!op || op.kind !== 'word') throw invalidFilter(`"${t.text}" needs an operator`);
    const o = op.text.toLowerCase();
    if (o === 'pr') return { type: 'present', path };
    if (!OPS.has(o)) throw invalidFilter(`"${op.text}" is not an operator`);
    return { type: 'compare', path, op: o as CompareOp, value: literal() };
  };

  const unary = (): Filter => {
    if (word(peek(), 'not')) {
      pos++;
      expect('(');
      const f = or();
      expect(')');
      return { type: 'not', filter: f };
    }
    if (peek()?.text === '(') {
      pos++;
      const f = or();
      expect(')');
      return f;
    }
    return comparison();
  };
  const and = (): Filter => {
    let left = unary();
    while (word(peek(), 'and')) {
      pos++;
      left = { type: 'and', left, right: unary() };
    }
    return left;
  };
  function or(): Filter {
    let left = and();
    while (word(peek(), 'or')) {
      pos++;
      left = { type: 'or', left, right: and() };
    }
    return left;
  }

  if (tokens.length === 0) throw invalidFilter('is empty');
  const f = or();
  if (pos < tokens.length) throw invalidFilter(`unexpected "${tokens[pos]!.text}"`);
  return f;
}

// ---------- SQL ----------

export interface Sql {
  sql: string;
  args: (string | number)[];
}

/**
 * How one attribute filters: an SQL expression and whether it compares case-insensitively
 * (caseExact false), or a custom compiler (e.g. an indexed lookup, a membership test).
 */
export type AttributeSql = { expr: string; caseExact: boolean; kind?: 'string' | 'boolean' } | { compile: (op: CompareOp | 'pr', value: Literal) => Sql };

/** Key: `attr` or `attr.sub`, lower-cased, without schema. */
export type AttributeMap = Record<string, AttributeSql>;
/** Value paths: `attr` → the sub-attributes its filter may use. */
export type ValuePathMap = Record<string, AttributeMap>;

function compileCompare(a: AttributeSql, op: CompareOp | 'pr', value: Literal, name: string): Sql {
  if ('compile' in a) return a.compile(op, value);
  const { expr, caseExact } = a;
  if (op === 'pr') return { sql: `(${expr} IS NOT NULL AND ${expr} <> '')`, args: [] };
  if (a.kind === 'boolean') {
    if (typeof value !== 'boolean' || (op !== 'eq' && op !== 'ne')) throw invalidFilter(`${name} compares with eq or ne and true or false`);
    return { sql: `(${expr}) = ${(op === 'eq') === value ? 1 : 0}`, args: [] };
  }
  if (value === null) {
    if (op === 'eq') return { sql: `(${expr} IS NULL OR ${expr} = '')`, args: [] };
    if (op === 'ne') return { sql: `(${expr} IS NOT NULL AND ${expr} <> '')`, args: [] };
    throw invalidFilter(`${name} ${op} null is not a comparison`);
  }
  if (typeof value !== 'string') throw invalidFilter(`${name} compares with a string`);
  const e = caseExact ? expr : `lower(${expr})`;
  const v = caseExact ? value : value.toLowerCase();
  switch (op) {
    case 'eq':
      return { sql: `${e} = ?`, args: [v] };
    case 'ne':
      return { sql: `(${e} IS NULL OR ${e} <> ?)`, args: [v] };
    case 'co':
      return { sql: `instr(${e}, ?) > 0`, args: [v] };
    case 'sw':
      return { sql: `substr(${e}, 1, length(?)) = ?`, args: [v, v] };
    case 'ew':
      return { sql: `(length(${e}) >= length(?) AND substr(${e}, -length(?)) = ?)`, args: [v, v, v] };
    case 'gt':
      return { sql: `${e} > ?`, args: [v] };
    case 'ge':
      return { sql: `${e} >= ?`, args: [v] };
    case 'lt':
      return { sql: `${e} < ?`, args: [v] };
    case 'le':
      return { sql: `${e} <= ?`, args: [v] };
  }
}

/** Compiles a filter to a WHERE condition over a resource whose attributes `map` describes. */
export function filterToSql(filter: Filter, map: AttributeMap, valuePaths: ValuePathMap = {}, schemas: string[] = []): Sql {
  const lookup = (m: AttributeMap, path: AttrPath): { a: AttributeSql; name: string } => {
    if (path.schema !== null && !schemas.includes(path.schema)) throw invalidFilter(`unknown schema ${path.schema}`);
    const name = path.sub ? `${path.attr}.${path.sub}` : path.attr;
    const a = m[name] ?? (path.sub === 'value' ? m[path.attr] : undefined) ?? (path.sub === null ? m[`${path.attr}.value`] : undefined);
    if (!a) throw invalidFilter(`cannot filter on ${name}`);
    return { a, name };
  };
  const walk = (f: Filter, m: AttributeMap): Sql => {
    switch (f.type) {
      case 'and':
      case 'or': {
        const l = walk(f.left, m);
        const r = walk(f.right, m);
        return { sql: `(${l.sql} ${f.type.toUpperCase()} ${r.sql})`, args: [...l.args, ...r.args] };
      }
      case 'not': {
        const inner = walk(f.filter, m);
        // SQL's unknown (a comparison with NULL) is SCIM's false: negate it as false.
        return { sql: `(NOT COALESCE(${inner.sql}, 0))`, args: inner.args };
      }
      case 'present': {
        const { a, name } = lookup(m, f.path);
        return compileCompare(a, 'pr', null, name);
      }
      case 'compare': {
        const { a, name } = lookup(m, f.path);
        return compileCompare(a, f.op, f.value, name);
      }
      case 'valuePath': {
        const subs = valuePaths[f.path.attr];
        if (!subs) throw invalidFilter(`${f.path.attr} has no values to filter`);
        const inner = walk(f.filter, subs);
        if (!f.then) return inner;
        const then = subs[f.then.sub];
        if (!then) throw invalidFilter(`cannot filter on ${f.path.attr}.${f.then.sub}`);
        const t = compileCompare(then, f.then.op, f.then.value, `${f.path.attr}.${f.then.sub}`);
        return { sql: `(${inner.sql} AND ${t.sql})`, args: [...inner.args, ...t.args] };
      }
    }
  };
  return walk(filter, map);
}

// ---------- in memory (PATCH value paths) ----------

/** Whether one value of a multi-valued attribute (`{value, type, primary…}`) matches a filter. */
export function matchesValue(item: Record<string, unknown>, f: Filter): boolean {
  const get = (path: AttrPath) => {
    const key = Object.keys(item).find((k) => k.toLowerCase() === (path.sub ?? path.attr));
    return key === undefined ? undefined : item[key];
  };
  switch (f.type) {
    case 'and':
      return matchesValue(item, f.left) && matchesValue(item, f.right);
    case 'or':
      return matchesValue(item, f.left) || matchesValue(item, f.right);
    case 'not':
      return !matchesValue(item, f.filter);
    case 'present': {
      const v = get(f.path);
      return v !== undefined && v !== null && v !== '';
    }
    case 'compare': {
      const v = get(f.path);
      const norm = (x: unknown) => (typeof x === 'string' ? x.toLowerCase() : x);
      const a = norm(v);
      const b = norm(f.value);
      switch (f.op) {
        case 'eq':
          return a === b || (b === null && (a === undefined || a === ''));
        case 'ne':
          return a !== b;
        case 'co':
          return typeof a === 'string' && typeof b === 'string' && a.includes(b);
        case 'sw':
          return typeof a === 'string' && typeof b === 'string' && a.startsWith(b);
        case 'ew':
          return typeof a === 'string' && typeof b === 'string' && a.endsWith(b);
        case 'gt':
          return typeof a === typeof b && (a as string) > (b as string);
        case 'ge':
          return typeof a === typeof b && (a as string) >= (b as string);
        case 'lt':
          return typeof a === typeof b && (a as string) < (b as string);
        case 'le':
          return typeof a === typeof b && (a as string) <= (b as string);
      }
      return false;
    }
    case 'valuePath':
      throw invalidFilter('value paths do not nest');
  }
}
