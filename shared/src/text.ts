/**
 * The one rule for text people send (justifications, reasons, names, labels, notes, page details):
 * trimmed, bounded, and free of characters that change what is stored or what a reader sees —
 * control characters (a NUL byte cut stored text short), bidirectional overrides and isolates (they
 * make text read differently from what it is, "Trojan Source") and unpaired surrogates (not text at
 * all). Multi-line fields (justifications, reasons, notes) keep line breaks and tabs.
 *
 * Every input schema with free text uses `plainText`; an API caller gets a 400 naming the field.
 */
import { z } from 'zod';

/** Half of a surrogate pair without its other half: not text at all. */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** C0 and C1 controls, DEL, bidirectional embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069). */
const UNSAFE = new RegExp(`[\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]|${UNPAIRED_SURROGATE.source}`);
/** The same, keeping tabs and line breaks. */
const UNSAFE_MULTILINE = new RegExp(`[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]|${UNPAIRED_SURROGATE.source}`);

export const UNSAFE_TEXT_MESSAGE = 'must not contain control characters or bidirectional overrides';

/** Why `value` breaks the text rule (naming the first offending character), or null when it does not. */
export function textProblem(value: string, { multiline = false }: { multiline?: boolean } = {}): string | null {
  const m = (multiline ? UNSAFE_MULTILINE : UNSAFE).exec(value);
  if (!m) return null;
  const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  return `${UNSAFE_TEXT_MESSAGE} (U+${code} at position ${m.index + 1})`;
}

export const ILL_FORMED_TEXT_MESSAGE = 'must be well-formed text (it has an unpaired surrogate)';

/**
 * Where in a parsed body (any string, key or value, at any depth) text is not text at all — an unpaired
 * surrogate, which no database or JSON encoder can carry as it is — as a field path ("a.0.b"), or null.
 * What every input is held to, free text or not; `plainText` fields are held to the whole rule above.
 */
export function illFormedTextAt(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return UNPAIRED_SURROGATE.test(value) ? path.join('.') || '(body)' : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, inner] of Object.entries(value)) {
    if (UNPAIRED_SURROGATE.test(key)) return [...path, key].join('.');
    const found = illFormedTextAt(inner, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

/** Whether `value` keeps the text rule. */
export function isPlainText(value: string, options: { multiline?: boolean } = {}): boolean {
  return textProblem(value, options) === null;
}

/**
 * Text a person typed: trimmed, at most `max` characters, and keeping the rule above. `required`:
 * not empty after trimming. `multiline`: line breaks and tabs allowed.
 */
export function plainText(max: number, { required = false, multiline = false }: { required?: boolean; multiline?: boolean } = {}) {
  const base = z.string().trim().max(max, `must be at most ${max} characters`);
  return (required ? base.min(1, 'is required') : base).superRefine((value, ctx) => {
    const problem = textProblem(value, { multiline });
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** The rule as a refinement, for string schemas that are not free text but still carry people's input (URLs). */
export function keepsTextRule(value: string, ctx: { addIssue(issue: { code: 'custom'; message: string }): void }): void {
  const problem = textProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}
