/**
 * Admins' page rules: a small URLPattern-style pattern language, matched segment by segment in linear
 * time (no regular expressions are built from admin input, so no rule can make matching slow).
 *
 *   /records/:object/:recordId      `:name` = one whole path segment, captured
 *   /crm/org:orgId/tab/:object      a literal prefix, then a captured rest of the segment
 *   /reports/*                      `*` = anything after (only as the last segment)
 *   #/deals/:recordId               hash patterns, for hash-routed apps, start with `#`
 */
import type { PageMatch, PageRule } from './types.ts';

export const MAX_PATTERN_LENGTH = 200;
export const MAX_SEGMENTS = 16;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,30}$/;
/** Literal text; regular-expression syntax (`( ) [ ] + ? ^ $ | \\`) is refused so nobody mistakes patterns for it. */
const LITERAL = /^[A-Za-z0-9._~!&',;=@%-]*$/;
/** Captured values longer than this, or with other characters, do not match. */
const MAX_VALUE = 128;
const VALUE = /^[A-Za-z0-9._~@{}:=-]+$/;

type Segment = { literal: string } | { prefix: string; name: string } | { rest: true };

export interface CompiledPattern {
  segments: Segment[];
  names: string[];
}

/** Parses a pattern; returns the problem (for a 400 naming the field) instead of throwing. */
export function compilePattern(pattern: string, lead: '/' | '#'): { ok: true; value: CompiledPattern } | { ok: false; error: string } {
  if (pattern.length === 0) return { ok: false, error: 'is empty' };
  if (pattern.length > MAX_PATTERN_LENGTH) return { ok: false, error: `is longer than ${MAX_PATTERN_LENGTH} characters` };
  if (!pattern.startsWith(lead)) return { ok: false, error: `must start with "${lead}"` };
  const parts = pattern.slice(1).replace(/^\//, '').split('/');
  if (parts.length > MAX_SEGMENTS) return { ok: false, error: `has more than ${MAX_SEGMENTS} segments` };
  const segments: Segment[] = [];
  const names: string[] = [];
  for (const [i, part] of parts.entries()) {
    if (part === '*') {
      if (i !== parts.length - 1) return { ok: false, error: '"*" may only be the last segment' };
      segments.push({ rest: true });
      continue;
    }
    const colon = part.indexOf(':');
    if (colon < 0) {
      if (!LITERAL.test(part)) return { ok: false, error: literalProblem(part) };
      segments.push({ literal: part });
      continue;
    }
    const prefix = part.slice(0, colon);
    const name = part.slice(colon + 1);
    if (!LITERAL.test(prefix)) return { ok: false, error: literalProblem(part) };
    if (!NAME.test(name)) return { ok: false, error: `"${name}" is not a valid group name (a letter, then letters, digits or _)` };
    if (names.includes(name)) return { ok: false, error: `group "${name}" is named twice` };
    names.push(name);
    segments.push({ prefix, name });
  }
  return { ok: true, value: { segments, names } };
}

function literalProblem(segment: string): string {
  if (/[()[\]+?^$|\\{}]/.test(segment)) return `segment "${segment}" looks like a regular expression: use :name for a part and * for the rest`;
  if (segment.includes('*')) return '"*" must be a whole segment';
  return `segment "${segment}" has characters a URL path does not use`;
}

/** Matches a path or hash (without its lead character) against a compiled pattern. */
export function matchPattern(compiled: CompiledPattern, subject: string): Record<string, string> | null {
  const parts = subject.replace(/^\//, '').replace(/\/$/, '').split('/');
  const groups: Record<string, string> = {};
  const segs = compiled.segments;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if ('rest' in seg) return groups;
    const part = parts[i];
    if (part === undefined) return null;
    if ('literal' in seg) {
      if (part !== seg.literal) return null;
      continue;
    }
    if (!part.startsWith(seg.prefix) || part.length === seg.prefix.length) return null;
    let value: string;
    try {
      value = decodeURIComponent(part.slice(seg.prefix.length));
    } catch {
      return null;
    }
    if (value.length > MAX_VALUE || !VALUE.test(value)) return null;
    groups[seg.name] = value;
  }
  return parts.length === segs.length ? groups : null;
}

interface CompiledRule {
  rule: PageRule;
  path: CompiledPattern;
  hash: CompiledPattern | null;
}

const cache = new WeakMap<PageRule, CompiledRule | null>();

function compiled(rule: PageRule): CompiledRule | null {
  if (cache.has(rule)) return cache.get(rule)!;
  const path = compilePattern(rule.path, '/');
  const hash = rule.hash === null ? null : compilePattern(rule.hash, '#');
  const result = path.ok && (hash === null || hash.ok) ? { rule, path: path.value, hash: hash?.ok ? hash.value : null } : null;
  cache.set(rule, result);
  return result;
}

/** The rules of `url`'s host and protocol that apply, in priority order. */
export function rulesFor(rules: readonly PageRule[], url: URL): PageRule[] {
  const host = url.host.toLowerCase();
  const protocol = url.protocol.slice(0, -1);
  return rules.filter((r) => r.host === host && r.protocol === protocol).sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
}

/** The first rule (of those given, in order) that reads `url`, with what it reads. */
export function matchRules(rules: readonly PageRule[], url: URL): { rule: PageRule; page: PageMatch } | null {
  for (const rule of rules) {
    const c = compiled(rule);
    if (!c) continue;
    const fromPath = matchPattern(c.path, url.pathname);
    if (!fromPath) continue;
    let fromHash: Record<string, string> = {};
    if (c.hash) {
      const h = url.hash.replace(/^#/, '').split('?')[0]!;
      const m = matchPattern(c.hash, h);
      if (!m) continue;
      fromHash = m;
    }
    const groups = { ...fromPath, ...fromHash };
    const object = rule.object === null ? null : 'value' in rule.object ? rule.object.value : (groups[rule.object.group] ?? null);
    const recordId = rule.recordId === null ? null : (groups[rule.recordId.group] ?? null);
    return { rule, page: { pageKind: rule.pageKind, object, recordId } };
  }
  return null;
}

/** Group names a rule's patterns define (for validating `object.group` and `recordId.group`). */
export function patternGroups(rule: Pick<PageRule, 'path' | 'hash'>): string[] {
  const path = compilePattern(rule.path, '/');
  const hash = rule.hash === null ? null : compilePattern(rule.hash, '#');
  return [...(path.ok ? path.value.names : []), ...(hash?.ok ? hash.value.names : [])];
}
